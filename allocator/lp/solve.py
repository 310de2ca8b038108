"""Solver choice, status and the solve of a set of sites.

``auto`` is the default: the exact cutting planes of :mod:`allocator.lp.structured`
for every site they cover, HiGHS (highspy) for the others. ``structured`` is the same
(its name before ``auto`` existed, kept for the scripts that use it), ``highs`` solves every
site with HiGHS: the model's arrays go to it in one ``passModel`` call
(:mod:`allocator.lp.matrix`) and the solution comes back as numpy arrays. CBC
(through PuLP) is a fallback when it is installed. Independent sites are solved one LP per site:
HiGHS's simplex time grows faster than linearly with the size of one LP.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata

import numpy as np

from ..errors import InfeasibleError, Problem, SolverError
from ..inputs.site import Site
from . import diagnosis, matrix, model

#: the --solver choices; ``auto`` is the default of ``allocator solve`` and :func:`allocator.solve`
SOLVERS = ("auto", "structured", "highs", "cbc")
#: the solvers that run HiGHS (the cutting planes' master LP is a HiGHS LP)
HIGHS_SOLVERS = ("auto", "structured", "highs")


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
    highs : highspy.Highs or None
        The solved HiGHS model (None for CBC), kept for the warm re-solves of the one-sided
        marginal values (one_sided.py).
    resolver : one_sided.Resolver or None
        Made from ``highs`` on first use, shared by the sites of one LP.
    """

    status: str
    objective_usd: float
    col_value: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)
    highs: object = field(default=None, repr=False, compare=False)
    resolver: object = field(default=None, repr=False, compare=False)


@cache
def solver_version(name: str = "highs") -> str:
    """``"HiGHS 1.15.1"``, ``"structured + HiGHS 1.15.1"``, ``"auto: structured or HiGHS 1.15.1"`` or
    ``"CBC (via PuLP)"`` (cached: reading a distribution's version scans the installed packages)."""
    if name == "highs":
        return f"HiGHS {metadata.version('highspy')}"
    if name == "structured":  # cutting planes whose master LP is a HiGHS LP
        return f"structured + HiGHS {metadata.version('highspy')}"
    if name == "auto":  # per site: the cutting planes where they apply, else HiGHS (the manifest's sites.*.method)
        return f"auto: structured or HiGHS {metadata.version('highspy')}"
    return "CBC (via PuLP)"


def pick_solver(name: str) -> str:
    """Check that ``name`` can run here; return it."""
    if name in HIGHS_SOLVERS:
        # find_spec, not PuLP's check: importing PuLP costs ~0.1 s that a HiGHS run never needs
        if importlib.util.find_spec("highspy") is None:
            raise SolverError([Problem(f"--solver {name}", "highspy is not installed.",
                                       "pip install highspy, or run `make demo` which installs it.")])
        return name
    if name == "cbc":
        import pulp

        if not pulp.COIN_CMD(msg=False).available():
            raise SolverError([Problem("--solver cbc", "CBC is not installed.",
                                       "Install coinor-cbc, or use the default --solver auto.")])
        return name
    raise SolverError([Problem("--solver", f"unknown solver {name!r}.", f"Use one of {', '.join(SOLVERS)}.")])


def solve_model(lp: model.LinearModel, *, solver: str = "highs", time_limit_s: float | None = None,
                threads: int = 1, watch=None) -> Solution:
    """Solve a built model; raise :class:`InfeasibleError` or :class:`SolverError` if not optimal.

    ``watch`` (a :class:`allocator.lp.solve_progress.SolveWatch`) runs HiGHS in a worker thread that
    reports progress and stops within about a second on Ctrl-C: for long solves (plans).
    """
    if solver == "cbc":
        return _solve_cbc(lp, time_limit_s)
    return _solve_highs(lp, time_limit_s, threads, watch)


def highs_for(lp: model.LinearModel, *, time_limit_s: float | None = None, threads: int = 1):
    """A configured ``highspy.Highs`` holding the model (interior point with crossover, quiet)."""
    import highspy

    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("threads", threads)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    if lp.n_cols:
        matrix.pass_model(h, lp)
    return h


_BANNER_SHOWN = False


def run(h) -> None:
    """``h.run()``, once more after resetting HiGHS's thread scheduler if another solve in this
    process (PuLP's HiGHS, say) already started it with a different thread count."""
    import highspy

    if h.run() == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        highspy.Highs.resetGlobalScheduler(True)
        h.run()


def raise_if_interrupted(h) -> None:
    """Ctrl-C stopped HiGHS's run (it returns a status): raise it as KeyboardInterrupt."""
    import highspy

    if h.getModelStatus() in (highspy.HighsModelStatus.kInterrupt, highspy.HighsModelStatus.kHighsInterrupt):
        raise KeyboardInterrupt


def exact_simplex_highs():
    """A quiet single-thread HiGHS for the structured solver's small LPs (masters, multipliers,
    deployment hours): dual simplex with feasibility tolerances of 1e-10, tighter than HiGHS's 1e-7."""
    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("primal_feasibility_tolerance", 1e-10)
    h.setOptionValue("dual_feasibility_tolerance", 1e-10)
    return h


def _quiet_highs():
    """``highspy.Highs()`` without the copyright banner HiGHS prints on stdout once per process."""
    import os
    import sys

    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SHOWN = True
    return h


def _solve_highs(lp: model.LinearModel, time_limit_s: float | None, threads: int, watch=None) -> Solution:
    import highspy

    t0 = time.perf_counter()
    h = highs_for(lp, time_limit_s=time_limit_s, threads=threads)
    t1 = time.perf_counter()
    if lp.n_cols and watch is not None:
        from .solve_progress import run_watched

        run_watched(h, watch, run=lambda: run(h))
    elif lp.n_cols:
        run(h)
    t2 = time.perf_counter()
    status = h.getModelStatus()
    S = highspy.HighsModelStatus
    # a site with no fleet and no lease has nothing to decide: all zeros is optimal
    if lp.n_cols == 0 or status == S.kModelEmpty:
        return Solution("optimal", 0.0, np.zeros(lp.n_cols), np.zeros(lp.n_rows), np.zeros(lp.n_cols),
                        solver_version("highs"), {"handoff": t1 - t0, "solve": t2 - t1})
    raise_if_interrupted(h)
    if status != S.kOptimal:
        _raise_for_status(lp, h.modelStatusToString(status), status in (S.kInfeasible, S.kUnboundedOrInfeasible),
                          time_limit_s if status == S.kTimeLimit else None, highs=h)
    sol = h.getSolution()
    check_accuracy(lp, h, sol)
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
        highs=h,
    )


def _solve_cbc(lp: model.LinearModel, time_limit_s: float | None) -> Solution:
    import pulp

    t0 = time.perf_counter()
    prob = lp.prob
    t1 = time.perf_counter()
    stats = prob.solve(pulp.COIN_CMD(msg=False, timeLimit=time_limit_s))
    t2 = time.perf_counter()
    status = pulp.LpSolveStatus(stats.status)
    if status != pulp.LpSolveStatus.Optimal:
        _raise_for_status(lp, status.name, status == pulp.LpSolveStatus.Infeasible,
                          time_limit_s if status == pulp.LpSolveStatus.TimeLimit else None)
    # columns and rows were created in solver order (x_0.., r_0..)
    variables, constraints = prob.variables(), prob.constraints()
    values = np.array([v.varValue or 0.0 for v in variables])
    djs = np.array([v.dj or 0.0 for v in variables])
    pis = np.array([c.pi or 0.0 for c in constraints])
    # CBC reports duals with the opposite sign convention for maximization.
    return Solution(
        status="optimal",
        objective_usd=float(pulp.value(prob.objective) or 0.0),
        col_value=values,
        row_dual=-pis,
        col_dual=-djs,
        solver=solver_version("cbc"),
        seconds={"handoff": t1 - t0, "solve": t2 - t1},
    )


def _raise_for_status(lp: model.LinearModel, status: str, infeasible: bool, time_limit_s: float | None,
                      highs=None) -> None:
    site_ids = ", ".join(b.site.id for b in lp.blocks)
    if infeasible:
        problems: list[Problem] = []
        for block in lp.blocks:
            problems += diagnosis.conflicts(block.site)
        if not problems and highs is not None:
            problems = iis_problems(lp, highs, status)
        if not problems:
            problems = [Problem(site_ids, f"the solver reports {status!r} but no known conflict was found.",
                                "Run with --debug and report it with the site file.")]
        raise InfeasibleError(problems, site_ids)
    if time_limit_s is not None:
        raise SolverError([Problem(site_ids, f"the time limit of {time_limit_s:g} s was reached ({status}).",
                                   "Raise --time-limit or shorten the horizon.")], "the solver stopped early")
    if "unbounded" in status.lower():
        raise SolverError([Problem(
            site_ids, f"the solver returned {status!r}, but every variable of the model is bounded (leases by "
                      f"max_mw and convertible_mw, fleets by mw, running by installed), so the model was "
                      f"numerically troubled.",
            "Check for values many orders of magnitude apart in the site file, then rerun with --debug and "
            "report it with the site file.")], f"the solver failed ({status})")
    raise SolverError([Problem(site_ids, f"the solver returned {status!r}.",
                               "Run with --debug and report it with the site file.")],
                      f"the solver failed ({status})")


# ------------------------------------------------------------------ after the solve

#: largest bound or row violation accepted in a solution, relative to max(1, |bound|)
FEASIBILITY_TOLERANCE = 1e-6


def check_accuracy(lp: model.LinearModel, h, sol) -> None:
    """Re-check HiGHS's optimal solution against the model's own bounds and rows.

    HiGHS can call a badly scaled model optimal while its unscaled solution
    breaks a row by more than its tolerance; such a plan is never reported as
    if it held. Raises :class:`SolverError` (exit 2) with the worst violation.
    """
    x = np.asarray(sol.col_value, dtype=float)
    place, gap = worst_violation(lp, x)
    info = h.getInfo()
    statuses_ok = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if gap <= FEASIBILITY_TOLERANCE and statuses_ok and np.isfinite(x).all():
        return
    site_ids = ", ".join(b.site.id for b in lp.blocks)
    raise SolverError([Problem(
        site_ids,
        f"HiGHS called the plan optimal, but it breaks {place} by {gap:.2g} (relative; "
        f"HiGHS's own max primal infeasibility {info.max_primal_infeasibility:.2g}, "
        f"max dual infeasibility {info.max_dual_infeasibility:.2g}): the model is numerically troubled.",
        "Check for values many orders of magnitude apart (e.g. a 0.000001 MW lease on a 100,000 MW site), "
        "then rerun with --debug and report it with the site file.")], "the solver's answer is not accurate")


def worst_violation(lp: model.LinearModel, x: np.ndarray) -> tuple[str, float]:
    """The bound or row that ``x`` breaks most, and by how much relative to max(1, |bound|) (<= 0: none)."""
    arr = lp.arrays()
    activity = np.zeros(lp.n_rows)
    np.add.at(activity, arr["row"], arr["coef"] * x[arr["col"]])

    def worst(value, lower, upper):
        scale = np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lower), lower, 0.0)),
                                           np.abs(np.where(np.isfinite(upper), upper, 0.0))))
        gap = np.maximum(lower - value, value - upper) / scale
        return (int(np.argmax(gap)), float(gap.max())) if gap.size else (-1, 0.0)

    col_i, col_gap = worst(x, arr["col_lower"], arr["col_upper"])
    row_i, row_gap = worst(activity, arr["row_lower"], arr["row_upper"])
    if row_gap >= col_gap and row_i >= 0:
        block, family, pos = lp.row_owner(row_i)
        return f"row {family}[{pos}]", row_gap
    return f"column {col_i}", col_gap


_ROW_MEANING = {
    "convertible": "sum of leases <= ai.convertible_mw",
    "halls": "AI x PUE + mining x PUE <= site.facility_mw",
    "firm_ai": "AI x PUE <= the grid cap",
    "grid_limit": "AI draw + mining draw <= the grid cap",
    "uptime_sla": "each fleet runs >= mining.min_uptime_frac of its hours",
    "run_limit": "running <= installed",
}


def iis_problems(lp: model.LinearModel, h, status: str) -> list[Problem]:
    """The solver's irreducible infeasible subset, named in site terms (one problem)."""
    try:
        iis_status, iis = h.getIis()
        rows, cols = list(iis.row_index_), list(iis.col_index_)
    except Exception:  # noqa: BLE001 - an IIS is a help, never a reason to fail differently
        return []
    if not rows and not cols:
        return []
    parts = []
    for i in rows[:6]:
        block, family, pos = lp.row_owner(int(i))
        base = family.split("__")[0]
        meaning = _ROW_MEANING.get(base, family)
        if block is not None and base in ("firm_ai", "grid_limit") and pos < block.site.hours:
            hour = block.site.index[pos].tz_convert(block.site.timezone)
            meaning += f" at {hour:%Y-%m-%d %H:%M %Z}"
        parts.append(meaning)
    for j in cols[:6]:
        parts.append(_column_meaning(lp, int(j)))
    more = len(rows) + len(cols) - len(parts)
    site_ids = ", ".join(b.site.id for b in lp.blocks)
    return [Problem(site_ids, f"the solver reports {status!r}; these requirements cannot all hold together: "
                              + "; ".join(parts) + (f" and {more} more" if more > 0 else "") + ".",
                    "Relax one of them in the site file.")]


def _column_meaning(lp: model.LinearModel, j: int) -> str:
    for block in lp.blocks:
        ai = block.site.config.ai
        for k, col in enumerate(block.lease_cols):
            if col == j and ai is not None:
                lease = ai.lease[k]
                return f"lease {lease.tenant!r} between min_mw = {lease.min_mw:g} and its max_mw"
        for k, col in enumerate(block.fleet_cols):
            if col == j:
                fleet = block.site.config.mining.fleet[k]
                return f"fleet {fleet.model!r} between 0 and mw = {fleet.mw:g}"
    return f"column {j}"


def tool_version() -> str:
    """This package's version, for manifests."""
    from .. import __version__

    return __version__


@cache
def dist_version(name: str) -> str:
    """The installed version of distribution ``name`` (``"unknown"`` when not installed), for manifests
    (cached, as :func:`solver_version`)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
