"""The Ctrl-C watch of long HiGHS solves calls no Python per iteration, yet still stops a solve mid-run.

HiGHS's interrupt callbacks are registered but started only on Ctrl-C and around progress lines
(allocator.lp.solve_progress). These tests count the calls HiGHS makes into Python, and stop a
simplex solve (the phase the subprocess test of test_plan_progress.py does not reach) half-way.
"""

from __future__ import annotations

import _thread
import threading
import time

import highspy
import pytest

from allocator.inputs.site import load_site
from allocator.lp.model import LinearModel
from allocator.lp.solve import highs_for, run
from allocator.lp.solve_progress import SolveWatch, run_watched
from allocator.plan.data import plan_data
from allocator.plan.model import add_plan_block

from conftest import REPO


class CountingHighs:
    """A Highs whose Python callback counts its calls."""

    def __init__(self, h) -> None:
        self.h, self.calls = h, 0

    def setCallback(self, callback, data):  # noqa: N802 (highspy's name)
        if callback is None:
            return self.h.setCallback(None, None)

        def counted(*args):
            self.calls += 1
            return callback(*args)

        return self.h.setCallback(counted, data)

    def __getattr__(self, name):
        return getattr(self.h, name)


def plan_lp(bins: int) -> LinearModel:
    site = load_site(REPO / "sites" / "west_texas.toml")
    lp = LinearModel("plan")
    lp.blocks.append(add_plan_block(lp, plan_data(site, bins), convert=True))
    return lp


@pytest.fixture(scope="module")
def small_plan() -> LinearModel:
    return plan_lp(4)


@pytest.fixture(scope="module")
def larger_plan() -> LinearModel:
    """60 price levels a month: about 0.3 s of dual simplex without presolve."""
    return plan_lp(60)


def test_a_short_watched_solve_makes_no_python_call_per_iteration(small_plan):
    plain = highs_for(small_plan)
    run(plain)
    h = CountingHighs(highs_for(small_plan))
    run_watched(h, SolveWatch("the plan LP", report=None), run=lambda: run(h.h))
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(plain.getInfo().objective_function_value, rel=1e-12)
    assert h.calls == 0  # not one call into Python
    # the same solve with the callbacks started from the first iteration (the former watch) calls it at
    # every interior-point, crossover and simplex iteration
    former = CountingHighs(highs_for(small_plan))
    former.setCallback(lambda *args: None, None)
    kinds = highspy.cb.HighsCallbackType
    for kind in (kinds.kCallbackSimplexInterrupt, kinds.kCallbackIpmInterrupt):
        former.startCallback(kind)
    run(former.h)
    assert former.getInfo().objective_function_value == pytest.approx(plain.getInfo().objective_function_value,
                                                                       rel=1e-12)
    assert former.calls > 1000


def test_progress_lines_read_the_iteration_counts(larger_plan):
    lines: list[str] = []
    h = CountingHighs(highs_for(larger_plan))
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("presolve", "off")
    watch = SolveWatch("the plan LP", report=lines.append, first_after_s=0.0, every_s=1000.0)
    run_watched(h, watch, run=lambda: run(h.h))
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert lines[0].startswith("solving the plan LP: ")
    assert lines[-1].startswith("solved the plan LP in ")
    # counts were read while the callbacks ran, then they were stopped again: far fewer calls than iterations
    assert 0 < h.calls < h.getInfo().simplex_iteration_count


def test_ctrl_c_stops_a_simplex_solve_half_way(larger_plan):
    lp = larger_plan
    full = highs_for(lp)
    full.setOptionValue("solver", "simplex")
    full.setOptionValue("presolve", "off")
    t0 = time.perf_counter()
    run(full)
    full_s = time.perf_counter() - t0
    h = highs_for(lp)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("presolve", "off")
    timer = threading.Timer(full_s / 3, _thread.interrupt_main)  # Ctrl-C a third of the way in
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_watched(h, SolveWatch("the plan LP", report=None), run=lambda: run(h))
            time.sleep(2 * full_s + 1.0)  # only if the solve ended first: let the interrupt arrive here
    finally:
        timer.cancel()
    for thread in threading.enumerate():  # the watch waits a moment for HiGHS, not for ever: wait here
        if thread.name == "highs-solve":
            thread.join(30)
    # HiGHS took the started callback mid-run: it stopped, short of the full solve's iterations
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    assert 0 < h.getInfo().simplex_iteration_count < full.getInfo().simplex_iteration_count
