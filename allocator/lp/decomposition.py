"""Sites coupled by one shared row, solved exactly site by site (Lagrangian decomposition).

A portfolio whose sites share one limit (a capex budget across sites, or one
tenant's megawatts placed across sites) is one LP with a single coupling row

    sum_i g_i(x_i) <= upper          g_i linear in site i's columns

Pricing that row at a dual ``lam >= 0`` splits the LP into independent site
LPs, each with its coupling columns' costs lowered by ``lam * coef``. The dual
function ``L(lam) = sum_i max_x_i [c_i x_i - lam g_i(x_i)] + lam upper`` is
convex and piecewise linear in one variable, so its minimum is found exactly
by cutting planes: intersect the tangents at a ``lam`` that over-uses the row
and one that under-uses it; when the dual function at the intersection equals
the tangents' value, the intersection is the optimal dual and the two
solutions are both optimal there. Their convex combination that uses the row
exactly is then an optimal solution of the coupled LP (same objective: zero
duality gap). Every site LP is kept in HiGHS after its first solve (interior
point with crossover), so each new ``lam`` is a warm-started dual simplex
re-solve that changes only a few costs.

The site rows' duals at the optimal ``lam`` (from each site's last solve, at
that price) are the coupled LP's duals for those rows: every solution mixed is
optimal at ``lam``, so complementary slackness holds for the mix as well.
``allocator solve --portfolio`` uses this when the portfolio has exactly one
shared ``<=`` row (portfolio.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import model
from ..errors import InfeasibleError, Problem, SolverError
from .solve import FEASIBILITY_TOLERANCE, Solution, highs_for, raise_if_interrupted, run, solver_version, worst_violation


@dataclass
class CouplingRow:
    """``lower <= sum over sites of coef . x[cols] <= upper`` on the sites' own (local) columns.

    Attributes
    ----------
    name : str
        Row name, e.g. ``"capex_budget"``.
    upper : float
        Right-hand side, in the row's unit (e.g. USD of fit-out capital).
    cols : list of np.ndarray
        Per site, the columns of its own LP (``model.build([site])``) in the row.
    coefs : list of np.ndarray
        Per site, their coefficients (non-negative).
    lower : float
        Left-hand side. The decomposition prices ``upper`` only, so it needs ``lower``
        at most the least usage (0 with non-negative coefficients and columns); a
        portfolio's one LP (portfolio.py) takes both.
    """

    name: str
    upper: float
    cols: list[np.ndarray]
    coefs: list[np.ndarray]
    lower: float = -np.inf

    @property
    def empty(self) -> bool:
        """No site has a column in the row."""
        return not any(c.size for c in self.cols)


@dataclass
class CoupledSolution:
    """The optimum of the coupled LP, assembled from per-site solves.

    Attributes
    ----------
    objective_usd : float
        Net USD of all sites (the coupled LP's objective).
    dual : float
        Optimal price of the coupling row [objective units per row unit].
    solutions : list of solve.Solution
        Per site, its LP's column values (mixed), objective at its own costs, and the
        duals of its rows and columns at ``dual``.
    row_usage : float
        Left-hand side of the coupling row at the solution.
    rounds : int
        Values of ``dual`` tried (each one re-solve per site).
    seconds : dict[str, float]
        Wall time of ``build``, ``first_solve`` and ``rounds`` [s].
    """

    objective_usd: float
    dual: float
    solutions: list[Solution]
    row_usage: float
    rounds: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def col_values(self) -> list[np.ndarray]:
        """Per site, the values of its LP's columns."""
        return [s.col_value for s in self.solutions]


class _Sites:
    """One HiGHS object per site, kept warm between prices of the coupling row."""

    def __init__(self, lps: list[model.LinearModel], row: CouplingRow, time_limit_s: float | None) -> None:
        t0 = time.perf_counter()
        self.row = row
        self.lps = lps
        self.time_limit_s = time_limit_s
        self.base_cost = [lp.arrays()["col_cost"].copy() for lp in self.lps]
        self.highs = [highs_for(lp, time_limit_s=time_limit_s) for lp in self.lps]
        self.build_s = time.perf_counter() - t0

    def evaluate(self, lam: float) -> tuple[float, float, float, list[np.ndarray]]:
        """Solve every site at price ``lam``; return (objective, row usage, L(lam), values)."""
        objective = usage = 0.0
        values = []
        for h, lp, cost, cols, coefs in zip(self.highs, self.lps, self.base_cost, self.row.cols, self.row.coefs):
            if lp.n_cols == 0:  # nothing to decide at this site (as solve._solve_highs)
                values.append(np.zeros(0))
                continue
            if cols.size:
                h.changeColsCost(cols.size, cols.astype(np.int32), cost[cols] - lam * coefs)
            run(h)
            raise_if_interrupted(h)
            status = h.modelStatusToString(h.getModelStatus())
            if status == "Time limit reached":
                raise SolverError([Problem(lp.name, f"the time limit of {self.time_limit_s:g} s per site solve was "
                                           f"reached at coupling price {lam:g}.", "Raise --time-limit.")],
                                  "the solver stopped early")
            if status != "Optimal":
                raise SolverError([Problem(lp.name, f"the site LP returned {status!r} at coupling price {lam:g}.",
                                           "Run with --debug and report it with the site files.")])
            x = np.asarray(h.getSolution().col_value, dtype=float)
            objective += float(cost @ x)
            usage += float(coefs @ x[cols]) if cols.size else 0.0
            values.append(x)
        return objective, usage, objective - lam * (usage - self.row.upper), values

    def warm(self) -> None:
        """After the first (interior point) solve, re-solve from its basis with dual simplex.

        Measured on a site-year after a lease-cost change: dual simplex from the
        crossover basis takes 6-9 iterations (0.05-0.3 s); primal simplex 4,000-8,000
        (2-4 s); a cold interior point solve about 0.9 s.
        """
        for h in self.highs:
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", 1)

    def solutions(self, values: list[np.ndarray]) -> list[Solution]:
        """Each site's Solution: ``values`` with the duals of its last solve, re-checked against its rows."""
        out = []
        for h, lp, cost, x in zip(self.highs, self.lps, self.base_cost, values):
            place, gap = worst_violation(lp, x)
            if gap > FEASIBILITY_TOLERANCE or not np.isfinite(x).all():
                raise SolverError([Problem(lp.name, f"the decomposition's solution breaks {place} by {gap:.2g} "
                                           "(relative): the model is numerically troubled.",
                                           "Solve the portfolio as one LP (method 'one_lp') and report it.")],
                                  "the solver's answer is not accurate")
            sol = h.getSolution() if lp.n_cols else None
            row_dual = np.asarray(sol.row_dual, dtype=float) if sol else np.zeros(lp.n_rows)
            col_dual = np.asarray(sol.col_dual, dtype=float) if sol else np.zeros(0)
            out.append(Solution("optimal", float(cost @ x), x, row_dual, col_dual, solver_version("highs"),
                                highs=h if lp.n_cols else None))
        return out


def solve_coupled(lps: list[model.LinearModel], row: CouplingRow, *, rel_tol: float = 1e-9,
                  max_rounds: int = 100, time_limit_s: float | None = None) -> CoupledSolution:
    """Maximize net USD of the sites' LPs subject to their own rows and the one ``row`` they share.

    Parameters
    ----------
    lps : list of model.LinearModel
        One LP per site (``model.build([site])``).
    row : CouplingRow
        The shared row, on each site's own columns.
    rel_tol : float
        Relative tolerance of the dual function's values (stops the cutting planes).
    max_rounds : int
        Most prices tried before giving up (:class:`SolverError`).
    time_limit_s : float, optional
        Time limit of each site solve [s].
    """
    t0 = time.perf_counter()
    state = _Sites(lps, row, time_limit_s)
    lo = (0.0, *state.evaluate(0.0))
    t1 = time.perf_counter()
    state.warm()
    rounds = 1

    def done(lam, point, usage=None) -> CoupledSolution:
        # the last prices tried were lam's: every site's HiGHS holds its duals at lam
        objective, used, _, values = point
        return CoupledSolution(objective, lam, state.solutions(values), used if usage is None else usage, rounds,
                               {"build": state.build_s, "first_solve": t1 - t0 - state.build_s,
                                "rounds": time.perf_counter() - t1})

    if lo[2] <= row.upper * (1 + rel_tol) + rel_tol:
        return done(0.0, lo[1:])  # the row does not bind
    # above the highest cost per unit of row, no coupling column pays: usage is at its least
    ratios = [cost[c][k > 0] / k[k > 0] for cost, c, k in zip(state.base_cost, row.cols, row.coefs)]
    lam_hi = 2.0 * max([1.0, *(float(r.max()) for r in ratios if r.size)])
    hi = (lam_hi, *state.evaluate(lam_hi))
    rounds += 1
    if hi[2] > row.upper * (1 + rel_tol) + rel_tol:
        raise InfeasibleError([Problem(row.name, f"the sites need at least {_show(hi[2])} of {row.name} but it is "
                                       f"{_show(row.upper)}.", f"Raise {row.name} or lower the commitments.")],
                              ", ".join(lp.name for lp in lps))
    while rounds < max_rounds:
        (l_lo, _, g_lo, d_lo, _), (l_hi, _, g_hi, d_hi, _) = lo, hi
        # tangent of L at lam: L(lam0) + (upper - usage(lam0)) (lam - lam0); slopes differ (g_lo > upper >= g_hi)
        lam = (d_hi - d_lo + (row.upper - g_lo) * l_lo - (row.upper - g_hi) * l_hi) / (g_hi - g_lo)
        lam = min(max(lam, l_lo), l_hi)
        tangent = d_lo + (row.upper - g_lo) * (lam - l_lo)
        mid = (lam, *state.evaluate(lam))
        rounds += 1
        scale = rel_tol * max(1.0, abs(tangent))
        if mid[3] <= tangent + scale:
            # both end solutions are optimal at lam: mix them to use the row exactly
            theta = (row.upper - g_hi) / (g_lo - g_hi)
            values = [theta * a + (1 - theta) * b for a, b in zip(lo[4], hi[4])]
            objective = theta * lo[1] + (1 - theta) * hi[1]
            return done(lam, (objective, row.upper, None, values))
        if abs(mid[2] - row.upper) <= scale:
            return done(lam, mid[1:])
        if mid[2] > row.upper:
            lo = mid
        else:
            hi = mid
    raise SolverError([Problem(row.name, f"the decomposition did not converge in {max_rounds} prices.",
                               "Solve the portfolio as one LP instead.")])


def _show(x: float) -> str:
    """12,000,000 for USD-sized numbers, 7.5 for megawatts."""
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:,.6g}"
