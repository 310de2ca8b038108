"""LP terms of the power market: contracts, coincident peak, demand response.

Called from :func:`allocator.lp.model.add_site_block` only for a site whose file
has these tables (``site.power``); the recipe, top to bottom (symbols as in
docs/power.md):

1. ``add_contract_constant``   -- a column fixed at 1 carrying the contracts' fixed payments and,
                                  for financial contracts, the CfD settlement, both independent of dispatch
2. ``add_physical_contracts``  -- y_{k,t} <= B_{k,t}; sum_k y_{k,t} <= host draw_t              (grid MW)
3. ``add_coincident_peak``     -- z = sum_t w_t host draw_t, charged charge x N_h/N_y per MW      (grid MW)
4. ``add_demand_response``     -- offers o_{k,t} <= mining running (+ shed), exclusivity, shedding (grid MW)

The *host draw* is the grid draw whose power the host pays: mining
(pue_m sum_f x_{f,t}) plus the AI tenant's when ``ai.power_pass_through`` is false.
"""

from __future__ import annotations

import numpy as np

from ..lp.model import INF, LinearModel, SiteBlock

Term = tuple[np.ndarray, np.ndarray]  # (column per hour, -1 where absent; coefficient per hour)


def add_power_market(lp: LinearModel, block: SiteBlock) -> None:
    """Add every power-market column and row family of the block's site."""
    pm = block.site.power
    if pm is None or not pm.has_lp_terms:
        return
    add_contract_constant(lp, block)
    add_physical_contracts(lp, block)
    add_coincident_peak(lp, block)
    add_demand_response(lp, block)


# ------------------------------------------------------------------ terms


def running_terms(block: SiteBlock) -> list[Term]:
    """pue_m x_{f,t} for every fleet [grid MW]."""
    site = block.site
    pue = np.full(site.hours, site.config.mining.pue)
    return [(x, pue) for x in block.run_cols]


def ai_terms(block: SiteBlock) -> list[Term]:
    """pue_ai u_t a_l for every lease [grid MW]."""
    site = block.site
    if not block.lease_cols.size:
        return []
    coef = site.config.ai.pue * site.ai_utilization_frac
    return [(np.full(site.hours, a), coef) for a in block.lease_cols]


def host_draw_terms(block: SiteBlock) -> list[Term]:
    """Grid draw the host pays for: mining, plus AI when its power is not passed through [grid MW]."""
    ai = block.site.config.ai
    passed = ai is None or ai.power_pass_through
    return running_terms(block) + ([] if passed else ai_terms(block))


def _scale(terms: list[Term], factor) -> list[Term]:
    return [(c, v * factor) for c, v in terms]


def add_hourly_rows(lp: LinearModel, family: str, block: SiteBlock, hours: np.ndarray, terms: list[Term],
                    lower, upper, *, one_row: bool = False) -> np.ndarray:
    """Rows ``lower_t <= sum of terms in hour t <= upper_t`` for the hours in ``hours``.

    With ``one_row`` the hours are summed into a single row (duplicate columns merged).
    """
    n_h = block.site.hours
    hours = np.asarray(hours, np.int64)
    local = np.zeros(hours.size, np.int64) if one_row else np.arange(hours.size)
    rows, cols, coefs = [], [], []
    for col, coef in terms:
        c = np.broadcast_to(col, (n_h,))[hours]
        v = np.broadcast_to(coef, (n_h,))[hours]
        keep = (c >= 0) & (v != 0)
        rows.append(local[keep])
        cols.append(c[keep])
        coefs.append(v[keep])
    row, col, coef = (np.concatenate(x) if x else np.zeros(0) for x in (rows, cols, coefs))
    # merge duplicate (row, column) pairs: a column may appear in several terms or hours of one row
    key = row.astype(np.int64) * max(lp.n_cols, 1) + col.astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    merged = np.bincount(inverse, weights=coef, minlength=uniq.size) if uniq.size else np.zeros(0)
    n_rows = 1 if one_row else hours.size

    def bound(b):
        b = np.broadcast_to(np.asarray(b, float), (n_h,))[hours]
        return b[:1] if one_row else b

    return lp.add_rows(family, block, bound(lower), bound(upper), uniq // max(lp.n_cols, 1),
                       uniq % max(lp.n_cols, 1), merged)[:n_rows]


# ------------------------------------------------------------------ families


def add_contract_constant(lp: LinearModel, block: SiteBlock) -> None:
    """A column fixed at 1 whose cost is every contract term independent of dispatch [USD].

    financial: sum_t B_{k,t} (hub_t - P_k) (pay P on the block, credited hub for all of it);
    physical: -sum_t B_{k,t} P_k (the block is paid for, used or not).
    """
    pm = block.site.power
    if not pm.contracts:
        return
    block.cols["contract_constant"] = lp.add_columns([1.0], [1.0], [contract_constant_usd(pm)])


def contract_constant_usd(pm) -> float:
    """The dispatch-independent part of the contracts' settlement [USD]."""
    total = 0.0
    for c in pm.contracts:
        total -= float(c.block_mw.sum()) * c.price_usd_per_mwh
        if c.settlement == "financial":
            total += float(c.block_mw @ pm.hub_price_usd_per_mwh)
    return total


def add_physical_contracts(lp: LinearModel, block: SiteBlock) -> None:
    """y_{k,t} in [0, B_{k,t}] worth hub_t each; sum_k y_{k,t} - host draw_t <= 0 [grid MW]."""
    site = block.site
    pm = site.power
    physical = [c for c in pm.contracts if c.settlement == "physical"]
    if not physical:
        return
    block_mw = np.stack([c.block_mw for c in physical])
    y = lp.add_columns(0.0, block_mw, np.broadcast_to(pm.hub_price_usd_per_mwh, block_mw.shape))
    block.cols["physical_contract"] = y
    hours = np.flatnonzero(block_mw.sum(axis=0) > 0)
    terms = [(row, np.ones(site.hours)) for row in y] + _scale(host_draw_terms(block), -1.0)
    add_hourly_rows(lp, "physical_contract", block, hours, terms, -INF, 0.0)


def add_coincident_peak(lp: LinearModel, block: SiteBlock) -> None:
    """z - sum_t w_t host draw_t = 0; z costs charge x peaks in the horizon / peaks a year [USD per MW] (ERCOT 4CP:
    each of the year's 4 peak intervals carries a quarter of the annual charge)."""
    site = block.site
    pm = site.power
    if pm.peak_weight_frac is None:
        return
    z = lp.add_columns([0.0], [INF], [-pm.peak_charge_usd_per_mw_year * pm.peak_charge_share_frac])
    block.cols["coincident_peak"] = z
    hours = np.flatnonzero(pm.peak_weight_frac > 0)
    first = np.zeros(site.hours)
    first[hours[:1]] = 1.0  # z enters the (single) row once
    terms = [(np.full(site.hours, z[0]), first)] + _scale(host_draw_terms(block), -pm.peak_weight_frac)
    add_hourly_rows(lp, "coincident_peak", block, hours, terms, 0.0, 0.0, one_row=True)


def add_demand_response(lp: LinearModel, block: SiteBlock) -> None:
    """Offers, exclusivity and shedding of the demand-response programs [grid MW].

    Columns: o_{k,t} per program and hour (one o_k for a USD/MW-year program, held through its window),
    s_t the shed MW in deployment hours. Rows, per combination c of programs that may share MW
    (all exclusive programs plus one stacking program):

    - ``dr_offer__c``:  sum_{k in c} o_{k,t} - pue_m sum_f x_{f,t} - s_t <= 0   (offered <= running + shed)
    - ``dr_shed__c``:   sum_{k in c, deployed at t} o_{k,t} - s_t <= 0          (deployed offers are shed)
    - ``dr_shed_kept``: s_t + pue_m sum_f x_{f,t} - pue_m sum_f m_f <= 0         (shed MW are kept machines)
    - ``dr_shed_grid``: s_t + pue_m sum_f x_{f,t} + pue_ai u_t a <= c_t          (scheduled load within the cap)
    """
    site = block.site
    pm = site.power
    if not pm.programs or not block.fleet_cols.size:
        return
    n_h = site.hours
    offer_cols = []  # (H,) column of each program's offer per hour, -1 outside its window
    for p in pm.programs:
        if p.annual:
            o = lp.add_columns([0.0], [p.max_mw], [float(p.capacity_usd_per_mw_hour.sum())])
            col = np.where(p.active, o[0], -1)
        else:
            o = lp.add_columns(0.0, np.where(p.active, p.max_mw, 0.0), p.capacity_usd_per_mw_hour)
            col = np.where(p.active, o, -1)
        block.cols[f"dr_offer:{p.name}"] = o
        offer_cols.append(col)
    deployed_any = np.any([p.deployed for p in pm.programs], axis=0)
    shed_hours = np.flatnonzero(deployed_any)
    shed_col = np.full(n_h, -1, dtype=np.int64)
    if shed_hours.size:
        s = lp.add_columns(np.zeros(shed_hours.size), INF, 0.0)
        block.cols["dr_shed"] = s
        shed_col[shed_hours] = s
    ones = np.ones(n_h)
    shed = [(shed_col, ones)]
    running = running_terms(block)
    exclusive = [k for k, p in enumerate(pm.programs) if not p.stacking]
    stacking = [k for k, p in enumerate(pm.programs) if p.stacking]
    combos = [exclusive + [j] for j in stacking] if stacking else [exclusive]
    for ci, combo in enumerate(combos):
        active = np.any([pm.programs[k].active for k in combo], axis=0)
        terms = [(offer_cols[k], ones) for k in combo] + _scale(running, -1.0) + _scale(shed, -1.0)
        add_hourly_rows(lp, f"dr_offer__{ci}", block, np.flatnonzero(active), terms, -INF, 0.0)
        deployed = np.any([pm.programs[k].deployed for k in combo], axis=0)
        if deployed.any():
            terms = [(np.where(pm.programs[k].deployed, offer_cols[k], -1), ones) for k in combo]
            add_hourly_rows(lp, f"dr_shed__{ci}", block, np.flatnonzero(deployed), terms + _scale(shed, -1.0),
                            -INF, 0.0)
    if shed_hours.size:
        pue = site.config.mining.pue
        kept = [(np.full(n_h, m), np.full(n_h, -pue)) for m in block.fleet_cols]
        add_hourly_rows(lp, "dr_shed_kept", block, shed_hours, shed + running + kept, -INF, 0.0)
        add_hourly_rows(lp, "dr_shed_grid", block, shed_hours, shed + running + ai_terms(block), -INF,
                        site.grid_cap_mw)
