"""plan.periods.in_year: the numpy version is bit-identical to a Timestamp per hour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator.inputs.site import load_site
from allocator.plan.periods import in_year

from conftest import REPO


def in_year_per_timestamp(index_utc: pd.DatetimeIndex, year: int) -> pd.DatetimeIndex:
    """The reference: the former implementation, one Timestamp + Timedelta per hour."""
    idx = index_utc.tz_convert("UTC") if index_utc.tz is not None else index_utc.tz_localize("UTC")
    start = pd.to_datetime(pd.DataFrame({"year": idx.year, "month": 1, "day": 1})).dt.tz_localize("UTC")
    end = pd.to_datetime(pd.DataFrame({"year": idx.year + 1, "month": 1, "day": 1})).dt.tz_localize("UTC")
    share = ((idx - pd.DatetimeIndex(start)) / (pd.DatetimeIndex(end) - pd.DatetimeIndex(start))).to_numpy(float)
    y0 = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    y1 = pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC")
    return pd.DatetimeIndex(y0 + (y1 - y0) * share)  # an object array: one Timestamp per hour


def assert_bit_identical(index: pd.DatetimeIndex, year: int) -> None:
    got, want = in_year(index, year), in_year_per_timestamp(index, year)
    assert got.dtype == want.dtype
    assert np.array_equal(got.asi8, want.asi8)


@pytest.mark.parametrize("name", ["west_texas", "permian_hybrid"])
@pytest.mark.parametrize("unit", ["s", "us", "ns"])
def test_bundled_sites_in_every_plan_year(name, unit):
    index = load_site(REPO / "sites" / f"{name}.toml").index.as_unit(unit)
    for year in (2024, 2025, 2027, 2028, 2036):  # leap and common target years
        assert_bit_identical(index, year)


def test_a_dst_year_in_site_time_and_odd_minutes():
    # two DST changes in America/Chicago, a leap year, and 15-minute offsets inside the hour
    local = pd.date_range("2024-01-01", "2025-01-01", freq="h", tz="America/Chicago", inclusive="left")
    for year in (2025, 2028):
        assert_bit_identical(local, year)
    rng = np.random.default_rng(3)
    odd = pd.DatetimeIndex(np.sort(rng.integers(1.70e18, 1.80e18, 2000)).astype("datetime64[ns]"))
    assert_bit_identical(odd, 2030)
    assert_bit_identical(odd.tz_localize("UTC"), 2031)


def test_moved_hours_keep_their_share_of_the_year():
    index = pd.DatetimeIndex(["2024-07-02 00:00"], tz="UTC")  # 183 of 366 days into 2024
    moved = in_year(index, 2025)[0]
    assert moved == pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=365) * (183 / 366)
