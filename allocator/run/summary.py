"""A solved site without its hourly arrays: the small tables, computed while the arrays were there.

``allocator solve`` writes each site's hourly rows to the run folder as soon
as the site is solved (reports/hourly.py) and keeps only a
:class:`SiteSummary`, so the memory of a many-site run does not grow with the
sites' hours. :class:`SummaryResult` answers like :class:`allocator.Result`
for everything but the hourly tables, which are in the run folder.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..lp import marginal, results
from ..power import results as power_results
from .batch import Result, solve

#: the per-site tables a summary keeps, by Result attribute
TABLES = {
    "split": results.split_table,
    "financials": results.financials_table,
    "leases": results.leases_table,
    "fleets": results.fleets_table,
    "marginal_values": marginal.marginal_values_table,
    "power_contracts": power_results.contracts_table,
    "demand_response": power_results.programs_table,
    "coincident_peak": power_results.peak_table,
}


_HOURLY = ("the hourly tables were written to the run folder as each site was solved: read {} there, "
           "or call allocator.solve() for them in memory")


@dataclass
class SiteSummary:
    """One solved site: its small tables and what the manifest and the terminal summary need.

    The tables are kept pickled: a site's nine small DataFrames take about 80 KB as objects and
    12 KB as pickles, which is most of what a many-site run holds per site.
    """

    site_id: str
    site_file: Path
    hours: int
    objective_usd: float
    inputs_sha256: dict[str, str]
    reason: str
    pickled_tables: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    method: str = ""  # how the site was solved (SiteSolution.method)
    #: the mining capture share on the site's own price history (operate/capture.py), measured
    #: while the site was in memory, and the site's ``mining.capture_frac``
    capture: object = None
    capture_frac: float = 1.0

    def table(self, name: str) -> pd.DataFrame:
        """The site's table ``name`` (a Result attribute: ``"split"``, ``"financials"``, ...)."""
        return pickle.loads(self.pickled_tables[name])


def summarize(solution: results.SiteSolution) -> SiteSummary:
    """The summary of ``solution`` (its hourly arrays can then be dropped)."""
    from ..inputs.assumptions import assumptions_table
    from ..operate.capture import mining_capture, plan_mining_net_usd, solved_split

    site = solution.site
    tables = {name: make([solution]) for name, make in TABLES.items()}
    tables["assumptions"] = assumptions_table([site])
    pickled = {name: pickle.dumps(table, pickle.HIGHEST_PROTOCOL) for name, table in tables.items()}
    capture = mining_capture(site, solved_split(tables["fleets"], tables["leases"], site),
                             plan_mining_net_usd(tables["financials"], site.id))
    return SiteSummary(site.id, site.path, site.hours, solution.objective_usd, site.file_sha256(),
                       results.reason(solution), pickled, [str(w) for w in site.warnings], solution.method,
                       capture, site.config.mining.capture_frac)


def solve_summarized(sites: list, also: Callable | None = None, **options) -> SummaryResult:
    """``allocator.solve(sites, **options)`` keeping only a summary of each site, after passing its
    full solution to ``also`` (``allocator solve`` writes the hourly rows there)."""
    extract_s = 0.0

    def keep(solution: results.SiteSolution) -> SiteSummary:
        nonlocal extract_s
        if also is not None:
            also(solution)
        t0 = time.perf_counter()
        kept = summarize(solution)
        extract_s += time.perf_counter() - t0
        return kept

    result = solve(sites, on_site=keep, **options)
    seconds = dict(result.seconds)
    seconds["extract"] = seconds.get("extract", 0.0) + extract_s
    return SummaryResult(result.sites, result.solver, seconds)


def _kept_table(name: str) -> cached_property:
    """A Result table property that joins the summaries' copies of table ``name``."""
    def table(self) -> pd.DataFrame:
        frames = [s.table(name) for s in self.sites]
        non_empty = [f for f in frames if len(f)]
        if len(frames) == 1 or not non_empty:
            return frames[0]
        return pd.concat(non_empty, ignore_index=True)

    table.__doc__ = f"``{name}``, joined from the sites' summaries."
    return cached_property(table)


class SummaryResult(Result):
    """A :class:`allocator.Result` of :class:`SiteSummary`: every table but the hourly ones."""

    split = _kept_table("split")
    financials = _kept_table("financials")
    leases = _kept_table("leases")
    fleets = _kept_table("fleets")
    marginal_values = _kept_table("marginal_values")
    power_contracts = _kept_table("power_contracts")
    demand_response = _kept_table("demand_response")
    coincident_peak = _kept_table("coincident_peak")
    assumptions = _kept_table("assumptions")

    @property
    def dispatch(self) -> pd.DataFrame:
        raise AttributeError(_HOURLY.format("dispatch.csv"))

    @property
    def shadow_prices(self) -> pd.DataFrame:
        raise AttributeError(_HOURLY.format("shadow_prices.csv"))

    @property
    def reasons(self) -> dict[str, str]:
        return {s.site_id: s.reason for s in self.sites}

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.sites for w in s.warnings]

    def site_records(self) -> list[dict]:
        return [{"site_id": s.site_id, "site_file": s.site_file, "hours": s.hours,
                 "objective_usd": s.objective_usd, "inputs_sha256": s.inputs_sha256, "method": s.method}
                for s in self.sites]
