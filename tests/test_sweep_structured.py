"""Sweeps on the structured solver: equal to HiGHS, cuts really kept, numeric overrides equal to the general path."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from allocator.errors import InputError
from allocator.inputs import overrides
from allocator.inputs.site import load_site
from allocator.whatif.reuse import SiteScenarios
from allocator.whatif.sweep import grid_sweep, run_sweep
from allocator.whatif.sweep_overrides import numeric_config

from conftest import REPO
from whatif_sites import HOURS, PRICE_USD_PER_MWH, campus_month, tiny

HP = "mining.hashprice_usd_per_ph_day"
RATE = "ai.lease[0].rate_usd_per_kw_month"
#: fields that leave the dispatch value unchanged (only the master's objective, bounds or row limits move)
MASTER_ONLY = {RATE: (90, 180), "ai.fitout_capex_usd_per_mw": (6e6, 12e6), "ai.convertible_mw": (40, 200),
               "mining.fleet[1].mw": (0, 120), "mining.opex_usd_per_mw_year": (0, 9e4),
               "ai.lease[0].min_mw": (0, 30)}
#: fields that move it (margins, caps, AI draw)
DISPATCH = {HP: (25, 90), "prices.adder_usd_per_mwh": (0, 15), "curtailment[0].cap_mw": (100, 250),
            "mining.pue": (1.0, 1.3), "ai.utilization_frac": (0.5, 1.0), "site.interconnect_mw": (200, 320)}


def scenarios(n: int, seed: int, sla_share: float = 0.1) -> list[dict]:
    """Runs of master-only changes broken by dispatch changes, and a few uptime-SLA scenarios (two fleets)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pool = DISPATCH if rng.random() < 0.25 else MASTER_ONLY
        keys = rng.choice(sorted(pool), size=int(rng.integers(1, 3)), replace=False)
        s = {k: float(rng.uniform(*pool[k])) for k in keys}
        if rng.random() < sla_share:
            s["mining.min_uptime_frac"] = float(rng.uniform(0.2, 0.6))
        out.append(s)
    return out


def test_structured_sweep_equals_highs_to_1e_9(tmp_path):
    path = campus_month(tmp_path)
    auto, highs = SiteScenarios(path, solver="auto"), SiteScenarios(path, reuse=False)
    methods = []
    for s in scenarios(60, seed=11):
        a, b = auto.run(s), highs.run(s)
        assert a.status == b.status, (s, a.error, b.error)
        if a.status != "optimal":
            continue
        methods.append(a.method)
        assert a.method == "structured"  # the uptime SLA of the campus's two fleets too
        assert a.split["net_usd"] == pytest.approx(b.split["net_usd"], rel=1e-9), s
        for key in ("ai_it_mw", "mining_it_mw", "mining_energy_mwh"):
            assert a.split[key] == pytest.approx(b.split[key], rel=1e-9, abs=1e-6), (s, key)
    assert len(methods) >= 40 and sum("mining.min_uptime_frac" in s for s in scenarios(60, seed=11)) >= 3
    # cuts were kept for the master-only scenarios, and a dispatch change started afresh
    solver = auto.structured
    assert solver.kept >= 20 and solver.fresh >= 5
    # kept cuts close the gap in about one evaluation per scenario
    assert solver.evaluations <= 3 * (solver.kept + solver.fresh)


def test_structured_sweep_on_the_bundled_campuses_equals_highs(tmp_path):
    for name in ("west_texas", "permian_hybrid"):
        path = REPO / "sites" / f"{name}.toml"
        auto, highs = SiteScenarios(path, solver="auto"), SiteScenarios(path)
        grid = [{HP: float(h), RATE: float(r)} for h in (30.0, 55.0, 80.0) for r in (110.0, 140.0, 170.0)]
        for s in grid:
            a, b = auto.run(s), highs.run(s)
            assert a.method == "structured" and b.method == "highs"
            assert a.split["net_usd"] == pytest.approx(b.split["net_usd"], rel=1e-9), (name, s)
            assert a.split["ai_it_mw"] == pytest.approx(b.split["ai_it_mw"], abs=1e-6), (name, s)
        assert auto.structured.kept == 6 and auto.structured.fresh == 3  # the rate moves only the master


def test_hand_solved_tiny_site(tmp_path):
    """100 MW to whichever earns more per MW: the lease at rate x 12000 x 24 / 8760, or mining."""
    path = tiny(tmp_path)
    runner = SiteScenarios(path, solver="auto")
    for hashprice, rate in ((60.0, 50.0), (60.0, 100.0), (30.0, 100.0), (90.0, 10.0)):
        out = runner.run({HP: hashprice, RATE: rate})
        ai_usd_per_mw = rate * 12000.0 * HOURS / 8760.0
        mining_usd_per_mw = (hashprice * 1000.0 / 20.0 / 24.0 - PRICE_USD_PER_MWH) * HOURS
        assert out.method == "structured"
        assert out.split["net_usd"] == pytest.approx(100.0 * max(ai_usd_per_mw, mining_usd_per_mw, 0.0), rel=1e-12)
        assert out.split["ai_it_mw"] == pytest.approx(100.0 if ai_usd_per_mw > mining_usd_per_mw else 0.0, abs=1e-9)


def test_sweep_auto_and_highs_write_the_same_rows(tmp_path):
    site = campus_month(tmp_path / "sites")
    vary = [f"{HP}=30:80:3", f"{RATE}=110:170:4", "ai.convertible_mw=60,150"]
    rows = {}
    for solver in ("auto", "highs"):
        sweep = grid_sweep([site], vary, solver=solver)
        summary = run_sweep(sweep, tmp_path / solver, workers=1)
        assert summary.methods == {"structured" if solver == "auto" else "highs": 24}
        with open(tmp_path / solver / "sweep.csv", encoding="utf-8") as fh:
            rows[solver] = list(csv.DictReader(fh))
    assert len(rows["auto"]) == len(rows["highs"]) == 24
    for a, b in zip(rows["auto"], rows["highs"]):
        assert a["scenario_id"] == b["scenario_id"] and a["status"] == b["status"] == "optimal"
        assert float(a["net_usd"]) == pytest.approx(float(b["net_usd"]), rel=1e-9)
        assert float(a["ai_it_mw"]) == pytest.approx(float(b["ai_it_mw"]), abs=1e-6)


# ------------------------------------------------------------------ numeric overrides


def _fields_set(model) -> dict:
    """Every section's set fields, recursively (a cross-check reads them)."""
    out = {"": set(model.model_fields_set)}
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if hasattr(item, "model_fields_set"):
                out.update({f"{name}[{i}].{k}": v for k, v in _fields_set(item).items()})
    return out


CANDIDATES = ["site.interconnect_mw", "site.facility_mw", "ai.pue", "mining.pue", "ai.convertible_mw", RATE,
              "ai.lease[0].min_mw", "ai.lease[0].max_mw", "mining.fleet[0].mw", HP, "prices.adder_usd_per_mwh",
              "ai.utilization_frac", "curtailment[0].cap_mw", "mining.fleet[1].efficiency_j_per_th",
              "ai.fitout_capex_usd_per_mw", "mining.hashprice.btc_price_usd", "mining.pool_fee_frac"]


@pytest.mark.parametrize("name", ["west_texas", "permian_hybrid"])
def test_numeric_overrides_equal_the_general_path(name):
    path = REPO / "sites" / f"{name}.toml"
    base, raw = load_site(path).config, overrides.read_raw(path)
    before = base.model_dump()
    rng = np.random.default_rng(5)
    fast = refused = 0
    for _ in range(300):
        keys = rng.choice(CANDIDATES, size=int(rng.integers(1, 4)), replace=False)
        values = {str(k): float(rng.uniform(-50, 400)) if rng.random() < 0.8 else int(rng.integers(0, 300))
                  for k in keys}
        try:
            general = overrides.validate(overrides.apply_overrides(raw, values, str(path)), str(path), values)
        except InputError:
            general = None
        got = numeric_config(base, values, str(path))
        if got is None:
            refused += 1
            continue
        fast += 1
        assert general is not None, values  # a value the general path refuses never passes the fast one
        assert got.model_dump() == general.model_dump(), values
        assert _fields_set(got) == _fields_set(general), values
    assert fast > 100 and refused > 50
    assert base.model_dump() == before  # the base config is never modified


def test_bad_numeric_values_give_the_general_paths_errors(tmp_path):
    path = campus_month(tmp_path)
    fast, general = SiteScenarios(path, solver="auto"), SiteScenarios(path, reuse=False)
    for values in ({"mining.pue": float("nan")}, {"mining.pue": 7.0}, {HP: -1.0}, {RATE: float("inf")},
                   {"ai.lease[0].min_mw": 500.0}, {"mining.fleet[0].mw": -3}, {"ai.pue": "high"},
                   {"ai.lease[5].min_mw": 1.0}, {"curtailment[0].cap_mw": 1e12}):
        assert numeric_config(fast.base.config, values, str(path)) is None
        a, b = fast.run(values), general.run(values)
        assert a.status == b.status == "input_error", values
        assert a.error == b.error and a.error, values


def test_failures_on_the_structured_path_become_rows_and_the_cuts_survive(tmp_path):
    path = tiny(tmp_path, curtailment=[{"start": "2024-01-01T05:00", "end": "2024-01-01T06:00", "cap_mw": 40.0}])
    runner = SiteScenarios(path, solver="auto")
    ok = runner.run({"ai.lease[0].min_mw": 30.0})
    bad = runner.run({"ai.lease[0].min_mw": 50.0})   # 50 MW firm > the 40 MW cap in hour 5
    value = runner.run({HP: -1.0})
    again = runner.run({"ai.lease[0].min_mw": 30.0})
    assert ok.method == again.method == "structured"
    assert again.split["net_usd"] == pytest.approx(ok.split["net_usd"], rel=1e-12)
    assert bad.status == "infeasible" and "caps the site at 40 MW" in bad.error
    assert value.status == "input_error" and ">= 0" in value.error
    assert runner.structured.kept >= 1  # the second good run re-used the first one's cuts


def test_a_real_hb_west_year_sweeps_equal_to_highs(tmp_path, shared_raw):
    from conftest import write_site

    price_file = shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    doc = {
        "site": {"timezone": "America/Chicago", "interconnect_mw": 100.0},
        "prices": {"file": str(price_file), "column": "HUB", "start": "2025-01-01", "end": "2026-01-01",
                   "fill": "ffill"},
        "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "opex_usd_per_mw_year": 40000.0,
                   "hashprice_usd_per_ph_day": 50.0,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 50.0},
                             {"model": "S19j Pro", "efficiency_j_per_th": 29.5, "mw": 70.0}]},
        "ai": {"pue": 1.2, "convertible_mw": 60.0, "utilization_frac": 0.8, "fitout_capex_usd_per_mw": 9e6,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": 140.0}]},
        "curtailment": [{"start": "2025-08-20T15:00", "end": "2025-08-20T21:00", "cap_mw": 70.0}],
    }
    path = write_site(tmp_path, [1.0], doc)
    auto, highs = SiteScenarios(path, solver="auto"), SiteScenarios(path, reuse=False)
    for s in ({HP: 40.0, RATE: 120.0}, {HP: 40.0, RATE: 150.0}, {HP: 60.0, RATE: 150.0},
              {HP: 60.0, RATE: 150.0, "ai.convertible_mw": 30.0}):
        a, b = auto.run(s), highs.run(s)
        assert a.method == "structured" and a.status == b.status == "optimal", (a.error, b.error)
        assert a.split["hours"] == 8760
        assert a.split["net_usd"] == pytest.approx(b.split["net_usd"], rel=1e-9), s
        assert a.split["ai_it_mw"] == pytest.approx(b.split["ai_it_mw"], abs=1e-6), s
    assert auto.structured.kept == 2


def test_a_lease_losing_much_per_mw_sweeps_structured_equal_to_highs(tmp_path):
    """A lease held at a large loss per MW (fit-out 10^8-10^9 USD/MW, no rent, 60-120 MW forced) beside
    mining that may or may not pay for it: the warm master's scale comes from its first cut's net, so every
    scenario closes on the cutting planes to HiGHS's optimum."""
    path = campus_month(tmp_path)
    auto, highs = SiteScenarios(path, solver="auto"), SiteScenarios(path, reuse=False)
    rng = np.random.default_rng(5)
    for hashprice in (20.0, 140.0, 400.0):  # the dispatch moves here; the master's terms below
        for _ in range(8):
            s = {RATE: float(rng.uniform(0.0, 20.0)), "ai.fitout_capex_usd_per_mw": float(rng.choice([1e8, 1e9])),
                 "ai.lease[0].min_mw": float(rng.uniform(60.0, 120.0)), HP: hashprice,
                 "mining.fleet[1].mw": float(rng.uniform(0.0, 300.0))}
            a, b = auto.run(s), highs.run(s)
            assert a.status == b.status == "optimal", (s, a.error, b.error)
            assert a.method == "structured", s
            assert a.split["net_usd"] == pytest.approx(b.split["net_usd"], rel=1e-9), s
            for key in ("ai_it_mw", "mining_it_mw", "mining_energy_mwh"):
                assert a.split[key] == pytest.approx(b.split[key], rel=1e-9, abs=1e-6), (s, key)
    assert auto.structured.kept >= 21  # scenarios after the first of each hashprice keep its cuts
