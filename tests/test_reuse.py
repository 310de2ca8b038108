"""Model reuse: warm re-solves give the same answers as a rebuild, and really reuse."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.lp import results
from allocator.lp.model import build
from allocator.inputs.overrides import load_site_with
from allocator.whatif.reuse import ReusableSolver, SiteScenarios, split_row
from allocator.run.batch import solve

from whatif_sites import campus_month, tiny

SPLIT_KEYS = ("ai_it_mw", "mining_it_mw", "mining_energy_mwh", "net_usd")


def random_scenarios(n: int, seed: int) -> list[dict]:
    """Prices, hashprice, rates and bounds only (no matrix change)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = {"mining.hashprice_usd_per_ph_day": float(rng.uniform(25, 90)),
             "ai.lease[0].rate_usd_per_kw_month": float(rng.uniform(90, 180))}
        if rng.random() < 0.5:
            s["prices.adder_usd_per_mwh"] = float(rng.uniform(0, 15))
        if rng.random() < 0.4:
            s["ai.convertible_mw"] = float(rng.uniform(40, 200))
        if rng.random() < 0.4:
            s["mining.fleet[1].mw"] = float(rng.uniform(0, 120))
        if rng.random() < 0.3:
            s["curtailment[0].cap_mw"] = float(rng.uniform(100, 250))
        if rng.random() < 0.3:
            s["ai.fitout_capex_usd_per_mw"] = float(rng.uniform(6e6, 12e6))
        out.append(s)
    return out


def test_reuse_equals_rebuild_on_random_scenarios(tmp_path):
    path = campus_month(tmp_path)
    warm, cold = SiteScenarios(path), SiteScenarios(path, reuse=False)
    scenarios = random_scenarios(30, seed=4)
    for s in scenarios:
        a, b = warm.run(s), cold.run(s)
        assert a.status == b.status == "optimal"
        assert a.split["net_usd"] == pytest.approx(b.split["net_usd"], rel=1e-8)
        for key in ("ai_it_mw", "mining_it_mw"):
            assert a.split[key] == pytest.approx(b.split[key], abs=1e-4)
    # every scenario but the first re-solved the kept model; the baseline never did
    assert warm.solver.rebuilt == 1 and warm.solver.reused == len(scenarios) - 1
    assert cold.solver.reused == 0 and cold.solver.rebuilt == len(scenarios)


def test_reuse_equals_a_plain_solve_of_the_overridden_file(tmp_path):
    path = campus_month(tmp_path)
    warm = SiteScenarios(path)
    for s in random_scenarios(4, seed=9):
        got = warm.run(s).split
        want = solve([load_site_with(path, s)]).split.iloc[0]
        for key in SPLIT_KEYS:
            assert got[key] == pytest.approx(want[key], rel=1e-8, abs=1e-4)


def test_structural_change_rebuilds(tmp_path):
    path = campus_month(tmp_path)
    warm = SiteScenarios(path)
    warm.run({})
    out = warm.run({"ai.pue": 1.3, "mining.min_uptime_frac": 0.5})  # matrix coefficients and rows change
    assert warm.solver.rebuilt == 2 and warm.solver.reused == 0
    want = solve([load_site_with(path, {"ai.pue": 1.3, "mining.min_uptime_frac": 0.5})]).split.iloc[0]
    assert out.split["net_usd"] == pytest.approx(want["net_usd"], rel=1e-8)
    # the firm AI limit moves with the PUE: 150 MW curtailment cap / 1.3
    assert out.split["ai_it_mw"] == pytest.approx(want["ai_it_mw"], abs=1e-4)
    assert out.split["ai_it_mw"] == pytest.approx(150.0 / 1.3, rel=1e-9)


def test_failures_become_outcomes_and_the_next_scenario_recovers(tmp_path):
    path = tiny(tmp_path, curtailment=[{"start": "2024-01-01T05:00", "end": "2024-01-01T06:00", "cap_mw": 40.0}])
    runner = SiteScenarios(path)
    ok = runner.run({"ai.lease[0].min_mw": 30.0})
    bad = runner.run({"ai.lease[0].min_mw": 50.0})   # 50 MW firm > the 40 MW cap in hour 5
    typo = runner.run({"ai.lease[0].min_mwh": 50.0})
    value = runner.run({"mining.hashprice_usd_per_ph_day": -1.0})
    again = runner.run({"ai.lease[0].min_mw": 30.0})
    assert ok.status == again.status == "optimal"
    assert again.split["net_usd"] == pytest.approx(ok.split["net_usd"], rel=1e-12)
    assert bad.status == "infeasible" and "caps the site at 40 MW" in bad.error
    assert typo.status == "input_error" and "Did you mean ai.lease[0].min_mw?" in typo.error
    assert value.status == "input_error" and ">= 0" in value.error


def test_split_row_equals_the_split_table(tmp_path):
    path = campus_month(tmp_path)
    site = load_site_with(path, {})
    lp = build([site])
    sol = ReusableSolver().solve(lp)
    s = results.site_solution(lp.blocks[0], sol)
    table = results.split_table([s]).iloc[0].to_dict()
    row = split_row(s)
    assert list(row) == list(results.SPLIT_COLUMNS)
    assert all(row[k] == table[k] for k in row)
