"""The plan LP: one site's years side by side, linked by one-way conversion and fleet ageing.

Years ``i = 0..Y-1`` of ``[plan]``; representative hours ``k`` of each year
(:mod:`allocator.plan.periods`, weight ``w_k`` hours); leases ``l``; mining fleets
``g`` = the site's ``[[mining.fleet]]`` followed by ``[[plan.asic_offer]]``.
Every cost is discounted: ``d_i = (1 + r)^-i`` (year ``i`` of the horizon).

Columns (all >= 0):

- ``build[i]``   IT MW converted to AI in year i (fit-out capex paid in year i)
- ``online[i]``  AI IT MW online (average over year i) <= convertible_mw
- ``lease[l,i]`` IT MW leased to tenant l in year i: in [min_mw, max_mw] inside its
                 lease window, 0 outside
- ``kept[g,i]``  mining IT MW installed in year i
- ``buy[o,i]``   IT MW of offered ASICs bought in year i (capex paid in year i)
- ``run[g,i,k]`` mining IT MW running in representative hour k of year i

Rows, one ``add_*`` function each:

1. ``ai_online``     online[i] = sum_j s(i-j) build[j], s = share online after construction_months
2. ``convertible``   sum_i build[i] <= convertible_mw
3. ``ai_leased``     sum_l lease[l,i] <= online[i]
4. ``halls``         pue_ai online[i] + pue_m sum_g kept[g,i] <= facility_mw
5. ``firm_ai``       pue_ai sum_l lease[l,i] <= min_k c_{i,k}
6. ``fleet_retire``  kept[f,i] <= kept[f,i-1] (existing fleets only shrink), 0 from retire_year
7. ``asic_installed`` kept[o,i] <= sum of buy[o,j] for the last life_years years
8. ``run_limit``     run[g,i,k] <= kept[g,i]
9. ``grid_limit``    pue_ai u_k sum_l lease[l,i] + pue_m sum_g run[g,i,k] <= c_{i,k}
10. ``uptime_sla``   sum_k w_k run[g,i,k] >= min_uptime_frac 8760 kept[g,i]

Objective: maximize NPV = sum_i d_i net_i, with net_i the items of
:data:`allocator.plan.CASHFLOW_ITEMS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..inputs.hashprice import mining_revenue_usd_per_mwh, ph_per_mw
from ..lp.model import INF, LinearModel, SiteBlock
from .data import PlanData, lease_window, online_share

HOURS_PER_YEAR = 8760.0


@dataclass
class Fleet:
    """A mining fleet in the plan: existing (``offer=False``) or an ASIC offer."""

    model: str
    efficiency_j_per_th: float
    max_mw: float
    offer: bool
    retire_year: int | None = None
    capex_usd_per_mw: float = 0.0
    first_year: int | None = None
    life_years: int = 0


@dataclass
class PlanBlock(SiteBlock):
    """One site's columns and rows in the plan LP (``cols`` holds 2-d arrays; ``run`` one (G, K_i) per year)."""

    data: PlanData | None = None
    fleets: list[Fleet] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    rates_usd_per_mw_year: np.ndarray | None = None  # (L, Y) lease revenue per leased IT MW, escalated
    run: list[np.ndarray] = field(default_factory=list)
    convertible_mw: float = 0.0
    revenue_usd_per_mwh: list[np.ndarray] = field(default_factory=list)  # (G, K_i) per year


def plan_fleets(data: PlanData) -> list[Fleet]:
    cfg = data.site.config
    retire = {pf.model: pf.retire_year for pf in data.plan.fleet}
    out = [Fleet(f.model, f.efficiency_j_per_th, f.mw, False, retire.get(f.model)) for f in cfg.mining.fleet]
    for o in data.plan.asic_offer:
        out.append(Fleet(o.model, o.efficiency_j_per_th, INF if o.max_mw is None else o.max_mw, True,
                         capex_usd_per_mw=o.usd_per_th * 1e6 / o.efficiency_j_per_th,
                         first_year=o.first_year or data.plan.start_year, life_years=o.life_years))
    return out


def add_plan_block(lp: LinearModel, data: PlanData, *, convert: bool = True,
                   windows: dict[str, tuple[int, int]] | None = None) -> PlanBlock:
    """Add one site's plan columns and rows; ``convert=False`` is business as usual (no AI).

    Parameters
    ----------
    windows : dict, optional
        Lease windows (first, last year) by tenant, overriding ``[[plan.lease]]``.
    """
    block = PlanBlock(site=data.site, data=data)
    add_plan_variables(lp, block, convert, windows or {})
    add_ai_online(lp, block)
    add_convertible(lp, block)
    add_ai_leased(lp, block)
    add_halls(lp, block)
    add_firm_ai(lp, block)
    add_fleet_retire(lp, block)
    add_asic_installed(lp, block)
    add_run_limit(lp, block)
    add_grid_limit(lp, block)
    add_uptime_sla(lp, block)
    return block


def add_plan_variables(lp: LinearModel, block: PlanBlock, convert: bool, windows: dict) -> None:
    """Columns with bounds and discounted objective coefficients [USD per MW]."""
    data = block.data
    cfg, plan = data.site.config, data.plan
    years = np.array([y.year for y in data.years])
    n_y = len(years)
    d = np.array([y.discount_factor for y in data.years])
    ai = cfg.ai
    conv_mw = ai.convertible_mw if (ai is not None and convert) else 0.0
    fitout = ai.fitout_capex_usd_per_mw if ai is not None else 0.0
    ai_opex = ai.opex_usd_per_mw_year if ai is not None else 0.0
    block.convertible_mw = conv_mw
    block.cols["build"] = lp.add_columns(0.0, conv_mw, -fitout * d)
    block.cols["online"] = lp.add_columns(0.0, conv_mw, -ai_opex * d)
    leases = ai.lease if ai is not None else []
    block.tenants = [lease.tenant for lease in leases]
    if leases:
        lo = np.zeros((len(leases), n_y))
        up = np.zeros((len(leases), n_y))
        rates = np.zeros((len(leases), n_y))
        for j, lease in enumerate(leases):
            first, last = windows.get(lease.tenant, lease_window(plan, lease.tenant))
            inside = (years >= first) & (years <= last)
            if convert:
                lo[j, inside] = lease.min_mw
                up[j, inside] = cfg.lease_max_mw(lease)
            rates[j] = lease.rate_usd_per_kw_month * 12000.0 * (1.0 + plan.lease_escalator_frac) ** (years - first)
        power = np.zeros(n_y)
        if not ai.power_pass_through:
            power = np.array([y.ai_power_usd_per_mw for y in data.years])
        block.rates_usd_per_mw_year = rates
        block.cols["lease"] = lp.add_columns(lo, up, (rates - power[None, :]) * d[None, :])
    else:
        block.rates_usd_per_mw_year = np.zeros((0, n_y))
        block.cols["lease"] = np.zeros((0, n_y), dtype=np.int64)
    block.fleets = fleets = plan_fleets(data)
    m = cfg.mining
    up = np.zeros((len(fleets), n_y))
    for g, f in enumerate(fleets):
        up[g] = f.max_mw
        if f.retire_year is not None:
            up[g, years >= f.retire_year] = 0.0
        if f.offer:
            up[g, years < f.first_year] = 0.0
    block.cols["kept"] = lp.add_columns(0.0, up, -m.opex_usd_per_mw_year * d[None, :] * np.ones((len(fleets), 1)))
    offers = [f for f in fleets if f.offer]
    buy_up = np.array([[INF if y >= f.first_year else 0.0 for y in years] for f in offers]).reshape(len(offers), n_y)
    buy_cost = np.array([f.capex_usd_per_mw for f in offers]).reshape(-1, 1)
    block.cols["buy"] = lp.add_columns(0.0, buy_up, -buy_cost * d[None, :])
    eff = np.array([f.efficiency_j_per_th for f in fleets])
    for i, year in enumerate(data.years):
        rev = np.array([mining_revenue_usd_per_mwh(year.hashprice_usd_per_ph_day, m.pool_fee_frac, e)
                        for e in eff]).reshape(len(fleets), len(year.weight_h))
        run_up = np.minimum(up[:, i:i + 1], year.grid_cap_mw[None, :] / m.pue)
        # mining.capture_frac: the share of the hourly margin a runnable rule earns, as in lp/model.py
        cost = year.weight_h[None, :] * m.capture_frac * (rev - m.pue * year.price_usd_per_mwh[None, :]) * d[i]
        block.revenue_usd_per_mwh.append(rev)
        block.run.append(lp.add_columns(0.0, run_up, cost))


def _rows(lp, family, block, lower, upper, parts):
    """Add rows from a list of (local_row, col, coef) parts."""
    if not parts:
        return np.zeros(0, dtype=np.int64)
    row = np.concatenate([np.broadcast_to(np.asarray(r), np.shape(c)).ravel() for r, c, _ in parts])
    col = np.concatenate([np.asarray(c).ravel() for _, c, _ in parts])
    coef = np.concatenate([np.broadcast_to(np.asarray(v, float), np.shape(c)).ravel() for _, c, v in parts])
    return lp.add_rows(family, block, lower, upper, row, col, coef)


def add_ai_online(lp: LinearModel, block: PlanBlock) -> None:
    """online[i] - sum_{j<=i} s(i-j) build[j] = 0 [IT MW]."""
    build, online = block.cols["build"], block.cols["online"]
    n = len(online)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    share = online_share(block.data.plan.construction_months, i - j)
    _rows(lp, "ai_online", block, np.zeros(n), np.zeros(n),
          [(np.arange(n), online, 1.0), (i, build[j], -share)])


def add_convertible(lp: LinearModel, block: PlanBlock) -> None:
    """sum_i build[i] <= convertible_mw [IT MW]."""
    _rows(lp, "convertible", block, -INF, block.convertible_mw, [(0, block.cols["build"], 1.0)])


def add_ai_leased(lp: LinearModel, block: PlanBlock) -> None:
    """sum_l lease[l,i] - online[i] <= 0 [IT MW]."""
    lease, online = block.cols["lease"], block.cols["online"]
    n = len(online)
    _rows(lp, "ai_leased", block, -INF, np.zeros(n),
          [(np.arange(n), online, -1.0), (np.broadcast_to(np.arange(n), lease.shape), lease, 1.0)])


def add_halls(lp: LinearModel, block: PlanBlock) -> None:
    """pue_ai online[i] + pue_m sum_g kept[g,i] <= facility_mw [grid MW]."""
    cfg = block.site.config
    online, kept = block.cols["online"], block.cols["kept"]
    n = len(online)
    pue_ai = cfg.ai.pue if cfg.ai is not None else 1.0
    _rows(lp, "halls", block, -INF, np.full(n, cfg.facility_mw),
          [(np.arange(n), online, pue_ai), (np.broadcast_to(np.arange(n), kept.shape), kept, cfg.mining.pue)])


def add_firm_ai(lp: LinearModel, block: PlanBlock) -> None:
    """pue_ai sum_l lease[l,i] <= lowest grid cap of year i [grid MW]."""
    lease = block.cols["lease"]
    if not lease.size:
        return
    cap = np.array([y.grid_cap_mw.min() for y in block.data.years])
    _rows(lp, "firm_ai", block, -INF, cap,
          [(np.broadcast_to(np.arange(len(cap)), lease.shape), lease, block.site.config.ai.pue)])


def add_fleet_retire(lp: LinearModel, block: PlanBlock) -> None:
    """kept[f,i] - kept[f,i-1] <= 0 for existing fleets: machines are retired, never re-bought [IT MW]."""
    kept = block.cols["kept"]
    idx = [g for g, f in enumerate(block.fleets) if not f.offer]
    n = kept.shape[1]
    if not idx or n < 2:
        return
    k = kept[idx]
    local = np.arange(len(idx) * (n - 1)).reshape(len(idx), n - 1)
    _rows(lp, "fleet_retire", block, -INF, np.zeros(local.size),
          [(local, k[:, 1:], 1.0), (local, k[:, :-1], -1.0)])


def add_asic_installed(lp: LinearModel, block: PlanBlock) -> None:
    """kept[o,i] - sum_{i-life < j <= i} buy[o,j] <= 0: bought ASICs hash for life_years [IT MW]."""
    kept, buy = block.cols["kept"], block.cols["buy"]
    offers = [g for g, f in enumerate(block.fleets) if f.offer]
    if not offers:
        return
    n = kept.shape[1]
    parts = []
    for o, g in enumerate(offers):
        life = block.fleets[g].life_years
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        alive = (i - j >= 0) & (i - j < life)
        parts += [(o * n + np.arange(n), kept[g], 1.0), (o * n + i[alive], buy[o][j[alive]], -1.0)]
    _rows(lp, "asic_installed", block, -INF, np.zeros(len(offers) * n), parts)


def add_run_limit(lp: LinearModel, block: PlanBlock) -> None:
    """run[g,i,k] - kept[g,i] <= 0 [IT MW]."""
    kept = block.cols["kept"]
    parts, offset = [], 0
    for i, run in enumerate(block.run):
        local = offset + np.arange(run.size).reshape(run.shape)
        parts += [(local, run, 1.0), (local, np.broadcast_to(kept[:, i:i + 1], run.shape), -1.0)]
        offset += run.size
    _rows(lp, "run_limit", block, -INF, np.zeros(offset), parts)


def add_grid_limit(lp: LinearModel, block: PlanBlock) -> None:
    """pue_ai u_k sum_l lease[l,i] + pue_m sum_g run[g,i,k] <= c_{i,k} [grid MW]."""
    cfg = block.site.config
    lease = block.cols["lease"]
    parts, caps, offset = [], [], 0
    for i, (year, run) in enumerate(zip(block.data.years, block.run)):
        k = len(year.weight_h)
        rows = offset + np.arange(k)
        parts.append((np.broadcast_to(rows, run.shape), run, cfg.mining.pue))
        if lease.size:
            coef = cfg.ai.pue * year.ai_utilization_frac
            parts.append((np.repeat(rows, lease.shape[0]), np.tile(lease[:, i], k),
                          np.repeat(coef, lease.shape[0])))
        caps.append(year.grid_cap_mw)
        offset += k
    _rows(lp, "grid_limit", block, -INF, np.concatenate(caps), parts)


def add_uptime_sla(lp: LinearModel, block: PlanBlock) -> None:
    """sum_k w_k run[g,i,k] - min_uptime_frac 8760 kept[g,i] >= 0 [IT MWh]."""
    frac = block.site.config.mining.min_uptime_frac
    kept = block.cols["kept"]
    if frac <= 0 or not kept.size:
        return
    n_g = kept.shape[0]
    parts = []
    for i, (year, run) in enumerate(zip(block.data.years, block.run)):
        rows = i * n_g + np.arange(n_g)
        parts += [(np.broadcast_to(rows[:, None], run.shape), run, np.broadcast_to(year.weight_h, run.shape)),
                  (rows, kept[:, i], -frac * HOURS_PER_YEAR)]
    _rows(lp, "uptime_sla", block, np.zeros(n_g * len(block.run)), INF, parts)


def hashrate_ph_per_mw(block: PlanBlock) -> np.ndarray:
    """PH/s per installed IT MW of each plan fleet."""
    return np.array([ph_per_mw(f.efficiency_j_per_th) for f in block.fleets], dtype=float)
