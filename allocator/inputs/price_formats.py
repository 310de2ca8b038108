"""Reading price and profile files: text, separators and the three price formats.

The readers turn a CSV file into a :class:`RawSeries`: one entry per data row
with its line number in the file, its time (site-local wall-clock time or an
explicit UTC instant) and its value. Everything wrong that a reader can see
is appended to a list of :class:`~allocator.errors.Problem`; nothing here
raises for a user mistake. Time zones, DST, hourly averaging, windows and
gaps are handled downstream in :mod:`allocator.inputs.series`.

Formats
-------
``csv``
    A time column and a value column (generic).
``ercot_spp``
    ERCOT settlement point price reports (day-ahead NP4-190, real-time
    NP6-905): ``Delivery Date``, ``Delivery Hour`` or ``Hour Ending``,
    optional ``Delivery Interval``, ``Settlement Point Name``,
    ``Settlement Point Price``, optional ``DSTFlag``.
``gridstatus``
    gridstatus exports: ``Interval Start``, ``Interval End``, ``Location``
    and ``LMP`` or ``SPP``.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.inputs import time_labels as tl
from allocator.inputs.row_text import SHOWN, YEARS, count, describe_rows, plausible  # noqa: F401 - used as pf.*
from allocator.errors import Problem
from allocator.inputs.files import MAX_TABLE_BYTES, encoding_problem, size_text

FORMATS = ("auto", "csv", "ercot_spp", "gridstatus")

ISO_FIX = (
    "Write times in ISO 8601: site-local like 2024-06-01T00:00 or with a UTC offset "
    "like 2024-06-01T00:00-05:00 (dates such as 6/1/2024 are ambiguous)."
)
_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_US_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_MISSING_MARKS = ["nan", "na", "n/a", "#n/a", "null", "none", "-", "--", "?", "#value!"]
_HOUR = re.compile(r"^(\d{1,2})(?::00)?$")


def norm(name: str) -> str:
    """Column name folded for matching: ``"Delivery Date"`` -> ``"deliverydate"``."""
    return re.sub(r"[\s_\-]", "", name).lower()


@dataclass
class Table:
    """A CSV file as stripped text cells.

    Parameters
    ----------
    path : Path
        The file.
    columns : list of str
        Header names (blank names become ``"column N"``).
    cells : dict of str to numpy.ndarray
        Each column's cells as an object array of stripped strings.
    lines : numpy.ndarray
        1-based line number in the file of each data row (header = line 1).
    sep : str
        The field separator found: ``","``, ``";"`` or a tab.
    """

    path: Path
    columns: list[str]
    cells: dict[str, np.ndarray]
    lines: np.ndarray
    sep: str

    def subset(self, mask: np.ndarray) -> Table:
        """The rows where ``mask`` is true."""
        cells = {name: col[mask] for name, col in self.cells.items()}
        return Table(self.path, self.columns, cells, self.lines[mask], self.sep)


@dataclass
class RawSeries:
    """Rows of a time series as read, before time zones are applied.

    Parameters
    ----------
    lines : numpy.ndarray
        Line number in the file of each row.
    time_text : numpy.ndarray
        Each row's time as written (for messages).
    wall : pandas.Series
        Naive site-local wall-clock time; NaT where the row has an offset or no readable time.
    utc : pandas.Series
        UTC instant of rows written with an offset; NaT elsewhere.
    date_only : numpy.ndarray
        True where the time is a bare date (a local midnight).
    repeated : numpy.ndarray or None
        True where the file marks a row as the second (standard-time)
        occurrence of the fall-back hour (ERCOT ``DSTFlag = Y``); None when
        the file cannot say, so occurrence order decides.
    values : numpy.ndarray
        The values [file units]; NaN where not a number.
    value_text : numpy.ndarray
        The values as written (for messages).
    value_column : str
        The column the values came from.
    """

    lines: np.ndarray
    time_text: np.ndarray
    wall: pd.Series
    utc: pd.Series
    date_only: np.ndarray
    repeated: np.ndarray | None
    values: np.ndarray
    value_text: np.ndarray
    value_column: str


def read_table(path: Path, where: str, problems: list[Problem]) -> Table | None:
    """Read a CSV file as text cells, or append problems and return None."""
    text = _decode(path, where, problems)
    if text is None:
        return None
    header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    sep = max([",", ";", "\t"], key=header_line.count)
    plain = _plain_table(text, sep)
    if plain is not None:
        header, table_cells = plain
        return _table(path, where, problems, header, table_cells, np.arange(2, len(table_cells) + 2), [], sep)
    return _csv_table(path, text, sep, where, problems)


def _csv_table(path: Path, text: str, sep: str, where: str, problems: list[Problem]) -> Table | None:
    """:func:`read_table` by the csv module: quoting, blank lines and ragged rows."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    too_long: list[int] = []
    ragged = 0
    try:
        for row in reader:
            row = [cell.strip() for cell in row]
            if not any(row):
                continue
            if header is None:
                header = row
                continue
            width = len(header)
            ragged += len(row) != width
            if len(row) > width:
                if any(row[width:]):
                    too_long.append(reader.line_num)
                row = row[:width]
            rows.append(row + [""] * (width - len(row)))
            lines.append(reader.line_num)
    except csv.Error as exc:
        problems.append(Problem(where, f"{path} is not a readable CSV file (line {reader.line_num}: {exc}).",
                                "Export it again as CSV (UTF-8)."))
        return None
    if header is None or not rows:
        what = "is empty" if header is None else "has a header but no data rows"
        problems.append(Problem(where, f"{path} {what}.", "Point to a file with a header and one row per interval."))
        return None
    return _table(path, where, problems, header, rows, np.array(lines, dtype=np.int64), too_long, sep, ragged)


def _table(path: Path, where: str, problems: list[Problem], header: list[str], rows, lines: np.ndarray,
           too_long: list[int], sep: str, ragged: int = 0) -> Table | None:
    """The :class:`Table` of the header and rows read (a list of rows, or a (rows, columns) array of
    cells), or None with the problems of its header and shape."""
    if len(header) < 2 or ragged > len(rows) // 2:  # not a table: quote nothing from it (it may be any file)
        shape = ("its first line has no ',', ';' or tab separator" if len(header) < 2
                 else f"{ragged} of its {len(rows)} rows do not have the first line's {len(header)} fields")
        problems.append(Problem(where, f"{path} is not a CSV table: {shape}.",
                                "Point to a CSV file with a header line (a time column and a value column) "
                                "and one row per interval."))
        return None
    columns = [name or f"column {i + 1}" for i, name in enumerate(header)]
    doubled = sorted({name for name in columns if columns.count(name) > 1})
    if doubled:
        problems.append(Problem(where, f"{path} has more than one column named {', '.join(map(repr, doubled))}.",
                                "Give every column a distinct name."))
        return None
    if too_long:
        problems.append(Problem(
            where, f"{path}: more fields than the header's {len(columns)} on {count(len(too_long), 'row')}: "
                   f"{describe_rows(np.array(too_long))}.",
            "Check the separator and quote values that contain it."))
    table_cells = rows if isinstance(rows, np.ndarray) else np.array(rows, dtype=object).reshape(len(rows),
                                                                                                 len(columns))
    cells = {name: table_cells[:, i] for i, name in enumerate(columns)}
    return Table(path, columns, cells, lines, sep)


#: what ``str.strip`` removes from an ASCII cell but blanks and tabs: a plain table has none of it
_ASCII_SPACE = "\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _plain_table(text: str, sep: str) -> tuple[list[str], np.ndarray] | None:
    """The header and (rows, columns) cells of the common CSV file, read with one split: ASCII text
    without quotes, NUL or white space (but the separator, line ends ``\\n`` or ``\\r\\n``, and blanks
    or tabs inside a cell), the header on line 1, every later line holding the header's number of
    fields and one cell that is not empty, the last line ended or not. None for anything else, which
    the csv module then reads (with its quoting, blank lines, ragged rows); where both read a file
    they give the same cells.
    """
    if not text.isascii() or '"' in text or "\x00" in text:
        return None
    body = text.replace("\r\n", "\n") if "\r" in text else text
    if any(ch in body for ch in _ASCII_SPACE):
        return None
    body = body[:-1] if body.endswith("\n") else body
    for blank in " \t":  # inside a cell ("2024-06-01 00:00"), never at its edges (stripped by the csv reading)
        if blank != sep and blank in body and (
                body.startswith(blank) or body.endswith(blank)
                or any(edge in body for edge in (sep + blank, blank + sep, "\n" + blank, blank + "\n"))):
            return None
    lines = body.split("\n")
    width = lines[0].count(sep) + 1
    if len(lines) < 2 or width < 2 or any(ln.count(sep) != width - 1 for ln in lines):
        return None
    if len(max(lines, key=len)) >= csv.field_size_limit():
        return None
    flat = np.array(sep.join(lines).split(sep), dtype=object).reshape(len(lines), width)
    if (flat == "").all(axis=1).any():  # a line of empty fields: the csv reading skips it
        return None
    return list(flat[0]), flat[1:]


def _decode(path: Path, where: str, problems: list[Problem]) -> str | None:
    """The file's text (UTF-8 with or without BOM, or UTF-16 with BOM)."""
    too_big = _too_big(path, where)
    if too_big is not None:
        problems.append(too_big)
        return None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(where, f"file {path} does not exist.",
                                "Check the path; paths in a site file are relative to the site file."))
        return None
    except OSError as exc:
        problems.append(Problem(where, f"cannot read {path}: {exc.strerror or exc}.",
                                "Check that it is a readable file, not a folder."))
        return None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    binary = encoding_problem(raw)
    if binary is not None:
        what, fix = binary
        problems.append(Problem(where, f"{path} is {what}, not CSV text.", fix))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(
            where, f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}).",
            "Save it as CSV UTF-8 (in Excel: Save As > CSV UTF-8)."))
        return None


def _too_big(path: Path, where: str) -> Problem | None:
    """A price or profile file beyond :data:`MAX_TABLE_BYTES`, refused before it is read."""
    try:
        size = path.stat().st_size
    except OSError:
        return None  # reading it says what is wrong
    if size <= MAX_TABLE_BYTES:
        return None
    return Problem(where, f"{path} is {size_text(size)}; the limit for a price or profile file is "
                          f"{size_text(MAX_TABLE_BYTES)} (about {MAX_TABLE_BYTES / 40e6:.1f} million rows).",
                   "Cut it to the site's window (and its one node), e.g. with a filter on the time column, "
                   "and point the site file at the smaller file.")


def parse_numbers(cells: np.ndarray, sep: str) -> np.ndarray:
    """Numbers from text cells [float64]; NaN where a cell is not a number.

    With ``;`` or tab separators a comma is the decimal mark (``"12,5"``,
    ``"1.234,5"``); with ``,`` separators a quoted ``"1,234.5"`` has
    thousands separators.
    """
    text = pd.Series(cells, dtype=object)
    comma = text.str.contains(",", regex=False).fillna(False).to_numpy(bool)
    if comma.any():
        if sep == ",":
            fixed = text[comma].where(~text[comma].str.fullmatch(_US_THOUSANDS), text[comma].str.replace(",", ""))
        else:
            fixed = text[comma].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        text = text.copy()
        text[comma] = fixed
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")


def detect_format(table: Table) -> str:
    """The price format a header looks like: ``"ercot_spp"``, ``"gridstatus"`` or ``"csv"``."""
    names = {norm(c) for c in table.columns}
    if {"deliverydate", "settlementpointprice"} <= names and names & {"deliveryhour", "hourending"}:
        return "ercot_spp"
    if {"intervalstart", "location"} <= names:
        return "gridstatus"
    return "csv"


def _find(table: Table, *candidates: str) -> str | None:
    """The table's column whose folded name is the first of ``candidates`` present."""
    folded = {norm(c): c for c in table.columns}
    return next((folded[c] for c in candidates if c in folded), None)


def _named_column(table: Table, name: str, field: str, where: str, problems: list[Problem]) -> str | None:
    """``name`` if the table has that column, else a problem listing the columns."""
    if name in table.columns:
        return name
    close = difflib.get_close_matches(name, table.columns, n=1, cutoff=0.6)
    close += [c for c in table.columns if c.lower() == name.lower() and c not in close]
    hint = f"Did you mean {close[0]!r}? " if close else ""
    problems.append(Problem(
        where, f"{field} = {name!r} is not a column of {table.path}; its columns are "
               f"{', '.join(map(repr, table.columns))}.",
        f"{hint}Set {field} to one of those names."))
    return None


def _value_column(table: Table, column: str | None, exclude: set[str], where: str,
                  problems: list[Problem], candidates: tuple[str, ...] = ()) -> str | None:
    """The value column: ``column`` if given, else a known name, else the only numeric column."""
    if column is not None:
        return _named_column(table, column, "column", where, problems)
    known = [c for c in table.columns if norm(c) in candidates]
    if len(known) == 1:
        return known[0]
    pool = known or [c for c in table.columns if c not in exclude]
    if len(pool) == 1:
        return pool[0]
    numeric = [c for c in pool if _looks_numeric(table.cells[c], table.sep)]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric:
        problems.append(Problem(where, f"{table.path} has no numeric value column; its columns are "
                                       f"{', '.join(map(repr, table.columns))}.",
                                "Add a column of numbers, or check the separator."))
    else:
        problems.append(Problem(where, f"{table.path} has several numeric columns: "
                                       f"{', '.join(map(repr, numeric))}.",
                                "Set column to the one that holds the values."))
    return None


def _looks_numeric(cells: np.ndarray, sep: str) -> bool:
    """Some cells are numbers, and at least half of the non-blank ones are numbers or missing-value marks."""
    filled = cells[cells != ""]
    numbers = parse_numbers(filled, sep)
    marks = np.isin(np.char.lower(filled.astype(str)), _MISSING_MARKS)
    return bool(np.isfinite(numbers).any()) and (~np.isnan(numbers) | marks).sum() >= 0.5 * len(filled)


def _pick_location(table: Table, loc_col: str, location: str | None, where: str,
                   problems: list[Problem]) -> Table | None:
    """The rows of one location (settlement point)."""
    names = table.cells[loc_col]
    found = list(dict.fromkeys(names))
    shown = ", ".join(map(repr, found[:12])) + (f" and {len(found) - 12} more" if len(found) > 12 else "")
    if location is None:
        if len(found) == 1:
            return table
        problems.append(Problem(where, f"{table.path} holds {len(found)} locations in {loc_col!r}: {shown}.",
                                "Set location to the one to use."))
        return None
    mask = names == location
    if not mask.any():
        mask = np.char.lower(names.astype(str)) == location.lower()
    if not mask.any():
        problems.append(Problem(where, f"location {location!r} is not in column {loc_col!r} of {table.path}; "
                                       f"it holds {shown}.", "Set location to one of those names."))
        return None
    return table.subset(mask)


def parse_iso_times(table: Table, column: str, where: str, problems: list[Problem], spec: tl.TimeSpec | None = None):
    """ISO 8601 times of a column (or ``spec.time_format``): (wall, utc, date_only); unreadable ones are reported.

    ``24:00`` is midnight at the end of the day; it is accepted only where the table says
    ``time_label = "end"`` (read as interval starts it would shift the file by a day's last hour).
    """
    spec = spec or tl.TimeSpec()
    text = pd.Series(table.cells[column], dtype=object)
    plain = None if spec.time_format is not None else plain_iso_times(table.cells[column])
    if plain is not None:
        return plain
    if spec.time_format is not None:
        wall, utc = tl.parse_with_format(text, spec.time_format, end_labels=spec.time_label == "end")
        what, fix = f"a time in time_format {spec.time_format!r}", ""
        date_only = np.zeros(len(text), bool)
    else:
        text, is24 = tl.end_of_day_labels(text)
        if is24.any() and spec.time_label != "end":
            problems.append(tl.hour_24_problem(table.path, column, table.lines, table.cells[column], is24,
                                               where, spec.field))
        offset = _matching(text, _OFFSET.search, _may_have_offset)
        wall = plausible(_to_datetime(text.where(~offset, ""), utc=False))
        utc = plausible(_to_datetime(text.where(offset, ""), utc=True))
        what, fix = "an ISO 8601 time", ISO_FIX
        date_only = _matching(text, _DATE_ONLY.fullmatch, lambda s: len(s) == 10)
    bad = wall.isna().to_numpy() & utc.isna().to_numpy()
    if bad.any():
        cells = table.cells[column]
        fix = tl.format_fix(cells[bad], spec, fix)
        problems.append(Problem(
            where, f"{table.path}: time in column {column!r} is not {what} in {YEARS[0]}-{YEARS[1]} on "
                   f"{count(bad.sum(), 'row')}: {describe_rows(table.lines[bad], cells[bad])}.", fix))
    return wall, utc, date_only


#: the layouts :func:`plain_iso_times` reads, by length: (seconds, offset): "2024-06-01T05:00",
#: "2024-06-01T05:00:00", each alone, with "Z" or with "-05:00" (a "T" or a space between date and time)
_PLAIN_LAYOUTS = {16: (False, ""), 19: (True, ""), 17: (False, "Z"), 20: (True, "Z"), 22: (False, "+"),
                  25: (True, "+")}
_ZERO = ord("0")


def plain_iso_times(cells: np.ndarray) -> tuple[pd.Series, pd.Series, np.ndarray] | None:
    """:func:`parse_iso_times` of the common column, read with numpy: every cell a valid time of one
    layout of :data:`_PLAIN_LAYOUTS` (ASCII digits, a real date and time of day in :data:`YEARS`);
    None for anything else (an odd cell, a mix of layouts, ``24:00``), which pandas then reads.

    Returns the same ``(wall, utc, date_only)`` as pandas' reading: the naive times (NaT where a
    time has an offset) [datetime64[us]], the instants of those with an offset (NaT elsewhere)
    [datetime64[us, UTC]], and no bare date.
    """
    n = len(cells)
    if n == 0 or not all(type(c) is str for c in cells):
        return None
    width = len(cells[0])
    if width not in _PLAIN_LAYOUTS or min(map(len, cells)) != width or max(map(len, cells)) != width:
        return None
    text = np.asarray(cells, dtype=f"<U{width}")
    code = text.view(np.uint32).reshape(n, width)
    seconds, offset = _PLAIN_LAYOUTS[width]
    digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15] + ([17, 18] if seconds else [])
    tail = 19 if seconds else 16
    literal = {4: "-", 7: "-", 13: ":"} | ({16: ":"} if seconds else {})
    if offset == "Z":
        literal[tail] = "Z"
    elif offset == "+":
        digits += [tail + 1, tail + 2, tail + 4, tail + 5]
        literal[tail + 3] = ":"
    d = code[:, digits].astype(np.int64) - _ZERO
    if (d < 0).any() or (d > 9).any():
        return None
    if any((code[:, i] != ord(ch)).any() for i, ch in literal.items()):
        return None
    if not ((code[:, 10] == ord("T")) | (code[:, 10] == ord(" "))).all():
        return None
    if offset == "+" and not ((code[:, tail] == ord("+")) | (code[:, tail] == ord("-"))).all():
        return None
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    hour, minute = d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11]
    second = d[:, 12] * 10 + d[:, 13] if seconds else np.zeros(n, np.int64)
    if ((year < YEARS[0]) | (year > YEARS[1]) | (month < 1) | (month > 12) | (day < 1) | (hour > 23)
            | (minute > 59) | (second > 59)).any():
        return None
    first = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    date = first.astype("datetime64[D]") + (day - 1)
    if (date.astype("datetime64[M]") != first).any():  # 31 April, 30 February
        return None
    wall = (date.astype("datetime64[us]") + (hour * 3600 + minute * 60 + second) * 1_000_000)
    if offset == "+":
        sign = np.where(code[:, tail] == ord("-"), -1, 1)
        off_h, off_m = d[:, -4] * 10 + d[:, -3], d[:, -2] * 10 + d[:, -1]
        if ((off_h > 23) | (off_m > 59)).any():
            return None
        wall = wall - sign * (off_h * 3600 + off_m * 60) * 1_000_000
    nat = pd.Series(np.full(n, np.datetime64("NaT", "us")))
    if offset:
        utc = pd.Series(pd.DatetimeIndex(wall.astype("datetime64[us]")).tz_localize("UTC"))
        return nat, utc, np.zeros(n, bool)
    return pd.Series(wall.astype("datetime64[us]")), nat.dt.tz_localize("UTC"), np.zeros(n, bool)


def _may_have_offset(s: str) -> bool:
    """False when ``s`` cannot end in a UTC offset (``Z``, ``+05``, ``-05:30``): most plain times."""
    tail = s.rstrip("\n")[-6:]
    return tail[-1:] in ("z", "Z") or "+" in tail or "-" in tail


def _matching(text: pd.Series, match, candidate) -> np.ndarray:
    """``match`` of every string cell, tried only where ``candidate`` says it can hold (False elsewhere)."""
    return np.fromiter((isinstance(s, str) and candidate(s) and match(s) is not None for s in text),
                       dtype=bool, count=len(text))


def _to_datetime(text: pd.Series, utc: bool) -> pd.Series:
    """ISO 8601 strings to datetimes, NaT where unreadable (element-wise fallback)."""
    try:
        out = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    except (ValueError, TypeError, OverflowError):
        out = pd.Series([_one_datetime(t, utc) for t in text], index=text.index)
        out = pd.to_datetime(out, utc=utc) if out.notna().any() else out.astype("datetime64[us]")
    if utc and out.dt.tz is None:
        out = out.dt.tz_localize("UTC")
    if not utc and out.dt.tz is not None:  # pragma: no cover - the offset pattern keeps these apart
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    return out.astype("datetime64[us, UTC]" if utc else "datetime64[us]")


def _one_datetime(text: str, utc: bool):
    try:
        ts = pd.to_datetime(text, format="ISO8601", utc=utc)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    return ts if utc or ts.tz is None else pd.NaT


def _raw(table: Table, value_col: str, time_text: np.ndarray, wall: pd.Series, utc: pd.Series,
         date_only: np.ndarray, repeated: np.ndarray | None) -> RawSeries:
    cells = table.cells[value_col]
    return RawSeries(table.lines, time_text, wall.reset_index(drop=True), utc.reset_index(drop=True),
                     date_only, repeated, parse_numbers(cells, table.sep), cells, value_col)


def read_csv_series(table: Table, time_column: str | None, column: str | None, where: str,
                    problems: list[Problem], spec: tl.TimeSpec | None = None) -> RawSeries | None:
    """Generic CSV: a time column (default the first) and a value column."""
    time_col = table.columns[0] if time_column is None else _named_column(
        table, time_column, "time_column", where, problems)
    if time_col is None:
        return None
    value_col = _value_column(table, column, {time_col}, where, problems)
    if value_col is None:
        return None
    if value_col == time_col:
        problems.append(Problem(where, f"column {column!r} is also the time column.",
                                "Set time_column and column to different columns."))
        return None
    wall, utc, date_only = parse_iso_times(table, time_col, where, problems, spec)
    return _raw(table, value_col, table.cells[time_col], wall, utc, date_only, None)


def read_gridstatus(table: Table, time_column: str | None, column: str | None, location: str | None,
                    where: str, problems: list[Problem], spec: tl.TimeSpec | None = None) -> RawSeries | None:
    """gridstatus export: ``Interval Start``, ``Location``, ``LMP`` or ``SPP`` (``Interval End`` is not needed)."""
    time_col = _find(table, "intervalstart") if time_column is None else _named_column(
        table, time_column, "time_column", where, problems)
    loc_col = _find(table, "location")
    missing = (["Interval Start"] if time_column is None and time_col is None else []) + (
        ["Location"] if loc_col is None else [])
    if missing:
        problems.append(Problem(where, f"{table.path} lacks the gridstatus column(s) {', '.join(missing)}; "
                                       f"its columns are {', '.join(map(repr, table.columns))}.",
                                'Use a gridstatus export, or set format = "csv".'))
        return None
    part = _pick_location(table, loc_col, location, where, problems)
    skip = {time_col, loc_col, _find(table, "intervalend"), _find(table, "time")}
    value_col = _value_column(table, column, skip, where, problems, candidates=("lmp", "spp"))
    if part is None or value_col is None or time_col is None:
        return None
    wall, utc, date_only = parse_iso_times(part, time_col, where, problems, spec)
    return _raw(part, value_col, part.cells[time_col], wall, utc, date_only, None)


def read_ercot_spp(table: Table, column: str | None, location: str | None, where: str,
                   problems: list[Problem]) -> RawSeries | None:
    """ERCOT settlement point prices; interval start = date + (hour - 1) h + (interval - 1) * 15 min."""
    date_col = _find(table, "deliverydate")
    hour_col = _find(table, "deliveryhour", "hourending")
    loc_col = _find(table, "settlementpointname", "settlementpoint")
    price_col = _find(table, "settlementpointprice") if column is None else _named_column(
        table, column, "column", where, problems)
    needed = {"Delivery Date": date_col, "Delivery Hour or Hour Ending": hour_col,
              "Settlement Point Name": loc_col}
    if column is None:
        needed["Settlement Point Price"] = price_col
    missing = [name for name, col in needed.items() if col is None]
    if missing:
        problems.append(Problem(where, f"{table.path} lacks the ERCOT column(s) {', '.join(missing)}; "
                                       f"its columns are {', '.join(map(repr, table.columns))}.",
                                'Use an ERCOT settlement point price report, or set format = "csv".'))
        return None
    part = _pick_location(table, loc_col, location, where, problems)
    if part is None or price_col is None:
        return None
    dates = part.cells[date_col]
    day = pd.to_datetime(pd.Series(dates, dtype=object), format="%m/%d/%Y", errors="coerce")
    day = plausible(day.fillna(_to_datetime(pd.Series(dates, dtype=object), utc=False).dt.normalize()))
    hour = pd.to_numeric(pd.Series(part.cells[hour_col], dtype=object).str.extract(_HOUR)[0], errors="coerce")
    interval_col = _find(part, "deliveryinterval")
    interval = pd.Series(1.0, index=hour.index) if interval_col is None else pd.to_numeric(
        pd.Series(part.cells[interval_col], dtype=object), errors="coerce")
    bad = (day.isna() | ~hour.between(1, 24) | ~interval.isin([1, 2, 3, 4])).to_numpy(bool)
    time_text = dates + " hour " + part.cells[hour_col]
    if interval_col is not None:
        time_text = time_text + " interval " + part.cells[interval_col]
    if bad.any():
        problems.append(Problem(
            where, f"{table.path}: unreadable delivery date, hour (1-24) or interval (1-4) on "
                   f"{count(bad.sum(), 'row')}: {describe_rows(part.lines[bad], time_text[bad])}.",
            "Dates are MM/DD/YYYY, hours 1..24 or 01:00..24:00, intervals 1..4."))
    offset = pd.to_timedelta((hour - 1) * 60 + (interval - 1) * 15, unit="min")
    wall = (day + offset).where(~bad).astype("datetime64[us]")
    repeated = np.zeros(len(wall), dtype=bool)
    dst_col = _find(part, "dstflag")
    if dst_col is not None:
        flag = np.char.upper(part.cells[dst_col].astype(str))
        repeated = flag == "Y"
        odd = ~np.isin(flag, ["Y", "N", ""])
        if odd.any():
            problems.append(Problem(where, f"{table.path}: DSTFlag is not Y or N on {count(odd.sum(), 'row')}: "
                                           f"{describe_rows(part.lines[odd], part.cells[dst_col][odd])}.",
                                    "Use Y on the repeated fall-back hour and N elsewhere."))
    utc = pd.Series(pd.NaT, index=wall.index, dtype="datetime64[us, UTC]")
    return _raw(part, price_col, time_text, wall, utc, np.zeros(len(wall), dtype=bool), repeated)
