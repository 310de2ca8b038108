"""decide's worker processes under signals: held while a worker starts, quiet when the parent is gone."""

import os
import signal
import threading
from signal import SIGINT

import pytest

from allocator import worker_signals
from allocator.whatif import decide_parallel


def test_a_signal_while_a_worker_starts_is_delivered_after_it_has_started():
    """SIGINT inside the block does not interrupt it (a half-fed worker would print a traceback);
    it is delivered, as KeyboardInterrupt, once the block is over."""
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with worker_signals.held():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # bytecode boundaries where Python would run a handler
                steps.append(1)
            steps.append("done")
    assert steps[-1] == "done" and len(steps) == 1001


def test_a_signal_taken_by_another_thread_is_held_too():
    """The kernel hands a process signal to a thread that does not block it (numpy's BLAS threads,
    started before the block) while the main thread blocks it: Python still runs the handler in the
    main thread, so the block must hold it back too."""
    go, sent, finish = threading.Event(), threading.Event(), threading.Event()

    def other_thread():  # started before the block, so SIGINT is not blocked here
        go.wait()
        os.kill(os.getpid(), SIGINT)  # process-directed: delivered to this thread
        sent.set()
        finish.wait(5)

    other = threading.Thread(target=other_thread, daemon=True)
    other.start()
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with worker_signals.held():
                go.set()
                assert sent.wait(5)
                for _ in range(1000):  # bytecode boundaries where Python would run a handler
                    steps.append(1)
                steps.append("done")
    finally:
        finish.set()
        other.join()
    assert steps[-1] == "done" and len(steps) == 1001


def test_signal_handlers_are_restored_after_the_block():
    before = {s: signal.getsignal(s) for s in worker_signals.STOP_SIGNALS}
    with worker_signals.held():
        pass
    assert {s: signal.getsignal(s) for s in worker_signals.STOP_SIGNALS} == before


class _ClosedPipe:
    """A pipe whose other end (the parent) has gone."""

    def send(self, message):
        raise BrokenPipeError(32, "Broken pipe")

    def recv(self):
        raise EOFError


def test_a_worker_whose_parent_is_gone_ends_quietly(monkeypatch):
    class Loaded:
        infos = {}

        def __init__(self, *args, tick=None):
            pass

    monkeypatch.setattr(decide_parallel, "Shard", Loaded)
    previous = signal.getsignal(signal.SIGINT)
    try:
        assert decide_parallel._serve(_ClosedPipe(), ()) is None  # no EOFError / BrokenPipeError
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_worker_still_reports_its_own_errors(monkeypatch):
    """A load that fails with an OSError (a file that cannot be read) is the worker's answer, not a
    closed pipe."""
    sent = []

    class Pipe:
        def send(self, message):
            sent.append(message)

        def recv(self):
            return None

    class Failing:
        def __init__(self, *args, tick=None):
            raise FileNotFoundError(2, "No such file", "prices.csv")

    monkeypatch.setattr(decide_parallel, "Shard", Failing)
    previous = signal.getsignal(signal.SIGINT)
    try:
        decide_parallel._serve(Pipe(), ())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(sent) == 1 and sent[0][0] == "error" and isinstance(sent[0][1], FileNotFoundError)
