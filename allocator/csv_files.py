"""CSV files that a spreadsheet opens safely.

Text cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) are written with a leading ``'``;
:func:`unescape_cell` reverses it exactly (the reports read the CSVs back).
Numbers are written at full precision (``repr``-exact floats).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
    """A copy of ``frame`` with every text cell escaped."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(escape_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (escaped, no index) to ``path``."""
    escape_frame(frame).to_csv(path, index=False, lineterminator="\n")
