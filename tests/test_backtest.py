"""``allocator backtest``: the threshold rule against a hand replay, perfect as an upper bound,
the native-resolution reader, and the bundled 15-minute file against the bundled hourly one.

Hand numbers as in test_operate: 100 USD per IT MWh of mining revenue, PUE 1.25, adder 5 USD/MWh,
so the stand-down price with no binding row is 100 / 1.25 - 5 = 75 USD/MWh.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, SHARED_RAW, write_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.inputs.series import load_price_series
from allocator.inputs.site import load_site
from allocator.operate.backtest import POLICIES, backtest_site, run_backtest
from allocator.operate.native import native_prices
from allocator.operate.split import site_file_split
from test_operate import site_doc

DAY = date(2024, 1, 1)


def write_rt(folder: Path, prices: list[float], minutes: int = 15) -> Path:
    index = pd.date_range("2024-01-01T00:00:00Z", periods=len(prices), freq=f"{minutes}min")
    path = folder / "rt.csv"
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "rt_usd_per_mwh": prices}).to_csv(
        path, index=False)
    return path


def test_threshold_replays_by_hand(tmp_path):
    day_ahead = [20.0] * 24
    rt = [20.0] * 96
    rt[10] = rt[11] = 100.0  # above 75: stand down
    rt[40] = 80.0            # above: stand down
    rt[50] = 75.0            # at the threshold: runs
    site_file = write_site(tmp_path, day_ahead, site_doc())
    rt_file = write_rt(tmp_path, rt)
    result = backtest_site(site_file, DAY, date(2024, 1, 2), ("threshold", "day_ahead"), real_time_file=rt_file)
    rows = {r["policy"]: r for r in result.rows}
    # 93 intervals x 40 MW x 0.25 h = 930 MWh; revenue 100 USD/MWh; power 1.25 x 10 MWh x (p + 5) per interval:
    # 92 x 12.5 x 25 + 12.5 x 80 = 29,750 USD
    threshold = rows["threshold"]
    assert threshold["mining_energy_mwh"] == pytest.approx(930.0)
    assert threshold["mining_revenue_usd"] == pytest.approx(93_000.0)
    assert threshold["mining_power_cost_usd"] == pytest.approx(-29_750.0)
    assert threshold["mining_net_usd"] == pytest.approx(63_250.0)
    assert threshold["mining_uptime_frac"] == pytest.approx(93 / 96)
    # the day-ahead plan runs every hour (DA 20 < 75) and eats the three dear intervals:
    # 960 MWh, power 12.5 x (93 x 25 + 2 x 105 + 85) minus the 75-interval correction
    day_ahead = rows["day_ahead"]
    cost = 12.5 * (92 * 25 + 2 * 105 + 85 + 80)
    assert day_ahead["mining_net_usd"] == pytest.approx(96_000.0 - cost)
    # with no SLA and a flat hashprice the threshold rule is the hindsight optimum
    assert rows["perfect"]["mining_net_usd"] == pytest.approx(63_250.0)
    capture = result.capture().set_index("policy")
    assert capture.loc["day_ahead", "capture_frac"] == pytest.approx((96_000.0 - cost) / 63_250.0)
    # running always nets the day-ahead figure here: curtailment value 63,250 - that, all of it lost
    assert capture.loc["day_ahead", "curtailment_capture_frac"] == pytest.approx(0.0, abs=1e-9)


# prices whose median is a few USD/MWh at least (the reader refuses a median that looks like USD/kWh)
prices_strategy = st.lists(st.floats(-50, 300, allow_nan=False).map(lambda v: round(v, 2)), min_size=96,
                           max_size=96).filter(lambda v: np.median(v) > 2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rt=prices_strategy, da=st.lists(st.floats(2, 200).map(lambda v: round(v, 2)), min_size=24, max_size=24),
       uptime=st.sampled_from([0.0, 0.3, 0.5]), cap=st.sampled_from([100.0, 60.0]))
def test_no_policy_beats_perfect_at_the_same_resolution(tmp_path_factory, rt, da, uptime, cap):
    folder = tmp_path_factory.mktemp("prop")
    doc = site_doc(uptime_frac=uptime)
    doc["site"].update(interconnect_mw=cap, facility_mw=200.0)
    doc["mining"]["fleet"].append({"model": "B", "efficiency_j_per_th": 12.5, "mw": 30.0})
    site = load_site(write_site(folder, da, doc))
    for minutes, series in ((15, rt), (60, [float(np.mean(rt[i:i + 4])) for i in range(0, 96, 4)])):
        prices = native_prices(site, write_rt(folder, series, minutes), None, "rt")
        result = run_backtest(site, site_file_split(site.config), prices, POLICIES)
        perfect = result.rows[0]
        assert perfect["policy"] == "perfect" and perfect["sla_met"]
        for row in result.rows[1:]:
            if row["sla_met"]:
                slack = 1e-6 * max(1.0, abs(perfect["mining_net_usd"]))
                assert row["mining_net_usd"] <= perfect["mining_net_usd"] + slack
        day_ahead = next(r for r in result.rows if r["policy"] == "day_ahead")
        assert day_ahead["sla_met"]  # each day's plan keeps the SLA, whatever real time does


def test_the_native_reader_keeps_15_minutes_and_its_hourly_means_are_the_hourly_reader(tmp_path):
    rt = list(np.arange(96.0))
    path = write_rt(tmp_path, rt)
    native = load_price_series(path, native=True)
    hourly = load_price_series(path)
    assert len(native) == 96 and len(hourly) == 24
    np.testing.assert_allclose(native.to_numpy(), rt)
    np.testing.assert_allclose(hourly.to_numpy(), np.arange(96.0).reshape(24, 4).mean(axis=1))


def test_irregular_native_intervals_are_refused(tmp_path):
    site = load_site(write_site(tmp_path, [20.0] * 24, site_doc()))
    index = list(pd.date_range("2024-01-01T00:00:00Z", periods=96, freq="15min"))
    del index[5]
    pd.DataFrame({"interval_start": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in index],
                  "rt_usd_per_mwh": 20.0}).to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(Exception, match="not regular"):
        native_prices(site, tmp_path / "gap.csv", None, "rt")


def test_bundled_15_minute_file_averages_to_the_bundled_hourly_file():
    data = REPO / "sites" / "data"
    for column in ("hb_south_rtm_usd_per_mwh", "hb_south_dam_usd_per_mwh"):
        fine = load_price_series(data / "ercot_hb_south_15min.csv", timezone="America/Chicago", column=column)
        hourly = load_price_series(data / "ercot_hb_south_hourly.csv", timezone="America/Chicago", column=column)
        assert fine.index.equals(hourly.index)
        np.testing.assert_allclose(fine.to_numpy(), hourly.to_numpy(), atol=5e-5 + 1e-9)


def test_backtest_command_writes_its_run_folder(tmp_path):
    out = tmp_path / "bt"
    assert main(["backtest", str(REPO / "sites" / "west_texas.toml"), "--from", "2024-08-19", "--to", "2024-08-22",
                 "--day-ahead-column", "hb_south_dam_usd_per_mwh", "--real-time-file",
                 str(REPO / "sites" / "data" / "ercot_hb_south_15min.csv"), "--real-time-column",
                 "hb_south_rtm_usd_per_mwh", "--out", str(out)]) == 0
    table = pd.read_csv(out / "backtest.csv")
    assert list(table["policy"]) == ["perfect", "threshold", "day_ahead"]
    assert (table["intervals"] == 3 * 96).all() and (table["resolution_minutes"] == 15).all()
    capture = pd.read_csv(out / "capture.csv")
    assert (capture["capture_frac"] <= 1 + 1e-9).all()
    assert main(["backtest", str(REPO / "sites" / "west_texas.toml"), "--from", "2024-08-19", "--to", "2024-08-22",
                 "--policy", "hindsight", "--out", str(tmp_path / "bad")]) == 1
    assert not (tmp_path / "bad").exists()


@pytest.mark.skipif(not SHARED_RAW.is_dir(), reason="../shared/data/raw is absent")
def test_bundled_15_minute_file_is_the_raw_file_with_offsets():
    raw = pd.read_csv(SHARED_RAW / "ercot_hb_south_dam_rtm" / "hb_south_dam_rtm_15min_20240601_20250327.csv")
    shipped = pd.read_csv(REPO / "sites" / "data" / "ercot_hb_south_15min.csv")
    wall = pd.to_datetime(shipped["interval_start"].str[:19])
    merged = pd.DataFrame({"Time": wall.dt.strftime("%Y-%m-%d %H:%M:%S"),
                           "rt": shipped["hb_south_rtm_usd_per_mwh"]}).drop_duplicates("Time").merge(raw, on="Time")
    assert len(merged) == len(raw) - 4  # the four spring-forward rows that name no real time
    np.testing.assert_allclose(merged["rt"], merged["HB_SOUTH_RTM"], atol=5e-5)


@pytest.mark.skipif(not SHARED_RAW.is_dir(), reason="../shared/data/raw is absent")
def test_real_hb_west_15_minutes_through_the_ercot_reader(tmp_path):
    """August 2024 HB_WEST real-time prices in ERCOT's own layout: the site reads their hourly means,
    the backtest their 2,976 15-minute intervals; the plan on foreseen hourly means, run at 15
    minutes, cannot beat hindsight at 15 minutes, and the threshold rule (no SLA) equals it."""
    month = SHARED_RAW / "ercot_hubs_rtm_15min" / "August_2024.csv"
    doc = site_doc(adder=4.0)
    doc["site"]["timezone"] = "America/Chicago"
    doc["prices"].update(file=str(month), location="HB_WEST")
    path = tmp_path / "hb_west.toml"
    write_site(tmp_path, [20.0] * 24, doc, site_id="hb_west")
    result = backtest_site(path, date(2024, 8, 1), date(2024, 9, 1))
    rows = {r["policy"]: r for r in result.rows}
    assert rows["perfect"]["intervals"] == 31 * 96 and rows["perfect"]["resolution_minutes"] == 15
    assert rows["threshold"]["mining_net_usd"] == pytest.approx(rows["perfect"]["mining_net_usd"], rel=1e-9)
    assert rows["day_ahead"]["mining_net_usd"] < rows["perfect"]["mining_net_usd"]
    # hourly means hide 15-minute spikes (the month peaks at 4,844.87 USD/MWh on 2024-08-20 19:30):
    # the plan on them keeps less than all of the value of curtailing
    assert result.capture().set_index("policy").loc["day_ahead", "curtailment_capture_frac"] < 1.0


def test_backtest_report_html_holds_the_capture_chart_and_tables(tmp_path):
    import base64
    import json
    import re

    out = tmp_path / "bt"
    assert main(["backtest", str(REPO / "sites" / "west_texas.toml"), "--from", "2024-08-19", "--to", "2024-08-21",
                 "--day-ahead-column", "hb_south_dam_usd_per_mwh", "--real-time-file",
                 str(REPO / "sites" / "data" / "ercot_hb_south_15min.csv"), "--real-time-column",
                 "hb_south_rtm_usd_per_mwh", "--report", "html", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    capture = pd.read_csv(out / "capture.csv")
    day_ahead = capture.set_index("policy").loc["day_ahead"]
    assert f"{day_ahead.mining_net_usd:,.0f}" in page  # the capture table as written to capture.csv
    assert f"{day_ahead.capture_frac:.1%}" in page
    manifest = json.loads((out / "manifest.json").read_text())
    assert "report.html" in manifest["files"] and manifest["report"] == "html"


def test_a_listed_4cp_interval_is_charged_at_its_15_minutes(tmp_path):
    # every price 20 (+5 adder): running 40 IT MW for 15 minutes nets 0.25 x 40 x (100 - 1.25 x 25) = 687.5;
    # the listed interval 10:15 charges 4,000 / 4 = 1,000 USD per grid MW drawn: 1.25 x 40 x 1,000 = 50,000.
    # perfect stands down for that quarter only (95 x 687.5); the plans are hourly: they stand down the
    # whole 10:00 hour (stand-down 75 - 1,000 / 1.25 = -725), so threshold and day_ahead run 92 quarters.
    doc = site_doc(coincident_peak={"charge_usd_per_mw_year": 4000.0, "peaks_per_year": 4,
                                    "intervals": ["2024-01-01T10:15"]})
    path = write_site(tmp_path, [20.0] * 24, doc)
    rt = write_rt(tmp_path, [20.0] * 96)
    result = backtest_site(path, DAY, date(2024, 1, 2), real_time_file=rt, real_time_column="rt_usd_per_mwh")
    rows = {r["policy"]: r for r in result.rows}
    assert rows["perfect"]["mining_net_usd"] == pytest.approx(95 * 687.5)
    assert rows["perfect"]["coincident_peak_cost_usd"] == pytest.approx(0.0, abs=1e-6)
    for policy in ("threshold", "day_ahead"):
        assert rows[policy]["mining_net_usd"] == pytest.approx(92 * 687.5)
        assert rows[policy]["coincident_peak_cost_usd"] == pytest.approx(0.0, abs=1e-6)
    assert result.always_on_net_usd == pytest.approx(96 * 687.5 - 50_000)


def test_a_site_with_power_tables_is_refused_naming_them(tmp_path, capsys):
    doc = site_doc(demand_response=[{"name": "rrs", "capacity_usd_per_mw_hour": 1.0}])
    path = write_site(tmp_path, [20.0] * 48, doc)
    assert main(["backtest", str(path), "--from", "2024-01-01", "--to", "2024-01-03", "--out", str(tmp_path / "bt")]) == 1
    err = capsys.readouterr().err
    assert "has [[demand_response]] in the replayed window" in err and "demand-response awards" in err
    assert not (tmp_path / "bt").exists()
