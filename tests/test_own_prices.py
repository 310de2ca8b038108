"""The capture share's prices at the file's own resolution, kept by the loader instead of read again.

When a price file holds exactly one row per hour, on the hour, with nothing filled, ``load_site``
keeps the price column as read (``Site.native_price_usd_per_mwh``) and
:func:`allocator.operate.capture.own_prices` returns it; it must be exactly what
:func:`allocator.operate.native.native_prices` reads from the file. Any other file (sub-hourly rows,
a filled gap, times off the hour) is read again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_site

from allocator.errors import InputError
from allocator.inputs.site import load_site
from allocator.operate.capture import own_prices
from allocator.operate.native import native_prices

REPO = Path(__file__).resolve().parents[1]
DOC = {"site": {"interconnect_mw": 100.0},
       "mining": {"pue": 1.1, "hashprice_usd_per_ph_day": 48.0,
                  "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 40.0}]}}


def reread(site):
    return native_prices(site, site.input_files["prices"], site.config.prices.column, f"{site.path}: prices",
                         like_site=True)


def assert_same(kept, read):
    assert kept.hours_per_interval == read.hours_per_interval
    assert str(kept.index.tz) == str(read.index.tz) == "UTC"
    np.testing.assert_array_equal(kept.index.as_unit("ns").asi8, read.index.as_unit("ns").asi8)
    assert kept.price_usd_per_mwh.dtype == read.price_usd_per_mwh.dtype == np.float64
    np.testing.assert_array_equal(kept.price_usd_per_mwh, read.price_usd_per_mwh)
    np.testing.assert_array_equal(kept.hour, read.hour)


@pytest.mark.parametrize("name", ["west_texas", "permian_hybrid"])
def test_bundled_campuses_keep_their_hourly_file(name):
    site = load_site(REPO / "sites" / f"{name}.toml")
    assert site.native_price_usd_per_mwh is not None
    assert_same(own_prices(site), reread(site))


def write_prices(folder: Path, times: list[str], prices: list[float], doc: dict, **prices_table) -> Path:
    path = write_site(folder, [0.0], {**doc, "prices": prices_table})
    pd.DataFrame({"time": times, "price_usd_per_mwh": prices}).to_csv(folder / "tiny_prices.csv", index=False)
    return path


@pytest.mark.parametrize("seed", range(12))
def test_generated_hourly_files_are_kept_exactly_as_read_again(tmp_path, seed):
    rng = np.random.default_rng(seed)
    zone = ["America/Chicago", "UTC", "Europe/Berlin"][seed % 3]
    # around both DST changes of 2024 in Chicago and Berlin
    start = pd.Timestamp(["2024-03-09", "2024-11-02", "2024-03-30", "2024-10-26"][seed % 4], tz=zone)
    utc = pd.date_range(start.tz_convert("UTC"), periods=int(rng.integers(30, 80)), freq="h")
    style = seed % 4
    if style == 0:  # offsets
        times = [t.tz_convert(zone).isoformat() for t in utc]
    elif style == 1:  # Z
        times = [t.strftime("%Y-%m-%dT%H:%MZ") for t in utc]
    elif style == 2:  # naive wall-clock starts (the repeated fall-back hour written twice)
        times = [t.tz_convert(zone).strftime("%Y-%m-%d %H:%M") for t in utc]
    else:  # hour-ending with offsets
        times = [(t + pd.Timedelta(hours=1)).tz_convert(zone).isoformat() for t in utc]
    prices = np.round(rng.normal(40, 30, utc.size), int(rng.integers(0, 6))).tolist()
    doc = {**DOC, "site": {**DOC["site"], "timezone": zone}}
    path = write_prices(tmp_path, times, prices, doc, **({"time_label": "end"} if style == 3 else {}))
    site = load_site(path)
    assert site.native_price_usd_per_mwh is not None
    kept = own_prices(site)
    assert_same(kept, reread(site))
    np.testing.assert_array_equal(kept.price_usd_per_mwh, prices)  # the file's numbers, in its order


def test_a_15_minute_file_is_read_again(tmp_path):
    utc = pd.date_range("2024-01-01T00:00:00Z", periods=16, freq="15min")
    path = write_prices(tmp_path, list(utc.strftime("%Y-%m-%dT%H:%M:%SZ")), list(range(16)), DOC)
    site = load_site(path)
    assert site.native_price_usd_per_mwh is None
    np.testing.assert_array_equal(site.price_usd_per_mwh, [1.5, 5.5, 9.5, 13.5])  # the hourly means
    prices = own_prices(site)
    assert prices.hours_per_interval == 0.25
    np.testing.assert_array_equal(prices.price_usd_per_mwh, np.arange(16.0))


@pytest.mark.parametrize("fill", [None, "ffill", "interpolate"])
def test_a_fill_that_fills_nothing_keeps_the_file(tmp_path, fill):
    utc = pd.date_range("2024-03-09T12:00:00Z", periods=30, freq="h")
    times = list(utc.tz_convert("America/Chicago").strftime("%Y-%m-%d %H:%M"))  # naive, over the spring-forward
    doc = {**DOC, "site": {**DOC["site"], "timezone": "America/Chicago"}}
    site = load_site(write_prices(tmp_path, times, list(np.arange(30.0) + 20), doc,
                                  **({"fill": fill} if fill else {})))
    assert site.native_price_usd_per_mwh is not None
    assert_same(own_prices(site), reread(site))


def test_a_row_in_the_spring_forward_gap_that_a_fill_dropped_is_read_again(tmp_path):
    # 02:00 does not exist on 2024-03-10 in Chicago: the fill drops the row, the file at its own
    # resolution (never filled) is refused, as the capture share then says
    doc = {**DOC, "site": {**DOC["site"], "timezone": "America/Chicago"}}
    times = ["2024-03-10 00:00", "2024-03-10 01:00", "2024-03-10 02:00", "2024-03-10 03:00", "2024-03-10 04:00"]
    site = load_site(write_prices(tmp_path, times, [20.0, 21.0, 22.0, 23.0, 24.0], doc, fill="ffill"))
    assert site.native_price_usd_per_mwh is None
    with pytest.raises(InputError, match="do not exist in America/Chicago"):
        own_prices(site)


def test_a_filled_hour_or_a_time_off_the_hour_is_read_again(tmp_path):
    utc = pd.date_range("2024-01-01T00:00:00Z", periods=6, freq="h")
    gap = [t for i, t in enumerate(utc.strftime("%Y-%m-%dT%H:%M:%SZ")) if i != 2]
    site = load_site(write_prices(tmp_path / "gap", gap, [1.0, 2.0, 4.0, 5.0, 6.0], DOC, fill="ffill"))
    assert site.native_price_usd_per_mwh is None and site.hours == 6
    shifted = list((utc + pd.Timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    site = load_site(write_prices(tmp_path / "half", shifted, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], DOC))
    assert site.native_price_usd_per_mwh is None
    assert_same(own_prices(site), reread(site))
