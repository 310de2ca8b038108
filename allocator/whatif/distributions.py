"""Monte Carlo inputs: named distributions of site fields, optionally correlated.

A distributions file (TOML) names each sampled field by its dotted path::

    seed = 2027

    [[param]]
    path = "mining.hashprice.btc_price_usd"
    dist = "lognormal"          # median, sigma (of the log)
    median = 150000.0
    sigma = 0.45

    [[param]]
    path = "mining.hashprice.difficulty"
    dist = "normal"             # mean, sd
    mean = 1.6e14
    sd = 2.0e13

    [[correlation]]
    params = ["mining.hashprice.btc_price_usd", "mining.hashprice.difficulty"]
    rho = 0.7

``uniform`` takes ``low, high``; ``triangular`` takes ``low, mode, high``.
Correlation is a Gaussian copula: every parameter is drawn from a standard
normal, the normals are correlated by ``rho`` (Cholesky of the correlation
matrix), and each is mapped through its distribution's inverse CDF. For a
normal or lognormal pair, ``rho`` is the correlation of the values (normal) or
of their logarithms (lognormal). Samples are reproducible: the same file,
seed and sample count give the same scenarios, in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, Problem
from ..inputs.overrides import parse_path
from ..inputs.schema import read_toml

PARAMETERS = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
}


@dataclass(frozen=True)
class Distribution:
    """One sampled field."""

    path: str
    dist: str
    args: dict[str, float]

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """Map standard normal draws to this distribution (inverse CDF of Phi(z))."""
        a = self.args
        if self.dist == "normal":
            return a["mean"] + a["sd"] * z
        if self.dist == "lognormal":
            return a["median"] * np.exp(a["sigma"] * z)
        u = _phi(z)
        if self.dist == "uniform":
            return a["low"] + (a["high"] - a["low"]) * u
        low, mode, high = a["low"], a["mode"], a["high"]
        width = high - low
        split = (mode - low) / width if width > 0 else 0.0
        left = low + np.sqrt(u * width * (mode - low))
        right = high - np.sqrt((1.0 - u) * width * (high - mode))
        return np.where(u < split, left, right)


@dataclass(frozen=True)
class Distributions:
    """Every sampled field, the correlation matrix of their normals and the seed."""

    params: tuple[Distribution, ...]
    correlation: np.ndarray
    seed: int

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.params]

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``(n, k)`` draws, one column per parameter, in file order."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        z = rng.standard_normal((n, len(self.params)))
        z = z @ np.linalg.cholesky(self.correlation).T
        return np.column_stack([p.from_normal(z[:, j]) for j, p in enumerate(self.params)]) if self.params \
            else np.zeros((n, 0))

    def definition(self) -> dict:
        """A JSON-able description (for the sweep's resume check)."""
        return {"seed": self.seed, "params": [{"path": p.path, "dist": p.dist, **p.args} for p in self.params],
                "correlation": self.correlation.tolist()}


def _phi(z: np.ndarray) -> np.ndarray:
    erf = np.frompyfunc(math.erf, 1, 1)
    return 0.5 * (1.0 + erf(np.asarray(z, dtype=float) / math.sqrt(2.0)).astype(float))


def read_distributions(path: Path) -> Distributions:
    """Read and check a distributions file; raise :class:`InputError` listing every problem."""
    return parse_distributions(read_toml(Path(path), "Check the --distributions path."), str(path))


def parse_distributions(doc: dict, where: str, extra_keys: frozenset[str] = frozenset()) -> Distributions:
    """Check a distributions document (a file's, or a scenario file's ``[sample]`` table).

    ``extra_keys`` are keys the caller reads itself (not reported as unknown).
    """
    problems: list[Problem] = []
    unknown = set(doc) - {"seed", "param", "correlation", "description", *extra_keys}
    for key in sorted(unknown):
        problems.append(Problem(f"{where}: {key}", "unknown key.", "Known keys: seed, param, correlation, description."))
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        problems.append(Problem(f"{where}: seed", f"= {seed!r} is not a non-negative integer.", "Use e.g. seed = 1."))
        seed = 0
    params: list[Distribution] = []
    for i, entry in enumerate(doc.get("param", [])):
        place = f"{where}: param[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(place, "is not a table.", "Write [[param]] tables."))
            continue
        path_text, dist = entry.get("path"), entry.get("dist")
        try:
            parse_path(str(path_text))
        except ValueError:
            problems.append(Problem(f"{place}.path", f"= {path_text!r} is not a dotted path.",
                                    'Write e.g. path = "mining.hashprice_usd_per_ph_day".'))
            continue
        if dist not in PARAMETERS:
            problems.append(Problem(f"{place}.dist", f"= {dist!r} is not a known distribution.",
                                    f"Use one of {', '.join(PARAMETERS)}."))
            continue
        names = PARAMETERS[dist]
        extra = set(entry) - {"path", "dist", *names}
        if extra:
            problems.append(Problem(place, f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(sorted(extra))} "
                                           f"for a {dist} distribution.", f"A {dist} takes {', '.join(names)}."))
        args = {}
        for name in names:
            value = entry.get(name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                problems.append(Problem(f"{place}.{name}", f"= {value!r}: a {dist} needs a finite number here.",
                                        f"A {dist} takes {', '.join(names)}."))
            else:
                args[name] = float(value)
        if len(args) == len(names):
            problems += _check_args(place, dist, args)
            params.append(Distribution(str(path_text), dist, args))
    if not doc.get("param"):
        problems.append(Problem(where, "no [[param]] to sample.", "Add a [[param]] table with path and dist."))
    paths = [p.path for p in params]
    for dup in sorted({p for p in paths if paths.count(p) > 1}):
        problems.append(Problem(f"{where}: param", f"{dup} is sampled twice.", "Keep one [[param]] per path."))
    corr = np.eye(len(params))
    for i, entry in enumerate(doc.get("correlation", [])):
        place = f"{where}: correlation[{i}]"
        pair, rho = entry.get("params"), entry.get("rho")
        if not (isinstance(pair, list) and len(pair) == 2 and all(p in paths for p in pair) and pair[0] != pair[1]):
            problems.append(Problem(f"{place}.params", f"= {pair!r} must name two different sampled paths.",
                                    f"Use two of {', '.join(paths)}."))
            continue
        if not isinstance(rho, int | float) or not -1.0 < rho < 1.0:
            problems.append(Problem(f"{place}.rho", f"= {rho!r} must be a number strictly between -1 and 1.",
                                    "Use e.g. rho = 0.7."))
            continue
        a, b = paths.index(pair[0]), paths.index(pair[1])
        corr[a, b] = corr[b, a] = float(rho)
    if not problems:
        try:
            np.linalg.cholesky(corr)
        except np.linalg.LinAlgError:
            problems.append(Problem(f"{where}: correlation", "the correlations are not consistent "
                                    "(the matrix is not positive definite).", "Weaken some rho values."))
    if problems:
        raise InputError(problems, where)
    return Distributions(tuple(params), corr, seed)


def _check_args(place: str, dist: str, a: dict[str, float]) -> list[Problem]:
    if dist == "normal" and a["sd"] < 0:
        return [Problem(f"{place}.sd", f"= {a['sd']:g} is negative.", "Use sd >= 0.")]
    if dist == "lognormal" and (a["median"] <= 0 or a["sigma"] < 0):
        return [Problem(place, "a lognormal needs median > 0 and sigma >= 0.", "Fix median or sigma.")]
    if dist == "uniform" and a["high"] < a["low"]:
        return [Problem(place, f"low {a['low']:g} is above high {a['high']:g}.", "Swap them.")]
    if dist == "triangular" and not a["low"] <= a["mode"] <= a["high"]:
        return [Problem(place, "a triangular needs low <= mode <= high.", "Fix low, mode or high.")]
    return []
