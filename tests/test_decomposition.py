"""The Lagrangian decomposition reaches the monolithic LP's optimum for sites sharing one row."""

from __future__ import annotations

import numpy as np
import pytest

from allocator import InfeasibleError, load_site
from allocator.lp import model
from allocator.lp.decomposition import CouplingRow, solve_coupled
from allocator.lp.solve import solve_model
from conftest import write_site

PRICES = [20.0, 50.0, 150.0, 80.0, 5.0, 300.0, 35.0, 60.0]
CAPEX_USD_PER_MW = 9.0e6


def tiny(tmp_path, site_id: str, rate: float, interconnect_mw: float, min_mw: float = 0.0):
    doc = {
        "site": {"interconnect_mw": interconnect_mw, "facility_mw": 20.0},
        "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 55.0,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 15.0},
                             {"model": "S19", "efficiency_j_per_th": 29.5, "mw": 5.0}]},
        "ai": {"pue": 1.2, "convertible_mw": 8.0, "utilization_frac": 0.8,
               "fitout_capex_usd_per_mw": CAPEX_USD_PER_MW, "opex_usd_per_mw_year": 60000.0,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": rate, "min_mw": min_mw}]},
    }
    return load_site(write_site(tmp_path, PRICES, doc, site_id=site_id))


def monolithic(sites, coef: float, upper: float):
    """The reference: every site in one LP plus the shared row, solved directly."""
    lp = model.build(sites)
    cols = np.concatenate([b.lease_cols for b in lp.blocks])
    lp.add_rows("shared", None, -np.inf, upper, 0, cols, coef)
    solution = solve_model(lp)
    return solution, lp, cols


def site_lps(sites):
    return [model.build([s], name=s.id) for s in sites]


def row_for(sites, coef: float, upper: float) -> CouplingRow:
    cols = [model.build([s]).blocks[0].lease_cols for s in sites]
    return CouplingRow("shared", upper, cols, [np.full(c.size, coef) for c in cols])


@pytest.fixture
def sites(tmp_path):
    specs = [("a", 150.0, 10.0), ("b", 135.0, 9.0), ("c", 160.0, 8.0), ("d", 142.0, 10.0)]
    return [tiny(tmp_path, sid, rate, ic) for sid, rate, ic in specs]


@pytest.mark.parametrize("coef, upper", [
    (CAPEX_USD_PER_MW, 0.5 * 4 * 6.0 * CAPEX_USD_PER_MW),  # capex budget [USD]: half of the AI the sites would take
    (1.0, 9.0),                                             # one tenant's IT MW placed across the sites
])
def test_binding_row_reaches_the_monolithic_optimum(sites, coef, upper):
    reference, lp, cols = monolithic(sites, coef, upper)
    free = sum(solve_model(model.build([s])).objective_usd for s in sites)
    assert reference.objective_usd < free - 1.0  # the row binds: the coupled optimum is lower
    result = solve_coupled(site_lps(sites), row_for(sites, coef, upper))
    assert result.objective_usd == pytest.approx(reference.objective_usd, rel=1e-9)
    assert result.row_usage == pytest.approx(upper, rel=1e-9)
    assert result.dual == pytest.approx(reference.row_dual[-1], rel=1e-6)
    assert result.dual > 0
    # the assembled solution is feasible for the monolithic LP, and prices to its objective
    x = np.concatenate(result.col_values)
    arr = lp.arrays()
    assert float(arr["col_cost"] @ x) == pytest.approx(reference.objective_usd, rel=1e-9)
    lhs = np.zeros(lp.n_rows)
    np.add.at(lhs, arr["row"], arr["coef"] * x[arr["col"]])
    assert np.all(lhs <= arr["row_upper"] + 1e-6) and np.all(lhs >= arr["row_lower"] - 1e-6)
    assert np.all(x >= arr["col_lower"] - 1e-9) and np.all(x <= arr["col_upper"] + 1e-9)


def test_slack_row_is_the_independent_optimum(sites):
    free = [solve_model(model.build([s])).objective_usd for s in sites]
    result = solve_coupled(site_lps(sites), row_for(sites, 1.0, 1000.0))
    assert result.dual == 0.0 and result.rounds == 1
    assert result.objective_usd == pytest.approx(sum(free), rel=1e-12)


def test_commitments_above_the_row_are_infeasible(tmp_path):
    sites = [tiny(tmp_path, "a", 150.0, 10.0, min_mw=5.0), tiny(tmp_path, "b", 150.0, 10.0, min_mw=5.0)]
    with pytest.raises(InfeasibleError, match="at least 10"):
        solve_coupled(site_lps(sites), row_for(sites, 1.0, 8.0))
