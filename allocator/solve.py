"""Solver choice, status and the solve of a set of sites.

HiGHS (highspy) is the default solver: PuLP hands the model to it in one
``addCols``/``addRows`` call and we read the solution back as numpy arrays,
skipping PuLP's per-variable write-back. CBC is a fallback when it is
installed and HiGHS is not. Independent sites are solved one LP per site:
HiGHS's simplex time grows faster than linearly with the size of one LP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from . import diagnosis, model
from .errors import InfeasibleError, Problem, SolverError
from .site import Site

SOLVERS = ("highs", "cbc")


@dataclass
class Solution:
    """What the solver returned for one LP, as arrays in solver order.

    Attributes
    ----------
    status : str
        ``"optimal"`` (anything else raises before a Solution is made).
    objective_usd : float
        Net USD over the horizon.
    col_value : np.ndarray
        Variable values [IT MW].
    row_dual : np.ndarray
        Row duals, normalized to net USD gained per unit of relaxation of the row's bound.
    col_dual : np.ndarray
        Reduced costs, normalized the same way for a variable's active bound.
    solver : str
        Solver name and version.
    seconds : dict[str, float]
        Wall time of hand-off and solve [s].
    """

    status: str
    objective_usd: float
    col_value: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)


def solver_version(name: str = "highs") -> str:
    """``"HiGHS 1.15.1"`` or ``"CBC"``."""
    if name == "highs":
        return f"HiGHS {metadata.version('highspy')}"
    return "CBC (via PuLP)"


def pick_solver(name: str) -> str:
    """Check that ``name`` can run here; return it."""
    import pulp

    if name == "highs":
        if not pulp.HiGHS(msg=False).available():
            raise SolverError([Problem("--solver highs", "highspy is not installed.",
                                       "pip install highspy, or run `make demo` which installs it.")])
        return name
    if name == "cbc":
        if not pulp.COIN_CMD(msg=False).available():
            raise SolverError([Problem("--solver cbc", "CBC is not installed.",
                                       "Install coinor-cbc, or use the default --solver highs.")])
        return name
    raise SolverError([Problem("--solver", f"unknown solver {name!r}.", f"Use one of {', '.join(SOLVERS)}.")])


def solve_model(lp: model.LinearModel, *, solver: str = "highs", time_limit_s: float | None = None,
                threads: int = 1) -> Solution:
    """Solve a built model; raise :class:`InfeasibleError` or :class:`SolverError` if not optimal."""
    model.column_indices(lp)
    if solver == "cbc":
        return _solve_cbc(lp, time_limit_s)
    return _solve_highs(lp, time_limit_s, threads)


def _solve_highs(lp: model.LinearModel, time_limit_s: float | None, threads: int) -> Solution:
    import highspy
    import pulp

    backend = pulp.HiGHS(msg=False, timeLimit=time_limit_s, threads=threads, solver="ipm")
    prob = lp.prob
    t0 = time.perf_counter()
    backend.createAndConfigureSolver(prob)
    backend.buildSolverModel(prob)
    h = prob.solverModel
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    status = h.getModelStatus()
    S = highspy.HighsModelStatus
    # a site with no fleet and no lease has nothing to decide: all zeros is optimal
    if status not in (S.kOptimal, S.kModelEmpty):
        _raise_for_status(lp, h.modelStatusToString(status), status in (S.kInfeasible, S.kUnboundedOrInfeasible),
                          time_limit_s if status == S.kTimeLimit else None)
    sol = h.getSolution()
    # HiGHS reports duals of a maximization as d(objective)/d(bound) already: a
    # binding <= row has a non-negative dual when relaxing it raises net USD.
    return Solution(
        status="optimal",
        objective_usd=float(h.getInfo().objective_function_value),
        col_value=np.asarray(sol.col_value, dtype=float),
        row_dual=np.asarray(sol.row_dual, dtype=float),
        col_dual=np.asarray(sol.col_dual, dtype=float),
        solver=solver_version("highs"),
        seconds={"handoff": t1 - t0, "solve": t2 - t1},
    )


def _solve_cbc(lp: model.LinearModel, time_limit_s: float | None) -> Solution:
    import pulp

    prob = lp.prob
    t0 = time.perf_counter()
    prob.solve(pulp.COIN_CMD(msg=False, timeLimit=time_limit_s))
    t1 = time.perf_counter()
    status = pulp.LpStatus[prob.status]
    if status != "Optimal":
        _raise_for_status(lp, status, status == "Infeasible", time_limit_s)
    exported = prob.exported_variables()
    constraints = prob.constraints()
    # CBC reports duals with the opposite sign convention for maximization.
    return Solution(
        status="optimal",
        objective_usd=float(pulp.value(prob.objective) or 0.0),
        col_value=np.array([v.varValue or 0.0 for v in exported]),
        row_dual=-np.array([c.pi or 0.0 for c in constraints]),
        col_dual=-np.array([v.dj or 0.0 for v in exported]),
        solver=solver_version("cbc"),
        seconds={"handoff": 0.0, "solve": t1 - t0},
    )


def _raise_for_status(lp: model.LinearModel, status: str, infeasible: bool, time_limit_s: float | None) -> None:
    site_ids = ", ".join(b.site.id for b in lp.blocks)
    if infeasible:
        problems: list[Problem] = []
        for block in lp.blocks:
            problems += diagnosis.conflicts(block.site)
        if not problems:
            problems = [Problem(site_ids, f"the solver reports {status!r} but no known conflict was found.",
                                "Run with --debug and report it with the site file.")]
        raise InfeasibleError(problems, site_ids)
    if time_limit_s is not None:
        raise SolverError([Problem(site_ids, f"the time limit of {time_limit_s:g} s was reached ({status}).",
                                   "Raise --time-limit or shorten the horizon.")], "the solver stopped early")
    raise SolverError([Problem(site_ids, f"the solver returned {status!r}.",
                               "Run with --debug and report it with the site file.")])
