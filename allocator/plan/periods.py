"""Representative hours of a price year: group hours, keep each group's weight.

The plan LP has no chronology inside a year (no storage, no ramping): each
hour's dispatch depends only on that hour's price, grid cap, AI utilization
and hashprice, plus the yearly capacities. So a year can be replaced by
groups of similar hours, each carrying its weight in hours, without changing
the LP's structure. The method (``price_bins_per_month = k``):

1. every hour inside a curtailment event (grid cap below the interconnect)
   is a group of its own, kept exactly;
2. the other hours of each calendar month (UTC) are sorted by price and cut
   into ``k`` groups of (nearly) equal size (price quantile bins);
3. a group's price, cap, utilization and hashprice are the means over its
   hours; its weight is its hour count scaled so a year has 8760 hours.

``k = 0`` keeps every hour as its own group (the full-hours reference). The
NPV error against full hours is measured by ``benchmarks/plan_periods.py``.
Because mining pays ``max(0, revenue - price)`` per hour, a convex function
of price, averaging within a bin can only understate the value of mining; the
bins are narrow so the error is small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HOURS_PER_YEAR = 8760.0


@dataclass
class Periods:
    """A grouping of the hours of one price year.

    Attributes
    ----------
    group : np.ndarray
        (H,) group number of each hour, 0..K-1.
    weight_h : np.ndarray
        (K,) hours of a 8760-hour year each group stands for [h].
    """

    group: np.ndarray
    weight_h: np.ndarray

    @property
    def count(self) -> int:
        return len(self.weight_h)

    def mean(self, values: np.ndarray) -> np.ndarray:
        """The mean of an hourly series over each group's hours."""
        n = np.bincount(self.group, minlength=self.count)
        return np.bincount(self.group, weights=np.asarray(values, float), minlength=self.count) / n


def representative_hours(index_utc: pd.DatetimeIndex, price_usd_per_mwh: np.ndarray, grid_cap_mw: np.ndarray,
                         bins_per_month: int) -> Periods:
    """Group the hours of one price year (method in the module docstring).

    Parameters
    ----------
    index_utc : pd.DatetimeIndex
        Hourly interval starts [UTC].
    price_usd_per_mwh : np.ndarray
        Delivered price per hour [USD/MWh].
    grid_cap_mw : np.ndarray
        Grid cap per hour [MW]; hours below the maximum are kept exactly.
    bins_per_month : int
        Price levels per month; 0 keeps every hour.
    """
    n = len(index_utc)
    scale = HOURS_PER_YEAR / n if n else 0.0
    if bins_per_month <= 0:
        return Periods(np.arange(n), np.full(n, scale))
    price = np.asarray(price_usd_per_mwh, float)
    cap = np.asarray(grid_cap_mw, float)
    capped = cap < cap.max()
    month = np.asarray(index_utc.year * 12 + index_utc.month)
    group = np.full(n, -1, dtype=np.int64)
    next_id = 0
    for m in np.unique(month):
        hours = np.flatnonzero((month == m) & ~capped)
        if hours.size:
            ranked = hours[np.argsort(price[hours], kind="stable")]
            bins = min(bins_per_month, hours.size)
            label = (np.arange(hours.size) * bins) // hours.size
            group[ranked] = next_id + label
            next_id += bins
    singles = np.flatnonzero(capped)
    group[singles] = next_id + np.arange(singles.size)
    count = np.bincount(group, minlength=next_id + singles.size)
    return Periods(group, count * scale)


def in_year(index_utc: pd.DatetimeIndex, year: int) -> pd.DatetimeIndex:
    """Each hour moved to the same point of calendar ``year`` (share of its own year kept) [UTC].

    Used to date the price year's hours in every plan year, so the subsidy
    halving applies on its date. Computed on numpy datetime64/timedelta64 arrays in the index's
    own unit: the same integer arithmetic as adding a Timedelta to a Timestamp hour by hour (and
    tested bit-identical to it), without building a Timestamp per hour.
    """
    idx = index_utc.tz_convert("UTC") if index_utc.tz is not None else index_utc.tz_localize("UTC")
    t = idx.tz_localize(None).to_numpy()  # naive UTC datetime64 in the index's unit
    own_year = t.astype("datetime64[Y]")
    start = own_year.astype(t.dtype)
    share = (t - start) / ((own_year + np.timedelta64(1, "Y")).astype(t.dtype) - start)
    y0 = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    y1 = pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC")
    # share x the target year's length: numpy's float x timedelta64 product, truncated to the unit
    moved = y0.tz_localize(None).to_datetime64() + share * (y1 - y0).to_timedelta64()
    return pd.DatetimeIndex(moved).tz_localize("UTC")
