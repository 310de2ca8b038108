"""``allocator plan``: solve the multi-year conversion plan and its business-as-usual twin.

The plan LP (:mod:`allocator.plan.model`) is solved twice: with conversion
allowed, and with every site kept all-mining (business as usual, no AI built
or leased). The difference of their yearly net cash flows is the conversion's
incremental cash flow, whose NPV, IRR and payback are reported. Without a
portfolio each site is its own LP (independent, same optimum as one LP); with
one (:mod:`allocator.plan.portfolio`) all sites share one LP and its coupling rows.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..file_hash import sha256_file
from ..inputs.site import Site, load_site
from ..lp.model import LinearModel
from ..lp.solve import Solution, dist_version, pick_solver, solve_model, solver_version, tool_version
from ..lp.solve_progress import SolveWatch
from .after_tax import AFTER_TAX_ITEMS, SiteAfterTax, irr_frac, site_after_tax
from .data import PlanData, plan_data, plan_mode_problems
from .model import PlanBlock, add_plan_block, hashrate_ph_per_mw

#: the yearly items of cashflows.csv: the names of financials.csv where they mean the same thing;
#: capex is cash when paid here (``ai_capex``, ``mining_capex``), not ``ai_capex_recovery``
CASHFLOW_ITEMS = (
    "ai_lease_revenue", "ai_opex", "ai_power_cost", "ai_capex",
    "mining_revenue", "mining_power_cost", "mining_fixed_cost", "mining_capex", "net",
)
PLAN_COLUMNS = ("site_id", "year", "ai_it_mw", "mining_it_mw", "mining_energy_mwh", "net_usd",
                "ai_converted_mw", "ai_leased_mw", "mining_hashrate_ph", "discount_factor")
SUMMARY_COLUMNS = ("scope", "npv_usd", "bau_npv_usd", "conversion_npv_usd", "conversion_irr_frac",
                   "payback_years", "terminal_value_usd", "bau_terminal_value_usd", "npv_with_terminal_usd",
                   "bau_npv_with_terminal_usd", "after_tax_npv_usd", "bau_after_tax_npv_usd",
                   "conversion_after_tax_npv_usd", "after_tax_irr_frac", "bau_after_tax_irr_frac",
                   "conversion_after_tax_irr_frac")


@dataclass
class SitePlan:
    """One site's solved plan: yearly decisions and cash flows."""

    block: PlanBlock
    plan: pd.DataFrame       # PLAN_COLUMNS
    cashflows: pd.DataFrame  # site_id, year, item, usd
    npv_usd: float
    lease_mw: np.ndarray | None = None  # (L, Y) IT MW leased per tenant and year
    after_tax: SiteAfterTax | None = None  # after-tax lines at t = 0..Y (allocator.plan.after_tax)

    @property
    def equity_flows_usd(self) -> np.ndarray:
        """After-tax equity cash flow at t = 0..Y (t = Y: the horizon's end) [USD]."""
        return self.after_tax.lines["equity_cash_flow"]


@dataclass
class PlanResult:
    """The plan and business as usual for a set of sites."""

    sites: list[SitePlan]
    bau: list[SitePlan]
    solver: str
    method: str
    portfolio: dict | None = None
    placements: pd.DataFrame | None = None
    shadow_prices: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    input_files: dict[str, Path] = field(default_factory=dict)

    @property
    def plan(self) -> pd.DataFrame:
        return pd.concat([s.plan for s in self.sites], ignore_index=True)

    @property
    def cashflows(self) -> pd.DataFrame:
        return pd.concat([s.cashflows for s in self.sites], ignore_index=True)

    @property
    def bau_plan(self) -> pd.DataFrame:
        return pd.concat([s.plan for s in self.bau], ignore_index=True)

    @property
    def npv_usd(self) -> float:
        return float(sum(s.npv_usd for s in self.sites))

    @property
    def bau_npv_usd(self) -> float:
        return float(sum(s.npv_usd for s in self.bau))

    @property
    def summary(self) -> pd.DataFrame:
        """NPV of the plan and of business as usual, and the conversion's NPV, IRR and payback."""
        rows = []
        scopes = [(s.block.site.id, [s], [b]) for s, b in zip(self.sites, self.bau)]
        if len(self.sites) > 1:
            scopes.append(("total", self.sites, self.bau))
        for scope, plans, baus in scopes:
            flows = sum(_net_by_year(p) for p in plans) - sum(_net_by_year(b) for b in baus)
            converted = any(float(p.plan["ai_converted_mw"].sum()) > 0.0 for p in plans)
            if not converted:  # the plan is business as usual: no investment, nothing to pay back
                flows = flows * 0.0
            rows.append({"scope": scope, "npv_usd": sum(p.npv_usd for p in plans),
                         "bau_npv_usd": sum(b.npv_usd for b in baus),
                         "conversion_npv_usd": sum(p.npv_usd for p in plans) - sum(b.npv_usd for b in baus),
                         "conversion_irr_frac": irr(flows.to_numpy()),
                         "payback_years": payback_years(flows.to_numpy()), **_after_tax_summary(plans, baus)})
        return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    @property
    def warnings(self) -> list[str]:
        """The sites' input warnings (unit slips, naive times read as UTC, ...), one line each."""
        return [str(w) for s in self.sites for w in s.block.site.warnings]

    def manifest(self) -> dict:
        inputs: dict[str, str] = {}
        for s in self.sites:
            inputs.update(s.block.site.file_sha256())
        for path in self.input_files.values():
            inputs[str(path)] = sha256_file(path)[0]
        return {
            "tool": "allocator", "command": "plan", "tool_version": tool_version(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(), "pulp_version": dist_version("pulp"),
            "solver": self.solver, "status": "optimal", "periods": self.method,
            "objective_usd": self.npv_usd, "bau_objective_usd": self.bau_npv_usd,
            "sites": {s.block.site.id: {"npv_usd": s.npv_usd, "bau_npv_usd": b.npv_usd,
                                        "site_file": str(s.block.site.path)} for s, b in zip(self.sites, self.bau)},
            "portfolio": self.portfolio,
            "inputs_sha256": inputs,
            "seconds": {k: round(v, 6) for k, v in self.seconds.items()},
            "warnings": self.warnings,
            "argv": sys.argv,
        }


def solve_plan(sites: list[Site | str | Path], *, portfolio=None, bins_per_month: int | None = None,
               time_limit_s: float | None = None, progress: Callable[[str], None] | None = None) -> PlanResult:
    """Solve the multi-year plan of each site (and business as usual).

    Parameters
    ----------
    sites : list of Site or paths
        Sites whose files carry a ``[plan]`` table.
    portfolio : path or PortfolioFile, optional
        Shared constraints (``portfolio.toml``); without it sites are independent.
    bins_per_month : int, optional
        Representative price levels per month (overrides ``plan.price_bins_per_month``; 0 = every hour).
    time_limit_s : float, optional
        Solver time limit per LP [s].
    progress : callable, optional
        Called with a line of text while a solve runs longer than a few seconds (the CLI prints it
        on stderr). Ctrl-C stops a solve within about a second either way (:mod:`allocator.lp.solve_progress`).
    """
    seconds = dict.fromkeys(("load", "build", "solve", "extract"), 0.0)
    t0 = time.perf_counter()
    loaded = [s if isinstance(s, Site) else load_site(s) for s in sites]
    missing = [Problem(str(s.path), "has no [plan] table.", "Add one (see docs/plan.md) or leave the site out.")
               for s in loaded if s.config.plan is None]
    for s in loaded:
        missing += plan_mode_problems(s.config, str(s.path))
    if missing:
        raise InputError(missing, f"{len(loaded)} site file{'s' if len(loaded) != 1 else ''}")
    pf, pf_path = None, None
    if portfolio is not None:
        from . import portfolio as pmod

        pf_path = portfolio if isinstance(portfolio, str | Path) else None
        pf = pmod.load_portfolio(portfolio) if pf_path is not None else portfolio
        loaded = pmod.with_tenants(loaded, pf, str(pf_path or "portfolio"), plan_mode=True)
    data = [plan_data(s, bins_per_month) for s in loaded]
    seconds["load"] = time.perf_counter() - t0
    pick_solver("highs")
    bins = data[0].plan.price_bins_per_month if bins_per_month is None else bins_per_month
    method = ("every hour of the price year" if bins == 0 else
              f"{bins} price-quantile levels per month, curtailment hours kept exactly "
              f"({len(data[0].years[0].weight_h)} representative hours per year)")
    files: dict[str, Path] = {}
    for d in data:
        files.update(d.input_files)
    if pf is None:
        plans, baus = [], []
        for d in data:
            for convert, out in ((True, plans), (False, baus)):
                out += _solve([d], convert, None, None, seconds, time_limit_s, progress)[0]
        result = PlanResult(plans, baus, solver_version("highs"), method, seconds=seconds, input_files=files)
    else:
        plans, coupling, sol = _solve(data, True, pf, pf_path, seconds, time_limit_s, progress)
        baus, _, _ = _solve(data, False, pf, pf_path, seconds, time_limit_s, progress)
        result = PlanResult(plans, baus, solver_version("highs"), method, seconds=seconds, input_files=files)
        from . import portfolio as pmod

        result.portfolio = pmod.manifest_entry(pf, pf_path)
        result.placements = pmod.plan_placements(plans, pf)
        result.shadow_prices = pmod.coupling_table(pmod.row_duals(coupling, sol), [y.year for y in data[0].years])
        if pf_path is not None:
            result.input_files["portfolio"] = Path(pf_path).resolve()
    return result


def _solve(data: list[PlanData], convert: bool, pf, pf_path, seconds: dict, time_limit_s,
           progress: Callable[[str], None] | None = None) -> tuple:
    t0 = time.perf_counter()
    lp = LinearModel("plan" if convert else "business_as_usual")
    for d in data:
        windows = {}
        if pf is not None:
            from . import portfolio as pmod

            windows = pmod.tenant_windows(pf, d.plan)
        lp.blocks.append(add_plan_block(lp, d, convert=convert, windows=windows))
    coupling = {}
    if pf is not None:
        from . import portfolio as pmod

        coupling = pmod.add_plan_coupling(lp, lp.blocks, pf, convert)
    seconds["build"] += time.perf_counter() - t0
    if pf is not None:
        from . import portfolio as pmod

        sol = pmod.solve_coupled(lp, pf, str(pf_path or "portfolio"), time_limit_s=time_limit_s,
                                 watch=_watch(lp, data, convert, progress))
    else:
        sol = solve_model(lp, time_limit_s=time_limit_s, watch=_watch(lp, data, convert, progress))
    seconds["solve"] += sol.seconds["handoff"] + sol.seconds["solve"]
    t1 = time.perf_counter()
    out = [site_plan(b, sol) for b in lp.blocks]
    total = sum(s.npv_usd for s in out)
    if abs(total - sol.objective_usd) > 1e-6 * max(1.0, abs(sol.objective_usd)) + 1e-2:
        raise AssertionError(f"plan items add to {total} but the objective is {sol.objective_usd}")
    seconds["extract"] += time.perf_counter() - t1
    return out, coupling, sol


def _watch(lp: LinearModel, data: list[PlanData], convert: bool, progress) -> SolveWatch:
    """Progress lines for this LP's solve (none without ``progress``); either way Ctrl-C stops it at once."""
    which = "plan" if convert else "business-as-usual"
    sites = data[0].site.id if len(data) == 1 else f"{len(data)} sites"
    return SolveWatch(f"the {which} LP of {sites} ({lp.n_rows:,} rows x {lp.n_cols:,} columns)", progress)


def site_plan(block: PlanBlock, sol: Solution) -> SitePlan:
    """Read one site's yearly decisions out of the solution and price every cash-flow item."""
    v = sol.col_value

    def take(cols):
        x = v[cols] if np.size(cols) else np.zeros(np.shape(cols))
        return np.where(np.abs(x) < 1e-7, 0.0, x)

    data = block.data
    cfg = block.site.config
    ai, m = cfg.ai, cfg.mining
    build, online = take(block.cols["build"]), take(block.cols["online"])
    lease, kept, buy = take(block.cols["lease"]), take(block.cols["kept"]), take(block.cols["buy"])
    ph = hashrate_ph_per_mw(block)
    offers = [f for f in block.fleets if f.offer]
    offer_capex = np.array([f.capex_usd_per_mw for f in offers])
    plan_rows, flow_rows = [], []
    npv = 0.0
    for i, year in enumerate(data.years):
        run = take(block.run[i])
        w = year.weight_h
        energy = run @ w  # (G,) IT MWh
        items = dict.fromkeys(CASHFLOW_ITEMS, 0.0)
        if ai is not None:
            items["ai_lease_revenue"] = float(lease[:, i] @ block.rates_usd_per_mw_year[:, i]) if lease.size else 0.0
            items["ai_opex"] = -ai.opex_usd_per_mw_year * online[i]
            items["ai_capex"] = -ai.fitout_capex_usd_per_mw * build[i]
            if not ai.power_pass_through and lease.size:
                items["ai_power_cost"] = -year.ai_power_usd_per_mw * float(lease[:, i].sum())
        if run.size:
            items["mining_revenue"] = float(((run * block.revenue_usd_per_mwh[i]) @ w).sum())
            items["mining_power_cost"] = -m.pue * float(run.sum(axis=0) @ (w * year.price_usd_per_mwh))
        items["mining_fixed_cost"] = -m.opex_usd_per_mw_year * float(kept[:, i].sum())
        items["mining_capex"] = -float(offer_capex @ buy[:, i]) if buy.size else 0.0
        if m.capture_frac != 1.0:  # the share of the hourly margin a runnable rule does not earn (model.py),
            del items["net"]       # an item only then, as in financials.csv
            items["mining_capture_adjustment"] = -(1.0 - m.capture_frac) * (items["mining_revenue"]
                                                                            + items["mining_power_cost"])
            items["net"] = 0.0
        items["net"] = sum(val for k, val in items.items() if k != "net")
        npv += year.discount_factor * items["net"]
        plan_rows.append({
            "site_id": block.site.id, "year": year.year, "ai_it_mw": online[i], "mining_it_mw": float(kept[:, i].sum()),
            "mining_energy_mwh": float(energy.sum()), "net_usd": items["net"], "ai_converted_mw": build[i],
            "ai_leased_mw": float(lease[:, i].sum()) if lease.size else 0.0,
            "mining_hashrate_ph": float(kept[:, i] @ ph) if kept.size else 0.0,
            "discount_factor": year.discount_factor,
        })
        flow_rows += [{"site_id": block.site.id, "year": year.year, "item": k, "usd": val} for k, val in items.items()]
    nets = np.array([r["net_usd"] for r in plan_rows])
    after = site_after_tax(block, build, buy, online, lease, nets)
    years = [y.year for y in data.years] + [data.years[-1].year + 1]  # the last: the horizon's end
    for i, year in enumerate(years):
        flow_rows += [{"site_id": block.site.id, "year": year, "item": k, "usd": float(after.lines[k][i])}
                      for k in AFTER_TAX_ITEMS]
    return SitePlan(block, pd.DataFrame(plan_rows, columns=list(PLAN_COLUMNS)),
                    pd.DataFrame(flow_rows, columns=["site_id", "year", "item", "usd"]), npv, lease, after)


def _after_tax_summary(plans: list[SitePlan], baus: list[SitePlan]) -> dict[str, float]:
    """Terminal value, NPV with it (pre-tax), after-tax NPV and IRR of the plan, business as usual and the conversion."""
    def total(sites, attr):
        return float(sum(getattr(s.after_tax, attr) for s in sites))

    plan_flows = sum(p.equity_flows_usd for p in plans)
    bau_flows = sum(b.equity_flows_usd for b in baus)
    return {"terminal_value_usd": total(plans, "terminal_usd"), "bau_terminal_value_usd": total(baus, "terminal_usd"),
            "npv_with_terminal_usd": sum(p.npv_usd for p in plans) + total(plans, "terminal_pv_usd"),
            "bau_npv_with_terminal_usd": sum(b.npv_usd for b in baus) + total(baus, "terminal_pv_usd"),
            "after_tax_npv_usd": total(plans, "npv_usd"), "bau_after_tax_npv_usd": total(baus, "npv_usd"),
            "conversion_after_tax_npv_usd": total(plans, "npv_usd") - total(baus, "npv_usd"),
            "after_tax_irr_frac": irr_frac(plan_flows), "bau_after_tax_irr_frac": irr_frac(bau_flows),
            "conversion_after_tax_irr_frac": irr_frac(plan_flows - bau_flows)}


#: yearly incremental flows smaller than this are solver noise, not a conversion [USD]
PAYBACK_NOISE_USD = 1.0


def _net_by_year(s: SitePlan) -> pd.Series:
    return s.plan.set_index("year")["net_usd"]


def irr(flows_usd: np.ndarray) -> float:
    """Internal rate of return of yearly flows (year i discounted by (1+r)^i); NaN if none.

    ``numpy_financial.irr`` (:func:`allocator.plan.after_tax.irr_frac`), as the after-tax IRRs.
    """
    return irr_frac(flows_usd)


def payback_years(flows_usd: np.ndarray) -> float:
    """Whole years from the start of the first year until the cumulative (undiscounted) flow is back
    to >= 0 for good [years]; NaN when there is nothing to pay back or it never comes back.

    The timing is the NPV's: the flow of year ``i`` (0 = the first year) is counted at the start of
    that year, ``i`` years in, so the payback is a whole number of years: ``0`` when the cumulative
    flow is never negative, ``k`` when it is back to >= 0 from the flow of year ``k`` on. All flows
    zero (no conversion: the plan is business as usual) gives NaN, not 0.
    """
    flows = np.asarray(flows_usd, float)
    noise = 1e-9 * float(np.abs(flows).sum()) + PAYBACK_NOISE_USD
    if not flows.size or not (np.abs(flows) > PAYBACK_NOISE_USD).any():
        return float("nan")
    negative = np.flatnonzero(np.cumsum(flows) < -noise)
    if not negative.size:
        return 0.0
    if negative[-1] == flows.size - 1:
        return float("nan")
    return float(negative[-1] + 1)

