"""Numeric overrides of a validated site file without copying or re-validating the whole file.

A sweep sets the same few numbers thousands of times. The general path
(:func:`allocator.inputs.overrides.apply_overrides` then
:func:`allocator.inputs.overrides.validate`) deep-copies the raw TOML document
and validates all of it with pydantic for every scenario. For a number set on
a field that already exists (:data:`NUMERIC`), :func:`numeric_config` instead
copies only the sections on the way to the field (shallow ``model_copy``),
validates the value with that field's own validator (pydantic's
``validate_assignment``: its bounds, finiteness, the section's own model
validators), re-runs the file-level validators of the touched section (the
``ai.convertible_mw`` default) and the cross-field checks
(:func:`allocator.inputs.schema.cross_check`).

Whenever anything does not pass, it returns None and the caller takes the
general path, which reports the problem exactly as for the file (same text,
"set by override" marks): the fast path never words an error itself.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from ..inputs import schema
from ..inputs.overrides import parse_path
from ..inputs.schema import SiteFile

#: numeric fields a scenario may set on the fast path (all of them also on reuse.FAST_PATH)
NUMERIC = re.compile(
    r"^(site\.(interconnect_mw|facility_mw)"
    r"|prices\.adder_usd_per_mwh"
    r"|mining\.(pue|pool_fee_frac|opex_usd_per_mw_year|hashprice_usd_per_ph_day|min_uptime_frac)"
    r"|mining\.hashprice\.(btc_price_usd|difficulty|fees_btc_per_block)"
    r"|mining\.fleet\[\d+\]\.(efficiency_j_per_th|mw)"
    r"|ai\.(pue|convertible_mw|utilization_frac|fitout_capex_usd_per_mw|capex_life_years|discount_rate_frac"
    r"|opex_usd_per_mw_year)"
    r"|ai\.lease\[\d+\]\.(rate_usd_per_kw_month|min_mw|max_mw)"
    r"|curtailment\[\d+\]\.cap_mw)$"
)

#: a field whose alternative table the general path drops when the field is set (inputs.overrides.ALTERNATIVES)
_ALTERNATIVE = {("mining", "hashprice_usd_per_ph_day"): "hashprice", ("ai", "utilization_frac"): "utilization"}


def numeric_config(base: SiteFile, values: dict[str, Any], where: str) -> SiteFile | None:
    """``base`` with every value of ``values`` set, or None to take the general path.

    Parameters
    ----------
    base : SiteFile
        The validated site file (never modified).
    values : dict
        Dotted path -> value, e.g. ``{"ai.lease[0].rate_usd_per_kw_month": 130.0}``.
    where : str
        The site file, for the cross-field checks.
    """
    if not values or not all(NUMERIC.match(p) and _is_number(v) for p, v in values.items()):
        return None
    config = base.model_copy()
    sections = set()
    try:
        for text, value in values.items():
            path = parse_path(text)
            if not _assign(config, path, value):
                return None
            alternative = _ALTERNATIVE.get(path[:2])
            section = getattr(config, str(path[0]))  # copied by _assign
            if alternative is not None and any(p.startswith(f"{path[0]}.{alternative}.") for p in values):
                return None  # both alternatives set: the general path reports it
            if alternative is not None and getattr(section, alternative) is not None:
                # as the general path: the flat value replaces the table (a file-derived series)
                object.__setattr__(section, alternative, None)
                section.model_fields_set.discard(alternative)
            sections.add(str(path[0]))
        ai = config.ai
        if ai is not None and "convertible_mw" not in ai.model_fields_set and \
                sections & {"site", "ai"} and "ai.convertible_mw" not in values:
            # the default (facility_mw / ai.pue) is derived again by SiteFile's own validator
            ai = ai.model_copy()
            object.__setattr__(config, "ai", ai)
            ai.convertible_mw = None
            sections.add("ai")
        for name in sorted(sections):  # the file-level validators, on the touched sections
            SiteFile.__pydantic_validator__.validate_assignment(config, name, getattr(config, name))
    except ValidationError:
        return None
    if schema.cross_check(config, where):
        return None
    return config


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _assign(config: SiteFile, path: tuple, value: Any) -> bool:
    """Set ``value`` at ``path`` in ``config``, copying every model and list on the way; False when a
    section or list item on the way does not exist. Raises ValidationError for a bad value."""
    node: Any = config
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(part, int):
            continue  # handled with its list below
        child = getattr(node, part)
        if child is None:
            return False
        if isinstance(nxt, int):
            if nxt >= len(child):
                return False
            child = list(child)
            child[nxt] = child[nxt].model_copy()
            object.__setattr__(node, part, child)
            node = child[nxt]
        else:
            child = child.model_copy()
            object.__setattr__(node, part, child)
            node = child
    assert isinstance(node, BaseModel)
    type(node).__pydantic_validator__.validate_assignment(node, path[-1], value)
    return True
