"""One optimizer run: sites in, :class:`Result` (tidy DataFrames) out.

Independent sites are built and solved one LP per site (the same optimum as
one LP holding them all, and faster: HiGHS's time grows faster than linearly
with the size of one LP).
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path

import pandas as pd

from . import diagnosis, heap, marginal, model, parallel, power_results, results
from .errors import InfeasibleError, InputError, SolverError
from .site import Site, load_site
from .solve import pick_solver, solve_model, solver_version

PHASES = ("load", "build", "handoff", "solve", "extract")


@dataclass
class Result:
    """The answer for a set of sites.

    Attributes
    ----------
    sites : list of results.SiteSolution
    solver : str
        Solver name and version.
    seconds : dict[str, float]
        Wall time of each phase (load, build, handoff, solve, extract) [s].
    """

    sites: list[results.SiteSolution]
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)
    manifest_extra: dict = field(default_factory=dict)  # e.g. the portfolio of allocator.portfolio

    @cached_property
    def split(self) -> pd.DataFrame:
        return results.split_table(self.sites)

    @cached_property
    def financials(self) -> pd.DataFrame:
        return results.financials_table(self.sites)

    @cached_property
    def dispatch(self) -> pd.DataFrame:
        return results.dispatch_table(self.sites)

    @cached_property
    def leases(self) -> pd.DataFrame:
        return results.leases_table(self.sites)

    @cached_property
    def fleets(self) -> pd.DataFrame:
        return results.fleets_table(self.sites)

    @cached_property
    def marginal_values(self) -> pd.DataFrame:
        """``site_id, resource, value_usd_per_mw_year`` (marginal.py)."""
        return marginal.marginal_values_table(self.sites)

    @cached_property
    def shadow_prices(self) -> pd.DataFrame:
        """``site_id, constraint, interval_start_utc, value_usd_per_mwh`` (marginal.py)."""
        return marginal.shadow_prices_table(self.sites)

    @cached_property
    def power_contracts(self) -> pd.DataFrame:
        return power_results.contracts_table(self.sites)

    @cached_property
    def demand_response(self) -> pd.DataFrame:
        return power_results.programs_table(self.sites)

    @cached_property
    def coincident_peak(self) -> pd.DataFrame:
        return power_results.peak_table(self.sites)

    @cached_property
    def assumptions(self) -> pd.DataFrame:
        """Every input field of every site: ``site_id, field, value, unit, source`` (reports/assumptions.py)."""
        from .reports.assumptions import assumptions_table

        return assumptions_table([s.site for s in self.sites])

    @property
    def objective_usd(self) -> float:
        """Net USD of all sites over their horizons."""
        return float(sum(s.objective_usd for s in self.sites))

    @property
    def reasons(self) -> dict[str, str]:
        """One line per site on why its split is what it is."""
        return {s.site.id: results.reason(s) for s in self.sites}

    @property
    def warnings(self) -> list[str]:
        """What the sites' inputs said that is allowed but worth checking (unit slips, naive times read as
        UTC, ...), one line each, in site order; the CLI prints them and the manifest lists them."""
        return [str(w) for s in self.sites for w in s.site.warnings]

    def site_records(self) -> list[dict]:
        """Per site: ``site_id, site_file, hours, objective_usd, inputs_sha256`` (for the manifest)."""
        return [{"site_id": s.site.id, "site_file": s.site.path, "hours": s.site.hours,
                 "objective_usd": s.objective_usd, "inputs_sha256": s.site.file_sha256()} for s in self.sites]

    def manifest(self) -> dict:
        """Versions, solver, status, objective, input hashes and phase timings."""
        records = self.site_records()
        inputs: dict[str, str] = {}
        for r in records:
            inputs.update(r["inputs_sha256"])
        return {
            "tool": "allocator",
            "tool_version": _version(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "pulp_version": _dist_version("pulp"),
            "solver": self.solver,
            "status": "optimal",
            "objective_usd": self.objective_usd,
            "sites": {r["site_id"]: {"objective_usd": r["objective_usd"], "hours": r["hours"],
                                     "site_file": str(r["site_file"])} for r in records},
            "inputs_sha256": inputs,
            "seconds": {k: round(v, 6) for k, v in self.seconds.items()},
            "warnings": self.warnings,
            "argv": sys.argv,
            **self.manifest_extra,
        }


def solve(sites: list[Site | str | Path] | Site | str | Path, *, solver: str = "highs",
          time_limit_s: float | None = None, workers: int = 1,
          on_site: Callable[[results.SiteSolution], object] | None = None) -> Result:
    """Find the optimal mullet split of each site.

    Parameters
    ----------
    sites : Site, path, or a list of them
        Sites (or site files) to solve; independent of each other.
    solver : {"highs", "cbc"}
        LP solver; HiGHS by default.
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


def solve_site(site: Site, solver: str, time_limit_s: float | None) -> tuple[results.SiteSolution, dict[str, float]]:
    """Build, solve and extract one site's LP; return its solution and phase times [s]."""
    t1 = time.perf_counter()
    lp = model.build([site], name=site.id)
    build_s = time.perf_counter() - t1
    solution = solve_model(lp, solver=solver, time_limit_s=time_limit_s)
    t2 = time.perf_counter()
    site_sol = results.site_solution(lp.blocks[0], solution)
    _check_objective(site_sol, solution.objective_usd)
    return site_sol, {"build": build_s, "handoff": solution.seconds["handoff"], "solve": solution.seconds["solve"],
                      "extract": time.perf_counter() - t2}


def every_bad_file(errors: list[InputError], n_files: int) -> InputError:
    """One error listing the problems of every bad site file (the file's own error when only one)."""
    if len(errors) == 1:
        return errors[0]
    return InputError([p for err in errors for p in err.problems], f"{len(errors)} of {n_files} site files")


def _sum_seconds(parts: list[dict[str, float]]) -> dict[str, float]:
    seconds = dict.fromkeys(PHASES, 0.0)
    for part in parts:
        for key, value in part.items():
            seconds[key] += value
    return seconds


def _check_objective(s: results.SiteSolution, objective_usd: float) -> None:
    """The site's re-priced items must add up to the solver's objective."""
    results.check_adds_up(s.financials_usd["net"], objective_usd, f"site {s.site.id}")


def _version() -> str:
    from . import __version__

    return __version__


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
