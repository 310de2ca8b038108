"""Build ``ercot_hb_south_15min.csv``: the raw 15-minute ERCOT HB_SOUTH file with explicit UTC offsets.

The same source and the same DST handling as ``make_hb_south_hourly.py`` (README.md
in this folder), at the source's own 15-minute intervals:

- 2025-03-09 (spring forward): the 4 rows 02:00-02:45 name wall-clock times that
  do not exist in America/Chicago; they are dropped (the day has 92 intervals).
- 2024-11-03 (fall back): 01:00-01:45, written once, is the first (CDT) occurrence;
  the second occurrence, 01:00-01:45 CST = 07:00-07:45 UTC, has no rows and is
  linearly interpolated in time between its neighbours (the day has 100 intervals).

Every other row is a raw row, unchanged. The hourly means of this file are
``ercot_hb_south_hourly.csv`` (``tests/test_backtest.py`` checks it).

Run: ``python sites/data/make_hb_south_15min.py [RAW_CSV]`` (default: the raw file beside the repository).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

TZ = "America/Chicago"
HERE = Path(__file__).resolve().parent
RAW = (HERE.parents[2] / "shared" / "data" / "raw" / "ercot_hb_south_dam_rtm"
       / "hb_south_dam_rtm_15min_20240601_20250327.csv")
OUT = HERE / "ercot_hb_south_15min.csv"
COLUMNS = {"HB_SOUTH_RTM": "hb_south_rtm_usd_per_mwh", "HB_SOUTH_DAM": "hb_south_dam_usd_per_mwh"}


def build(raw_path: Path = RAW) -> pd.DataFrame:
    """The 15-minute table as written."""
    raw = pd.read_csv(raw_path)
    wall = pd.to_datetime(raw["Time"], format="%Y-%m-%d %H:%M:%S")
    local = wall.dt.tz_localize(TZ, ambiguous=np.ones(len(wall), bool), nonexistent="NaT")
    gap = local.isna()
    assert list(wall[gap].astype(str)) == [f"2025-03-09 02:{m:02d}:00" for m in (0, 15, 30, 45)], wall[gap]
    values = raw.loc[~gap, list(COLUMNS)].rename(columns=COLUMNS)
    values.index = pd.DatetimeIndex(local[~gap].dt.tz_convert("UTC"))
    full = pd.date_range(values.index[0], values.index[-1], freq="15min")
    values = values.reindex(full)
    missing = values.index[values.isna().any(axis=1)]
    assert list(missing) == list(pd.date_range("2024-11-03T07:00Z", periods=4, freq="15min")), missing
    values = values.interpolate(method="time")
    table = values.round(4)
    table.insert(0, "interval_start", [t.tz_convert(TZ).isoformat() for t in values.index])
    return table


def main() -> None:
    table = build(Path(sys.argv[1]) if len(sys.argv) > 1 else RAW)
    table.to_csv(OUT, index=False, lineterminator="\n")
    print(f"rows {len(table)}; {table['interval_start'].iloc[0]} to {table['interval_start'].iloc[-1]}")


if __name__ == "__main__":
    main()
