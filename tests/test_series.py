"""Tests of allocator.series: times, DST, formats, gaps and fills, on tiny CSVs with known answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.errors import InputError
from allocator.inputs.series import load_price_series, load_profile_series, to_utc

CHI = "America/Chicago"
REPO = Path(__file__).resolve().parents[1]
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
BUNDLED = REPO / "sites" / "data" / "ercot_hb_south_hourly.csv"


def utc(*stamps: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(s) for s in stamps]).tz_convert("UTC")


def hours_from(start: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h")


def write(tmp_path: Path, text: str, name: str = "prices.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems_of(call) -> list[str]:
    with pytest.raises(InputError) as info:
        call()
    return [str(p) for p in info.value.problems]


def csv_text(rows: list[tuple[str, str]], header: str = "time,price") -> str:
    return header + "\n" + "".join(f"{t},{v}\n" for t, v in rows)


# ---------------------------------------------------------------- to_utc


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-08-20T15:00", "2024-08-20T20:00Z"),      # CDT = UTC-5
    ("2024-01-01", "2024-01-01T06:00Z"),            # CST = UTC-6, local midnight
    ("2024-08-20 15:00", "2024-08-20T20:00Z"),
    ("2024-08-20T15:00-07:00", "2024-08-20T22:00Z"),  # an explicit offset wins over the site zone
    ("2024-08-20T15:00Z", "2024-08-20T15:00Z"),
    ("2024-11-03T01:30-06:00", "2024-11-03T07:30Z"),  # ambiguous wall time made explicit
])
def test_to_utc_reads_naive_local_and_explicit_offsets(text, expected):
    got = to_utc(text, CHI, "site.toml: curtailment[0].start")
    assert got == pd.Timestamp(expected)
    assert str(got.tz) == "UTC"


def test_to_utc_accepts_toml_dates():
    assert to_utc(dt.date(2024, 7, 1), CHI, "w") == pd.Timestamp("2024-07-01T05:00Z")
    assert to_utc(dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC), CHI, "w") == pd.Timestamp("2024-07-01T12:00Z")


def test_to_utc_nonexistent_time_names_where_and_suggests_an_offset():
    (msg,) = problems_of(lambda: to_utc("2024-03-10T02:30", CHI, "site.toml: curtailment[1].end"))
    assert msg.startswith("site.toml: curtailment[1].end: 2024-03-10T02:30 does not exist in America/Chicago")
    assert '"2024-03-10T02:30-06:00"' in msg


def test_to_utc_ambiguous_time_offers_both_offsets():
    (msg,) = problems_of(lambda: to_utc("2024-11-03T01:30", CHI, "w"))
    assert "occurs twice" in msg
    assert '"2024-11-03T01:30-05:00"' in msg and '"2024-11-03T01:30-06:00"' in msg


@pytest.mark.parametrize("text", ["next tuesday", "", "2024-13-01", "08/20/2024 15:00"])
def test_to_utc_unreadable(text):
    (msg,) = problems_of(lambda: to_utc(text, CHI, "w"))
    assert msg.startswith("w: ") and "ISO 8601" in msg


def test_to_utc_unknown_zone():
    (msg,) = problems_of(lambda: to_utc("2024-01-01", "Mars/Olympus", "w"))
    assert "'Mars/Olympus' is unknown" in msg


# ---------------------------------------------------------------- generic CSV


def test_generic_csv_hourly_utc(tmp_path):
    path = write(tmp_path, csv_text([("2024-06-01T02:00", "30"), ("2024-06-01T00:00", "10"),
                                     ("2024-06-01T01:00", "20.5")]))  # unsorted is fine
    s = load_price_series(path)
    assert s.name == "price_usd_per_mwh" and s.index.name == "interval_start_utc"
    assert s.dtype == np.float64 and s.index.freq == "h"
    assert list(s.index) == list(utc("2024-06-01T00:00Z", "2024-06-01T01:00Z", "2024-06-01T02:00Z"))
    assert s.tolist() == [10.0, 20.5, 30.0]


def test_spring_forward_naive_local_hours_are_contiguous_in_utc(tmp_path):
    rows = [("2024-03-10 00:00", "1"), ("2024-03-10 01:00", "2"), ("2024-03-10 03:00", "3"), ("2024-03-10 04:00", "4")]
    s = load_price_series(write(tmp_path, csv_text(rows)), timezone=CHI)
    # 01:00 CST = 07:00Z; 03:00 CDT = 08:00Z: no hour is missing in UTC
    assert list(s.index) == list(hours_from("2024-03-10T06:00Z", 4))
    assert s.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_naive_time_in_the_gap_is_a_problem_unless_filled(tmp_path):
    rows = [("2024-03-10 01:00", "2"), ("2024-03-10 02:00", "99"), ("2024-03-10 03:00", "3")]
    path = write(tmp_path, csv_text(rows))
    (msg,) = problems_of(lambda: load_price_series(path, timezone=CHI, where="site.toml: prices"))
    assert "do not exist in America/Chicago" in msg and "line 3 ('2024-03-10 02:00')" in msg
    s = load_price_series(path, timezone=CHI, fill="ffill")
    assert list(s.index) == list(utc("2024-03-10T07:00Z", "2024-03-10T08:00Z")) and s.tolist() == [2.0, 3.0]


def test_fall_back_hour_written_twice_is_daylight_then_standard(tmp_path):
    rows = [("2024-11-03 00:00", "1"), ("2024-11-03 01:00", "2"), ("2024-11-03 01:00", "3"), ("2024-11-03 02:00", "4")]
    s = load_price_series(write(tmp_path, csv_text(rows)), timezone=CHI)
    assert list(s.index) == list(hours_from("2024-11-03T05:00Z", 4))
    assert s.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_fall_back_hour_written_once_stands_for_both_occurrences_with_a_warning(tmp_path):
    rows = [("2024-11-03 00:00", "1"), ("2024-11-03 01:00", "2"), ("2024-11-03 02:00", "4")]
    path = write(tmp_path, csv_text(rows))
    warnings = []
    s = load_price_series(path, timezone=CHI, warnings=warnings)
    # 00:00 CDT = 05Z, 01:00 CDT = 06Z, 01:00 CST = 07Z (the same row), 02:00 CST = 08Z
    assert list(s.index) == list(hours_from("2024-11-03T05:00Z", 4))
    assert s.tolist() == [1.0, 2.0, 2.0, 4.0]
    (msg,) = map(str, warnings)
    assert "writes the hour that clocks repeat on the fall-back day once (line 3 ('2024-11-03 01:00'))" in msg
    assert "2024-11-03 01:00 CST = 2024-11-03 07:00 UTC" in msg


def test_explicit_offsets_are_honored_on_the_fall_back_day(tmp_path):
    rows = [("2024-11-03T01:00:00-06:00", "20"), ("2024-11-03T01:00:00-05:00", "10"), ("2024-11-03T08:00Z", "30")]
    s = load_price_series(write(tmp_path, csv_text(rows)), timezone=CHI)
    assert list(s.index) == list(utc("2024-11-03T06:00Z", "2024-11-03T07:00Z", "2024-11-03T08:00Z"))
    assert s.tolist() == [10.0, 20.0, 30.0]


def test_mixed_naive_and_offset_times_are_a_problem(tmp_path):
    rows = [("2024-06-01T00:00-05:00", "1"), ("2024-06-01T01:00", "2")]
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, csv_text(rows)), timezone=CHI))
    assert "mixes times with a UTC offset (line 2" in msg and "without one (line 3" in msg


def test_quarter_hours_are_averaged_to_exact_hourly_means(tmp_path):
    rows = [("2024-06-01T00:00Z", "10"), ("2024-06-01T00:15Z", "20"), ("2024-06-01T00:30Z", "30"),
            ("2024-06-01T00:45Z", "-4"), ("2024-06-01T01:00Z", "1"), ("2024-06-01T01:30Z", "2")]
    path = write(tmp_path, csv_text(rows))
    (msg,) = problems_of(lambda: load_price_series(path))  # 01:00 has 2 of its 4 quarters: like a missing hour
    assert "15-minute data" in msg and "2024-06-01 01:00 UTC (2 of 4)" in msg and 'prices.fill = "ffill"' in msg
    s = load_price_series(path, fill="ffill")  # the fill accepts it: the mean of the intervals present
    assert s.tolist() == [14.0, 1.5]  # (10+20+30-4)/4, (1+2)/2


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-500, 5000), min_size=8, max_size=40).filter(lambda v: np.median(v) >= 1))
def test_quarter_hour_averaging_matches_numpy(tmp_path_factory, cents):
    n = len(cents) // 4 * 4
    values = np.array(cents[:n], dtype=float) / 100 + 1.0
    times = pd.date_range("2024-06-01", periods=n, freq="15min", tz="UTC")
    rows = [(t.isoformat(), repr(float(v))) for t, v in zip(times, values)][::-1]  # reversed order, too
    path = write(tmp_path_factory.mktemp("q"), csv_text(rows))
    if np.median(values.reshape(-1, 4).mean(axis=1)) < 1.0:
        return
    s = load_price_series(path)
    np.testing.assert_allclose(s.to_numpy(), values.reshape(-1, 4).mean(axis=1), rtol=1e-12)


# ---------------------------------------------------------------- gaps and fills


def gappy(tmp_path: Path) -> Path:
    rows = [("2024-06-01T00:00Z", "10"), ("2024-06-01T03:00Z", "40"), ("2024-06-01T04:00Z", "50")]
    return write(tmp_path, csv_text(rows))


def test_missing_hours_error_names_first_missing_hour_local_and_utc(tmp_path):
    (msg,) = problems_of(lambda: load_price_series(gappy(tmp_path), timezone=CHI, where="sites/x.toml: prices"))
    assert msg.startswith("sites/x.toml: prices: ") and "prices.csv has no price for 2 of the 5 hours" in msg
    assert "the first: 2024-05-31 20:00 CDT = 2024-06-01 01:00 UTC; 2024-05-31 21:00 CDT = 2024-06-01 02:00 UTC" in msg


def test_ffill_and_interpolate_values(tmp_path):
    path = gappy(tmp_path)
    assert load_price_series(path, fill="ffill").tolist() == [10.0, 10.0, 10.0, 40.0, 50.0]
    assert load_price_series(path, fill="interpolate").tolist() == [10.0, 20.0, 30.0, 40.0, 50.0]


def test_fill_uses_data_before_the_window_and_backfills_a_leading_overhang(tmp_path):
    path = gappy(tmp_path)
    s = load_price_series(path, start="2024-06-01T01:00Z", end="2024-06-01T04:00Z", fill="interpolate")
    assert s.tolist() == [20.0, 30.0, 40.0]
    s = load_price_series(path, start="2024-05-31T22:00Z", end="2024-06-01T01:00Z", fill="ffill")
    assert list(s.index) == list(utc("2024-05-31T22:00Z", "2024-05-31T23:00Z", "2024-06-01T00:00Z"))
    assert s.tolist() == [10.0, 10.0, 10.0]


def test_unknown_fill_and_format_are_problems(tmp_path):
    msgs = problems_of(lambda: load_price_series(gappy(tmp_path), fill="bfill", fmt="xlsx"))
    assert any("prices.fill = 'bfill' is not one of 'ffill', 'interpolate'" in m for m in msgs)
    assert any("format = 'xlsx'" in m for m in msgs)


# ---------------------------------------------------------------- bad rows


def test_duplicate_utc_times_are_named_with_lines(tmp_path):
    rows = [("2024-06-01T00:00Z", "1"), ("2024-05-31T19:00-05:00", "2"), ("2024-06-01T01:00Z", "3")]
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, csv_text(rows)), timezone=CHI))
    assert "repeats 1 time (after conversion to UTC): 2024-05-31 19:00 CDT = 2024-06-01 00:00 UTC (lines 2, 3)" in msg


def test_bad_values_reported_with_line_numbers_and_count(tmp_path):
    times = [f"2024-06-01T{h:02d}:00Z" for h in range(8)]
    values = ["10", "", "nan", "11", "abc", "inf", "12", "-Infinity"]
    text = "time,price\n\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values))  # a blank line 2
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, text)))
    assert "no usable price in column 'price'" in msg and "on 5 rows" in msg
    assert "line 4 (''), line 5 ('nan'), line 7 ('abc'), line 8 ('inf'), line 10 ('-Infinity')" in msg


def test_prices_in_usd_per_kwh_are_detected(tmp_path):
    rows = [(f"2024-06-01T{h:02d}:00Z", f"0.0{h + 2}") for h in range(5)]
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, csv_text(rows))))
    assert "median price 0.04 looks like USD/kWh; prices must be USD/MWh (multiply by 1000)" in msg


def test_wrong_column_lists_available_columns(tmp_path):
    text = "time,HB_WEST,HB_NORTH\n2024-06-01T00:00Z,1,2\n"
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, text), column="hb_west"))
    assert "column = 'hb_west' is not a column" in msg and "'time', 'HB_WEST', 'HB_NORTH'" in msg
    assert "Did you mean 'HB_WEST'?" in msg


def test_several_numeric_columns_need_a_column(tmp_path):
    text = "time,HB_WEST,HB_NORTH,note\n2024-06-01T00:00Z,1,2,x\n"
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, text)))
    assert "several numeric columns: 'HB_WEST', 'HB_NORTH'" in msg
    assert load_price_series(write(tmp_path, text), column="HB_NORTH").tolist() == [2.0]


def test_every_problem_is_reported_at_once(tmp_path):
    rows = [("2024-06-01T00:00Z", "x"), ("2024-06-01T00:00Z", "5"), ("2024-06-01T03:00Z", "5")]
    path = write(tmp_path, csv_text(rows))
    msgs = problems_of(lambda: load_price_series(path))
    assert len(msgs) == 3  # bad value, duplicate, missing hours
    assert [("no usable price" in m, "repeats" in m, "no price for 2" in m) for m in msgs] == [
        (True, False, False), (False, True, False), (False, False, True)]
    # a bad window is reported with the rows' problems; gaps wait until the window is fixed
    msgs = problems_of(lambda: load_price_series(path, start="2024-06-02", end="2024-06-01", fill="backfill"))
    assert len(msgs) == 4 and "is not before end" in msgs[1] and "no usable price" in msgs[2] and "repeats" in msgs[3]


# ---------------------------------------------------------------- files


def test_utf8_bom_is_tolerated(tmp_path):
    path = write(tmp_path, "\ufefftime,price\r\n2024-06-01T00:00Z,12.5\r\n")
    assert load_price_series(path).tolist() == [12.5]


def test_semicolons_with_decimal_commas(tmp_path):
    text = "Zeit;Preis\n2024-06-01T00:00Z;12,5\n2024-06-01T01:00Z;1.234,75\n2024-06-01T02:00Z;-3\n"
    assert load_price_series(write(tmp_path, text)).tolist() == [12.5, 1234.75, -3.0]


@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist"),
    (b"", "is empty"),
    (b"time,price\n", "has a header but no data rows"),
    ("time,price\n2024-06-01T00:00Z,12\u20ac\n".encode("cp1252"), "is not UTF-8 text (byte 0x80 on line 2)"),
    (b"PK\x03\x04\x14\x00\x00\x00", "is a zip archive (an Excel .xlsx workbook?)"),
])
def test_unreadable_files_are_problems(tmp_path, content, expected):
    path = tmp_path / "prices.csv"
    if content is not None:
        path.write_bytes(content)
    (msg,) = problems_of(lambda: load_price_series(path, where="s.toml: prices"))
    assert msg.startswith("s.toml: prices: ") and expected in msg and str(path) in msg


def test_unreadable_times_are_named(tmp_path):
    rows = [("2024-06-01T00:00", "1"), ("6/1/2024 1:00", "2")]
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, csv_text(rows))))
    assert "is not an ISO 8601 time in 1900-2199 on 1 row: line 3 ('6/1/2024 1:00')" in msg


# ---------------------------------------------------------------- windows


def test_window_in_site_local_time(tmp_path):
    hours = pd.date_range("2024-06-30T00:00Z", "2024-07-03T00:00Z", freq="h", inclusive="left")
    rows = [(t.isoformat(), str(i + 1)) for i, t in enumerate(hours)]
    s = load_price_series(write(tmp_path, csv_text(rows)), timezone=CHI, start="2024-07-01", end="2024-07-02")
    assert len(s) == 24
    assert s.index[0] == pd.Timestamp("2024-07-01T05:00Z") and s.index[-1] == pd.Timestamp("2024-07-02T04:00Z")
    assert s.iloc[0] == 30.0  # 2024-07-01T05:00Z is hour 29 after 2024-06-30T00:00Z


def test_window_outside_the_file_reports_the_file_range(tmp_path):
    (msg,) = problems_of(lambda: load_price_series(gappy(tmp_path), start="2025-01-01", end="2025-02-01"))
    assert "is not covered by" in msg and "run from 2024-06-01 00:00 UTC to 2024-06-01 05:00 UTC" in msg


def test_window_overhanging_the_file_by_more_than_a_day_is_not_filled(tmp_path):
    (msg,) = problems_of(lambda: load_price_series(gappy(tmp_path), start="2024-05-30T23:00Z", fill="ffill"))
    assert "the window 2024-05-30 23:00 UTC to 2024-06-01 05:00 UTC is not covered by" in msg
    filled = load_price_series(gappy(tmp_path), start="2024-05-31T00:00Z", fill="ffill")  # a 24 h overhang
    assert len(filled) == 29 and filled.iloc[0] == 10.0


def test_window_start_not_before_end(tmp_path):
    (msg,) = problems_of(lambda: load_price_series(gappy(tmp_path), start="2024-06-01T03:00Z", end="2024-06-01T03:00Z"))
    assert "start '2024-06-01T03:00Z' is not before end" in msg


def test_window_in_the_fall_back_hour_is_a_problem(tmp_path):
    (msg,) = problems_of(lambda: load_price_series(gappy(tmp_path), timezone=CHI, start="2024-11-03T01:00",
                                                   where="s.toml: prices"))
    assert msg.startswith("s.toml: prices.start: 2024-11-03T01:00 occurs twice")


# ---------------------------------------------------------------- ERCOT


ERCOT_HEADER = ("Delivery Date,Delivery Hour,Delivery Interval,Settlement Point Name,Settlement Point Type,"
                "Settlement Point Price,DSTFlag\n")


def ercot_rows(date: str, hours: list[tuple[int, str]], point: str = "HB_SOUTH", start: float = 0.0) -> str:
    out, value = "", start
    for hour, flag in hours:
        for k in range(1, 5):
            value += 1.0
            out += f"{date},{hour},{k},{point},HU,{value},{flag}\n"
    return out


def test_ercot_rtm_fall_back_dstflag_marks_the_repeated_hour(tmp_path):
    body = ercot_rows("11/03/2024", [(1, "N"), (2, "N"), (2, "Y"), (3, "N")])
    s = load_price_series(write(tmp_path, ERCOT_HEADER + body), timezone=CHI)
    # HE1 = 00:00 CDT = 05Z; HE2 = 01:00 CDT = 06Z; HE2 Y = 01:00 CST = 07Z; HE3 = 02:00 CST = 08Z
    assert list(s.index) == list(hours_from("2024-11-03T05:00Z", 4))
    assert s.tolist() == [2.5, 6.5, 10.5, 14.5]


def test_ercot_spring_forward_skips_hour_ending_3(tmp_path):
    body = ercot_rows("03/10/2024", [(1, "N"), (2, "N"), (4, "N")])
    s = load_price_series(write(tmp_path, ERCOT_HEADER + body), timezone=CHI)
    assert list(s.index) == list(utc("2024-03-10T06:00Z", "2024-03-10T07:00Z", "2024-03-10T08:00Z"))


def test_ercot_duplicates_without_dstflag_are_named(tmp_path):
    header = "Delivery Date,Delivery Hour,Settlement Point Name,Settlement Point Price\n"
    body = "11/03/2024,1,HB_SOUTH,10\n11/03/2024,2,HB_SOUTH,20\n11/03/2024,2,HB_SOUTH,30\n11/03/2024,3,HB_SOUTH,40\n"
    msg, gap = problems_of(lambda: load_price_series(write(tmp_path, header + body), timezone=CHI))
    assert "no price for 1 of the 4 hours" in gap  # 01:00 CST
    assert "repeats 1 time" in msg and "2024-11-03 01:00 CDT = 2024-11-03 06:00 UTC (lines 3, 4)" in msg
    assert "DSTFlag = Y" in msg


def test_ercot_several_points_need_a_location(tmp_path):
    text = ERCOT_HEADER + ercot_rows("06/01/2024", [(1, "N")]) + ercot_rows("06/01/2024", [(1, "N")], "HB_WEST", 100)
    path = write(tmp_path, text)
    (msg,) = problems_of(lambda: load_price_series(path, timezone=CHI))
    assert "holds 2 locations in 'Settlement Point Name': 'HB_SOUTH', 'HB_WEST'" in msg
    assert load_price_series(path, timezone=CHI, location="HB_WEST").tolist() == [102.5]
    (msg,) = problems_of(lambda: load_price_series(path, timezone=CHI, location="HB_NORTH"))
    assert "location 'HB_NORTH' is not in column" in msg


def test_ercot_dam_hour_ending_text(tmp_path):
    text = ("DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"
            "07/01/2024,01:00,HB_SOUTH,21.5,N\n07/01/2024,24:00,HB_SOUTH,30,N\n07/01/2024,02:00,HB_SOUTH,22,N\n")
    path = write(tmp_path, text)
    (msg,) = problems_of(lambda: load_price_series(path, timezone=CHI))
    assert "no price for 21 of the 24 hours" in msg  # HE1, HE2 and HE24 only
    s = load_price_series(path, timezone=CHI, fmt="ercot_spp", start="2024-07-01T00:00", end="2024-07-01T02:00")
    assert list(s.index) == list(utc("2024-07-01T05:00Z", "2024-07-01T06:00Z")) and s.tolist() == [21.5, 22.0]


def test_ercot_bad_hour_is_named(tmp_path):
    text = ERCOT_HEADER + "06/01/2024,25,1,HB_SOUTH,HU,10,N\n06/01/2024,1,1,HB_SOUTH,HU,10,N\n"
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, text), timezone=CHI))
    assert "unreadable delivery date, hour (1-24) or interval (1-4) on 1 row" in msg
    assert "line 2 ('06/01/2024 hour 25 interval 1')" in msg


# ---------------------------------------------------------------- gridstatus


GRID_HEADER = "Time,Interval Start,Interval End,Location,Location Type,Market,SPP\n"


def test_gridstatus_with_offsets_and_location(tmp_path):
    rows = "".join(
        f"{s},{s},{e},{loc},Trading Hub,REAL_TIME_15_MIN,{v}\n"
        for loc, base in (("HB_SOUTH", 0), ("HB_WEST", 100))
        for s, e, v in (("2024-11-03 01:00:00-05:00", "2024-11-03 01:15:00-05:00", base + 1),
                        ("2024-11-03 01:15:00-05:00", "2024-11-03 01:30:00-05:00", base + 3),
                        ("2024-11-03 01:00:00-06:00", "2024-11-03 01:15:00-06:00", base + 7)))
    path = write(tmp_path, GRID_HEADER + rows)
    s = load_price_series(path, timezone=CHI, location="HB_WEST", fill="ffill")  # partial hours
    assert list(s.index) == list(utc("2024-11-03T06:00Z", "2024-11-03T07:00Z")) and s.tolist() == [102.0, 107.0]
    (msg,) = problems_of(lambda: load_price_series(path, timezone=CHI))
    assert "holds 2 locations in 'Location'" in msg


def test_gridstatus_lmp_and_spp_need_a_column(tmp_path):
    text = "Interval Start,Interval End,Location,LMP,SPP\n2024-06-01T00:00Z,2024-06-01T01:00Z,X,5,6\n"
    path = write(tmp_path, text)
    (msg,) = problems_of(lambda: load_price_series(path))
    assert "several numeric columns: 'LMP', 'SPP'" in msg
    assert load_price_series(path, column="SPP").tolist() == [6.0]


# ---------------------------------------------------------------- profiles


def test_profile_steps_daily_values_across_spring_forward(tmp_path):
    path = write(tmp_path, "date,hashprice_usd_per_ph_day\n2024-03-09,50\n2024-03-10,52\n2024-03-11,49.5\n", "hp.csv")
    index = pd.date_range("2024-03-09T06:00Z", "2024-03-12T05:00Z", freq="h", inclusive="left")
    got = load_profile_series(path, index, timezone=CHI)
    assert got.dtype == np.float64 and len(got) == len(index)
    by_hour = pd.Series(got, index=index)
    # local midnights: 03-10 = 06:00Z (CST); 03-11 = 05:00Z (CDT): the DST day has 23 hours
    assert (by_hour == 50).sum() == 24 and (by_hour == 52).sum() == 23 and (by_hour == 49.5).sum() == 24
    assert by_hour["2024-03-10T05:00Z"] == 50 and by_hour["2024-03-10T06:00Z"] == 52
    assert by_hour["2024-03-11T04:00Z"] == 52 and by_hour["2024-03-11T05:00Z"] == 49.5


def test_profile_day_whose_midnight_is_skipped_starts_when_clocks_resume(tmp_path):
    # Havana springs forward at midnight: 2024-03-10 00:00 does not exist; the day starts 01:00 CDT = 05:00Z
    path = write(tmp_path, "date,v\n2024-03-09,1\n2024-03-10,2\n2024-03-11,3\n", "v.csv")
    index = pd.date_range("2024-03-09T05:00Z", "2024-03-11T05:00Z", freq="h", inclusive="left")
    by_hour = pd.Series(load_profile_series(path, index, timezone="America/Havana"), index=index)
    assert (by_hour == 1).sum() == 24 and (by_hour == 2).sum() == 23 and by_hour["2024-03-10T05:00Z"] == 2


def test_profile_ignores_bad_rows_it_never_uses(tmp_path):
    text = "date,v\n2024-05-01,n/a\n2024-06-01,0.8\n2024-07-01,oops\n2024-08-01,0.9\n"
    index = pd.date_range("2024-06-10", periods=3, freq="h", tz="UTC")
    assert load_profile_series(write(tmp_path, text, "v.csv"), index).tolist() == [0.8, 0.8, 0.8]
    (msg,) = problems_of(lambda: load_profile_series(write(tmp_path, text, "v.csv"), index + pd.Timedelta(days=30)))
    assert "line 4 ('oops')" in msg and "line 2" not in msg


def test_profile_averages_finer_rows_and_holds_the_last_value(tmp_path):
    text = "t,u\n2024-06-01T00:00Z,0.5\n2024-06-01T00:30Z,0.7\n2024-06-01T02:00Z,0.9\n"
    index = pd.date_range("2024-06-01", periods=5, freq="h", tz="UTC")
    got = load_profile_series(write(tmp_path, text, "u.csv"), index)
    np.testing.assert_allclose(got, [0.6, 0.6, 0.9, 0.9, 0.9], rtol=1e-12)


def test_profile_hours_before_first_row_and_bad_values(tmp_path):
    text = "date,util\n2024-06-02,0.8\n2024-06-03,n/a\n"
    index = pd.date_range("2024-06-01T05:00Z", periods=72, freq="h")
    path = write(tmp_path, text, "u.csv")
    msgs = problems_of(lambda: load_profile_series(path, index, timezone=CHI, where="s.toml: ai.utilization"))
    assert len(msgs) == 2
    assert "no usable value in column 'util'" in msgs[0] and "line 3 ('n/a')" in msgs[0]
    assert "starts at 2024-06-02 00:00 CDT = 2024-06-02 05:00 UTC, after the first 24 hours" in msgs[1]


# ---------------------------------------------------------------- bundled and real data


def test_bundled_hb_south_file_loads_complete():
    s = load_price_series(BUNDLED, timezone=CHI, column="hb_south_rtm_usd_per_mwh")
    assert len(s) == 7200
    assert s.index[0] == pd.Timestamp("2024-06-01T05:00Z") and s.index[-1] == pd.Timestamp("2025-03-28T04:00Z")
    assert (np.diff(s.index.asi8) == np.diff(s.index.asi8)[0]).all() and s.index.freq == "h"
    assert s.mean() == pytest.approx(27.423060041666666, abs=1e-4)  # hourly mean from the raw 15-minute file
    assert s["2024-11-03T07:00Z"] == pytest.approx(20.0323)  # the interpolated 01:00 CST hour (README)
    dam = load_price_series(BUNDLED, timezone=CHI, column="hb_south_dam_usd_per_mwh")
    assert dam.mean() == pytest.approx(27.944033, abs=1e-4) and dam.max() == 833.32


def test_bundled_file_matches_the_raw_file():
    raw_file = RAW / "ercot_hb_south_dam_rtm" / "hb_south_dam_rtm_15min_20240601_20250327.csv"
    if not raw_file.exists():
        pytest.skip("../shared/data/raw is not next to this checkout")
    raw = pd.read_csv(raw_file)
    wall = pd.to_datetime(raw["Time"])
    keep = ~wall.between("2025-03-09 02:00", "2025-03-09 02:45")  # the spring-forward gap: dropped
    hourly = raw.loc[keep, "HB_SOUTH_RTM"].groupby(wall[keep].dt.floor("h")).mean()  # by naive local hour
    assert len(hourly) == 7199
    s = load_price_series(BUNDLED, timezone=CHI, column="hb_south_rtm_usd_per_mwh")
    filled = pd.Timestamp("2024-11-03T07:00Z")  # 01:00 CST, absent from the raw file
    others = s.drop(filled)
    np.testing.assert_allclose(others.to_numpy(), hourly.loc[others.index.tz_convert(CHI).tz_localize(None)].to_numpy(),
                               rtol=0, atol=5e-5)  # rounded to 4 decimals
    between = (hourly["2024-11-03 01:00"] + hourly["2024-11-03 02:00"]) / 2
    assert s[filled] == pytest.approx(between, abs=5e-5)
    assert s.mean() == pytest.approx((hourly.sum() + between) / 7200, abs=1e-5)
    assert s.mean() == pytest.approx(27.423060041666666, abs=1e-5)


def test_real_hb_west_year_2024_with_ffill():
    path = RAW / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    if not path.exists():
        pytest.skip("../shared/data/raw is not next to this checkout")
    s = load_price_series(path, timezone=CHI, column="HUB", start="2024-01-01", end="2025-01-01", fill="ffill")
    assert len(s) == 8784 and s.index.freq == "h"
    assert s.index[0] == pd.Timestamp("2024-01-01T06:00Z") and s.index[-1] == pd.Timestamp("2025-01-01T05:00Z")
    # independently: 8783 naive local rows; 2024-03-10 02:00 does not exist (dropped, and 03:00 CDT = 08Z is
    # filled from 01:00 CST); 2024-11-03 01:00 is written once (CDT), so 01:00 CST = 07Z is filled from it
    df = pd.read_csv(path)
    year = df[df["HOUR"].str.startswith("2024-")]
    assert len(year) == 8783
    hub = year.set_index("HOUR")["HUB"]
    expected = (hub.drop("2024-03-10 02:00:00").sum() + hub["2024-03-10 01:00:00"] + hub["2024-11-03 01:00:00"]) / 8784
    assert s.mean() == pytest.approx(expected, rel=1e-12)
    assert s.mean() == pytest.approx(27.4, abs=0.05)
    assert s["2024-03-10T08:00Z"] == hub["2024-03-10 01:00:00"] and s["2024-11-03T07:00Z"] == hub["2024-11-03 01:00:00"]
    assert s["2024-07-01T05:00Z"] == hub["2024-07-01 00:00:00"]


TIME_TEXT = st.builds(
    lambda *parts: "".join(parts),
    st.sampled_from(["2024-06-01", "24-6-1", "2024/06/01", "", "\u0662\u0660\u0662\u0664-\u0660\u0666-\u0660\u0661"]),
    st.sampled_from(["T", " ", "", "  "]),
    st.sampled_from(["10:00", "1:00", "10:00:00", "10:00:00.123", "10:00:00,5", "", "10"]),
    st.sampled_from(["", " ", "\n"]),
    st.sampled_from(["", "Z", "z", "+05", "-05:00", "+0530", "+5", "-05:0", "+05:30:00", "GMT", "+05 ", "\n"]),
    st.one_of(st.sampled_from(["", " ", "\n"]), st.text(max_size=3)),
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TIME_TEXT, min_size=1, max_size=30))
def test_offset_and_date_only_screens_match_the_regular_expressions(texts):
    # parse_iso_times tries its regular expressions only where a cheap test says they can match
    from allocator.inputs import price_formats as pf

    text = pd.Series(texts, dtype=object)
    offset = pf._matching(text, pf._OFFSET.search, pf._may_have_offset)
    assert offset.tolist() == text.str.contains(pf._OFFSET).to_numpy(bool).tolist()
    date_only = pf._matching(text, pf._DATE_ONLY.fullmatch, lambda s: len(s) == 10)
    assert date_only.tolist() == text.str.fullmatch(pf._DATE_ONLY).to_numpy(bool).tolist()
