"""Every input field of every site, with its unit and value: ``assumptions.csv``.

Written into the run folder at solve time so that a report can show what
produced a number from the run folder alone. One row per field (dotted path as
in the site file, e.g. ``ai.lease[0].rate_usd_per_kw_month``), defaults applied
(``source`` says whether the file gave the value or a default did). Units come
from the field names' suffixes (names carry units).
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel

from .schema import SiteFile

COLUMNS = ["site_id", "field", "value", "unit", "source"]


def assumptions_table(sites) -> pd.DataFrame:
    """One row per input field of each site: ``site_id, field, value, unit, source``.

    Parameters
    ----------
    sites : list of allocator.Site
        The solved sites (``site.id``, ``site.config``).
    """
    rows: list[dict] = []
    for site in sites:
        rows += [{"site_id": site.id, **row} for row in site_rows(site.config, site.id)]
    return pd.DataFrame(rows, columns=COLUMNS)


def site_rows(config: SiteFile, site_id: str) -> list[dict]:
    """The rows of one site file, defaults applied (``site.name``, ``facility_mw``, lease ``max_mw``)."""
    effective = {
        "site.name": config.site.name or site_id,
        "site.facility_mw": config.facility_mw,
    }
    if config.ai is not None:
        for i, lease in enumerate(config.ai.lease):
            effective[f"ai.lease[{i}].max_mw"] = config.lease_max_mw(lease)
    rows: list[dict] = []
    _walk(config, "", rows, effective)
    return rows


def _walk(model: BaseModel, prefix: str, rows: list[dict], effective: dict[str, object]) -> None:
    for name in type(model).model_fields:
        path = f"{prefix}.{name}" if prefix else name
        value = getattr(model, name)
        given = name in model.model_fields_set
        if isinstance(value, BaseModel):
            _walk(value, path, rows, effective)
        elif isinstance(value, list) and (not value or isinstance(value[0], BaseModel)):
            for i, item in enumerate(value):
                _walk(item, f"{path}[{i}]", rows, effective)
        else:
            if path in effective and not given:
                value = effective[path]
            rows.append({"field": path, "value": _text(value), "unit": unit_of(path),
                         "source": "file" if given else ("default" if value is not None else "not given")})


# Names carry units (STYLE.md): the unit of a field is read from its name's suffix.
_SUFFIX_UNITS = (
    ("_usd_per_mwh", "USD/MWh"), ("_usd_per_kw_month", "USD/kW-month"), ("_usd_per_ph_day", "USD/PH/day"),
    ("_usd_per_mw_year", "USD/MW-year"), ("_usd_per_mw", "USD/MW"), ("_btc_per_block", "BTC/block"),
    ("_j_per_th", "J/TH"), ("_mw", "MW"), ("_frac", "fraction 0..1"), ("_years", "years"), ("_usd", "USD"),
    ("_utc", "UTC time"),
)
_NAME_UNITS = {"pue": "grid MW / IT MW", "difficulty": "-", "start": "site time", "end": "site time",
               "timezone": "IANA zone", "file": "path", "time_label": "start or end of interval",
               "time_format": "strftime pattern", "peaks_per_year": "peaks/year", "peaks_in_horizon": "peaks"}


def unit_of(path: str) -> str:
    """The unit of a field from its dotted path (``ai.lease[0].min_mw`` -> ``MW``); empty if unitless."""
    name = path.rsplit(".", 1)[-1]
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return _NAME_UNITS.get(name, "")


def _text(value: object) -> object:
    """Values as CSV cells: numbers stay numbers, booleans ``true``/``false``, absent empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
