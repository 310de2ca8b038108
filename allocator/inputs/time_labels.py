"""What a time series' time cells mean: their text format and which end of the interval they label.

A series table may say ``time_format`` (a strftime pattern for times that are
not ISO 8601, such as ``07/06/2023 00:00``) and ``time_label``: ``"start"``
(the default: a label is the start of its interval) or ``"end"`` (hour-ending
data, as ERCOT and most utilities publish it: ``2024-03-10 02:00`` is the hour
01:00-02:00 and ``24:00`` is midnight at the end of the day).

An end label is turned into the interval's start in wall-clock time
(label minus the file's step) before the time zone is applied, which is what
makes hour-ending files regular across DST changes: on the spring-forward day
hour-ending labels skip 03:00 (its start, 02:00, does not exist) and on the
fall-back day the label 02:00 is written for both 01:00 hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allocator.errors import Problem
from allocator.inputs.row_text import count, describe_rows, plausible

if TYPE_CHECKING:
    from allocator.inputs.price_formats import RawSeries

from allocator.time_fields import TIME_FORMAT_DOC, TIME_LABEL_DOC, TIME_LABELS, check_time_format  # noqa: F401


@dataclass(frozen=True)
class TimeSpec:
    """How a series table says its times are written.

    Parameters
    ----------
    time_format : str or None
        strftime pattern of the time cells; None: ISO 8601.
    time_label : {"start", "end"}
        Which end of its interval a time labels.
    field : str
        The table's name in the site file, for fixes (e.g. ``"prices"``, ``"mining.hashprice"``).
    """

    time_format: str | None = None
    time_label: str = "start"
    field: str = "prices"
HOUR = pd.Timedelta(hours=1)
#: the patterns a message tries on times that do not parse (the first that reads every cell is named)
COMMON_FORMATS = (
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M", "%d-%m-%Y %H:%M",
    "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d%H%M",
)
_HOUR_24 = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]24:00(?::00)?$")
_SAMPLE = 2000  # cells a format is tried on (the first rows)


def end_of_day_labels(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``2024-03-10 24:00`` -> ``2024-03-11T00:00``: the text with 24:00 labels replaced, and their mask."""
    is24 = np.fromiter((isinstance(s, str) and "24:00" in s and _HOUR_24.match(s) is not None for s in text),
                       dtype=bool, count=len(text))
    if not is24.any():
        return text, is24
    days = pd.to_datetime(text[is24].str.slice(0, 10), format="%Y-%m-%d", errors="coerce") + pd.Timedelta(days=1)
    text = text.copy()
    text[is24] = days.dt.strftime("%Y-%m-%dT%H:%M").where(days.notna(), text[is24])
    return text, is24


def hour_24_problem(path, column: str, lines: np.ndarray, cells: np.ndarray, is24: np.ndarray,
                    where: str, field: str) -> Problem:
    """24:00 in a series read as interval starts: such labels end their interval."""
    return Problem(where, f"{path}: time 24:00 in column {column!r} on {is24.sum()} row(s) "
                          f"({describe_rows(lines[is24], cells[is24])}); 24:00 ends a day, so the labels look "
                          f"hour-ending.",
                   f'Set {field}.time_label = "end" if each time ends its interval.')


def parse_with_format(text: pd.Series, time_format: str, end_labels: bool = False) -> tuple[pd.Series, pd.Series]:
    """Times written in ``time_format`` (strftime): (naive wall-clock times, UTC instants); NaT where unreadable.

    A pattern with ``%z`` gives instants with their offset; any other gives wall-clock times. With
    ``end_labels`` an hour ``24:00`` is midnight at the end of its day.
    """
    aware = "%z" in time_format or "%Z" in time_format
    is24 = np.zeros(len(text), bool)
    if end_labels and "%H" in time_format:
        is24 = text.str.contains(r"(?<!\d)24:00", regex=True, na=False).to_numpy(bool)
        if is24.any():
            text = text.copy()
            text[is24] = text[is24].str.replace(r"(?<!\d)24:00", "00:00", n=1, regex=True)
    try:
        parsed = pd.to_datetime(text, format=time_format, errors="coerce", utc=aware)
    except (ValueError, TypeError, OverflowError):
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]" if aware else "datetime64[us]")
    if is24.any():
        parsed = parsed.where(~is24, parsed + pd.Timedelta(days=1))
    naive_nat = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    utc_nat = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if aware:
        return naive_nat, plausible(parsed.astype("datetime64[us, UTC]"))
    return plausible(parsed.astype("datetime64[us]")), utc_nat


def fitting_formats(cells: np.ndarray) -> list[str]:
    """The patterns of :data:`COMMON_FORMATS` that read every non-blank cell (of the first rows)."""
    sample = pd.Series([c for c in cells[:_SAMPLE] if isinstance(c, str) and c.strip()], dtype=object)
    if sample.empty:
        return []
    fits = []
    for fmt in COMMON_FORMATS:
        try:
            parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            continue
        if parsed.notna().all():
            fits.append(fmt)
    return fits


def format_fix(cells: np.ndarray, spec: TimeSpec, iso_fix: str) -> str:
    """How to read ``cells``, times that did not parse: the ``time_format`` that fits them, if one does
    (``iso_fix``: the advice for ISO 8601 times; empty when the table gave a ``time_format``)."""
    field = spec.field
    if spec.time_format is not None:
        fits = [f for f in fitting_formats(cells) if f != spec.time_format]
        return (f'Check the pattern: "{fits[0]}" reads every one of these times.' if fits else
                "Check the pattern against these cells (strftime codes: %Y year, %m month, %d day, "
                "%H hour, %M minute).")
    fits = fitting_formats(cells)
    if len(fits) == 1:
        return f'Set {field}.time_format = "{fits[0]}" (it reads every one of these times), or {iso_fix[0].lower()}{iso_fix[1:]}'
    if fits:
        shown = " or ".join(f'"{f}"' for f in fits[:2])
        return (f"Set {field}.time_format to {shown}: both read every one of these times (no day is above 12), "
                f"so say which one the file uses. Or {iso_fix[0].lower()}{iso_fix[1:]}")
    return iso_fix + f' A non-ISO layout can be declared with {field}.time_format (a strftime pattern, e.g. "%d.%m.%Y %H:%M").'


def file_step(wall: pd.Series, utc: pd.Series) -> pd.Timedelta:
    """The interval of a series: the most common gap between consecutive distinct times (1 hour if unknown)."""
    times = wall.dropna() if wall.notna().any() else utc.dropna()
    values = np.unique(pd.DatetimeIndex(times).as_unit("us").asi8)
    gaps = np.diff(values)
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return HOUR
    steps, counts = np.unique(gaps, return_counts=True)
    return pd.Timedelta(int(steps[np.argmax(counts)]), unit="us")


def to_interval_start(wall: pd.Series, utc: pd.Series, step: pd.Timedelta) -> tuple[pd.Series, pd.Series]:
    """End labels -> interval starts: wall-clock labels minus ``step`` (then localized), instants minus ``step``."""
    return wall - step, utc - step


def looks_hour_ending(wall: pd.Series, timezone: str) -> bool:
    """True when naive times read as interval starts show the DST signature of hour-ending data: times in
    spring-forward gaps, or fall-back times written twice that clocks do not repeat, all of which vanish
    when the times are read as interval ends (labels minus one step)."""
    naive = wall.dropna()
    if naive.empty:
        return False
    step = file_step(naive, pd.Series(dtype="datetime64[us, UTC]"))
    if step > HOUR:
        return False
    shifted = naive - step
    if _nonexistent(naive, timezone).any():
        return not _nonexistent(shifted, timezone).any()
    doubled = naive.duplicated(keep=False).to_numpy()
    if not doubled.any():
        return False
    return bool(not _ambiguous(naive[doubled], timezone).any() and _ambiguous(shifted[doubled], timezone).all())


def _ambiguous(wall: pd.Series, timezone: str) -> np.ndarray:
    n = len(wall)
    dst = wall.dt.tz_localize(timezone, ambiguous=np.ones(n, bool), nonexistent="NaT")
    std = wall.dt.tz_localize(timezone, ambiguous=np.zeros(n, bool), nonexistent="NaT")
    return (dst.notna() & (dst != std)).to_numpy()


def _nonexistent(wall: pd.Series, timezone: str) -> np.ndarray:
    n = len(wall)
    local = wall.dt.tz_localize(timezone, ambiguous=np.ones(n, bool), nonexistent="NaT")
    return local.isna().to_numpy()


def collapsed_fall_back(wall: pd.Series, times: pd.DatetimeIndex, rows: np.ndarray,
                        timezone: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Rows of a fall-back hour written only once whose second (standard-time) occurrence is absent.

    Such a file wrote one row for the wall-clock hour that clocks repeat (hour-ending data often does:
    the label 02:00 ends both 01:00 hours); its value stands for both occurrences.

    Parameters
    ----------
    wall : pandas.Series
        Naive wall-clock times (NaT where the row has an offset) [site time].
    times : pandas.DatetimeIndex
        Each row's instant as read (the daylight occurrence for these rows) [UTC].
    rows : numpy.ndarray
        Rows that take part (dated, not in a gap).
    timezone : str
        IANA time zone.

    Returns
    -------
    (numpy.ndarray, pandas.DatetimeIndex)
        Positions of those rows, and the standard-time instant of each [UTC].
    """
    naive = wall.notna().to_numpy() & np.asarray(rows, bool)
    if not naive.any():
        return np.zeros(0, np.int64), pd.DatetimeIndex([], tz="UTC")
    n = len(wall)
    dst = wall.dt.tz_localize(timezone, ambiguous=np.ones(n, bool), nonexistent="NaT")
    std = wall.dt.tz_localize(timezone, ambiguous=np.zeros(n, bool), nonexistent="NaT")
    ambiguous = naive & dst.notna().to_numpy() & (dst != std).to_numpy()
    if not ambiguous.any():
        return np.zeros(0, np.int64), pd.DatetimeIndex([], tz="UTC")
    once = ambiguous & ~wall.duplicated(keep=False).to_numpy()
    second = pd.DatetimeIndex(std.dt.tz_convert("UTC"))
    present = set(times[np.asarray(rows, bool)].floor("h").as_unit("ns").asi8)
    picked = np.flatnonzero(once)
    keep = np.array([second[i].floor("h").value not in present for i in picked], dtype=bool)
    picked = picked[keep] if picked.size else picked
    return picked, second[picked]


def label_starts(raw: RawSeries, spec: TimeSpec) -> RawSeries:
    """Interval starts of a series whose times are interval ends (``time_label = "end"``); ERCOT reports
    (``raw.repeated`` set) already give starts."""
    if spec.time_label != "end" or raw.repeated is not None:
        return raw
    step = file_step(raw.wall, raw.utc)
    wall, utc = to_interval_start(raw.wall, raw.utc, step)
    return replace(raw, wall=wall, utc=utc)


def say_naive_utc(raw: RawSeries, say: bool, where: str, path: Path, warnings: list[Problem]) -> None:
    """Warn that times without an offset are read as UTC because the site file sets no time zone."""
    naive = raw.wall.notna().to_numpy()
    if say and naive.any():
        i = np.flatnonzero(naive)[0]
        warnings.append(Problem(
            where, f"{path}: {count(int(naive.sum()), 'time')} without a UTC offset (first, line {raw.lines[i]}: "
                   f"{raw.time_text[i]!r}) read as UTC, because site.timezone is not set.",
            'If they are local times, set site.timezone (e.g. "America/Chicago"); if they are UTC, '
            'set site.timezone = "UTC" to say so.'))


def with_collapsed_fall_back(raw: RawSeries, times: pd.DatetimeIndex, gap: np.ndarray,
                             timezone: str) -> tuple[RawSeries, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Rows of a fall-back hour written once also stand for its second (standard-time) occurrence:
    the series with copies of them at that instant, and the mask of the copies."""
    rows = times.notna() & ~gap
    picked, second = collapsed_fall_back(raw.wall, times, rows, timezone)
    if picked.size == 0:
        return raw, times, gap, np.zeros(len(gap), bool)
    order = np.concatenate([np.arange(len(raw.lines)), picked])
    wall, utc = raw.wall.iloc[order].reset_index(drop=True), raw.utc.iloc[order].reset_index(drop=True)
    repeated = None if raw.repeated is None else raw.repeated[order]
    grown = replace(raw, lines=raw.lines[order], time_text=raw.time_text[order], wall=wall, utc=utc,
                    date_only=raw.date_only[order], repeated=repeated, values=raw.values[order],
                    value_text=raw.value_text[order])
    copies = np.concatenate([np.zeros(len(gap), bool), np.ones(picked.size, bool)])
    return grown, times.append(second), np.concatenate([gap, np.zeros(picked.size, bool)]), copies


def say_collapsed(raw: RawSeries, times: pd.DatetimeIndex, copies: np.ndarray, where: str, path: Path,
                  warnings: list[Problem], show) -> None:
    """Warn that a fall-back hour written once was used for both of its occurrences (``copies``: those used;
    ``show`` writes an instant for people)."""
    if not copies.any():
        return
    shown = sorted({show(t.floor("h")) for t in times[copies]})
    warnings.append(Problem(
        where, f"{path} writes the hour that clocks repeat on the fall-back day once "
               f"({describe_rows(raw.lines[copies], raw.time_text[copies])}); its value is used for both "
               f"occurrences (the second: {'; '.join(shown[:3])}).",
        "Write the hour twice (daylight time, then standard time) or with UTC offsets to give each its own value."))


def interval_start_utc(index: pd.DatetimeIndex) -> np.ndarray:
    """``index`` as the ``interval_start_utc`` text of the output tables, ``2024-06-01T05:00:00Z``.

    The same text as ``index.strftime("%Y-%m-%dT%H:%M:%SZ")`` (tested), formatted by numpy: pandas'
    strftime formats each hour in Python, 5x slower on a site-year.
    """
    utc = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
    return np.datetime_as_string(utc.values.astype("datetime64[s]"), unit="s", timezone="UTC")
