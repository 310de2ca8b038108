"""The morning 4CP risk forecast (allocator/operate/peak_risk.py) and ``operate --peak-load``.

Hand-made load: 40,000 MW flat, with an afternoon bump on June days: 15:00 at the day's peak
minus 2,000 MW, 16:00 at the peak minus 300, 17:00 at the peak. With the defaults (month 0.98,
season 0.97, hour band 1%) the forecast of day D is the peak of D - 1 and its risk hours are
16:00 and 17:00 (16:00 is 300 MW below: within 1% of ~60,000; 15:00 is 2,000 below: outside).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_RAW, write_site

from allocator.cli import main
from allocator.operate import peak_risk
from allocator.operate.day import plan_days

PEAKS_MW = {1: 60_000.0, 2: 61_000.0, 3: 55_000.0, 4: 59_000.0, 5: 60_500.0, 6: 58_000.0}


def hand_load() -> pd.Series:
    index = pd.date_range("2023-05-25", "2023-06-07", freq="h", inclusive="left", tz="UTC")
    values = np.full(len(index), 40_000.0)
    for k, t in enumerate(index):
        peak = PEAKS_MW.get(t.day) if t.month == 6 else None
        if peak is not None:
            values[k] = {15: peak - 2_000.0, 16: peak - 300.0, 17: peak}.get(t.hour, 40_000.0)
    return pd.Series(values, index=index)


@pytest.mark.parametrize("day, expected, risky, month_peak", [
    (2, 60_000.0, True, 60_000.0),    # 60,000 reaches 98% of the month's 60,000
    (3, 61_000.0, True, 61_000.0),
    (4, 55_000.0, False, 61_000.0),   # 55,000 / 61,000 = 0.90
    (5, 59_000.0, False, 61_000.0),   # 0.967: below 0.98 of the month and 0.97 of the season
    (6, 60_500.0, True, 61_000.0),    # 0.992
])
def test_hand_made_load_flags_the_known_hours(day, expected, risky, month_peak):
    risk = peak_risk.day_risk(hand_load(), date(2023, 6, day), "UTC")
    assert risk.expected_peak_mw == expected
    assert risk.month_peak_mw == month_peak
    assert risk.season_peak_mw == month_peak  # the season began on June 1
    assert risk.risk_day is risky
    assert list(np.flatnonzero(risk.risk_hour)) == ([16, 17] if risky else [])
    np.testing.assert_allclose(risk.expected_load_mw[15:18], [expected - 2_000, expected - 300, expected])


def test_the_forecast_never_reads_the_day_itself():
    load = hand_load()
    before = peak_risk.day_risk(load, date(2023, 6, 4), "UTC")
    changed = load.copy()
    changed[changed.index.date >= date(2023, 6, 4)] = 99_000.0  # the day and after: unknown that morning
    after = peak_risk.day_risk(changed, date(2023, 6, 4), "UTC")
    assert not after.risk_day and after.expected_peak_mw == before.expected_peak_mw == 55_000.0


def test_outside_the_4cp_months_nothing_is_flagged():
    risk = peak_risk.day_risk(hand_load(), date(2023, 5, 31), "UTC")
    assert risk.expected_peak_mw == 40_000.0 and not risk.risk_day and not risk.risk_hour.any()


def test_operate_stands_mining_down_in_the_risk_hours(tmp_path):
    # June 3: risk hours 16:00 and 17:00. Each grid MW drawn in a listed 4CP hour costs 400 / 4 = 100 USD,
    # so those hours' thresholds fall from 75 to -25 USD/MWh and the fleet stands down; the site file's own
    # listed interval (12:00) is replaced by the forecast.
    load = hand_load()
    pd.DataFrame({"interval_start": load.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "system_load_mw": load.to_numpy()}
                 ).to_csv(tmp_path / "load.csv", index=False)
    doc = {"site": {"interconnect_mw": 100.0}, "prices": {"adder_usd_per_mwh": 5.0},
           "mining": {"pue": 1.25, "hashprice_usd_per_ph_day": 48.0,
                      "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 40.0}]},
           "coincident_peak": {"charge_usd_per_mw_year": 400.0, "intervals": ["2023-06-03T12:00"]}}
    path = write_site(tmp_path, [20.0] * 48, doc, start="2023-06-03T00:00:00Z")
    plan = plan_days(path, date(2023, 6, 3), 2, peak_load=tmp_path / "load.csv")
    expected = np.full(24, 75.0)
    expected[[16, 17]] = -25.0
    np.testing.assert_allclose(plan[0].stand_down_usd_per_mwh[0], expected, atol=1e-7)
    np.testing.assert_allclose(plan[0].run_mw[0], np.where(expected > 0, 40.0, 0.0), atol=1e-7)
    # June 4 is no risk day (55,000 vs 61,000): mining runs all day, the listed 12:00 of June 3 is gone
    np.testing.assert_allclose(plan[1].run_mw[0], 40.0, atol=1e-7)
    assert not plan[1].risk.risk_day

    out = tmp_path / "op"
    assert main(["operate", str(path), "--day", "2023-06-03", "--peak-load", str(tmp_path / "load.csv"),
                 "--out", str(out)]) == 0
    table = pd.read_csv(out / "peak_risk.csv")
    assert list(table.loc[table["peak_risk_hour"], "interval_start_utc"]) == ["2023-06-03T16:00:00Z",
                                                                             "2023-06-03T17:00:00Z"]
    schedule = pd.read_csv(out / "schedule.csv")
    assert schedule["planned_it_mw"].sum() == pytest.approx(22 * 40.0)
    assert "peak_risk.csv" in (out / "manifest.json").read_text()


def test_a_load_file_that_starts_too_late_is_refused(tmp_path, capsys):
    load = hand_load()["2023-06-02":]
    pd.DataFrame({"interval_start": load.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "system_load_mw": load.to_numpy()}
                 ).to_csv(tmp_path / "load.csv", index=False)
    doc = {"site": {"interconnect_mw": 100.0}, "mining": {"pue": 1.25, "hashprice_usd_per_ph_day": 48.0, "fleet": [{"model": "A", "efficiency_j_per_th": 20.0,
                                                                     "mw": 40.0}]}}
    path = write_site(tmp_path, [20.0] * 24, doc, start="2023-06-03T00:00:00Z")
    assert main(["operate", str(path), "--day", "2023-06-03", "--peak-load", str(tmp_path / "load.csv"),
                 "--out", str(tmp_path / "op")]) == 1
    assert "--peak-load" in capsys.readouterr().err
    assert not (tmp_path / "op").exists()


# --- real ERCOT data: re-derived from the raw files ----------------------------------------------------------

def _raw_hourly(year: int) -> dict[datetime, float]:
    """Local wall-clock hour start -> ERCOT native load [MW], May-September, straight from the workbook."""
    import openpyxl

    book = openpyxl.load_workbook(SHARED_RAW / "ercot_native_load" / f"Native_Load_{year}.xlsx", read_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    col = [str(h).strip() for h in next(rows)].index("ERCOT")
    out = {}
    for row in rows:
        if row[0] is None or isinstance(row[0], datetime) or str(row[0]).endswith("DST"):
            continue
        day, clock = str(row[0]).split()
        start = datetime.strptime(day, "%m/%d/%Y") + timedelta(hours=int(clock[:2]) - 1)
        if 5 <= start.month <= 9:
            out[start] = float(row[col])
    book.close()
    return out


def _rederived_hits(year: int) -> tuple[int, int]:
    """(real 4CP intervals in a risk hour, risk hours) of one summer, by the documented rule in plain Python."""
    load = _raw_hourly(year)
    table = pd.read_csv(SHARED_RAW / "ercot_4cp" / "4CP_dates.csv").set_index("Year")
    real = [datetime.strptime(table.loc[year, m], "%m/%d/%Y %H:%M") - timedelta(minutes=15)
            for m in ("June", "July", "August", "September")]
    real = {t.replace(minute=0) for t in real}
    flagged = set()
    day = datetime(year, 6, 1)
    while day < datetime(year, 10, 1):
        yesterday = [load[t] for t in load if day - timedelta(days=1) <= t < day]
        month = [load[t] for t in load if day.replace(day=1) <= t < day] or \
            [load[t] for t in load if day - timedelta(days=7) <= t < day]
        season = [load[t] for t in load if datetime(year, 6, 1) <= t < day] or month
        peak = max(yesterday)
        if peak >= 0.98 * max(month) or peak >= 0.97 * max(season):
            flagged |= {t + timedelta(days=1) for t in load
                        if day - timedelta(days=1) <= t < day and load[t] >= 0.99 * peak}
        day += timedelta(days=1)
    return len(real & flagged), len(flagged)


@pytest.mark.skipif(not SHARED_RAW.is_dir(), reason="../shared/data/raw is absent")
@pytest.mark.parametrize("year", [2023, 2024])
def test_real_4cp_intervals_flagged_match_a_rederivation(year):
    load = pd.Series(_raw_hourly(year))
    load.index = pd.DatetimeIndex(load.index).tz_localize("America/Chicago").tz_convert("UTC")
    risks = peak_risk.season_risk(load, year, "America/Chicago")
    hours = {t.tz_convert("America/Chicago").tz_localize(None).to_pydatetime()
             for r in risks for t in r.hour_start_utc[r.risk_hour]}
    table = pd.read_csv(SHARED_RAW / "ercot_4cp" / "4CP_dates.csv").set_index("Year")
    real = {(datetime.strptime(table.loc[year, m], "%m/%d/%Y %H:%M") - timedelta(minutes=15)).replace(minute=0)
            for m in ("June", "July", "August", "September")}
    hits, flagged = _rederived_hits(year)
    assert (len(real & hours), len(hours)) == (hits, flagged)
    assert hits >= 3  # the forecast catches most of the summer's four peaks


def test_a_load_file_that_ends_too_early_is_refused(tmp_path, capsys):
    # the forecast of July 1 needs June 30's load: a file ending June 6 would carry its last hour forward
    load = hand_load()
    load.to_frame("system_load_mw").rename_axis("interval_start").to_csv(tmp_path / "load.csv")
    doc = {"site": {"interconnect_mw": 100.0}, "mining": {"pue": 1.25, "hashprice_usd_per_ph_day": 48.0,
                                                          "fleet": [{"model": "A", "efficiency_j_per_th": 20.0,
                                                                     "mw": 40.0}]}}
    path = write_site(tmp_path, [20.0] * 24, doc, start="2023-07-01T00:00:00Z")
    assert main(["operate", str(path), "--day", "2023-07-01", "--peak-load", str(tmp_path / "load.csv"),
                 "--out", str(tmp_path / "op")]) == 1
    err = capsys.readouterr().err
    assert "ends at 2023-06-06 23:00 UTC" in err and "2023-06-30 23:00 UTC" in err
    assert not (tmp_path / "op").exists()
