"""Independent sites solved side by side in a process pool.

Each worker loads, checks, builds, solves and extracts whole sites (one LP
per site, HiGHS on one thread), so the time is the sum of per-site solves
divided by the workers. Results come back in the order the sites were given,
and a failure is raised exactly as the serial run raises it: the first bad
site file, else the first site whose commitments conflict, else the first
solver failure, in site order.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from itertools import repeat
from pathlib import Path

from ..errors import AllocatorError, InfeasibleError, every_bad_file
from ..worker_signals import held, worker_started
from . import heap

def worker_count(workers: int, n_sites: int) -> int:
    """Processes to use: ``workers`` (0 = one per available core), at most one per site."""
    if workers < 0:
        raise ValueError("workers must be >= 0")
    if workers == 0:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(workers, n_sites))


def solve_sites(sites: list, solver: str, time_limit_s: float | None, workers: int,
                on_site: Callable | None = None) -> list:
    """``[(SiteSolution, seconds)]`` for ``sites`` (Site objects or paths), solved by ``workers`` processes.

    With ``on_site``, each solution is passed to it as it arrives (in site order) and what it returns
    replaces the solution in the list.
    """
    from concurrent.futures import ProcessPoolExecutor  # here: a one-worker run never starts a pool

    outcomes: list = []
    failed = False
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=worker_started,
                             initargs=(False,)) as pool:
        with held():  # map submits every site and starts the workers: a signal then would leave one half-fed
            answers = pool.map(_solve_one, sites, repeat(solver), repeat(time_limit_s))
        for outcome in answers:
            failed = failed or outcome[0] == "error"
            if on_site is not None and not failed:
                outcome = ("ok", on_site(outcome[1]), outcome[2])
            outcomes.append(outcome)
    if failed:
        raise _first_error(outcomes)
    return [o[1:] for o in outcomes]


def _first_error(outcomes: list) -> AllocatorError:
    """Every bad site file, else the first conflicting site, else the first solver failure (as run.solve)."""
    failures = sorted((o[1], i, o[2]) for i, o in enumerate(outcomes) if o[0] == "error")
    bad_files = [_rebuilt(*data) for stage, _, data in failures if stage == 0]
    if bad_files:
        return every_bad_file(bad_files, len(outcomes))
    return _rebuilt(*failures[0][2])


def _rebuilt(cls, problems, headline) -> AllocatorError:
    err = cls.__new__(cls)
    AllocatorError.__init__(err, problems, headline)
    return err


def _solve_one(item, solver: str, time_limit_s: float | None) -> tuple:
    """Worker: ``("ok", SiteSolution, seconds)`` or ``("error", stage, (class, problems, headline))``.

    Errors travel as plain data: the error classes take other arguments than they store.
    """
    from ..lp import diagnosis
    from ..lp.results import solve_site
    from ..inputs.site import Site, load_site

    stage = 0  # 0 load, 1 conflicts, 2 solve: the order the serial run meets them
    try:
        t0 = time.perf_counter()
        site = item if isinstance(item, Site) else load_site(Path(item))
        load_s = time.perf_counter() - t0
        stage = 1
        problems = diagnosis.conflicts(site)
        if problems:
            raise InfeasibleError(problems, site.id)
        stage = 2
        solution, seconds = solve_site(site, solver, time_limit_s)
    except AllocatorError as err:
        return ("error", stage, (type(err), err.problems, err.headline))
    finally:
        heap.release_free_memory()
    return ("ok", solution, {"load": load_s, **seconds})


def _context():
    """A fresh-interpreter start method where available (no fork of a threaded parent)."""
    import multiprocessing  # here: a one-worker run never needs it

    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["allocator.run.batch", "highspy"])
        return ctx
    return multiprocessing.get_context("spawn")
