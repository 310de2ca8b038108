"""CSV files that a spreadsheet opens safely.

Text cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) are written with a leading ``'``;
:func:`unescape_cell` reverses it exactly (the reports read the CSVs back).
Numbers are written at full precision (``repr``-exact floats), and a negative
zero (``-0.0``, what ``-1 * 0.0`` gives) as ``0.0``: a reader sees a cost of
nothing, not a sign. Every CSV of a run goes through :func:`escape_frame` or
:func:`csv_cell`, so this holds for all of them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell as written: text escaped (:func:`escape_cell`), ``-0.0`` as ``0.0``."""
    if isinstance(value, float) and value == 0.0:
        return 0.0
    return escape_cell(value)


def escape_cell(value: object) -> object:
    """Prefix a formula-like text cell with ``'``; leave everything else alone.

    A text that itself starts with ``'`` followed by a formula character or
    another ``'`` gets one more ``'``, so that :func:`unescape_cell` recovers
    every text exactly.
    """
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES) or _quoted(value)):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """The text :func:`escape_cell` was given: drop the protecting ``'``."""
    return text[1:] if _quoted(text) else text


def _quoted(text: str) -> bool:
    return text.startswith("'") and text[1:2] in FORMULA_PREFIXES + ("'",) and len(text) > 1


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` as written: every text cell escaped, every ``-0.0`` made ``0.0``."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column] + 0.0  # IEEE: -0.0 + 0.0 == +0.0; everything else unchanged
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(csv_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (escaped, no index) to ``path``."""
    escape_frame(frame).to_csv(path, index=False, lineterminator="\n")
