"""Hooks through which extension wings plug into the site file and site loading.

The inputs wing sits upstream of every other wing and never imports them. An
extension that owns a table of the site file registers here instead: a
validator of its table's cross-field rules, and (for the power market) the
loader of its hourly arrays. ``import allocator`` registers the bundled
extensions (``allocator/__init__.py`` imports ``allocator.power`` and
``allocator.plan``), and every module of the package is imported after
``allocator/__init__``, so nothing here is ever found empty by accident.

This module imports nothing heavy: registering costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: table name -> ``check(site_file, where) -> list[Problem]``: cross-field rules of the table,
#: run by ``schema.cross_check`` in registration order (no data files needed).
SECTION_VALIDATORS: dict[str, Callable[[Any, str], list]] = {}

#: the power-market loader: ``load(site_file, index, hub_price_usd_per_mwh, base, where, files, problems)``
#: returns the site's power-market arrays, or None when the file has none of its tables.
_power_loader: list[Callable[..., Any]] = []


def register_section_validator(table: str, check: Callable[[Any, str], list]) -> None:
    """Run ``check(site_file, where)`` when a site file is validated (once per ``table``)."""
    SECTION_VALIDATORS[table] = check


def register_power_loader(load: Callable[..., Any]) -> None:
    """Set the function that loads a site's power-market arrays (see ``_power_loader``)."""
    _power_loader[:] = [load]


def power_loader() -> Callable[..., Any]:
    """The registered power-market loader.

    Raises
    ------
    RuntimeError
        When no loader is registered: a site's ``[power]`` tables would otherwise be
        silently ignored.
    """
    if not _power_loader:
        raise RuntimeError("the power-market extension is not registered (import allocator.power)")
    return _power_loader[0]
