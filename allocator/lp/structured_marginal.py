"""One-sided marginal values of a site the structured solver covers, by structured re-solves.

:func:`marginal_values` moves each field of :func:`allocator.lp.one_sided.resource_fields` up and
down and re-solves with :func:`allocator.lp.structured.solve_structured`, as
:mod:`allocator.lp.one_sided` does with HiGHS's warm re-solves.
"""

from __future__ import annotations

import numpy as np

from ..inputs.site import Site
from .structured import solve_structured

#: first step of the one-sided re-solves [MW]; each further step is ten times smaller
FIRST_DELTA_MW = 0.1
TRIES = 6
#: a field that cannot move this far has no value that way (NaN), as in allocator.lp.one_sided [MW]
NAN_STEP_MW = 1e-3


def marginal_values(site: Site, optimum, duals: dict) -> dict:
    """One-sided marginal values by structured re-solves, the LP duals kept from ``duals``.

    Returns the same :class:`allocator.lp.marginal.MarginalValue` per resource as the HiGHS path
    (:mod:`allocator.lp.one_sided`), annualized [USD per MW-year]. The optimum ``phi`` is concave in
    each field, so its secant slope over ``[v, v + d]`` never rises as ``d`` grows: when the slopes
    over ``d`` and ``d / 10`` agree, ``phi`` is linear on ``[v, v + d]`` and that slope is the one-sided
    derivative. Each re-solve closes its cutting planes as far as the master LP allows (a relative gap
    of 1e-13, or the best cut when they stall), and the slopes are compared within what the gaps leave open.
    """
    from .marginal import HOURS_PER_YEAR, MarginalValue
    from .one_sided import resource_fields

    annualize = HOURS_PER_YEAR / site.hours if site.hours else 0.0
    # the SLA of several fleets: the inner planes leave ~1e-10 of the optimum open, too much for the
    # secant slopes over steps down to 1e-6 MW, so its base and re-solves are HiGHS's
    highs = len(site.config.mining.fleet) > 1 and site.config.mining.min_uptime_frac > 0
    if highs:
        from dataclasses import replace

        optimum = replace(optimum, objective_usd=_resolve(site, highs)[0], gap_frac=0.0)
    out = {}
    for resource, path in resource_fields(site.config):
        right = _slope(site, path, +1.0, optimum, highs)
        left = _slope(site, path, -1.0, optimum, highs)
        dual = duals[resource].lp_dual_usd_per_mw_year if resource in duals else float("nan")
        out[resource] = MarginalValue(right * annualize + 0.0, left * annualize + 0.0, dual)
    return out


def _slope(site: Site, path: str, sign: float, base, highs: bool = False) -> float:
    """Slope of the optimum when the field at ``path`` moves by ``sign`` [USD per MW over the horizon];
    NaN when it cannot move that way (invalid file or infeasible site)."""
    from . import diagnosis
    from .one_sided import field_value, moved_site

    value = field_value(site.config, path)
    base_usd = base.objective_usd
    delta, previous, slope = FIRST_DELTA_MW, None, float("nan")
    for _ in range(TRIES):
        moved = moved_site(site, path, value + sign * delta)
        if moved is None or diagnosis.conflicts(moved):
            if delta > NAN_STEP_MW:  # the field may still move a little (a min_mw of 0.05 down)
                delta, previous = max(delta / 10.0, NAN_STEP_MW), None
                continue
            return float("nan")  # as allocator.lp.one_sided: it cannot move 1e-3 MW that way
        moved_usd, moved_gap = _resolve(moved, highs)
        slope = (moved_usd - base_usd) / (sign * delta)
        # what the proved gaps leave uncertain in a secant slope [USD per MW]
        noise = 2.0 * (moved_gap + base.gap_frac + 1e-15) * max(1.0, abs(base_usd)) / delta
        if previous is not None and abs(slope - previous) <= 1e-7 * max(1.0, abs(slope)) + 20.0 * noise:
            return slope
        previous, delta = slope, delta / 10.0
    return slope


def _resolve(site: Site, highs: bool = False) -> tuple[float, float]:
    """Optimum [USD] and proved relative gap of a moved site: structured, or HiGHS (gap 0) when asked
    or where the SLA's multipliers of several fleets do not converge for it."""
    from ..errors import SolverError
    from . import model
    from .solve import solve_model

    if not highs:
        try:
            optimum = solve_structured(site, rel_gap=1e-13, best_at_stall=True)
        except SolverError:
            pass
        else:
            return optimum.objective_usd, optimum.gap_frac
    return solve_model(model.build([site])).objective_usd, 0.0
