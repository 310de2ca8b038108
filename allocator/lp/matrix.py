"""Hand a :class:`~allocator.lp.model.LinearModel` to a solver: HiGHS directly, or PuLP.

HiGHS takes the whole LP in one ``passModel`` call as compressed-column
arrays, which is what its own Python interface is fastest at; the arrays are
assembled here from the model's coordinate rows with two numpy sorts. The
PuLP form is the same LP as PuLP objects, for CBC and for writing an LP file;
it costs a Python object per term, so it is built only when asked for.
"""

from __future__ import annotations

import numpy as np

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matrix is what model.prob calls: no import at run time
    from .model import LinearModel


def csc(lp: LinearModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constraint matrix in compressed-column form: ``(start, index, value)``."""
    arr = lp.arrays()
    col, row, coef = arr["col"], arr["row"], arr["coef"]
    order = np.lexsort((row, col))
    start = np.zeros(lp.n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=lp.n_cols), out=start[1:])
    return start, row[order].astype(np.int32), coef[order]


def pass_model(h, lp: LinearModel) -> None:
    """Hand the model to ``h`` (a ``highspy.Highs``) as a maximization, straight from numpy arrays.

    HiGHS copies the arrays into its own model; no ``HighsLp`` is built in between, so the
    matrix is held once by HiGHS and once (in coordinate form) by ``lp`` while it solves.
    """
    import highspy

    arr = lp.arrays()
    start, index, value = csc(lp)
    status = h.passModel(lp.n_cols, lp.n_rows, value.size, int(highspy.MatrixFormat.kColwise),
                         int(highspy.ObjSense.kMaximize), 0.0, arr["col_cost"], arr["col_lower"],
                         arr["col_upper"], arr["row_lower"], arr["row_upper"], start[:-1].astype(np.int32),
                         index, value, np.zeros(lp.n_cols, np.int32))
    if status == highspy.HighsStatus.kError:
        from ..errors import Problem, SolverError

        raise SolverError([Problem(lp.name or "the model", f"HiGHS refused the model ({lp.n_cols} columns, "
                                   f"{lp.n_rows} rows).", "Rerun with --debug and report it.")])


def to_pulp(lp: LinearModel):
    """The model as a ``pulp.LpProblem``, columns named ``x_<j>`` and rows ``r_<i>`` in solver order."""
    import pulp

    arr = lp.arrays()
    prob = pulp.LpProblem(lp.name, pulp.LpMaximize)
    lower = [None if not np.isfinite(v) else float(v) for v in arr["col_lower"]]
    upper = [None if not np.isfinite(v) else float(v) for v in arr["col_upper"]]
    xs = [prob.add_variable(f"x_{j}", lowBound=lo, upBound=up) for j, (lo, up) in enumerate(zip(lower, upper))]
    order = np.lexsort((arr["col"], arr["row"]))
    rows, cols, coefs = arr["row"][order], arr["col"][order], arr["coef"][order]
    bounds = np.searchsorted(rows, np.arange(lp.n_rows + 1))
    from_list = pulp.LpAffineExpression.from_list
    for i in range(lp.n_rows):
        lo, up = arr["row_lower"][i], arr["row_upper"][i]
        sl = slice(bounds[i], bounds[i + 1])
        terms = [(xs[j], c) for j, c in zip(cols[sl].tolist(), coefs[sl].tolist())]
        if np.isfinite(lo) and np.isfinite(up) and lo != up:
            raise ValueError(f"row {i} has two finite bounds; the PuLP form takes one-sided rows only")
        if lo == up:
            expr, sense = from_list(terms, constant=-lo), pulp.const.LpConstraintEQ
        elif np.isfinite(up):
            expr, sense = from_list(terms, constant=-up), pulp.const.LpConstraintLE
        else:
            expr, sense = from_list(terms, constant=-lo), pulp.const.LpConstraintGE
        expr.sense = sense
        prob.addConstraint(expr, f"r_{i}")
    cost = arr["col_cost"]
    nz = np.flatnonzero(cost)
    prob.setObjective(pulp.lpSum_vars_coefs([(xs[j], float(cost[j])) for j in nz])
                      if nz.size else pulp.LpAffineExpression.empty())
    return prob
