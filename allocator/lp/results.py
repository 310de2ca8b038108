"""Tidy tables from a solution: split, financials, dispatch, leases, fleets.

One row per observation, units in column names (the names of docs/model.md).
Financial items are signed: revenues positive, costs negative, so the items
of a site add up to its ``net`` row, which equals the LP objective.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..file_hash import sha256_file
from ..inputs.hashprice import breakeven_price_usd_per_mwh, mining_revenue_usd_per_mwh
from ..inputs.site import Site, crf
from ..inputs.time_labels import interval_start_utc
from . import marginal, model
from .extensions import EXTENSIONS
from ..errors import SolverError
from .model import LinearModel, SiteBlock
from .solve import (FEASIBILITY_TOLERANCE, Solution, dist_version, solve_model, solver_version, tool_version,
                    worst_violation)

#: the signed items of financials.csv, in order (each defined in the README's outputs section);
#: AI's fixed cost is two items, so that capex and opex read the same in ``solve`` and ``plan``:
#: ``ai_capex_recovery`` is the fit-out capex annualized (capital recovery factor), ``ai_opex``
#: the yearly opex, both prorated to the horizon
FINANCIAL_ITEMS = (
    "ai_lease_revenue", "ai_capex_recovery", "ai_opex", "ai_power_cost",
    "mining_revenue", "mining_power_cost", "mining_fixed_cost", "net",
)
SPLIT_COLUMNS = (
    "site_id", "interconnect_mw", "facility_mw", "ai_it_mw", "ai_grid_mw", "mining_it_mw",
    "mining_grid_mw", "ai_share_frac", "mining_share_frac", "mining_energy_mwh",
    "mining_uptime_frac", "hours", "net_usd",
)
DISPATCH_COLUMNS = (
    "site_id", "interval_start_utc", "price_usd_per_mwh", "hashprice_usd_per_ph_day", "grid_cap_mw",
    "ai_grid_mw", "mining_it_mw", "mining_grid_mw", "curtailed_it_mw",
)
LEASE_COLUMNS = ("site_id", "tenant", "it_mw", "rate_usd_per_kw_month")
FLEET_COLUMNS = (
    "site_id", "model", "efficiency_j_per_th", "installed_mw", "it_mw", "mining_energy_mwh",
    "mining_uptime_frac", "breakeven_price_usd_per_mwh",
)

#: values below this are solver noise [MW]
TOLERANCE_MW = 1e-7


@dataclass
class SiteSolution:
    """One site's optimal decisions and the numbers derived from them."""

    site: Site
    lease_mw: np.ndarray          # (L,) IT MW per lease
    fleet_mw: np.ndarray          # (F,) IT MW kept per fleet
    run_mw: np.ndarray            # (F, H) IT MW running
    objective_usd: float
    financials_usd: dict[str, float] = field(default_factory=dict)
    power: Any = None  # contracts, 4CP, demand response: allocator.power.results.PowerOutcome
    marginal_usd_per_mw_year: dict[str, marginal.MarginalValue] = field(default_factory=dict)  # marginal.py
    shadow_usd_per_mwh: dict[str, np.ndarray] = field(default_factory=dict)   # marginal.py
    method: str = ""  # how the site was solved (solve_site): the manifest's sites.<id>.method

    @property
    def ai_it_mw(self) -> float:
        return float(self.lease_mw.sum())

    @property
    def mining_it_mw(self) -> float:
        return float(self.fleet_mw.sum())


def site_solution(block: SiteBlock, solution: Solution, objective_usd: float | None = None,
                  lp: LinearModel | None = None, marginal_values: bool = True) -> SiteSolution:
    """Read one block's variables out of the solution arrays and price them.

    ``lp`` (the model holding ``block``) lets the marginal values be computed one-sided, by warm
    re-solves (marginal.py); ``marginal_values=False`` skips them (a sweep's points need none).
    """
    values = solution.col_value

    def take(cols: np.ndarray) -> np.ndarray:
        out = np.where(cols >= 0, values[np.clip(cols, 0, None)] if len(values) else 0.0, 0.0)
        return _clean(out)

    site = block.site
    lease = take(block.lease_cols) if len(block.lease_cols) else np.zeros(0)
    fleet = take(block.fleet_cols) if len(block.fleet_cols) else np.zeros(0)
    run = take(block.run_cols) if block.run_cols.size else np.zeros((0, site.hours))
    fin = financials(site, lease, fleet, run)
    outcomes = {}
    for extension in EXTENSIONS.values():  # the power market's contracts, 4CP and programs
        outcomes[extension.name] = extension.outcome(block, values, lease, fleet, run)
        fin = extension.merge_items(fin, outcomes[extension.name])
    marginals = marginal.marginal_values(block, solution, lp) if marginal_values else {}
    return SiteSolution(site, lease, fleet, run, fin["net"] if objective_usd is None else objective_usd, fin,
                        outcomes.get("power"), marginals, marginal.shadow_prices(block, solution))


def _clean(x: np.ndarray) -> np.ndarray:
    """Zero out solver noise around 0."""
    x = np.asarray(x, dtype=float)
    return np.where(np.abs(x) < TOLERANCE_MW, 0.0, x)


def financials(site: Site, lease_mw: np.ndarray, fleet_mw: np.ndarray, run_mw: np.ndarray) -> dict[str, float]:
    """Every financial item of docs/model.md, signed (costs negative) [USD over the horizon]."""
    cfg = site.config
    years = site.horizon_years
    out = dict.fromkeys(FINANCIAL_ITEMS, 0.0)
    if site.has_ai and lease_mw.size:
        ai = cfg.ai
        rates = np.array([lease.rate_usd_per_kw_month for lease in ai.lease])
        a = float(lease_mw.sum())
        out["ai_lease_revenue"] = float(np.dot(lease_mw, rates)) * 12000.0 * years
        recovery = ai.fitout_capex_usd_per_mw * crf(ai.discount_rate_frac, ai.capex_life_years)
        out["ai_capex_recovery"] = -a * recovery * years
        out["ai_opex"] = -a * ai.opex_usd_per_mw_year * years
        if not ai.power_pass_through:
            out["ai_power_cost"] = -a * ai.pue * float(np.dot(site.price_usd_per_mwh, site.ai_utilization_frac))
    m = cfg.mining
    if m.fleet:
        revenue = np.array([
            mining_revenue_usd_per_mwh(site.hashprice_usd_per_ph_day, m.pool_fee_frac, f.efficiency_j_per_th)
            for f in m.fleet
        ]).reshape(len(m.fleet), site.hours)
        out["mining_revenue"] = float((run_mw * revenue).sum())
        out["mining_power_cost"] = -float(run_mw.sum(axis=0) @ site.price_usd_per_mwh) * m.pue
        out["mining_fixed_cost"] = -float(fleet_mw.sum()) * m.opex_usd_per_mw_year * years
        if m.capture_frac != 1.0:  # the share of the hourly margin a runnable rule does not earn (model.py)
            del out["net"]
            out["mining_capture_adjustment"] = -(1.0 - m.capture_frac) * (out["mining_revenue"]
                                                                          + out["mining_power_cost"])
            out["net"] = 0.0
    out["net"] = sum(v for k, v in out.items() if k != "net")
    return out


# ------------------------------------------------------------------ tables


def split_table(solutions: list[SiteSolution]) -> pd.DataFrame:
    """One row per site: the mullet split and its shares of facility_mw (grid MW)."""
    rows = []
    for s in solutions:
        site = s.site
        cfg = site.config
        ai_grid = s.ai_it_mw * (cfg.ai.pue if cfg.ai else 0.0)
        mining_grid = s.mining_it_mw * cfg.mining.pue
        energy = float(s.run_mw.sum())
        rows.append({
            "site_id": site.id,
            "interconnect_mw": site.interconnect_mw,
            "facility_mw": site.facility_mw,
            "ai_it_mw": s.ai_it_mw,
            "ai_grid_mw": ai_grid,
            "mining_it_mw": s.mining_it_mw,
            "mining_grid_mw": mining_grid,
            "ai_share_frac": ai_grid / site.facility_mw,
            "mining_share_frac": mining_grid / site.facility_mw,
            "mining_energy_mwh": energy,
            "mining_uptime_frac": energy / (s.mining_it_mw * site.hours) if s.mining_it_mw > 0 else 0.0,
            "hours": site.hours,
            "net_usd": s.financials_usd["net"],
        })
    return pd.DataFrame(rows, columns=list(SPLIT_COLUMNS))


def financials_table(solutions: list[SiteSolution]) -> pd.DataFrame:
    """``site_id, item, usd``: signed items, then ``net``."""
    rows = [
        {"site_id": s.site.id, "item": item, "usd": usd}
        for s in solutions for item, usd in s.financials_usd.items()
    ]
    return pd.DataFrame(rows, columns=["site_id", "item", "usd"])


def dispatch_table(solutions: list[SiteSolution]) -> pd.DataFrame:
    """One row per site and hour."""
    frames = []
    extra = [c for extension in EXTENSIONS.values() for c in extension.dispatch_columns(solutions)]
    for s in solutions:
        site = s.site
        cfg = site.config
        running = s.run_mw.sum(axis=0) if s.run_mw.size else np.zeros(site.hours)
        ai_grid = (s.ai_it_mw * cfg.ai.pue * site.ai_utilization_frac) if cfg.ai else np.zeros(site.hours)
        frames.append(pd.DataFrame({
            "site_id": site.id,
            "interval_start_utc": interval_start_utc(site.index),
            "price_usd_per_mwh": site.price_usd_per_mwh,
            "hashprice_usd_per_ph_day": site.hashprice_usd_per_ph_day,
            "grid_cap_mw": site.grid_cap_mw,
            "ai_grid_mw": ai_grid,
            "mining_it_mw": running,
            "mining_grid_mw": running * cfg.mining.pue,
            "curtailed_it_mw": _clean(s.mining_it_mw - running),
            **(s.power.dispatch if s.power is not None else {}),
        }))
    if not frames:
        return pd.DataFrame(columns=list(DISPATCH_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(DISPATCH_COLUMNS) + extra]


def leases_table(solutions: list[SiteSolution]) -> pd.DataFrame:
    """One row per site and lease offered."""
    rows = []
    for s in solutions:
        ai = s.site.config.ai
        if ai is None:
            continue
        for lease, mw in zip(ai.lease, s.lease_mw):
            rows.append({"site_id": s.site.id, "tenant": lease.tenant, "it_mw": float(mw),
                         "rate_usd_per_kw_month": lease.rate_usd_per_kw_month})
    return pd.DataFrame(rows, columns=list(LEASE_COLUMNS))


def fleets_table(solutions: list[SiteSolution]) -> pd.DataFrame:
    """One row per site and fleet: what was kept and how much it ran."""
    rows = []
    for s in solutions:
        site = s.site
        m = site.config.mining
        median_hashprice = float(np.median(site.hashprice_usd_per_ph_day)) if site.hours else 0.0
        for fleet, kept, run in zip(m.fleet, s.fleet_mw, s.run_mw):
            energy = float(run.sum())
            rows.append({
                "site_id": site.id, "model": fleet.model, "efficiency_j_per_th": fleet.efficiency_j_per_th,
                "installed_mw": fleet.mw, "it_mw": float(kept), "mining_energy_mwh": energy,
                "mining_uptime_frac": energy / (kept * site.hours) if kept > 0 else 0.0,
                "breakeven_price_usd_per_mwh": float(breakeven_price_usd_per_mwh(
                    median_hashprice, m.pool_fee_frac, fleet.efficiency_j_per_th, m.pue)),
            })
    return pd.DataFrame(rows, columns=list(FLEET_COLUMNS))


# ------------------------------------------------------------------ the why


def check_adds_up(total_usd: float, objective_usd: float, what: str) -> None:
    """The re-priced items (``total_usd``) must add up to the solver's objective."""
    if abs(total_usd - objective_usd) > 1e-6 * max(1.0, abs(objective_usd)) + 1e-3:
        raise AssertionError(f"{what}: items add to {total_usd} but the objective is {objective_usd}")


def reason(s: SiteSolution) -> str:
    """One line on why the split is what it is (reasons.py)."""
    from .reasons import reason as why

    return why(s)


#: ``SiteSolution.method`` of a site HiGHS solved
HIGHS_METHOD = "HiGHS (interior point with crossover)"
#: ``SiteSolution.method`` of a site CBC solved
CBC_METHOD = "CBC (via PuLP)"


def solve_site(site: Site, solver: str, time_limit_s: float | None) -> tuple[SiteSolution, dict[str, float]]:
    """Build, solve and extract one site's LP; return its solution and phase times [s].

    ``solver="auto"`` solves the sites :func:`allocator.lp.structured.not_covered` accepts by cutting
    planes (exact, no hourly LP) and the others, or any whose cutting planes do not close, with HiGHS;
    ``"structured"`` is the same (its name before ``auto`` existed, kept for the scripts that use it);
    ``"highs"`` and ``"cbc"`` solve the whole LP.
    ``SiteSolution.method`` says which method solved the site, and why HiGHS where auto chose it.
    """
    t1 = time.perf_counter()
    lp = model.build([site], name=site.id)
    build_s = time.perf_counter() - t1
    method = CBC_METHOD if solver == "cbc" else HIGHS_METHOD
    solution = optimum = None
    if solver in ("auto", "structured"):
        from . import structured

        why_not = structured.not_covered(site)
        if not why_not:
            try:
                optimum = structured.solve_structured(site)
            except SolverError as err:
                optimum = None
                why_not = f"the cutting planes did not converge ({err.problems[0].message})"
            else:
                solution = structured.lp_solution(lp.blocks[0], optimum, solver_version("structured"))
                method = f"{structured.METHOD}, {optimum.iterations} cuts, gap {optimum.gap_frac:.1e}"
                # the same re-check as HiGHS's answer gets: a plan breaking a row of the LP is never reported
                place, gap = worst_violation(lp, solution.col_value)
                if not gap <= FEASIBILITY_TOLERANCE:
                    problem = (f"the cutting planes' plan breaks {place} by {gap:.2g} (relative): the site is "
                               f"numerically troubled")
                    solution = optimum = None
                    why_not = problem
        if solution is None:
            method = f"{HIGHS_METHOD}: {why_not}"
    if solution is None:
        solution = solve_model(lp, solver="cbc" if solver == "cbc" else "highs", time_limit_s=time_limit_s)
    t2 = time.perf_counter()
    if optimum is None:
        site_sol = site_solution(lp.blocks[0], solution, lp=lp)
    else:  # the one-sided values by structured re-solves, not by a HiGHS model this run never built
        site_sol = site_solution(lp.blocks[0], solution)
        t_m = time.perf_counter()
        from .structured_marginal import marginal_values

        site_sol.marginal_usd_per_mw_year = marginal_values(site, optimum, site_sol.marginal_usd_per_mw_year)
        solution.seconds["marginal"] = time.perf_counter() - t_m
    solution.highs = solution.resolver = None  # HiGHS's memory goes with the site
    site_sol.method = method
    check_objective(site_sol, solution.objective_usd)
    marginal_s = solution.seconds.get("marginal", 0.0)  # the warm re-solves of the one-sided values
    return site_sol, {"build": build_s, "handoff": solution.seconds["handoff"], "solve": solution.seconds["solve"],
                      "marginal": marginal_s, "extract": time.perf_counter() - t2 - marginal_s}


def check_objective(s: SiteSolution, objective_usd: float) -> None:
    """The site's re-priced items must add up to the solver's objective."""
    check_adds_up(s.financials_usd["net"], objective_usd, f"site {s.site.id}")


PHASES = ("load", "build", "handoff", "solve", "marginal", "extract")


@dataclass
class Result:
    """The answer for a set of sites.

    Attributes
    ----------
    sites : list of SiteSolution
    solver : str
        Solver name and version.
    seconds : dict[str, float]
        Wall time of each phase (load, build, handoff, solve, extract) [s].
    """

    sites: list[SiteSolution]
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)
    manifest_extra: dict = field(default_factory=dict)  # e.g. the portfolio of allocator.plan.portfolio
    input_files: list[Path] = field(default_factory=list)  # inputs besides the sites' (a --scenario file), hashed

    @cached_property
    def split(self) -> pd.DataFrame:
        return split_table(self.sites)

    @cached_property
    def financials(self) -> pd.DataFrame:
        return financials_table(self.sites)

    @cached_property
    def dispatch(self) -> pd.DataFrame:
        return dispatch_table(self.sites)

    @cached_property
    def leases(self) -> pd.DataFrame:
        return leases_table(self.sites)

    @cached_property
    def fleets(self) -> pd.DataFrame:
        return fleets_table(self.sites)

    @cached_property
    def marginal_values(self) -> pd.DataFrame:
        """``site_id, resource, value_usd_per_mw_year, loss_usd_per_mw_year, lp_dual_usd_per_mw_year``
        (marginal.py)."""
        return marginal.marginal_values_table(self.sites)

    @cached_property
    def shadow_prices(self) -> pd.DataFrame:
        """``site_id, constraint, interval_start_utc, value_usd_per_mwh`` (marginal.py)."""
        return marginal.shadow_prices_table(self.sites)

    @cached_property
    def power_contracts(self) -> pd.DataFrame:
        return extension_table("power_contracts", self.sites)

    @cached_property
    def demand_response(self) -> pd.DataFrame:
        return extension_table("demand_response", self.sites)

    @cached_property
    def coincident_peak(self) -> pd.DataFrame:
        return extension_table("coincident_peak", self.sites)

    @cached_property
    def assumptions(self) -> pd.DataFrame:
        """Every input field of every site: ``site_id, field, value, unit, source`` (inputs/assumptions.py)."""
        from ..inputs.assumptions import assumptions_table

        return assumptions_table([s.site for s in self.sites])

    @property
    def objective_usd(self) -> float:
        """Net USD of all sites over their horizons."""
        return float(sum(s.objective_usd for s in self.sites))

    @property
    def reasons(self) -> dict[str, str]:
        """One line per site on why its split is what it is."""
        return {s.site.id: reason(s) for s in self.sites}

    @property
    def warnings(self) -> list[str]:
        """What the sites' inputs said that is allowed but worth checking (unit slips, naive times read as
        UTC, ...), one line each, in site order; the CLI prints them and the manifest lists them."""
        return [str(w) for s in self.sites for w in s.site.warnings]

    def site_records(self) -> list[dict]:
        """Per site: ``site_id, site_file, hours, objective_usd, inputs_sha256`` (for the manifest)."""
        return [{"site_id": s.site.id, "site_file": s.site.path, "hours": s.site.hours,
                 "objective_usd": s.objective_usd, "inputs_sha256": s.site.file_sha256(),
                 "method": s.method} for s in self.sites]

    def manifest(self) -> dict:
        """Versions, solver, status, objective, input hashes and phase timings."""
        records = self.site_records()
        reasons = self.reasons  # the why of each split, for the reports' summary block
        inputs: dict[str, str] = {}
        for r in records:
            inputs.update(r["inputs_sha256"])
        for path in self.input_files:
            inputs[str(Path(path).resolve())] = sha256_file(Path(path))[0]
        return {
            "tool": "allocator",
            "command": "solve",
            "tool_version": tool_version(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "pulp_version": dist_version("pulp"),
            "solver": self.solver,
            "status": "optimal",
            "objective_usd": self.objective_usd,
            "sites": {r["site_id"]: {"objective_usd": r["objective_usd"], "hours": r["hours"],
                                     "site_file": str(r["site_file"]), "reason": reasons.get(r["site_id"], ""),
                                     **({"method": r["method"]} if r.get("method") else {})} for r in records},
            "inputs_sha256": inputs,
            "seconds": {k: round(v, 6) for k, v in self.seconds.items()},
            "warnings": self.warnings,
            "argv": sys.argv,
            **self.manifest_extra,
        }


def extension_table(name: str, solutions: list[SiteSolution]) -> pd.DataFrame:
    """The table ``name`` of the registered extension that provides it (empty when none does)."""
    for extension in EXTENSIONS.values():
        if name in extension.tables:
            return extension.tables[name](solutions)
    return pd.DataFrame()
