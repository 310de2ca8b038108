"""A long HiGHS solve that says how it is going and stops promptly on Ctrl-C.

``Highs.run()`` holds the main thread inside C++ for as long as the solve takes
(a plan over every hour: a minute or more), so Python's signal handlers wait
for it: Ctrl-C used to take effect only when the solve was over. Here the solve
runs in a worker thread while the main thread waits in short steps, free to
take the signal and to print progress.

HiGHS's interrupt callbacks are checked every interior-point and simplex
iteration; a Python callback there costs a call into the interpreter and a hand-over
of the GIL per iteration (16,660 of them in the bundled campus's plan, 0.1-0.3 s of
a 1 s plan on a busy machine). So the callback is registered but *started* only
when it is needed: on Ctrl-C (HiGHS then stops at its next iteration check, within
milliseconds to an interior-point iteration), and for a moment before each progress
line, to read the iteration counts. A solve that ends before its first progress line
(every plan on representative hours) runs without a single Python call. The main thread waits at
most :data:`STOP_GRACE_S` for HiGHS to honour a stop, then raises ``KeyboardInterrupt``; a
solve still inside a phase without a check (presolve) is left to end in its daemon thread,
which the exiting process ends with it. Nothing is written while a solve runs, so a stop
leaves nothing half-written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: how long the main thread waits for HiGHS to honour a stop request before raising anyway [s]
STOP_GRACE_S = 0.5
#: how often the main thread wakes up to take a signal or print progress [s]
POLL_S = 0.1
#: the iteration callbacks start this long before a progress line is due, to read the counts [s]
SAMPLE_S = 1.0


@dataclass
class SolveWatch:
    """What to say while a long solve runs.

    Attributes
    ----------
    label : str
        What is solved, e.g. ``"the plan LP of west_texas (432,104 rows x 324,105 columns)"``.
    report : callable or None
        Called with one line of progress text (the CLI prints it on stderr); None: no progress
        lines, only the prompt stop on Ctrl-C.
    first_after_s : float
        Say nothing for a solve shorter than this [s].
    every_s : float
        Then one line this often [s].
    """

    label: str
    report: Callable[[str], None] | None
    first_after_s: float = 5.0
    every_s: float = 10.0


def run_watched(h, watch: SolveWatch | None = None, run: Callable | None = None) -> None:
    """Run HiGHS on ``h`` in a worker thread; report progress; stop within about a second on Ctrl-C.

    HiGHS calls back into Python only around progress lines and after Ctrl-C (module docstring).

    Parameters
    ----------
    h : highspy.Highs
        A Highs holding the model.
    watch : SolveWatch, optional
        Progress lines for a solve longer than ``watch.first_after_s``.
    run : callable, optional
        What runs HiGHS (default ``h.run``).

    Raises
    ------
    KeyboardInterrupt
        The main thread was interrupted (Ctrl-C, or SIGTERM made to unwind like it).
    """
    import highspy

    state = {"stop": False, "ipm": 0, "simplex": 0, "heard": False}

    def callback(kind, message, out, into, data) -> None:
        # each count is -1 outside its own phase
        state["ipm"] = max(state["ipm"], out.ipm_iteration_count)
        state["simplex"] = max(state["simplex"], out.simplex_iteration_count)
        state["heard"] = True
        if state["stop"] and into is not None:
            into.user_interrupt = True

    kinds = highspy.cb.HighsCallbackType
    interrupts = (kinds.kCallbackSimplexInterrupt, kinds.kCallbackIpmInterrupt)
    h.setCallback(callback, None)  # registered, not started: HiGHS calls no Python until listen(True)

    def listen(on: bool) -> None:
        # HiGHS reads these flags at each iteration check, also during a run (from the worker thread)
        for kind in interrupts:
            (h.startCallback if on else h.stopCallback)(kind)

    done = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            (run or h.run)()
        except BaseException as err:  # handed to the main thread
            failure.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=target, name="highs-solve", daemon=True)
    t0 = time.monotonic()
    thread.start()
    next_report = watch.first_after_s if watch and watch.report else float("inf")
    reported = listening = False
    try:
        while not done.wait(POLL_S):
            elapsed = time.monotonic() - t0
            if not listening and elapsed >= next_report - SAMPLE_S:
                state["heard"], listening = False, True
                listen(True)
            if elapsed >= next_report:
                watch.report(f"solving {watch.label}: {elapsed:.0f} s, {_iterations(state)}")
                reported = True
                next_report += watch.every_s
            elif listening and state["heard"] and elapsed < next_report - SAMPLE_S:
                listening = False  # counts read: no Python call per iteration until the next line
                listen(False)
    except KeyboardInterrupt:
        state["stop"] = True
        listen(True)
        done.wait(STOP_GRACE_S)
        raise
    if reported:
        watch.report(f"solved {watch.label} in {time.monotonic() - t0:.0f} s")
    listen(False)
    h.setCallback(None, None)  # no Python callback left on a Highs that may outlive this solve
    if failure:
        raise failure[0]


def _iterations(state: dict) -> str:
    if state["simplex"]:
        return f"simplex iteration {state['simplex']:,} (crossover or clean-up)"
    if state["ipm"]:
        return f"interior-point iteration {state['ipm']:,}"
    return "setting up (presolve)"
