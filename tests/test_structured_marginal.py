"""The one-sided marginal values on the warm master equal the from-scratch re-solves.

:class:`allocator.lp.structured_marginal.WarmMaster` re-solves the moves of facility, convertible and
lease bounds on one master kept warm with the base's cuts; ``warm=False`` re-solves every move with
``solve_structured`` from scratch. Both are compared on random sites (leases, fleets, caps, power terms,
one fleet's uptime SLA), value by value, to 1e-9 relative; the HiGHS comparison is test_structured's.
"""

from __future__ import annotations

import math

import numpy as np

from allocator.lp import structured, structured_marginal
from allocator.lp.one_sided import field_value, moved_site
from test_structured import random_site, sla_site


def same_values(site, k: int) -> int:
    """Warm against from scratch on one site: every value and loss equal (NaN where the other is NaN)."""
    optimum = structured.solve_structured(site)
    master = structured_marginal.WarmMaster(site, optimum) if structured_marginal.WarmMaster.applies(optimum) else None
    warm = structured_marginal.marginal_values(site, optimum, {})
    cold = structured_marginal.marginal_values(site, optimum, {}, warm=False)
    assert warm.keys() == cold.keys()
    compared = 0
    for resource in warm:
        for side in ("value_usd_per_mw_year", "loss_usd_per_mw_year"):
            ours, theirs = getattr(warm[resource], side), getattr(cold[resource], side)
            assert math.isnan(ours) == math.isnan(theirs), (k, resource, side, ours, theirs)
            if not math.isnan(ours):
                # a slope is a secant of two optima each closed to 1e-13: where it is small against the
                # optimum, what the gaps leave is counted in the optimum's USD (seen: up to 1.3e-12 of it)
                noise = 1e-11 * max(1.0, abs(optimum.objective_usd)) * 8760.0 / site.hours
                assert abs(ours - theirs) <= 1e-9 * abs(theirs) + noise, (k, resource, side, ours, theirs)
                compared += 1
    return compared if master is not None else 0


def test_warm_master_equals_from_scratch_on_random_sites():
    rng = np.random.default_rng(1718)
    compared = sum(same_values(random_site(rng, k), k) for k in range(60))
    assert compared > 400


def test_warm_master_equals_from_scratch_with_power_terms_and_one_fleets_sla():
    rng = np.random.default_rng(1719)
    compared = 0
    for k in range(30):
        site = sla_site(rng, k, power=True, fleets=1) if k % 2 else random_site(rng, k, power=True)
        compared += same_values(site, k)
    assert compared > 150


def test_the_warm_master_takes_every_move_but_the_interconnects():
    """On the bundled campus (convertible, a lease, two fleets) the moves of facility, convertible and
    the lease bounds are re-solved warm; the interconnect's (it moves the hourly caps) are not."""
    from allocator.inputs.site import load_site
    from conftest import REPO

    site = load_site(REPO / "sites" / "west_texas.toml")
    optimum = structured.solve_structured(site)
    master = structured_marginal.WarmMaster(site, optimum)
    moved = moved_site(site, "site.interconnect_mw", site.config.site.interconnect_mw + 0.1)
    assert not master.same_dispatch(moved)
    for path in ("site.facility_mw", "ai.convertible_mw", "ai.lease[0].max_mw"):
        moved = moved_site(site, path, field_value(site.config, path) - 0.1)
        assert master.same_dispatch(moved)
        usd, gap = master.resolve(moved)
        scratch = structured.solve_structured(moved, rel_gap=1e-13, best_at_stall=True)
        assert abs(usd - scratch.objective_usd) <= 1e-12 * abs(scratch.objective_usd), path
        assert gap <= 1e-13
    assert master.resolves == 3
