"""What one more (or one less) MW of a site-file field is worth, exactly: warm re-solves.

The optimum ``phi`` of the LP is a concave, piecewise-linear function of each
resource (a row bound or a column bound that a site-file field sets). When two
limits bind together (halls and grid both full) ``phi`` has a kink there and the
LP's dual is any number between its two slopes: it answers neither "one more MW"
nor "one less". The slopes themselves are computed here:

- ``value`` (the right derivative): the field is set to ``v + delta``, every
  default that follows it re-derived (``facility_mw`` from ``interconnect_mw``,
  ``ai.convertible_mw`` from ``facility_mw / ai.pue``, a lease's ``max_mw`` from
  ``ai.convertible_mw``), the site's block rebuilt, and the bounds that moved
  are pushed into the solved HiGHS model, which re-solves warm with dual
  simplex (a few pivots; thousands where one MW moves every hour's dispatch). The new optimum's duals ``y'`` give the slope
  ``y' . d`` along the move ``d`` of the bounds, exactly, as long as ``y'`` is
  also optimal at the unmoved bounds (then ``phi`` is linear between the two points).
  That is checked by complementary slackness against the base solution (every
  row or bound with a nonzero ``y'`` is active in the base solution); if the check
  fails, ``delta`` passed a kink and is shrunk tenfold.
  Bounds that are all slack in the base solution need no re-solve: the slope is 0.
- ``loss`` (the left derivative): the same with ``v - delta``. Concavity gives
  ``value <= loss``; a field already at its lowest allowed value (a lease's
  ``min_mw = 0``), or one whose decrease makes the site infeasible, has no loss (NaN).

Both are net USD over the horizon per MW, annualized by ``8760 / H`` by the caller.
"""

from __future__ import annotations

import dataclasses
import logging
import re

import numpy as np

from . import model

LOG = logging.getLogger(__name__)

#: first step [MW]; a step that crosses a kink is divided by SHRINK, at most TRIES times
FIRST_DELTA_MW = 1e-3
SHRINK = 10.0
TRIES = 4
#: a dual smaller than this is zero for the optimality check [USD per unit]
DUAL_TOLERANCE = 1e-6
#: a row or bound this close to its bound is active for the optimality check (relative to max(1, |bound|))
PRIMAL_TOLERANCE = 1e-6


def resource_fields(config) -> list[tuple[str, str]]:
    """``(resource, field path)`` for every row of ``marginal_values.csv``, in table order."""
    out = [("interconnect_mw", "site.interconnect_mw"), ("facility_mw", "site.facility_mw")]
    if config.ai is None:
        return out
    out.append(("convertible_mw", "ai.convertible_mw"))
    for i, lease in enumerate(config.ai.lease):
        out.append((f"lease:{lease.tenant}:min_mw", f"ai.lease[{i}].min_mw"))
        out.append((f"lease:{lease.tenant}:max_mw", f"ai.lease[{i}].max_mw"))
    return out


def field_value(config, path: str) -> float:
    """The value a field has, its default applied [MW]."""
    if path == "site.facility_mw":
        return config.facility_mw
    if path == "ai.convertible_mw":
        return config.ai.convertible_mw
    m = re.fullmatch(r"ai\.lease\[(\d+)\]\.(min_mw|max_mw)", path)
    if m:
        lease = config.ai.lease[int(m.group(1))]
        return config.lease_max_mw(lease) if m.group(2) == "max_mw" else lease.min_mw
    return config.site.interconnect_mw


def moved_site(site, path: str, value: float):
    """``site`` with one field set to ``value`` and the defaults that follow it re-derived;
    None when the file would not be valid (a negative MW, a min_mw above its max_mw).

    Only the moved field is validated (by its own pydantic validator: the same bounds and checks as
    the whole file's validation gives it), on a copy of the one table that holds it; the other tables
    are shared with ``site``. The defaults that follow it are re-derived as the file's validation
    derives them (``facility_mw`` and a lease's ``max_mw`` are read through their defaults;
    ``ai.convertible_mw``, when the file leaves it out, is ``facility_mw / ai.pue`` again). The hourly
    arrays are ``site``'s, but for the grid cap when ``site.interconnect_mw`` moves.
    """
    from pydantic import ValidationError

    from ..inputs.site import _grid_cap

    config = site.config
    m = re.fullmatch(r"ai\.lease\[(\d+)\]\.(min_mw|max_mw)", path)
    try:
        if m:
            i = int(m.group(1))
            leases = list(config.ai.lease)
            leases[i] = _assigned(leases[i], m.group(2), value)
            config = config.model_copy(update={"ai": config.ai.model_copy(update={"lease": leases})})
        else:
            table, name = path.split(".")
            config = config.model_copy(update={table: _assigned(getattr(config, table), name, value)})
    except ValidationError:
        return None
    ai = config.ai
    if ai is not None and "convertible_mw" not in ai.model_fields_set:  # SiteFile._default_convertible
        ai = ai.model_copy(update={"convertible_mw": config.facility_mw / ai.pue})
        ai.model_fields_set.discard("convertible_mw")
        config = config.model_copy(update={"ai": ai})
    if config.ai is not None and any(lease.min_mw > config.lease_max_mw(lease) for lease in config.ai.lease):
        return None  # a signed minimum above the tenant's most
    problems: list = []
    cap = _grid_cap(config, site.index, str(site.path), problems) if path == "site.interconnect_mw" else site.grid_cap_mw
    if problems:
        return None
    return dataclasses.replace(site, config=config, grid_cap_mw=cap)


def _assigned(table, name: str, value: float):
    """A copy of the pydantic model ``table`` with field ``name`` = ``value``, validated by that field's
    own validator (raises pydantic's ValidationError as the file's validation would), and marked as set."""
    out = table.model_copy()
    type(table).__pydantic_validator__.validate_assignment(out, name, value)
    out.model_fields_set.add(name)
    return out


def block_arrays(site) -> dict[str, np.ndarray]:
    """One site's block built alone (columns and rows numbered from 0)."""
    lp = model.LinearModel(site.id)
    lp.blocks.append(model.add_site_block(lp, site))
    return lp.arrays()


def block_offsets(block: model.SiteBlock) -> tuple[int, int]:
    """First column and first row of a block in its LP (a block's indices are contiguous)."""
    cols = [c.ravel() for c in block.cols.values() if np.size(c)]
    rows = [r for r in block.rows.values() if r.size]
    first_col = int(min(c.min() for c in cols)) if cols else 0
    first_row = int(min(r.min() for r in rows)) if rows else 0
    return first_col, first_row


class Resolver:
    """A solved HiGHS model kept at its optimal basis, re-solved with some bounds moved.

    Parameters
    ----------
    lp : model.LinearModel
        The model that was solved.
    highs : highspy.Highs
        HiGHS holding ``lp`` (its costs may differ from ``lp``'s: a decomposition's priced
        site) at an optimal basis.
    """

    def __init__(self, lp: model.LinearModel, highs) -> None:
        self.lp = lp
        self.h = highs
        arr = lp.arrays()
        self.col_lower, self.col_upper = arr["col_lower"], arr["col_upper"]
        self.row_lower, self.row_upper = arr["row_lower"], arr["row_upper"]
        sol = highs.getSolution()
        self.x = np.asarray(sol.col_value, dtype=float)
        self.activity = np.asarray(sol.row_value, dtype=float)
        self.objective = float(highs.getInfo().objective_function_value)
        self.basis = highs.getBasis()
        highs.setOptionValue("solver", "simplex")
        highs.setOptionValue("simplex_strategy", 1)  # dual simplex: the moved bounds keep the basis dual feasible
        highs.setOptionValue("presolve", "off")
        self.solves = 0

    def slope(self, cols: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray, rows: np.ndarray,
              row_lower: np.ndarray, row_upper: np.ndarray, delta: float) -> tuple[float | None, bool]:
        """The optimum's slope [USD per MW] when the given bounds take the given values at
        ``delta`` MW of the field; (None, True) if the moved model is infeasible.

        The second item says whether the slope is proven exact (the moved model's duals are
        optimal at the base bounds too).
        """
        import highspy

        h = self.h
        if cols.size:
            h.changeColsBounds(cols.size, cols.astype(np.int32), col_lower, col_upper)
        if rows.size:
            h.changeRowsBounds(rows.size, rows.astype(np.int32), row_lower, row_upper)
        try:
            # from the last re-solve's basis, not the first optimum's: only bounds move, so every optimal
            # basis stays dual feasible, and consecutive moves (one less MW of the halls, then of the grid)
            # often need the same pivots (measured: about half the time where halls and grid bind every hour)
            from .solve import raise_if_interrupted, run

            run(h)
            self.solves += 1
            raise_if_interrupted(h)
            status = h.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                return None, status in (highspy.HighsModelStatus.kInfeasible,
                                        highspy.HighsModelStatus.kUnboundedOrInfeasible)
            sol = h.getSolution()
            y = np.asarray(sol.row_dual, dtype=float)
            d = np.asarray(sol.col_dual, dtype=float)
        finally:
            if cols.size:
                h.changeColsBounds(cols.size, cols.astype(np.int32), self.col_lower[cols], self.col_upper[cols])
            if rows.size:
                h.changeRowsBounds(rows.size, rows.astype(np.int32), self.row_lower[rows], self.row_upper[rows])
        # a dual is d(objective)/d(the bound it sits at): >= 0 at an upper bound, <= 0 at a lower one
        dc, dr = d[cols], y[rows]
        change = (np.where(dc > 0, _moved(col_upper, self.col_upper[cols]), _moved(col_lower, self.col_lower[cols])) @ dc
                  + np.where(dr > 0, _moved(row_upper, self.row_upper[rows]), _moved(row_lower, self.row_lower[rows])) @ dr)
        return float(change) / delta, self._optimal_at_base(y, d)

    def _optimal_at_base(self, y: np.ndarray, d: np.ndarray) -> bool:
        """Complementary slackness of the moved duals with the base solution."""
        def active(value, lower, upper, dual):
            bound = np.where(dual > 0, upper, lower)
            scale = np.maximum(1.0, np.abs(np.where(np.isfinite(bound), bound, 0.0)))
            return np.abs(value - bound) <= PRIMAL_TOLERANCE * scale

        rows = np.abs(y) > DUAL_TOLERANCE
        cols = np.abs(d) > DUAL_TOLERANCE
        return bool(active(self.activity[rows], self.row_lower[rows], self.row_upper[rows], y[rows]).all()
                    and active(self.x[cols], self.col_lower[cols], self.col_upper[cols], d[cols]).all())

    def slack(self, cols: np.ndarray, rows: np.ndarray) -> bool:
        """True when no given bound is active in the base solution: moving them (by less than
        their slack) leaves that solution optimal, so the optimum's slope is exactly 0."""
        def strict(value, lower, upper):
            def gap(bound):
                scale = np.maximum(1.0, np.abs(np.where(np.isfinite(bound), bound, 0.0)))
                return np.abs(value - bound) > PRIMAL_TOLERANCE * scale
            return bool((gap(lower) & gap(upper)).all())

        return (strict(self.x[cols], self.col_lower[cols], self.col_upper[cols])
                and strict(self.activity[rows], self.row_lower[rows], self.row_upper[rows]))

    def restore(self) -> None:
        """Put the base basis back (the bounds are restored after every re-solve)."""
        self.h.setBasis(self.basis)


def site_slopes(resolver: Resolver, block: model.SiteBlock) -> dict[str, tuple[float, float]]:
    """Per resource of the site, (right slope, left slope) of the optimum [USD per MW over the horizon]."""
    base = block_arrays(block.site)
    offsets = block_offsets(block)
    out = {}
    try:
        for resource, path in resource_fields(block.site.config):
            out[resource] = (one_sided(resolver, block, base, offsets, path, +1.0),
                             one_sided(resolver, block, base, offsets, path, -1.0))
    finally:
        resolver.restore()
    return out


def one_sided(resolver: Resolver, block: model.SiteBlock, base: dict[str, np.ndarray], offsets: tuple[int, int],
              path: str, sign: float) -> float:
    """Slope of the optimum when the field at ``path`` moves by ``sign`` [USD per MW over the horizon];
    NaN when it cannot move that way (invalid file or infeasible site)."""
    site = block.site
    col0, row0 = offsets
    v = field_value(site.config, path)
    delta = FIRST_DELTA_MW
    slope = float("nan")
    for _ in range(TRIES):
        moved = moved_site(site, path, v + sign * delta)
        if moved is None:
            return float("nan")
        arr = block_arrays(moved)
        if not _same_shape(base, arr):
            LOG.debug("%s %s: the moved block has another shape; no one-sided value", site.id, path)
            return float("nan")
        cols = np.flatnonzero((arr["col_lower"] != base["col_lower"]) | (arr["col_upper"] != base["col_upper"]))
        rows = np.flatnonzero((arr["row_lower"] != base["row_lower"]) | (arr["row_upper"] != base["row_upper"]))
        if not cols.size and not rows.size or resolver.slack(cols + col0, rows + row0):
            return 0.0
        value, exact = resolver.slope(cols + col0, arr["col_lower"][cols], arr["col_upper"][cols], rows + row0,
                                      arr["row_lower"][rows], arr["row_upper"][rows], sign * delta)
        if value is None:
            return float("nan")
        slope = value
        if exact:
            return slope
        delta /= SHRINK
    LOG.debug("%s %s: slope %g not proven exact at a step of %g MW", site.id, path, slope, delta * SHRINK)
    return slope


def _moved(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """new - old where both are finite, else 0 (an infinite bound never moves)."""
    finite = np.isfinite(new) & np.isfinite(old)
    return np.where(finite, np.where(finite, new, 0.0) - np.where(finite, old, 0.0), 0.0)


def _same_shape(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Same columns, rows, matrix and costs: only bounds differ."""
    return all(a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in ("row", "col", "coef", "col_cost"))
