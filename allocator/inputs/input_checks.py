"""Values that are allowed but almost surely a unit slip: warned about, never refused.

Each warning names the field, the value, the slip it looks like and the fix.
The ranges are wide on purpose: a warning should mean "check this", not "this
campus is unusual".
"""

from __future__ import annotations

import numpy as np

from ..errors import Problem

#: lease rates people sign [USD/kW-month]: 2026 AI colocation deals run about 100-250
LEASE_PLAUSIBLE_USD_PER_KW_MONTH = (5.0, 600.0)
#: hashprice has been about 30-400 USD/PH/day since 2020; in USD/TH/day it reads 0.03-0.4
HASHPRICE_LOW_USD_PER_PH_DAY = 1.0
#: median |price| of a power market [USD/MWh]: below, cents/kWh look alike; above, cents/MWh
PRICE_MEDIAN_PLAUSIBLE_USD_PER_MWH = (5.0, 1000.0)


def unit_slips(config, price_usd_per_mwh: np.ndarray, hashprice_usd_per_ph_day: np.ndarray,
               where: str) -> list[Problem]:
    """Warnings for values that look like another unit.

    Parameters
    ----------
    config : SiteFile
        The validated site file.
    price_usd_per_mwh : numpy.ndarray
        Hourly price from the price file, before adders [USD/MWh].
    hashprice_usd_per_ph_day : numpy.ndarray
        Hourly hashprice [USD/PH/day].
    where : str
        The site file, for the warnings' labels.

    Returns
    -------
    list of Problem
        One per suspicious field (empty when nothing looks off).
    """
    warnings: list[Problem] = []
    low, high = LEASE_PLAUSIBLE_USD_PER_KW_MONTH
    for i, lease in enumerate(config.ai.lease if config.ai is not None else []):
        rate = lease.rate_usd_per_kw_month
        field = f"{where}: ai.lease[{i}].rate_usd_per_kw_month"
        if rate > high:
            warnings.append(Problem(field, f"= {rate:,.2f} USD/kW-month is far above what AI leases pay "
                                           f"({low:g}-{high:g}); it looks like USD per kW-year.",
                                    f"If it is per year, write {rate / 12:,.2f} (the rate / 12)."))
        elif 0 < rate < low:
            warnings.append(Problem(field, f"= {rate:g} USD/kW-month is far below what AI leases pay "
                                           f"({low:g}-{high:g}); it looks like USD per W-month or per kWh.",
                                    f"If it is per W-month, write {rate * 1000:,.2f} (the rate x 1000)."))
    hashprice = np.asarray(hashprice_usd_per_ph_day, float)
    positive = hashprice[np.isfinite(hashprice) & (hashprice > 0)]
    if positive.size and np.median(positive) < HASHPRICE_LOW_USD_PER_PH_DAY:
        m = config.mining
        field = "mining.hashprice_usd_per_ph_day" if m.hashprice_usd_per_ph_day is not None else "mining.hashprice"
        shown = float(np.median(positive))
        warnings.append(Problem(f"{where}: {field}",
                                f"hashprice {shown:.4g} USD/PH/day (median) looks like USD per TH/s per day: "
                                f"a PH/s has earned about 30-400 USD a day since 2020.",
                                f"If it is per TH/s, multiply by 1000 ({shown * 1000:,.4g} USD/PH/day)."))
    prices = np.asarray(price_usd_per_mwh, float)
    prices = prices[np.isfinite(prices)]
    if prices.size:
        median = float(np.median(np.abs(prices)))
        low, high = PRICE_MEDIAN_PLAUSIBLE_USD_PER_MWH
        field = f"{where}: prices"
        if 1.0 <= median < low:
            warnings.append(Problem(field, f"the median |price| is {median:.4g}: it looks like cents per kWh "
                                           f"(power markets' median is about 20-60 USD/MWh).",
                                    f"If the file is in cents/kWh, scale column {config.prices.column or 'of prices'}"
                                    f" by 10 to USD/MWh."))
        elif median > high:
            warnings.append(Problem(field, f"the median |price| is {median:,.4g}: it looks like cents per MWh "
                                           f"(power markets' median is about 20-60 USD/MWh).",
                                    "If the file is in cents/MWh, divide its prices by 100 to USD/MWh."))
    return warnings


def lease_above_convertible(config, where: str) -> list[Problem]:
    """A lease whose ``max_mw`` exceeds ``ai.convertible_mw``: the tenant can take no more than the
    halls can convert, so its offer is cut; the warning names both (and the default, if used)."""
    ai = config.ai
    if ai is None:
        return []
    defaulted = "convertible_mw" not in ai.model_fields_set
    out = []
    for i, lease in enumerate(ai.lease):
        if lease.max_mw is not None and lease.max_mw > ai.convertible_mw * (1 + 1e-9) + 1e-9:
            source = f" (its default, facility_mw {config.facility_mw:g} / ai.pue {ai.pue:g})" if defaulted else ""
            out.append(Problem(f"{where}: ai.lease[{i}].max_mw",
                               f"= {lease.max_mw:g} MW ({lease.tenant!r}) exceeds ai.convertible_mw = "
                               f"{ai.convertible_mw:g} MW{source}: the tenant can take at most "
                               f"{ai.convertible_mw:g} MW.",
                               "Lower max_mw or raise ai.convertible_mw."))
    return out
