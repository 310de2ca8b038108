"""Hours that sub-hourly data covers only in part.

A 5-minute price file averaged to hours needs twelve intervals per hour; an
hour with six of them is half an hour's price presented as the hour's. Such
an hour is reported like a missing one: without ``prices.fill`` it is a
problem naming the hours; with a fill the hour is accepted as the average of
the intervals it has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class PartHours:
    """Hours with fewer intervals than the data's step implies.

    Attributes
    ----------
    hours : pd.DatetimeIndex
        Start of each partly covered hour [UTC].
    counts : np.ndarray
        Intervals found in each of those hours.
    per_hour : int
        Intervals a whole hour holds at the data's step.
    step : pd.Timedelta
        The data's interval (the most common gap between consecutive times).
    """

    hours: pd.DatetimeIndex
    counts: np.ndarray
    per_hour: int
    step: pd.Timedelta

    def step_text(self) -> str:
        """``"5-minute"``, ``"15-minute"``, ``"30-second"``."""
        seconds = int(self.step.total_seconds())
        return f"{seconds // 60}-minute" if seconds % 60 == 0 else f"{seconds}-second"


def part_hours(times: pd.DatetimeIndex, hours: pd.DatetimeIndex) -> PartHours | None:
    """The hours of ``hours`` that ``times`` (interval starts, UTC) cover only in part, or None.

    Only data finer than an hour whose step divides the hour is checked; an hour with no
    interval at all is a missing hour, reported elsewhere.
    """
    unique = pd.DatetimeIndex(times).dropna().unique().sort_values()
    if len(unique) < 2:
        return None
    gaps = pd.Series(np.diff(unique.asi8))
    step = pd.Timedelta(int(gaps.mode().iloc[0]), unit=str(unique.unit))
    if step <= pd.Timedelta(0) or step >= HOUR or HOUR % step != pd.Timedelta(0):
        return None
    per_hour = HOUR // step
    counts = pd.Series(1, index=unique.floor("h")).groupby(level=0).size()
    counts = counts[counts.index.isin(hours)]
    short = counts[counts < per_hour]
    if short.empty:
        return None
    return PartHours(pd.DatetimeIndex(short.index), short.to_numpy(), int(per_hour), step)


__all__ = ["PartHours", "part_hours"]
