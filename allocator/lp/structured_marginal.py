"""One-sided marginal values of a site the structured solver covers, by structured re-solves.

:func:`marginal_values` moves each field of :func:`allocator.lp.one_sided.resource_fields` up and
down and re-solves, as :mod:`allocator.lp.one_sided` does with HiGHS's warm re-solves.

A move of ``facility_mw``, ``convertible_mw`` or a lease's ``min_mw``/``max_mw`` changes only the
master's row and column bounds: the hourly dispatch value ``Q`` and so every cut of the base solve
stay valid. Those moves are re-solved by :class:`WarmMaster`: one master LP holding the base's cuts,
its bounds changed in place and re-solved warm by HiGHS's dual simplex, new points evaluated on the
base's dispatch, the cuts they add kept for the next moves. A move of ``interconnect_mw`` (the hourly
caps), and demand-response sites, are re-solved by
:func:`allocator.lp.structured.solve_structured` from scratch.

Every re-solve must prove a relative gap of :data:`allocator.lp.structured.REL_GAP` (or better: it
closes to :data:`RESOLVE_REL_GAP`, or stops at a cut that does not improve once the gap is below
:data:`allocator.lp.structured.STALL_GAP`); a move whose cutting planes, or the SLA's inner planes of
several fleets, do not get there is re-solved by HiGHS instead. With the uptime SLA of several fleets
the inner planes close to 1e-13 of the optimum or better on the benchmark's site-years, and the slopes
are compared within what the proved gaps leave open.

On the warm master a first secant that equals the base master's duals along the move (a
supergradient ``g``: ``secant <= r <= g`` to the right, ``g <= l <= secant`` to the left) is the
one-sided derivative; elsewhere (a kink) the step is made ten times smaller until two secants agree.
"""

from __future__ import annotations

import numpy as np

from ..inputs.site import Site
from .structured import MAX_ITERATIONS, REL_GAP, STALL_GAP, Dispatch, _Master, solve_structured

#: first step of the one-sided re-solves [MW]; each further step is ten times smaller
FIRST_DELTA_MW = 0.1
TRIES = 6
#: relative gap the re-solves close to (or the best cut, when the master stalls before it)
RESOLVE_REL_GAP = 1e-13
#: fields whose move changes only the master's bounds (the hourly data and Q unchanged)
MASTER_ONLY = ("site.facility_mw", "ai.convertible_mw", "ai.lease[")
#: a field that cannot move this far has no value that way (NaN), as in allocator.lp.one_sided [MW]
NAN_STEP_MW = 1e-3


def marginal_values(site: Site, optimum, duals: dict, warm: bool = True) -> dict:
    """One-sided marginal values by structured re-solves, the LP duals kept from ``duals``.

    Returns the same :class:`allocator.lp.marginal.MarginalValue` per resource as the HiGHS path
    (:mod:`allocator.lp.one_sided`), annualized [USD per MW-year]. The optimum ``phi`` is concave in
    each field, so its secant slope over ``[v, v + d]`` never rises as ``d`` grows: when the slopes
    over ``d`` and ``d / 10`` agree, ``phi`` is linear on ``[v, v + d]`` and that slope is the one-sided
    derivative. Each re-solve closes its cutting planes as far as the master LP allows (a relative gap
    of 1e-13, or the best cut when they stall), and the slopes are compared within what the gaps leave open.
    ``warm=False`` re-solves every move from scratch (what :class:`WarmMaster` is tested against).
    """
    from .marginal import HOURS_PER_YEAR, MarginalValue
    from .one_sided import resource_fields

    annualize = HOURS_PER_YEAR / site.hours if site.hours else 0.0
    master = WarmMaster(site, optimum) if warm and WarmMaster.applies(optimum) else None
    out = {}
    for resource, path in resource_fields(site.config):
        right = _slope(site, path, +1.0, optimum, master)
        left = _slope(site, path, -1.0, optimum, master)
        dual = duals[resource].lp_dual_usd_per_mw_year if resource in duals else float("nan")
        out[resource] = MarginalValue(right * annualize + 0.0, left * annualize + 0.0, dual)
    return out


def _slope(site: Site, path: str, sign: float, base, master=None) -> float:
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
        warm = master if path.startswith(MASTER_ONLY) and master is not None and master.same_dispatch(moved) else None
        moved_usd, moved_gap = _resolve(moved, warm)
        slope = (moved_usd - base_usd) / (sign * delta)
        # what the proved gaps leave uncertain in a secant slope [USD per MW]
        noise = 2.0 * (moved_gap + base.gap_frac + 1e-15) * max(1.0, abs(base_usd)) / delta
        tolerance = 1e-7 * max(1.0, abs(slope)) + 20.0 * noise
        if previous is not None and abs(slope - previous) <= tolerance:
            return slope
        # the base master's duals along the move: a supergradient g of phi at v, so the right
        # derivative r obeys secant <= r <= g and the left one g <= l <= secant: a secant equal to g
        # is the one-sided derivative, with no second, smaller step
        if warm is not None and abs(slope - warm.dual_slope(moved, sign * delta)) <= tolerance:
            return slope
        previous, delta = slope, delta / 10.0
    return slope


def _resolve(site: Site, master: WarmMaster | None = None) -> tuple[float, float]:
    """Optimum [USD] and proved relative gap of a moved site: on the warm master when it is given (the
    site's hourly data are the base's), else structured from scratch, or HiGHS (gap 0) where neither
    proves a relative gap of :data:`allocator.lp.structured.REL_GAP` (cutting planes, or the SLA's
    multipliers of several fleets, that do not close for it)."""
    from ..errors import SolverError
    from . import model
    from .solve import solve_model

    if master is not None:
        try:
            usd, gap = master.resolve(site)
        except SolverError:
            pass  # the master did not solve: from scratch below decides
        else:
            if gap <= REL_GAP:
                return usd, gap
    try:
        optimum = solve_structured(site, rel_gap=1e-13, best_at_stall=True)
    except SolverError:
        pass
    else:
        if optimum.gap_frac <= REL_GAP:
            return optimum.objective_usd, optimum.gap_frac
    return solve_model(model.build([site])).objective_usd, 0.0


class WarmMaster:
    """Re-solves of moves that change only the master's bounds, on one master LP kept warm.

    The master holds the base solve's cuts (valid for every such move: ``Q`` is unchanged) and every
    cut a re-solve adds; each re-solve sets the moved site's column bounds (lease MW, fleet MW) and
    row limits (convertible, halls) and runs :func:`allocator.lp.structured.solve_structured`'s
    loop from there: warm dual simplex, evaluate the new point on the base's dispatch, cut, until the
    relative gap is :data:`RESOLVE_REL_GAP` (or the best point when the cuts stop improving it).
    """

    def __init__(self, site: Site, optimum) -> None:
        cfg = site.config
        self.site, self.optimum = site, optimum
        self.n_l = len(cfg.ai.lease) if site.has_ai else 0
        self.n_f = len(cfg.mining.fleet)
        self.uptime = cfg.mining.min_uptime_frac if self.n_f else 0.0
        self.dispatch = dispatch = Dispatch(site)
        self.cost = np.r_[dispatch.lease_obj, dispatch.fleet_obj].astype(float)
        lower, upper = _bounds(site)
        rows = optimum.cuts.rows
        first = rows[0]  # as solve_structured: the master's USD in units of its first cut's net
        scale = max(1.0, abs(first.value), float(np.abs(self.cost) @ np.abs(first.y0)))
        self.master = _Master(site, self.cost, lower, upper, scale, self.n_l + self.n_f)
        self.resolves = 0  # moves re-solved here
        for cut in rows:
            self.master.add(cut)

    @staticmethod
    def applies(optimum) -> bool:
        """True for an optimum with its cuts and without demand response (whose master has more columns)."""
        return optimum.cuts is not None and bool(optimum.cuts.rows) and optimum.demand_response is None

    def same_dispatch(self, moved: Site) -> bool:
        """True when ``moved`` differs from the base site only where the master's bounds come from
        (:func:`allocator.lp.one_sided.moved_site` shares the hourly arrays and the untouched tables)."""
        base, cfg = self.site, moved.config
        if moved.grid_cap_mw is not base.grid_cap_mw or moved.power is not base.power:
            return False
        if cfg.mining is not base.config.mining or cfg.site.interconnect_mw != base.config.site.interconnect_mw:
            return False
        if (cfg.ai is None) != (base.config.ai is None):
            return False
        if cfg.ai is None:
            return True
        ours, theirs = base.config.ai, cfg.ai
        if ours.model_dump(exclude={"convertible_mw", "lease"}) != theirs.model_dump(exclude={"convertible_mw", "lease"}):
            return False
        if len(ours.lease) != len(theirs.lease):
            return False
        keep = {"min_mw", "max_mw"}
        return all(a.model_dump(exclude=keep) == b.model_dump(exclude=keep) for a, b in zip(ours.lease, theirs.lease))

    def dual_slope(self, moved: Site, step_mw: float) -> float:
        """The base master's duals along the move from the base to ``moved``, per MW of the field moved by
        ``step_mw`` [USD per MW over the horizon]: row duals times the row limits' moves (convertible,
        halls), reduced costs times the move of the bound each is the multiplier of (upper where > 0,
        lower where < 0)."""
        optimum = self.optimum
        base_lower, base_upper = _bounds(self.site)
        lower, upper = _bounds(moved)
        reduced = np.r_[optimum.lease_dual, optimum.fleet_dual]
        usd = float(reduced @ np.where(reduced > 0, upper - base_upper, np.where(reduced < 0, lower - base_lower, 0.0)))
        if self.n_l:
            usd += optimum.convertible_dual * (moved.config.ai.convertible_mw - self.site.config.ai.convertible_mw)
        if "halls" in self.master.rows:
            usd += optimum.halls_dual * (moved.facility_mw - self.site.facility_mw)
        return usd / step_mw

    def resolve(self, moved: Site) -> tuple[float, float]:
        """Optimum [USD] and proved relative gap of ``moved`` (:meth:`same_dispatch` true)."""
        from ..errors import Problem, SolverError
        from .structured_sla import Infeasible, evaluate_sla

        master, dispatch, n_l, cost = self.master, self.dispatch, self.n_l, self.cost
        self.resolves += 1
        lower, upper = _bounds(moved)
        n = lower.size
        if n:
            master.h.changeColsBounds(n, np.arange(n, dtype=np.int32), lower, upper)
        cfg = moved.config
        if "convertible" in master.rows:
            master.h.changeRowBounds(master.rows["convertible"], -np.inf, float(cfg.ai.convertible_mw))
        if "halls" in master.rows:
            master.h.changeRowBounds(master.rows["halls"], -np.inf, float(moved.facility_mw))
        best, gap = None, np.inf
        for iteration in range(1, MAX_ITERATIONS + 1):
            y, bound = master.solve()
            y = np.minimum(np.maximum(y, lower), upper)
            a = float(y[:n_l].sum())
            if self.uptime > 0:
                out = evaluate_sla(dispatch, a, y[n_l:], self.uptime, n_l)
                if isinstance(out, Infeasible):
                    master.add(_uptime_cut(y, out, moved.hours))
                    continue
                value, _, mu, lam, pi, nu, grad, cut_value = out
            else:
                value, _, mu, lam, pi = dispatch.evaluate_priced(a, y[n_l:])
                nu, grad, cut_value = np.zeros(self.n_f), dispatch.gradient(mu, lam, n_l, pi), value
            net = float(cost @ y) + value
            if best is None or net > best:
                best = net
            gap = max(0.0, bound - best) / max(1.0, abs(bound), abs(best))
            if gap <= RESOLVE_REL_GAP or (iteration > 20 and gap <= STALL_GAP
                                          and net < best + RESOLVE_REL_GAP * abs(best)):
                return best + dispatch.constant_usd, gap
            master.add(_value_cut(y, cut_value, grad, mu, lam, pi, nu))
        if best is not None:
            return best + dispatch.constant_usd, gap
        raise SolverError([Problem(moved.id, "the warm master did not find a feasible point.", "Use --solver highs.")])


def _bounds(site: Site) -> tuple[np.ndarray, np.ndarray]:
    """The master's column bounds: lease MW (min, max), fleet MW (0, mw) [IT MW]."""
    cfg = site.config
    leases = cfg.ai.lease if site.has_ai else []
    n_f = len(cfg.mining.fleet)
    lower = np.array([lease.min_mw for lease in leases] + [0.0] * n_f, float)
    upper = np.array([cfg.lease_max_mw(lease) for lease in leases] + [f.mw for f in cfg.mining.fleet], float)
    return lower, upper


def _value_cut(y, value, grad, mu, lam, pi, nu):
    from .structured_cuts import Cut

    return Cut("value", y.copy(), value, grad, mu, lam, pi, nu)


def _uptime_cut(y, out, hours: int):
    from .structured_cuts import Cut

    return Cut("uptime", y.copy(), out.shortfall_mwh, out.grad_per_mw, out.mu, out.lam, np.zeros(hours), out.nu)
