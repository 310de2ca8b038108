"""``allocator operate``: the fixed-split LP of a day, its stand-down prices, and agreement with ``solve``.

Hand numbers: hashprice 48 USD/PH/day at 20 J/TH and no pool fee earns 48 x 50 / 24 = 100 USD per
IT MWh running; at PUE 1.25 that pays up to 80 USD/MWh of total power price.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, write_site

from allocator.cli import main
from allocator.inputs.site import load_site
from allocator.lp import results
from allocator.operate.day import plan_day, plan_days
from allocator.operate.split import InstalledSplit, site_file_split

DAY = date(2024, 1, 1)


def site_doc(uptime_frac: float = 0.0, adder: float = 5.0, **extra) -> dict:
    doc = {"site": {"interconnect_mw": 100.0}, "prices": {"adder_usd_per_mwh": adder},
           "mining": {"pue": 1.25, "hashprice_usd_per_ph_day": 48.0, "min_uptime_frac": uptime_frac,
                      "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 40.0}]}}
    doc.update(extra)
    return doc


def plan_file(path):
    """The plan of the whole (short) price file at ``path``, with the site file's split."""
    site = load_site(path)
    return plan_day(site, site_file_split(site.config))


def one_day(tmp_path, prices, **doc):
    path = write_site(tmp_path, list(prices), site_doc(**doc))
    return plan_file(path), path


def test_stand_down_is_the_breakeven_without_binding_rows(tmp_path):
    prices = [10.0 * k for k in range(24)]  # 0..230 USD/MWh
    plan, _ = one_day(tmp_path, prices)
    # 100 / 1.25 - 5 = 75 USD/MWh of market price, every hour
    np.testing.assert_allclose(plan.stand_down_usd_per_mwh[0], 75.0, atol=1e-9)
    np.testing.assert_allclose(plan.breakeven_usd_per_mwh[0], 75.0, atol=1e-9)
    np.testing.assert_allclose(plan.run_mw[0], np.where(np.array(prices) < 75.0, 40.0, 0.0), atol=1e-9)


def test_uptime_sla_raises_the_stand_down_to_the_marginal_hour(tmp_path):
    # every hour above breakeven; 37.5% of 4 hours = 1.5 hours must run: the cheapest hour in full,
    # the next (market 300) half. The threshold of every hour is that marginal hour's price.
    prices = [200.0, 300.0, 400.0, 500.0]
    path = write_site(tmp_path, prices, site_doc(uptime_frac=0.375))
    site = load_site(path)
    plan = plan_day(site, InstalledSplit(np.zeros(0), np.array([40.0]), "test"))
    np.testing.assert_allclose(plan.run_mw[0], [40.0, 20.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(plan.stand_down_usd_per_mwh[0], 300.0, atol=1e-7)


def _resolve_at(tmp_path, prices, hour, price, name, **doc):
    changed = list(prices)
    changed[hour] = price
    path = write_site(tmp_path / name, changed, site_doc(**doc))
    return plan_file(path).run_mw[0][hour]


@pytest.mark.parametrize("uptime_frac", [0.0, 0.375])
def test_resolve_just_below_runs_just_above_stands_down(tmp_path, uptime_frac):
    prices = [200.0, 300.0, 400.0, 500.0] if uptime_frac else [50.0, 60.0, 90.0, 120.0]
    plan, _ = one_day(tmp_path, prices, uptime_frac=uptime_frac)
    for hour in range(len(prices)):
        threshold = plan.stand_down_usd_per_mwh[0][hour]
        if 0 < plan.run_mw[0][hour] < 40.0:  # the SLA's marginal hour: its own price is the threshold
            assert threshold == pytest.approx(prices[hour])
            continue
        below = _resolve_at(tmp_path, prices, hour, threshold - 0.01, f"below{hour}", uptime_frac=uptime_frac)
        above = _resolve_at(tmp_path, prices, hour, threshold + 0.01, f"above{hour}", uptime_frac=uptime_frac)
        # just below the threshold the hour runs (in full when the SLA does not make it marginal),
        # just above it stands down (in part when the SLA still needs it)
        assert below > 1e-6 and above < 40.0 - 1e-6
        if not uptime_frac:
            assert below == pytest.approx(40.0) and above == pytest.approx(0.0, abs=1e-6)
        elif plan.run_mw[0][hour] > 0:
            assert below == pytest.approx(40.0)
        else:
            assert above == pytest.approx(0.0, abs=1e-6)


def test_a_4cp_hour_lowers_the_stand_down_by_the_charge(tmp_path):
    # one listed peak interval in the day: each grid MW drawn in it costs CP / N_y = 400 / 4 = 100 USD,
    # so the hour's threshold falls by 100 USD/MWh (from 75 to -25); the other hours keep 75.
    prices = [20.0] * 24
    plan, _ = one_day(tmp_path, prices, coincident_peak={"charge_usd_per_mw_year": 400.0,
                                                         "intervals": ["2024-01-01T17:00"]})
    expected = np.full(24, 75.0)
    expected[17] = -25.0
    np.testing.assert_allclose(plan.stand_down_usd_per_mwh[0], expected, atol=1e-7)
    assert plan.run_mw[0][17] == pytest.approx(0.0, abs=1e-7)
    assert plan.run_mw[0][16] == pytest.approx(40.0)


def test_a_full_grid_does_not_lower_an_efficient_fleets_threshold(tmp_path):
    # two fleets share a 50 MW connection: the efficient one (12.5 J/TH: 160 USD/MWh, 128 at PUE 1.25)
    # keeps its own breakeven 123; raising an hour's price to just below it keeps it running in full.
    fleets = [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 40.0},
              {"model": "B", "efficiency_j_per_th": 12.5, "mw": 30.0}]
    doc = site_doc()
    doc["site"].update(interconnect_mw=50.0, facility_mw=100.0)
    doc["mining"]["fleet"] = fleets
    prices = [30.0, 40.0, 50.0, 60.0]
    path = write_site(tmp_path, prices, doc)
    plan = plan_file(path)
    np.testing.assert_allclose(plan.run_mw[1], 30.0, atol=1e-7)   # B in full: 37.5 grid MW
    np.testing.assert_allclose(plan.run_mw[0], 10.0, atol=1e-7)   # A takes the 12.5 grid MW left
    np.testing.assert_allclose(plan.stand_down_usd_per_mwh[1], 160 / 1.25 - 5, atol=1e-7)
    np.testing.assert_allclose(plan.stand_down_usd_per_mwh[0], 75.0, atol=1e-7)
    changed = list(prices)
    changed[2] = 122.99
    rerun = plan_file(write_site(tmp_path / "up", changed, doc))
    assert rerun.run_mw[1][2] == pytest.approx(30.0) and rerun.run_mw[0][2] == pytest.approx(0.0, abs=1e-7)


def _operate_schedule(tmp_path, site_file, day, split_dir):
    assert main(["operate", str(site_file), "--day", day, "--split", str(split_dir),
                 "--out", str(tmp_path / "op")]) == 0
    return pd.read_csv(tmp_path / "op" / "schedule.csv")


@pytest.mark.parametrize("site_id", ["west_texas", "permian_hybrid"])
def test_operate_equals_the_solve_command_on_a_one_day_horizon(tmp_path, site_id):
    """`solve` on one day (its curtailment event inside) picks a split; `operate` with that split
    installed plans exactly solve's dispatch, hour by hour and fleet by fleet."""
    site_file = REPO / "sites" / f"{site_id}.toml"
    assert main(["solve", str(site_file), "--set", "prices.start=2024-08-20", "--set", "prices.end=2024-08-21",
                 "--out", str(tmp_path / "split")]) == 0
    schedule = _operate_schedule(tmp_path, site_file, "2024-08-20", tmp_path / "split")
    dispatch = pd.read_csv(tmp_path / "split" / "dispatch.csv")
    fleets = pd.read_csv(tmp_path / "split" / "fleets.csv")
    hourly = schedule.groupby("interval_start_utc", sort=False)["planned_it_mw"].sum()
    assert list(hourly.index) == list(dispatch["interval_start_utc"])
    np.testing.assert_allclose(hourly.to_numpy(), dispatch["mining_it_mw"].to_numpy(), atol=1e-6)
    energy = schedule.groupby("fleet", sort=False)["planned_it_mw"].sum()
    np.testing.assert_allclose(energy[fleets["model"]].to_numpy(), fleets["mining_energy_mwh"].to_numpy(), atol=1e-5)
    assert dispatch["mining_it_mw"].sum() > 0 and (dispatch["mining_it_mw"] < dispatch["mining_it_mw"].max()).any()


@pytest.mark.parametrize("site_id,day", [("permian_hybrid", "2025-01-21"), ("west_texas", "2024-12-10")])
def test_operate_equals_the_lp_per_fleet_on_other_days(tmp_path, site_id, day):
    """Days without the site's event: the site file's LP on that day (the one solve builds), per fleet."""
    from allocator.csv_files import write_csv
    from allocator.operate.window import window_config

    site_file = REPO / "sites" / f"{site_id}.toml"
    config = window_config(site_file, date.fromisoformat(day), 1)
    solved, _ = results.solve_site(load_site(site_file, config=config), "highs", None)
    split_dir = tmp_path / "split"
    split_dir.mkdir()
    write_csv(results.fleets_table([solved]), split_dir / "fleets.csv")
    write_csv(results.leases_table([solved]), split_dir / "leases.csv")
    schedule = _operate_schedule(tmp_path, site_file, day, split_dir)
    for f, fleet in enumerate(solved.site.config.mining.fleet):
        planned = schedule.loc[schedule["fleet"] == fleet.model, "planned_it_mw"].to_numpy()
        np.testing.assert_allclose(planned, solved.run_mw[f], atol=1e-6)
    assert solved.run_mw.sum() > 0


def test_operate_writes_a_run_folder_and_refuses_a_bad_split(tmp_path, capsys):
    path = write_site(tmp_path, [10.0 * k for k in range(24)], site_doc())
    assert main(["operate", str(path), "--day", "2024-01-01", "--out", str(tmp_path / "op")]) == 0
    assert sorted(p.name for p in (tmp_path / "op").iterdir()) == ["manifest.json", "offers.csv", "schedule.csv",
                                                                   "summary.txt"]
    import json

    manifest = json.loads((tmp_path / "op" / "manifest.json").read_text())
    assert manifest["solver_version"].startswith("HiGHS ") and manifest["python"] and manifest["pulp_version"]
    assert main(["operate", str(path), "--day", "2024-01-01", "--split", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "op2")]) == 1
    assert "fleets.csv: file not found" in capsys.readouterr().err
    assert not (tmp_path / "op2").exists()
    assert main(["operate", str(path), "--day", "2024-13-01", "--out", str(tmp_path / "op3")]) == 1
    assert not (tmp_path / "op3").exists()


def test_a_split_folder_holding_a_fifo_is_refused_not_read(tmp_path, capsys):
    """A FIFO named fleets.csv in the --split folder would block a plain open() forever: exit 1 at once."""
    import os

    path = write_site(tmp_path, [10.0 * k for k in range(24)], site_doc())
    folder = tmp_path / "run"
    assert main(["solve", str(path), "--out", str(folder)]) == 0
    (folder / "fleets.csv").unlink()
    os.mkfifo(folder / "fleets.csv")
    capsys.readouterr()
    assert main(["operate", str(path), "--day", "2024-01-01", "--split", str(folder),
                 "--out", str(tmp_path / "op")]) == 1
    err = capsys.readouterr().err
    assert "fleets.csv: is a FIFO (named pipe), not a regular file" in err
    assert not (tmp_path / "op").exists()


def test_a_demand_response_award_raises_the_stand_down_and_is_offered(tmp_path):
    # 10 USD per MW offered per hour; running 1 IT MW offers 1.25 grid MW: +12.5 USD per IT MWh,
    # so the threshold rises by 10 USD/MWh (75 -> 85) and every running MW is offered
    prices = [10.0 * k for k in range(24)]
    path = write_site(tmp_path, prices, site_doc(demand_response=[{"name": "rrs", "capacity_usd_per_mw_hour": 10.0}]))
    plan = plan_file(path)
    np.testing.assert_allclose(plan.stand_down_usd_per_mwh[0], 85.0, atol=1e-7)
    np.testing.assert_allclose(plan.run_mw[0], np.where(np.array(prices) < 85.0, 40.0, 0.0), atol=1e-7)
    np.testing.assert_allclose(plan.offers_mw["rrs"], 1.25 * plan.run_mw[0], atol=1e-7)


def test_a_day_that_cannot_keep_the_sla_exits_2_and_says_why(tmp_path, capsys):
    doc = site_doc(uptime_frac=0.95, curtailment=[{"start": "2024-01-01T06:00", "end": "2024-01-01T12:00",
                                                   "cap_mw": 0.0}])
    path = write_site(tmp_path, [20.0] * 24, doc)
    assert main(["operate", str(path), "--day", "2024-01-01", "--out", str(tmp_path / "op")]) == 2
    err = capsys.readouterr().err
    assert "2024-01-01" in err and "min_uptime_frac = 0.95" in err
    assert not (tmp_path / "op").exists()


def test_an_annual_program_is_offered_every_hour_of_its_window(tmp_path):
    # ERS-style program (one MW figure held through its window, 12:00-24:00): the 40 IT MW fleet runs
    # every hour (10 USD/MWh < 75), 50 grid MW, so the program's 30 MW max is offered in each of the
    # window's 12 hours and none before; offers.csv has one row per hour, 360 MW-intervals in all
    prices = [10.0] * 24
    program = {"name": "ers", "capacity_usd_per_mw_year": 30000.0, "max_mw": 30.0,
               "start": "2024-01-01T12:00", "end": "2024-01-02T00:00"}
    path = write_site(tmp_path, prices, site_doc(demand_response=[program]))
    plan = plan_file(path)
    np.testing.assert_allclose(plan.offers_mw["ers"], [0.0] * 12 + [30.0] * 12, atol=1e-7)
    assert main(["operate", str(path), "--day", "2024-01-01", "--out", str(tmp_path / "op")]) == 0
    offers = pd.read_csv(tmp_path / "op" / "offers.csv")
    assert len(offers) == 24 and offers["offer_mw"].sum() == pytest.approx(360.0)
    assert "demand response ers: 360.0 MW-intervals offered" in (tmp_path / "op" / "summary.txt").read_text()


def test_a_day_outside_the_4cp_season_of_a_probability_file_has_no_4cp_term(tmp_path):
    # a year-round probability file is 0 outside June-September: a winter day has no peak risk, so it is
    # planned without a 4CP term (stand down at the plain breakeven, 75), not refused as "every
    # probability in the horizon is 0"; a day with a positive probability still carries the charge
    prices = [20.0] * 48
    index = pd.date_range("2024-01-01T00:00:00Z", periods=48, freq="h")
    prob = np.zeros(48)
    prob[24 + 17] = 0.5
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "peak_probability_frac": prob}).to_csv(
        tmp_path / "peaks.csv", index=False)
    path = write_site(tmp_path, prices, site_doc(coincident_peak={"charge_usd_per_mw_year": 400.0,
                                                                  "probability": {"file": "peaks.csv"}}))
    assert main(["operate", str(path), "--day", "2024-01-01", "--days", "2", "--out", str(tmp_path / "op")]) == 0
    schedule = pd.read_csv(tmp_path / "op" / "schedule.csv")
    first, second = schedule["stand_down_price_usd_per_mwh"][:24], schedule["stand_down_price_usd_per_mwh"][24:]
    np.testing.assert_allclose(first, 75.0, atol=1e-7)
    assert second.iloc[17] < 75.0 - 1.0 and np.allclose(np.delete(second.to_numpy(), 17), 75.0, atol=1e-7)
