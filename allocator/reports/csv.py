"""CSV files that a spreadsheet opens safely.

Text cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) are written with a leading ``'``.
Numbers are written at full precision (``repr``-exact floats).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """Prefix a formula-like text cell with ``'``; leave everything else alone."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell escaped."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(escape_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (escaped, no index) to ``path``."""
    escape_frame(frame).to_csv(path, index=False, lineterminator="\n")


def write_csv_parts(frames, path: Path, columns: list[str]) -> None:
    """Write frames one after another as one CSV (one header): the whole table never sits in memory.

    ``frames`` is an iterable of DataFrames with ``columns``; with none, only the header is written.
    """
    with open(path, "w", encoding="utf-8", newline="") as fh:
        header = True
        for frame in frames:
            escape_frame(frame).to_csv(fh, index=False, header=header, lineterminator="\n")
            header = False
        if header:
            pd.DataFrame(columns=columns).to_csv(fh, index=False, lineterminator="\n")
