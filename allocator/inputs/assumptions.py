"""Every input field of every site, with its unit and value: ``assumptions.csv``.

Written into the run folder at solve time so that a report can show what
produced a number from the run folder alone. One row per field (dotted path as
in the site file, e.g. ``ai.lease[0].rate_usd_per_kw_month``), defaults applied
(``source`` says where the value came from: ``file``, ``default``, ``not given``,
or ``scenario`` / ``set`` for a value that ``--scenario`` / ``--set`` put over the
file's). Units come from the field names' suffixes (names carry units), then from
a few plain names (``mw``, ``pue``, ``start``...), then from the field's type
(``text``, ``true/false``, ``table``...): every row has one.
"""

from __future__ import annotations

import types
import typing

import pandas as pd
from pydantic import BaseModel

from .schema import SiteFile

COLUMNS = ["site_id", "field", "value", "unit", "source"]


def assumptions_table(sites) -> pd.DataFrame:
    """One row per input field of each site: ``site_id, field, value, unit, source``.

    Parameters
    ----------
    sites : list of allocator.Site
        The solved sites (``site.id``, ``site.config``, ``site.field_sources``).
    """
    rows: list[dict] = []
    for site in sites:
        sources = getattr(site, "field_sources", None) or {}
        rows += [{"site_id": site.id, **row} for row in site_rows(site.config, site.id, sources)]
    return pd.DataFrame(rows, columns=COLUMNS)


def site_rows(config: SiteFile, site_id: str, sources: dict[str, str] | None = None) -> list[dict]:
    """The rows of one site file, defaults applied (``site.name``, ``facility_mw``, lease ``max_mw``).

    Parameters
    ----------
    sources : dict, optional
        Dotted path of an overridden field (or table) -> ``"scenario"`` or ``"set"``.
    """
    effective = {
        "site.name": config.site.name or site_id,
        "site.facility_mw": config.facility_mw,
    }
    if config.ai is not None:
        for i, lease in enumerate(config.ai.lease):
            effective[f"ai.lease[{i}].max_mw"] = config.lease_max_mw(lease)
    rows: list[dict] = []
    _walk(config, "", rows, effective)
    for row in rows:
        source = override_source(row["field"], sources or {})
        if source is not None and row["source"] == "file":
            row["source"] = source
    return rows


def override_source(path: str, sources: dict[str, str]) -> str | None:
    """The override that set the field ``path``: itself or a table holding it (the longest wins)."""
    best = None
    for set_path, source in sources.items():
        if path == set_path or path.startswith((set_path + ".", set_path + "[")):
            if best is None or len(set_path) > len(best[0]):
                best = (set_path, source)
    return best[1] if best else None


def _walk(model: BaseModel, prefix: str, rows: list[dict], effective: dict[str, object]) -> None:
    for name, info in type(model).model_fields.items():
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
            rows.append({"field": path, "value": _text(value), "unit": unit_of(path, info.annotation),
                         "source": "file" if given else ("default" if value is not None else "not given")})


# Names carry units (STYLE.md): the unit of a field is read from its name's suffix.
_SUFFIX_UNITS = (
    ("_usd_per_mwh", "USD/MWh"), ("_usd_per_kw_month", "USD/kW-month"), ("_usd_per_ph_day", "USD/PH/day"),
    ("_usd_per_mw_year", "USD/MW-year"), ("_usd_per_mw_hour", "USD/MW-hour"), ("_usd_per_mw", "USD/MW"),
    ("_usd_per_th", "USD per TH/s"), ("_btc_per_block", "BTC/block"), ("_j_per_th", "J/TH"), ("_mw", "MW"),
    ("_frac", "fraction 0..1"), ("_years", "years"), ("_months", "months"), ("_hours", "hours"),
    ("_per_year", "per year"), ("_year", "calendar year"),
    ("_per_month", "count per month"), ("_usd", "USD"), ("_utc", "UTC time"),
)
_NAME_UNITS = {"pue": "grid MW / IT MW", "difficulty": "-", "start": "site time", "end": "site time",
               "timezone": "IANA zone", "file": "path", "time_label": "start or end of interval",
               "time_format": "strftime pattern", "peaks_per_year": "peaks/year", "peaks_in_horizon": "peaks",
               "year": "calendar year", "intervals": "site time", "hours": "hour of day 0-23",
               "months": "month 1-12", "column": "column name", "time_column": "column name"}


def unit_of(path: str, annotation: object = None) -> str:
    """The unit of a field from its dotted path (``ai.lease[0].min_mw`` -> ``MW``), else from its type.

    Parameters
    ----------
    path : str
        Dotted path of the field.
    annotation : type, optional
        The field's type annotation: text is ``text``, a flag ``true/false``, a choice ``one of a, b``,
        a table ``table``.
    """
    name = path.rsplit(".", 1)[-1]
    if name in _NAME_UNITS:
        return _NAME_UNITS[name]
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix) or name == suffix[1:]:  # min_mw, and a name that is all unit: mw, usd_per_th
            return unit
    return _unit_of_type(annotation)


def _unit_of_type(annotation: object) -> str:
    kinds = set(_leaf_types(annotation))
    choices = [c for k in kinds if isinstance(k, tuple) for c in k]
    if choices:
        return "one of " + ", ".join(str(c) for c in choices)
    if kinds & {bool}:
        return "true/false"
    if kinds & {str}:
        return "text"
    if any(isinstance(k, type) and issubclass(k, BaseModel) for k in kinds):
        return "table"
    return ""


def _leaf_types(annotation: object):
    """The concrete types inside an annotation (Optional, Annotated, list, Union unwrapped; a Literal
    as the tuple of its values)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        yield typing.get_args(annotation)
    elif origin is typing.Annotated:
        yield from _leaf_types(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                yield from _leaf_types(arg)
    elif annotation is not None:
        yield annotation


def _text(value: object) -> object:
    """Values as CSV cells: numbers stay numbers, booleans ``true``/``false``, absent empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
