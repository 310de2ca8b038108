"""A site ready to optimize: its validated file plus hourly arrays.

``load_site`` reads the TOML (schema.py), the price series and profiles
(series.py) and the hashprice (hashprice.py), and lays everything on one
hourly UTC axis. Everything the LP needs is a numpy array of length ``hours``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..file_hash import sha256_file
from . import series
from . import hashprice as hp
from . import input_checks
from .extensions import power_loader
from .schema import MAX_HASHPRICE_USD_PER_PH_DAY, SiteFile, read_site_file

if TYPE_CHECKING:
    from ..power.market import PowerMarket

HOURS_PER_YEAR = 8760.0


@dataclass
class Site:
    """One campus on an hourly UTC axis.

    Attributes
    ----------
    id : str
        Site id (the file stem).
    path : Path
        The site file.
    config : SiteFile
        The validated site file.
    index : pd.DatetimeIndex
        Hourly interval starts, UTC.
    price_usd_per_mwh : np.ndarray
        Delivered power price per hour: hub price + adder [USD/MWh].
    hashprice_usd_per_ph_day : np.ndarray
        Hashprice per hour [USD/PH/day].
    grid_cap_mw : np.ndarray
        Grid import cap per hour: interconnect_mw, lowered inside curtailment events [MW].
    ai_utilization_frac : np.ndarray
        Share of contracted AI IT drawn per hour [0..1].
    input_files : dict[str, Path]
        Every file read, by role (for the manifest's hashes).
    power : allocator.power.market.PowerMarket or None
        Contracts, 4CP, demand response and TOU adders on the hourly axis (None: base model).
    warnings : list of Problem
        What was read in a way worth saying but not refused (input_checks.py, series.py): printed by
        the CLI and listed in the manifest's ``warnings``.
    field_sources : dict[str, str]
        Dotted paths of the fields that overrides set over the file, and by what
        (``"scenario"``, ``"set"``): the ``source`` of assumptions.csv.
    native_price_usd_per_mwh : np.ndarray or None
        The price column as read, without adders [USD/MWh], when the price file holds exactly one
        row per hour of the horizon (its own resolution is the site's hours); None otherwise, and for
        a Site not made by :func:`load_site`: the file must then be read again at its own intervals
        (:func:`allocator.operate.native.native_prices`).
    """

    id: str
    path: Path
    config: SiteFile
    index: pd.DatetimeIndex
    price_usd_per_mwh: np.ndarray
    hashprice_usd_per_ph_day: np.ndarray
    grid_cap_mw: np.ndarray
    ai_utilization_frac: np.ndarray
    input_files: dict[str, Path] = field(default_factory=dict)
    power: PowerMarket | None = None
    warnings: list[Problem] = field(default_factory=list)
    field_sources: dict[str, str] = field(default_factory=dict)
    native_price_usd_per_mwh: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def hours(self) -> int:
        """Number of hours in the horizon."""
        return len(self.index)

    @property
    def horizon_years(self) -> float:
        """Horizon as a fraction of a 8760-hour year [years]."""
        return self.hours / HOURS_PER_YEAR

    @property
    def name(self) -> str:
        return self.config.site.name or self.id

    @property
    def timezone(self) -> str:
        return self.config.site.timezone

    @property
    def interconnect_mw(self) -> float:
        return self.config.site.interconnect_mw

    @property
    def facility_mw(self) -> float:
        return self.config.facility_mw

    @property
    def has_ai(self) -> bool:
        """True when an AI tenant can be hosted (an [ai] table with at least one lease)."""
        return self.config.ai is not None and len(self.config.ai.lease) > 0

    def file_sha256(self) -> dict[str, str]:
        """sha256 of every input file, keyed by its path."""
        return {str(p): sha256_file(p)[0] for p in self.input_files.values()}


def crf(discount_rate_frac: float, life_years: float) -> float:
    """Capital recovery factor ``i (1+i)^n / ((1+i)^n - 1)``; ``1/n`` when ``i = 0`` [1/year]."""
    i, n = discount_rate_frac, life_years
    if i < 1e-12:  # the limit 1/n; also below the precision of (1+i)^n - 1, which would divide by 0
        return 1.0 / n
    growth_minus_1 = math.expm1(n * math.log1p(i))
    return i * (growth_minus_1 + 1.0) / growth_minus_1


def load_site(path: str | Path, config: SiteFile | None = None) -> Site:
    """Read a site file and its series; raise :class:`InputError` listing every problem.

    Parameters
    ----------
    path : str or Path
        The site TOML file.
    config : SiteFile, optional
        Its already validated content (e.g. with overrides applied); read from ``path`` if omitted.

    Returns
    -------
    Site
    """
    path = Path(path)
    config = read_site_file(path) if config is None else config
    where = str(path)
    base = path.parent
    tz = config.site.timezone
    problems: list[Problem] = []
    warnings: list[Problem] = []
    files: dict[str, Path] = {"site": path}
    series_tz = tz if "timezone" in config.site.model_fields_set else None  # None: naive times warned as UTC

    try:
        import zoneinfo

        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            [Problem(f"{where}: site.timezone", f"= {tz!r} is not a known IANA time zone.",
                     'Use a name like "America/Chicago" or "UTC".')],
            where,
        ) from None

    p = config.prices
    price_path = _resolve(base, p.file, f"{where}: prices.file", problems)
    prices: pd.Series | None = None
    if price_path is not None:
        files["prices"] = price_path
        try:
            prices = series.load_price_series(
                price_path, timezone=series_tz, fmt=p.format, time_column=p.time_column, column=p.column,
                location=p.location, start=p.start, end=p.end, fill=p.fill, where=f"{where}: prices",
                time_label=p.time_label, time_format=p.time_format, warnings=warnings,
            )
        except InputError as err:
            problems += err.problems
    if prices is None:
        raise InputError(problems, where)
    index = pd.DatetimeIndex(prices.index)
    price = prices.to_numpy(dtype=float) + p.adder_usd_per_mwh

    hashprice = _hashprice(config, index, base, where, files, problems, warnings, series_tz)
    utilization = _utilization(config, index, base, where, files, problems, warnings, series_tz)
    grid_cap = _grid_cap(config, index, where, problems)
    power = power_loader()(config, index, prices.to_numpy(dtype=float), base, where, files, problems,
                           warnings, series_tz)
    if power is not None:
        price = price + power.tou_adder_usd_per_mwh
    if problems:
        raise InputError(problems, where)
    return Site(
        id=path.stem, path=path, config=config, index=index, price_usd_per_mwh=price,
        hashprice_usd_per_ph_day=hashprice, grid_cap_mw=grid_cap,
        ai_utilization_frac=utilization, input_files=files, power=power,
        warnings=warnings + input_checks.unit_slips(config, prices.to_numpy(dtype=float), hashprice, where)
        + input_checks.lease_above_convertible(config, where),
        native_price_usd_per_mwh=prices.to_numpy(dtype=float) if prices.attrs.get(series.NATIVE_HOURLY) else None,
    )


def _resolve(base: Path, name: str, where: str, problems: list[Problem]) -> Path | None:
    """An input file named in a site file: relative to the site file's folder (or absolute).

    Input files are only ever read. They must be regular files (not folders,
    devices or pipes); nothing is ever written through a path from a site file.
    """
    if not name.strip() or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        problems.append(Problem(where, f"= {name!r} is not a usable file name (empty, or control characters).",
                                "Give a path relative to the site file, e.g. \"data/prices.csv\"."))
        return None
    try:
        target = (base / name).resolve()
        found = target.is_file()
    except (OSError, ValueError, RuntimeError) as err:
        problems.append(Problem(where, f"= {name!r} cannot be opened ({err}).",
                                "Give a path relative to the site file."))
        return None
    if not found:
        if target.exists():
            problems.append(Problem(where, f"= {name!r} is not a regular file (a folder, device or pipe: {target}).",
                                    "Point it at a CSV file."))
        else:
            problems.append(Problem(where, f"= {name!r}: no such file (looked for {target}).",
                                    "Give a path relative to the site file."))
        return None
    return target


def _hashprice(config: SiteFile, index: pd.DatetimeIndex, base: Path, where: str,
               files: dict[str, Path], problems: list[Problem], warnings: list[Problem] | None = None,
               series_tz: str | None = "UTC") -> np.ndarray:
    m = config.mining
    n = len(index)
    if m.hashprice_usd_per_ph_day is not None:
        return np.full(n, m.hashprice_usd_per_ph_day)
    h = m.hashprice
    assert h is not None
    if h.file is not None:
        hp_path = _resolve(base, h.file, f"{where}: mining.hashprice.file", problems)
        if hp_path is None:
            return np.zeros(n)
        files["hashprice"] = hp_path
        try:
            values = series.load_profile_series(
                hp_path, index, timezone=series_tz, time_column=h.time_column,
                column=h.column, where=f"{where}: mining.hashprice", time_label=h.time_label,
                time_format=h.time_format, warnings=warnings,
            )
        except InputError as err:
            problems += err.problems
            return np.zeros(n)
        _check_hashprice(values, f"{where}: mining.hashprice", problems,
                         f"Hashprice is in USD/PH/day, >= 0 and <= {MAX_HASHPRICE_USD_PER_PH_DAY:g}.")
        return values
    next_halving = None
    if h.next_halving_utc is not None:
        try:
            next_halving = series.to_utc(h.next_halving_utc, "UTC", f"{where}: mining.hashprice.next_halving_utc")
        except InputError as err:
            problems += err.problems
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        derived = np.asarray(
            hp.derive_hashprice_usd_per_ph_day(
                index, h.btc_price_usd, h.difficulty, h.fees_btc_per_block, next_halving_utc=next_halving,
            ),
            dtype=float,
        )
    _check_hashprice(derived, f"{where}: mining.hashprice", problems,
                     "Check btc_price_usd, difficulty and fees_btc_per_block.")
    return np.where(np.isfinite(derived), derived, 0.0)


def _check_hashprice(values: np.ndarray, where: str, problems: list[Problem], fix: str) -> None:
    """Hashprice must be finite, >= 0 and <= MAX_HASHPRICE_USD_PER_PH_DAY."""
    bad = ~np.isfinite(values) | (values < 0) | (values > MAX_HASHPRICE_USD_PER_PH_DAY)
    if bad.any():
        shown = float(values[np.argmax(bad)])
        problems.append(Problem(where, f"{int(bad.sum())} hours have a hashprice outside 0..{MAX_HASHPRICE_USD_PER_PH_DAY:g} "
                                       f"USD/PH/day (first {shown:g}).", fix))


def _utilization(config: SiteFile, index: pd.DatetimeIndex, base: Path, where: str,
                 files: dict[str, Path], problems: list[Problem], warnings: list[Problem] | None = None,
                 series_tz: str | None = "UTC") -> np.ndarray:
    n = len(index)
    ai = config.ai
    if ai is None:
        return np.ones(n)
    if ai.utilization is None:
        return np.full(n, ai.utilization_frac)
    u_path = _resolve(base, ai.utilization.file, f"{where}: ai.utilization.file", problems)
    if u_path is None:
        return np.ones(n)
    files["ai_utilization"] = u_path
    try:
        values = series.load_profile_series(
            u_path, index, timezone=series_tz, time_column=ai.utilization.time_column,
            column=ai.utilization.column, where=f"{where}: ai.utilization",
            time_label=ai.utilization.time_label, time_format=ai.utilization.time_format, warnings=warnings,
        )
    except InputError as err:
        problems += err.problems
        return np.ones(n)
    bad = (values < 0) | (values > 1)
    if bad.any():
        first = _local(index[np.argmax(bad)], config)
        problems.append(Problem(f"{where}: ai.utilization", f"{int(bad.sum())} hours are outside 0..1 (first {first}).",
                                "Utilization is a fraction of contracted IT, 0..1."))
    return values


def _grid_cap(config: SiteFile, index: pd.DatetimeIndex, where: str, problems: list[Problem]) -> np.ndarray:
    """interconnect_mw every hour, lowered to cap_mw in every hour an event overlaps [MW]."""
    cap = np.full(len(index), config.site.interconnect_mw)
    if len(index) == 0:
        return cap
    first, last = index[0], index[-1] + pd.Timedelta(hours=1)
    ends = index + pd.Timedelta(hours=1)
    for i, event in enumerate(config.curtailment):
        field_where = f"{where}: curtailment[{i}]"
        try:
            start = series.to_utc(event.start, config.site.timezone, f"{field_where}.start")
            end = series.to_utc(event.end, config.site.timezone, f"{field_where}.end")
        except InputError as err:
            problems += err.problems
            continue
        if start >= end:
            problems.append(Problem(field_where, f"start {event.start!r} is not before end {event.end!r}.",
                                    "Swap them or fix the times."))
            continue
        if end <= first or start >= last:
            problems.append(Problem(
                field_where,
                f"the event {event.start} to {event.end} lies outside the price horizon "
                f"({_local(first, config)} to {_local(last, config)}).",
                "Fix its dates, or widen prices.start/end, or remove the event.",
            ))
            continue
        # an hour is capped if the event overlaps any part of it
        overlap = np.asarray((index < end) & (ends > start))
        cap[overlap] = np.minimum(cap[overlap], event.cap_mw)
    return cap


def _local(ts: pd.Timestamp, config: SiteFile) -> str:
    return ts.tz_convert(config.site.timezone).strftime("%Y-%m-%d %H:%M %Z")



