"""The power-market extension: contracts, 4CP coincident peaks, demand response, TOU adders.

``schema`` declares the site file's tables, ``market`` loads their hourly arrays,
``rows`` adds the LP's columns and constraint families, ``results`` prices and
tabulates the outcome. The core wings never import this package: importing it
registers its hooks with them (``allocator/__init__.py`` does, so every import
of the package registers them). The hooks import the modules on first use, so
``import allocator`` stays light.
"""

from __future__ import annotations

from ..inputs.extensions import register_power_loader
from ..lp.extensions import Extension, register


def _load(*args):
    from .market import load

    return load(*args)


def _add_rows(lp, block) -> None:
    if block.site.power is None:
        return
    from .rows import add_power_market

    add_power_market(lp, block)


def _outcome(*args):
    from .results import outcome

    return outcome(*args)


def _merge_items(financials_usd, outcome):
    from .results import merge_items

    return merge_items(financials_usd, outcome)


def _dispatch_columns(solutions) -> list[str]:
    from .results import dispatch_columns

    return dispatch_columns(solutions)


def _table(name: str):
    def table(solutions):
        from . import results

        return getattr(results, name)(solutions)

    return table


register_power_loader(_load)
register(Extension("power", _add_rows, _outcome, _merge_items, _dispatch_columns,
                   {"power_contracts": _table("contracts_table"), "demand_response": _table("programs_table"),
                    "coincident_peak": _table("peak_table")}))
