"""The two-stage program of ``allocator decide``: L-shaped cutting planes, and the extensive form.

First stage ``y = (a_l, m_f)`` [IT MW] with MODEL.md rows 1 and 3 (lease and
fleet bounds, convertible, halls) and row 4 for every scenario's hours
(``pue_ai sum_l a_l <= min_t c_{t,s}``); second stage per scenario ``s`` its
site LP with ``y`` fixed. Maximize

    (1 - w) sum_s p_s net_s + w CVaR_alpha(net),
    CVaR_alpha(net) = max_eta eta - (1/alpha) sum_s p_s max(0, eta - net_s),

``net_s`` the scenario's optimum x 8760 / H_s [USD/year].

:func:`solve_lshaped` is the multi-cut L-shaped method: a master LP over
``y``, one ``theta_s`` per scenario [USD/year] and, when ``w > 0``, the CVaR
variables ``eta`` and ``u_s >= eta - theta_s``; each iteration evaluates
every scenario at the master's ``y`` (:mod:`allocator.whatif.decide_engine`), adds
one optimality cut ``theta_s <= net_s(y0) + g_s (y - y0)`` per scenario whose
``theta_s`` overshoots, or a feasibility cut where the SLA cannot be met, and
stops when the master's bound and the best evaluated decision are within a
relative gap of 1e-6. :func:`solve_extensive` puts every scenario's rows in
one LP with shared first-stage columns: the reference the method is tested
against (it grows like S site-years, so it is for small cases).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import Problem, SolverError
from ..inputs.site import Site

REL_GAP = 1e-6


@dataclass
class Evaluation:
    """A scenario's second stage at one first stage.

    Attributes
    ----------
    feasible : bool
        The second stage has a solution (the SLA can be met).
    net_usd_per_year : float
        Annualized optimum (feasible) or the phase-one value ``V_s`` [IT MWh] (infeasible).
    gradient : np.ndarray
        Supergradient of that value w.r.t. the first stage [USD/year per IT MW, or IT MWh per IT MW].
    mining_energy_mwh : float
        IT MWh mined over the scenario's horizon.
    """

    feasible: bool
    net_usd_per_year: float
    gradient: np.ndarray
    mining_energy_mwh: float = 0.0


@dataclass(frozen=True)
class FirstStage:
    """The shared decision of one site: bounds and rows on ``y = (a_l..., m_f...)``.

    Attributes
    ----------
    names : list of (kind, name)
        ``("lease", tenant)`` then ``("fleet", model)``.
    lower_mw, upper_mw : np.ndarray
        Bounds of each entry [IT MW].
    ai_pue, mining_pue, convertible_mw, facility_mw : float
    firm_cap_mw : float
        Least grid cap over every scenario's hours [MW] (firm AI, MODEL.md 4).
    """

    names: list[tuple[str, str]]
    lower_mw: np.ndarray
    upper_mw: np.ndarray
    ai_pue: float
    mining_pue: float
    convertible_mw: float
    facility_mw: float
    firm_cap_mw: float

    @property
    def n_lease(self) -> int:
        return sum(kind == "lease" for kind, _ in self.names)

    @classmethod
    def of(cls, site: Site, firm_cap_mw: float) -> FirstStage:
        cfg = site.config
        leases = cfg.ai.lease if site.has_ai else []
        names = [("lease", lease.tenant) for lease in leases] + [("fleet", f.model) for f in cfg.mining.fleet]
        lower = [lease.min_mw for lease in leases] + [0.0] * len(cfg.mining.fleet)
        upper = [cfg.lease_max_mw(lease) for lease in leases] + [f.mw for f in cfg.mining.fleet]
        return cls(names, np.array(lower, float), np.array(upper, float), cfg.ai.pue if cfg.ai else 1.0,
                   cfg.mining.pue, cfg.ai.convertible_mw if cfg.ai else 0.0, site.facility_mw, firm_cap_mw)

    def rows(self) -> list[tuple[np.ndarray, float]]:
        """``coef @ y <= bound`` rows: convertible, halls, firm AI."""
        n_l = self.n_lease
        lease = np.r_[np.ones(n_l), np.zeros(len(self.names) - n_l)]
        fleet = 1.0 - lease
        out = [(self.ai_pue * lease + self.mining_pue * fleet, self.facility_mw)]
        if n_l:
            out += [(lease, self.convertible_mw), (self.ai_pue * lease, self.firm_cap_mw)]
        return out

    def holds(self, y: np.ndarray, tol_mw: float = 1e-6) -> bool:
        """``y`` meets the bounds and rows (within ``tol_mw``)."""
        ok = bool(np.all(y >= self.lower_mw - tol_mw) and np.all(y <= self.upper_mw + tol_mw))
        return ok and all(float(c @ y) <= b + tol_mw * max(1.0, abs(b)) for c, b in self.rows())


def cvar(net: np.ndarray, prob: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete profit: expected net over its worst ``alpha`` of probability [USD/year]."""
    order = np.argsort(net, kind="stable")
    need, total = alpha, 0.0
    for i in order:
        take = min(prob[i], need)
        total += take * net[i]
        need -= take
        if need <= 1e-15:
            break
    return total / alpha


def in_tail(net: np.ndarray, prob: np.ndarray, ids: list[str], alpha: float) -> np.ndarray:
    """The lowest nets (ties by id) whose cumulative probability first reaches ``alpha``, straddler included."""
    order = sorted(range(len(net)), key=lambda i: (net[i], ids[i]))
    out = np.zeros(len(net), bool)
    cum = 0.0
    for i in order:
        out[i] = True
        cum += prob[i]
        if cum >= alpha * (1 - 1e-12):
            break
    return out


def objective(net: np.ndarray, prob: np.ndarray, weight: float, alpha: float) -> float:
    """(1 - w) E[net] + w CVaR_alpha(net) [USD/year]."""
    expected = float(prob @ net)
    return expected if weight == 0 else (1 - weight) * expected + weight * cvar(net, prob, alpha)


@dataclass
class Decision:
    """The stochastic optimum of one site.

    Attributes
    ----------
    y_mw : np.ndarray
        First stage [IT MW].
    net_usd_per_year : np.ndarray
        Each scenario's net under it [USD/year].
    mining_energy_mwh : np.ndarray
    objective_usd_per_year : float
    gap_frac : float
        Relative gap proved between the master's bound and this decision.
    iterations : int
    method : str
    """

    y_mw: np.ndarray
    net_usd_per_year: np.ndarray
    mining_energy_mwh: np.ndarray
    objective_usd_per_year: float
    gap_frac: float
    iterations: int
    method: str
    seconds: dict[str, float] = field(default_factory=dict)


class _Master:
    """The master LP, held by HiGHS; cuts are added as rows and it is re-solved warm."""

    def __init__(self, first: FirstStage, prob: np.ndarray, weight: float, alpha: float) -> None:
        import highspy

        from ..lp.solve import _quiet_highs

        self.n, self.s = len(first.names), prob.size
        self.h = h = _quiet_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        cvar_on = weight > 0
        cost = np.r_[np.zeros(self.n), (1 - weight) * prob]
        lower = np.r_[first.lower_mw, np.full(self.s, -np.inf)]
        upper = np.r_[first.upper_mw, np.full(self.s, np.inf)]
        if cvar_on:
            cost = np.r_[cost, weight, -weight / alpha * prob]
            lower = np.r_[lower, -np.inf, np.zeros(self.s)]
            upper = np.r_[upper, np.inf, np.full(self.s, np.inf)]
        h.addVars(cost.size, lower, upper)
        h.changeColsCost(cost.size, np.arange(cost.size, dtype=np.int32), cost)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        for coef, bound in first.rows():
            self.add_row(np.arange(self.n), coef, -np.inf, bound)
        if cvar_on:  # u_s - eta + theta_s >= 0
            eta = self.n + self.s
            for s in range(self.s):
                self.add_row(np.array([eta + 1 + s, eta, self.n + s]), np.array([1.0, -1.0, 1.0]), 0.0, np.inf)

    def add_row(self, cols: np.ndarray, coef: np.ndarray, lower: float, upper: float) -> None:
        keep = coef != 0
        self.h.addRow(float(lower), float(upper), int(keep.sum()), np.asarray(cols, np.int32)[keep],
                      np.asarray(coef, float)[keep])

    def optimality_cut(self, s: int, y0: np.ndarray, value: float, grad: np.ndarray) -> None:
        """theta_s - g y <= value - g y0."""
        self.add_row(np.r_[self.n + s, np.arange(self.n)], np.r_[1.0, -grad], -np.inf, value - float(grad @ y0))

    def feasibility_cut(self, y0: np.ndarray, value: float, grad: np.ndarray) -> None:
        """g y >= g y0 - value (phase-one value + g (y - y0) >= 0)."""
        self.add_row(np.arange(self.n), grad, float(grad @ y0) - value, np.inf)

    def solve(self) -> tuple[np.ndarray, np.ndarray, float]:
        import highspy

        from ..lp.solve import raise_if_interrupted, run

        run(self.h)
        raise_if_interrupted(self.h)
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError([Problem("decide", f"the master LP returned {self.h.modelStatusToString(status)!r}.",
                                       "Rerun with --debug and report it.")])
        x = np.asarray(self.h.getSolution().col_value, float)
        return x[:self.n], x[self.n:self.n + self.s], float(self.h.getInfo().objective_function_value)


def solve_lshaped(first: FirstStage, scenarios, prob: np.ndarray, weight: float = 0.0, alpha: float = 0.1, *,
                  rel_gap: float = REL_GAP, max_iterations: int = 1000, time_limit_s: float | None = None,
                  clock=None) -> Decision:
    """The stochastic optimum by multi-cut L-shaped cutting planes.

    Parameters
    ----------
    first : FirstStage
    scenarios : decide_engine.Scenarios
        Evaluates every scenario's second stage at a first stage.
    prob : np.ndarray
        Scenario probabilities.
    weight, alpha : float
        CVaR weight ``w`` in [0, 1] and tail ``alpha`` in (0, 1].
    clock : decide_progress.Clock, optional
        Told when each iteration's pass begins (``start``) and the gap it closed with (``iteration_done``).
    """
    t0 = time.perf_counter()
    master = _Master(first, prob, weight, alpha)
    y = np.minimum(first.lower_mw, first.upper_mw)  # signed leases, no fleet: every SLA holds
    best: tuple[float, np.ndarray, list] | None = None
    bound = np.inf
    gap = np.inf
    theta = None
    for iteration in range(1, max_iterations + 1):
        if clock is not None:
            clock.start("iteration", iteration)
        evals = scenarios.evaluate(y)
        feasible = all(e.feasible for e in evals)
        for s, e in enumerate(evals):
            if e.feasible:
                if theta is None or theta[s] > e.net_usd_per_year + 1e-9 * max(1.0, abs(e.net_usd_per_year)):
                    master.optimality_cut(s, y, e.net_usd_per_year, e.gradient)
            else:
                master.feasibility_cut(y, e.net_usd_per_year, e.gradient)
        if feasible:
            net = np.array([e.net_usd_per_year for e in evals])
            value = objective(net, prob, weight, alpha)
            if best is None or value > best[0]:
                best = (value, y.copy(), evals)
        y_new, theta, bound = master.solve()
        if best is not None:
            gap = max(0.0, bound - best[0]) / max(1.0, abs(bound), abs(best[0]))
        if clock is not None:
            clock.iteration_done(gap)
        if gap <= rel_gap:
            break
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            raise SolverError([Problem("decide", f"the time limit of {time_limit_s:g} s was reached after "
                                       f"{iteration} iterations (gap {gap:.2g}).", "Raise --time-limit.")],
                              "the solver stopped early")
        y = y_new
    else:
        raise SolverError([Problem("decide", f"the cutting planes did not close the gap in {max_iterations} "
                                   f"iterations (gap {gap:.2g}).", "Rerun with --debug and report it.")])
    value, y_best, evals = best
    return Decision(y_best, np.array([e.net_usd_per_year for e in evals]),
                    np.array([e.mining_energy_mwh for e in evals]), value, gap, iteration, "L-shaped (multi-cut)",
                    {"solve": time.perf_counter() - t0})


def solve_extensive(first: FirstStage, sites: list[Site], prob: np.ndarray, weight: float = 0.0,
                    alpha: float = 0.1) -> tuple[np.ndarray, float]:
    """Every scenario's site LP in one LP, first-stage columns equal across scenarios: (y [IT MW], objective).

    The reference for :func:`solve_lshaped` (its size is S site-years).
    """
    from ..inputs.site import HOURS_PER_YEAR
    from ..lp import model
    from ..lp.solve import solve_model

    lp = model.LinearModel("extensive")
    spans = []
    for site in sites:
        c0 = lp.n_cols
        lp.blocks.append(model.add_site_block(lp, site))
        spans.append((c0, lp.n_cols))
    base_cost = lp.arrays()["col_cost"].copy()
    firsts = [np.concatenate([b.lease_cols, b.fleet_cols]) for b in lp.blocks]
    for cols in firsts[1:]:  # non-anticipativity: y_s = y_0
        n = cols.size
        if n:
            lp.add_rows("nonanticipative", None, np.zeros(n), np.zeros(n), np.r_[np.arange(n), np.arange(n)],
                        np.r_[cols, firsts[0]], np.r_[np.ones(n), -np.ones(n)])
    factor = np.array([HOURS_PER_YEAR / s.hours for s in sites])
    cost = np.zeros(lp.n_cols)
    for s, (c0, c1) in enumerate(spans):
        cost[c0:c1] = (1 - weight) * prob[s] * factor[s] * base_cost[c0:c1]
    if weight > 0:
        eta = lp.add_columns([-np.inf], [np.inf], [0.0])
        u = lp.add_columns(np.zeros(len(sites)), np.inf, 0.0)
        for s, (c0, c1) in enumerate(spans):  # u_s - eta + net_s >= 0
            cols = np.arange(c0, c1)
            lp.add_rows("cvar_tail", None, 0.0, np.inf, 0, np.r_[u[s], eta[0], cols],
                        np.r_[1.0, -1.0, factor[s] * base_cost[c0:c1]])
        cost = np.r_[cost, weight, -weight / alpha * prob]
    lp.arrays()["col_cost"] = cost
    sol = solve_model(lp)
    return sol.col_value[firsts[0]], sol.objective_usd
