"""Why the split is what it is: one line per site, read off the LP's binding rows.

Each clause names a limit that binds in the optimal solution (the row's or
bound's activity equals its right-hand side), in the site file's own terms,
with the numbers that set it:

- AI at a cap on its size: every tenant at its ``max_mw``; ``ai.convertible_mw``;
  the firm limit ``pue_ai x AI <= c_t`` at the lowest grid cap (the curtailment
  event, or ``interconnect_mw``, that sets it, with ``cap / PUE = AI MW``); the
  halls (``facility_mw / PUE``) when mining keeps nothing. Several caps that bind
  together are all named: relaxing only one of them does not move the split.
- AI at the tenants' signed ``min_mw``, or at 0: the lease's net per IT MW-year
  (lease minus fit-out and opex, and power when not passed through) against
  the mining its grid MW would displace (from the one-sided value of one more
  committed MW, marginal.py, when it was computed).
- AI between its caps: the rows it shares with mining that bind (the halls, the
  grid in some hours); past the optimum more AI displaces mining worth at least its lease.
- Mining: its uptime, and the price above which each kept fleet stops outside
  special hours (4CP, demand response, events): its breakeven from the median
  hashprice, the pool fee, the efficiency and the PUE, less the price adder (so
  the threshold reads against the prices file).
"""

from __future__ import annotations

import numpy as np

from ..inputs.hashprice import breakeven_price_usd_per_mwh
from ..inputs.site import crf

#: a row within this of its bound binds (relative to max(1, |bound|))
BINDING_TOLERANCE = 1e-6
#: below this an IT MW is zero [MW]
ZERO_MW = 1e-7


def reason(s) -> str:
    """One line on why the split of ``s`` (a results.SiteSolution) is what it is."""
    cfg = s.site.config
    parts = [ai_reason(s) if s.site.has_ai else "no AI lease offered"]
    if not cfg.mining.fleet:
        parts.append("no ASIC fleet")
    elif s.mining_it_mw <= ZERO_MW:
        parts.append("no mining kept")
    else:
        parts.append(mining_reason(s))
    return "; ".join(parts)


def _binds(activity: float, bound: float) -> bool:
    return activity >= bound - BINDING_TOLERANCE * max(1.0, abs(bound))


def ai_reason(s) -> str:
    """The AI clause: the limits on AI's size that bind at the optimum."""
    site = s.site
    cfg = site.config
    ai = cfg.ai
    a = s.ai_it_mw
    caps = []
    maxes = [cfg.lease_max_mw(lease) for lease in ai.lease]
    explicit = all(lease.max_mw is not None for lease in ai.lease)  # a default max_mw is convertible_mw itself
    # a cap binds when AI sits at it, at 0 too (an event capping the site at 0 MW)
    if explicit and all(_binds(mw, up) for mw, up in zip(s.lease_mw, maxes)):
        named = ", ".join(f"{lease.tenant} {up:g} MW" for lease, up in zip(ai.lease, maxes))
        caps.append(f"the tenants' max_mw ({named})")
    if _binds(a, ai.convertible_mw):
        caps.append(f"ai.convertible_mw = {ai.convertible_mw:g} MW")
    lowest = float(site.grid_cap_mw.min()) if site.hours else np.inf
    if _binds(ai.pue * a, lowest):
        if lowest >= site.interconnect_mw:
            caps.append(f"the firm limit of the grid: interconnect_mw {lowest:g} MW / PUE {ai.pue:g} = "
                        f"{lowest / ai.pue:g} MW of AI")
        else:
            caps.append(f"the firm limit set by the lowest grid cap: {_lowest_cap(site, lowest)}, "
                        f"{lowest:g} MW / PUE {ai.pue:g} = {lowest / ai.pue:g} MW of AI")
    halls = ai.pue * a + cfg.mining.pue * s.mining_it_mw
    halls_bind = _binds(halls, site.facility_mw)
    if a > ZERO_MW and halls_bind and s.mining_it_mw <= ZERO_MW:
        caps.append(f"the halls: facility_mw {site.facility_mw:g} MW / PUE {ai.pue:g} = "
                    f"{site.facility_mw / ai.pue:g} MW of AI")
    if caps:
        return "AI at " + " and at ".join(caps)
    committed = sum(lease.min_mw for lease in ai.lease)
    at_min = all(mw <= lease.min_mw + BINDING_TOLERANCE * max(1.0, lease.min_mw)
                 for mw, lease in zip(s.lease_mw, ai.lease))
    if at_min:
        head = "AI only at its signed minimum" if committed > ZERO_MW else "AI not worth it"
        return f"{head}: {_worth(s)}"
    shared = []
    if halls_bind:
        shared.append(f"the halls (facility_mw {site.facility_mw:g} MW)")
    grid_hours = _grid_binding_hours(s)
    if grid_hours:
        shared.append(f"the grid in {grid_hours} hour{'s' if grid_hours != 1 else ''}")
    where = " and ".join(shared) if shared else "no shared limit"
    return f"AI sized against mining: {where} full, more AI would displace mining worth at least its lease"


def _worth(s) -> str:
    """A lease's net per IT MW-year against what its MW earn as mining."""
    site = s.site
    ai = site.config.ai
    years = site.horizon_years
    fixed = ai.fitout_capex_usd_per_mw * crf(ai.discount_rate_frac, ai.capex_life_years) + ai.opex_usd_per_mw_year
    power = 0.0
    if not ai.power_pass_through and years > 0:
        power = float(np.dot(site.price_usd_per_mwh, site.ai_utilization_frac)) * ai.pue / years
    best = max(range(len(ai.lease)), key=lambda k: ai.lease[k].rate_usd_per_kw_month)
    lease = ai.lease[best]
    revenue = lease.rate_usd_per_kw_month * 12000.0
    costs = "fit-out and opex" + (" and power" if power else "")
    net = revenue - fixed - power
    if net <= 0:
        return (f"the best lease ({lease.tenant}, {lease.rate_usd_per_kw_month:g} USD/kW-month = "
                f"{revenue:,.0f} USD/MW-year) pays less than {costs} ({fixed + power:,.0f} USD/MW-year)")
    value = s.marginal_usd_per_mw_year.get(f"lease:{lease.tenant}:min_mw")
    displaced = f"{net - value.value_usd_per_mw_year:,.0f} USD/MW-year" if value is not None else "more"
    return (f"the best lease ({lease.tenant}) nets {net:,.0f} USD per IT MW-year after {costs}, but its "
            f"{ai.pue:g} grid MW earn {displaced} as mining")


def _lowest_cap(site, lowest: float) -> str:
    """The curtailment event that sets the lowest grid cap: ``curtailment[0] 2024-08-20 15:00-21:00 CDT``."""
    from .diagnosis import event_hours, span

    for i, event in enumerate(site.config.curtailment):
        if event.cap_mw == lowest:
            hours = event_hours(site, i)
            if hours.any():
                return f"curtailment[{i}] {span(site, hours)}"
    return "a curtailment event"


def _grid_binding_hours(s) -> int:
    """Hours whose grid row (AI draw + mining draw <= cap) binds."""
    site = s.site
    cfg = site.config
    ai_draw = s.ai_it_mw * cfg.ai.pue * site.ai_utilization_frac if cfg.ai else 0.0
    running = s.run_mw.sum(axis=0) if s.run_mw.size else np.zeros(site.hours)
    draw = ai_draw + cfg.mining.pue * running
    return int((draw >= site.grid_cap_mw - BINDING_TOLERANCE * np.maximum(1.0, site.grid_cap_mw)).sum())


def mining_reason(s) -> str:
    """Uptime, and the price above which each kept fleet stops outside special hours."""
    site = s.site
    energy = float(s.run_mw.sum())
    text = f"mining runs {energy / (s.mining_it_mw * site.hours):.0%} of hours"
    thresholds = fleet_thresholds(s)
    priced_out = [(name, usd) for name, usd in thresholds if (site.price_usd_per_mwh > usd + _adder(site)).any()]
    if not priced_out:
        return text
    if len({round(usd, 2) for _, usd in priced_out}) == 1:
        shown = f"${priced_out[0][1]:,.0f}/MWh"
    else:
        shown = ", ".join(f"${usd:,.0f}/MWh ({name})" for name, usd in priced_out)
    adder = _adder(site)
    note = f" before the ${adder:g}/MWh adder" if adder else ""
    return f"{text}, curtailed above {shown}{note}"


def _adder(site) -> float:
    return float(site.config.prices.adder_usd_per_mwh)


def fleet_thresholds(s) -> list[tuple[str, float]]:
    """Per kept fleet: (model, breakeven at the median hashprice less the adder) [USD/MWh]."""
    site = s.site
    m = site.config.mining
    hashprice = float(np.median(site.hashprice_usd_per_ph_day)) if site.hours else 0.0
    return [(fleet.model, float(breakeven_price_usd_per_mwh(hashprice, m.pool_fee_frac, fleet.efficiency_j_per_th,
                                                            m.pue)) - _adder(site))
            for fleet, kept in zip(m.fleet, s.fleet_mw) if kept > ZERO_MW]
