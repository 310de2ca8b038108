"""Sweep scenarios on the structured solver, the cutting planes kept between scenarios.

:func:`allocator.lp.structured.solve_structured` solves a site exactly by
Kelley's cutting planes over the first-stage MW ``y = (a_1..a_L, m_1..m_F)``: the
dispatch value ``Q(y)`` (hourly greedy knapsacks, with the uptime SLA's
multiplier and the power terms it covers folded in) is concave and piecewise
linear, every evaluation gives a cut, and a master LP of ``L + F + 1`` columns
closes the gap to a relative 1e-9. Its coverage is :func:`allocator.lp.structured.not_covered`'s:
the base model, TOU adders, 4CP, financial and physical contracts, the uptime
SLA and demand response. A sweep solves every such scenario there; the
others (the SLA with demand response) and any whose
cutting planes do not close go to HiGHS (:mod:`allocator.whatif.reuse`).

``Q`` depends only on the hourly data (margins, caps, AI draw, the power terms,
the SLA); a scenario that moves nothing of these (a lease rate, fit-out capex,
an opex, a bound such as ``convertible_mw``, ``facility_mw``, a lease's
``min_mw``/``max_mw`` or a fleet's ``mw``) leaves every cut of the earlier
scenarios a valid bound on the same ``Q``. :class:`SweepSolver` passes the
latest cuts back (``cuts=``); ``solve_structured`` checks their fingerprint and
ignores them when the hourly data moved, so a kept cut is never a stale one.
Only the :data:`KEEP_CUTS` most recent cuts travel to the next scenario (any
subset of valid cuts is valid; the master of every solve keeps all of its own).

Base-model scenarios (no SLA, no power-market rows) take a faster road to the same
optimum: one warm master kept in HiGHS between scenarios
(:mod:`allocator.whatif.sweep_base_master`), without rebuilding the dispatch or
a HiGHS model per scenario.

No duals or marginal values are computed (a sweep writes none); the split and the
financial items, power items included, are priced from the optimum as
:func:`allocator.lp.results.site_solution` prices HiGHS's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import SolverError
from ..inputs.site import Site
from ..lp import structured
from ..lp.extensions import EXTENSIONS
from ..lp.results import TOLERANCE_MW, SiteSolution, financials
from ..lp.structured_cuts import Cuts
from .sweep_base_master import BaseModelSweep
from .sweep_base_master import applies as base_model

#: ``SiteSolution.method`` of a scenario solved here (the manifest counts scenarios per method)
METHOD = "structured (cutting planes, cuts kept between scenarios)"
#: most recent cuts handed on to the next scenario (re-adding cuts to a fresh master costs per cut)
KEEP_CUTS = 40


def why_not(site: Site) -> str | None:
    """Why a sweep sends ``site`` to HiGHS (None: the structured solver covers it)."""
    return structured.not_covered(site)


class SweepSolver:
    """Structured solves of one site's scenarios, the latest cuts kept while the hourly data stay.

    Attributes
    ----------
    kept : int
        Scenarios solved on the cuts of earlier scenarios (hourly data unchanged).
    fresh : int
        Scenarios that started new cuts (first scenario, or the hourly data moved).
    evaluations : int
        Dispatch evaluations (cuts) over all scenarios.
    why_not : str
        Why the last scenario went to HiGHS ("" when it did not).
    """

    def __init__(self, keep_cuts: int = KEEP_CUTS) -> None:
        self.keep_cuts = keep_cuts
        self._kept = self._fresh = self._evaluations = 0
        self.why_not = ""
        self._cuts: Cuts | None = None
        self._base = BaseModelSweep()

    @property
    def kept(self) -> int:
        return self._kept + self._base.kept

    @property
    def fresh(self) -> int:
        return self._fresh + self._base.fresh

    @property
    def evaluations(self) -> int:
        return self._evaluations + self._base.evaluations

    def solve(self, site: Site) -> SiteSolution | None:
        """The exact optimum of ``site`` as a :class:`SiteSolution` (no marginal values, no shadow
        prices); None when the site is not covered or the cutting planes do not close (use HiGHS,
        :attr:`why_not` says why)."""
        self.why_not = why_not(site) or ""
        if self.why_not:
            return None
        if base_model(site):
            solution = self._base.solve(site)
            if solution is not None:
                solution.method = METHOD
                return solution
            # the warm master did not close: solve_structured from scratch decides (it starts afresh)
        try:
            optimum = structured.solve_structured(site, cuts=self._cuts)
        except SolverError as err:
            self._cuts = None
            self.why_not = f"the cutting planes did not converge ({err.problems[0].message})"
            return None
        cuts = optimum.cuts
        assert cuts is not None
        if self._cuts is not None and self._cuts.key == cuts.key:
            self._kept += 1
        else:
            self._fresh += 1
        self._evaluations += optimum.iterations
        self._cuts = _latest(cuts, self.keep_cuts)
        solution = _solution(site, optimum)
        solution.method = METHOD
        return solution


def _latest(cuts: Cuts, keep: int) -> Cuts:
    """The ``keep`` most recent cuts, with at least one value cut (it bounds the master's ``theta``)."""
    rows = cuts.rows[-keep:]
    if not any(cut.kind == "value" for cut in rows):
        rows = [next(cut for cut in reversed(cuts.rows) if cut.kind == "value")] + rows
    return Cuts(cuts.key, rows)


@dataclass
class _PowerColumns:
    """The two things of a site's LP block the power results read (:func:`allocator.power.results.outcome`):
    the site and the column indices of the power terms the structured solver covers, laid out in a
    small value vector of their own instead of the whole LP's."""

    site: Site
    cols: dict[str, np.ndarray] = field(default_factory=dict)


def _power_values(site: Site, optimum: structured.StructuredOptimum) -> tuple[_PowerColumns, np.ndarray]:
    """The physical contracts' used MW, the 4CP average peak draw and the demand-response offers at the optimum, as
    :func:`allocator.lp.structured.lp_solution` sets them in the LP's columns."""
    block, parts, n = _PowerColumns(site), [], 0
    pm = site.power
    if pm is None:
        return block, np.zeros(0)
    physical = [c.block_mw for c in pm.contracts if c.settlement == "physical"]
    if physical:
        blocks = np.stack(physical)
        before = np.cumsum(blocks, axis=0) - blocks  # the used MW filled into the contracts in file order
        used = np.clip(optimum.physical_use_mw[None, :] - before, 0.0, blocks)
        block.cols["physical_contract"] = np.arange(used.size).reshape(used.shape)
        parts.append(used.ravel())
        n = used.size
    if pm.peak_weight_frac is not None:
        block.cols["coincident_peak"] = np.array([n])
        parts.append(np.array([optimum.peak_draw_mw]))
        n += 1
    if optimum.demand_response is not None:  # offers (annual: one MW figure) and the shed MW of deployment hours
        model = optimum.demand_response["model"]
        offers, shed = optimum.demand_response["primal"]
        for k, p in enumerate(pm.programs):
            value = (optimum.demand_response["annual_mw"][model.annual.index(k):][:1] if p.annual else offers[k])
            block.cols[f"dr_offer:{p.name}"] = np.arange(n, n + value.size)
            parts.append(value)
            n += value.size
        if model.dep_hours.size:
            block.cols["dr_shed"] = np.arange(n, n + model.dep_hours.size)
            parts.append(shed[model.dep_hours])
    return block, np.concatenate(parts) if parts else np.zeros(0)


def _solution(site: Site, optimum: structured.StructuredOptimum) -> SiteSolution:
    """The optimum priced item by item as :func:`allocator.lp.results.site_solution` prices it."""
    def clean(x: np.ndarray) -> np.ndarray:
        return np.where(np.abs(x) < TOLERANCE_MW, 0.0, x)

    lease, fleet, run = clean(optimum.lease_mw), clean(optimum.fleet_mw), clean(optimum.run_mw)
    fin = financials(site, lease, fleet, run)
    outcomes = {}
    block, values = _power_values(site, optimum)
    for extension in EXTENSIONS.values():  # the power market's contracts and 4CP
        outcomes[extension.name] = extension.outcome(block, values, lease, fleet, run)
        fin = extension.merge_items(fin, outcomes[extension.name])
    return SiteSolution(site, lease, fleet, run, optimum.objective_usd, fin, outcomes.get("power"))
