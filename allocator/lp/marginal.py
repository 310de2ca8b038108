"""What one more MW is worth: one-sided marginal values, and hourly shadow prices (duals).

- ``marginal_values``: per resource (a site-file field), annualized by ``8760 / H``
  [USD per MW-year]:

  - ``value_usd_per_mw_year``: net USD gained by one more MW of that field alone
    (the right derivative of the optimum), defaults that follow the field moving
    with it (``facility_mw`` defaults to ``interconnect_mw``, ``ai.convertible_mw``
    to ``facility_mw / ai.pue``, a lease's ``max_mw`` to ``ai.convertible_mw``);
  - ``loss_usd_per_mw_year``: net USD lost by one MW less (the left derivative);
    ``value <= loss``, equal unless two limits bind together; NaN (an empty cell)
    when the field cannot be lowered (a ``min_mw`` of 0, or a site that would become
    infeasible);
  - ``lp_dual_usd_per_mw_year``: the LP's dual for the same field. When limits bind
    together it is any number between value and loss, whichever the solver's basis
    gives: it is kept for reference, not to be read as "one more MW".

  Value and loss are computed exactly by warm re-solves (one_sided.py).
- ``shadow_prices``: per hour, the dual of the grid cap (``grid_limit``,
  including the run bound x_{f,t} <= c_t / pue_m, the same limit stated on the
  variable, and the demand-response shed rows) and of the firm AI row
  (``firm_ai``) [USD/MWh]. These stay duals: one valid split of the value when
  limits bind together, not one-sided values.

Signs are normalized once, in :mod:`allocator.solve` (HiGHS and CBC disagree):
every dual here is **net USD gained per unit of relaxation** of the bound it
belongs to, so a binding limit on a resource has a dual >= 0 and a binding
commitment (a lease's ``min_mw``) a dual <= 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import one_sided
from .model import LinearModel, SiteBlock
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


class MarginalValue(NamedTuple):
    """One resource's marginal values [USD per MW-year]."""

    value_usd_per_mw_year: float  # gained by one more MW (right derivative)
    loss_usd_per_mw_year: float   # lost by one MW less (left derivative); NaN: cannot be lowered
    lp_dual_usd_per_mw_year: float  # the LP's dual: between the two when limits bind together


def marginal_values(block: SiteBlock, solution: Solution, lp: LinearModel | None = None) -> dict[str, MarginalValue]:
    """Per resource, what one more and one less MW of it is worth [USD per MW-year].

    Parameters
    ----------
    block : SiteBlock
        The site.
    solution : Solution
        The optimal solution of ``lp``; its HiGHS model (``solution.highs``) is re-solved
        warm, or a HiGHS model is built from ``lp`` when the LP was solved by CBC.
    lp : LinearModel, optional
        The LP holding ``block``. Without it, value and loss are NaN (only the dual is given).
    """
    import time

    site = block.site
    annualize = HOURS_PER_YEAR / site.hours if site.hours else 0.0
    duals = dual_values(block, solution)
    slopes: dict[str, tuple[float, float]] = {}
    if lp is not None and solution.col_value.size and (solution.highs is not None or _has_highs()):
        t0 = time.perf_counter()
        slopes = one_sided.site_slopes(resolver(lp, solution), block)
        solution.seconds["marginal"] = solution.seconds.get("marginal", 0.0) + time.perf_counter() - t0
    out = {}
    for resource, _ in one_sided.resource_fields(site.config):
        right, left = slopes.get(resource, (np.nan, np.nan))
        if lp is not None and not solution.col_value.size:  # nothing to decide: every value is 0
            right, left = 0.0, 0.0
        # + 0.0: no -0.0 in a table
        out[resource] = MarginalValue(right * annualize + 0.0, left * annualize + 0.0, duals.get(resource, np.nan) + 0.0)
    return out


def _has_highs() -> bool:
    """Whether highspy is installed (a CBC-only install reports the duals alone)."""
    import importlib.util

    return importlib.util.find_spec("highspy") is not None


def resolver(lp: LinearModel, solution: Solution) -> one_sided.Resolver:
    """The solution's warm re-solver, made once per LP (shared by a portfolio's sites)."""
    if solution.resolver is None:
        h = solution.highs
        if h is None:  # solved by CBC: re-solve with HiGHS from its own optimum
            from .solve import highs_for, run

            h = highs_for(lp)
            run(h)
        solution.resolver = one_sided.Resolver(lp, h)
    return solution.resolver


def dual_values(block: SiteBlock, solution: Solution) -> dict[str, float]:
    """The LP's duals summed per resource [USD per MW-year]: one of many when limits bind together."""
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

MARGINAL_COLUMNS = ("site_id", "resource", "value_usd_per_mw_year", "loss_usd_per_mw_year",
                    "lp_dual_usd_per_mw_year")
SHADOW_COLUMNS = ("site_id", "constraint", "interval_start_utc", "value_usd_per_mwh")


def marginal_values_table(solutions):
    """``site_id, resource, value_usd_per_mw_year, loss_usd_per_mw_year, lp_dual_usd_per_mw_year``:
    one row per site and resource."""
    import pandas as pd

    rows = [{"site_id": s.site.id, "resource": k, **v._asdict()}
            for s in solutions for k, v in s.marginal_usd_per_mw_year.items()]
    return pd.DataFrame(rows, columns=list(MARGINAL_COLUMNS))


def shadow_prices_table(solutions):
    """``site_id, constraint, interval_start_utc, value_usd_per_mwh`` for the hourly rows the site has."""
    import pandas as pd

    from ..inputs.time_labels import interval_start_utc

    frames = []
    for s in solutions:
        site = s.site
        stamps = interval_start_utc(site.index)
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
