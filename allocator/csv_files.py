"""CSV files that a spreadsheet opens safely.

Text cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) are written with a leading ``'``;
:func:`unescape_cell` reverses it exactly (the reports read the CSVs back).
Numbers are written at full precision (``repr``-exact floats), and a negative
zero (``-0.0``, what ``-1 * 0.0`` gives) as ``0.0``: a reader sees a cost of
nothing, not a sign. Every CSV of a run goes through :func:`escape_frame` or
:func:`csv_cell`, so this holds for all of them.

:func:`csv_text` writes the same bytes as ``escape_frame(frame).to_csv(...)``
column by column: numbers formatted by numpy in one call per column (the
shortest repr, as pandas does), only text columns escaped, each distinct text
once. The hourly tables (tens of thousands of cells a site-year) are written
with it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a frame is escaped or written, not on import
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
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column] + 0.0  # IEEE: -0.0 + 0.0 == +0.0; everything else unchanged
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(csv_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (escaped, no index) to ``path``: :func:`csv_text`, else through pandas."""
    text = csv_text(frame)
    if text is None:
        escape_frame(frame).to_csv(path, index=False, lineterminator="\n")
    else:
        Path(path).write_text(text, encoding="utf-8", newline="")


#: characters that make the csv module quote a field (delimiter, quote character, line breaks)
_QUOTED_CHARS = (",", '"', "\r", "\n")
#: first characters of a text that escape_cell may change
_ESCAPED_FIRSTS = frozenset(FORMULA_PREFIXES + ("'",))


def csv_text(frame: pd.DataFrame, header: bool = True) -> str | None:
    """``escape_frame(frame).to_csv(index=False, header=header, lineterminator="\\n")``, byte for byte,
    built column by column; None where :func:`csv_lines` is."""
    lines = csv_lines(frame, header)
    return None if lines is None else "".join(line + "\n" for line in lines)


def csv_lines(frame: pd.DataFrame, header: bool = True) -> list[str] | None:
    """The lines (without their ``\\n``) of :func:`csv_text`; None for a frame this fast path does not
    handle (a column of another dtype than float, integer, bool or text, a text column holding a
    non-text value, a single column), which the caller then writes through pandas.
    """
    if len(frame.columns) < 2 or not frame.columns.is_unique:
        return None
    columns = []
    for name in frame.columns:
        formatted = _column_text(frame[name])
        if formatted is None:
            return None
        columns.append(formatted)
    lines = [",".join(_quote(str(name)) for name in frame.columns)] if header else []
    lines += map(",".join, zip(*columns))
    return lines


def _column_text(series) -> list[str] | None:
    """The cells of one column as written, or None where pandas must write it.

    Each distinct value is formatted once (a site-year's grid cap, hashprice or AI draw take a few
    values over 8,760 hours; the shortest repr of a float costs about a microsecond).
    """
    dtype = series.dtype
    kind = dtype.kind if isinstance(dtype, np.dtype) else "?"  # nullable pandas dtypes: pandas writes them
    if kind == "f" and dtype.itemsize == 8:
        values = series.to_numpy(dtype=np.float64) + 0.0  # -0.0 as 0.0, as escape_frame
        distinct, where = np.unique(values, return_inverse=True)
        if distinct.size > values.size // 2:
            distinct, where = values, None
        text = distinct.astype(str)  # what pandas writes: numpy's shortest repr
        text[np.isnan(distinct)] = ""
        return (text if where is None else text[where]).tolist()
    if kind in "iu" or kind == "b":
        return series.to_numpy().astype(str).tolist()
    if kind in "OU" or str(dtype) in ("str", "string"):
        values = series.to_numpy(dtype=object).tolist()
        if set(map(type, values)) <= {str} and {v[:1] for v in values}.isdisjoint(_ESCAPED_FIRSTS):
            joined = "\0".join(values)
            if not any(c in joined for c in _QUOTED_CHARS):
                return values  # plain text (ids, timestamps): written as it is
        written: dict[object, str] = {}  # each distinct text escaped and quoted once
        cells = []
        for value in values:
            cell = written.get(value)
            if cell is None:
                if isinstance(value, str):
                    cell = _quote(csv_cell(value))
                elif value is None or (isinstance(value, float) and value != value):
                    cell = ""  # missing: pandas writes an empty field
                else:
                    return None
                written[value] = cell
            cells.append(cell)
        return cells
    return None


def _quote(text: str) -> str:
    """``text`` as the csv module writes it inside a row of several fields (QUOTE_MINIMAL)."""
    if any(c in text for c in _QUOTED_CHARS):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([text, ""])
        return buffer.getvalue()[:-2]
    return text
