"""How the morning 4CP risk forecast (allocator/operate/peak_risk.py) does against ERCOT's real 4CP intervals.

For each summer of ERCOT's hourly native load (``../shared/data/raw/ercot_native_load``, 2018-2025),
forecasts every day of June-September from the load before it and counts the real 4CP intervals
(``../shared/data/raw/ercot_4cp/4CP_dates.csv``, 15-minute intervals labelled by their end, Central
prevailing time) that fall in a risk hour, the risk days, and the risk hours: the hours mining
stands down in when the site has a 4CP charge.

    .venv/bin/python benchmarks/peak_risk.py [--month-frac 0.97] [--season-frac 1.0] [--hour-band-frac 0.01]
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from allocator.operate import peak_risk  # noqa: E402

RAW = REPO.parent / "shared" / "data" / "raw"
TIMEZONE = "America/Chicago"


def raw_load(year: int, raw: Path = RAW) -> pd.Series:
    """ERCOT hourly native load of ``year``'s May-September [MW], UTC interval starts (no DST change in them)."""
    import openpyxl

    book = openpyxl.load_workbook(raw / "ercot_native_load" / f"Native_Load_{year}.xlsx", read_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() for h in next(rows)]
    col = header.index("ERCOT")
    starts, values = [], []
    for row in rows:
        label = row[0]
        if label is None:
            continue
        if isinstance(label, datetime):
            ending = label
        else:
            text = str(label).strip()
            if text.endswith("DST"):
                continue
            day, clock = text.split()
            ending = datetime.strptime(day, "%m/%d/%Y") + timedelta(hours=int(clock.split(":")[0]))
        start = ending - timedelta(hours=1)
        if 5 <= start.month <= 9:
            starts.append(start)
            values.append(float(row[col]))
    book.close()
    index = pd.DatetimeIndex(starts).tz_localize(TIMEZONE).tz_convert("UTC")
    return pd.Series(values, index=index, name="load_mw")


def real_intervals(year: int, raw: Path = RAW) -> list[pd.Timestamp]:
    """The four 4CP intervals of ``year``: the UTC start of the hour each 15-minute interval lies in."""
    table = pd.read_csv(raw / "ercot_4cp" / "4CP_dates.csv")
    row = table[table["Year"] == year]
    if row.empty:
        return []
    out = []
    for month in ("June", "July", "August", "September"):
        end = pd.Timestamp(datetime.strptime(row[month].iloc[0], "%m/%d/%Y %H:%M")).tz_localize(TIMEZONE)
        out.append((end - pd.Timedelta(minutes=15)).floor("h").tz_convert("UTC"))
    return out


def summer_table(years: list[int], raw: Path = RAW, **fracs: float) -> pd.DataFrame:
    """Per summer: real 4CP intervals, how many fell in a risk hour, risk days, risk (stood-down) hours."""
    rows = []
    for year in years:
        risks = peak_risk.season_risk(raw_load(year, raw), year, TIMEZONE, **fracs)
        flagged = {t for r in risks for t in r.hour_start_utc[r.risk_hour]}
        real = real_intervals(year, raw)
        rows.append({"summer": year, "real_4cp_intervals": len(real),
                     "flagged_4cp_intervals": sum(t in flagged for t in real),
                     "flagged_4cp_days": sum(any(r.day == t.tz_convert(TIMEZONE).date() and r.risk_day
                                                 for r in risks) for t in real),
                     "risk_days": sum(r.risk_day for r in risks), "stood_down_hours": len(flagged)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month-frac", type=float, default=peak_risk.MONTH_FRAC)
    parser.add_argument("--season-frac", type=float, default=peak_risk.SEASON_FRAC)
    parser.add_argument("--hour-band-frac", type=float, default=peak_risk.HOUR_BAND_FRAC)
    parser.add_argument("--raw", type=Path, default=RAW, help="The raw data folder (default ../shared/data/raw).")
    args = parser.parse_args()
    if not args.raw.is_dir():
        sys.exit(f"no raw data at {args.raw}")
    years = list(range(2018, 2026))
    table = summer_table(years, raw=args.raw, month_frac=args.month_frac, season_frac=args.season_frac,
                         hour_band_frac=args.hour_band_frac)
    total = table.drop(columns="summer").sum()
    print(f"month_frac {args.month_frac:g}, season_frac {args.season_frac:g}, hour_band_frac {args.hour_band_frac:g}")
    print(table.to_string(index=False))
    print(f"all: {total['flagged_4cp_intervals']} of {total['real_4cp_intervals']} real 4CP intervals in a risk hour "
          f"({total['flagged_4cp_days']} on a risk day), {total['risk_days']} risk days, "
          f"{total['stood_down_hours']} hours of mining stood down")


if __name__ == "__main__":
    main()
