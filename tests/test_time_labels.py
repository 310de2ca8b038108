"""Series read as their authors meant: hour-ending labels, 24:00, strftime formats, DST signatures,
naive times without a site time zone, and a fall-back hour written once."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from allocator import load_site
from allocator.errors import InputError
from allocator.inputs.series import load_price_series, load_profile_series
from conftest import to_toml, write_site
from test_cli import invoke

CHI = "America/Chicago"


def write(tmp_path, rows, header="time,price", name="prices.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(f"{t},{v}\n" for t, v in rows), encoding="utf-8")
    return path


def problems_of(call) -> list[str]:
    with pytest.raises(InputError) as info:
        call()
    return [str(p) for p in info.value.problems]


def hour_ending_labels(day: str, n_days: int, timezone: str) -> list[str]:
    """Hour-ending wall-clock labels 01:00 .. 24:00 of each day, as utilities write them: each real hour's
    wall-clock start plus one hour (so spring's 03:00 never appears and fall's 02:00 appears twice)."""
    start = pd.Timestamp(day).tz_localize(timezone)
    end = (pd.Timestamp(day) + pd.Timedelta(days=n_days)).tz_localize(timezone)  # local midnight n days later
    starts = pd.date_range(start, end, freq="h", inclusive="left")
    labels = []
    for moment in starts.tz_convert(timezone):
        wall = moment.tz_localize(None) + pd.Timedelta(hours=1)
        labels.append(f"{(wall - pd.Timedelta(days=1)):%Y-%m-%d} 24:00" if wall.hour == 0 else f"{wall:%Y-%m-%d %H:%M}")
    return labels


# ---------------------------------------------------------------- time_label = "end"


def test_hour_ending_utc_day_with_24_00(tmp_path):
    labels = [f"2024-06-01 {h:02d}:00" for h in range(1, 24)] + ["2024-06-01 24:00"]
    path = write(tmp_path, [(t, i) for i, t in enumerate(labels)])
    s = load_price_series(path, time_label="end")
    # 01:00 ends the hour 00:00-01:00: 24 hours from 2024-06-01T00:00Z, value i in the hour starting at i
    assert list(s.index) == list(pd.date_range("2024-06-01T00:00Z", periods=24, freq="h"))
    assert s.tolist() == [float(i) for i in range(24)]
    # the same day written 06/01/2024 01:00 .. 06/01/2024 24:00 with its time_format
    us = write(tmp_path, [(f"06/01/2024 {t[11:]}", i) for i, t in enumerate(labels)], name="us.csv")
    s_us = load_price_series(us, time_label="end", time_format="%m/%d/%Y %H:%M")
    assert s_us.index.equals(s.index) and s_us.tolist() == s.tolist()


def test_24_00_read_as_interval_starts_is_refused_with_the_time_label_hint(tmp_path):
    labels = [f"2024-06-01 {h:02d}:00" for h in range(1, 24)] + ["2024-06-01 24:00"]
    path = write(tmp_path, [(t, 1.0) for t in labels])
    msgs = problems_of(lambda: load_price_series(path, where="site.toml: prices"))
    assert any("time 24:00" in m and "line 25 ('2024-06-01 24:00')" in m and 'prices.time_label = "end"' in m
               for m in msgs)


def test_hour_ending_local_labels_across_spring_forward_need_no_fill(tmp_path):
    labels = hour_ending_labels("2024-03-09", 2, CHI)
    assert "2024-03-10 03:00" not in labels and "2024-03-10 02:00" in labels and "2024-03-09 24:00" in labels
    path = write(tmp_path, [(t, i) for i, t in enumerate(labels)])
    s = load_price_series(path, timezone=CHI, time_label="end")
    # 47 real hours from 2024-03-09 00:00 CST = 06:00Z; the i-th label ends the i-th hour
    assert list(s.index) == list(pd.date_range("2024-03-09T06:00Z", periods=47, freq="h"))
    assert s.tolist() == [float(i) for i in range(47)]
    # by hand: "2024-03-10 02:00" ends 01:00-02:00 CST = 07:00Z; "04:00" ends 03:00-04:00 CDT = 08:00Z;
    # "2024-03-09 24:00" ends 23:00-24:00 CST = 2024-03-10 05:00Z
    assert s["2024-03-10T07:00Z"] == labels.index("2024-03-10 02:00")
    assert s["2024-03-10T08:00Z"] == labels.index("2024-03-10 04:00")
    assert s["2024-03-10T05:00Z"] == labels.index("2024-03-09 24:00")


def test_hour_ending_fall_back_written_twice_and_once(tmp_path):
    twice = [("2024-11-03 01:00", 1), ("2024-11-03 02:00", 2), ("2024-11-03 02:00", 3), ("2024-11-03 03:00", 4)]
    s = load_price_series(write(tmp_path, twice), timezone=CHI, time_label="end")
    # ends 01:00 CDT (hour from 05Z), 02:00 CDT = 01:00 CST (06Z), 02:00 CST (07Z), 03:00 CST (08Z)
    assert list(s.index) == list(pd.date_range("2024-11-03T05:00Z", periods=4, freq="h"))
    assert s.tolist() == [1.0, 2.0, 3.0, 4.0]
    once = [("2024-11-03 01:00", 1), ("2024-11-03 02:00", 2), ("2024-11-03 03:00", 4)]
    warnings = []
    s = load_price_series(write(tmp_path, once, name="once.csv"), timezone=CHI, time_label="end", warnings=warnings)
    assert s.tolist() == [1.0, 2.0, 2.0, 4.0]
    assert len(warnings) == 1 and "once" in str(warnings[0]) and "07:00 UTC" in str(warnings[0])


def test_hour_ending_sub_hourly_and_daily_steps(tmp_path):
    # quarter hours ending 00:15 .. 01:00: the hour 00:00-01:00 is their mean
    rows = [("2024-06-01T00:15Z", 10), ("2024-06-01T00:30Z", 20), ("2024-06-01T00:45Z", 30), ("2024-06-01T01:00Z", 40)]
    s = load_price_series(write(tmp_path, rows), time_label="end")
    assert list(s.index) == [pd.Timestamp("2024-06-01T00:00Z")] and s.tolist() == [25.0]
    # a daily hashprice labelled by the end of its day: 2024-06-02 is the day of 2024-06-01
    daily = write(tmp_path, [("2024-06-02", 40.0), ("2024-06-03", 50.0)], header="date,hashprice", name="hp.csv")
    index = pd.date_range("2024-06-01T05:00Z", periods=48, freq="h")  # Chicago days
    values = load_profile_series(daily, index, timezone=CHI, time_label="end")
    assert values[:24].tolist() == [40.0] * 24 and values[24:].tolist() == [50.0] * 24


def test_hour_ending_file_read_as_starts_says_so_instead_of_fill(tmp_path):
    labels = hour_ending_labels("2024-03-10", 1, CHI)
    path = write(tmp_path, [(t.replace("2024-03-10 24:00", "2024-03-11 00:00"), 1.0) for t in labels])
    msgs = problems_of(lambda: load_price_series(path, timezone=CHI, where="site.toml: prices"))
    assert msgs and all("look hour-ending" in m and 'prices.time_label = "end"' in m for m in msgs)
    assert not any('fill = "ffill"' in m for m in msgs)
    # a file that is hour-starting but has a stray nonexistent row keeps the fill hint
    starts = [("2024-03-10 01:00", 1), ("2024-03-10 02:00", 2), ("2024-03-10 03:00", 3)]
    (msg,) = problems_of(lambda: load_price_series(write(tmp_path, starts, name="s.csv"), timezone=CHI))
    assert "hour-ending" not in msg and 'prices.fill = "ffill"' in msg


def test_real_hb_west_file_is_hour_ending(shared_raw):
    path = shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    window = {"start": "2024-01-01", "end": "2025-01-01"}
    msgs = problems_of(lambda: load_price_series(path, timezone=CHI, column="HUB", **window))
    assert any("2024-03-10 02:00" in m and "look hour-ending" in m for m in msgs)
    warnings = []
    s = load_price_series(path, timezone=CHI, column="HUB", time_label="end", warnings=warnings, **window)
    assert len(s) == 8784 and s.index.freq == "h" and s.notna().all()
    # only the fall-back hour, which the file collapses into one row, is said
    assert len(warnings) == 1 and "2024-11-03 02:00:00" in str(warnings[0])
    raw = pd.read_csv(path).set_index("HOUR")["HUB"]
    # re-derived by hand from the raw rows (hour ending, Central prevailing time)
    assert s["2024-01-01T06:00Z"] == raw["2024-01-01 01:00:00"]   # 00:00-01:00 CST
    assert s["2024-03-10T07:00Z"] == raw["2024-03-10 02:00:00"]   # 01:00-02:00 CST
    assert s["2024-03-10T08:00Z"] == raw["2024-03-10 04:00:00"]   # 03:00-04:00 CDT (02:00 CDT never was)
    assert s["2024-07-01T05:00Z"] == raw["2024-07-01 01:00:00"]   # 00:00-01:00 CDT
    assert s["2024-11-03T06:00Z"] == raw["2024-11-03 02:00:00"]   # 01:00-02:00 CDT
    assert s["2024-11-03T07:00Z"] == raw["2024-11-03 02:00:00"]   # 01:00-02:00 CST, the collapsed row
    assert s["2024-11-03T08:00Z"] == raw["2024-11-03 03:00:00"]   # 02:00-03:00 CST
    assert s["2025-01-01T05:00Z"] == raw["2025-01-01 00:00:00"]   # 23:00-24:00 CST on Dec 31
    inside = raw.loc["2024-01-01 01:00:00":"2025-01-01 00:00:00"]
    assert len(inside) == 8783
    assert s.mean() == pytest.approx((inside.sum() + raw["2024-11-03 02:00:00"]) / 8784, rel=1e-12)
    # read as starts with a fill (the old hint), every price came one hour early
    shifted = load_price_series(path, timezone=CHI, column="HUB", fill="ffill", **window)
    assert shifted["2024-07-01T05:00Z"] == raw["2024-07-01 00:00:00"] != s["2024-07-01T05:00Z"]


# ---------------------------------------------------------------- time_format


@pytest.mark.parametrize("fmt, text", [("%m/%d/%Y %H:%M", "07/{d:02d}/2023 {h:02d}:00"),
                                       ("%d.%m.%Y %H:%M", "{d:02d}.07.2023 {h:02d}:00")])
def test_time_format_reads_non_iso_times(tmp_path, fmt, text):
    rows = [(text.format(d=13 + h // 24, h=h % 24), h) for h in range(30)]
    path = write(tmp_path, rows)
    s = load_price_series(path, timezone=CHI, time_format=fmt)
    assert list(s.index) == list(pd.date_range("2023-07-13T05:00Z", periods=30, freq="h"))
    assert s.tolist() == [float(h) for h in range(30)]


def test_unreadable_times_name_the_pattern_that_fits(tmp_path):
    rows = [(f"{d:02d}.07.2023 {h:02d}:00", 1.0) for d in (13, 14) for h in range(24)]
    msg = problems_of(lambda: load_price_series(write(tmp_path, rows), where="site.toml: prices"))[0]
    assert "is not an ISO 8601 time" in msg and 'prices.time_format = "%d.%m.%Y %H:%M"' in msg
    # days up to 12 fit both orders: the message says so and names both
    rows = [(f"07/06/2023 {h:02d}:00", 1.0) for h in range(24)]
    msg = problems_of(lambda: load_price_series(write(tmp_path, rows, name="b.csv"), where="site.toml: prices"))[0]
    assert '"%m/%d/%Y %H:%M" or "%d/%m/%Y %H:%M"' in msg and "say which one" in msg
    # a wrong pattern: the message names the one that reads the cells
    rows = [(f"07/{d}/2023 {h:02d}:00", 1.0) for d in (13, 14) for h in range(24)]
    msg = problems_of(lambda: load_price_series(write(tmp_path, rows, name="c.csv"), time_format="%d/%m/%Y %H:%M"))[0]
    assert "time_format '%d/%m/%Y %H:%M'" in msg and '"%m/%d/%Y %H:%M" reads every one' in msg


def test_time_label_and_time_format_on_every_series_table(tmp_path):
    hours = pd.date_range("2024-01-01T01:00Z", periods=4, freq="h")  # hour-ending labels of 00:00-04:00 UTC
    us = hours.strftime("%m/%d/%Y %H:%M")
    for name, values in (("hp.csv", [40.0, 41.0, 42.0, 43.0]), ("util.csv", [0.5, 0.6, 0.7, 0.8]),
                         ("peaks.csv", [0.0, 1.0, 0.0, 0.0]), ("ecrs.csv", [1.0, 2.0, 3.0, 4.0])):
        pd.DataFrame({"t": us, "v": values}).to_csv(tmp_path / name, index=False)
    opts = {"time_label": "end", "time_format": "%m/%d/%Y %H:%M"}
    doc = {"site": {"interconnect_mw": 10.0},
           "mining": {"pue": 1.0, "hashprice": {"file": "hp.csv", **opts},
                      "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 5.0}]},
           "ai": {"pue": 1.0, "utilization": {"file": "util.csv", **opts},
                  "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
           "coincident_peak": {"charge_usd_per_mw_year": 1.0, "probability": {"file": "peaks.csv", **opts},
                               "peaks_in_horizon": 1.0},
           "demand_response": [{"name": "ecrs", "capacity_price": {"file": "ecrs.csv", **opts}}]}
    site = load_site(write_site(tmp_path, [20.0] * 4, doc))
    assert site.hashprice_usd_per_ph_day.tolist() == [40.0, 41.0, 42.0, 43.0]
    assert site.ai_utilization_frac.tolist() == [0.5, 0.6, 0.7, 0.8]
    assert site.power.peak_weight_frac.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert site.power.programs[0].capacity_usd_per_mw_hour.tolist() == [1.0, 2.0, 3.0, 4.0]
    # the prices table too, and a bad time_label is a schema error naming the field
    text = (tmp_path / "tiny.toml").read_text().replace('[prices]\n', '[prices]\ntime_label = "ending"\n')
    (tmp_path / "bad.toml").write_text(text)
    code, _, err = invoke(["validate", str(tmp_path / "bad.toml")])
    assert code == 1 and "prices.time_label" in err and "'start' or 'end'" in err


# ---------------------------------------------------------------- naive times without a site time zone


def test_naive_times_without_site_timezone_are_warned_in_console_and_manifest(tmp_path):
    pd.DataFrame({"t": [f"2024-01-01 {h:02d}:00" for h in range(4)], "p": [20.0, 50.0, 150.0, 80.0]}).to_csv(
        tmp_path / "naive.csv", index=False)
    doc = {"site": {"interconnect_mw": 10.0}, "prices": {"file": "naive.csv"},
           "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
                      "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 10.0}]}}
    site_path = tmp_path / "naive.toml"
    site_path.write_text(to_toml(doc))
    code, _, err = invoke(["solve", str(site_path), "--out", str(tmp_path / "run")])
    assert code == 0
    assert "warning:" in err and "4 times without a UTC offset" in err and "site.timezone is not set" in err
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert len(manifest["warnings"]) == 1 and "read as UTC" in manifest["warnings"][0]
    # saying UTC (or any zone) silences it; the offsets-bearing files of write_site never warn
    site_path.write_text(to_toml({**doc, "site": {**doc["site"], "timezone": "UTC"}}))
    assert load_site(site_path).warnings == []
    code, _, err = invoke(["validate", str(site_path)])
    assert code == 0 and "warning" not in err
    assert np.allclose(load_site(site_path).price_usd_per_mwh, [20.0, 50.0, 150.0, 80.0])


def test_hour_ending_fall_back_read_as_starts_says_so(tmp_path):
    # a fall-back day in hour-ending labels: 02:00 ends both 01:00 hours; read as starts it is a duplicate
    labels = hour_ending_labels("2024-11-03", 1, CHI)
    assert labels.count("2024-11-03 02:00") == 2 and len(labels) == 25
    path = write(tmp_path, [(t.replace("2024-11-03 24:00", "2024-11-04 00:00"), i) for i, t in enumerate(labels)])
    msgs = problems_of(lambda: load_price_series(path, timezone=CHI, where="site.toml: prices"))
    assert any("repeats 1 time" in m and 'prices.time_label = "end"' in m for m in msgs)
    s = load_price_series(write(tmp_path, [(t, i) for i, t in enumerate(labels)], name="e.csv"), timezone=CHI,
                          time_label="end")
    assert list(s.index) == list(pd.date_range("2024-11-03T05:00Z", periods=25, freq="h"))
    assert s.tolist() == [float(i) for i in range(25)]
