"""Power-market results: financial items, per-contract/program tables, dispatch columns.

Financial items (signed like the others: revenue positive, cost negative, all
adding up to ``net``):

- ``power_contract_settlement`` [USD]: what the contracts pay or save against buying
  every MWh at the hub price (the base items already price all energy at spot).
- ``coincident_peak_cost`` [USD]: the 4CP charge on the average host draw over the peak intervals.
- ``demand_response_revenue`` [USD]: capacity payments of every program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..lp.model import SiteBlock
from .rows import contract_constant_usd

POWER_ITEMS = ("power_contract_settlement", "coincident_peak_cost", "demand_response_revenue")
CONTRACT_COLUMNS = (
    "site_id", "contract", "settlement", "mw", "price_usd_per_mwh", "contract_energy_mwh", "used_energy_mwh",
    "power_contract_settlement_usd", "curtailment_credit_usd",
)
PROGRAM_COLUMNS = (
    "site_id", "program", "offered_mwh", "mean_offered_mw", "deployed_hours", "shed_mwh",
    "demand_response_revenue_usd",
)
PEAK_COLUMNS = (
    "site_id", "charge_usd_per_mw_year", "peaks_per_year", "peaks_in_horizon", "peak_draw_mw",
    "coincident_peak_cost_usd",
    "uncurtailed_peak_draw_mw", "uncurtailed_coincident_peak_cost_usd",
)
TOLERANCE_MW = 1e-6


@dataclass
class PowerOutcome:
    """One site's power-market results."""

    items_usd: dict[str, float]
    contracts: list[dict] = field(default_factory=list)
    programs: list[dict] = field(default_factory=list)
    peak: dict | None = None
    dispatch: dict[str, np.ndarray] = field(default_factory=dict)


def outcome(block: SiteBlock, values: np.ndarray, lease_mw: np.ndarray, fleet_mw: np.ndarray,
            run_mw: np.ndarray) -> PowerOutcome | None:
    """Price the power-market terms at the solution; None for a site without them."""
    site = block.site
    pm = site.power
    if pm is None:
        return None
    cfg = site.config
    n_h = site.hours
    hub = pm.hub_price_usd_per_mwh
    pue = cfg.mining.pue
    running_grid = run_mw.sum(axis=0) * pue if run_mw.size else np.zeros(n_h)
    ai_draw = lease_mw.sum() * cfg.ai.pue * site.ai_utilization_frac if cfg.ai is not None else np.zeros(n_h)
    ai_host = np.zeros(n_h) if cfg.ai is None or cfg.ai.power_pass_through else ai_draw
    host = running_grid + ai_host
    available_grid = np.clip(np.minimum(fleet_mw.sum() * pue, site.grid_cap_mw - ai_draw), 0.0, None)
    stood_down = np.clip(available_grid - running_grid, 0.0, None)
    stood_down[stood_down < TOLERANCE_MW] = 0.0
    out = PowerOutcome(dict.fromkeys(POWER_ITEMS, 0.0))
    out.dispatch["hub_price_usd_per_mwh"] = hub

    # contracts
    if pm.contracts:
        y = values[block.cols["physical_contract"]] if "physical_contract" in block.cols else np.zeros((0, n_h))
        physical_used = np.zeros(n_h)
        k_phys = 0
        for c in pm.contracts:
            if c.settlement == "physical":
                used = np.clip(y[k_phys], 0.0, None)
                k_phys += 1
                settle = float(used @ hub) - float(c.block_mw.sum()) * c.price_usd_per_mwh
                credit = 0.0
                physical_used += used
            else:
                used = np.minimum(c.block_mw, host)
                settle = float(c.block_mw @ (hub - c.price_usd_per_mwh))
                credit = float(np.minimum(c.block_mw - used, stood_down) @ hub)
            out.contracts.append({
                "site_id": site.id, "contract": c.name, "settlement": c.settlement, "mw": float(c.block_mw.max()),
                "price_usd_per_mwh": c.price_usd_per_mwh, "contract_energy_mwh": float(c.block_mw.sum()),
                "used_energy_mwh": float(used.sum()), "power_contract_settlement_usd": settle,
                "curtailment_credit_usd": credit,
            })
        y_value = float((y * hub[None, :]).sum()) if y.size else 0.0
        out.items_usd["power_contract_settlement"] = contract_constant_usd(pm) + y_value
        out.dispatch["contract_mw"] = np.sum([c.block_mw for c in pm.contracts], axis=0)
        if k_phys:
            out.dispatch["physical_contract_mw"] = physical_used

    # coincident peak
    if pm.peak_weight_frac is not None:
        share = pm.peak_charge_share_frac  # peaks in the horizon / peaks a year
        z = float(values[block.cols["coincident_peak"]][0])
        z = 0.0 if abs(z) < TOLERANCE_MW else z
        z0 = float(pm.peak_weight_frac @ (available_grid + ai_host))
        rate = pm.peak_charge_usd_per_mw_year
        out.items_usd["coincident_peak_cost"] = -rate * share * z
        out.peak = {"site_id": site.id, "charge_usd_per_mw_year": rate, "peaks_per_year": pm.peaks_per_year,
                    "peaks_in_horizon": share * pm.peaks_per_year, "peak_draw_mw": z,
                    "coincident_peak_cost_usd": -rate * share * z, "uncurtailed_peak_draw_mw": z0,
                    "uncurtailed_coincident_peak_cost_usd": -rate * share * z0}
        out.dispatch["peak_weight_frac"] = pm.peak_weight_frac

    # demand response
    if pm.programs:
        total = 0.0
        for p in pm.programs:
            key = f"dr_offer:{p.name}"
            if key in block.cols:
                o = values[block.cols[key]]
                offer = np.where(p.active, o[0], 0.0) if p.annual else np.where(p.active, o, 0.0)
            else:
                offer = np.zeros(n_h)
            offer[np.abs(offer) < TOLERANCE_MW] = 0.0
            revenue = float(offer @ p.capacity_usd_per_mw_hour)
            total += revenue
            out.programs.append({
                "site_id": site.id, "program": p.name, "offered_mwh": float(offer.sum()),
                "mean_offered_mw": float(offer[p.active].mean()) if p.active.any() else 0.0,
                "deployed_hours": int(p.deployed.sum()), "shed_mwh": float(offer[p.deployed].sum()),
                "demand_response_revenue_usd": revenue,
            })
            out.dispatch[f"offered_mw_{p.name}"] = offer
        shed = np.zeros(n_h)
        if "dr_shed" in block.cols:
            deployed = np.any([p.deployed for p in pm.programs], axis=0)
            shed[deployed] = values[block.cols["dr_shed"]]
        out.dispatch["shed_mw"] = shed
        out.items_usd["demand_response_revenue"] = total
    return out


def merge_items(base: dict[str, float], power: PowerOutcome | None) -> dict[str, float]:
    """The base items, then the power items of a site that has them, then ``net``."""
    if power is None:
        return base
    out = {k: v for k, v in base.items() if k != "net"}
    out.update(power.items_usd)
    out["net"] = sum(out.values())
    return out


def contracts_table(solutions) -> pd.DataFrame:
    rows = [r for s in solutions if s.power is not None for r in s.power.contracts]
    return pd.DataFrame(rows, columns=list(CONTRACT_COLUMNS))


def programs_table(solutions) -> pd.DataFrame:
    rows = [r for s in solutions if s.power is not None for r in s.power.programs]
    return pd.DataFrame(rows, columns=list(PROGRAM_COLUMNS))


def peak_table(solutions) -> pd.DataFrame:
    rows = [s.power.peak for s in solutions if s.power is not None and s.power.peak is not None]
    return pd.DataFrame(rows, columns=list(PEAK_COLUMNS))


def dispatch_columns(solutions) -> list[str]:
    """Extra dispatch columns, in first-seen order across sites."""
    names: list[str] = []
    for s in solutions:
        if s.power is not None:
            names += [k for k in s.power.dispatch if k not in names]
    return names
