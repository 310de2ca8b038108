"""Hooks through which extension wings add constraint families and results to the LP.

The core LP (``model.add_site_block``) builds the families every site has, then
calls each registered extension's ``add_rows(lp, block)``; ``results.site_solution``
asks each extension for its share of the site's outcome. The LP wing never
imports an extension: ``allocator.power`` registers itself here when the package
is imported (``allocator/__init__.py`` imports it, and Python runs that file
before any submodule), so power rows cannot be dropped by importing the model
through another path.

This module imports nothing heavy: registering costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Extension:
    """One extension's hooks into the LP and its results.

    Attributes
    ----------
    name : str
        The ``SiteSolution`` attribute its outcome is stored under (``"power"``).
    add_rows : callable
        ``add_rows(lp, block)``: add its columns and rows to one site's block (nothing
        when the site does not use it).
    outcome : callable
        ``outcome(block, col_value, lease_mw, fleet_mw, run_mw)``: its per-site outcome,
        or None.
    merge_items : callable
        ``merge_items(financials_usd, outcome)``: the site's financial items with its own
        items added [USD].
    dispatch_columns : callable
        ``dispatch_columns(site_solutions)``: the extra columns it adds to dispatch.csv.
    tables : dict of str to callable
        ``Result`` tables it provides: name -> ``table(site_solutions)`` (a DataFrame).
    """

    name: str
    add_rows: Callable[[Any, Any], None]
    outcome: Callable[..., Any]
    merge_items: Callable[[dict[str, float], Any], dict[str, float]]
    dispatch_columns: Callable[[list], list[str]]
    tables: dict[str, Callable[[list], Any]] = field(default_factory=dict)


#: registered extensions by name, in registration order
EXTENSIONS: dict[str, Extension] = {}


def register(extension: Extension) -> None:
    """Plug ``extension`` into every LP built from now on (registering a name again replaces it)."""
    EXTENSIONS[extension.name] = extension
