"""Base-model sweep scenarios on one warm cutting-plane master, kept between scenarios.

For a scenario of the base model (no uptime SLA, no power-market rows; TOU adders
are folded into the price) :class:`BaseModelSweep` keeps one master LP in HiGHS
from scenario to scenario: the dispatch value ``Q(y)`` (hourly greedy knapsacks,
:class:`allocator.lp.structured.Dispatch`) depends only on the hourly margins,
the caps and the AI draw per MW, so a scenario that moves nothing of these (a
lease rate, fit-out capex, an opex, a bound such as ``convertible_mw``,
``facility_mw``, a lease's ``min_mw``/``max_mw`` or a fleet's ``mw``) changes
only the master's objective, bounds and row limits: the cuts stay, the new
costs and bounds are pushed into the same HiGHS model, and usually one more
evaluation closes the gap. A scenario that moves ``Q`` starts a new master
whose first cut is taken at the previous scenario's optimum.

This is :func:`allocator.lp.structured.solve_structured`'s method with its
stopping rule (relative gap 1e-9), without rebuilding the dispatch, hashing the
hourly data and creating a HiGHS model per scenario: on the bundled campus a
1,000-scenario sweep took 1.1-1.2 s of CPU this way against 2.9-3.1 s through
``solve_structured`` with its cuts passed back (``benchmarks/README.md``). The
scenarios beyond the base model go through ``solve_structured``
(:mod:`allocator.whatif.sweep_structured`).
"""

from __future__ import annotations

import numpy as np

from ..inputs.site import Site
from ..lp import structured
from ..lp.model import objective_usd_per_mw
from ..lp.results import TOLERANCE_MW, SiteSolution, financials


def applies(site: Site) -> bool:
    """True for a base-model site (no uptime SLA, no power-market LP terms) that
    :func:`allocator.lp.structured.not_covered` accepts."""
    if structured.not_covered(site) is not None:
        return False
    if site.power is not None and site.power.has_lp_terms:
        return False
    return not (site.config.mining.fleet and site.config.mining.min_uptime_frac > 0)


def dispatch_inputs(site: Site) -> tuple[tuple, tuple[np.ndarray, ...]]:
    """What ``Q`` and the master's rows depend on: scalars and hourly arrays (compared by value)."""
    cfg = site.config
    m = cfg.mining
    n_lease = len(cfg.ai.lease) if site.has_ai else 0
    scalars = (n_lease, m.pue, m.pool_fee_frac, m.capture_frac, tuple(f.efficiency_j_per_th for f in m.fleet),
               cfg.ai.pue if site.has_ai else None)
    arrays = (site.price_usd_per_mwh, site.hashprice_usd_per_ph_day, site.grid_cap_mw,
              site.ai_utilization_frac if site.has_ai else np.zeros(0))
    return scalars, arrays


def _same(a: tuple[tuple, tuple[np.ndarray, ...]] | None, b: tuple[tuple, tuple[np.ndarray, ...]]) -> bool:
    if a is None or a[0] != b[0]:
        return False
    return all(x is y or (x.shape == y.shape and np.array_equal(x, y)) for x, y in zip(a[1], b[1]))


class _CutMaster:
    """max cost.y + theta over the first-stage rows and the cuts, kept in one HiGHS model.

    Rows as in :mod:`allocator.lp.structured` (MODEL.md 1, 3, 4): ``sum a <= convertible_mw``,
    ``pue_ai sum a + pue_m sum m <= facility_mw``, ``pue_ai sum a <= min_t cap_t``; costs and cut
    right-hand sides divided by ``scale`` [USD].
    """

    def __init__(self, n_lease: int, n_fleet: int, pue_ai: float, pue_m: float, firm_mw: float,
                 scale: float) -> None:
        import highspy

        from ..lp.solve import _quiet_highs

        self.n_lease, self.n = n_lease, n_lease + n_fleet
        self.scale = scale
        self.h = h = _quiet_highs()
        for name, value in (("output_flag", False), ("threads", 1), ("solver", "simplex"),
                            ("primal_feasibility_tolerance", 1e-10), ("dual_feasibility_tolerance", 1e-10),
                            ("small_matrix_value", 1e-12)):  # as lp.structured's master: keep small cut slopes
            h.setOptionValue(name, value)
        h.addVars(self.n + 1, np.r_[np.zeros(self.n), -np.inf], np.r_[np.zeros(self.n), np.inf])
        h.changeColCost(self.n, 1.0)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        lease = np.r_[np.ones(n_lease), np.zeros(n_fleet)]
        self.rows: dict[str, int] = {}
        if n_lease:
            self._row("convertible", lease, 0.0)
        if self.n:
            self._row("halls", pue_ai * lease + pue_m * (1.0 - lease), 0.0)
        if n_lease:
            self._row("firm_ai", pue_ai * lease, firm_mw)

    def _row(self, name: str, coef: np.ndarray, upper: float) -> None:
        self.rows[name] = self.h.getNumRow()
        keep = np.flatnonzero(coef != 0)
        self.h.addRow(-np.inf, float(upper), keep.size, keep.astype(np.int32), coef[keep].astype(float))

    def update(self, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, convertible_mw: float,
               facility_mw: float) -> None:
        """The scenario's objective, bounds and row limits."""
        idx = np.arange(self.n, dtype=np.int32)
        if self.n:
            self.h.changeColsCost(self.n, idx, cost / self.scale)
            self.h.changeColsBounds(self.n, idx, lower, upper)
        for name, value in (("convertible", convertible_mw), ("halls", facility_mw)):
            if name in self.rows:
                self.h.changeRowBounds(self.rows[name], -np.inf, float(value))

    def cut(self, y0: np.ndarray, value: float, grad: np.ndarray) -> None:
        """theta - g.y <= Q(y0) - g.y0 (scaled)."""
        cols = np.r_[self.n, np.arange(self.n)].astype(np.int32)
        self.h.addRow(-np.inf, (value - float(grad @ y0)) / self.scale, cols.size, cols, np.r_[1.0, -grad / self.scale])

    def solve(self) -> tuple[np.ndarray, float] | None:
        """The master's optimum ``y`` and bound [USD]; None when HiGHS does not report optimal."""
        import highspy

        from ..lp.solve import raise_if_interrupted, run

        run(self.h)
        raise_if_interrupted(self.h)
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(self.h.getSolution().col_value, float)
        return x[:self.n], float(self.h.getInfo().objective_function_value) * self.scale


class BaseModelSweep:
    """Structured solves of one site's base-model scenarios, the dispatch and the cuts kept while ``Q`` stays.

    Attributes
    ----------
    kept : int
        Scenarios solved on the cuts of earlier scenarios (``Q`` unchanged).
    fresh : int
        Scenarios that started a new master (``Q`` moved).
    evaluations : int
        Dispatch evaluations (cuts) over all scenarios.
    """

    def __init__(self, rel_gap: float = structured.REL_GAP, max_iterations: int = structured.MAX_ITERATIONS) -> None:
        self.rel_gap, self.max_iterations = rel_gap, max_iterations
        self.kept = self.fresh = self.evaluations = 0
        self._inputs = None
        self._dispatch: structured.Dispatch | None = None
        self._master: _CutMaster | None = None
        self._last_y: np.ndarray | None = None

    def solve(self, site: Site) -> SiteSolution | None:
        """The exact optimum of ``site`` as a :class:`SiteSolution` (no marginal values, no shadow
        prices); None when the site is not covered or the cutting planes do not close (use HiGHS)."""
        if not applies(site):
            return None
        cfg = site.config
        leases = cfg.ai.lease if site.has_ai else []
        n_l, n_f = len(leases), len(cfg.mining.fleet)
        inputs = dispatch_inputs(site)
        if _same(self._inputs, inputs):
            self.kept += 1
            dispatch = self._dispatch
            lease_obj, fleet_obj, _ = objective_usd_per_mw(site)  # margins unchanged by definition
        else:
            self.fresh += 1
            dispatch = structured.Dispatch(site)
            lease_obj, fleet_obj = dispatch.lease_obj, dispatch.fleet_obj
            self._master = None
        assert dispatch is not None
        lower = np.array([lease.min_mw for lease in leases] + [0.0] * n_f, float)
        upper = np.array([cfg.lease_max_mw(lease) for lease in leases] + [f.mw for f in cfg.mining.fleet], float)
        cost = np.r_[lease_obj, fleet_obj].astype(float)

        def evaluate(y: np.ndarray):
            value, x, mu, lam = dispatch.evaluate(float(y[:n_l].sum()), y[n_l:])
            self.evaluations += 1
            return value, x, dispatch.gradient(mu, lam, n_l)

        master = self._master
        if master is None:
            # the previous optimum (clipped to this scenario's bounds) is a good first cut; else the
            # start of lp.structured: signed leases and every fleet
            y0 = (np.minimum(np.maximum(self._last_y, lower), upper)
                  if self._last_y is not None and self._last_y.size == lower.size else np.r_[lower[:n_l], upper[n_l:]])
            value, _, grad = evaluate(y0)
            # the master's USD in units of the first cut's net, as lp.structured's master: a scale set by
            # the bounds' worth (a lease losing 10^5 USD per MW on 300 MW) leaves the master's tolerance
            # of 1e-10 at 1e-7 of the optimum
            scale = max(1.0, abs(value), float(np.abs(cost) @ np.abs(y0)))
            pue_ai = cfg.ai.pue if site.has_ai else 0.0
            master = _CutMaster(n_l, n_f, pue_ai, cfg.mining.pue, float(np.min(site.grid_cap_mw)), scale)
            master.cut(y0, value, grad)
        master.update(cost, lower, upper, cfg.ai.convertible_mw if site.has_ai else 0.0, site.facility_mw)
        self._inputs, self._dispatch, self._master = inputs, dispatch, master
        best = None
        for _ in range(self.max_iterations):
            solved = master.solve()
            if solved is None:
                break
            y, bound = solved
            y = np.minimum(np.maximum(y, lower), upper)
            value, x, grad = evaluate(y)
            net = float(cost @ y) + value
            if best is None or net > best[0]:
                best = (net, y.copy(), x)
            if max(0.0, bound - best[0]) / max(1.0, abs(bound), abs(best[0])) <= self.rel_gap:
                self._last_y = best[1]
                return _solution(site, best[1][:n_l], best[1][n_l:], best[2], best[0] + dispatch.constant_usd)
            master.cut(y, value, grad)
        self._inputs = self._dispatch = self._master = None  # start afresh next time
        return None


def _solution(site: Site, lease_mw: np.ndarray, fleet_mw: np.ndarray, run_mw: np.ndarray,
              objective_usd: float) -> SiteSolution:
    """The optimum priced item by item as :func:`allocator.lp.results.site_solution` prices it."""
    def clean(x: np.ndarray) -> np.ndarray:
        return np.where(np.abs(x) < TOLERANCE_MW, 0.0, x)

    lease, fleet, run = clean(lease_mw), clean(fleet_mw), clean(run_mw)
    return SiteSolution(site, lease, fleet, run, objective_usd, financials(site, lease, fleet, run))
