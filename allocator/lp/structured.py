"""An exact solver for the site model that uses its structure: cutting planes over a_l and m_f.

Once the lease MW ``a = sum_l a_l`` and the fleet MW ``m_f`` are fixed, the
site LP (:mod:`allocator.lp.model`) falls apart by hour: in hour ``t`` the
fleets share the IT headroom ``(c_t - pue_ai u_t a) / pue_m`` and each runs at
most ``m_f``, earning its margin ``r_{f,t}`` per IT MWh (hashprice revenue
minus ``pue_m`` x price). That one-row LP is a fractional knapsack, solved
greedily: fleets in decreasing margin, while the margin is positive, until
the headroom is used. Its optimal duals are explicit:

- ``mu_t`` [USD per IT MWh of headroom]: 0 when headroom is left, else the best
  margin among the fleets not running in full (clipped at 0);
- ``lambda_{f,t} = max(0, r_{f,t} - mu_t)`` (the row ``x_{f,t} <= m_f``).

So the dispatch value ``Q(a, m) = sum_t knapsack_t`` is concave and piecewise
linear, with the supergradient ``dQ/dm_f = sum_t lambda_{f,t}`` and
``dQ/da_l = -sum_t mu_t pue_ai u_t / pue_m``. Kelley's cutting planes solve

    max  lease_obj . a + fleet_obj . m + theta
    s.t. theta <= Q(y_k) + g_k . (y - y_k)   for every evaluated y_k
         the first-stage rows of MODEL.md 1, 3 and 4 (convertible, halls, firm AI)

in a master LP of ``L + F + 1`` columns (HiGHS), until the master's bound and
the best evaluated ``y`` agree to a relative gap of 1e-9. ``Q`` is polyhedral,
so Kelley's method ends in finitely many cuts.

Duals of the whole site LP come from the same cuts: with the master's
multipliers ``w_k`` on its cuts (they sum to 1), ``sum_k w_k mu_k`` and
``sum_k w_k lambda_k`` are dual feasible for every hour and, at the optimum,
price the dispatch at ``Q(y*)``; with the master's duals of the convertible,
halls and firm-AI rows and of the bounds of ``a_l`` and ``m_f`` they are an
optimal dual of the site LP. They are returned in the LP's own layout
(:class:`allocator.lp.solve.Solution`), so shadow prices, the LP-dual column
of the marginal values and the reasons come out of the same code as for
HiGHS. The one-sided marginal values (:func:`allocator.lp.structured_marginal.marginal_values`)
are computed by structured re-solves of the site with one field moved.

The hourly knapsacks, with the power terms folded into them (4CP, contracts),
are in :mod:`allocator.lp.structured_dispatch`; the uptime SLA of a one-fleet
site in :mod:`allocator.lp.structured_sla` (an exact Lagrangian per first
stage, and feasibility cuts for first stages that cannot meet it, whose master
weights enter the duals as the SLA's Farkas ray; with several fleets, inner
cutting planes over the multipliers).

Re-solves: ``optimum.cuts`` (:class:`Cuts`) passed back as
``solve_structured(site, cuts=optimum.cuts)`` starts the master with every
earlier cut. They stay valid while the hourly data are unchanged (a lease
rate, a cost or a bound moved); their fingerprint is checked, so stale cuts
are ignored, never used.

Coverage: the base model (leases, fleets, curtailment caps, utilization
profiles, pass-through or not, price adders and TOU adders folded into the
price), 4CP at listed or probable hours, financial and physical contracts,
the uptime SLA (one multiplier per fleet) and demand response
(:mod:`allocator.lp.structured_dr`: hourly offers priced inside each hour,
deployment hours as a small LP, annual programs as master columns with
feasibility cuts). Not covered, solved by HiGHS instead (:func:`not_covered`
names it): the SLA with demand response. A site whose
cutting planes (or, with several fleets, the SLA's inner planes) do not
close raises :class:`allocator.errors.SolverError`, and the caller hands it
to HiGHS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..inputs.site import Site
from .structured_cuts import Cut, Cuts, dispatch_key
from .structured_dispatch import Dispatch

#: relative gap at which the cutting planes stop
REL_GAP = 1e-9
#: most cuts before the site is handed to HiGHS instead
MAX_ITERATIONS = 2000
#: ``best_at_stall``: a cut that does not improve on the best point ends the re-solve only once the
#: proved gap is this small (relative); Kelley's points are not monotone, so a non-improving cut
#: alone says nothing of the gap (a moved SLA site stopped at a gap of 0.07 after 21 cuts and closed
#: to 4e-16 at 30)
STALL_GAP = 1e-11
METHOD = "structured (Kelley cutting planes over leases and fleets, greedy hourly dispatch)"


def not_covered(site: Site) -> str | None:
    """Why the structured solver does not cover ``site`` (None: it does).

    The reason names exactly what the site has that the cutting planes do not solve: the uptime SLA
    with demand response (``[[demand_response]]`` with a fleet). Covered: the base model, TOU adders,
    4CP, financial and physical contracts, demand response, and the uptime SLA (one fleet or several).
    A covered site may still go to HiGHS when :func:`solve_structured` raises (cutting planes, or with
    two fleets or more the SLA's inner planes, that do not close); the caller says so in the site's method.
    """
    if site.power is not None and site.power.programs and site.config.mining.fleet \
            and site.config.mining.min_uptime_frac > 0:
        return "the uptime SLA with demand response ([[demand_response]])"
    return None


@dataclass
class StructuredOptimum:
    """The exact optimum of one site and the optimal duals of its LP.

    Attributes
    ----------
    lease_mw : np.ndarray
        (L,) IT MW leased per tenant.
    fleet_mw : np.ndarray
        (F,) IT MW kept per fleet.
    run_mw : np.ndarray
        (F, H) IT MW running.
    objective_usd : float
        Net USD over the horizon.
    gap_frac : float
        Relative gap proved between the master's bound and this optimum.
    iterations : int
        Cuts evaluated.
    mu_usd_per_mwh : np.ndarray
        (H,) dual of the headroom per IT MWh (grid row dual x pue_m).
    lambda_usd_per_mwh : np.ndarray
        (F, H) dual of ``x_{f,t} <= m_f``.
    convertible_dual, halls_dual, firm_dual : float
        Master row duals [USD per IT MW, per grid MW, per grid MW] over the horizon.
    lease_dual, fleet_dual : np.ndarray
        Reduced costs of ``a_l`` and ``m_f`` at their active bound [USD per IT MW over the horizon].
    seconds : float
        Wall time of the cutting planes [s].
    pi_usd_per_mwh : np.ndarray
        (H,) dual of the physical contract row ``sum_k y_{k,t} <= host draw_t`` [USD per grid MWh].
    physical_use_mw : np.ndarray
        (H,) grid MW of the physical blocks used, all contracts.
    peak_draw_mw : float
        4CP: the average host draw over the peak intervals, ``z`` [grid MW].
    margin_usd_per_mwh : np.ndarray
        (F, H) margin of each fleet and hour with the 4CP charge folded in [USD per IT MWh].
    uptime_dual : np.ndarray
        (F,) ``nu_f``, the uptime SLA's multiplier of each fleet [USD per IT MWh of uptime] (0 without it).
    cuts : Cuts
        Every cut of this solve, to pass to a re-solve (:func:`solve_structured`).
    demand_response : dict, optional
        Demand response (:mod:`allocator.lp.structured_dr`): ``model``, the aggregated row ``duals``,
        ``primal`` (offers (P, H), shed (H,) [grid MW]), ``annual_mw`` and ``annual_dual`` (reduced
        costs of the annual offers [USD per grid MW]).
    """

    lease_mw: np.ndarray
    fleet_mw: np.ndarray
    run_mw: np.ndarray
    objective_usd: float
    gap_frac: float
    iterations: int
    mu_usd_per_mwh: np.ndarray
    lambda_usd_per_mwh: np.ndarray
    convertible_dual: float
    halls_dual: float
    firm_dual: float
    lease_dual: np.ndarray
    fleet_dual: np.ndarray
    seconds: float = 0.0
    pi_usd_per_mwh: np.ndarray | None = None
    physical_use_mw: np.ndarray | None = None
    peak_draw_mw: float = 0.0
    margin_usd_per_mwh: np.ndarray | None = None
    uptime_dual: np.ndarray | None = None
    cuts: Cuts | None = None
    demand_response: dict | None = None


class _Master:
    """max c.y + theta over the first-stage rows and the cuts, held warm in HiGHS (scaled by ``scale``)."""

    def __init__(self, site: Site, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: float,
                 n_first: int) -> None:
        import highspy

        from .solve import exact_simplex_highs

        cfg = site.config
        n_l = len(cfg.ai.lease) if site.has_ai else 0
        self.n = cost.size
        self.scale = scale
        self.h = h = exact_simplex_highs()
        # HiGHS drops matrix entries below 1e-9 by default: a cut's small slope on a lease (a few
        # hours of headroom dual, over the objective's scale) vanished, the cut was no longer tight at
        # the point it was taken, and Kelley's iterations stalled there (west_texas at hashprice 30,
        # lease rate 170: gap 1.1e-7 for 2000 cuts); 1e-12 is the least HiGHS accepts
        h.setOptionValue("small_matrix_value", 1e-12)
        h.addVars(self.n + 1, np.r_[lower, -np.inf], np.r_[upper, np.inf])
        h.changeColsCost(self.n + 1, np.arange(self.n + 1, dtype=np.int32), np.r_[cost / scale, 1.0])
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.rows: dict[str, int] = {}
        lease = np.r_[np.ones(n_l), np.zeros(self.n - n_l)]
        fleet = np.r_[np.zeros(n_l), np.ones(n_first - n_l), np.zeros(self.n - n_first)]  # not the annual offers
        if n_l:
            self._row("convertible", lease, cfg.ai.convertible_mw)
        if n_first:
            pue_ai = cfg.ai.pue if site.has_ai else 0.0
            self._row("halls", pue_ai * lease + cfg.mining.pue * fleet, site.facility_mw)
        if n_l:
            self._row("firm_ai", cfg.ai.pue * lease, float(np.min(site.grid_cap_mw)))
        self.n_fixed_rows = self.h.getNumRow()

    def _row(self, name: str, coef: np.ndarray, upper: float) -> None:
        self.rows[name] = self.h.getNumRow()
        keep = np.flatnonzero(coef != 0)
        self.h.addRow(-np.inf, float(upper), keep.size, keep.astype(np.int32), coef[keep].astype(float))

    def add(self, cut) -> None:
        """A value cut ``theta - g.y <= Q(y0) - g.y0`` (scaled), or an SLA feasibility cut
        ``-g.y <= h(y0) - g.y0`` [IT MWh]."""
        if cut.kind == "value":
            cols = np.r_[self.n, np.arange(self.n)].astype(np.int32)
            coef = np.r_[1.0, -cut.grad / self.scale]
            self.h.addRow(-np.inf, (cut.value - float(cut.grad @ cut.y0)) / self.scale, cols.size, cols, coef)
        else:
            cols = np.arange(self.n).astype(np.int32)
            self.h.addRow(-np.inf, cut.value - float(cut.grad @ cut.y0), cols.size, cols, -cut.grad)

    def solve(self) -> tuple[np.ndarray, float]:
        import highspy

        from ..errors import Problem, SolverError
        from .solve import raise_if_interrupted, run

        run(self.h)
        raise_if_interrupted(self.h)
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError([Problem("--solver structured",
                                       f"the master LP returned {self.h.modelStatusToString(status)!r}.",
                                       "Rerun with --solver highs.")])
        x = np.asarray(self.h.getSolution().col_value, float)
        return x[:self.n], float(self.h.getInfo().objective_function_value) * self.scale

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row duals of the fixed rows, of the cuts (their weights), and the reduced costs of y (unscaled)."""
        sol = self.h.getSolution()
        row = np.asarray(sol.row_dual, float)
        col = np.asarray(sol.col_dual, float)
        return row[:self.n_fixed_rows] * self.scale, row[self.n_fixed_rows:], col[:self.n] * self.scale


def solve_structured(site: Site, rel_gap: float = REL_GAP, max_iterations: int = MAX_ITERATIONS,
                     best_at_stall: bool = False, cuts: Cuts | None = None) -> StructuredOptimum:
    """The exact optimum of a covered site by cutting planes (see the module docstring).

    Parameters
    ----------
    site : Site
        A site :func:`not_covered` accepts and :func:`allocator.lp.diagnosis.conflicts` finds feasible.
    rel_gap : float
        Relative gap between the master's bound and the best evaluated first stage at which to stop.
    max_iterations : int
        Most cuts; past it a :class:`allocator.errors.SolverError` is raised (the caller falls back to HiGHS).
    best_at_stall : bool
        Stop when the gap is below :data:`STALL_GAP` and a cut no longer improves on the best point,
        and instead of raising after ``max_iterations``, return the best first stage evaluated
        (``gap_frac`` says how close it is proved to be; the marginal re-solves use it with a tighter
        ``rel_gap``).
    cuts : Cuts, optional
        ``optimum.cuts`` of an earlier solve: reused when the site's hourly data are the same
        (:class:`Cuts`), e.g. a sweep over lease rates re-solves only the master. The returned
        ``optimum.cuts`` holds them and the new ones.
    """
    from ..errors import Problem, SolverError
    from .structured_sla import Infeasible, evaluate_sla

    t0 = time.perf_counter()
    cfg = site.config
    dispatch = Dispatch(site)
    key = dispatch_key(site, dispatch)
    leases = cfg.ai.lease if site.has_ai else []
    n_l, n_f = len(leases), len(cfg.mining.fleet)
    dr = None
    if n_f and site.power is not None and site.power.programs:
        from .structured_dr import DemandResponse

        if cfg.mining.min_uptime_frac > 0:  # not_covered sends it to HiGHS: never solve it without the SLA
            raise SolverError([Problem(site.id, "the uptime SLA with demand response is not covered by the "
                                       "cutting planes.", "Use --solver highs.")])
        dr = DemandResponse(site, dispatch)  # annual offers: first-stage columns after the fleets
    n_o = len(dr.annual) if dr is not None else 0
    lower = np.array([lease.min_mw for lease in leases] + [0.0] * (n_f + n_o), float)
    upper = np.array([cfg.lease_max_mw(lease) for lease in leases] + [f.mw for f in cfg.mining.fleet]
                     + (list(dr.annual_upper) if n_o else []), float)
    cost = np.r_[dispatch.lease_obj, dispatch.fleet_obj, dr.annual_cost if n_o else []].astype(float)
    uptime = cfg.mining.min_uptime_frac if n_f else 0.0
    rows: list[Cut] = []  # in the master's row order
    primal = None  # demand response: offers and shed of the last evaluation

    def evaluate(y: np.ndarray):
        """(value, x, cut) at a feasible y; (None, None, feasibility cut) at one the SLA or an annual offer
        rules out."""
        nonlocal primal
        a = float(y[:n_l].sum())
        if dr is not None:
            broken = dr.violation(y, n_l, n_f)
            if broken is not None:
                return None, None, dr.feasibility_cut(y, n_l, n_f, *broken)
            value, x, cut, primal = dr.evaluate(y, n_l, n_f)
            return value, x, cut
        if uptime > 0:
            out = evaluate_sla(dispatch, a, y[n_l:], uptime, n_l)
            if isinstance(out, Infeasible):
                return None, None, Cut("uptime", y.copy(), out.shortfall_mwh, out.grad_per_mw, out.mu, out.lam,
                                       np.zeros(site.hours), out.nu)
            value, x, mu, lam, pi, nu, grad, bound = out
        else:
            value, x, mu, lam, pi = dispatch.evaluate_priced(a, y[n_l:])
            nu, grad, bound = np.zeros(n_f), dispatch.gradient(mu, lam, n_l, pi), value
        return value, x, Cut("value", y.copy(), bound, grad, mu, lam, pi, nu)

    # a cut at (signed leases, every fleet) bounds theta: without the SLA its value is Q's there,
    # with it the SLA-free dispatch's, an upper bound of Q everywhere
    y = np.r_[lower[:n_l], upper[n_l:n_l + n_f], np.zeros(n_o)]
    if dr is None:
        value, x, mu, lam, pi = dispatch.evaluate_priced(float(y[:n_l].sum()), y[n_l:])
        first = [Cut("value", y, value, dispatch.gradient(mu, lam, n_l, pi), mu, lam, pi, np.zeros(n_f))]
    else:  # no annual MW held: feasible; the seeds bound the annual offers
        value, _, cut = evaluate(y)
        first = [cut] + dr.seed_cuts(y, n_l, n_f)
    # the master's USD in units of the first cut's net: a scale set by the bounds' worth instead (a lease
    # losing 10^5 USD per MW on 300 MW) leaves the master's tolerance of 1e-10 at 1e-7 of the optimum
    scale = max(1.0, abs(value), float(np.abs(cost) @ np.abs(y)))
    master = _Master(site, cost, lower, upper, scale, n_l + n_f)
    kept = cuts.rows if cuts is not None and cuts.key == key else []
    if kept and dr is not None:  # the seeds bound the annual offers, whichever earlier cuts a caller kept
        kept = kept + dr.seed_cuts(y, n_l, n_f)
    for cut in kept or first:  # kept cuts hold their own first cuts
        master.add(cut)
        rows.append(cut)
    best = None
    gap, iteration = np.inf, 0
    for iteration in range(1, max_iterations + 1):
        y, bound = master.solve()
        y = np.minimum(np.maximum(y, lower), upper)
        value, x, cut = evaluate(y)
        if value is not None:
            net = float(cost @ y) + value
            if best is None or net > best[0]:
                best = (net, y.copy(), x, primal)
            gap = max(0.0, bound - best[0]) / max(1.0, abs(bound), abs(best[0]))
            if gap <= rel_gap or (best_at_stall and iteration > 20 and gap <= STALL_GAP
                                  and net < best[0] + rel_gap * abs(best[0])):
                break  # closed, or (re-solves) a cut that no longer improves on the best
        master.add(cut)
        rows.append(cut)
    else:
        if best_at_stall and best is not None:
            return _optimum(best, gap, iteration, master, rows, dispatch, site, n_l, t0, key, dr)
        raise SolverError([Problem(site.id, f"the structured cutting planes did not close the gap in "
                                   f"{max_iterations} cuts (gap {gap:.2g}).", "Use --solver highs.")])
    return _optimum(best, gap, iteration, master, rows, dispatch, site, n_l, t0, key, dr)


def _optimum(best, gap, iteration, master, rows, dispatch, site, n_l, t0, key, dr=None) -> StructuredOptimum:
    """The optimum and the duals aggregated from the master's weights on its cuts."""
    net, y_best, x, primal = best
    n_first = n_l + dispatch.margin.shape[0]
    fixed, weights, reduced = master.duals()
    weights = np.clip(weights, 0.0, None)  # HiGHS: d(objective)/d(bound), >= 0 on a binding <= row
    value_rows = np.array([cut.kind == "value" for cut in rows], bool)
    if weights[value_rows].sum() > 0:  # the value cuts' weights sum to 1 (theta's cost)
        weights[value_rows] = weights[value_rows] / weights[value_rows].sum()
    weights[~value_rows] *= master.scale  # a feasibility cut's weight: USD per IT MWh of uptime, per grid MW held
    mu_star, pi_star, nu_star = np.zeros(site.hours), np.zeros(site.hours), np.zeros(dispatch.margin.shape[0])
    lam_star = np.zeros_like(dispatch.margin)
    dr_star = dr._zero_duals() if dr is not None else {}
    for w, cut in zip(weights, rows):
        if w > 0:
            mu_star += w * cut.mu
            pi_star += w * cut.pi
            nu_star += w * cut.nu
            for name, dual in dr_star.items():
                dual += w * cut.dr[name]
            if cut.kind == "value" and cut.dr is None:  # lambda of the knapsack at margins r + nu + pi pue_m
                lam_star += w * np.maximum(dispatch.margin + cut.nu[:, None] + cut.pi[None, :] * dispatch.pue_m
                                           - cut.mu[None, :], 0.0)
            else:
                lam_star += w * cut.lam
    a = float(y_best[:n_l].sum())
    return StructuredOptimum(
        lease_mw=y_best[:n_l], fleet_mw=y_best[n_l:n_first], run_mw=x, objective_usd=net + dispatch.constant_usd,
        gap_frac=gap, iterations=iteration, mu_usd_per_mwh=mu_star, lambda_usd_per_mwh=lam_star,
        convertible_dual=float(fixed[master.rows["convertible"]]) if "convertible" in master.rows else 0.0,
        halls_dual=float(fixed[master.rows["halls"]]) if "halls" in master.rows else 0.0,
        firm_dual=float(fixed[master.rows["firm_ai"]]) if "firm_ai" in master.rows else 0.0,
        lease_dual=reduced[:n_l], fleet_dual=reduced[n_l:n_first], seconds=time.perf_counter() - t0,
        pi_usd_per_mwh=pi_star, physical_use_mw=dispatch.physical_use_mw(a, x),
        peak_draw_mw=dispatch.peak_draw_mw(a, x), margin_usd_per_mwh=dispatch.margin, uptime_dual=nu_star,
        cuts=Cuts(key, rows), demand_response=None if dr is None else {
            "model": dr, "duals": dr_star, "primal": primal, "annual_mw": y_best[n_first:],
            "annual_dual": reduced[n_first:]})


def lp_solution(block, optimum: StructuredOptimum, solver: str):
    """The optimum and its duals in the layout of the site LP's ``block`` (:mod:`allocator.lp.model`).

    Duals follow :class:`allocator.lp.solve.Solution`: net USD gained per unit of relaxation of a bound.
    """
    from .solve import Solution

    site = block.site
    n_cols = 1 + max([int(c.max()) for c in block.cols.values() if c.size] or [-1])
    n_rows = 1 + max([int(r.max()) for r in block.rows.values() if r.size] or [-1])
    col_value, col_dual = np.zeros(n_cols), np.zeros(n_cols)
    row_dual = np.zeros(n_rows)
    if block.lease_cols.size:
        col_value[block.lease_cols] = optimum.lease_mw
        col_dual[block.lease_cols] = optimum.lease_dual
        row_dual[block.rows["convertible"]] = optimum.convertible_dual
        firm = np.zeros(site.hours)
        firm[int(np.argmin(site.grid_cap_mw))] = optimum.firm_dual  # the least cap is the one that binds
        row_dual[block.rows["firm_ai"]] = firm
    if block.fleet_cols.size:
        col_value[block.fleet_cols] = optimum.fleet_mw
        col_dual[block.fleet_cols] = optimum.fleet_dual
        col_value[block.run_cols] = optimum.run_mw
        col_dual[block.run_cols] = (optimum.margin_usd_per_mwh + optimum.pi_usd_per_mwh[None, :] * site.config.mining.pue
                                    + optimum.uptime_dual[:, None] - optimum.mu_usd_per_mwh[None, :]
                                    - optimum.lambda_usd_per_mwh)
        if "uptime_sla" in block.rows:  # a ">=" row: relaxing it (lowering its bound) gains nu
            row_dual[block.rows["uptime_sla"]] = -optimum.uptime_dual
        row_dual[block.rows["run_limit"]] = optimum.lambda_usd_per_mwh.ravel()
    if "halls" in block.rows:
        row_dual[block.rows["halls"]] = optimum.halls_dual
    if "grid_limit" in block.rows:
        row_dual[block.rows["grid_limit"]] = optimum.mu_usd_per_mwh / site.config.mining.pue
    _power_solution(block, optimum, col_value, col_dual, row_dual)
    if optimum.demand_response is not None:
        optimum.demand_response["model"].fill_solution(block, optimum.demand_response, col_value, col_dual, row_dual)
    return Solution("optimal", optimum.objective_usd, col_value, row_dual, col_dual, solver,
                    {"handoff": 0.0, "solve": optimum.seconds})


def _power_solution(block, optimum: StructuredOptimum, col_value: np.ndarray, col_dual: np.ndarray,
                    row_dual: np.ndarray) -> None:
    """Values and duals of the power-market columns and rows the structured solver covers
    (:mod:`allocator.power.rows`; derivation in :mod:`allocator.lp.structured_dispatch`)."""
    pm = block.site.power
    if pm is None:
        return
    if "contract_constant" in block.cols:  # fixed at 1, in no row: its reduced cost is its cost
        col = block.cols["contract_constant"]
        col_value[col] = 1.0
        col_dual[col] = sum(-float(c.block_mw.sum()) * c.price_usd_per_mwh
                            + (float(c.block_mw @ pm.hub_price_usd_per_mwh) if c.settlement == "financial" else 0.0)
                            for c in pm.contracts)
    if "physical_contract" in block.cols:
        y = block.cols["physical_contract"]  # (K, H)
        blocks = np.stack([c.block_mw for c in pm.contracts if c.settlement == "physical"])
        # the used MW of each hour, filled into the contracts in file order (any split is optimal)
        before = np.cumsum(blocks, axis=0) - blocks
        col_value[y] = np.clip(optimum.physical_use_mw[None, :] - before, 0.0, blocks)
        col_dual[y] = pm.hub_price_usd_per_mwh[None, :] - optimum.pi_usd_per_mwh[None, :]
        rows = block.rows["physical_contract"]  # one per hour holding a block
        row_dual[rows] = optimum.pi_usd_per_mwh[np.flatnonzero(blocks.sum(axis=0) > 0)]
    if "coincident_peak" in block.cols:  # z is basic (or at 0 with a zero reduced cost): the row prices it
        z = block.cols["coincident_peak"]
        col_value[z] = optimum.peak_draw_mw
        if block.rows.get("coincident_peak", np.zeros(0)).size:
            row_dual[block.rows["coincident_peak"]] = -pm.peak_charge_usd_per_mw_year * pm.peak_charge_share_frac
        else:  # no hour carries weight: z sits at 0 with its cost as reduced cost
            col_dual[z] = -pm.peak_charge_usd_per_mw_year * pm.peak_charge_share_frac
