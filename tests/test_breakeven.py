"""Breakevens against paper and against a brute-force scan; sensitivity rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from allocator.whatif import breakeven as be
from allocator.cli import main
from allocator.inputs.overrides import load_site_with
from allocator.whatif.reuse import SiteScenarios
from allocator.whatif.sweep_structured import METHOD
from allocator.run.batch import solve

from whatif_sites import breakeven_hashprice, campus_month, tiny

HP = "mining.hashprice_usd_per_ph_day"
RATE = "ai.lease[0].rate_usd_per_kw_month"


def test_hashprice_breakeven_matches_paper(tmp_path):
    runner = SiteScenarios(tiny(tmp_path, rate=50.0))
    result = be.search(runner, HP, 20.0, 80.0, tolerance=0.01)
    paper = breakeven_hashprice(50.0)          # (50*12000/8760 + 30) * 24 * 20 / 1000 = 47.2767
    assert paper == pytest.approx(47.2767, abs=1e-4)
    [change] = result.changes
    assert change.above - change.below <= 0.01
    assert abs(change.value - paper) <= 0.005 + 1e-9
    assert change.before.split["ai_it_mw"] == pytest.approx(100.0)
    assert change.after.split["mining_it_mw"] == pytest.approx(100.0)
    assert change.after.split["ai_it_mw"] == pytest.approx(0.0)
    assert re.fullmatch(r"below \$47\.2[78]\d/PH/day AI takes all 100 MW convertible and mining keeps 0 MW; "
                        r"above it AI takes nothing and mining keeps 100 MW", result.sentence())


def test_rate_and_adder_breakevens_match_paper(tmp_path):
    runner = SiteScenarios(tiny(tmp_path, hashprice=60.0, rate=50.0))
    # mining earns 60*1000/20/24 - 30 = 95 USD/MWh; the lease pays rate*12000/8760 USD/MWh
    rate = be.search(runner, RATE, 40.0, 100.0, tolerance=0.01)
    assert rate.changes[0].value == pytest.approx(95.0 * 8760.0 / 12000.0, abs=0.005 + 1e-9)
    # at rate 50 the lease pays 68.49 USD/MWh: mining loses its edge at an adder of 95 - 68.49 = 26.51
    adder = be.search(runner, "prices.adder_usd_per_mwh", 0.0, 60.0, tolerance=0.01)
    assert adder.changes[0].value == pytest.approx(95.0 - 50.0 * 12000.0 / 8760.0, abs=0.005 + 1e-9)
    assert adder.changes[0].before.split["mining_it_mw"] == pytest.approx(100.0)


def test_breakeven_matches_a_brute_force_scan_on_the_campus(tmp_path):
    path = campus_month(tmp_path)
    runner = SiteScenarios(path)
    lo, base, hi = be.resolve_range(runner, RATE, None, None, 0.5)
    result = be.search(runner, RATE, lo, hi, tolerance=0.05, base=base)
    assert result.changes and not result.continuous
    for change in result.changes:
        # independent cold solves of the overridden file on a fine grid across the reported value
        step = 0.0125
        grid = np.arange(change.value - 0.1, change.value + 0.1 + 1e-9, step)
        splits = []
        for v in grid:
            s = solve([load_site_with(path, {RATE: float(v)})]).split.iloc[0]
            splits.append((round(s["ai_it_mw"], 2), round(s["mining_it_mw"], 2)))
        moves = [0.5 * (grid[i] + grid[i + 1]) for i in range(len(grid) - 1) if splits[i] != splits[i + 1]]
        assert moves, "the brute-force scan sees no change near the reported breakeven"
        nearest = min(moves, key=lambda m: abs(m - change.value))
        assert abs(nearest - change.value) <= step / 2 + 0.05 / 2 + 1e-9


def test_no_change_and_continuous(tmp_path):
    runner = SiteScenarios(tiny(tmp_path, hashprice=60.0, rate=50.0))
    flat = be.search(runner, "mining.opex_usd_per_mw_year", 0.0, 1000.0)
    assert flat.changes == [] and flat.sentence().startswith("no change between")
    moving = be.search(runner, "mining.fleet[0].mw", 10.0, 90.0)   # mining keeps every MW it is given
    assert moving.continuous and "moves continuously" in moving.sentence()


def test_format_value():
    assert be.format_value(HP, 41.7123, 0.2) == "$41.7/PH/day"
    assert be.format_value(RATE, 130, 2) == "$130/kW-month"
    assert be.format_value("ai.convertible_mw", 120, 2) == "120 MW"
    assert be.format_value("mining.pool_fee_frac", 0.02, 0.002) == "0.020"


def test_cli_breakeven_writes_sensitivity(tmp_path, capsys):
    path = tiny(tmp_path, hashprice=60.0, rate=50.0)
    out = tmp_path / "be"
    assert main(["breakeven", str(path), "--param", HP, "--low", "20", "--high", "80", "--tolerance", "0.1",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # the breakeven is within 0.05 of 47.2767: printed to two decimals
    assert re.search(r"below \$47\.2[3-9]/PH/day AI takes all 100 MW convertible and mining keeps 0 MW; above it", text)
    import pandas as pd

    sens = pd.read_csv(out / "sensitivity.csv")
    assert list(sens.columns) == list(be.SENSITIVITY_COLUMNS)
    assert sens.level.tolist() == ["low", "base", "high"] and sens.value.tolist() == [20.0, 60.0, 80.0]
    # on paper, per MW over 24 h: AI 50*12000*24/8760 = 1643.8; mining (h*50/24 - 30)*24 = 50h - 720
    assert sens.net_usd.tolist() == pytest.approx([100 * 1643.8356, 100 * (50 * 60 - 720), 100 * (50 * 80 - 720)],
                                                  rel=1e-6)
    assert sens.ai_it_mw.tolist() == pytest.approx([100.0, 0.0, 0.0])
    brk = pd.read_csv(out / "breakeven.csv")
    assert brk.breakeven_value.iloc[0] == pytest.approx(breakeven_hashprice(50.0), abs=0.05)
    import hashlib
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "breakeven" and manifest["solver"].startswith("auto: structured or HiGHS ")
    # a base-model site: every solve (the scan, the bisection, the three sensitivity points) by the cutting planes
    methods = manifest["sites"]["tiny"]["methods_this_run"]
    assert list(methods) == [METHOD] and methods[METHOD] >= 21 + 3
    assert manifest["tool_version"] and manifest["warnings"] == []
    assert manifest["inputs_sha256"][str(path.resolve())] == hashlib.sha256(path.read_bytes()).hexdigest()
    for name in ("breakeven.csv", "sensitivity.csv"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert main(["breakeven", str(path), "--param", "mining.hashprice_usd_per_phday"]) == 1
    assert "Did you mean mining.hashprice_usd_per_ph_day?" in capsys.readouterr().err


def test_default_parameters_and_derived_hashprice_base(tmp_path):
    runner = SiteScenarios(campus_month(tmp_path))
    names = be.default_parameters(runner)
    assert "mining.hashprice.btc_price_usd" in names and RATE in names
    assert "mining.hashprice_usd_per_ph_day" not in names  # the campus derives its hashprice
    assert be.base_value(runner, HP) == pytest.approx(float(np.mean(runner.base.hashprice_usd_per_ph_day)))
