"""Replaying history with the installed split: what a rule that can be run earns.

Each policy decides the running IT MW of every fleet in every native interval
(15 minutes where the real-time data has them) with only what it would have known:

- ``perfect``: the LP with hindsight on the real-time prices at their native
  resolution, split fixed (the upper bound: every other policy's run is feasible for
  it, as long as it keeps the uptime SLA);
- ``threshold``: each fleet runs whenever the interval's real-time price is at or
  below its stand-down price for that hour, set each day by ``operate`` on the
  day-ahead prices; fleets take the grid headroom the firm AI load leaves in order
  of revenue per MWh (most efficient first);
- ``day_ahead``: each day's ``operate`` schedule, run as planned whatever real time does.

Every policy is settled on the real-time prices (plus the site's adders). The AI
lease and every fixed cost are the same for all policies and left out: the
figures are mining's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..inputs import series
from ..inputs.hashprice import mining_revenue_usd_per_mwh
from ..inputs.site import Site, load_site
from ..lp import model
from ..lp.solve import solve_model
from .day import DayPlan, installed_split, market_price_usd_per_mwh, plan_day
from .native import NativePrices, native_prices
from .split import InstalledSplit
from .window import window_config

POLICIES = ("perfect", "threshold", "day_ahead")
BACKTEST_COLUMNS = ("site_id", "policy", "resolution_minutes", "intervals", "mining_energy_mwh",
                    "mining_revenue_usd", "mining_power_cost_usd", "coincident_peak_cost_usd", "mining_net_usd",
                    "mining_uptime_frac", "min_fleet_uptime_frac", "min_uptime_frac", "sla_met")


@dataclass
class Market:
    """Everything a policy is settled on, per native interval (N) and fleet (F)."""

    site: Site
    split: InstalledSplit
    prices: NativePrices
    revenue_usd_per_mwh: np.ndarray   # (F, N) mining revenue per IT MWh running
    adders_usd_per_mwh: np.ndarray    # (N,) the site's adders on top of the market price
    headroom_it_mw: np.ndarray        # (N,) IT MW of mining the grid takes beside the firm AI load
    peak_usd_per_mw: np.ndarray | None = None  # (N,) 4CP charge per grid MW drawn in the interval

    @property
    def total_price_usd_per_mwh(self) -> np.ndarray:
        return self.prices.price_usd_per_mwh + self.adders_usd_per_mwh


def market_for(site: Site, split: InstalledSplit, prices: NativePrices) -> Market:
    """The native-interval arrays of ``site`` with ``split`` installed."""
    cfg = site.config
    m = cfg.mining
    h = prices.hour
    revenue = np.array([mining_revenue_usd_per_mwh(site.hashprice_usd_per_ph_day[h], m.pool_fee_frac,
                                                   f.efficiency_j_per_th) for f in m.fleet])
    revenue = revenue.reshape(len(m.fleet), h.size)
    adders = (site.price_usd_per_mwh - market_price_usd_per_mwh(site))[h]
    ai_grid = cfg.ai.pue * site.ai_utilization_frac * split.lease_mw.sum() if site.has_ai else np.zeros(site.hours)
    headroom = np.maximum(site.grid_cap_mw - ai_grid, 0.0)[h] / m.pue
    return Market(site, split, prices, revenue, adders, headroom, peak_charge_usd_per_mw(site, prices))


def peak_charge_usd_per_mw(site: Site, prices: NativePrices) -> np.ndarray:
    """(N,) the 4CP charge per grid MW drawn in each native interval: charge / peaks_per_year in the
    interval holding each listed ``coincident_peak.intervals`` time, 0 elsewhere [USD/MW]."""
    out = np.zeros(prices.index.size)
    cp = site.config.coincident_peak
    if cp is None or not cp.intervals:
        return out
    step = pd.Timedelta(hours=prices.hours_per_interval)
    for i, text in enumerate(cp.intervals):
        t = series.to_utc(text, site.timezone, f"{site.path}: coincident_peak.intervals[{i}]")
        pos = prices.index.get_indexer([prices.index[0] + ((t - prices.index[0]) // step) * step])[0]
        if pos >= 0:
            out[pos] += cp.charge_usd_per_mw_year / cp.peaks_per_year
    return out


# ------------------------------------------------------------------ policies


def perfect_run_mw(market: Market, solver: str = "highs") -> np.ndarray:
    """(F, N) the hindsight LP's running IT MW at the native resolution, split fixed.

    max sum dt x (revenue - pue (p + adders))  s.t.  x_{f,n} <= m_f,  sum_f x_{f,n} <= headroom_n,
    sum_n dt x_{f,n} >= min_uptime_frac x hours x m_f.
    """
    site, split, dt = market.site, market.split, market.prices.hours_per_interval
    pue = site.config.mining.pue
    n_f, n = market.revenue_usd_per_mwh.shape
    if n_f == 0:
        return np.zeros((0, n))
    lp = model.LinearModel(f"perfect_{site.id}")
    upper = np.minimum(split.fleet_mw[:, None], market.headroom_it_mw[None, :])
    cost = dt * (market.revenue_usd_per_mwh - pue * market.total_price_usd_per_mwh[None, :])
    if market.peak_usd_per_mw is not None:
        cost = cost - pue * market.peak_usd_per_mw[None, :]
    x = lp.add_columns(0.0, upper, cost)
    lp.add_rows("grid", None, -np.inf, market.headroom_it_mw, np.tile(np.arange(n), n_f), x.ravel(), 1.0)
    frac = site.config.mining.min_uptime_frac
    if frac > 0:
        lp.add_rows("uptime_sla", None, frac * dt * n * split.fleet_mw, np.inf, np.repeat(np.arange(n_f), n),
                    x.ravel(), dt)
    solution = solve_model(lp, solver=solver)
    return np.clip(solution.col_value[x], 0.0, upper)


def threshold_run_mw(market: Market, stand_down_usd_per_mwh: np.ndarray) -> np.ndarray:
    """(F, N) run each fleet in full (within the grid headroom, most efficient first) where the
    interval's real-time price is at or below its stand-down price of that hour, else stand down."""
    n_f, n = market.revenue_usd_per_mwh.shape
    run = np.zeros((n_f, n))
    left = market.headroom_it_mw.copy()
    price = market.prices.price_usd_per_mwh
    for f in np.argsort(-market.revenue_usd_per_mwh.mean(axis=1), kind="stable"):
        go = price <= stand_down_usd_per_mwh[f, market.prices.hour]
        run[f] = np.where(go, np.minimum(market.split.fleet_mw[f], left), 0.0)
        left = left - run[f]
    return run


def day_ahead_run_mw(market: Market, planned_mw: np.ndarray) -> np.ndarray:
    """(F, N) each hour's planned running IT MW, held through its intervals."""
    return planned_mw[:, market.prices.hour]


# ------------------------------------------------------------------ settling


def settle(market: Market, policy: str, run_mw: np.ndarray) -> dict:
    """One backtest.csv row: energy, revenue, power cost, net, uptime and the SLA of ``run_mw``."""
    site, dt = market.site, market.prices.hours_per_interval
    pue = site.config.mining.pue
    energy = run_mw.sum(axis=1) * dt                                   # (F,) IT MWh
    hours = dt * run_mw.shape[1]
    revenue = float((run_mw * market.revenue_usd_per_mwh).sum() * dt)
    power = -float(run_mw.sum(axis=0) @ market.total_price_usd_per_mwh) * pue * dt
    peak = -float(run_mw.sum(axis=0) @ market.peak_usd_per_mw) * pue if market.peak_usd_per_mw is not None else 0.0
    installed = market.split.fleet_mw
    uptime = np.where(installed > 0, energy / np.maximum(installed * hours, 1e-300), 1.0)
    frac = site.config.mining.min_uptime_frac
    return {"site_id": site.id, "policy": policy, "resolution_minutes": round(dt * 60, 6),
            "intervals": run_mw.shape[1], "mining_energy_mwh": float(energy.sum()), "mining_revenue_usd": revenue,
            "mining_power_cost_usd": power, "coincident_peak_cost_usd": peak, "mining_net_usd": revenue + power + peak,
            "mining_uptime_frac": float(energy.sum() / (installed.sum() * hours)) if installed.sum() > 0 else 0.0,
            "min_fleet_uptime_frac": float(uptime.min()) if uptime.size else 1.0, "min_uptime_frac": frac,
            "sla_met": bool((uptime >= frac - 1e-9).all())}


# ------------------------------------------------------------------ the replay


CAPTURE_COLUMNS = ("site_id", "policy", "mining_net_usd", "perfect_net_usd", "capture_frac", "always_on_net_usd",
                   "curtailment_capture_frac")


@dataclass
class Backtest:
    """A replay's outcome: one settled row per policy, and the day plans behind them."""

    site: Site
    rows: list[dict]
    plans: list[DayPlan]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(BACKTEST_COLUMNS))

    always_on_net_usd: float = 0.0

    def capture(self) -> pd.DataFrame:
        """capture.csv: each policy's net as a share of ``perfect``'s, and the share of the value
        ``perfect`` gains by curtailing (over running every fleet in every interval) it keeps."""
        perfect = next(r["mining_net_usd"] for r in self.rows if r["policy"] == "perfect")
        gain = perfect - self.always_on_net_usd
        return pd.DataFrame([{
            "site_id": r["site_id"], "policy": r["policy"], "mining_net_usd": r["mining_net_usd"],
            "perfect_net_usd": perfect, "capture_frac": r["mining_net_usd"] / perfect if perfect > 0 else float("nan"),
            "always_on_net_usd": self.always_on_net_usd,
            "curtailment_capture_frac": (r["mining_net_usd"] - self.always_on_net_usd) / gain if gain > 0
            else float("nan")} for r in self.rows], columns=list(CAPTURE_COLUMNS))


def slice_site(site: Site, mask: np.ndarray) -> Site:
    """The site on the hours of ``mask`` (arrays sliced; no file re-read).

    A 4CP term keeps each listed interval's charge (weight 1/N of a share N / peaks_per_year, so
    charge / peaks_per_year per grid MW); a day without one has none. Contracts and demand-response
    programs are not sliced (the backtest refuses them)."""
    power = site.power
    if power is not None:
        weight = power.peak_weight_frac[mask] if power.peak_weight_frac is not None else None
        power = dataclasses.replace(power, hub_price_usd_per_mwh=power.hub_price_usd_per_mwh[mask],
                                    tou_adder_usd_per_mwh=power.tou_adder_usd_per_mwh[mask],
                                    peak_weight_frac=weight if weight is not None and weight.any() else None)
    return dataclasses.replace(site, index=site.index[mask], price_usd_per_mwh=site.price_usd_per_mwh[mask],
                               hashprice_usd_per_ph_day=site.hashprice_usd_per_ph_day[mask],
                               grid_cap_mw=site.grid_cap_mw[mask], ai_utilization_frac=site.ai_utilization_frac[mask],
                               power=power)


def day_plans(site: Site, split: InstalledSplit, solver: str = "highs") -> list[DayPlan]:
    """operate's plan of each local day of ``site``, each on its own."""
    days = np.asarray(site.index.tz_convert(site.timezone).date)
    return [plan_day(slice_site(site, days == d), split, solver) for d in dict.fromkeys(days)]


def run_backtest(site: Site, split: InstalledSplit, prices: NativePrices, policies: tuple[str, ...] = POLICIES,
                 solver: str = "highs") -> Backtest:
    """Replay ``policies`` on ``prices`` (perfect always, for the capture shares)."""
    market = market_for(site, split, prices)
    plans = day_plans(site, split, solver) if {"threshold", "day_ahead"} & set(policies) else []
    rows = [settle(market, "perfect", perfect_run_mw(market, solver))]
    if plans:
        stand_down = np.concatenate([p.stand_down_usd_per_mwh for p in plans], axis=1)
        planned = np.concatenate([p.run_mw for p in plans], axis=1)
    for policy in policies:
        if policy == "threshold":
            rows.append(settle(market, policy, threshold_run_mw(market, stand_down)))
        elif policy == "day_ahead":
            rows.append(settle(market, policy, day_ahead_run_mw(market, planned)))
    always = threshold_run_mw(market, np.full((len(split.fleet_mw), site.hours), np.inf))
    return Backtest(site, rows, plans, settle(market, "always_on", always)["mining_net_usd"])


def backtest_site(path: Path, first: date, end: date, policies: tuple[str, ...] = POLICIES,
                  split_folder: Path | None = None, day_ahead_column: str | None = None,
                  real_time_file: Path | None = None, real_time_column: str | None = None,
                  solver: str = "highs") -> Backtest:
    """Read the site on local days ``[first, end)`` (day-ahead prices hourly, real-time at native
    resolution) and replay ``policies``."""
    where = str(path)
    if end <= first:
        raise InputError([Problem("--to", f"{end} is not after --from {first}.", "Give --to after --from "
                                  "(exclusive).")], "the command line")
    config = window_config(path, first, (end - first).days,
                           {"prices.column": day_ahead_column} if day_ahead_column is not None else None)
    site = load_site(path, config=config)
    cfg = site.config
    tables = [name for name, present in (
        ("[[power.contract]]", site.power is not None and bool(site.power.contracts)),
        ("[coincident_peak] with probabilities", cfg.coincident_peak is not None and not cfg.coincident_peak.intervals),
        ("[[demand_response]]", site.power is not None and bool(site.power.programs)),
    ) if present]
    if tables:
        raise InputError([Problem(where, f"has {', '.join(tables)} in the replayed window; the backtest settles "
                                         "a 4CP charge at listed intervals only, not a contract's blocks, expected "
                                         "4CP charges or demand-response awards and penalties, so its shares would "
                                         "leave them out.",
                                  "Backtest a copy of the site file without them (list the real 4CP intervals "
                                  "in coincident_peak.intervals); operate plans with them.")], where)
    split = installed_split(site, split_folder)
    rt_file = Path(real_time_file) if real_time_file is not None else site.input_files["prices"]
    rt_column = real_time_column if real_time_column is not None else site.config.prices.column \
        if day_ahead_column is None else read_column(path)
    prices = native_prices(site, rt_file, rt_column, f"{where}: real-time prices", like_site=real_time_file is None)
    return run_backtest(site, split, prices, policies, solver)


def read_column(path: Path) -> str | None:
    """``prices.column`` of the site file as written (before a day-ahead column replaced it)."""
    from ..inputs.overrides import site_config

    return site_config(Path(path), {})[1].prices.column
