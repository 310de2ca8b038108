"""Real-time prices at their native resolution, mapped onto the site's hours.

The site reader averages sub-hourly prices to hours (the LP's step). A backtest
must not: an hour's mean hides the 15-minute spikes a threshold rule stands
down for. :func:`native_prices` reads the same file with the same checks at its
own intervals and says which site hour each interval falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..inputs.series import load_price_series
from ..inputs.site import Site


@dataclass(frozen=True)
class NativePrices:
    """Real-time prices per native interval.

    Attributes
    ----------
    index : pd.DatetimeIndex
        (N,) interval starts [UTC].
    price_usd_per_mwh : np.ndarray
        (N,) market price, without the site's adders [USD/MWh].
    hours_per_interval : float
        Length of every interval [h] (0.25 for 15-minute data).
    hour : np.ndarray
        (N,) position of each interval's hour in the site's hourly index.
    """

    index: pd.DatetimeIndex
    price_usd_per_mwh: np.ndarray
    hours_per_interval: float
    hour: np.ndarray


def native_prices(site: Site, path: Path, column: str | None, where: str, like_site: bool = False) -> NativePrices:
    """Read ``column`` of ``path`` at its own intervals over the site's hours.

    With ``like_site`` the file is read with the site's ``[prices]`` settings (format,
    location, time label and format): the site's own price file at its own resolution.

    Raises
    ------
    InputError
        The file's problems, irregular intervals, or hours of the site it does not cover.
    """
    first, end = site.index[0], site.index[-1] + pd.Timedelta(hours=1)
    p = site.config.prices
    how = {"fmt": p.format, "location": p.location, "time_column": p.time_column, "time_label": p.time_label,
           "time_format": p.time_format} if like_site else {}
    series = load_price_series(Path(path), timezone=site.timezone, column=column, start=first.isoformat(),
                               end=end.isoformat(), where=where, native=True, **how)
    index = pd.DatetimeIndex(series.index)
    steps = np.asarray((index[1:] - index[:-1]).total_seconds(), float) / 3600.0
    step = float(steps.min()) if steps.size else 1.0
    problems = []
    if steps.size and not np.allclose(steps, step):
        bad = index[1:][~np.isclose(steps, step)]
        problems.append(Problem(where, f"{path}: the intervals are not regular ({step * 60:g} minutes, but not at "
                                       f"{len(bad)} rows, the first at {bad[0]} UTC).",
                                "Give one row per interval, without gaps or duplicates."))
    elif abs(1.0 / step - round(1.0 / step)) > 1e-9:
        problems.append(Problem(where, f"{path}: intervals of {step * 60:g} minutes do not divide an hour.",
                                "Use 5-, 15-, 30- or 60-minute data."))
    hour = site.index.get_indexer(index.floor("h"))
    per_hour = np.bincount(hour[hour >= 0], minlength=site.hours)
    if not problems and (per_hour != round(1.0 / step)).any():
        short = site.index[per_hour != round(1.0 / step)]
        problems.append(Problem(where, f"{path} does not cover {len(short)} of the site's hours fully, the first "
                                       f"{short[0]} UTC.", "Use a real-time file covering --from to --to."))
    if problems:
        raise InputError(problems, str(path))
    return NativePrices(index, series.to_numpy(dtype=float), step, hour)
