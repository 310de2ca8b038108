"""Build ``ercot_load_2024_summer.csv`` from ERCOT's ``Native_Load_2024.xlsx``.

Reads ``../shared/data/raw/ercot_native_load/Native_Load_2024.xlsx`` (next to the repository;
not part of it: ERCOT's hourly native load archive) and writes the ``ERCOT`` column (system
total, MW, the hourly average as published) from 2024-05-01 to 2024-09-30 with the start of
each hour and an explicit UTC offset. ERCOT labels hours by their end (``HH:00`` ending,
``24:00`` = midnight); no DST change falls in these months.

Run: ``python sites/data/make_ercot_load_2024.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd

TZ = "America/Chicago"
HERE = Path(__file__).resolve().parent
RAW = HERE.parents[2] / "shared" / "data" / "raw" / "ercot_native_load" / "Native_Load_2024.xlsx"
OUT = HERE / "ercot_load_2024_summer.csv"


def main() -> None:
    book = openpyxl.load_workbook(RAW, read_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() for h in next(rows)]
    col = header.index("ERCOT")
    starts, values = [], []
    for row in rows:
        if row[0] is None or str(row[0]).strip().endswith("DST"):
            continue
        day, clock = str(row[0]).strip().split()
        start = datetime.strptime(day, "%m/%d/%Y") + timedelta(hours=int(clock.split(":")[0]) - 1)
        if 5 <= start.month <= 9:
            starts.append(start)
            values.append(float(row[col]))
    index = pd.DatetimeIndex(starts).tz_localize(TZ)
    frame = pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
        r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True), "ercot_load_mw": values})
    frame.to_csv(OUT, index=False)
    print(f"{len(frame)} hours, {frame['interval_start'].iloc[0]} to {frame['interval_start'].iloc[-1]}, "
          f"peak {frame['ercot_load_mw'].max():,.1f} MW at {frame['interval_start'].iloc[frame['ercot_load_mw'].idxmax()]}")


if __name__ == "__main__":
    main()
