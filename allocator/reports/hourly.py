"""The hourly tables (``dispatch.csv``, ``shadow_prices.csv``) written site by site as each is solved.

For 50 site-years each table would be 60-150 MB as one DataFrame; written
one site at a time, only that site's rows are ever in memory, and the run
need not keep any site's hourly arrays once they are on disk.

Sites can bring different extra dispatch columns (a power contract adds
``contract_mw``, a demand-response program ``offered_mw_NAME``: see
docs/power.md). The file's header is the union of every site's
columns in order of first appearance, and a site's row leaves the columns it
does not have empty. The file is written with the first site's header; only
when a later site adds columns is it rewritten with the union, line by line.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

from ..csv_files import csv_lines, escape_frame

DISPATCH = "dispatch.csv"
SHADOW_PRICES = "shadow_prices.csv"
#: rows formatted at a time by pandas (the fallback of csv_text)
ROWS_PER_CHUNK = 1000
#: rows formatted at a time by csv_text: a site-year's dispatch in two or three pieces of a few MB
FAST_ROWS_PER_CHUNK = 4096


class HourlyWriter:
    """Append each solved site's hourly rows to ``dispatch.csv`` and ``shadow_prices.csv`` in ``folder``.

    Attributes
    ----------
    seconds : float
        Time spent writing so far [s].
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.seconds = 0.0
        self._parts: list[tuple[list[str], int]] = []  # dispatch: each site's columns and row count

    def add(self, solution) -> None:
        """Write one site's rows (an ``allocator.lp.results.SiteSolution``)."""
        from ..lp import marginal
        from ..lp import results

        t0 = time.perf_counter()
        first = not self._parts
        dispatch = results.dispatch_table([solution])
        self._append(DISPATCH, dispatch, header=first)
        self._parts.append((list(dispatch.columns), len(dispatch)))
        self._append(SHADOW_PRICES, marginal.shadow_prices_table([solution]), header=first)
        self.seconds += time.perf_counter() - t0

    def close(self) -> None:
        """Finish both files: headers only when no site was added; the union header when columns differ."""
        import pandas as pd

        from ..lp import marginal
        from ..lp import results

        t0 = time.perf_counter()
        if not self._parts:
            self._append(DISPATCH, pd.DataFrame(columns=list(results.DISPATCH_COLUMNS)), header=True)
            self._append(SHADOW_PRICES, pd.DataFrame(columns=list(marginal.SHADOW_COLUMNS)), header=True)
        else:
            union = union_columns([columns for columns, _ in self._parts])
            if any(columns != union for columns, _ in self._parts):
                self._widen(union)
        self.seconds += time.perf_counter() - t0

    def _path(self, name: str) -> Path:
        return self.folder / name

    def _append(self, name: str, frame, header: bool) -> None:
        # in chunks of rows: a whole site-year turned into one string at once was the largest
        # allocation of the run
        lines = csv_lines(frame, header)
        with open(self._path(name), "a", encoding="utf-8", newline="") as fh:
            if lines is None:  # a column csv_lines leaves to pandas
                escape_frame(frame).to_csv(fh, index=False, header=header, lineterminator="\n",
                                           chunksize=ROWS_PER_CHUNK)
                return
            for start in range(0, len(lines), FAST_ROWS_PER_CHUNK):
                fh.write("".join(line + "\n" for line in lines[start:start + FAST_ROWS_PER_CHUNK]))

    def _widen(self, union: list[str]) -> None:
        """Rewrite dispatch.csv with the union header, each site's fields moved to their columns."""
        source = self._path(DISPATCH)
        wider = source.with_name(f".{DISPATCH}.widening")
        with open(source, encoding="utf-8", newline="") as src, \
                open(wider, "w", encoding="utf-8", newline="") as dst:
            reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
            next(reader)  # the first site's header
            writer.writerow(union)
            for columns, n_rows in self._parts:
                where = [union.index(c) for c in columns]
                for _ in range(n_rows):
                    fields = next(reader)
                    row = [""] * len(union)
                    for i, value in zip(where, fields):
                        row[i] = value
                    writer.writerow(row)
        os.replace(wider, source)


def union_columns(parts: list[list[str]]) -> list[str]:
    """Every column of ``parts``, in order of first appearance."""
    out: list[str] = []
    for columns in parts:
        out += [c for c in columns if c not in out]
    return out


def write_hourly(solutions, folder: Path) -> float:
    """Write the hourly tables of ``solutions`` into ``folder``; return the seconds it took."""
    writer = HourlyWriter(folder)
    for s in solutions:
        writer.add(s)
    writer.close()
    return writer.seconds
