"""The cuts of the structured solver, kept so that a re-solve with the same hourly data can start from them.

:func:`allocator.lp.structured.solve_structured` returns them in ``optimum.cuts``
and takes them back as ``cuts=``. Sweeps over lease rates, costs or bounds re-solve
only the small master LP (a few cuts more) instead of rebuilding it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs.site import Site
from .structured_dispatch import Dispatch


@dataclass
class Cut:
    """One row of the master: an optimality cut ``theta <= value + grad . (y - y0)`` (``kind="value"``) or
    a feasibility cut of the uptime SLA ``value + grad . (y - y0) >= 0`` (``kind="uptime"``).

    ``mu``, ``lam``, ``pi`` and ``nu`` are the hourly duals it was made from (module docstring), so
    the duals of the site LP can be aggregated from the master's weights on its cuts.
    """

    kind: str
    y0: np.ndarray
    value: float
    grad: np.ndarray
    mu: np.ndarray
    lam: np.ndarray
    pi: np.ndarray
    nu: np.ndarray
    dr: dict | None = None  # demand response: the offer and shed rows' duals (allocator.lp.structured_dr)


@dataclass
class Cuts:
    """The cuts of one solve, to warm-start a re-solve whose hourly dispatch is unchanged.

    The dispatch value ``Q(a, m)`` depends only on the hourly data (prices, hashprice, caps, PUEs,
    utilization, fleet efficiencies, pool fee, power-market terms, uptime SLA): a re-solve that
    changes only lease rates, costs, bounds (lease min/max, fleet MW, convertible, facility) keeps
    every cut valid. ``key`` fingerprints that hourly data; :func:`solve_structured` ignores cuts
    whose key differs from the site's, so passing stale cuts is safe, only not faster.
    """

    key: str
    rows: list[Cut]


def dispatch_key(site: Site, dispatch: Dispatch | None = None) -> str:
    """A fingerprint of everything ``Q(a, m)`` depends on (:class:`Cuts`); ``dispatch``: the site's, if built."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    dispatch = Dispatch(site) if dispatch is None else dispatch
    uptime = site.config.mining.min_uptime_frac if site.config.mining.fleet else 0.0
    programs = site.power.programs if site.power is not None else []
    dr = [np.array([p.annual, p.stacking, p.max_mw], float) for p in programs]
    dr += [a for p in programs for a in (p.capacity_usd_per_mw_hour, p.active, p.deployed)]
    for array in (dispatch.margin, dispatch.ai_grid, dispatch.host_ai, dispatch.cap, dispatch.block_mw,
                  dispatch.bonus_usd_per_mwh, np.array([dispatch.pue_m, uptime], float), *dr):
        digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        digest.update(b"|")
    return digest.hexdigest()
