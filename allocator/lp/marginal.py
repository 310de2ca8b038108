"""What one more MW is worth: marginal values and hourly shadow prices from the duals.

Signs are normalized once, in :mod:`allocator.solve` (HiGHS and CBC disagree):
every dual here is **net USD gained per unit of relaxation** of the bound it
belongs to, so a binding limit on a resource has a value >= 0 and a binding
commitment (a lease's ``min_mw``) a value <= 0.

- ``marginal_values``: per resource, the duals of every row and column bound
  whose right-hand side moves with that site-file field, summed over the
  horizon and annualized by ``8760 / H`` [USD per MW-year]. Defaults that
  follow a field move with it: ``facility_mw`` defaults to ``interconnect_mw``
  and a lease's ``max_mw`` to ``ai.convertible_mw``.
- ``shadow_prices``: per hour, the value of one more MW of grid cap
  (``grid_limit``, including the run bound x_{f,t} <= c_t / pue_m, the same limit
  stated on the variable, and the demand-response shed rows) and of the firm
  AI row (``firm_ai``) [USD/MWh].

In a degenerate optimum (two limits binding at once) the duals are one valid
split of the value between them; a finite difference of one resource then
gives the one-sided value, which can be lower.
"""

from __future__ import annotations

import numpy as np

from .model import SiteBlock
from .solve import Solution

HOURS_PER_YEAR = 8760.0
TOLERANCE_MW = 1e-7
RESOURCE_ORDER = ("interconnect_mw", "facility_mw", "convertible_mw")


def shadow_prices(block: SiteBlock, solution: Solution) -> dict[str, np.ndarray]:
    """Hourly shadow prices of the grid cap and the firm-AI row [USD/MWh]; absent rows give zeros."""
    site = block.site
    n_h = site.hours
    dual = solution.row_dual
    grid = np.zeros(n_h)
    firm = np.zeros(n_h)
    if "grid_limit" in block.rows and dual.size:
        grid += dual[block.rows["grid_limit"]]
    if "firm_ai" in block.rows and dual.size:
        firm += dual[block.rows["firm_ai"]]
    if "dr_shed_grid" in block.rows and dual.size:
        deployed = np.any([p.deployed for p in site.power.programs], axis=0)
        grid[deployed] += dual[block.rows["dr_shed_grid"]]
    x = block.run_cols
    if x.size and solution.col_dual.size:
        pue = site.config.mining.pue
        mw = np.array([f.mw for f in site.config.mining.fleet])
        cap_bound = site.grid_cap_mw[None, :] / pue < mw[:, None]  # the bound is c_t / pue, not mw_f
        at_upper = solution.col_value[x] >= np.minimum(mw[:, None], site.grid_cap_mw[None, :] / pue) - TOLERANCE_MW
        grid += np.where(cap_bound & at_upper, np.clip(solution.col_dual[x], 0.0, None), 0.0).sum(axis=0) / pue
    return {"grid_limit": grid, "firm_ai": firm}


def marginal_values(block: SiteBlock, solution: Solution) -> dict[str, float]:
    """Net USD per year gained by one more MW of each resource [USD per MW-year]."""
    site = block.site
    cfg = site.config
    annualize = HOURS_PER_YEAR / site.hours if site.hours else 0.0
    dual = solution.row_dual
    prices = shadow_prices(block, solution)
    follows = site.grid_cap_mw >= site.interconnect_mw - 1e-9  # hours not lowered by a curtailment event
    halls = float(dual[block.rows["halls"]].sum()) if "halls" in block.rows and dual.size else 0.0
    interconnect = float(((prices["grid_limit"] + prices["firm_ai"]) * follows).sum())
    if cfg.site.facility_mw is None:
        interconnect += halls
    out = {"interconnect_mw": interconnect * annualize, "facility_mw": halls * annualize}
    if cfg.ai is None:
        return out
    convertible = float(dual[block.rows["convertible"]].sum()) if "convertible" in block.rows and dual.size else 0.0
    leases: dict[str, float] = {}
    for lease, col in zip(cfg.ai.lease, block.lease_cols):
        value = float(solution.col_value[col]) if solution.col_value.size else 0.0
        d = float(solution.col_dual[col]) if solution.col_dual.size else 0.0
        low, up = lease.min_mw, cfg.lease_max_mw(lease)
        at_low, at_up = value <= low + TOLERANCE_MW, value >= up - TOLERANCE_MW
        d_min = min(d, 0.0) if at_low and at_up else (d if at_low else 0.0)
        d_max = max(d, 0.0) if at_low and at_up else (d if at_up else 0.0)
        leases[f"lease:{lease.tenant}:min_mw"] = d_min * annualize
        leases[f"lease:{lease.tenant}:max_mw"] = d_max * annualize
        if lease.max_mw is None:
            convertible += d_max
    out["convertible_mw"] = convertible * annualize
    out.update(leases)
    return out


# ------------------------------------------------------------------ tables

MARGINAL_COLUMNS = ("site_id", "resource", "value_usd_per_mw_year")
SHADOW_COLUMNS = ("site_id", "constraint", "interval_start_utc", "value_usd_per_mwh")


def marginal_values_table(solutions):
    """``site_id, resource, value_usd_per_mw_year``: one row per site and resource."""
    import pandas as pd

    rows = [{"site_id": s.site.id, "resource": k, "value_usd_per_mw_year": v}
            for s in solutions for k, v in s.marginal_usd_per_mw_year.items()]
    return pd.DataFrame(rows, columns=list(MARGINAL_COLUMNS))


def shadow_prices_table(solutions):
    """``site_id, constraint, interval_start_utc, value_usd_per_mwh`` for the hourly rows the site has."""
    import pandas as pd

    frames = []
    for s in solutions:
        site = s.site
        stamps = site.index.strftime("%Y-%m-%dT%H:%M:%SZ")
        for name, values in s.shadow_usd_per_mwh.items():
            if _has_rows(s, name):
                frames.append(pd.DataFrame({"site_id": site.id, "constraint": name, "interval_start_utc": stamps,
                                            "value_usd_per_mwh": values}))
    if not frames:
        return pd.DataFrame(columns=list(SHADOW_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SHADOW_COLUMNS)]


def _has_rows(s, name: str) -> bool:
    """firm_ai rows exist for a site with a lease; grid_limit rows for one with a lease or a fleet."""
    if name == "firm_ai":
        return s.lease_mw.size > 0
    return s.lease_mw.size > 0 or s.fleet_mw.size > 0
