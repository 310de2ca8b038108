"""``allocator decide``: one split for many futures, its candidates, VSS and EVPI, and their tables.

For each site (decided on its own): check the scenarios against the site,
load them (:mod:`allocator.whatif.decide_engine`), solve the two-stage program
(:func:`allocator.whatif.decide_program.solve_lshaped`), then evaluate every
candidate first stage the same way (first stage fixed, each scenario's second
stage optimized):

- ``stochastic``: the program's optimum;
- ``deterministic``: what ``allocator solve`` gives on the site file alone;
- ``scenario:<id>``: each scenario's own optimum (every explicit scenario, or the
  first 20 ids of a sampled set).

``VSS = objective(stochastic) - objective(deterministic)``;
``EVPI = sum_s p_s (scenario s's own optimum) - expected(stochastic)`` (risk-neutral only).
The run folder and the reports are written by :mod:`allocator.reports.decide`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InfeasibleError, InputError, Problem
from ..file_hash import sha256_file
from ..inputs import overrides
from ..inputs.site import load_site
from ..lp import diagnosis, model
from .decide_parallel import Scenarios
from .decide_program import Decision, FirstStage, cvar, in_tail, objective, solve_lshaped
from .decide_progress import Clock, Progress
from .decide_scenarios import ScenarioSet, forbidden_paths, read_scenarios

#: scenario candidates of a sampled set
SAMPLED_CANDIDATES = 20
CANDIDATE_COLUMNS = ("site_id", "candidate", "ai_it_mw", "mining_it_mw", "expected_net_usd_per_year",
                     "cvar_net_usd_per_year", "worst_net_usd_per_year", "objective_usd_per_year", "feasible")


@dataclass
class Candidate:
    """A first stage and its evaluation over every scenario (figures None when infeasible)."""

    name: str
    y_mw: np.ndarray | None  # None: no split (solve finds none on the site file alone)
    n_lease: int
    net_usd_per_year: np.ndarray | None
    weight: float
    alpha: float
    prob: np.ndarray

    @property
    def feasible(self) -> bool:
        return self.net_usd_per_year is not None

    def row(self, site_id: str) -> dict:
        net = self.net_usd_per_year
        feasible = net is not None
        y = self.y_mw
        return {
            "site_id": site_id, "candidate": self.name,
            "ai_it_mw": float(y[:self.n_lease].sum()) if y is not None else None,
            "mining_it_mw": float(y[self.n_lease:].sum()) if y is not None else None,
            "expected_net_usd_per_year": float(self.prob @ net) if feasible else None,
            "cvar_net_usd_per_year": cvar(net, self.prob, self.alpha) if feasible else None,
            "worst_net_usd_per_year": float(net.min()) if feasible else None,
            "objective_usd_per_year": objective(net, self.prob, self.weight, self.alpha) if feasible else None,
            "feasible": feasible,
        }


@dataclass
class SiteDecision:
    """Everything ``decide`` found for one site."""

    site_id: str
    site_file: Path
    first: FirstStage
    scenarios: ScenarioSet
    decision: Decision
    hours: list[int]
    candidates: list[Candidate]
    own_net_usd_per_year: np.ndarray
    weight: float
    alpha: float
    inputs_sha256: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the site file's input warnings (load_site)

    @property
    def prob(self) -> np.ndarray:
        return np.array([s.probability_frac for s in self.scenarios.scenarios])

    def candidate(self, name: str) -> Candidate | None:
        return next((c for c in self.candidates if c.name == name), None)

    @property
    def vss_usd_per_year(self) -> float | None:
        det = self.candidate("deterministic")
        if det is None or not det.feasible:
            return None
        sto = self.candidate("stochastic").row(self.site_id)["objective_usd_per_year"]
        return sto - det.row(self.site_id)["objective_usd_per_year"]

    @property
    def evpi_usd_per_year(self) -> float | None:
        if self.weight > 0:
            return None
        return float(self.prob @ self.own_net_usd_per_year - self.prob @ self.decision.net_usd_per_year)


def check_paths(site_path: Path, sset: ScenarioSet) -> tuple[list[Problem], set[str]]:
    """Bad or first-stage paths of every scenario against one site (each named once), and those paths."""
    raw = overrides.read_raw(site_path)
    problems: list[Problem] = []
    seen: set[str] = set()
    bad_paths: set[str] = set()
    sampled = set(sset.distributions.paths) if sset.distributions else set()
    for sc in sset.scenarios:
        for p in sc.values:
            if p in seen:
                continue
            seen.add(p)
            origin = "[sample]" if p in sampled else f"scenario {sc.explicit or sc.id}"
            found = []
            for bad in forbidden_paths([p]):
                found.append(Problem(f"{sset.path}: {origin}: {bad}", "adds, removes, bounds or scales a "
                                     "first-stage variable (a lease's or a fleet's IT MW, the halls, a PUE), "
                                     "which every scenario shares.",
                                     "Change it in the site file instead, or run decide once per value."))
            found += [Problem(f"{sset.path}: {origin}: {x.where}", x.message, x.fix)
                      for x in overrides.check_path(raw, p, str(site_path))]
            if found:
                bad_paths.add(p)
                problems += found
    return problems, bad_paths


def check_history(base, sset: ScenarioSet) -> list[Problem]:
    """The price history that ``[sample.prices]`` draws from, read once (its problems named once)."""
    from .decide_bootstrap import history_days

    if sset.prices is None:
        return []
    try:
        dates, _ = history_days(base, sset.prices)
    except InputError as err:
        return [Problem(f"{sset.path}: sample.prices ({p.where})", p.message, p.fix) for p in err.problems]
    if not dates:
        return [Problem(f"{sset.path}: sample.prices", f"the price history of {base.path} holds no whole "
                        "site-local day between history_start and history_end.",
                        "Widen history_start/history_end, or leave them out to use the whole price file.")]
    return []


def replaced_events(scenarios) -> set[int]:
    """Indices of the site file's curtailment events that some scenario sets itself (``curtailment[i]``)."""
    out = set()
    for sc in scenarios:
        for path in sc.values:
            m = re.match(r"^curtailment\[(\d+)\]", path.replace(" ", ""))
            if m:
                out.add(int(m.group(1)))
    return out


#: ids shown when many scenarios share one problem or warning
SHOWN_IDS = 5


def grouped(problems: list[Problem]) -> list[Problem]:
    """Problems that differ only by their scenario (``scenario <id>: ...``) said once, naming the scenarios."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for p in problems:
        sid, rest = (p.where[len("scenario "):].split(": ", 1) + [""])[:2] if p.where.startswith("scenario ") \
            else ("", p.where)
        groups.setdefault((rest, p.message, p.fix), []).append(sid)
    out = []
    for (rest, message, fix), ids in groups.items():
        ids = [i for i in dict.fromkeys(ids) if i]
        if not ids:
            out.append(Problem(rest, message, fix))
            continue
        shown = ", ".join(ids[:SHOWN_IDS]) + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
        label = "scenario" if len(ids) == 1 else "scenarios"
        out.append(Problem(f"{label} {shown}: {rest}" if rest else f"{label} {shown}", message, fix))
    return out


def decide_site(site_path: Path, sset: ScenarioSet, *, weight: float = 0.0, alpha: float = 0.1, workers: int = 1,
                time_limit_s: float | None = None, dask_scheduler: str | None = None,
                progress: Callable[[Progress], None] | None = None,
                memory_bytes: int | None = None) -> SiteDecision:
    """Decide one site over every scenario of ``sset``.

    Parameters
    ----------
    progress : callable, optional
        Called with a :class:`~allocator.whatif.decide_progress.Progress` as the futures are loaded,
        at each cutting-plane iteration and while the candidates are evaluated.
    memory_bytes : int, optional
        Most memory the futures held by one process may take (default
        :data:`~allocator.whatif.decide_engine.MEMORY_BYTES`) [bytes].

    Raises
    ------
    InputError
        A scenario is bad for this site (exit 1).
    InfeasibleError
        Some scenario's requirements conflict for every decision (exit 2), named.
    """
    from .decide_engine import MEMORY_BYTES

    site_path = Path(site_path)
    base = load_site(site_path)
    problems, bad_paths = check_paths(site_path, sset)
    history = check_history(base, sset)
    problems += history
    # the scenarios the checks above leave loadable are loaded too, so every problem is listed at once
    loadable = [] if history else [s for s in sset.scenarios if not bad_paths & set(s.values)]
    prob = np.array([s.probability_frac for s in sset.scenarios])
    clock = Clock(base.id, len(loadable), progress or (lambda _: None))
    clock.start("loading")
    with Scenarios(str(site_path), loadable, sset.prices, sset.seed, workers, time_limit_s,
                   memory_bytes=MEMORY_BYTES if memory_bytes is None else memory_bytes,
                   dask_scheduler=dask_scheduler, progress=clock.tick) as sc:
        infos = sc.infos
        problems += grouped([p for info in infos for p in info.problems])
        covered = {i for info in infos for i in info.events}
        covered |= replaced_events(loadable)  # a scenario that replaces an event accounts for it
        if not problems:
            for i, event in enumerate(base.config.curtailment):
                if i not in covered:
                    problems.append(Problem(f"{site_path}: curtailment[{i}]", f"the event {event.start} to {event.end} "
                                            "overlaps no scenario's hours.",
                                            "Fix its dates, or remove it, or add a scenario that covers it."))
        if problems:
            raise InputError(problems, f"{sset.path} for {site_path}")
        conflicts = grouped([p for info in infos for p in info.conflicts])
        if conflicts:
            raise InfeasibleError(conflicts, base.id)
        first = FirstStage.of(base, min(info.min_cap_mw for info in infos))
        decision = solve_lshaped(first, sc, prob, weight, alpha, time_limit_s=time_limit_s, clock=clock)
        candidates, own_net = _candidates(base, sset, first, decision, sc, prob, weight, alpha, clock)
    inputs = base.file_sha256()
    for path in sorted({f for info in infos for f in info.files} - set(inputs)):
        inputs[path] = sha256_file(path)[0]
    warnings = [str(w) for w in base.warnings] + [str(w) for w in grouped([w for i in infos for w in i.warnings])]
    return SiteDecision(base.id, site_path, first, sset, decision, [info.hours for info in infos], candidates,
                        own_net, weight, alpha, inputs, warnings)


def _candidates(base, sset: ScenarioSet, first: FirstStage, decision: Decision, sc: Scenarios, prob: np.ndarray,
                weight: float, alpha: float, clock: Clock) -> tuple[list[Candidate], np.ndarray]:
    """Every candidate split evaluated over every future (one pass), and each future's own optimum."""
    n_lease = first.n_lease
    ids = [s.id for s in sset.scenarios]
    chosen = ids if sset.count == 0 else ids[:SAMPLED_CANDIDATES]
    named: list[tuple[str, np.ndarray | None]] = [("stochastic", decision.y_mw)]
    named.append(("deterministic", deterministic_split(base)))
    named += [(f"scenario:{sid}", np.asarray(y, float)) for sid, (_, y) in zip(chosen, sc.own_optima(chosen))]
    # each distinct split that meets the first-stage rows is evaluated once; the stochastic one already was
    distinct: dict[bytes, int] = {}
    for _, y in named[1:]:
        if y is not None and first.holds(y) and y.tobytes() != decision.y_mw.tobytes():
            distinct.setdefault(np.asarray(y, float).tobytes(), len(distinct))
    ys = [np.frombuffer(key) for key in distinct]
    clock.start("candidates")
    passed = sc.candidates(ys)
    own_net = np.array([c.own_net_usd_per_year for c in passed])
    out = []
    for name, y in named:
        if y is None:  # solve finds no split on the site file alone
            out.append(Candidate(name, None, n_lease, None, weight, alpha, prob))
            continue
        if y.tobytes() == decision.y_mw.tobytes():
            net = decision.net_usd_per_year
        elif y.tobytes() in distinct:
            k = distinct[y.tobytes()]
            nets = [c.net_usd_per_year[k] for c in passed]
            net = None if any(n is None for n in nets) else np.array(nets, float)
        else:  # breaks a first-stage row (e.g. the firm AI row in another future's hours)
            net = None
        out.append(Candidate(name, np.asarray(y, float), n_lease, net, weight, alpha, prob))
    return out, own_net


def deterministic_split(site) -> np.ndarray | None:
    """The first stage ``allocator solve`` gives on the site file alone (None when it is infeasible)."""
    from ..lp.solve import solve_model

    if diagnosis.conflicts(site):
        return None
    lp = model.build([site], name=site.id)
    sol = solve_model(lp)
    block = lp.blocks[0]
    return sol.col_value[np.concatenate([block.lease_cols, block.fleet_cols])]


# ------------------------------------------------------------------ tables


def decision_table(found: list[SiteDecision]) -> pd.DataFrame:
    rows = []
    for d in found:
        y = d.decision.y_mw
        for (kind, name), mw in zip(d.first.names, y):
            rows.append({"site_id": d.site_id, "kind": kind, "name": name, "it_mw": float(mw)})
        rows.append({"site_id": d.site_id, "kind": "total", "name": "ai", "it_mw": float(y[:d.first.n_lease].sum())})
        rows.append({"site_id": d.site_id, "kind": "total", "name": "mining",
                     "it_mw": float(y[d.first.n_lease:].sum())})
    return pd.DataFrame(rows, columns=["site_id", "kind", "name", "it_mw"])


def scenarios_table(found: list[SiteDecision]) -> pd.DataFrame:
    frames = []
    for d in found:
        sset = d.scenarios
        net = d.decision.net_usd_per_year
        ids = [s.id for s in sset.scenarios]
        mining_mw = float(d.decision.y_mw[d.first.n_lease:].sum())
        energy = d.decision.mining_energy_mwh
        hours = np.array(d.hours, float)
        uptime = energy / (mining_mw * hours) if mining_mw > 0 else np.zeros(len(ids))
        table = {"site_id": d.site_id, "scenario_id": ids, "probability_frac": d.prob}
        for col in sset.columns:
            table[col] = [_cell(s.values.get(col)) for s in sset.scenarios]
        table.update({"hours": d.hours, "net_usd_per_year": net, "mining_energy_mwh": energy,
                      "mining_uptime_frac": uptime, "in_tail": in_tail(net, d.prob, ids, d.alpha)})
        frames.append(pd.DataFrame(table))
    return pd.concat(frames, ignore_index=True)


def _cell(value):
    """A scenario value as its scenarios.csv cell: numbers and text as they are, tables as TOML inline tables."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_cell_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell_toml(v) for v in value) + "]"
    return value


def _cell_toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_cell(value))


def candidates_table(found: list[SiteDecision]) -> pd.DataFrame:
    return pd.DataFrame([c.row(d.site_id) for d in found for c in d.candidates], columns=list(CANDIDATE_COLUMNS))


def summary_table(found: list[SiteDecision]) -> pd.DataFrame:
    rows = []
    for d in found:
        for metric, value in (("risk_alpha_frac", d.alpha), ("risk_weight_frac", d.weight),
                              ("scenarios", len(d.scenarios.scenarios)), ("vss_usd_per_year", d.vss_usd_per_year),
                              ("evpi_usd_per_year", d.evpi_usd_per_year),
                              ("optimality_gap_frac", d.decision.gap_frac)):
            rows.append({"site_id": d.site_id, "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=["site_id", "metric", "value"], dtype=object)


def decide(sites: list[str | Path], scenarios: str | Path, *, samples: int | None = None, seed: int | None = None,
           risk_alpha: float = 0.1, risk_weight: float = 0.0, workers: int = 1, time_limit_s: float | None = None,
           dask_scheduler: str | None = None, progress: Callable[[Progress], None] | None = None,
           ) -> tuple[list[SiteDecision], ScenarioSet]:
    """Decide every site over the scenario file (the API behind ``allocator decide``)."""
    problems = []
    if not 0.0 <= risk_weight <= 1.0:
        problems.append(Problem("--risk-weight", f"= {risk_weight:g} is outside [0, 1].", "Use e.g. 0.5."))
    if not 0.0 < risk_alpha <= 1.0:
        problems.append(Problem("--risk-alpha", f"= {risk_alpha:g} is outside (0, 1].", "Use e.g. 0.1."))
    ids = [Path(p).stem for p in sites]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem("SITES", f"site id {dup!r} appears twice.", "Give each site file once."))
    if problems:
        raise InputError(problems, "the decide options")
    sset = read_scenarios(scenarios, samples, seed)
    found = []
    for path in sites:
        found.append(decide_site(Path(path), sset, weight=risk_weight, alpha=risk_alpha, workers=workers,
                                 time_limit_s=time_limit_s, dask_scheduler=dask_scheduler, progress=progress))
    return found, sset


__all__ = ["SiteDecision", "candidates_table", "decide", "decide_site", "decision_table", "scenarios_table",
           "summary_table"]
