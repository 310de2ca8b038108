"""Sweeps and breakevens on sites with the uptime SLA and power-market terms: the structured path equals HiGHS.

Every scenario the structured solver covers (:func:`allocator.lp.structured.not_covered`) is solved by its
cutting planes, the cuts kept while the hourly data stay; each is compared with HiGHS on the same scenario:
the objective to 1e-9 relative, the split to 1e-6 MW, every financial item (power items included) to 1e-9
of the objective's size.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from allocator.whatif import breakeven as be
from allocator.whatif.reuse import HIGHS_METHOD, SiteScenarios
from allocator.whatif.sweep import grid_sweep, run_sweep
from allocator.whatif.sweep_structured import METHOD

from conftest import write_site

HOURS = 168
HP = "mining.hashprice_usd_per_ph_day"
RATE = "ai.lease[0].rate_usd_per_kw_month"
PEAKS = ["2024-01-02T17:00", "2024-01-04T16:00", "2024-01-06T18:00"]

#: fields that leave the hourly data as they are: the cuts are kept
MASTER_ONLY = {RATE: (90, 200), "ai.fitout_capex_usd_per_mw": (6e6, 12e6), "ai.convertible_mw": (20, 90),
               "mining.opex_usd_per_mw_year": (0, 9e4), "ai.lease[0].min_mw": (0, 15)}
#: fields that move them: new cuts
DISPATCH = {HP: (20, 45), "prices.adder_usd_per_mwh": (0, 15), "mining.pue": (1.02, 1.2),
            "ai.utilization_frac": (0.5, 1.0)}


def prices() -> list[float]:
    return list(np.random.default_rng(17).normal(40.0, 25.0, HOURS))


def doc(*, sla: float | None = None, fleets: int = 1, peak: bool = False, contracts: bool = False,
        tou: bool = False, dr: bool = False) -> dict:
    """A 100 MW campus a week long; hashprice 30 (mining's margin thin, so the SLA binds)."""
    fleet = [{"model": "a", "efficiency_j_per_th": 18.0, "mw": 80.0},
             {"model": "b", "efficiency_j_per_th": 26.0, "mw": 50.0}][:fleets]
    out: dict = {"site": {"interconnect_mw": 100.0},
                 "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 30.0, "opex_usd_per_mw_year": 20_000.0,
                            "fleet": fleet},
                 "ai": {"pue": 1.2, "convertible_mw": 60.0, "fitout_capex_usd_per_mw": 9e6, "utilization_frac": 0.8,
                        "power_pass_through": False,
                        "lease": [{"tenant": "x", "rate_usd_per_kw_month": 140.0}]}}
    if sla is not None:
        out["mining"]["min_uptime_frac"] = sla
    if peak:
        out["coincident_peak"] = {"charge_usd_per_mw_year": 5_000.0, "intervals": PEAKS}
    if contracts:
        out["power"] = {"contract": [{"name": "ppa", "mw": 25.0, "price_usd_per_mwh": 38.0, "settlement": "physical"},
                                     {"name": "hedge", "mw": 15.0, "price_usd_per_mwh": 42.0,
                                      "settlement": "financial"}]}
    if tou:
        out["prices"] = {"tou_adder": [{"adder_usd_per_mwh": 12.0, "hours": [15, 16, 17, 18, 19]}]}
    if dr:
        out["demand_response"] = [{"name": "rrs", "capacity_usd_per_mw_hour": 8.0, "stacking": True,
                                   "deployment": [{"start": "2024-01-03T17:00", "end": "2024-01-03T19:00"}]},
                                  {"name": "ers", "capacity_usd_per_mw_year": 40_000.0,
                                   "deployment": [{"start": "2024-01-05T18:00", "end": "2024-01-05T20:00"}]}]
    return out


SITES = {
    "sla1": doc(sla=0.9),
    "power": doc(fleets=2, peak=True, contracts=True, tou=True),
    "sla_power": doc(sla=0.85, peak=True, contracts=True),
    "dr": doc(fleets=2, peak=True, contracts=True, dr=True),
}


def scenarios(n: int, seed: int) -> list[dict]:
    """Runs of master-only changes broken by changes of the hourly data."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pool = DISPATCH if rng.random() < 0.25 else MASTER_ONLY
        keys = rng.choice(sorted(pool), size=int(rng.integers(1, 3)), replace=False)
        out.append({str(k): float(rng.uniform(*pool[k])) for k in keys})
    return out


def assert_same(a, b, what) -> None:
    """Two optimal outcomes of one scenario agree: objective, split and every financial item."""
    assert a.status == b.status == "optimal", (what, a.error, b.error)
    scale = max(1.0, abs(b.split["net_usd"]))
    assert a.split["net_usd"] == pytest.approx(b.split["net_usd"], rel=1e-9), what
    for key in ("ai_it_mw", "mining_it_mw"):
        assert a.split[key] == pytest.approx(b.split[key], abs=1e-6), (what, key)
    items_a, items_b = a.solution.financials_usd, b.solution.financials_usd
    assert list(items_a) == list(items_b), what
    for item in items_a:
        assert items_a[item] == pytest.approx(items_b[item], abs=1e-9 * scale), (what, item)


@pytest.mark.parametrize("name", sorted(SITES))
def test_sweep_scenarios_on_sla_and_power_sites_equal_highs(tmp_path, name):
    path = write_site(tmp_path, prices(), SITES[name], site_id=name)
    auto, highs = SiteScenarios(path, solver="auto"), SiteScenarios(path, reuse=False)
    binding = peak_priced = 0
    for s in [{}] + scenarios(40, seed=len(name)):
        a, b = auto.run(s), highs.run(s)
        if b.status != "optimal":  # e.g. a lease min_mw the firm cap cannot hold: same status and words
            assert (a.status, a.error) == (b.status, b.error), s
            continue
        assert a.method == "structured" and a.method_detail == METHOD, (s, a.method_detail)
        assert b.method == "highs"
        assert_same(a, b, (name, s))
        scale = max(1.0, abs(b.split["net_usd"]))
        sla = SITES[name]["mining"].get("min_uptime_frac")
        if sla and a.split["mining_it_mw"] > 0:
            assert a.split["mining_uptime_frac"] >= sla - 1e-9
            binding += abs(a.split["mining_uptime_frac"] - sla) < 1e-7
        if "coincident_peak" in SITES[name]:  # the 4CP item and the contracts' are priced, not dropped
            peak_priced += a.solution.financials_usd["coincident_peak_cost"] < 0
            assert a.solution.power.peak["peak_draw_mw"] == pytest.approx(b.solution.power.peak["peak_draw_mw"],
                                                                          abs=1e-6)
        if "demand_response" in SITES[name]:  # the offers are priced, program by program
            assert a.solution.financials_usd["demand_response_revenue"] > 0
            for pa, pb in zip(a.solution.power.programs, b.solution.power.programs):
                assert pa["demand_response_revenue_usd"] == pytest.approx(pb["demand_response_revenue_usd"],
                                                                          abs=1e-9 * scale), (s, pa)
        if "power" in SITES[name]:
            assert a.solution.financials_usd["power_contract_settlement"] != 0
            for ca, cb in zip(a.solution.power.contracts, b.solution.power.contracts):
                assert ca["used_energy_mwh"] == pytest.approx(cb["used_energy_mwh"], abs=1e-5), (s, ca)
    if "coincident_peak" in SITES[name]:
        assert peak_priced >= 10
    if "min_uptime_frac" in SITES[name]["mining"]:
        assert binding >= 10  # the SLA decides the dispatch in most scenarios: it is really exercised
    solver = auto.structured
    assert solver.kept >= 15 and solver.fresh >= 5  # master-only changes kept the cuts
    assert solver.evaluations <= 4 * (solver.kept + solver.fresh)


def test_kept_cuts_give_the_answer_of_a_fresh_solve(tmp_path):
    """A lease-rate walk with the cuts kept from scenario to scenario equals each scenario solved afresh."""
    path = write_site(tmp_path, prices(), SITES["sla_power"], site_id="sla_power")
    warm, cold = SiteScenarios(path, solver="auto"), SiteScenarios(path, solver="auto", reuse=False)
    cold_evaluations = 0
    for rate in np.linspace(80.0, 260.0, 19):
        a, b = warm.run({RATE: float(rate)}), cold.run({RATE: float(rate)})
        cold_evaluations += cold.structured.evaluations  # a fresh SweepSolver per scenario
        assert_same(a, b, rate)
    assert warm.structured.kept == 18 and warm.structured.fresh == 1
    assert warm.structured.evaluations < cold_evaluations


def test_sweep_folder_auto_equals_highs_and_names_each_method(tmp_path):
    power = write_site(tmp_path / "sites", prices(), SITES["sla_power"], site_id="sla_power")
    dr = write_site(tmp_path / "sites", prices(), doc(peak=True, dr=True), site_id="dr")
    vary = [f"{HP}=22:40:3", f"{RATE}=100:200:4"]
    rows = {}
    for solver in ("auto", "highs"):
        summary = run_sweep(grid_sweep([power, dr], vary, solver=solver), tmp_path / solver, workers=1)
        with open(tmp_path / solver / "sweep.csv", encoding="utf-8") as fh:
            rows[solver] = sorted(csv.DictReader(fh), key=lambda r: (r["site_id"], r["scenario_id"]))
        manifest = json.loads((tmp_path / solver / "manifest.json").read_text())
        sites = manifest["sites"]
        if solver == "auto":
            assert summary.methods == {"structured": 24}
            assert sites["sla_power"]["methods_this_run"] == sites["dr"]["methods_this_run"] == {METHOD: 12}
        else:
            assert summary.methods == {"highs": 24}
            assert sites["sla_power"]["methods_this_run"] == sites["dr"]["methods_this_run"] == {HIGHS_METHOD: 12}
    assert len(rows["auto"]) == len(rows["highs"]) == 24
    for a, b in zip(rows["auto"], rows["highs"]):
        assert (a["scenario_id"], a["site_id"], a["status"]) == (b["scenario_id"], b["site_id"], "optimal")
        assert float(a["net_usd"]) == pytest.approx(float(b["net_usd"]), rel=1e-9)
        for key in ("ai_it_mw", "mining_it_mw"):
            assert float(a[key]) == pytest.approx(float(b[key]), abs=1e-6)


def test_breakeven_on_an_sla_and_4cp_site_equals_highs(tmp_path):
    path = write_site(tmp_path, prices(), SITES["sla_power"], site_id="sla_power")
    auto, highs = be.runner(path), be.runner(path, solver="highs")
    found = 0
    for parameter, low, high in ((HP, 15.0, 60.0), (RATE, 60.0, 250.0)):
        a = be.search(auto, parameter, low, high, points=11)
        b = be.search(highs, parameter, low, high, points=11)
        assert a.continuous == b.continuous and len(a.changes) == len(b.changes), parameter
        for ca, cb in zip(a.changes, b.changes):
            assert ca.value == pytest.approx(cb.value, abs=a.tolerance), parameter
            found += 1
        for ra, rb in zip(be.sensitivity(auto, parameter, low, 0.5 * (low + high), high),
                          be.sensitivity(highs, parameter, low, 0.5 * (low + high), high)):
            assert ra["net_usd"] == pytest.approx(rb["net_usd"], rel=1e-9)
            assert ra["ai_it_mw"] == pytest.approx(rb["ai_it_mw"], abs=1e-6)
    assert found >= 1  # the ranges hold a change of split: the bisection was compared too
    assert list(auto.methods) == [METHOD] and list(highs.methods) == [HIGHS_METHOD]
