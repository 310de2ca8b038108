"""Each scenario's second stage: its site LP with the first stage fixed by column bounds.

For a scenario ``s`` and a first stage ``y = (a_l, m_f)`` [IT MW],
:meth:`ScenarioModel.evaluate` fixes the first-stage columns of the
scenario's own site LP (:func:`allocator.model.build`) at ``y`` by their
bounds and re-solves it warm (dual simplex from the last basis). The
optimum, scaled to a year (``x 8760 / H_s``), is ``net_s(y)`` [USD/year];
the reduced costs of the fixed columns are a supergradient of that concave
function, which makes one optimality cut of the L-shaped method. The rows that
hold only first-stage columns (MODEL.md 1, 3, 4: convertible, halls, firm AI)
are lifted from the subproblem: the master holds them.

The only second-stage row a fixed first stage can break is the hosting SLA
(MODEL.md 6: every hour's headroom is >= 0 once the firm AI row holds and
mining can stop). When it breaks, the scenario's *phase-one* LP (the SLA rows
given elastic columns ``v_f >= 0``, maximize ``-sum_f v_f`` [IT MWh]) gives
``V_s(y) < 0`` and a supergradient, i.e. the feasibility cut
``V_s(y0) + g (y - y0) >= 0``.

A :class:`Shard` holds the models of some scenarios of one site (where it
lives: :mod:`allocator.whatif.decide_parallel`), up to a fixed memory budget
(:data:`MEMORY_BYTES`); the others are rebuilt from their scenario whenever
they are evaluated, so a shard's memory does not grow with the number of
futures. The candidates' evaluation is one pass over the futures
(:meth:`Shard.candidates`): each future is built at most once for all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, Problem, SolverError
from ..inputs import overrides, series
from ..inputs import site as site_mod
from ..inputs.site import HOURS_PER_YEAR, Site, load_site
from ..lp import diagnosis, model
from ..lp.model import RowBlock
from .decide_program import Evaluation
from .decide_scenarios import PriceSampling, Scenario, first_stage_changes
from .reuse import FAST_PATH, derive_site

#: rows of the site LP on first-stage columns only: the master holds them
FIRST_STAGE_ROWS = ("convertible", "halls", "firm_ai")
#: most memory the futures held by one process may take; the others are rebuilt when evaluated [bytes]
#: (a fixed budget, so a process's memory stays flat however many futures it is given)
MEMORY_BYTES = 32 * 2**20
#: most memory the second-stage LP models held by one process may take (about 8 site-years with an uptime
#: SLA); an LP future rebuilt is solved cold, which costs about as much as building it [bytes]
LP_MEMORY_BYTES = 256 * 2**20
#: memory of a solved second-stage LP held by HiGHS per byte of its arrays (measured, see ScenarioModel.nbytes)
HELD_LP_FACTOR = 11


def site_nbytes(site: Site) -> int:
    """Memory of a site's hourly arrays [bytes] (what a future rebuilt from its site keeps)."""
    arrays = [site.price_usd_per_mwh, site.hashprice_usd_per_ph_day, site.grid_cap_mw, site.ai_utilization_frac]
    return sum(np.asarray(a).nbytes for a in arrays) + int(site.index.nbytes)


@dataclass
class ScenarioInfo:
    """What the master needs of a loaded scenario."""

    id: str
    hours: int
    min_cap_mw: float
    events: list[int]              # indices of the site file's events that overlap its hours
    problems: list[Problem]        # input problems (exit 1)
    conflicts: list[Problem]       # signed leases against its limits (exit 2)
    warnings: list[Problem] = field(default_factory=list)  # what its own data says beyond the site file's
    files: list[str] = field(default_factory=list)         # the input files it reads (for the manifest)


@dataclass
class CandidateNets:
    """One future under every candidate first stage, and alone.

    Attributes
    ----------
    own_net_usd_per_year : float
        The future's own (wait-and-see, risk-neutral) optimum [USD/year].
    net_usd_per_year : list of float or None
        Its net under each candidate [USD/year]; None where its second stage has no solution.
    """

    own_net_usd_per_year: float
    net_usd_per_year: list[float | None]


def _prefixed(problems: list[Problem], scenario_id: str) -> list[Problem]:
    return [Problem(f"scenario {scenario_id}: {p.where}", p.message, p.fix) for p in problems]


def scenario_warnings(base: Site, site: Site) -> list[Problem]:
    """What a scenario's own data says that the site file's does not (unit slips, naive times...).

    A scenario loaded from its own window or files carries its series' warnings; one derived in
    memory (new rates, adder, hashprice, a bootstrapped price path) is checked for unit slips here.
    The site file's own warnings are left out: they are reported once, for the site.
    """
    from ..inputs import input_checks
    from .decide_bootstrap import hub_price_usd_per_mwh

    known = {str(w) for w in base.warnings}
    slips = input_checks.unit_slips(site.config, hub_price_usd_per_mwh(site), site.hashprice_usd_per_ph_day,
                                    str(base.path))
    out: list[Problem] = []
    for w in [*site.warnings, *slips]:
        if str(w) not in known:
            known.add(str(w))
            out.append(w)
    return out


def scenario_site(base: Site, raw: dict, scenario: Scenario, prices: PriceSampling | None = None,
                  seed: int | None = None) -> tuple[Site, list[int]]:
    """The site of one scenario and the base events it keeps; raise :class:`InputError`.

    Site-file events missing the scenario's hours are dropped for it; an event the scenario
    sets itself must overlap its hours.
    """
    where = str(base.path)
    values = scenario.values
    base_events = list(range(len(base.config.curtailment)))
    if values:
        doc = overrides.apply_overrides(raw, values, where)
        config = overrides.validate(doc, where, values)
    else:
        config = base.config
    changed = first_stage_changes(base.config, config)
    if changed:
        raise InputError([Problem(f"scenario {scenario.id}", f"changes {', '.join(changed)} (through "
                                  f"{', '.join(values) or 'its values'}), which bound the first-stage decision "
                                  "shared by every scenario.",
                                  "Change it in the site file instead, or run decide once per value.")], where)
    if all(FAST_PATH.match(p) for p in values):  # same hours: hourly arrays derived in memory
        site, kept = (derive_site(base, config) if values else base), base_events
    else:
        site, kept = _load_windowed(base, config, scenario, values)
    if scenario.price_sample is not None:
        from .decide_bootstrap import bootstrap_site

        site = bootstrap_site(site, base, prices, seed or 0, scenario.price_sample)
    return site, kept


def _load_windowed(base: Site, config, scenario: Scenario, values: dict[str, Any]) -> tuple[Site, list[int]]:
    """Load a scenario whose hours may differ from the base site's: events filtered to its window."""
    where = str(base.path)
    site = load_site(base.path, config=config.model_copy(update={"curtailment": []}))
    problems: list[Problem] = []
    first, last = site.index[0], site.index[-1] + np.timedelta64(1, "h")
    own = {int(p.split("[")[1].split("]")[0]) for p in values if p.startswith("curtailment[")}
    keep, kept_base = [], []
    for i, event in enumerate(config.curtailment):
        try:
            start = series.to_utc(event.start, config.site.timezone, f"{where}: curtailment[{i}].start")
            end = series.to_utc(event.end, config.site.timezone, f"{where}: curtailment[{i}].end")
        except InputError as err:
            problems += err.problems
            continue
        if end > first and start < last:
            keep.append(event)
            if i < len(base.config.curtailment) and i not in own:
                kept_base.append(i)
        elif i in own:
            problems.append(Problem(f"{where}: curtailment[{i}]", f"the event {event.start} to {event.end}, set by "
                                    f"scenario {scenario.id}, lies outside its hours.",
                                    "Fix its dates or the scenario's prices.start/end."))
    kept_config = config.model_copy(update={"curtailment": keep})
    cap = site_mod._grid_cap(kept_config, site.index, where, problems)
    if problems:
        raise InputError(problems, where)
    return dataclasses.replace(site, config=kept_config, grid_cap_mw=cap), kept_base


class ScenarioModel:
    """One scenario's site LP held by HiGHS, re-solved at each first stage.

    Parameters
    ----------
    site : Site
        The scenario's site.
    time_limit_s : float, optional
        Time limit of each solve [s].
    """

    def __init__(self, site: Site, time_limit_s: float | None = None) -> None:
        from ..lp.solve import highs_for

        self.site = site
        self.lp = model.build([site], name=site.id)
        block = self.lp.blocks[0]
        self.block = block
        self.fs = np.concatenate([block.lease_cols, block.fleet_cols]).astype(np.int32)
        self.run = block.run_cols.ravel()
        self.factor = HOURS_PER_YEAR / site.hours
        arr = self.lp.arrays()
        self.fs_lower, self.fs_upper = arr["col_lower"][self.fs].copy(), arr["col_upper"][self.fs].copy()
        lifted = [block.rows[f] for f in FIRST_STAGE_ROWS if f in block.rows]
        self.lifted = (np.concatenate(lifted) if lifted else np.zeros(0, np.int64)).astype(np.int32)
        self.lifted_lower = arr["row_lower"][self.lifted].copy()
        self.lifted_upper = arr["row_upper"][self.lifted].copy()
        row_lower, row_upper = arr["row_lower"].copy(), arr["row_upper"].copy()
        row_lower[self.lifted], row_upper[self.lifted] = -np.inf, np.inf
        arr["row_lower"], arr["row_upper"] = row_lower, row_upper
        self.time_limit_s = time_limit_s
        self.h = highs_for(self.lp, time_limit_s=time_limit_s) if self.lp.n_cols else None
        self._solved = False
        self._phase_one = None

    @property
    def nbytes(self) -> int:
        """Memory of its model once solved, estimated from the LP's arrays [bytes].

        HiGHS holds the LP again, row-wise, with its factorization and simplex work arrays: measured
        on a site-year with an uptime SLA (two fleets, 8,784 hours), a held model took 32 MB for
        2.9 MB of arrays, hence the factor :data:`HELD_LP_FACTOR`.
        """
        return HELD_LP_FACTOR * sum(v.nbytes for v in self.lp.arrays().values())

    # ------------------------------------------------------------ solving

    def _run(self, h) -> str:
        import highspy

        from ..lp.solve import raise_if_interrupted, run

        run(h)
        raise_if_interrupted(h)
        status = h.getModelStatus()
        S = highspy.HighsModelStatus
        if status == S.kOptimal:
            h.setOptionValue("solver", "simplex")
            return "optimal"
        if status in (S.kInfeasible, S.kUnboundedOrInfeasible):
            return "infeasible"
        raise SolverError([Problem(self.site.id, f"the solver returned {h.modelStatusToString(status)!r} on a "
                                   "scenario's second stage.", "Raise --time-limit, or rerun with --debug.")])

    def evaluate(self, y: np.ndarray) -> Evaluation:
        """The annualized second-stage optimum at first stage ``y`` [IT MW], or its phase-one value."""
        y = np.minimum(np.maximum(np.asarray(y, float), self.fs_lower), self.fs_upper)
        if self.h is None:
            return Evaluation(True, 0.0, np.zeros(0))
        h = self.h
        if self.fs.size:
            h.changeColsBounds(self.fs.size, self.fs, y, y)
        status = self._run(h)
        if status == "infeasible":
            h.setOptionValue("solver", "ipm")  # a fresh start next time: the basis is of an infeasible LP
            h.clearSolver()
            value, gradient = self._phase_one_at(y)
            return Evaluation(False, value, gradient)
        sol = h.getSolution()
        x = np.asarray(sol.col_value, float)
        grad = np.asarray(sol.col_dual, float)[self.fs] * self.factor
        objective = float(h.getInfo().objective_function_value)
        return Evaluation(True, objective * self.factor, grad, float(x[self.run].sum()) if self.run.size else 0.0)

    def own_optimum(self) -> tuple[float, np.ndarray]:
        """This scenario alone: its optimal first stage [IT MW] and annualized net [USD/year]."""
        if self.h is None:
            return 0.0, np.zeros(0)
        h = self.h
        if self.fs.size:
            h.changeColsBounds(self.fs.size, self.fs, self.fs_lower, self.fs_upper)
        if self.lifted.size:
            h.changeRowsBounds(self.lifted.size, self.lifted, self.lifted_lower, self.lifted_upper)
        try:
            status = self._run(h)
            if status != "optimal":
                raise SolverError([Problem(self.site.id, "a scenario alone is infeasible although its signed leases "
                                           "fit its limits.", "Rerun with --debug and report it.")])
            x = np.asarray(h.getSolution().col_value, float)
            return float(h.getInfo().objective_function_value) * self.factor, x[self.fs].copy()
        finally:
            if self.lifted.size:
                h.changeRowsBounds(self.lifted.size, self.lifted, np.full(self.lifted.size, -np.inf),
                                   np.full(self.lifted.size, np.inf))

    def _phase_one_at(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """max -sum_f v_f with the SLA rows elastic, first stage fixed at y: (value [IT MWh], gradient)."""
        from ..lp.matrix import pass_model
        from ..lp.solve import _quiet_highs

        if self._phase_one is None:
            lp = model.build([self.site], name=f"{self.site.id}_phase_one")
            sla = lp.blocks[0].rows["uptime_sla"]
            v = lp.add_columns(np.zeros(sla.size), np.inf, -1.0)
            lp._row_blocks.append(RowBlock(np.zeros(0), np.zeros(0), sla.astype(np.int64), v, np.ones(sla.size)))
            lp._arrays = None
            arr = lp.arrays()
            cost = np.zeros(lp.n_cols)
            cost[v] = -1.0
            arr["col_cost"] = cost
            arr["row_lower"][self.lifted] = -np.inf
            arr["row_upper"][self.lifted] = np.inf
            h = _quiet_highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)
            pass_model(h, lp)
            self._phase_one = h
        h = self._phase_one
        h.changeColsBounds(self.fs.size, self.fs, y, y)
        if self._run(h) != "optimal":
            raise SolverError([Problem(self.site.id, "the phase-one LP of a scenario has no optimum.",
                                       "Rerun with --debug and report it.")])
        sol = h.getSolution()
        return float(h.getInfo().objective_function_value), np.asarray(sol.col_dual, float)[self.fs].copy()


# ------------------------------------------------------------------ shards


class Shard:
    """The loaded scenarios of one site held in this process.

    Parameters
    ----------
    site_path : str
        The site file.
    scenarios : list of Scenario
    prices : PriceSampling or None
        ``[sample.prices]`` of the scenario file.
    seed : int or None
        Seed of the sampled price paths.
    time_limit_s : float, optional
        Time limit of each second-stage LP solve [s].
    structured : bool
        Use the closed-form second stage where it applies.
    memory_bytes : int
        Most memory its held closed-form futures (and kept sites) may take [bytes]; the LP models held
        may take 8 times as much, at most :data:`LP_MEMORY_BYTES`. The others are rebuilt when evaluated.

    Attributes
    ----------
    tick : callable or None
        Called with the number of futures done so far in the current pass (progress).
    """

    def __init__(self, site_path: str, scenarios: list[Scenario], prices: PriceSampling | None = None,
                 seed: int | None = None, time_limit_s: float | None = None, structured: bool = True,
                 memory_bytes: int = MEMORY_BYTES, tick: Callable[[int], None] | None = None) -> None:
        base = load_site(site_path)
        raw = overrides.read_raw(Path(site_path))
        self.base, self.raw, self.scenarios, self.prices, self.seed = base, raw, scenarios, prices, seed
        self.structured, self.time_limit_s = structured, time_limit_s
        self.tick = tick
        self.models: list = []  # StructuredScenario, ScenarioModel, or None (a conflict, or not held)
        self.rebuild: list[bool] = []  # not held in memory: rebuilt whenever it is needed
        self.sites: dict[int, Site] = {}  # the site of a rebuilt LP future, when it fits: only its LP is rebuilt
        self.infos: list[ScenarioInfo] = []
        self.held_bytes = 0  # closed-form futures and kept sites
        self.lp_bytes = 0    # LP models
        self.lp_memory_bytes = min(LP_MEMORY_BYTES, 8 * memory_bytes)
        for k, sc in enumerate(scenarios):
            self._load(sc, memory_bytes)
            self._tick(k + 1)

    def _load(self, sc: Scenario, memory_bytes: int) -> None:
        try:
            site, events = scenario_site(self.base, self.raw, sc, self.prices, self.seed)
        except InputError as err:
            self.models.append(None)
            self.rebuild.append(False)
            self.infos.append(ScenarioInfo(sc.id, 0, 0.0, [], _prefixed(err.problems, sc.id), []))
            return
        conflicts = _prefixed(diagnosis.conflicts(site), sc.id)
        self.infos.append(ScenarioInfo(sc.id, site.hours, float(site.grid_cap_mw.min()) if site.hours else 0.0,
                                       events, [], conflicts, _prefixed(scenario_warnings(self.base, site), sc.id),
                                       sorted({str(p) for p in site.input_files.values()})))
        if conflicts:
            self.models.append(None)
            self.rebuild.append(False)
            return
        model_ = self._model(site)
        size = model_.nbytes
        if isinstance(model_, ScenarioModel) and self.lp_bytes + size <= self.lp_memory_bytes:
            self.lp_bytes += size
            self.models.append(model_)
            self.rebuild.append(False)
            return
        if not isinstance(model_, ScenarioModel) and self.held_bytes + size <= memory_bytes:
            self.held_bytes += size
            self.models.append(model_)
            self.rebuild.append(False)
            return
        # beyond the budget: memory stays flat, the future is rebuilt each time it is evaluated; an LP
        # future keeps its site when that fits (reading its files again would cost more than its LP)
        self.models.append(None)
        self.rebuild.append(True)
        if isinstance(model_, ScenarioModel) and self.held_bytes + site_nbytes(site) <= memory_bytes:
            self.held_bytes += site_nbytes(site)
            self.sites[len(self.models) - 1] = site

    def _model(self, site: Site):
        from .decide_structured import StructuredScenario, applies

        if self.structured and applies(site):
            return StructuredScenario(site, shared=(self.base.grid_cap_mw,))
        return ScenarioModel(site, self.time_limit_s)

    def _rebuilt(self, k: int):
        """The model of future ``k``, not held: from its kept site, or from its scenario."""
        site = self.sites.get(k)
        if site is None:
            site = scenario_site(self.base, self.raw, self.scenarios[k], self.prices, self.seed)[0]
        return self._model(site)

    def _tick(self, done: int) -> None:
        if self.tick is not None:
            self.tick(done)

    def scenario_infos(self) -> list[ScenarioInfo]:
        """What the master needs of each loaded scenario (a method, so a Dask actor can be asked)."""
        return self.infos

    def _each(self):
        """Every feasible scenario's model in order: held ones as they are, the others rebuilt for the call."""
        done = 0
        for k, held in enumerate(self.models):
            if held is not None:
                yield held
            elif self.rebuild[k]:
                yield self._rebuilt(k)
            else:
                continue
            done += 1
            self._tick(done)

    def evaluate(self, y: np.ndarray) -> list[Evaluation]:
        """Every future's second stage at first stage ``y`` [IT MW]."""
        return [m.evaluate(y) for m in self._each()]

    def own_optima(self, ids: list[str] | None = None) -> list[tuple[float, np.ndarray]]:
        """The futures' own optima (annualized net [USD/year], first stage [IT MW]); only those in ``ids``
        when given (the others are not built)."""
        if ids is None:
            return [m.own_optimum() for m in self._each()]
        wanted = set(ids)
        out = []
        for k, sc in enumerate(self.scenarios):
            if sc.id in wanted and (self.models[k] is not None or self.rebuild[k]):
                held = self.models[k]
                m = held if held is not None else self._rebuilt(k)
                out.append(m.own_optimum())
        return out

    def candidates(self, ys: list[np.ndarray]) -> list[CandidateNets]:
        """One pass over the futures: each one's own optimum and its net under every first stage of ``ys``."""
        out = []
        for m in self._each():
            nets = []
            for y in ys:
                e = m.evaluate(y)
                nets.append(e.net_usd_per_year if e.feasible else None)
            out.append(CandidateNets(m.own_optimum()[0], nets))
        return out
