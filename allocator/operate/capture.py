"""The share of a plan's mining value that a runnable rule earned on the price history behind it.

``solve`` values mining with perfect hourly foresight: every fleet runs in exactly the hours whose
price pays. :func:`mining_capture` replays the same history with the plan's split and the
``threshold`` policy of ``backtest`` (stand down whenever the interval's price is above the fleet's
stand-down price) at the price file's **native** resolution (15-minute where the file has them), and
divides its mining net (revenue minus power, adders included; fixed costs are the same either way)
by the plan's:

    capture_frac = threshold mining net / plan mining net        [-]

Without an uptime SLA the stand-down price is each fleet's breakeven (no LP is solved: it is what
``operate`` would set); with one, it is set day by day by ``operate`` on the site's hourly prices.
At 15 minutes the share can exceed 1: the rule stands down inside an hour whose mean paid. With an
hourly price file it is at hourly resolution and, without an SLA, 1 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InfeasibleError, InputError
from ..inputs.site import Site
from .day import breakeven_usd_per_mwh
from .native import NativePrices, native_prices
from .split import InstalledSplit
from .window import real_margin

CAPTURE_COLUMNS = ("site_id", "resolution_minutes", "intervals", "plan_mining_net_usd", "threshold_mining_net_usd",
                   "threshold_sla_met", "mining_capture_frac", "note")


@dataclass
class MiningCapture:
    """One site's capture share, or why there is none.

    Attributes
    ----------
    site_id : str
    capture_frac : float or None
        Threshold rule's mining net / the plan's [-]; None when it could not be computed (``note`` says why).
    resolution_minutes : float or None
        Length of the replayed price intervals [min].
    intervals : int
    plan_mining_net_usd, threshold_mining_net_usd : float
        Mining revenue + mining power cost over the horizon [USD] (NaN when not computed).
    threshold_sla_met : bool or None
        The replayed rule kept ``mining.min_uptime_frac`` for every fleet.
    note : str
        Why the figure is missing, or what it is at (hourly data).
    """

    site_id: str
    capture_frac: float | None
    resolution_minutes: float | None = None
    intervals: int = 0
    plan_mining_net_usd: float = float("nan")
    threshold_mining_net_usd: float = float("nan")
    threshold_sla_met: bool | None = None
    note: str = ""

    def line(self) -> str:
        """The summary sentence."""
        if self.capture_frac is None:
            return f"mining capture: not computed ({self.note})"
        step = f"{self.resolution_minutes:g}-minute"
        text = (f"mining revenue assumes perfect hourly foresight; a {step} threshold rule earned "
                f"{self.capture_frac:.1%} of it on this history")
        if self.threshold_sla_met is False:
            text += " (missing the uptime SLA)"
        return text + (f" ({self.note})" if self.note else "")

    def row(self) -> dict:
        return {k: getattr(self, k) for k in ("site_id", "resolution_minutes", "intervals", "plan_mining_net_usd",
                                              "threshold_mining_net_usd", "threshold_sla_met")} | {
            "mining_capture_frac": self.capture_frac, "note": self.note}


def mining_capture(site: Site, split: InstalledSplit, plan_mining_net_usd: float) -> MiningCapture:
    """The threshold rule's share of ``plan_mining_net_usd`` on ``site``'s own price file.

    Parameters
    ----------
    site : Site
        The site as solved (its price file is re-read at its native resolution).
    split : InstalledSplit
        The plan's lease and fleet IT MW.
    plan_mining_net_usd : float
        The plan's mining revenue + mining power cost over the horizon [USD].
    """
    from .backtest import market_for, settle, threshold_run_mw

    skip = MiningCapture(site.id, None, plan_mining_net_usd=plan_mining_net_usd)
    if not split.fleet_mw.size or split.fleet_mw.sum() <= 1e-6:
        skip.note = "the plan installs no mining"
        return skip
    if site.power is not None and site.power.has_lp_terms:
        skip.note = "the site has power contracts, 4CP or demand-response tables, which the replay does not settle"
        return skip
    if not plan_mining_net_usd > 0:
        skip.note = "the plan's mining earns nothing over its power"
        return skip
    site = real_margin(site)
    try:
        prices = own_prices(site)
    except (InputError, KeyError) as err:
        skip.note = f"the price file cannot be read at its own resolution: {_first_problem(err)}"
        return skip
    market = market_for(site, split, prices)
    try:
        stand_down = _stand_down_usd_per_mwh(site, split)
    except InfeasibleError as err:
        skip.note = f"operate cannot plan a day of this history: {_first_problem(err)}"
        return skip
    row = settle(market, "threshold", threshold_run_mw(market, stand_down))
    minutes = round(prices.hours_per_interval * 60, 6)
    note = "hourly prices: no sub-hourly figure" if minutes >= 60 else ""
    return MiningCapture(site.id, row["mining_net_usd"] / plan_mining_net_usd, minutes, row["intervals"],
                         plan_mining_net_usd, row["mining_net_usd"], bool(row["sla_met"]), note)


def own_prices(site: Site) -> NativePrices:
    """The site's price file at its own resolution: kept by the loader when that is the site's hours
    (one row per hour; the same arrays :func:`~allocator.operate.native.native_prices` reads), else read again.

    Raises
    ------
    InputError, KeyError
        As :func:`~allocator.operate.native.native_prices` (KeyError: the site has no price file).
    """
    price = site.native_price_usd_per_mwh
    if price is None or price.size != site.hours:
        return native_prices(site, site.input_files["prices"], site.config.prices.column,
                             f"{site.path}: prices", like_site=True)
    return NativePrices(site.index, price, 1.0, np.arange(site.hours, dtype=np.intp))


def _stand_down_usd_per_mwh(site: Site, split: InstalledSplit) -> np.ndarray:
    """(F, H) each fleet's stand-down price: the breakeven without an SLA, else operate's day by day."""
    if site.config.mining.min_uptime_frac <= 0:
        return breakeven_usd_per_mwh(site)
    from .backtest import day_plans

    return np.concatenate([p.stand_down_usd_per_mwh for p in day_plans(site, split)], axis=1)


def _first_problem(err: InputError | InfeasibleError | KeyError) -> str:
    problems = getattr(err, "problems", None)
    if problems:
        p = problems[0]
        return f"{p.message}".rstrip(".")
    return str(err)


def capture_table(captures: list[MiningCapture]) -> pd.DataFrame:
    """mining_capture.csv: one row per site."""
    return pd.DataFrame([c.row() for c in captures], columns=list(CAPTURE_COLUMNS))


def solved_split(fleets: pd.DataFrame, leases: pd.DataFrame, site: Site) -> InstalledSplit:
    """The split of ``site`` in a solve's ``fleets.csv`` / ``leases.csv`` tables (site file order)."""
    f = fleets[fleets["site_id"] == site.id].set_index("model")["it_mw"]
    fleet_mw = np.array([float(f.get(x.model, 0.0)) for x in site.config.mining.fleet])
    lease_mw = np.zeros(0)
    if site.has_ai and len(leases):
        ls = leases[leases["site_id"] == site.id].set_index("tenant")["it_mw"]
        lease_mw = np.array([float(ls.get(x.tenant, 0.0)) for x in site.config.ai.lease])
    elif site.has_ai:
        lease_mw = np.zeros(len(site.config.ai.lease))
    return InstalledSplit(lease_mw, fleet_mw, "solve")


def plan_mining_net_usd(financials: pd.DataFrame, site_id: str) -> float:
    """Mining revenue + mining power cost of ``site_id`` in a solve's ``financials.csv`` table [USD]."""
    rows = financials[financials["site_id"] == site_id].set_index("item")["usd"]
    return float(rows.get("mining_revenue", 0.0)) + float(rows.get("mining_power_cost", 0.0))


def with_capture(values: dict, frac: float) -> dict:
    """``values`` (overrides) plus ``mining.capture_frac = frac``, recorded as set by --mining-capture."""
    from ..inputs.overrides import Overrides

    out = Overrides(dict(values), dict(getattr(values, "sources", {})))
    out["mining.capture_frac"] = frac
    out.sources["mining.capture_frac"] = "set"
    return out


def loaded(item):
    """A Site from a site file path (or the Site itself)."""
    from ..inputs.site import Site, load_site

    return item if isinstance(item, Site) else load_site(Path(item))


def measure(inputs: list, result) -> tuple[list, dict[str, float]]:
    """Each solved site's :class:`~allocator.operate.capture.MiningCapture` (on its own price file), and
    ``mining.capture_frac`` of each site that has one below 1 (its split was decided on the scaled margin).

    A result of :func:`allocator.run.summary.solve_summarized` carries each site's capture, measured
    while the site was in memory; any other result is measured here, each site loaded again."""
    if result.sites and all(getattr(s, "capture", None) is not None for s in result.sites):
        return ([s.capture for s in result.sites],
                {s.site_id: s.capture_frac for s in result.sites if s.capture_frac != 1.0})
    sites = {s.id: s for s in (loaded(item) for item in inputs)}
    fleets, leases, financials = result.fleets, result.leases, result.financials
    out = []
    for site_id in result.split["site_id"]:
        site = sites[site_id]
        out.append(mining_capture(site, solved_split(fleets, leases, site), plan_mining_net_usd(financials, site_id)))
    decided = {s.id: s.config.mining.capture_frac for s in sites.values() if s.config.mining.capture_frac != 1.0}
    return out, decided


def computed_inputs(inputs: list, values: dict, solve_once) -> tuple[list, dict[str, float]]:
    """Solve once (``solve_once(inputs)`` -> result), measure each site's share, and re-load every site
    with ``mining.capture_frac`` = its share (at most 1; 1 where none could be measured)."""
    from ..inputs.overrides import load_site_with

    captures, _ = measure(inputs, solve_once(inputs))
    fracs = {c.site_id: min(1.0, c.capture_frac) if c.capture_frac is not None and c.capture_frac > 0 else 1.0
             for c in captures}
    again = []
    for item in inputs:
        site = loaded(item)
        again.append(load_site_with(site.path, with_capture(values, fracs[site.id])))
    return again, fracs


def decided_captures(found: list) -> list:
    """The capture share of each ``decide`` site's stochastic split on the site file's own price history.

    The plan's mining value is the fixed-split LP's (``operate``'s, over the whole horizon) with that split."""
    from .day import plan_day

    out = []
    for d in found:
        site = real_margin(loaded(d.site_file))
        y, n = d.candidate("stochastic").y_mw, d.first.n_lease
        split = InstalledSplit(np.asarray(y[:n], float), np.asarray(y[n:], float), "decide")
        try:
            fin = plan_day(site, split).solution.financials_usd
        except InfeasibleError:
            out.append(MiningCapture(d.site_id, None, note="the split cannot be run on the site file's own history"))
            continue
        out.append(mining_capture(site, split, fin["mining_revenue"] + fin["mining_power_cost"]))
    return out
