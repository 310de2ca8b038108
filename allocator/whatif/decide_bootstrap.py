"""Price paths by block bootstrap of a site's own price history (``[sample.prices]``).

Each sampled path covers the scenario's horizon, filled block by block: the
horizon's site-local days are cut into blocks of ``block_days`` days (the last
one shorter); each block is copied from a history block of the same number of
days whose first day lies within +-15 calendar days of the target block's
first day, in any year of the history, drawn uniformly among all such blocks
that lie wholly in the history. Hours are aligned by site-local hour of day:
the target hour ``k`` hours after its local midnight takes the source day's
``k``-th hour, or its last hour when the source day is shorter (a DST day
of 23 hours padded, one of 25 trimmed).

The path replaces the hub price; the adder and TOU adders apply on top, as
for the site's own prices. Path ``k`` of seed ``S`` is drawn from its own
random stream ``(S, PRICE_STREAM, k)``, so the paths do not depend on the
sampled scalars (stream ``S``) nor on how many paths are drawn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from ..inputs import series
from .decide_scenarios import PriceSampling
from ..errors import InputError, Problem
from ..inputs.site import Site

#: a source block starts within this many calendar days of the target block's first day
WINDOW_DAYS = 15
#: tag of the price paths' random streams (independent of the scalar draws)
PRICE_STREAM = 0x70726963

_HISTORY: dict[tuple, tuple[list[dt.date], list[np.ndarray]]] = {}


def history_days(site: Site, sampling: PriceSampling) -> tuple[list[dt.date], list[np.ndarray]]:
    """The site's hub-price history as whole site-local days: (dates, hourly values of each) (cached)."""
    cfg = site.config
    p = cfg.prices
    path = site.input_files["prices"]
    key = (str(path), cfg.site.timezone, p.format, p.time_column, p.column, p.location, p.fill,
           p.time_label, p.time_format, sampling.history_start, sampling.history_end)
    if key not in _HISTORY:
        where = f"{site.path}: prices (history of [sample.prices])"
        # the history is read exactly as the site file's prices are (naive times: UTC without a site.timezone)
        series_tz = cfg.site.timezone if "timezone" in cfg.site.model_fields_set else None
        prices = series.load_price_series(path, timezone=series_tz, fmt=p.format, time_column=p.time_column,
                                          column=p.column, location=p.location, start=sampling.history_start,
                                          end=sampling.history_end, fill=p.fill, where=where,
                                          time_label=p.time_label, time_format=p.time_format, warnings=[])
        local = pd.DatetimeIndex(prices.index).tz_convert(cfg.site.timezone)
        values = prices.to_numpy(float)
        dates: list[dt.date] = []
        days: list[np.ndarray] = []
        day_of = np.array(local.date)
        cuts = np.flatnonzero(day_of[1:] != day_of[:-1]) + 1
        for chunk in np.split(np.arange(len(local)), cuts):
            if not chunk.size:
                continue
            date = day_of[chunk[0]]
            if chunk.size == _day_hours(date, cfg.site.timezone) and local[chunk[0]].hour == 0:
                dates.append(date)
                days.append(values[chunk])
        _HISTORY[key] = (dates, days)
    return _HISTORY[key]


def _day_hours(date: dt.date, timezone: str) -> int:
    start = pd.Timestamp(date).tz_localize(timezone)
    end = pd.Timestamp(date + dt.timedelta(days=1)).tz_localize(timezone)
    return int(round((end - start) / pd.Timedelta(hours=1)))


def _start_candidates(dates: list[dt.date], length: int) -> list[int]:
    """Indices of history days that start ``length`` consecutive whole days."""
    ordinal = np.array([d.toordinal() for d in dates])
    out = []
    for i in range(len(dates) - length + 1):
        if ordinal[i + length - 1] - ordinal[i] == length - 1:
            out.append(i)
    return out


def _near(target: dt.date, sources: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Which ``sources`` (ordinals, with their ``years``) lie within +-WINDOW_DAYS calendar days of
    ``target`` moved to some year."""
    best = np.full(sources.size, np.iinfo(np.int64).max)
    for shift in (-1, 0, 1):
        for year in np.unique(years + shift):
            try:
                moved = target.replace(year=int(year)).toordinal()
            except ValueError:  # 29 February in a common year
                moved = target.replace(year=int(year), day=28).toordinal()
            here = years + shift == year
            best[here] = np.minimum(best[here], np.abs(sources[here] - moved))
    return best <= WINDOW_DAYS


@dataclasses.dataclass
class _Plan:
    """What every path on one horizon shares: each target day's block, the blocks' pools, hour offsets."""

    block_of_day: np.ndarray      # (hours,) target day number of each hour
    offset: np.ndarray            # (hours,) hours since the local midnight
    blocks: list[tuple[int, int, np.ndarray]]  # (first target day, days, history start days drawn from)


_PLANS: dict[tuple, _Plan] = {}


def _plan(index: pd.DatetimeIndex, timezone: str, dates: list[dt.date], block_days: int, where: str) -> _Plan:
    key = (index[0], index[-1], len(index), timezone, id(dates), block_days)
    if key in _PLANS:
        return _PLANS[key]
    local = index.tz_convert(timezone)
    day_of = np.array(local.date)
    offset = ((local - local.normalize()) / pd.Timedelta(hours=1)).to_numpy().round().astype(int)
    target_days = list(dict.fromkeys(day_of))
    position = {d: k for k, d in enumerate(target_days)}
    ordinals = np.array([d.toordinal() for d in dates], dtype=np.int64)
    years = np.array([d.year for d in dates], dtype=np.int64)
    starts_by_length: dict[int, np.ndarray] = {}
    blocks = []
    for b in range(0, len(target_days), block_days):
        length = min(block_days, len(target_days) - b)
        if length not in starts_by_length:
            starts_by_length[length] = np.asarray(_start_candidates(dates, length), dtype=np.int64)
        starts = starts_by_length[length]
        pool = starts[_near(target_days[b], ordinals[starts], years[starts])] if starts.size else starts
        if not pool.size:
            raise InputError([Problem(where, f"no {length}-day block of the price history starts within "
                                      f"+-{WINDOW_DAYS} days of {target_days[b]} in any year.",
                                      "Widen history_start/history_end, or lower block_days.")], where)
        blocks.append((b, length, pool))
    plan = _Plan(np.array([position[d] for d in day_of]), offset, blocks)
    _PLANS[key] = plan
    return plan


def sample_hub_prices(index: pd.DatetimeIndex, timezone: str, dates: list[dt.date], days: list[np.ndarray],
                      block_days: int, rng: np.random.Generator, where: str = "[sample.prices]") -> np.ndarray:
    """One bootstrapped hub-price path on ``index`` (hourly UTC) [USD/MWh]."""
    plan = _plan(index, timezone, dates, block_days, where)
    source_day = np.zeros(int(plan.block_of_day.max()) + 1 if plan.block_of_day.size else 0, dtype=np.int64)
    for b, length, pool in plan.blocks:
        first = pool[int(rng.integers(len(pool)))]
        source_day[b:b + length] = np.arange(first, first + length)
    lengths = np.array([d.size for d in days])
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    flat = np.concatenate(days)
    src = source_day[plan.block_of_day]
    return flat[starts[src] + np.minimum(plan.offset, lengths[src] - 1)]


def bootstrap_site(site: Site, base: Site, sampling: PriceSampling, seed: int, k: int) -> Site:
    """``site`` with its hub prices replaced by bootstrapped path ``k`` (adders kept on top)."""
    dates, days = history_days(base, sampling)
    rng = np.random.default_rng([seed, PRICE_STREAM, k])
    hub = sample_hub_prices(site.index, site.timezone, dates, days, sampling.block_days, rng,
                            f"{base.path}: [sample.prices]")
    adders = site.price_usd_per_mwh - hub_price_usd_per_mwh(site)
    power = site.power
    if power is not None:
        power = dataclasses.replace(power, hub_price_usd_per_mwh=hub.copy())
    return dataclasses.replace(site, price_usd_per_mwh=hub + adders, power=power)


def hub_price_usd_per_mwh(site: Site) -> np.ndarray:
    """The site's hourly hub price, before the adder and TOU adders [USD/MWh]."""
    if site.power is not None:
        return site.power.hub_price_usd_per_mwh
    return site.price_usd_per_mwh - site.config.prices.adder_usd_per_mwh
