"""One optimizer run: sites in, :class:`Result` (tidy DataFrames) out.

Independent sites are built and solved one LP per site (the same optimum as
one LP holding them all, and faster: HiGHS's time grows faster than linearly
with the size of one LP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ..errors import InfeasibleError, InputError, SolverError, every_bad_file
from ..inputs.site import Site, load_site
from ..lp import diagnosis, results
from ..lp.results import PHASES, Result, solve_site
from ..lp.solve import pick_solver, solver_version
from . import heap, parallel

__all__ = ["PHASES", "Result", "solve"]



def solve(sites: list[Site | str | Path] | Site | str | Path, *, solver: str = "auto",
          time_limit_s: float | None = None, workers: int = 1,
          on_site: Callable[[results.SiteSolution], object] | None = None) -> Result:
    """Find the optimal mullet split of each site.

    Parameters
    ----------
    sites : Site, path, or a list of them
        Sites (or site files) to solve; independent of each other.
    solver : {"auto", "structured", "highs", "cbc"}
        ``"auto"`` (default): exact cutting planes (:mod:`allocator.lp.structured`) for every site
        they cover, HiGHS for the others; ``"structured"``: the cutting planes only (a site they do
        not cover is an :class:`InputError`); ``"highs"`` or ``"cbc"``: the whole LP by that solver.
        ``SiteSolution.method`` (the manifest's ``sites.<id>.method``) says which solved each site.
        The optimum is the same whichever solves it; where the LP is degenerate the LP duals
        (shadow prices, ``lp_dual_usd_per_mw_year``) can be another optimal dual.
    time_limit_s : float, optional
        Per-site solver time limit [s].
    workers : int
        Processes solving sites side by side (1: in this process; 0: one per core). The
        result is the same and in the same order whatever the number.
    on_site : callable, optional
        Called with each site's solution as soon as it is solved, in site order; what it
        returns stands for the site in ``Result.sites``. ``allocator solve`` passes one that
        writes the site's hourly rows and keeps a summary (site_summary.py), so a run holds
        one site's hourly arrays at a time.

    Returns
    -------
    Result
        ``seconds`` holds each phase summed over sites (with several workers, summed over
        the workers: CPU-side time, not wall time).

    Raises
    ------
    InputError
        Bad site files, every problem of every file (exit 1).
    InfeasibleError, SolverError
        A site's requirements conflict, or the solver failed (exit 2). Bad files come
        first, then the first conflicting site, then the first solver failure, in site
        order, however many workers.
    """
    if not isinstance(sites, list):
        sites = [sites]
    pick_solver(solver)
    n_workers = parallel.worker_count(workers, len(sites))
    if n_workers > 1:
        outcomes = parallel.solve_sites(sites, solver, time_limit_s, n_workers, on_site)
        return Result([s for s, _ in outcomes], solver_version(solver), _sum_seconds([t for _, t in outcomes]))
    kept, parts, errors = [], [], []
    bad_files: list[InputError] = []
    for i, item in enumerate(sites):
        # load every file (to list every bad one), but solve only while nothing has failed
        t0 = time.perf_counter()
        try:
            site = item if isinstance(item, Site) else load_site(item)
        except InputError as err:
            bad_files.append(err)
            continue
        finally:
            parts.append({"load": time.perf_counter() - t0})
        problems = diagnosis.conflicts(site)
        if problems:
            errors.append((1, i, InfeasibleError(problems, site.id)))
        if bad_files or errors:
            continue
        try:
            solution, seconds = solve_site(site, solver, time_limit_s)
        except InputError as err:  # --solver structured on a site it does not cover
            errors.append((1, i, err))
            continue
        except (InfeasibleError, SolverError) as err:
            errors.append((2, i, err))
            continue
        kept.append(solution if on_site is None else on_site(solution))
        parts.append(seconds)
        del solution  # with on_site, the hourly arrays go now: then the trim returns their pages too
        heap.release_free_memory()
    if bad_files:
        raise every_bad_file(bad_files, len(sites))
    if errors:
        raise min(errors, key=lambda e: e[:2])[2]
    return Result(kept, solver_version(solver), _sum_seconds(parts))


def _sum_seconds(parts: list[dict[str, float]]) -> dict[str, float]:
    seconds = dict.fromkeys(PHASES, 0.0)
    for part in parts:
        for key, value in part.items():
            seconds[key] += value
    return seconds
