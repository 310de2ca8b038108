"""A site's ``[plan]`` turned into yearly arrays: prices, caps, hashprice per representative hour.

``plan_problems`` checks the table against the rest of the site file (names,
list lengths, a hashprice path); ``plan_data`` lays each plan year out on the
representative hours of :mod:`allocator.plan.periods`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, Problem
from ..inputs import series
from ..inputs import hashprice as hp
from ..inputs.schema import SiteFile
from ..inputs.site import Site
from .periods import Periods, in_year, representative_hours
from .schema import PlanSection

DEFAULT_DISCOUNT_RATE_FRAC = 0.08


def plan_problems(sf: SiteFile, where: str) -> list[Problem]:
    """Cross-field checks of ``[plan]`` (no data needed)."""
    plan = sf.plan
    if plan is None:
        return []
    problems: list[Problem] = []
    n_years = len(plan.years)
    for name in ("btc_price_usd", "difficulty"):
        value = getattr(plan, name)
        if isinstance(value, list) and len(value) != n_years:
            problems.append(Problem(f"{where}: plan.{name}",
                                    f"has {len(value)} values but the horizon {plan.start_year}-{plan.end_year} "
                                    f"has {n_years} years.", f"Give {n_years} values, or one first-year value."))
    tenants = [lease.tenant for lease in (sf.ai.lease if sf.ai else [])]
    for i, pl in enumerate(plan.lease):
        if pl.tenant not in tenants:
            problems.append(Problem(f"{where}: plan.lease[{i}].tenant", f"= {pl.tenant!r} is not an [[ai.lease]] tenant.",
                                    f"Use one of {tenants}." if tenants else "Add the lease to [[ai.lease]]."))
        if pl.start_year is not None and not plan.start_year <= pl.start_year <= plan.end_year:
            problems.append(Problem(f"{where}: plan.lease[{i}].start_year",
                                    f"= {pl.start_year} lies outside the horizon {plan.start_year}-{plan.end_year}.",
                                    "Move it inside the horizon."))
    models = [f.model for f in sf.mining.fleet]
    for i, pf in enumerate(plan.fleet):
        if pf.model not in models:
            problems.append(Problem(f"{where}: plan.fleet[{i}].model", f"= {pf.model!r} is not a [[mining.fleet]] model.",
                                    f"Use one of {models}." if models else "Add the fleet to [[mining.fleet]]."))
    offers = [o.model for o in plan.asic_offer]
    for name in sorted({m for m in offers if offers.count(m) > 1 or m in models}):
        problems.append(Problem(f"{where}: plan.asic_offer", f"model {name!r} appears twice (or is already a fleet).",
                                "Give each offer its own model name."))
    for i, py in enumerate(plan.price_year):
        if not plan.start_year <= py.year <= plan.end_year:
            problems.append(Problem(f"{where}: plan.price_year[{i}].year",
                                    f"= {py.year} lies outside the horizon {plan.start_year}-{plan.end_year}.",
                                    "Move it inside the horizon or remove it."))
    for kind in ("fitout", "asic"):
        method, years = getattr(plan, f"{kind}_depreciation"), getattr(plan, f"{kind}_depreciation_years")
        if years is not None and method != "straight_line":
            problems.append(Problem(f"{where}: plan.{kind}_depreciation_years",
                                    f"= {years} is a straight-line life, but plan.{kind}_depreciation = {method!r} "
                                    "has its own recovery period.",
                                    f"Remove plan.{kind}_depreciation_years, or set plan.{kind}_depreciation = "
                                    '"straight_line".'))
    if plan.terminal_value == "perpetuity":
        rate = plan.discount_rate_frac
        if rate is None:
            rate = sf.ai.discount_rate_frac if sf.ai is not None else DEFAULT_DISCOUNT_RATE_FRAC
        if plan.terminal_growth_frac >= rate:
            problems.append(Problem(f"{where}: plan.terminal_growth_frac",
                                    f"= {plan.terminal_growth_frac:g} is not below the discount rate {rate:g}: "
                                    "the perpetuity has no finite value.",
                                    f"Give a growth below {rate:g}, or another plan.terminal_value."))
    return problems


def plan_mode_problems(sf: SiteFile, where: str) -> list[Problem]:
    """Checks that matter only when the site is planned (``allocator plan``), not when one year is
    solved: a ``solve --set`` that makes the hashprice flat, or signs a lease for this year, stays valid."""
    plan = sf.plan
    if plan is None:
        return []
    problems: list[Problem] = []
    derived = sf.mining.hashprice is not None and sf.mining.hashprice.btc_price_usd is not None
    if sf.mining.fleet or plan.asic_offer:
        for name in ("btc_price_usd", "difficulty"):
            if getattr(plan, name) is None and not derived:
                problems.append(Problem(f"{where}: plan.{name}",
                                        "is required: the site's hashprice is not derived from BTC price and "
                                        "difficulty, so the plan cannot apply the halvings.",
                                        f"Add plan.{name} (first-year value or one per year)."))
    # a signed lease must be reachable: the MW online in its first year are at most
    # the online share of conversions started since the plan start, times convertible_mw
    if sf.ai is not None:
        for i, lease in enumerate(sf.ai.lease):
            start = lease_window(plan, lease.tenant)[0]
            reach = online_share(plan.construction_months, start - plan.start_year) * sf.ai.convertible_mw
            if lease.min_mw > reach + 1e-9:
                problems.append(Problem(
                    f"{where}: ai.lease[{i}].min_mw",
                    f"= {lease.min_mw:g} IT MW cannot be online in {start}: conversions take "
                    f"{plan.construction_months:g} months from {plan.start_year}, so at most {reach:g} MW "
                    f"are online on average that year.",
                    f"Set a [[plan.lease]] start_year for {lease.tenant!r} later than {start}, "
                    f"or lower min_mw to <= {reach:g}."))
    return problems


def lease_window(plan: PlanSection, tenant: str, start_year: int | None = None,
                 term_years: int | None = None) -> tuple[int, int]:
    """First and last year (inclusive) a tenant's lease may run."""
    for pl in plan.lease:
        if pl.tenant == tenant:
            start_year = pl.start_year if start_year is None else start_year
            term_years = pl.term_years if term_years is None else term_years
    start = plan.start_year if start_year is None else start_year
    end = plan.end_year if term_years is None else min(plan.end_year, start + term_years - 1)
    return start, end


def online_share(construction_months: float, years_since: int | np.ndarray) -> np.ndarray:
    """Average share of a year's IT MW online ``years_since`` years after the conversion year.

    Conversion (and its capex) happens at the start of a year; the MW come
    online ``construction_months`` later, so in year ``k`` after it the share
    online is ``clip((12 (k + 1) - construction_months) / 12, 0, 1)``.
    """
    k = np.asarray(years_since, float)
    return np.clip((12.0 * (k + 1.0) - construction_months) / 12.0, 0.0, 1.0) * (k >= 0)


@dataclass
class PlanYear:
    """One plan year on its representative hours (K groups)."""

    year: int
    discount_factor: float
    weight_h: np.ndarray          # (K,) hours each group stands for [h]
    price_usd_per_mwh: np.ndarray  # (K,) delivered price [USD/MWh]
    grid_cap_mw: np.ndarray        # (K,) grid cap [MW]
    ai_utilization_frac: np.ndarray  # (K,)
    hashprice_usd_per_ph_day: np.ndarray  # (K,)
    ai_power_usd_per_mw: float     # sum_t price_t u_t pue_ai over the year [USD per leased IT MW]


@dataclass
class PlanData:
    """Everything the plan LP needs for one site."""

    site: Site
    plan: PlanSection
    discount_rate_frac: float
    years: list[PlanYear] = field(default_factory=list)
    input_files: dict[str, Path] = field(default_factory=dict)


def _path(value, growth: float, n: int) -> np.ndarray:
    if isinstance(value, list):
        return np.asarray(value, float)
    return float(value) * (1.0 + growth) ** np.arange(n)


def plan_data(site: Site, bins_per_month: int | None = None) -> PlanData:
    """Lay out every plan year of ``site`` on representative hours.

    Parameters
    ----------
    site : Site
        A loaded site whose file has a ``[plan]`` table.
    bins_per_month : int, optional
        Override ``plan.price_bins_per_month`` (0 = every hour).
    """
    cfg = site.config
    plan = cfg.plan
    where = str(site.path)
    if plan is None:
        raise InputError([Problem(f"{where}", "has no [plan] table.",
                                  "Add one (see docs/plan.md), or leave the site out of `allocator plan`.")], where)
    bins = plan.price_bins_per_month if bins_per_month is None else bins_per_month
    rate = plan.discount_rate_frac
    if rate is None:
        rate = cfg.ai.discount_rate_frac if cfg.ai is not None else DEFAULT_DISCOUNT_RATE_FRAC
    years = plan.years
    n = len(years)
    h = cfg.mining.hashprice
    btc = _path(plan.btc_price_usd if plan.btc_price_usd is not None else (h.btc_price_usd if h else 1.0),
                plan.btc_price_growth_frac, n)
    diff = _path(plan.difficulty if plan.difficulty is not None else (h.difficulty if h else 1.0),
                 plan.network_hashrate_growth_frac, n)
    fees = plan.fees_btc_per_block if plan.fees_btc_per_block is not None else (h.fees_btc_per_block if h else 0.0)
    next_halving = None
    if h is not None and h.next_halving_utc is not None:
        next_halving = series.to_utc(h.next_halving_utc, "UTC", f"{where}: mining.hashprice.next_halving_utc")
    ai_pue = cfg.ai.pue if cfg.ai is not None else 1.0
    base_periods = representative_hours(site.index, site.price_usd_per_mwh, site.grid_cap_mw, bins)
    replaced = {py.year: py for py in plan.price_year}
    out = PlanData(site, plan, rate)
    problems: list[Problem] = []
    for i, year in enumerate(years):
        index, price, cap, util, periods = (site.index, site.price_usd_per_mwh * (1.0 + plan.price_escalator_frac) ** i,
                                            site.grid_cap_mw, site.ai_utilization_frac, base_periods)
        if year in replaced:
            loaded = _price_year(site, replaced[year], out.input_files, problems)
            if loaded is None:
                continue
            index, price = loaded
            cap = np.full(len(index), site.interconnect_mw)
            util = np.full(len(index), float(np.mean(site.ai_utilization_frac)))
            periods = representative_hours(index, price, cap, bins)
        dated = in_year(index, year)
        hashprice = hp.derive_hashprice_usd_per_ph_day(dated, btc[i], diff[i], fees, next_halving_utc=next_halving)
        scale = 8760.0 / len(index)
        out.years.append(PlanYear(
            year=year, discount_factor=(1.0 + rate) ** -i, weight_h=periods.weight_h,
            price_usd_per_mwh=periods.mean(price), grid_cap_mw=periods.mean(cap),
            ai_utilization_frac=periods.mean(util), hashprice_usd_per_ph_day=periods.mean(hashprice),
            ai_power_usd_per_mw=float(np.dot(price, util)) * scale * ai_pue,
        ))
    if problems:
        raise InputError(problems, where)
    return out


def _price_year(site: Site, py, files: dict[str, Path], problems: list[Problem]):
    p = site.config.prices
    where = f"{site.path}: plan.price_year[year={py.year}]"
    path = (site.path.parent / py.file).resolve()
    if not path.is_file():
        problems.append(Problem(f"{where}.file", f"= {py.file!r}: no such file (looked for {path}).",
                                "Give a path relative to the site file."))
        return None
    files[f"prices_{py.year}"] = path
    try:
        s = series.load_price_series(path, timezone=site.timezone, fmt=p.format, time_column=p.time_column,
                                     column=py.column or p.column, location=p.location, start=None, end=None,
                                     fill=p.fill, where=where, time_label=p.time_label,
                                     time_format=p.time_format)
    except InputError as err:
        problems.extend(err.problems)
        return None
    import pandas as pd

    return pd.DatetimeIndex(s.index), s.to_numpy(float) + p.adder_usd_per_mwh
