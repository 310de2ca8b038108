"""The 4CP risk of an operating day, forecast that morning from system load.

ERCOT levies transmission charges on a site's draw in the 15-minute interval of each
month's system peak, June to September (4CP). An operator planning day ``D`` knows the
system load up to the end of ``D - 1``. The forecast here uses only that:

- the day's **expected load** is persistence: each local hour of ``D`` is expected to
  draw what the same hour of ``D - 1`` drew, so the expected peak is yesterday's peak;
- the **month's running peak** is the highest hourly load of the month's days before
  ``D`` (on the first of a month: the highest of the 7 days before it);
- the **season's running peak** is the highest hourly load since June 1 before ``D``.

A day of a 4CP month is a risk day when its expected peak reaches ``month_frac`` of the
month's running peak (a new monthly peak is likely) or ``season_frac`` of the season's.
Its risk hours are the hours whose expected load is within ``hour_band_frac`` of the
expected peak. ``operate`` charges each risk hour as a listed 4CP interval, so with a
4CP charge mining stands down in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..inputs import series

CP_MONTHS = (6, 7, 8, 9)
"""ERCOT's 4CP months: June to September."""
MONTH_FRAC = 0.98
SEASON_FRAC = 0.97
HOUR_BAND_FRAC = 0.01
LOOKBACK_DAYS = 7


@dataclass
class DayRisk:
    """The 4CP risk forecast of one local day.

    Attributes
    ----------
    day : date
        The operating day (site time).
    expected_peak_mw : float
        Persistence forecast of the day's peak: the peak of the day before [MW].
    month_peak_mw : float
        Highest hourly load of the month before the day (first of a month: of the 7 days before) [MW].
    season_peak_mw : float
        Highest hourly load since June 1 before the day (the month's value outside the season) [MW].
    risk_day : bool
        The expected peak reaches ``month_frac`` of the month's or ``season_frac`` of the season's peak,
        in a 4CP month.
    hour_start_utc : pandas.DatetimeIndex
        The day's hourly interval starts [UTC].
    expected_load_mw : numpy.ndarray
        (H,) the expected load of each hour: the same local hour of the day before [MW].
    risk_hour : numpy.ndarray
        (H,) bool, the hours charged as 4CP intervals.
    """

    day: date
    expected_peak_mw: float
    month_peak_mw: float
    season_peak_mw: float
    risk_day: bool
    hour_start_utc: pd.DatetimeIndex
    expected_load_mw: np.ndarray
    risk_hour: np.ndarray


def day_risk(load_mw: pd.Series, day: date, timezone: str, month_frac: float = MONTH_FRAC,
             season_frac: float = SEASON_FRAC, hour_band_frac: float = HOUR_BAND_FRAC) -> DayRisk:
    """The 4CP risk of local day ``day`` from the hourly load before it.

    Parameters
    ----------
    load_mw : pandas.Series
        Hourly system load [MW], tz-aware index of interval starts. Only hours before ``day``
        (site time) are read.
    day : date
        Operating day, site time.
    timezone : str
        IANA zone of the site.
    month_frac, season_frac : float
        The expected peak flags the day when it reaches this share of the month's / season's running peak [-].
    hour_band_frac : float
        Hours whose expected load is within this share of the expected peak are risk hours [-].

    Raises
    ------
    ValueError
        ``load_mw`` has no hour on the day before ``day``.
    """
    tz = ZoneInfo(timezone)
    start = pd.Timestamp(datetime.combine(day, time(), tz))
    end = pd.Timestamp(datetime.combine(day + timedelta(days=1), time(), tz))
    hours = pd.date_range(start.tz_convert("UTC"), end.tz_convert("UTC"), freq="h", inclusive="left")
    local = load_mw.tz_convert(timezone)
    before = local[local.index < start]  # nothing of the day itself
    dates = before.index.date
    yesterday = before[dates == day - timedelta(days=1)]
    if yesterday.empty:
        raise ValueError(f"no load on {day - timedelta(days=1)}")
    month = before[before.index >= pd.Timestamp(datetime.combine(day.replace(day=1), time(), tz))]
    if month.empty:
        month = before[before.index >= pd.Timestamp(datetime.combine(day - timedelta(days=LOOKBACK_DAYS), time(), tz))]
    season = before[before.index >= pd.Timestamp(datetime.combine(date(day.year, CP_MONTHS[0], 1), time(), tz))]
    if season.empty or day.month not in CP_MONTHS:
        season = month
    by_hour = pd.Series(yesterday.to_numpy(float), index=yesterday.index.hour).groupby(level=0).max()
    expected = by_hour.reindex(hours.tz_convert(timezone).hour).to_numpy(float)
    peak = float(yesterday.max())
    month_peak, season_peak = float(month.max()), float(season.max())
    risky = day.month in CP_MONTHS and (peak >= month_frac * month_peak or peak >= season_frac * season_peak)
    risk_hour = risky & (np.nan_to_num(expected, nan=-np.inf) >= (1.0 - hour_band_frac) * peak)
    return DayRisk(day, peak, month_peak, season_peak, bool(risky), hours, expected, risk_hour)


def season_risk(load_mw: pd.Series, year: int, timezone: str, **fracs: float) -> list[DayRisk]:
    """:func:`day_risk` of every day of ``year``'s 4CP months (June 1 to September 30)."""
    days = pd.date_range(date(year, CP_MONTHS[0], 1), date(year, CP_MONTHS[-1], 30), freq="D").date
    return [day_risk(load_mw, d, timezone, **fracs) for d in days]


def read_load(path: Path, first: date, days: int, timezone: str, column: str | None = None,
              where: str = "--peak-load") -> pd.Series:
    """The hourly load of ``path`` that the forecast of days ``[first, first + days)`` reads [MW].

    From June 1 of the first day's year (or 7 days before ``first``, if earlier) to the last day's
    start: the file must cover those hours (a time column and a MW column, read as the site's
    other series files).

    Raises
    ------
    InputError
        Unreadable file, or hours of that span before its first row.
    """
    tz = ZoneInfo(timezone)
    begin = min(first - timedelta(days=LOOKBACK_DAYS), date(first.year, CP_MONTHS[0], 1))
    last = first + timedelta(days=days - 1)
    lo = pd.Timestamp(datetime.combine(begin, time(), tz)).tz_convert("UTC")
    hi = pd.Timestamp(datetime.combine(last, time(), tz)).tz_convert("UTC")
    index = pd.date_range(lo, hi, freq="h", inclusive="left")
    values = series.load_profile_series(Path(path), index, timezone=timezone, column=column, where=where)
    last = _last_time_utc(Path(path))
    if last is not None and last < index[-1] - pd.Timedelta(hours=12):  # (12 h: naive times read as UTC here)
        raise InputError([Problem(where, f"{path} ends at {last:%Y-%m-%d %H:%M} UTC, before the load the forecast of "
                                         f"{last_day_text(first, days)} needs (to {index[-1]:%Y-%m-%d %H:%M} UTC): "
                                         "its last value would be carried forward as the system load.",
                                  "Give a load file that runs to the day before the last operating day.")],
                         str(path))
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise InputError([Problem(where, f"{int(bad.sum())} hours have a load that is not a positive number of MW "
                                         f"(first {index[np.argmax(bad)]}).", "Fix the file's load column.")],
                         str(path))
    return pd.Series(values, index=index, name="load_mw")


def last_day_text(first: date, days: int) -> str:
    return first.isoformat() if days == 1 else f"{first} to {first + timedelta(days=days - 1)}"


def _last_time_utc(path: Path) -> pd.Timestamp | None:
    """The latest time in the file's first column (naive times read as UTC), None if none parses."""
    try:
        times = pd.to_datetime(pd.read_csv(path, usecols=[0]).iloc[:, 0], utc=True, errors="coerce",
                               format="ISO8601")
    except (ValueError, OSError):
        return None
    return None if times.isna().all() else times.max()
