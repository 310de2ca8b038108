"""Price, hashprice and profile series on an hourly UTC grid.

Everything about time lives here: site-local wall-clock times and their DST
traps, explicit UTC offsets, averaging finer data to hours, windows, gaps and
fills. File formats are read by :mod:`allocator.inputs.price_formats`.

Conventions (see docs/model.md): every hour is labelled by its start in UTC
(``interval_start_utc``); a time written without an offset is wall-clock time
in the site's time zone; a time with an offset (``Z``, ``-05:00``) is honored.
On the fall-back day a naive hour written twice is first daylight time, then
standard time; written once, its value stands for both occurrences (with a
warning). Naive times in the spring-forward gap do not exist. A series whose
times end their intervals (``time_label = "end"``) is turned into interval
starts first (:mod:`allocator.inputs.time_labels`).
"""

from __future__ import annotations

from datetime import date, datetime
from datetime import timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from allocator.inputs import price_formats as pf
from allocator.inputs import time_labels as tl
from allocator.errors import InputError, Problem
from allocator.inputs.schema import MAX_USD_PER_MWH
from allocator.inputs.subhourly import part_hours

PRICE_NAME = "price_usd_per_mwh"
INDEX_NAME = "interval_start_utc"
#: ``Series.attrs`` key of an hourly price series: True when the file holds exactly one row per hour
NATIVE_HOURLY = "native_hourly"
FILLS = ("ffill", "interpolate")
HOUR = pd.Timedelta(hours=1)
EDGE_TOLERANCE = pd.Timedelta(hours=24)  # a window may overhang the data by this much (then filled)
FILL_FIX = ('Fix the file, or set prices.fill = "ffill" (carry the last price forward) '
            'or "interpolate" (linear in time).')


def to_utc(text: str, timezone: str, where: str) -> pd.Timestamp:
    """Parse a time from a site file into UTC.

    Parameters
    ----------
    text : str
        ISO 8601 time: ``"2024-08-20T15:00"``, ``"2024-01-01"``,
        ``"2024-08-20T15:00-05:00"`` or ``"2024-08-20T20:00Z"``. Without an
        offset it is wall-clock time in ``timezone``.
    timezone : str
        IANA time zone of the site, e.g. ``"America/Chicago"``.
    where : str
        Label for problems, e.g. ``"sites/odessa.toml: curtailment[0].start"``.

    Returns
    -------
    pandas.Timestamp
        The instant [UTC].

    Raises
    ------
    InputError
        Unreadable text, unknown time zone, or a naive time that does not exist
        (spring-forward gap) or occurs twice (fall-back) in ``timezone``.
    """
    if isinstance(text, (datetime, date)):  # TOML dates and datetimes
        text = text.isoformat()
    clean = text.strip() if isinstance(text, str) else ""
    try:
        moment = datetime.fromisoformat(clean)
    except ValueError:
        raise InputError([Problem(where, f"{text!r} is not a time I can read.", pf.ISO_FIX)], where) from None
    if moment.tzinfo is not None:
        return pd.Timestamp(moment).tz_convert("UTC")
    zone, problem = _zone(timezone, where)
    if zone is None:
        raise InputError([problem], where)
    first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        shown = moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")
        offsets = [_offset_text(t) for t in (first, second)]
        if first.astimezone(dt_timezone.utc).astimezone(zone).replace(tzinfo=None, fold=0) != moment:
            message = f"{shown} does not exist in {timezone}: clocks spring forward over it."
            fix = f'Write it with an explicit UTC offset (e.g. "{shown}{offsets[0]}") or pick a time outside the gap.'
        else:
            message = (f"{shown} occurs twice in {timezone} (clocks fall back): first at UTC offset "
                       f"{offsets[0]} ({first.tzname()}), then at {offsets[1]} ({second.tzname()}).")
            fix = f'Write it with an explicit offset: "{shown}{offsets[0]}" or "{shown}{offsets[1]}".'
        raise InputError([Problem(where, message, fix)], where)
    return pd.Timestamp(first.astimezone(dt_timezone.utc)).tz_convert("UTC")


def load_price_series(path: Path, *, timezone: str | None = "UTC", fmt: str = "auto",
                      time_column: str | None = None, column: str | None = None,
                      location: str | None = None, start: str | None = None, end: str | None = None,
                      fill: str | None = None, where: str = "prices", time_label: str = "start",
                      time_format: str | None = None, warnings: list[Problem] | None = None,
                      native: bool = False) -> pd.Series:
    """Load an hourly power price series (or, with ``native``, the file's own intervals).

    Parameters
    ----------
    path : Path
        CSV file of prices [USD/MWh], hourly or finer (finer is averaged to hours).
    timezone : str or None
        IANA time zone of the site; times without an offset are wall-clock times there.
        None: the site file does not say; such times are read as UTC, with a warning.
    fmt : str
        ``"auto"`` (detect by header), ``"csv"``, ``"ercot_spp"`` or ``"gridstatus"``.
    time_column : str, optional
        Time column of a generic CSV (default the first column).
    column : str, optional
        Value column (default the only other numeric column; ``LMP``/``SPP`` for gridstatus).
    location : str, optional
        Settlement point / location to use when the file holds several.
    start, end : str, optional
        Window ``[start, end)`` in site time or with an offset (default the whole file).
        It may overhang the file's data by up to 24 hours; those hours are missing hours.
    fill : str, optional
        ``"ffill"`` (carry forward, then back for a leading gap) or ``"interpolate"``
        (linear in time) for missing hours; with a fill, naive times in the
        spring-forward gap are dropped instead of reported.
    where : str
        Label for problems, e.g. ``"sites/west_texas.toml: prices"``.
    time_label : {"start", "end"}
        Whether a time is the start or the end of its interval (hour-ending data:
        ``"end"``; ``24:00`` is then midnight at the end of the day). ERCOT reports
        are read by their own hour-ending columns and ignore it.
    time_format : str, optional
        strftime pattern of the time cells (default ISO 8601).
    warnings : list of Problem, optional
        Receives what was read in a way worth saying (naive times read as UTC,
        a fall-back hour written once, prices that look like other units).
    native : bool
        Keep the file's own intervals (15-minute settlement prices, say) instead of
        averaging them to hours; every check is the same (see :mod:`allocator.operate.native`).

    Returns
    -------
    pandas.Series
        ``price_usd_per_mwh`` [USD/MWh], float64, on a regular hourly index
        ``interval_start_utc`` [UTC, interval start].

    Raises
    ------
    InputError
        Every problem found in the file and the arguments, together.
    """
    path = Path(path)
    problems: list[Problem] = []
    warnings = [] if warnings is None else warnings
    say_utc, timezone = timezone is None, timezone or "UTC"
    spec = tl.TimeSpec(time_format, time_label, _field(where))
    _check_choice("time_label", time_label, tl.TIME_LABELS, where, problems)
    _check_choice("format", fmt, pf.FORMATS, where, problems)
    _check_choice("prices.fill", fill, FILLS, where, problems, optional=True)
    tz_ok = _zone(timezone, where, problems)[0] is not None
    window = [_window_end(text, timezone, f"{where}.{name}", problems) if tz_ok else None
              for name, text in (("start", start), ("end", end))]
    if window[0] is not None and window[1] is not None and window[0] >= window[1]:
        problems.append(Problem(f"{where}.end", f"start {start!r} is not before end {end!r}.",
                                "Set start < end (end is exclusive)."))
        window = [None, None]
    window_ok = (window[0] is not None) == (start is not None) and (window[1] is not None) == (end is not None)
    raw = _read(path, fmt, time_column, column, location, where, problems, spec)
    if raw is None or not tz_ok:
        raise InputError(problems, str(path))
    hour_ending = raw.repeated is None and time_label == "start" and tl.looks_hour_ending(raw.wall, timezone)
    raw = tl.label_starts(raw, spec)
    tl.say_naive_utc(raw, say_utc, where, path, warnings)
    located = _localize(raw, timezone, where, path, problems)
    if located is None:
        _report_values(raw, np.ones(len(raw.values), bool), "price", where, path, problems)
        raise InputError(problems, str(path))
    raw, times, gap, copies = tl.with_collapsed_fall_back(raw, *located, timezone)
    dated = times.notna() & ~gap
    if not dated.any():
        problems.append(Problem(where, f"{path} has no row with a usable time.", pf.ISO_FIX))
        raise InputError(problems, str(path))
    first, last_end = times[dated].min().floor("h"), times[dated].max().floor("h") + HOUR
    lo = first if window[0] is None else window[0].floor("h")
    hi = last_end if window[1] is None else window[1].ceil("h")
    inside = dated & (times >= lo) & (times < hi)
    if fill is None:
        _report_gap(raw, gap & (times >= lo) & (times < hi), timezone, where, path, problems, fill_hint=True,
                    hour_ending=hour_ending)
    _report_values(raw, inside, "price", where, path, problems)
    _report_extreme_prices(raw, inside, where, path, problems)
    _report_duplicates(raw, times, inside, timezone, where, path, problems, hour_ending)
    tl.say_collapsed(raw, times, copies & inside, where, path, warnings, lambda t: _show(t, timezone))
    if not window_ok:  # gaps and coverage depend on the window: wait until it is fixed
        raise InputError(problems, str(path))
    if lo >= last_end or hi <= first or lo < first - EDGE_TOLERANCE or hi > last_end + EDGE_TOLERANCE:
        problems.append(Problem(
            where, f"the window {_show(lo, timezone)} to {_show(hi, timezone)} is not covered by {path}, "
                   f"whose data run from {_show(first, timezone)} to {_show(last_end, timezone)} (end exclusive).",
            "Move prices.start/end inside that range, or use a file that covers the window."))
        raise InputError(problems, str(path))
    good = dated & np.isfinite(raw.values)
    hourly = pd.Series(raw.values[good], index=times[good].floor("h")).groupby(level=0).mean()
    hours = pd.date_range(lo, hi, freq="h", inclusive="left", unit="us", name=INDEX_NAME)
    missing = hours.difference(times[dated].floor("h"))
    if len(missing) and fill is None:
        problems.append(Problem(
            where, f"{path} has no price for {len(missing)} of the {len(hours)} hours from {_show(lo, timezone)} "
                   f"to {_show(hi, timezone)}; the first: {'; '.join(_show(t, timezone) for t in missing[:3])}.",
            _hour_ending_fix(spec.field) if hour_ending else FILL_FIX))
    part = None if native else part_hours(times[dated], hours)  # native intervals are never averaged
    if part is not None and fill is None:  # half an hour's average is not the hour's price: like a missing hour
        shown = "; ".join(f"{_show(t, timezone)} ({n} of {part.per_hour})"
                          for t, n in zip(part.hours[:3], part.counts[:3]))
        problems.append(Problem(
            where, f"{path} has {part.step_text()} data, but {len(part.hours)} of the {len(hours)} hours "
                   f"{'holds' if len(part.hours) == 1 else 'hold'} only part of the hour's {part.per_hour} "
                   f"intervals; the first: {shown}.",
            'Fix the file, or set prices.fill = "ffill" (or "interpolate") to accept such an hour as the '
            "average of the intervals it has (and to fill hours with none)."))
    prices = hourly.reindex(hours)
    median = prices.median()
    if np.isfinite(median) and median < 1.0:
        problems.append(Problem(where, f"median price {median:.4g} looks like USD/kWh; prices must be USD/MWh "
                                       f"(multiply by 1000).", f"Scale column {raw.value_column!r} of {path}."))
    if problems:
        raise InputError(problems, str(path))
    if len(missing):
        prices = _fill(hourly, hours, fill)
    if native:  # the same rows the hourly means are made of, at their own times
        keep = good & (times >= lo) & (times < hi)
        return pd.Series(raw.values[keep], index=pd.DatetimeIndex(times[keep], name=INDEX_NAME),
                         name=PRICE_NAME).sort_index()
    out = pd.Series(prices.to_numpy(dtype="float64"), index=pd.DatetimeIndex(hours, freq="h"), name=PRICE_NAME)
    # one row per hour, on the hour, no hour missing and no row in a spring-forward gap (the two things a
    # fill passes over): the hourly series is also the file at its own resolution, what ``native=True``
    # (which never fills) returns, so a backtest of this site need not read the file again
    keep = good & (times >= lo) & (times < hi)
    at = times[keep]
    out.attrs[NATIVE_HOURLY] = bool(not len(missing) and not (gap & (times >= lo) & (times < hi)).any()
                                    and keep.sum() == len(hours) and (at == at.floor("h")).all())
    return out


def load_profile_series(path: Path, index: pd.DatetimeIndex, *, timezone: str | None = "UTC",
                        time_column: str | None = None, column: str | None = None,
                        where: str = "profile", time_label: str = "start", time_format: str | None = None,
                        warnings: list[Problem] | None = None) -> np.ndarray:
    """Step a time+value CSV (daily, hourly or finer) onto hourly UTC intervals.

    Each hour takes the value of the latest row at or before it. Bare dates are
    local midnights in ``timezone``; rows finer than hourly are averaged to hours first.

    Parameters
    ----------
    path : Path
        CSV file with a time column and a value column, e.g. hashprice
        [USD/PH/day] or AI utilization [fraction].
    index : pandas.DatetimeIndex
        Hourly interval starts [UTC], tz-aware.
    timezone : str or None
        IANA time zone of the site (None: not set; naive times are read as UTC, with a warning).
    time_column, column : str, optional
        Time column (default the first) and value column (default the only other numeric one).
    where : str
        Label for problems, e.g. ``"sites/west_texas.toml: mining.hashprice"``.
    time_label : {"start", "end"}
        Whether a time starts or ends its interval (a daily file's ``"end"`` labels end their day).
    time_format : str, optional
        strftime pattern of the time cells (default ISO 8601).
    warnings : list of Problem, optional
        Receives what was read in a way worth saying (see :func:`load_price_series`).

    Returns
    -------
    numpy.ndarray
        float64 values, one per hour of ``index`` [file units].

    Raises
    ------
    InputError
        Unreadable file or values, duplicates, or hours before the first row.
    """
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise TypeError("index must be a tz-aware pandas.DatetimeIndex of hourly UTC interval starts")
    index = index.tz_convert("UTC")
    path = Path(path)
    problems: list[Problem] = []
    warnings = [] if warnings is None else warnings
    say_utc, timezone = timezone is None, timezone or "UTC"
    spec = tl.TimeSpec(time_format, time_label, _field(where))
    _check_choice("time_label", time_label, tl.TIME_LABELS, where, problems)
    tz_ok = _zone(timezone, where, problems)[0] is not None
    table = pf.read_table(path, where, problems)
    raw = None if table is None else pf.read_csv_series(table, time_column, column, where, problems, spec)
    if raw is None or not tz_ok:
        raise InputError(problems, str(path))
    hour_ending = time_label == "start" and tl.looks_hour_ending(raw.wall, timezone)
    raw = tl.label_starts(raw, spec)
    tl.say_naive_utc(raw, say_utc, where, path, warnings)
    located = _localize(raw, timezone, where, path, problems)
    if located is None or not located[0].notna().any():
        _report_values(raw, np.ones(len(raw.values), bool), "value", where, path, problems)
        raise InputError(problems, str(path))
    raw, times, gap, copies = tl.with_collapsed_fall_back(raw, *located, timezone)
    dated = times.notna()
    relevant = dated.copy()
    if len(index):
        in_force = times[dated & (times <= index.min())].max()
        if pd.notna(in_force):
            relevant &= times >= in_force
        relevant &= times < index.max() + HOUR
    _report_gap(raw, gap & relevant, timezone, where, path, problems, fill_hint=False, hour_ending=hour_ending)
    tl.say_collapsed(raw, times, copies & relevant, where, path, warnings, lambda t: _show(t, timezone))
    _report_values(raw, relevant, "value", where, path, problems)
    dated &= ~gap
    _report_duplicates(raw, times, dated, timezone, where, path, problems, hour_ending)
    good = dated & np.isfinite(raw.values)
    steps = pd.Series(raw.values[good], index=times[good].floor("h")).groupby(level=0).mean()
    if len(steps) == 0:
        problems.append(Problem(where, f"{path} has no usable row at or before the horizon's last hour "
                                       f"({_show(index[-1], timezone) if len(index) else 'none'}).",
                                "Add rows that cover the horizon."))
        raise InputError(problems, str(path))
    position = np.searchsorted(steps.index.as_unit("us").asi8, index.as_unit("us").asi8, side="right") - 1
    early = position < 0
    if early.any():
        problems.append(Problem(
            where, f"{path} starts at {_show(steps.index[0], timezone)}, after the first "
                   f"{pf.count(early.sum(), 'hour')} of the horizon (from {_show(index[0], timezone)}).",
            "Extend the file back to the start of the horizon, or start the horizon later."))
    if problems:
        raise InputError(problems, str(path))
    return steps.to_numpy(dtype="float64")[position]


def _read(path: Path, fmt: str, time_column: str | None, column: str | None, location: str | None,
          where: str, problems: list[Problem], spec: tl.TimeSpec | None = None) -> pf.RawSeries | None:
    """Read the file in its format (or the one its header shows)."""
    table = pf.read_table(path, where, problems)
    if table is None or fmt not in pf.FORMATS:
        return None
    kind = pf.detect_format(table) if fmt == "auto" else fmt
    if kind == "ercot_spp":
        if time_column is not None:
            problems.append(Problem(where, f"time_column does not apply to ERCOT file {path} (times come from "
                                           f"Delivery Date and hour).", "Remove time_column."))
        return pf.read_ercot_spp(table, column, location, where, problems)
    if kind == "gridstatus":
        return pf.read_gridstatus(table, time_column, column, location, where, problems, spec)
    if location is not None:
        problems.append(Problem(where, f"location = {location!r} is set but {path} is a plain time,value CSV "
                                       f"without locations.",
                                'Remove location, or set format = "ercot_spp" or "gridstatus".'))
    return pf.read_csv_series(table, time_column, column, where, problems, spec)


def _localize(raw: pf.RawSeries, timezone: str, where: str, path: Path,
              problems: list[Problem]) -> tuple[pd.DatetimeIndex, np.ndarray] | None:
    """UTC instant of every row (NaT where unreadable) and the mask of rows in a
    spring-forward gap (placed where clocks resume); None if times are unusable."""
    naive, aware = raw.wall.notna().to_numpy(), raw.utc.notna().to_numpy()
    if naive.any() and aware.any():
        i, j = np.flatnonzero(aware)[0], np.flatnonzero(naive)[0]
        problems.append(Problem(
            where, f"{path} mixes times with a UTC offset (line {raw.lines[i]}: {raw.time_text[i]!r}) and without "
                   f"one (line {raw.lines[j]}: {raw.time_text[j]!r}).",
            f"Give every time an offset, or none (then they are wall-clock times in {timezone})."))
        return None
    if not naive.any():
        return pd.DatetimeIndex(raw.utc), np.zeros(len(raw.utc), bool)
    n = len(raw.wall)
    dst = raw.wall.dt.tz_localize(timezone, ambiguous=np.ones(n, bool), nonexistent="NaT")
    std = raw.wall.dt.tz_localize(timezone, ambiguous=np.zeros(n, bool), nonexistent="NaT")
    gap = naive & dst.isna().to_numpy()
    if gap.any():
        dst[gap] = raw.wall[gap].dt.tz_localize(timezone, nonexistent="shift_forward")
        gap &= ~raw.date_only  # a date whose midnight is skipped starts when clocks resume
    ambiguous = naive & ~gap & (dst != std).to_numpy()
    if raw.repeated is not None:
        second = raw.repeated & ambiguous
        stray = raw.repeated & naive & ~ambiguous
        if stray.any():
            problems.append(Problem(
                where, f"{path}: DSTFlag = Y outside the repeated fall-back hour on {pf.count(stray.sum(), 'row')}: "
                       f"{pf.describe_rows(raw.lines[stray], raw.time_text[stray])}.",
                "Set DSTFlag = Y only on the second occurrence of the hour that clocks repeat."))
    else:  # written once: daylight time; written twice: daylight, then standard
        rows = np.flatnonzero(ambiguous)
        second = np.zeros(n, bool)
        second[rows] = pd.Series(rows).groupby(raw.wall.to_numpy()[rows]).cumcount().to_numpy() >= 1
    return pd.DatetimeIndex(dst.where(~second, std).dt.tz_convert("UTC")), gap


def _report_gap(raw: pf.RawSeries, gap: np.ndarray, timezone: str, where: str, path: Path,
                problems: list[Problem], fill_hint: bool, hour_ending: bool = False) -> None:
    """Problem naming the rows whose naive time falls in a spring-forward gap."""
    if gap.any():
        problems.append(Problem(
            where, f"{path}: times that do not exist in {timezone} (clocks spring forward over them) on "
                   f"{pf.count(gap.sum(), 'row')}: {pf.describe_rows(raw.lines[gap], raw.time_text[gap])}.",
            _hour_ending_fix(_field(where)) if hour_ending else "Delete them or write the times with UTC offsets" + (
                '; or set prices.fill = "ffill" to drop them and fill the hour.' if fill_hint else ".")))


def _report_values(raw: pf.RawSeries, rows: np.ndarray, what: str, where: str, path: Path,
                   problems: list[Problem]) -> None:
    """Problem naming the rows whose value is empty, not a number, NaN or infinite."""
    bad = np.asarray(rows, bool) & ~np.isfinite(raw.values)
    if bad.any():
        problems.append(Problem(
            where, f"{path}: no usable {what} in column {raw.value_column!r} (empty, not a number, NaN or "
                   f"infinite) on {pf.count(bad.sum(), 'row')}: "
                   f"{pf.describe_rows(raw.lines[bad], raw.value_text[bad])}.",
            "Correct or delete those rows" + (' (hours left without a price can then be filled with '
                                              'prices.fill = "ffill").' if what == "price" else ".")))


def _report_extreme_prices(raw: pf.RawSeries, rows: np.ndarray, where: str, path: Path,
                           problems: list[Problem]) -> None:
    """Problem naming the rows whose price is beyond +-MAX_USD_PER_MWH (a misread cell or wrong units)."""
    with np.errstate(invalid="ignore"):
        bad = np.asarray(rows, bool) & np.isfinite(raw.values) & (np.abs(raw.values) > MAX_USD_PER_MWH)
    if bad.any():
        problems.append(Problem(
            where, f"{path}: price beyond +-{MAX_USD_PER_MWH:,.0f} USD/MWh in column {raw.value_column!r} on "
                   f"{pf.count(bad.sum(), 'row')}: {pf.describe_rows(raw.lines[bad], raw.value_text[bad])}.",
            "Check those cells and the units (prices are USD/MWh)."))


def _report_duplicates(raw: pf.RawSeries, times: pd.DatetimeIndex, rows: np.ndarray, timezone: str, where: str,
                       path: Path, problems: list[Problem], hour_ending: bool = False) -> None:
    """Problem naming the times that occur more than once (after conversion to UTC)."""
    rows = np.asarray(rows, bool)
    doubled = np.zeros(len(times), bool)
    doubled[rows] = times[rows].duplicated(keep=False)
    if not doubled.any():
        return
    groups = list(pd.Series(raw.lines[doubled]).groupby(times[doubled], sort=True))
    shown = [f"{_show(moment, timezone)} (lines {', '.join(map(str, lines))})"
             for moment, lines in groups[: pf.SHOWN]]
    more = f" and {len(groups) - pf.SHOWN} more" if len(groups) > pf.SHOWN else ""
    problems.append(Problem(
        where, f"{path} repeats {pf.count(len(groups), 'time')} (after conversion to UTC): "
               f"{'; '.join(shown)}{more}.",
        _hour_ending_fix(_field(where)) if hour_ending else
        "Delete the duplicates; on the fall-back day give the repeated hour explicit UTC offsets "
        "(in ERCOT files: DSTFlag = Y on its second occurrence)."))


def _fill(hourly: pd.Series, hours: pd.DatetimeIndex, fill: str | None) -> pd.Series:
    """``hourly`` on ``hours``, gaps filled from all of the file's data (not only the window)."""
    span = pd.date_range(min(hourly.index.min(), hours[0]), max(hourly.index.max(), hours[-1]), freq="h", unit="us")
    full = hourly.reindex(span)
    if fill == "interpolate":
        full = full.interpolate(method="time")
    return full.ffill().bfill().reindex(hours)


def _window_end(text: str | None, timezone: str, where: str, problems: list[Problem]) -> pd.Timestamp | None:
    if text is None:
        return None
    try:
        return to_utc(text, timezone, where)
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def _zone(timezone: str, where: str, problems: list[Problem] | None = None):
    """(ZoneInfo, None) or (None, Problem); the problem is also appended to ``problems``."""
    try:
        return ZoneInfo(timezone), None
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        problem = Problem(where, f"time zone {timezone!r} is unknown.",
                          'Use an IANA name such as "America/Chicago" or "UTC".')
        if problems is not None:
            problems.append(problem)
        return None, problem


def _check_choice(field: str, value: str | None, choices: tuple[str, ...], where: str,
                  problems: list[Problem], optional: bool = False) -> None:
    if (value is None and optional) or value in choices:
        return
    problems.append(Problem(where, f"{field} = {value!r} is not one of {', '.join(map(repr, choices))}.",
                            f"Set {field} to one of those."))


def _offset_text(moment: datetime) -> str:
    """``"-05:00"`` for a datetime's UTC offset."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _show(moment: pd.Timestamp, timezone: str) -> str:
    """``"2024-03-10 03:00 CDT = 2024-03-10 08:00 UTC"`` (UTC alone for UTC sites)."""
    utc = moment.strftime("%Y-%m-%d %H:%M UTC")
    if timezone in ("UTC", "Etc/UTC"):
        return utc
    return f"{moment.tz_convert(timezone).strftime('%Y-%m-%d %H:%M %Z')} = {utc}"


def _field(where: str) -> str:
    """The table a problem label names: ``"sites/x.toml: mining.hashprice"`` -> ``"mining.hashprice"``."""
    return where.rpartition(": ")[2] or where


def _hour_ending_fix(field: str) -> str:
    return (f"The times look hour-ending (each labels the end of its hour: the nonexistent times and missing "
            f'hours sit exactly on the DST changes): set {field}.time_label = "end". Do not fill the gaps: that '
            f"would shift every value one hour early.")
