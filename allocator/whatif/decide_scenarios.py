"""The scenario file of ``allocator decide``: explicit scenarios, Monte Carlo samples, their product.

A scenario is a set of site-file overrides (dotted paths as ``--set`` takes
them) with a probability, and optionally a sampled price path
(:mod:`allocator.whatif.decide_bootstrap`)::

    description = "Price years x BTC 2027"

    [[scenario]]
    name = "y2023"              # [a-z0-9_]+, unique
    probability = 0.3           # all or none; sum to 1
    [scenario.set]
    "prices.start" = "2023-01-01"

    [sample]
    count = 200                 # --samples overrides
    seed = 7                    # --seed overrides
    distributions = "btc_2027.toml"   # or [[sample.param]] / [[sample.correlation]] inline
    [sample.prices]             # block bootstrap of the site's own price history
    method = "block_bootstrap"
    block_days = 7

Explicit only: those scenarios (equal probabilities if none given). Samples
only: ``count`` equally likely ones. Both: every explicit scenario with every
sample, probability ``p_e / count``. Ids: ``name``, ``s00001``, ``name/s00001``.

A scenario may not touch the first stage (the leases and fleets and their
bounds, the halls, the PUEs): :data:`FIRST_STAGE_PATH` refuses such paths by
name and :func:`first_stage_changes` refuses a change that arrives through a
default (e.g. ``site.interconnect_mw`` when ``facility_mw`` defaults to it).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .distributions import Distributions, parse_distributions, read_distributions
from ..errors import InputError, Problem
from ..inputs.overrides import _INDEX, parse_path
from ..inputs.schema import read_toml

NAME = re.compile(r"^[a-z0-9_]+$")
#: paths that add, remove, bound or scale a first-stage variable (a lease's or a fleet's IT MW)
FIRST_STAGE_PATH = re.compile(
    r"^(site|ai|mining|ai\.lease(\[\d+\](\.(min_mw|max_mw))?)?|mining\.fleet(\[\d+\](\.mw)?)?"
    r"|site\.facility_mw|ai\.convertible_mw|ai\.pue|mining\.pue)$")
#: how far the probabilities of explicit scenarios may sum from 1
PROBABILITY_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PriceSampling:
    """``[sample.prices]``: block bootstrap of the site's own price history.

    Attributes
    ----------
    block_days : int
        Whole site-local days per block.
    history_start, history_end : str or None
        Window of the history drawn from (site time); None: the whole price file.
    """

    block_days: int = 7
    history_start: str | None = None
    history_end: str | None = None


@dataclass(frozen=True)
class Scenario:
    """One future: overrides, probability, and the number of its sampled price path (if any).

    Attributes
    ----------
    id : str
        ``name``, ``s00001`` or ``name/s00001``.
    probability_frac : float
    values : dict[str, Any]
        Dotted path -> value: the explicit scenario's ``set`` first, then the sampled values.
    price_sample : int or None
        Index of the bootstrapped price path (None: the site's own prices).
    explicit : str or None
        Name of the explicit scenario it comes from.
    """

    id: str
    probability_frac: float
    values: dict[str, Any]
    price_sample: int | None = None
    explicit: str | None = None


@dataclass
class ScenarioSet:
    """Every scenario of a scenario file, with what made them (for the manifest)."""

    path: Path
    description: str
    scenarios: list[Scenario]
    columns: list[str]
    seed: int | None = None
    distributions_path: Path | None = None
    distributions: Distributions | None = None
    prices: PriceSampling | None = None
    count: int = 0
    where_of: dict[str, str] = field(default_factory=dict)  # path -> where it was set (for errors)

    @property
    def sampled_ids(self) -> list[str]:
        """Ids of the sampled scenarios (empty when the file samples nothing)."""
        return [s.id for s in self.scenarios if s.explicit is None or "/" in s.id]


def _plain(value: Any) -> Any:
    """TOML dates and times as the text a site file holds."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _flatten(table: dict, prefix: str, where: str, problems: list[Problem]) -> dict[str, Any]:
    """``[scenario.set]`` as dotted path -> value (nested tables and quoted dotted keys alike)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and not _INDEX.search(key):
            out.update(_flatten(value, dotted, where, problems))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            problems.append(Problem(f"{where}.{dotted}", "an array of tables would replace the whole list.",
                                    f'Set single entries with quoted keys, e.g. "{dotted}[0].field" = value.'))
        else:
            out[dotted] = _plain(value)
    return out


def _int(value: Any, name: str, where: str, low: int, problems: list[Problem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        problems.append(Problem(f"{where}.{name}", f"= {value!r} is not an integer >= {low}.",
                                f"Write e.g. {name} = {max(low, 1)}."))
        return None
    return value


def read_scenarios(path: str | Path, samples: int | None = None, seed: int | None = None) -> ScenarioSet:
    """Read and check a scenario file; raise :class:`InputError` listing every problem.

    Parameters
    ----------
    path : str or Path
        The scenario file (TOML).
    samples : int, optional
        ``--samples``: overrides ``[sample] count``.
    seed : int, optional
        ``--seed``: overrides ``[sample] seed`` and the distributions file's seed.
    """
    path = Path(path)
    where = str(path)
    doc = read_toml(path, "Check the --scenarios path.")
    problems: list[Problem] = []
    for key in sorted(set(doc) - {"description", "scenario", "sample"}):
        problems.append(Problem(f"{where}: {key}", "unknown key.", "Known keys: description, scenario, sample."))
    description = doc.get("description", "")
    explicit = _read_explicit(doc.get("scenario", []), where, problems)
    sample = doc.get("sample")
    dists = dist_path = prices = None
    count, sample_seed = 0, None
    if sample is not None:
        if not isinstance(sample, dict):
            problems.append(Problem(f"{where}: sample", "is not a table.", "Write a [sample] table."))
        else:
            count, sample_seed, dists, dist_path, prices = _read_sample(sample, path, samples, seed, problems)
    else:
        for option, value in (("--samples", samples), ("--seed", seed)):
            if value is not None:
                problems.append(Problem(f"{where}", f"{option} is given but the file has no [sample] table.",
                                        f"Add a [sample] table (distributions or prices) or drop {option}."))
    if not explicit and sample is None:
        problems.append(Problem(where, "defines no scenario.", "Add [[scenario]] tables or a [sample] table."))
    if problems:
        raise InputError(problems, where)
    scenarios, columns = _combine(explicit, count, dists, sample_seed, prices)
    return ScenarioSet(path, description, scenarios, columns, sample_seed, dist_path, dists, prices, count)


def _read_explicit(entries: Any, where: str, problems: list[Problem]) -> list[tuple[str, float | None, dict]]:
    out: list[tuple[str, float | None, dict]] = []
    if not isinstance(entries, list):
        problems.append(Problem(f"{where}: scenario", "is not an array of tables.", "Write [[scenario]] tables."))
        return out
    for i, entry in enumerate(entries):
        place = f"{where}: scenario[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(place, "is not a table.", "Write [[scenario]] tables."))
            continue
        for key in sorted(set(entry) - {"name", "probability", "set"}):
            problems.append(Problem(f"{place}.{key}", "unknown key.", "A scenario takes name, probability and set."))
        name = entry.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(Problem(f"{place}.name", f"= {name!r} is not a name of [a-z0-9_]+.",
                                    'Write e.g. name = "y2024".'))
            name = None
        prob = entry.get("probability")
        if prob is not None and (isinstance(prob, bool) or not isinstance(prob, int | float)
                                 or not math.isfinite(prob) or prob <= 0):
            problems.append(Problem(f"{place}.probability", f"= {prob!r} is not a number > 0.",
                                    "Give a probability in (0, 1], or leave every scenario's out (equal)."))
            prob = None
        table = entry.get("set", {})
        if not isinstance(table, dict):
            problems.append(Problem(f"{place}.set", "is not a table.", 'Write [scenario.set] "path" = value.'))
            table = {}
        values = _flatten(table, "", f"{place}.set", problems)
        for p in values:
            try:
                parse_path(p)
            except ValueError as err:
                problems.append(Problem(f"{place}.set.{p}", f"{err}.", "Use field names joined by dots, items as [0]."))
        if name is not None:
            out.append((name, float(prob) if prob is not None else None, values))
    names = [n for n, _, _ in out]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(f"{where}: scenario", f"name {dup!r} appears twice.", "Give each scenario its own name."))
    given = [p for _, p, _ in out if p is not None]
    if given and len(given) != len(out):
        problems.append(Problem(f"{where}: scenario", f"{len(given)} of {len(out)} scenarios give a probability.",
                                "Give every scenario a probability, or none (equally likely)."))
    elif given and abs(sum(given) - 1.0) > PROBABILITY_TOLERANCE:
        problems.append(Problem(f"{where}: scenario", f"the probabilities sum to {sum(given):.12g}, not 1.",
                                "Make them sum to 1."))
    return out


def _read_sample(sample: dict, path: Path, samples: int | None, seed: int | None, problems: list[Problem]):
    where = f"{path}: sample"
    known = {"count", "seed", "distributions", "param", "correlation", "prices"}
    for key in sorted(set(sample) - known):
        problems.append(Problem(f"{where}.{key}", "unknown key.", f"[sample] takes {', '.join(sorted(known))}."))
    count = samples if samples is not None else sample.get("count")
    if count is None:
        problems.append(Problem(f"{where}.count", "is missing.", "Write count = 200 or pass --samples N."))
    elif samples is None:
        count = _int(count, "count", where, 1, problems)
    file_seed = sample.get("seed")
    if file_seed is not None:
        file_seed = _int(file_seed, "seed", where, 0, problems)
    dists = dist_path = None
    if "distributions" in sample:
        if "param" in sample or "correlation" in sample:
            problems.append(Problem(where, "gives both a distributions file and inline [[sample.param]] tables.",
                                    "Keep one of them."))
        name = sample["distributions"]
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(f"{where}.distributions", f"= {name!r} is not a file name.",
                                    'Write e.g. distributions = "btc_2027.toml" (relative to this file).'))
        else:
            dist_path = (path.parent / name).resolve()
            try:
                dists = read_distributions(dist_path)
            except InputError as err:
                problems += err.problems
    elif "param" in sample:
        inline = {k: sample[k] for k in ("param", "correlation") if k in sample}
        try:
            dists = parse_distributions(inline, where)
        except InputError as err:
            problems += err.problems
    prices = None
    if "prices" in sample:
        prices = _read_prices(sample["prices"], f"{where}.prices", problems)
    if dists is None and prices is None and not any(p.where.startswith(where) for p in problems):
        problems.append(Problem(where, "samples nothing.",
                                "Give distributions = \"file.toml\", [[sample.param]] tables or [sample.prices]."))
    chosen = seed if seed is not None else file_seed if file_seed is not None else (dists.seed if dists else 0)
    return count or 0, chosen, dists, dist_path, prices


def _read_prices(table: Any, where: str, problems: list[Problem]) -> PriceSampling | None:
    if not isinstance(table, dict):
        problems.append(Problem(where, "is not a table.", "Write a [sample.prices] table."))
        return None
    known = {"method", "block_days", "history_start", "history_end"}
    for key in sorted(set(table) - known):
        problems.append(Problem(f"{where}.{key}", "unknown key.", f"[sample.prices] takes {', '.join(sorted(known))}."))
    if table.get("method", "block_bootstrap") != "block_bootstrap":
        problems.append(Problem(f"{where}.method", f"= {table.get('method')!r} is not a known method.",
                                'Use method = "block_bootstrap".'))
    days = _int(table.get("block_days", 7), "block_days", where, 1, problems)
    bounds = []
    for key in ("history_start", "history_end"):
        value = _plain(table.get(key))
        if value is not None and not isinstance(value, str):
            problems.append(Problem(f"{where}.{key}", f"= {value!r} is not a date.", f'Write e.g. {key} = "2023-07-01".'))
            value = None
        bounds.append(value)
    return PriceSampling(days or 7, bounds[0], bounds[1])


def _combine(explicit, count: int, dists: Distributions | None, seed: int | None,
             prices: PriceSampling | None) -> tuple[list[Scenario], list[str]]:
    """The scenarios: explicit, sampled, or their product; and the overridden/sampled paths."""
    columns: list[str] = []
    for _, _, values in explicit:
        columns += [p for p in values if p not in columns]
    draws: list[dict[str, Any]] = []
    if count:
        if dists is not None:
            matrix = dists.sample(count, seed)
            columns += [p for p in dists.paths if p not in columns]
            draws = [dict(zip(dists.paths, (float(x) for x in row))) for row in matrix]
        else:
            draws = [{} for _ in range(count)]
    width = max(5, len(str(count)))
    sample_ids = [f"s{i + 1:0{width}d}" for i in range(count)]
    n_e = len(explicit)
    probs = [p if p is not None else 1.0 / n_e for _, p, _ in explicit]
    out: list[Scenario] = []
    price_sample = (lambda k: k) if prices is not None else (lambda k: None)
    if not count:
        out = [Scenario(name, p, dict(values), None, name) for (name, _, values), p in zip(explicit, probs)]
    elif not explicit:
        out = [Scenario(sid, 1.0 / count, dict(d), price_sample(k)) for k, (sid, d) in enumerate(zip(sample_ids, draws))]
    else:
        for (name, _, values), p in zip(explicit, probs):
            out += [Scenario(f"{name}/{sid}", p / count, {**values, **d}, price_sample(k), name)
                    for k, (sid, d) in enumerate(zip(sample_ids, draws))]
    return out, columns


def forbidden_paths(paths: list[str]) -> list[str]:
    """The paths among ``paths`` that add, remove, bound or scale a first-stage variable."""
    return [p for p in paths if FIRST_STAGE_PATH.match(p.replace(" ", ""))]


def first_stage_signature(config) -> dict[str, Any]:
    """What fixes the first stage of a site config: lease and fleet counts and bounds, halls, PUEs."""
    ai = config.ai
    sig: dict[str, Any] = {
        "site.facility_mw": config.facility_mw,
        "mining.pue": config.mining.pue,
        "mining.fleet": len(config.mining.fleet),
    }
    for i, fleet in enumerate(config.mining.fleet):
        sig[f"mining.fleet[{i}].mw"] = fleet.mw
    if ai is not None:
        sig.update({"ai.pue": ai.pue, "ai.convertible_mw": ai.convertible_mw, "ai.lease": len(ai.lease)})
        for i, lease in enumerate(ai.lease):
            sig[f"ai.lease[{i}].min_mw"] = lease.min_mw
            sig[f"ai.lease[{i}].max_mw"] = config.lease_max_mw(lease)
    else:
        sig["ai"] = None
    return sig


def first_stage_changes(base, config) -> list[str]:
    """First-stage fields whose value differs between two site configs."""
    a, b = first_stage_signature(base), first_stage_signature(config)
    return [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]


__all__ = ["PriceSampling", "Scenario", "ScenarioSet", "first_stage_changes", "forbidden_paths", "read_scenarios"]
