"""Solve many variants of one site fast: keep the HiGHS model, change only what moved.

A scenario that changes prices, hashprice, rates or bounds leaves the LP's
matrix as it was: only column costs, column bounds and row bounds move. For
those, :class:`ReusableSolver` keeps one ``highspy.Highs`` per site, pushes the
changed entries (``changeColsCost``, ``changeColsBounds``, ``changeRowsBounds``)
and re-solves with dual simplex from the previous optimal basis. Anything that
changes the matrix (a PUE, the utilization, the uptime SLA, a fleet or a lease
added) is detected by comparing the nonzeros and the model is passed anew.
Either way the LP solved is exactly the one :func:`allocator.lp.model.build`
makes, so reuse changes the time, never the answer.

:class:`SiteScenarios` is the per-site engine of sweeps and breakevens: the
base site is read once; a scenario's overrides are validated by the schema
and, when they touch no file-related field, the hourly arrays are derived from
the base site instead of re-reading the price files. Numbers set on existing
fields skip the deep copy and the whole-file validation
(:mod:`allocator.whatif.sweep_overrides`: each value still goes through its
field's validator, and anything it does not accept takes the general path,
which words the error). With ``solver="auto"`` (sweeps and breakevens) the
scenarios the structured solver covers (the base model, TOU, 4CP, contracts,
the uptime SLA, demand response) are solved by its cutting planes with their cuts
kept between scenarios (:mod:`allocator.whatif.sweep_structured`) and the
others by the kept HiGHS model.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AllocatorError, InfeasibleError, InputError, Problem
from ..inputs import overrides
from ..inputs import site as site_mod
from ..inputs.site import Site, load_site
from ..lp import diagnosis, model, results
from ..lp.solve import Solution, _raise_for_status, highs_for, run, solver_version
from .sweep_overrides import numeric_config
from .sweep_structured import SweepSolver

#: override paths whose new site is derived from the base site without re-reading files
FAST_PATH = re.compile(
    r"^(site\.(name|interconnect_mw|facility_mw)"
    r"|prices\.adder_usd_per_mwh"
    r"|mining\.(pue|pool_fee_frac|opex_usd_per_mw_year|hashprice_usd_per_ph_day|min_uptime_frac)"
    r"|mining\.hashprice\.(btc_price_usd|difficulty|fees_btc_per_block|next_halving_utc)"
    r"|mining\.fleet\[\d+\]\.(model|efficiency_j_per_th|mw)"
    r"|ai\.(pue|convertible_mw|utilization_frac|fitout_capex_usd_per_mw|capex_life_years|discount_rate_frac"
    r"|opex_usd_per_mw_year|power_pass_through)"
    r"|ai\.lease\[\d+\]\.(tenant|rate_usd_per_kw_month|min_mw|max_mw)"
    r"|curtailment\[\d+\]\.(start|end|cap_mw))$"
)

#: ``SiteSolution.method`` of a scenario HiGHS solved (why, after a colon, when ``auto`` chose HiGHS)
HIGHS_METHOD = "HiGHS (one model per site kept between scenarios, warm dual simplex)"

STATUSES = ("optimal", "input_error", "infeasible", "solver_error")


class ReusableSolver:
    """HiGHS kept between solves of LPs with the same matrix.

    Parameters
    ----------
    reuse : bool
        False re-passes and cold-solves every model (the rebuild baseline).
    time_limit_s : float, optional
        Solver time limit per solve [s].
    """

    def __init__(self, reuse: bool = True, time_limit_s: float | None = None) -> None:
        self.reuse = reuse
        self.time_limit_s = time_limit_s
        self.rebuilt = 0
        self.reused = 0
        self._h = None
        self._arrays: dict[str, np.ndarray] | None = None
        self._version = solver_version()

    def solve(self, lp: model.LinearModel) -> Solution:
        """Solve ``lp``; raise :class:`InfeasibleError` / :class:`SolverError` when not optimal."""
        arr = lp.arrays()
        if lp.n_cols == 0:
            return Solution("optimal", 0.0, np.zeros(0), np.zeros(lp.n_rows), np.zeros(0), self._version)
        t0 = time.perf_counter()
        warm = self.reuse and self._h is not None and _same_matrix(self._arrays, arr)
        if warm:
            self._push_changes(arr)
            self.reused += 1
        else:
            self._h = highs_for(lp, time_limit_s=self.time_limit_s)
            self.rebuilt += 1
        self._arrays = arr
        t1 = time.perf_counter()
        run(self._h)
        t2 = time.perf_counter()
        status = self._h.getModelStatus()
        import highspy

        if status != highspy.HighsModelStatus.kOptimal:
            h, self._h, self._arrays = self._h, None, None
            if warm:  # confirm from scratch before reporting a failure of a warm start
                return self.solve(lp)
            _raise_for_status(lp, h.modelStatusToString(status),
                              status in (highspy.HighsModelStatus.kInfeasible,
                                         highspy.HighsModelStatus.kUnboundedOrInfeasible),
                              self.time_limit_s if status == highspy.HighsModelStatus.kTimeLimit else None)
        if not warm:
            # later solves start from this basis: dual simplex, no presolve needed
            self._h.setOptionValue("solver", "simplex")
        sol = self._h.getSolution()
        return Solution("optimal", float(self._h.getInfo().objective_function_value),
                        np.asarray(sol.col_value, dtype=float), np.asarray(sol.row_dual, dtype=float),
                        np.asarray(sol.col_dual, dtype=float), self._version,
                        {"handoff": t1 - t0, "solve": t2 - t1})

    def _push_changes(self, arr: dict[str, np.ndarray]) -> None:
        old = self._arrays
        assert old is not None and self._h is not None
        h = self._h
        cost = np.flatnonzero(arr["col_cost"] != old["col_cost"])
        if cost.size:
            h.changeColsCost(cost.size, cost.astype(np.int32), arr["col_cost"][cost])
        cols = np.flatnonzero((arr["col_lower"] != old["col_lower"]) | (arr["col_upper"] != old["col_upper"]))
        if cols.size:
            h.changeColsBounds(cols.size, cols.astype(np.int32), arr["col_lower"][cols], arr["col_upper"][cols])
        rows = np.flatnonzero((arr["row_lower"] != old["row_lower"]) | (arr["row_upper"] != old["row_upper"]))
        if rows.size:
            h.changeRowsBounds(rows.size, rows.astype(np.int32), arr["row_lower"][rows], arr["row_upper"][rows])


def _same_matrix(old: dict[str, np.ndarray] | None, new: dict[str, np.ndarray]) -> bool:
    if old is None:
        return False
    return (old["col_cost"].size == new["col_cost"].size and old["row_lower"].size == new["row_lower"].size
            and all(np.array_equal(old[k], new[k]) for k in ("row", "col", "coef")))


# ------------------------------------------------------------------ one site, many scenarios


@dataclasses.dataclass
class Outcome:
    """One scenario of one site: its split row (the columns of split.csv), status and error."""

    status: str
    split: dict[str, Any]
    error: str = ""
    solution: results.SiteSolution | None = None
    method: str = ""  # "structured" or "highs" for a solved scenario

    @property
    def method_detail(self) -> str:
        """How the scenario was solved, in words (``SiteSolution.method``; "" when it was not solved)."""
        return self.solution.method if self.solution is not None else ""


class SiteScenarios:
    """Solve scenarios (dicts of dotted path -> value) of one site file, reusing the model.

    Parameters
    ----------
    path : str or Path
        The site file.
    reuse : bool
        Keep the solver and the base site's arrays between scenarios (default); False
        reloads and rebuilds everything per scenario (the baseline).
    solver : {"highs", "auto"}
        ``"auto"``: the structured cutting planes for the scenarios they cover
        (:func:`allocator.lp.structured.not_covered`), HiGHS for the others.
    """

    def __init__(self, path: str | Path, *, reuse: bool = True, time_limit_s: float | None = None,
                 solver: str = "highs") -> None:
        if solver not in ("highs", "auto"):
            raise ValueError(f"solver {solver!r}: expected 'highs' or 'auto'")
        self.path = Path(path)
        self.site_id = self.path.stem
        self.reuse = reuse
        self.solver = ReusableSolver(reuse=reuse, time_limit_s=time_limit_s)
        self.structured = SweepSolver() if solver == "auto" else None
        #: solved scenarios per method in words (``Outcome.method_detail``), for the run's manifest
        self.methods: Counter = Counter()
        self._raw: dict | None = None
        self._base: Site | None = None

    @property
    def raw(self) -> dict:
        if self._raw is None:
            self._raw = overrides.read_raw(self.path)
        return self._raw

    @property
    def base(self) -> Site:
        if self._base is None:
            self._base = load_site(self.path)
        return self._base

    def site_for(self, values: dict[str, Any]) -> Site:
        """The site with ``values`` applied; raise :class:`InputError` on a bad path or value."""
        where = str(self.path)
        if not values:
            return self.base if self.reuse else load_site(self.path)
        fast = self.reuse and all(FAST_PATH.match(p) for p in values)
        if fast:
            config = numeric_config(self.base.config, values, where)
            if config is not None:
                return derive_site(self.base, config)
        raw = overrides.apply_overrides(self.raw, values, where)
        config = overrides.validate(raw, where, values)
        if fast:
            return derive_site(self.base, config)
        return load_site(self.path, config=config)

    def run(self, values: dict[str, Any]) -> Outcome:
        """Solve one scenario; failures become an :class:`Outcome` with status and error text."""
        try:
            site = self.site_for(values)
            problems = diagnosis.conflicts(site)
            if problems:
                raise InfeasibleError(problems, site.id)
            site_sol = self._structured(site)
            method = "structured"
            if site_sol is None:
                lp = model.build([site], name=site.id)
                solution = self.solver.solve(lp)
                site_sol = results.site_solution(lp.blocks[0], solution, marginal_values=False)
                results.check_objective(site_sol, solution.objective_usd)
                method = "highs"
                why = self.structured.why_not if self.structured is not None else ""
                site_sol.method = f"{HIGHS_METHOD}: {why}" if why else HIGHS_METHOD
        except AllocatorError as err:
            status = "input_error" if isinstance(err, InputError) else (
                "infeasible" if isinstance(err, InfeasibleError) else "solver_error")
            return Outcome(status, {"site_id": self.site_id}, "; ".join(str(p) for p in err.problems))
        self.methods[site_sol.method] += 1
        return Outcome("optimal", split_row(site_sol), "", site_sol, method)

    def _structured(self, site: Site) -> results.SiteSolution | None:
        """The structured optimum, its items checked against its objective; None: not covered
        (``self.structured.why_not`` says why)."""
        if self.structured is None:
            return None
        if not self.reuse:  # the baseline keeps nothing between scenarios
            self.structured = SweepSolver()
        site_sol = self.structured.solve(site)
        if site_sol is not None:
            results.check_objective(site_sol, site_sol.objective_usd)
        return site_sol


def split_row(s: results.SiteSolution) -> dict[str, Any]:
    """The split.csv row of one site solution, as a dict (same numbers as results.split_table)."""
    site = s.site
    cfg = site.config
    ai_grid = s.ai_it_mw * (cfg.ai.pue if cfg.ai else 0.0)
    mining_grid = s.mining_it_mw * cfg.mining.pue
    energy = float(s.run_mw.sum())
    row = {
        "site_id": site.id, "interconnect_mw": site.interconnect_mw, "facility_mw": site.facility_mw,
        "ai_it_mw": s.ai_it_mw, "ai_grid_mw": ai_grid, "mining_it_mw": s.mining_it_mw,
        "mining_grid_mw": mining_grid, "ai_share_frac": ai_grid / site.facility_mw,
        "mining_share_frac": mining_grid / site.facility_mw, "mining_energy_mwh": energy,
        "mining_uptime_frac": energy / (s.mining_it_mw * site.hours) if s.mining_it_mw > 0 else 0.0,
        "hours": site.hours, "net_usd": s.financials_usd["net"],
    }
    return {k: row.get(k) for k in results.SPLIT_COLUMNS}


def derive_site(base: Site, config) -> Site:
    """``base`` with a new config whose changes need no file: hourly arrays recomputed in memory.

    Only for overrides matching :data:`FAST_PATH` (no price, hashprice-file or profile change).
    """
    old = base.config
    where = str(base.path)
    problems: list[Problem] = []
    files = dict(base.input_files)
    price = base.price_usd_per_mwh
    if config.prices.adder_usd_per_mwh != old.prices.adder_usd_per_mwh:
        price = price - old.prices.adder_usd_per_mwh + config.prices.adder_usd_per_mwh
    hashprice = base.hashprice_usd_per_ph_day
    if (config.mining.hashprice_usd_per_ph_day, config.mining.hashprice) != (
            old.mining.hashprice_usd_per_ph_day, old.mining.hashprice):
        hashprice = site_mod._hashprice(config, base.index, base.path.parent, where, files, problems)
    utilization = base.ai_utilization_frac
    old_u = (old.ai.utilization_frac, old.ai.utilization) if old.ai else None
    new_u = (config.ai.utilization_frac, config.ai.utilization) if config.ai else None
    if old_u != new_u:
        utilization = site_mod._utilization(config, base.index, base.path.parent, where, files, problems)
    cap = base.grid_cap_mw
    if (config.site.interconnect_mw, config.curtailment) != (old.site.interconnect_mw, old.curtailment):
        cap = site_mod._grid_cap(config, base.index, where, problems)
    if problems:
        raise InputError(problems, where)
    return dataclasses.replace(base, config=config, price_usd_per_mwh=price, hashprice_usd_per_ph_day=hashprice,
                               grid_cap_mw=cap, ai_utilization_frac=utilization, input_files=files)
