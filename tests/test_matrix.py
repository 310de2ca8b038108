"""The array model and its hand-off: the matrix HiGHS receives is the LP docs/model.md states."""

from __future__ import annotations

import numpy as np
import pytest

from allocator import load_site
from allocator.lp import matrix
from allocator.lp import model
from allocator.lp.solve import solve_model
from conftest import write_site

PRICES = [20.0, 50.0, 150.0, 80.0]
DOC = {
    "site": {"interconnect_mw": 12.0, "facility_mw": 14.0},
    "mining": {"pue": 1.1, "hashprice_usd_per_ph_day": 48.0, "min_uptime_frac": 0.25,
               "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 6.0},
                         {"model": "B", "efficiency_j_per_th": 30.0, "mw": 5.0}]},
    "ai": {"pue": 1.25, "convertible_mw": 8.0, "utilization_frac": 0.8,
           "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0, "max_mw": 4.0},
                     {"tenant": "U", "rate_usd_per_kw_month": 90.0}]},
}


@pytest.fixture
def lp(tmp_path):
    return model.build([load_site(write_site(tmp_path, PRICES, DOC))])


def dense(lp):
    arr = lp.arrays()
    a = np.zeros((lp.n_rows, lp.n_cols))
    np.add.at(a, (arr["row"], arr["col"]), arr["coef"])
    return a


def test_csc_equals_the_coordinate_rows(lp):
    start, index, value = matrix.csc(lp)
    a = np.zeros((lp.n_rows, lp.n_cols))
    for j in range(lp.n_cols):
        a[index[start[j]:start[j + 1]], j] = value[start[j]:start[j + 1]]
    np.testing.assert_array_equal(a, dense(lp))


def test_rows_are_the_families_of_model_md(lp):
    """Re-derive a few rows by hand from docs/model.md and compare with the matrix."""
    b = lp.blocks[0]
    a = dense(lp)
    arr = lp.arrays()
    # MODEL 4, hour 2: 1.25 (a_T + a_U) <= c_2 = 12
    r = b.rows["firm_ai"][2]
    assert a[r, b.lease_cols].tolist() == [1.25, 1.25] and arr["row_upper"][r] == 12.0
    # MODEL 5, hour 1: 1.25*0.8 (a_T + a_U) + 1.1 (x_A1 + x_B1) <= 12
    r = b.rows["grid_limit"][1]
    assert a[r, b.lease_cols].tolist() == [1.0, 1.0]
    assert a[r, b.run_cols[:, 1]].tolist() == [1.1, 1.1]
    assert np.count_nonzero(a[r]) == 4
    # MODEL 6: sum_t x_Bt - 0.25*4 m_B >= 0
    r = b.rows["uptime_sla"][1]
    assert a[r, b.run_cols[1]].tolist() == [1.0] * 4 and a[r, b.fleet_cols[1]] == -1.0
    assert arr["row_lower"][r] == 0.0 and arr["row_upper"][r] == np.inf
    # MODEL 3: 1.25 sum a + 1.1 sum m <= 14
    r = b.rows["halls"][0]
    assert a[r, b.lease_cols].tolist() == [1.25, 1.25] and a[r, b.fleet_cols].tolist() == [1.1, 1.1]
    assert arr["row_upper"][r] == 14.0
    # lease max and implied run bounds: min(mw_f, c_t / pue_m)
    assert arr["col_upper"][b.lease_cols].tolist() == [4.0, 8.0]
    assert arr["col_upper"][b.run_cols[0]] == pytest.approx([6.0] * 4)
    assert lp.row_owner(int(b.rows["grid_limit"][3]))[1:] == ("grid_limit", 3)


def test_pulp_form_is_the_same_lp(lp):
    """The PuLP problem (CBC's input) holds every row and the objective of the arrays."""
    sol = solve_model(lp)
    prob = lp.prob
    constraints = prob.constraints()
    assert len(constraints) == lp.n_rows
    assert len(prob.variables()) == lp.n_cols
    x = {v.name: val for v, val in zip(prob.variables(), sol.col_value)}
    for v in prob.variables():
        v.varValue = x[v.name]
    arr = lp.arrays()
    activity = dense(lp) @ sol.col_value
    for i, c in enumerate(constraints):
        # constraint value is expr + constant; for <= rows, activity - upper
        bound = arr["row_upper"][i] if np.isfinite(arr["row_upper"][i]) else arr["row_lower"][i]
        assert c.value() == pytest.approx(activity[i] - bound, abs=1e-9)
    assert prob.objective.value() == pytest.approx(sol.objective_usd, rel=1e-9)


def test_solves_after_pulps_own_highs_ran(tmp_path):
    """PuLP's HiGHS starts the process-wide thread scheduler with its own thread count; our
    single-threaded solve in the same process must still run (it used to return 'Not Set')."""
    import subprocess
    import sys

    site = write_site(tmp_path, PRICES, DOC)
    script = f"""
import pulp
prob = pulp.LpProblem("other", pulp.LpMaximize)
x = prob.add_variable("x", lowBound=0, upBound=1)
prob.setObjective(pulp.lpSum_vars_coefs([(x, 1.0)]))
prob.solve(pulp.HiGHS(msg=False))
assert x.varValue == 1.0
from allocator import solve
print(solve([{str(site)!r}]).objective_usd)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    from allocator import solve

    assert float(out.stdout.split()[-1]) == pytest.approx(solve([str(site)]).objective_usd, rel=1e-9)


def test_cbc_fallback_reaches_the_same_optimum(tmp_path):
    """CBC (when installed) solves the PuLP form of the same LP to the same split and net USD."""
    import shutil

    if shutil.which("cbc") is None:
        pytest.skip("CBC is not installed (optional fallback: apt-get install coinor-cbc)")
    from allocator import solve

    site = load_site(write_site(tmp_path, PRICES, DOC))
    highs, cbc = solve([site]), solve([site], solver="cbc")
    assert cbc.objective_usd == pytest.approx(highs.objective_usd, rel=1e-7)
    np.testing.assert_allclose(cbc.split[["ai_it_mw", "mining_it_mw"]], highs.split[["ai_it_mw", "mining_it_mw"]],
                               atol=1e-6)
