"""The plan of an operating day: the fixed-split LP on the day-ahead prices and its stand-down prices.

With the split installed (leases and fleets fixed at their MW), the LP of one day
decides only which fleets run in which interval. Each fleet's **stand-down price**
in an interval is the real-time price above which it should stop, read from the
LP's duals ``y`` (d net / d bound):

    margin_{f,t} = c_{f,t} - sum_{r charged} A_{r,(f,t)} y_r                   [USD per IT MWh]
    stand_down_{f,t} = p_t + margin_{f,t} / pue_m                               [USD/MWh]

where ``c_{f,t} = revenue_f - pue_m (p_t + adders)`` is the running column's objective
coefficient. Without any binding row ``stand_down = revenue_f / pue_m - adders``:
the fleet's breakeven at the market price. The uptime SLA's dual raises it (a
running interval is worth its share of the SLA: the threshold becomes the price
of the interval that would have to run instead), a physical contract block, a
4CP risk hour or a demand-response award move it by their duals.

Two row families are not charged: the run limit ``x <= m`` and the interval's
grid limit. They say how many MW run, not whether running pays: when the real-time
price of an interval rises, every fleet's cost rises with it, the least efficient
fleet stops first and frees the grid for the others, so a full connection does
not lower an efficient fleet's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InfeasibleError, InputError, Problem
from ..inputs.hashprice import mining_revenue_usd_per_mwh
from ..inputs import overrides
from ..inputs.site import Site, load_site
from ..lp import model, results
from ..lp.solve import solve_model
from .peak_risk import DayRisk, day_risk, read_load
from .split import InstalledSplit, run_folder_split, site_file_split
from .window import window_config


@dataclass
class DayPlan:
    """One operating day's plan for one site.

    Attributes
    ----------
    site : Site
        The site read on the day's window (day-ahead prices in ``price_usd_per_mwh``).
    split : InstalledSplit
    solution : results.SiteSolution
        The fixed-split LP's optimum (``run_mw``: (F, H) planned running IT MW).
    market_price_usd_per_mwh : np.ndarray
        (H,) the price column, before the site's adders [USD/MWh].
    stand_down_usd_per_mwh : np.ndarray
        (F, H) real-time price above which each fleet should stop [USD/MWh].
    breakeven_usd_per_mwh : np.ndarray
        (F, H) the same threshold with no constraint binding: revenue / PUE - adders [USD/MWh].
    offers_mw : dict[str, np.ndarray]
        Demand-response program -> (H,) MW offered (0 where the program is not offered).
    risk : DayRisk or None
        The morning's 4CP risk forecast (``--peak-load``); its risk hours are the day's 4CP intervals.
    """

    site: Site
    split: InstalledSplit
    solution: results.SiteSolution
    market_price_usd_per_mwh: np.ndarray
    stand_down_usd_per_mwh: np.ndarray
    breakeven_usd_per_mwh: np.ndarray
    offers_mw: dict[str, np.ndarray]
    risk: DayRisk | None = None

    @property
    def run_mw(self) -> np.ndarray:
        return self.solution.run_mw


def day_site(path: Path, day: date, days: int = 1, price_column: str | None = None,
             risk: DayRisk | None = None) -> Site:
    """The site read on ``days`` local days from ``day`` (prices from ``price_column`` if given).

    With ``risk`` (one day), its risk hours replace the site file's 4CP intervals or probabilities:
    each is charged as a listed 4CP interval (``charge / peaks_per_year`` per grid MW drawn in it);
    a day without risk hours has no 4CP term. A site without ``[coincident_peak]`` has no charge.
    """
    config = window_config(path, day, days, {"prices.column": price_column} if price_column is not None else None)
    cp = config.coincident_peak if risk is None else _risk_peak(path, risk)
    if risk is not None:
        config = config.model_copy(update={"coincident_peak": cp})
    try:
        site = load_site(path, config=config)
    except InputError as err:
        if not _no_peak_risk(err, config):
            raise
        # a probability file that is 0 all day (a year-round file outside the 4CP season): no 4CP risk
        # that day, as a day without listed intervals or risk hours
        site = load_site(path, config=config.model_copy(update={"coincident_peak": None}))
    if risk is not None:  # our own listed hours: may exceed peaks_per_year in one day on purpose
        site.warnings = [w for w in site.warnings if not w.where.endswith("coincident_peak.intervals")]
    if site.hours == 0:
        raise InputError([Problem(f"{path}: prices", f"has no interval on {day.isoformat()}.",
                                  "Pick a --day inside the price file's range.")], str(path))
    return site


#: the power tables' problem of a probability file that is 0 in every hour of the horizon
NO_PEAK_HOUR = "every probability in the horizon is 0."


def _no_peak_risk(err: InputError, config) -> bool:
    """Whether ``err``'s only problem is a 4CP probability file that is 0 in every hour read."""
    cp = config.coincident_peak
    return (cp is not None and cp.probability is not None and len(err.problems) == 1
            and err.problems[0].where.endswith("coincident_peak.probability")
            and err.problems[0].message == NO_PEAK_HOUR)


def _risk_peak(path: Path, risk: DayRisk):
    """The site file's ``[coincident_peak]`` with the risk hours as its intervals (None: no charge that day)."""
    _, config = overrides.site_config(Path(path), {})
    cp = config.coincident_peak
    hours = risk.hour_start_utc[risk.risk_hour]
    if cp is None or not len(hours):
        return None
    return cp.model_copy(update={"intervals": [t.strftime("%Y-%m-%dT%H:%M:%S+00:00") for t in hours],
                                 "probability": None, "peaks_in_horizon": None})


def installed_split(site: Site, split_folder: Path | None) -> InstalledSplit:
    """The site file's split, or the one ``solve`` wrote to ``split_folder``."""
    if split_folder is None:
        return site_file_split(site.config)
    return run_folder_split(split_folder, site.id, site.config)


def plan_day(site: Site, split: InstalledSplit, solver: str = "highs") -> DayPlan:
    """Solve ``site``'s LP with ``split`` fixed; derive stand-down prices and offers.

    Raises
    ------
    InfeasibleError
        The installed split cannot be run on these hours (a firm lease above a curtailment cap).
    """
    lp = model.build([site], name=f"operate_{site.id}")
    block = lp.blocks[0]
    if block.lease_cols.size:
        lp.fix_columns(block.lease_cols, split.lease_mw)
    if block.fleet_cols.size:
        lp.fix_columns(block.fleet_cols, split.fleet_mw)
    try:
        solution = solve_model(lp, solver=solver)
    except InfeasibleError:
        day = site.index[0].tz_convert(site.timezone)
        raise InfeasibleError([Problem(
            f"{site.path}: {day:%Y-%m-%d}",
            f"the installed split cannot be run on this day's {site.hours} hours: a lease's firm AI load above a "
            f"curtailment cap, or mining.min_uptime_frac = {site.config.mining.min_uptime_frac:g} that the day's "
            "grid caps do not leave room for (operate keeps the SLA day by day).",
            "Check the day's [[curtailment]] caps against the signed leases and the uptime SLA.")],
            site.id) from None
    site_solution = results.site_solution(block, solution)
    market = market_price_usd_per_mwh(site)
    pue = site.config.mining.pue
    margin = run_margin_usd_per_mwh(lp, block, solution.row_dual)
    base = breakeven_usd_per_mwh(site)
    stand_down = market[None, :] + margin / pue if margin.size else np.zeros((0, site.hours))
    shift = stand_down - base
    stand_down = base + np.where(np.abs(shift) < 1e-9, 0.0, shift)  # solver noise around the plain breakeven
    offers = {}
    for p in site.power.programs if site.power is not None else ():
        cols = block.cols.get(f"dr_offer:{p.name}")
        if cols is not None:  # an annual program has one column, held through its window
            value = solution.col_value[np.asarray(cols)]
            offers[p.name] = np.where(p.active, value[0] if p.annual else value, 0.0)
    return DayPlan(site, split, site_solution, market, stand_down, base, offers)


def market_price_usd_per_mwh(site: Site) -> np.ndarray:
    """(H,) the price column as read, without ``adder_usd_per_mwh`` and time-of-use adders [USD/MWh]."""
    adder = site.config.prices.adder_usd_per_mwh
    tou = site.power.tou_adder_usd_per_mwh if site.power is not None else 0.0
    return site.price_usd_per_mwh - adder - tou


def breakeven_usd_per_mwh(site: Site) -> np.ndarray:
    """(F, H) market price at which each fleet's running just pays: revenue / PUE - adders [USD/MWh]."""
    m = site.config.mining
    adders = site.price_usd_per_mwh - market_price_usd_per_mwh(site)
    rows = [mining_revenue_usd_per_mwh(site.hashprice_usd_per_ph_day, m.pool_fee_frac, f.efficiency_j_per_th)
            / m.pue - adders for f in m.fleet]
    return np.array(rows).reshape(len(m.fleet), site.hours)


def run_margin_usd_per_mwh(lp: model.LinearModel, block: model.SiteBlock, row_dual: np.ndarray) -> np.ndarray:
    """(F, H) net USD one more IT MWh of fleet f in interval t earns, at the optimum's duals.

    The running column's cost minus what every row it sits in charges for it
    (coefficient x dual), leaving out the run-limit and grid-limit rows (module docstring).
    """
    x = block.run_cols
    if not x.size:
        return np.zeros((0, block.site.hours))
    arr = lp.arrays()
    charged = np.ones(lp.n_rows, bool)
    for family in ("run_limit", "grid_limit"):
        if family in block.rows:
            charged[block.rows[family]] = False
    rows = arr["row"]
    weights = np.where(charged[rows], arr["coef"] * row_dual[rows], 0.0)
    priced = np.bincount(arr["col"], weights=weights, minlength=lp.n_cols)
    return arr["col_cost"][x] - priced[x]


def plan_days(path: Path, first: date, days: int = 1, split_folder: Path | None = None,
              price_column: str | None = None, solver: str = "highs", peak_load: Path | None = None,
              peak_load_column: str | None = None) -> list[DayPlan]:
    """One plan per local day from ``first`` (each day's LP on its own: the SLA holds day by day).

    With ``peak_load`` (hourly system load [MW]), each day's 4CP intervals are the risk hours the
    morning's forecast flags (:mod:`allocator.operate.peak_risk`)."""
    plans = []
    split = None
    load, tz = None, None
    if peak_load is not None:
        _, config = overrides.site_config(Path(path), {})
        tz = config.site.timezone or "UTC"
        load = read_load(peak_load, first, days, tz, peak_load_column)
    for k in range(days):
        day = first + timedelta(days=k)
        risk = None if load is None else day_risk(load, day, tz)
        site = day_site(path, day, 1, price_column, risk)
        if split is None:
            split = installed_split(site, split_folder)
        plan = plan_day(site, split, solver)
        plan.risk = risk
        plans.append(plan)
    return plans


def schedule_table(plans: list[DayPlan]) -> pd.DataFrame:
    """schedule.csv: one row per interval and fleet."""
    frames = []
    for plan in plans:
        site = plan.site
        fleets = site.config.mining.fleet
        local = site.index.tz_convert(site.timezone)
        for f, fleet in enumerate(fleets):
            frames.append(pd.DataFrame({
                "site_id": site.id,
                "interval_start_utc": site.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "interval_start_local": local.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "fleet": fleet.model,
                "installed_it_mw": plan.split.fleet_mw[f],
                "day_ahead_price_usd_per_mwh": plan.market_price_usd_per_mwh,
                "planned_it_mw": plan.run_mw[f],
                "stand_down_price_usd_per_mwh": plan.stand_down_usd_per_mwh[f],
                "breakeven_price_usd_per_mwh": plan.breakeven_usd_per_mwh[f],
                "stand_down_shift_usd_per_mwh": plan.stand_down_usd_per_mwh[f] - plan.breakeven_usd_per_mwh[f],
            }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCHEDULE_COLUMNS)


SCHEDULE_COLUMNS = ("site_id", "interval_start_utc", "interval_start_local", "fleet", "installed_it_mw",
                    "day_ahead_price_usd_per_mwh", "planned_it_mw", "stand_down_price_usd_per_mwh",
                    "breakeven_price_usd_per_mwh", "stand_down_shift_usd_per_mwh")
OFFER_COLUMNS = ("site_id", "interval_start_utc", "program", "offer_mw")


def offers_table(plans: list[DayPlan]) -> pd.DataFrame:
    """offers.csv: one row per interval and demand-response program."""
    frames = []
    for plan in plans:
        for name, mw in plan.offers_mw.items():
            frames.append(pd.DataFrame({"site_id": plan.site.id,
                                        "interval_start_utc": plan.site.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                        "program": name, "offer_mw": mw}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(OFFER_COLUMNS))


def summary_text(plans: list[DayPlan]) -> str:
    """A few lines per day: planned mining energy per fleet and the stand-down range."""
    lines = []
    for plan in plans:
        site = plan.site
        local = site.index.tz_convert(site.timezone)
        lines.append(f"{site.name} ({site.id}), {local[0]:%Y-%m-%d}: {site.hours} intervals, day-ahead price "
                     f"{plan.market_price_usd_per_mwh.min():.2f} to {plan.market_price_usd_per_mwh.max():.2f} USD/MWh "
                     f"(mean {plan.market_price_usd_per_mwh.mean():.2f}); split from {plan.split.source}")
        for f, fleet in enumerate(site.config.mining.fleet):
            run = plan.run_mw[f]
            installed = plan.split.fleet_mw[f]
            share = run.sum() / (installed * site.hours) if installed > 0 else 0.0
            sd = plan.stand_down_usd_per_mwh[f]
            lines.append(f"  {fleet.model}: {installed:g} IT MW installed, planned {run.sum():,.1f} MWh "
                         f"({share:.0%} of its hours); stand down above {sd.min():.2f} to {sd.max():.2f} USD/MWh "
                         f"(breakeven {plan.breakeven_usd_per_mwh[f].mean():.2f})")
        for name, mw in plan.offers_mw.items():
            lines.append(f"  demand response {name}: {mw.sum():,.1f} MW-intervals offered")
        if plan.risk is not None:
            lines.append(risk_line(plan))
    return "\n".join(lines)


def risk_line(plan: DayPlan) -> str:
    """The day's 4CP risk forecast in one line."""
    r = plan.risk
    local = r.hour_start_utc[r.risk_hour].tz_convert(plan.site.timezone)
    head = (f"  4CP risk: expected peak {r.expected_peak_mw:,.0f} MW (yesterday's) vs the month's running peak "
            f"{r.month_peak_mw:,.0f} and the season's {r.season_peak_mw:,.0f}: ")
    if not r.risk_day:
        return head + "no risk hour"
    hours = ", ".join(f"{t:%H:%M}" for t in local)
    charged = ("mining charged as at a 4CP interval in them" if plan.site.config.coincident_peak is not None
               else "no [coincident_peak] charge in the site file: not charged")
    return head + f"risk hours starting {hours} ({charged})"


PEAK_RISK_COLUMNS = ("site_id", "interval_start_utc", "interval_start_local", "expected_load_mw",
                     "month_running_peak_mw", "season_running_peak_mw", "peak_risk_hour")


def peak_risk_table(plans: list[DayPlan]) -> pd.DataFrame:
    """peak_risk.csv: one row per interval, the morning's 4CP forecast."""
    frames = []
    for plan in plans:
        r = plan.risk
        if r is None:
            continue
        frames.append(pd.DataFrame({
            "site_id": plan.site.id,
            "interval_start_utc": r.hour_start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_start_local": r.hour_start_utc.tz_convert(plan.site.timezone).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "expected_load_mw": r.expected_load_mw, "month_running_peak_mw": r.month_peak_mw,
            "season_running_peak_mw": r.season_peak_mw, "peak_risk_hour": r.risk_hour}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PEAK_RISK_COLUMNS))
