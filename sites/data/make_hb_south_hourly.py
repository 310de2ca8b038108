"""Build ``ercot_hb_south_hourly.csv`` from the 15-minute ERCOT HB_SOUTH file.

Reads ``../shared/data/raw/ercot_hb_south_dam_rtm/hb_south_dam_rtm_15min_20240601_20250327.csv``
(next to the repository; not part of it) and writes hourly means with
explicit UTC offsets. DST handling (see README.md in this folder):

- 2025-03-09 (spring forward): the 4 rows 02:00-02:45 name wall-clock times
  that do not exist in America/Chicago (the source author interpolated them);
  they are dropped, so the day has 23 hours.
- 2024-11-03 (fall back): the source has 24 wall-clock hours (the whole day
  was linearly interpolated by its author); 01:00-01:45, written once, is
  taken as the first (CDT) occurrence, and the missing second occurrence,
  01:00 CST = 07:00 UTC, is linearly interpolated in time between its
  neighbours (= their mean), so the day has 25 hours.

Run: ``python sites/data/make_hb_south_hourly.py`` (prints the stats for README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TZ = "America/Chicago"
HERE = Path(__file__).resolve().parent
RAW = (HERE.parents[2] / "shared" / "data" / "raw" / "ercot_hb_south_dam_rtm"
       / "hb_south_dam_rtm_15min_20240601_20250327.csv")
OUT = HERE / "ercot_hb_south_hourly.csv"
COLUMNS = {"HB_SOUTH_RTM": "hb_south_rtm_usd_per_mwh", "HB_SOUTH_DAM": "hb_south_dam_usd_per_mwh"}


def build() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(hourly table as written, unrounded hourly means) from the raw file."""
    raw = pd.read_csv(RAW)
    wall = pd.to_datetime(raw["Time"], format="%Y-%m-%d %H:%M:%S")
    local = wall.dt.tz_localize(TZ, ambiguous=np.ones(len(wall), bool), nonexistent="NaT")
    gap = local.isna()
    assert list(wall[gap].astype(str)) == [f"2025-03-09 02:{m:02d}:00" for m in (0, 15, 30, 45)], wall[gap]
    values = raw.loc[~gap, list(COLUMNS)].rename(columns=COLUMNS)
    hour = local[~gap].dt.tz_convert("UTC").dt.floor("h")
    counts = values.groupby(hour.to_numpy()).size()
    assert (counts == 4).all(), counts[counts != 4]
    hourly = values.groupby(hour.to_numpy()).mean()
    hours = pd.date_range(hourly.index[0], hourly.index[-1], freq="h", unit="us")
    hourly = hourly.reindex(hours)
    missing = hourly.index[hourly.isna().any(axis=1)]
    assert list(missing) == [pd.Timestamp("2024-11-03T07:00Z")], missing
    hourly = hourly.interpolate(method="time")
    table = hourly.round(4)
    table.insert(0, "interval_start", [t.tz_convert(TZ).isoformat() for t in hourly.index])
    return table, hourly


def main() -> None:
    table, hourly = build()
    table.to_csv(OUT, index=False, columns=["interval_start", *COLUMNS.values()], lineterminator="\n")
    print(f"rows {len(table)}; {table['interval_start'].iloc[0]} to {table['interval_start'].iloc[-1]} (interval starts)")
    print(f"UTC {hourly.index[0]} to {hourly.index[-1]}")
    for name in COLUMNS.values():
        print(f"{name}: mean {hourly[name].mean():.6f} (file {table[name].mean():.6f}), "
              f"min {table[name].min()}, max {table[name].max()}, negative hours {(table[name] < 0).sum()}")
    print("filled hour 2024-11-03T01:00-06:00:", table.loc[hourly.index == "2024-11-03T07:00Z"].to_dict("records"))


if __name__ == "__main__":
    main()
