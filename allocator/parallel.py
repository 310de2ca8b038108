"""Independent sites solved side by side in a process pool.

Each worker loads, checks, builds, solves and extracts whole sites (one LP
per site, HiGHS on one thread), so the time is the sum of per-site solves
divided by the workers. Results come back in the order the sites were given,
and a failure is raised exactly as the serial run raises it: the first bad
site file, else the first site whose commitments conflict, else the first
solver failure, in site order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

from .errors import AllocatorError, InfeasibleError

def worker_count(workers: int, n_sites: int) -> int:
    """Processes to use: ``workers`` (0 = one per available core), at most one per site."""
    if workers < 0:
        raise ValueError("workers must be >= 0")
    if workers == 0:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(workers, n_sites))


def solve_sites(sites: list, solver: str, time_limit_s: float | None, workers: int) -> list:
    """``[(SiteSolution, seconds)]`` for ``sites`` (Site objects or paths), solved by ``workers`` processes."""
    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        outcomes = list(pool.map(_solve_one, sites, repeat(solver), repeat(time_limit_s)))
    if any(o[0] == "error" for o in outcomes):
        raise _first_error(outcomes)
    return [o[1:] for o in outcomes]


def _first_error(outcomes: list) -> AllocatorError:
    stage, _, (cls, problems, headline) = min((o[1], i, o[2]) for i, o in enumerate(outcomes) if o[0] == "error")
    err = cls.__new__(cls)
    AllocatorError.__init__(err, problems, headline)
    return err


def _solve_one(item, solver: str, time_limit_s: float | None) -> tuple:
    """Worker: ``("ok", SiteSolution, seconds)`` or ``("error", stage, (class, problems, headline))``.

    Errors travel as plain data: the error classes take other arguments than they store.
    """
    from . import diagnosis
    from .run import solve_site
    from .site import Site, load_site

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
    return ("ok", solution, {"load": load_s, **seconds})


def _context():
    """A fresh-interpreter start method where available (no fork of a threaded parent)."""
    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["allocator.run", "highspy"])
        return ctx
    return multiprocessing.get_context("spawn")
