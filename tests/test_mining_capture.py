"""The capture share in ``solve``'s summary and ``--mining-capture`` (mining.capture_frac).

Hand numbers (as tests/test_operate.py): hashprice 48 USD/PH/day at 20 J/TH, no pool fee, earns
100 USD per IT MWh running; PUE 1.25 and a 5 USD/MWh adder make the breakeven 75 USD/MWh of market
price, and the margin of an IT MWh at market price p is 100 - 1.25 (p + 5).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import write_site

from allocator.cli import main
from allocator.inputs.overrides import load_site_with
from allocator.inputs.site import load_site
from allocator.operate.capture import mining_capture, plan_mining_net_usd, solved_split
from allocator.run.batch import solve

FLEET = {"model": "A", "efficiency_j_per_th": 20.0, "mw": 40.0}


def mining_doc(**mining) -> dict:
    return {"site": {"interconnect_mw": 100.0}, "prices": {"adder_usd_per_mwh": 5.0},
            "mining": {"pue": 1.25, "hashprice_usd_per_ph_day": 48.0, "fleet": [FLEET], **mining}}


def quarter_hour_site(tmp_path, quarters: list[float]):
    """A site whose price file has 15-minute rows (the site reads their hourly means)."""
    path = write_site(tmp_path, [0.0] * (len(quarters) // 4), mining_doc())
    index = pd.date_range("2024-01-01T00:00:00Z", periods=len(quarters), freq="15min")
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "price_usd_per_mwh": quarters}).to_csv(tmp_path / "tiny_prices.csv", index=False)
    return path


def measured(site):
    r = solve([site])
    return mining_capture(site, solved_split(r.fleets, r.leases, site), plan_mining_net_usd(r.financials, site.id)), r


def test_a_15_minute_threshold_rule_against_the_hourly_plan_by_hand(tmp_path):
    # hour 1: quarters 50, 50, 50, 130 (mean 70 < 75): the plan runs the hour at a margin of
    #   100 - 1.25 x 75 = 6.25 per MWh -> 40 x 6.25 = 250; the rule runs three quarters at
    #   100 - 1.25 x 55 = 31.25 -> 40 x 0.75 x 31.25 = 937.5 and stands down for the 130 quarter
    # hour 2: all 60: both 40 x (100 - 1.25 x 65) = 750;  hour 3: all 100: neither runs
    # hour 4: all 70: both 40 x 6.25 = 250
    path = quarter_hour_site(tmp_path, [50, 50, 50, 130] + [60] * 4 + [100] * 4 + [70] * 4)
    capture, _ = measured(load_site(path))
    assert capture.resolution_minutes == 15 and capture.intervals == 16
    assert capture.plan_mining_net_usd == pytest.approx(250 + 750 + 250)
    assert capture.threshold_mining_net_usd == pytest.approx(937.5 + 750 + 250)
    assert capture.capture_frac == pytest.approx(1937.5 / 1250)
    assert "15-minute threshold rule earned 155.0% of it" in capture.line()


def test_hourly_prices_are_said_to_be_hourly_and_a_power_site_is_skipped_with_its_reason(tmp_path):
    path = write_site(tmp_path, [50.0, 130.0, 60.0, 70.0], mining_doc())
    capture, _ = measured(load_site(path))
    assert capture.resolution_minutes == 60 and capture.capture_frac == pytest.approx(1.0)
    assert "a 60-minute threshold rule earned 100.0% of it on this history (hourly prices: no sub-hourly figure)" == capture.line().split("; ")[1]
    doc = mining_doc() | {"demand_response": [{"name": "rrs", "capacity_usd_per_mw_hour": 1.0}]}
    site = load_site(write_site(tmp_path / "dr", [50.0, 130.0, 60.0, 70.0], doc))
    capture, _ = measured(site)
    assert capture.capture_frac is None and "demand-response" in capture.line()


def lease_site(tmp_path, rate: float = 40.0):
    # 24 hours at market 20 (+5 adder): mining earns 24 x (100 - 1.25 x 25) = 1,650 USD per IT MW;
    # the lease 40 x 12,000 x 24 / 8,760 = 1,315.07 USD per IT MW. Halls: 1.25 a + 1.25 m <= 100.
    doc = mining_doc() | {"site": {"interconnect_mw": 200.0, "facility_mw": 100.0}}
    doc["mining"]["fleet"] = [FLEET | {"mw": 80.0}]
    doc["ai"] = {"pue": 1.25, "lease": [{"tenant": "T", "rate_usd_per_kw_month": rate}]}
    return write_site(tmp_path, [20.0] * 24, doc)


def split_of(path, frac, solver="highs"):
    site = load_site_with(path, {"mining.capture_frac": frac})
    r = solve([site], solver=solver)
    row = r.split.iloc[0]
    return float(row.ai_it_mw), float(row.mining_it_mw), r


def test_the_split_moves_where_the_scaled_margin_crosses_the_lease(tmp_path):
    path = lease_site(tmp_path)
    lease = 40 * 12000 * 24 / 8760
    ai, mining, r = split_of(path, 1.0)
    assert (ai, mining) == pytest.approx((0.0, 80.0), abs=1e-6)
    ai, mining, r = split_of(path, 0.95)  # 0.95 x 1,650 = 1,567.5 > 1,315.07: still mining
    assert (ai, mining) == pytest.approx((0.0, 80.0), abs=1e-6)
    fin = r.financials.set_index("item")["usd"]
    assert fin["mining_capture_adjustment"] == pytest.approx(-0.05 * 80 * 1650)
    assert fin["net"] == pytest.approx(0.95 * 80 * 1650)
    assert fin["net"] == pytest.approx(r.objective_usd)
    assert lease / 1650 == pytest.approx(0.79701, abs=1e-5)  # the share where AI takes the halls
    ai, mining, r = split_of(path, 0.80)
    assert (ai, mining) == pytest.approx((0.0, 80.0), abs=1e-6)
    ai, mining, r = split_of(path, 0.79)
    assert (ai, mining) == pytest.approx((80.0, 0.0), abs=1e-6)
    assert float(r.split.iloc[0].net_usd) == pytest.approx(80 * lease)


@pytest.mark.parametrize("frac", [1.0, 0.9, 0.6])
def test_structured_and_highs_agree_with_a_capture_share(frac):
    from conftest import REPO

    site = REPO / "sites" / "permian_hybrid.toml"
    *_, highs = split_of(site, frac, "highs")
    *_, structured = split_of(site, frac, "structured")
    assert "structured" in structured.sites[0].method.lower() or "cutting" in structured.sites[0].method.lower()
    assert structured.objective_usd == pytest.approx(highs.objective_usd, rel=1e-7)
    np.testing.assert_allclose(structured.split[["ai_it_mw", "mining_it_mw"]].to_numpy(float),
                               highs.split[["ai_it_mw", "mining_it_mw"]].to_numpy(float), atol=1e-4)


@pytest.mark.parametrize("text", ["0", "1.5", "-0.2", "nan", "abc"])
def test_a_bad_share_exits_1_before_anything_is_solved(tmp_path, capsys, text):
    path = write_site(tmp_path, [50.0] * 4, mining_doc())
    assert main(["solve", str(path), "--mining-capture", text, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "--mining-capture" in err and "is not a share in (0, 1]" in err
    assert not (tmp_path / "run").exists()


def test_solve_writes_the_share_and_computed_decides_on_it(tmp_path, capsys):
    path = quarter_hour_site(tmp_path, [50, 50, 50, 130] + [60] * 4 + [100] * 4 + [70] * 4)
    assert main(["solve", str(path), "--out", str(tmp_path / "run"), "--report", "html"]) == 0
    printed = capsys.readouterr().out
    assert "a 15-minute threshold rule earned 155.0% of it on this history" in printed
    table = pd.read_csv(tmp_path / "run" / "mining_capture.csv")
    assert table["mining_capture_frac"].iloc[0] == pytest.approx(1.55)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "mining_capture.csv" in manifest["files"]
    assert "threshold rule earned 155.0%" in (tmp_path / "run" / "report.html").read_text()
    # computed: the share is above 1, so the split is decided on the full margin (capped at 1)
    assert main(["solve", str(path), "--mining-capture", "computed"]) == 0
    assert "mining.capture_frac" not in capsys.readouterr().out


def test_decide_states_the_share_of_its_split_on_the_site_files_history(tmp_path, capsys):
    # the fleet costs nothing to keep, so decide keeps its 40 MW; on the site file's own 15-minute
    # prices that split earns the hand numbers of the first test: 1,937.5 / 1,250
    path = quarter_hour_site(tmp_path, [50, 50, 50, 130] + [60] * 4 + [100] * 4 + [70] * 4)
    scenarios = tmp_path / "scenarios.toml"
    scenarios.write_text('[[scenario]]\nname = "low"\n[scenario.set]\n"mining.hashprice_usd_per_ph_day" = 10.0\n\n'
                         '[[scenario]]\nname = "high"\n[scenario.set]\n"mining.hashprice_usd_per_ph_day" = 96.0\n',
                         encoding="utf-8")
    assert main(["decide", str(path), "--scenarios", str(scenarios), "--out", str(tmp_path / "dec"),
                 "--report", "html"]) == 0
    assert "a 15-minute threshold rule earned 155.0% of it on this history" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "dec" / "mining_capture.csv")
    assert table["plan_mining_net_usd"].iloc[0] == pytest.approx(1250.0)
    assert table["threshold_mining_net_usd"].iloc[0] == pytest.approx(1937.5)
    assert "mining_capture.csv" in json.loads((tmp_path / "dec" / "manifest.json").read_text())["files"]
    assert "threshold rule earned 155.0%" in (tmp_path / "dec" / "report.html").read_text(encoding="utf-8")


def test_a_sweep_over_the_capture_share_moves_the_split_where_solve_does(tmp_path):
    """The structured sweep reuses a dispatch only while the margins are the same: capture_frac is one of them."""
    path = lease_site(tmp_path)
    assert main(["sweep", str(path), "--vary", "mining.capture_frac=0.95,0.79,0.8", "--out", str(tmp_path / "sw")]) == 0
    sweep = pd.read_csv(tmp_path / "sw" / "sweep.csv").set_index("mining.capture_frac")
    assert sweep.loc[0.95, "mining_it_mw"] == pytest.approx(80.0, abs=1e-6)
    assert sweep.loc[0.79, "ai_it_mw"] == pytest.approx(80.0, abs=1e-6)
    assert sweep.loc[0.8, "mining_it_mw"] == pytest.approx(80.0, abs=1e-6)
    assert sweep.loc[0.79, "net_usd"] == pytest.approx(80 * 40 * 12000 * 24 / 8760)
