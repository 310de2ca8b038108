"""Ctrl-C and SIGTERM around starting worker processes.

A spawned worker reads its start-up data from a pipe the parent writes. A
signal that stops the parent in the middle of that write leaves the worker
half-fed, and the worker prints the interpreter's ``EOFError`` traceback into
the interrupted run's stderr. So the parent holds the stop signals back while
it starts workers (:func:`held`), and each worker lifts the block first thing
(:func:`worker_started`).

Blocking the signals in the parent's main thread alone is not enough: the
kernel hands a blocked process signal to another thread (numpy's BLAS
threads), and Python then runs its handler in the main thread all the same.
So :func:`held` also swaps the Python handlers for one that only takes note,
and delivers the first signal that came once the block is over.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

#: the signals that stop a command (SIGALRM re-delivers one the interpreter could not take)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGALRM") if hasattr(signal, name))
#: blocked in the threads' mask, so that a worker started meanwhile starts with them blocked
_MASKED = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back until the block is over, then deliver the first that came.

    The Python handlers are swapped only in the main thread (elsewhere Python refuses, and the
    handlers stay); the mask is blocked in the calling thread, so a worker started inside the block
    inherits it and must call :func:`worker_started`.
    """
    came: list[int] = []
    try:
        previous = {signum: signal.signal(signum, lambda signum, frame: came.append(signum))
                    for signum in STOP_SIGNALS}
    except ValueError:  # not the main thread
        previous = {}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _MASKED) if hasattr(signal, "pthread_sigmask") else None
    try:
        yield
    finally:
        if old_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if came:
            signal.raise_signal(came[0])


def worker_started(ignore_interrupt: bool = True) -> None:
    """In a worker started inside :func:`held`: ignore Ctrl-C (the parent handles it) when asked,
    then lift the block it inherited, so SIGTERM (``Process.terminate``) ends it again."""
    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _MASKED)
