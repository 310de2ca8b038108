"""The power-market tables of a site on its hourly UTC axis.

:func:`load` turns ``[[prices.tou_adder]]``, ``[[power.contract]]``,
``[coincident_peak]`` and ``[[demand_response]]`` into numpy arrays of length
``hours`` (the LP terms are in :mod:`allocator.power.rows`). A site without any
of these tables gets ``None`` and the base model, unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..inputs import series
from ..inputs.schema import SiteFile
from ..limits import MAX_USD_PER_MWH
from .schema import contract_names


@dataclass
class Contract:
    """One fixed-price contract on the hourly axis."""

    name: str
    settlement: str                 # "financial" or "physical"
    price_usd_per_mwh: float
    block_mw: np.ndarray            # (H,) contracted MW at the meter, 0 outside [start, end)


@dataclass
class Program:
    """One demand-response program on the hourly axis."""

    name: str
    annual: bool                    # True: one MW figure for the whole window (USD/MW-year)
    capacity_usd_per_mw_hour: np.ndarray  # (H,) payment per MW offered per hour (annual: rate / 8760)
    active: np.ndarray              # (H,) bool, hours of the program window
    deployed: np.ndarray            # (H,) bool, hours in which the offered MW must be shed
    max_mw: float                   # most grid MW offered (inf: no limit)
    stacking: bool


@dataclass
class PowerMarket:
    """Hourly arrays of a site's power-market tables.

    Attributes
    ----------
    hub_price_usd_per_mwh : np.ndarray
        (H,) price from the price file, before any adder: contracts settle against it [USD/MWh].
    tou_adder_usd_per_mwh : np.ndarray
        (H,) sum of the TOU adders of each hour [USD/MWh].
    contracts : list of Contract
    peak_charge_usd_per_mw_year : float
        4CP charge [USD/MW-year]; 0 without ``[coincident_peak]``.
    peak_weight_frac : np.ndarray
        (H,) weight of each hour in the average peak draw over the horizon's peak intervals
        (listed intervals 1/N each, probabilities normalized to sum 1) [-].
    peak_charge_share_frac : float
        Share of the annual charge that the horizon's peaks carry: peaks in the horizon / peaks a year
        (ERCOT: 4 listed peaks of a year -> 1; 3 of them -> 3/4) [-].
    peaks_per_year : float
        Peak intervals a year whose average draw the annual charge is levied on (ERCOT 4CP: 4) [1/year].
    programs : list of Program
    """

    hub_price_usd_per_mwh: np.ndarray
    tou_adder_usd_per_mwh: np.ndarray
    contracts: list[Contract] = field(default_factory=list)
    peak_charge_usd_per_mw_year: float = 0.0
    peak_weight_frac: np.ndarray | None = None
    peak_charge_share_frac: float = 0.0
    peaks_per_year: float = 4.0
    programs: list[Program] = field(default_factory=list)

    @property
    def has_lp_terms(self) -> bool:
        """True when the LP needs columns or rows beyond the base model."""
        return bool(self.contracts or self.peak_weight_frac is not None or self.programs)


def present(config: SiteFile) -> bool:
    """True when the site file has any power-market table."""
    return bool(config.prices.tou_adder or (config.power is not None and config.power.contract)
                or config.coincident_peak is not None or config.demand_response)


def load(config: SiteFile, index: pd.DatetimeIndex, hub_price_usd_per_mwh: np.ndarray, base: Path, where: str,
         files: dict[str, Path], problems: list[Problem], warnings: list[Problem] | None = None,
         series_tz: str | None = "UTC") -> PowerMarket | None:
    """The power-market arrays of a site, or None when the file has none of its tables.

    Problems are appended to ``problems`` (every one, with its field and a fix), warnings to
    ``warnings``; ``series_tz`` is the zone of naive times in series files (None: not set, read as UTC).
    """
    warnings = [] if warnings is None else warnings
    if not present(config):
        return None
    tz = config.site.timezone
    hours = len(index)
    local = index.tz_convert(tz)
    tou = np.zeros(hours)
    for adder in config.prices.tou_adder:
        mask = np.ones(hours, bool)
        if adder.hours is not None:
            mask &= np.isin(local.hour, adder.hours)
        if adder.months is not None:
            mask &= np.isin(local.month, adder.months)
        tou[mask] += adder.adder_usd_per_mwh
    market = PowerMarket(hub_price_usd_per_mwh=np.asarray(hub_price_usd_per_mwh, float).copy(),
                         tou_adder_usd_per_mwh=tou)
    if config.power is not None:
        for i, (c, name) in enumerate(zip(config.power.contract, contract_names(config.power))):
            window = _window(c.start, c.end, index, tz, f"{where}: power.contract[{i}]", problems)
            market.contracts.append(Contract(name, c.settlement, c.price_usd_per_mwh, np.where(window, c.mw, 0.0)))
    if config.coincident_peak is not None:
        cp = config.coincident_peak
        market.peak_charge_usd_per_mw_year = cp.charge_usd_per_mw_year
        market.peaks_per_year = cp.peaks_per_year
        market.peak_weight_frac, peaks = _peak_weights(config, index, base, where, files, problems, warnings,
                                                       series_tz)
        market.peak_charge_share_frac = peaks / cp.peaks_per_year
    for i, p in enumerate(config.demand_response):
        field_where = f"{where}: demand_response[{i}]"
        active = _window(p.start, p.end, index, tz, field_where, problems)
        deployed = np.zeros(hours, bool)
        for j, w in enumerate(p.deployment):
            hit = _overlap(w.start, w.end, index, tz, f"{field_where}.deployment[{j}]", problems)
            if hit is not None:
                if not (hit <= active).all():
                    problems.append(Problem(f"{field_where}.deployment[{j}]", "the deployment lies (partly) outside "
                                            "the program window.", "Move it inside the program's start/end."))
                deployed |= hit
        if p.capacity_usd_per_mw_year is not None:
            price = np.full(hours, p.capacity_usd_per_mw_year / 8760.0)
        elif p.capacity_usd_per_mw_hour is not None:
            price = np.full(hours, p.capacity_usd_per_mw_hour)
        else:
            price = _capacity_prices(p, i, config, index, base, where, files, problems, warnings, series_tz)
        market.programs.append(Program(p.name, p.capacity_usd_per_mw_year is not None, np.where(active, price, 0.0),
                                       active, deployed, np.inf if p.max_mw is None else p.max_mw, p.stacking))
    return market


def _window(start: str | None, end: str | None, index: pd.DatetimeIndex, tz: str, where: str,
            problems: list[Problem]) -> np.ndarray:
    """Hours of ``[start, end)`` (each bound defaulting to the horizon's)."""
    mask = np.ones(len(index), bool)
    try:
        if start is not None:
            mask &= np.asarray(index >= series.to_utc(start, tz, f"{where}.start"))
        if end is not None:
            mask &= np.asarray(index < series.to_utc(end, tz, f"{where}.end"))
    except InputError as err:
        problems += err.problems
        return np.zeros(len(index), bool)
    if not mask.any() and len(index):
        problems.append(Problem(where, f"the window {start} to {end} holds no hour of the price horizon.",
                                "Fix start/end or widen prices.start/end."))
    return mask


def _overlap(start: str, end: str, index: pd.DatetimeIndex, tz: str, where: str,
             problems: list[Problem]) -> np.ndarray | None:
    """Hours an event ``[start, end)`` overlaps (any part of the hour), or None on a problem."""
    try:
        s = series.to_utc(start, tz, f"{where}.start")
        e = series.to_utc(end, tz, f"{where}.end")
    except InputError as err:
        problems += err.problems
        return None
    if s >= e:
        problems.append(Problem(where, f"start {start!r} is not before end {end!r}.", "Swap them or fix the times."))
        return None
    hit = np.asarray((index < e) & (index + pd.Timedelta(hours=1) > s))
    if not hit.any():
        problems.append(Problem(where, f"{start} to {end} lies outside the price horizon.",
                                "Fix its dates or remove it."))
        return None
    return hit


def _peak_weights(config: SiteFile, index: pd.DatetimeIndex, base: Path, where: str, files: dict[str, Path],
                  problems: list[Problem], warnings: list[Problem], series_tz: str | None) -> tuple[np.ndarray, float]:
    """Per-hour weight of the average peak draw, and the number of peak intervals in the horizon.

    Listed intervals weigh 1/N each and count N. Probabilities are the expected number of peaks in
    each hour: they are scaled to sum to ``peaks_in_horizon`` (default ``peaks_per_year`` x hours / 8760)
    and then normalized to weights summing to 1, so the charge is the expected one.
    """
    cp = config.coincident_peak
    tz = config.site.timezone
    hours = len(index)
    years = hours / 8760.0
    if cp.intervals is not None:
        weight = np.zeros(hours)
        for i, text in enumerate(cp.intervals):
            field_where = f"{where}: coincident_peak.intervals[{i}]"
            try:
                t = series.to_utc(text, tz, field_where)
            except InputError as err:
                problems += err.problems
                continue
            pos = index.get_indexer([t.floor("h")])[0]
            if pos < 0:
                problems.append(Problem(field_where, f"{text} is outside the price horizon "
                                        f"({index[0]} to {index[-1]} UTC).", "Fix the time or remove it."))
                continue
            if t != t.floor("h"):
                hour = t.floor("h").tz_convert(tz)
                warnings.append(Problem(
                    field_where, f"{text} is not on the hour: the peak is charged on the draw of its hour, "
                                 f"{hour:%Y-%m-%d %H:%M}-{hour + pd.Timedelta(hours=1):%H:%M %Z} (the model is hourly).",
                    f'Write the hour it falls in ("{hour:%Y-%m-%dT%H:00}") to say so.'))
            weight[pos] += 1.0
        total = weight.sum()
        allowed = cp.peaks_per_year * max(1, math.ceil(years - 0.01))
        if total > allowed:
            warnings.append(Problem(
                f"{where}: coincident_peak.intervals",
                f"{total:g} peak intervals are listed in a horizon of {years:.2f} years, where the charge implies "
                f"{cp.peaks_per_year:g} a year (peaks_per_year): each listed interval costs 1/{cp.peaks_per_year:g} "
                f"of the annual charge per MW drawn, {total / cp.peaks_per_year:.2f} annual charges in all.",
                "List only the peak intervals the charge is levied on, or set coincident_peak.peaks_per_year to "
                "the number a year (e.g. 12 for a 12CP tariff)."))
        return (weight / total if total > 0 else weight), float(total)
    prob = cp.probability
    target = (base / prob.file).resolve()
    field_where = f"{where}: coincident_peak.probability"
    if not target.is_file():
        problems.append(Problem(f"{field_where}.file", f"= {prob.file!r}: no such file (looked for {target}).",
                                "Give a path relative to the site file."))
        return np.zeros(hours), 0.0
    files["coincident_peak_probability"] = target
    try:
        values = series.load_profile_series(target, index, timezone=series_tz, time_column=prob.time_column,
                                            column=prob.column, where=field_where, time_label=prob.time_label,
                                            time_format=prob.time_format, warnings=warnings)
    except InputError as err:
        problems += err.problems
        return np.zeros(hours), 0.0
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        problems.append(Problem(field_where, f"{int(bad.sum())} hours have a probability outside 0..1 "
                                f"(first {index[np.argmax(bad)]}).", "Probabilities are fractions, 0..1."))
        return np.zeros(hours), 0.0
    if values.sum() <= 0:
        problems.append(Problem(field_where, "every probability in the horizon is 0.",
                                "Give the likely peak hours a positive probability, or remove [coincident_peak]."))
        return np.zeros(hours), 0.0
    given = cp.peaks_in_horizon is not None
    peaks = cp.peaks_in_horizon if given else cp.peaks_per_year * years
    total = float(values.sum())
    if abs(total - peaks) > max(0.5, 0.25 * peaks):
        source = "coincident_peak.peaks_in_horizon" if given else (
            f"{cp.peaks_per_year:g} a year (peaks_per_year) x {hours} hours / 8760")
        warnings.append(Problem(
            field_where,
            f"the probabilities sum to {total:.4g} over the horizon, far from the {peaks:.4g} peak intervals "
            f"expected in it ({source}); they are scaled by {peaks / total:.4g} to sum to {peaks:.4g} "
            f"(each peak carries 1/{cp.peaks_per_year:g} of the annual charge).",
            f"If the file's sum is the number of peaks it expects in this horizon, set "
            f"coincident_peak.peaks_in_horizon = {total:.4g}; if the charge averages another number of peaks a "
            f"year, set coincident_peak.peaks_per_year."))
    return values / total, float(peaks)


def _capacity_prices(p, i: int, config: SiteFile, index: pd.DatetimeIndex, base: Path, where: str,
                     files: dict[str, Path], problems: list[Problem], warnings: list[Problem] | None = None,
                     series_tz: str | None = "UTC") -> np.ndarray:
    field_where = f"{where}: demand_response[{i}].capacity_price"
    target = (base / p.capacity_price.file).resolve()
    if not target.is_file():
        problems.append(Problem(f"{field_where}.file", f"= {p.capacity_price.file!r}: no such file "
                                f"(looked for {target}).", "Give a path relative to the site file."))
        return np.zeros(len(index))
    files[f"demand_response_{p.name}"] = target
    try:
        values = series.load_profile_series(target, index, timezone=series_tz,
                                            time_column=p.capacity_price.time_column,
                                            column=p.capacity_price.column, where=field_where,
                                            time_label=p.capacity_price.time_label,
                                            time_format=p.capacity_price.time_format, warnings=warnings)
    except InputError as err:
        problems += err.problems
        return np.zeros(len(index))
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        problems.append(Problem(field_where, f"{int(bad.sum())} hours have a negative capacity price "
                                f"(first {index[np.argmax(bad)]}).", "Capacity prices are >= 0 USD/MW-hour."))
        return np.zeros(len(index))
    huge = values > MAX_USD_PER_MWH
    if huge.any():
        problems.append(Problem(field_where, f"{int(huge.sum())} hours have a capacity price above "
                                f"{MAX_USD_PER_MWH:,.0f} USD/MW-hour (first {index[np.argmax(huge)]}: "
                                f"{values[np.argmax(huge)]:g}).",
                                "Check the units: capacity prices are USD per MW per hour (ERCOT's cap is 5,000)."))
        return np.zeros(len(index))
    return values
