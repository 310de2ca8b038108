"""Breakevens and sensitivity: where the split changes as one parameter moves.

A breakeven search scans ``points`` evenly spaced values of one site field
between ``low`` and ``high``, then bisects every interval whose ends give a
different split (AI IT MW, mining IT MW, or status) until it is narrower
than ``tolerance``: the true change point lies within ``tolerance / 2`` of the
reported value (a change narrower than the scan step can be missed; raise
``points`` to look closer). Every solve goes through :func:`runner`'s
:class:`allocator.whatif.reuse.SiteScenarios`: by the structured cutting planes
where they cover the site (their cuts kept while the value moved leaves the
hourly data as they were, e.g. a lease rate or a cost), else by the site's HiGHS
model kept between solves; the same optimum either way.

Sensitivity (tornado data) solves each parameter at its low, base and high
value, the others at base.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, Problem
from ..inputs.overrides import check_path, value_at
from .reuse import Outcome, SiteScenarios

#: splits closer than this are the same split [MW]
SPLIT_TOLERANCE_MW = 0.01
#: more changes than this in one range: the split moves continuously
MAX_CHANGES = 12

DEFAULT_PARAMETERS = (
    "mining.hashprice_usd_per_ph_day", "mining.hashprice.btc_price_usd", "mining.hashprice.difficulty",
    "prices.adder_usd_per_mwh", "ai.lease[*].rate_usd_per_kw_month", "ai.fitout_capex_usd_per_mw",
    "ai.opex_usd_per_mw_year", "mining.opex_usd_per_mw_year", "mining.pool_fee_frac",
)

SENSITIVITY_COLUMNS = ("site_id", "parameter", "level", "value", "ai_it_mw", "mining_it_mw", "net_usd", "status")
BREAKEVEN_COLUMNS = ("site_id", "parameter", "breakeven_value", "tolerance", "below_ai_it_mw",
                     "below_mining_it_mw", "above_ai_it_mw", "above_mining_it_mw")


@dataclass
class Change:
    """One breakeven: the split differs at ``below`` and ``above``, ``above - below <= tolerance``."""

    below: float
    above: float
    before: Outcome
    after: Outcome

    @property
    def value(self) -> float:
        return 0.5 * (self.below + self.above)


@dataclass
class Search:
    """The result of a breakeven search over ``[low, high]``."""

    site_id: str
    parameter: str
    base: float
    low: float
    high: float
    tolerance: float
    changes: list[Change] = field(default_factory=list)
    continuous: bool = False
    at_low: Outcome | None = None
    at_high: Outcome | None = None
    convertible_mw: float = 0.0
    solves: int = 0

    def sentence(self) -> str:
        """The search in words, e.g. ``below $41.7/PH/day AI takes ...; above it mining keeps 60 MW``."""
        f = lambda v: format_value(self.parameter, v, self.tolerance)  # noqa: E731
        d = lambda o: describe(o, self.convertible_mw)  # noqa: E731
        if self.continuous:
            return (f"the split moves continuously between {f(self.low)} and {f(self.high)}: "
                    f"at {f(self.low)} {d(self.at_low)}; at {f(self.high)} {d(self.at_high)}")
        if not self.changes:
            return f"no change between {f(self.low)} and {f(self.high)}: {d(self.at_low)}"
        parts = [f"below {f(self.changes[0].value)} {d(self.changes[0].before)}"]
        for prev, nxt in zip(self.changes, self.changes[1:]):
            parts.append(f"between {f(prev.value)} and {f(nxt.value)} {d(prev.after)}")
        last = self.changes[-1]
        parts.append(f"above {'it' if len(self.changes) == 1 else f(last.value)} {d(last.after)}")
        return "; ".join(parts)

    def rows(self) -> list[dict[str, Any]]:
        return [{"site_id": self.site_id, "parameter": self.parameter, "breakeven_value": c.value,
                 "tolerance": self.tolerance,
                 "below_ai_it_mw": c.before.split.get("ai_it_mw"), "below_mining_it_mw": c.before.split.get("mining_it_mw"),
                 "above_ai_it_mw": c.after.split.get("ai_it_mw"), "above_mining_it_mw": c.after.split.get("mining_it_mw")}
                for c in self.changes]


def runner(path, solver: str = "auto") -> SiteScenarios:
    """The solver of one site's breakeven searches and sensitivities (``solver``: ``"auto"``, the
    structured cutting planes where :func:`allocator.lp.structured.not_covered` accepts the scenario and
    HiGHS for the rest, or ``"highs"``). ``runner.methods`` counts the solves per method."""
    return SiteScenarios(path, solver=solver)


def same_split(a: Outcome, b: Outcome) -> bool:
    """Same status and AI / mining IT MW within :data:`SPLIT_TOLERANCE_MW`."""
    if a.status != b.status:
        return False
    if a.status != "optimal":
        return True
    return all(abs(a.split[k] - b.split[k]) <= SPLIT_TOLERANCE_MW for k in ("ai_it_mw", "mining_it_mw"))


def base_value(runner: SiteScenarios, parameter: str) -> float | None:
    """The parameter's value in the site (defaults applied); a flat hashprice defaults to the
    mean of the site's hourly hashprice, a lease's max_mw to ai.convertible_mw."""
    value = value_at(runner.base.config, parameter)
    if value is None and parameter == "mining.hashprice_usd_per_ph_day":
        return float(np.mean(runner.base.hashprice_usd_per_ph_day))
    if value is None and parameter.startswith("ai.lease[") and parameter.endswith(".max_mw"):
        return float(runner.base.config.ai.convertible_mw)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def search(runner: SiteScenarios, parameter: str, low: float, high: float, tolerance: float | None = None,
           points: int = 21, base: float | None = None) -> Search:
    """Find every value of ``parameter`` in ``[low, high]`` where the split changes.

    Parameters
    ----------
    runner : SiteScenarios
        The site.
    parameter : str
        Dotted path of a numeric site field.
    low, high : float
        The range searched, in the parameter's unit.
    tolerance : float, optional
        Width of the final bracket around each change, in the parameter's unit; default
        ``(high - low) / 1000``.
    points : int
        Values scanned before bisecting (>= 2).
    """
    if not high > low:
        raise ValueError("high must be above low")
    tol = tolerance if tolerance is not None else (high - low) / 1000.0
    cfg = runner.base.config
    out = Search(runner.site_id, parameter, base if base is not None else low, low, high, tol,
                 convertible_mw=cfg.ai.convertible_mw if cfg.ai else 0.0)

    def solve(v: float) -> Outcome:
        out.solves += 1
        return runner.run({parameter: float(v)})

    values = np.linspace(low, high, max(2, points))
    scan = [solve(v) for v in values]
    out.at_low, out.at_high = scan[0], scan[-1]
    changes: list[Change] = []

    def refine(a: float, oa: Outcome, b: float, ob: Outcome) -> None:
        if len(changes) > MAX_CHANGES:
            return
        if b - a <= tol:
            changes.append(Change(a, b, oa, ob))
            return
        m = 0.5 * (a + b)
        om = solve(m)
        if not same_split(oa, om):
            refine(a, oa, m, om)
        if not same_split(om, ob):
            refine(m, om, b, ob)

    for (a, oa), (b, ob) in zip(zip(values, scan), zip(values[1:], scan[1:])):
        if not same_split(oa, ob):
            refine(float(a), oa, float(b), ob)
    if len(changes) > MAX_CHANGES:
        out.continuous = True
    else:
        out.changes = changes
    return out


def sensitivity(runner: SiteScenarios, parameter: str, low: float, base: float, high: float) -> list[dict[str, Any]]:
    """Tornado rows: the split and net USD at low, base and high values of one parameter."""
    rows = []
    for level, value in (("low", low), ("base", base), ("high", high)):
        o = runner.run({parameter: float(value)})
        rows.append({"site_id": runner.site_id, "parameter": parameter, "level": level, "value": float(value),
                     "ai_it_mw": o.split.get("ai_it_mw"), "mining_it_mw": o.split.get("mining_it_mw"),
                     "net_usd": o.split.get("net_usd"), "status": o.status})
    return rows


def default_parameters(runner: SiteScenarios) -> list[str]:
    """The usual what-if fields this site has, with a nonzero value."""
    out = []
    n_leases = len(runner.base.config.ai.lease) if runner.base.config.ai else 0
    for p in DEFAULT_PARAMETERS:
        expanded = [p.replace("[*]", f"[{i}]") for i in range(n_leases)] if "[*]" in p else [p]
        for q in expanded:
            if value_at(runner.base.config, q) not in (None, 0, 0.0):
                out.append(q)
    return out


def resolve_range(runner: SiteScenarios, parameter: str, low: float | None, high: float | None,
                  swing_frac: float) -> tuple[float, float, float]:
    """``(low, base, high)`` of a parameter; raise :class:`InputError` when it cannot be known."""
    where = str(runner.path)
    problems = check_path(runner.raw, parameter, where)
    if problems:
        raise InputError(problems, where)
    base = base_value(runner, parameter)
    if base is None:
        if low is None or high is None:
            raise InputError([Problem(f"{where}: {parameter}", "has no numeric value in the site file.",
                                      "Give --low and --high for it.")], where)
        base = 0.5 * (low + high)
    lo = low if low is not None else base * (1.0 - swing_frac)
    hi = high if high is not None else base * (1.0 + swing_frac)
    if not hi > lo:
        raise InputError([Problem(f"--param {parameter}", f"the range {lo:g} to {hi:g} is empty "
                                  f"(base value {base:g}).", "Give --low below --high.")], where)
    return lo, base, hi


# ------------------------------------------------------------------ words


def format_value(parameter: str, value: float, tolerance: float = 0.0) -> str:
    """A value with its unit, to a precision finer than ``tolerance / 2``: ``$41.72/PH/day``, ``120 MW``."""
    name = parameter.rsplit(".", 1)[-1]
    digits = 0
    if tolerance > 0:
        digits = min(6, max(0, math.ceil(-math.log10(tolerance / 2.0))))
    text = f"{value:,.{digits}f}"
    units = (("_usd_per_ph_day", "$", "/PH/day"), ("_usd_per_kw_month", "$", "/kW-month"),
             ("_usd_per_mwh", "$", "/MWh"), ("_usd_per_mw_year", "$", "/MW-year"), ("_usd_per_mw", "$", "/MW"),
             ("_usd", "$", ""), ("_mw", "", " MW"), ("_j_per_th", "", " J/TH"), ("_years", "", " years"))
    for suffix, before, after in units:
        if name.endswith(suffix):
            return f"{before}{text}{after}"
    return text


def _mw(x: float) -> str:
    text = f"{x:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def describe(o: Outcome | None, convertible_mw: float) -> str:
    """``AI takes all 200 MW convertible, mining keeps 0 MW``."""
    if o is None:
        return "no answer"
    if o.status != "optimal":
        return f"the site is {o.status.replace('_', ' ')}"
    a, m = o.split["ai_it_mw"], o.split["mining_it_mw"]
    if a <= SPLIT_TOLERANCE_MW:
        ai = "AI takes nothing"
    elif convertible_mw > 0 and abs(a - convertible_mw) <= SPLIT_TOLERANCE_MW:
        ai = f"AI takes all {_mw(a)} MW convertible"
    else:
        ai = f"AI takes {_mw(a)} MW"
    return f"{ai} and mining keeps {_mw(m)} MW"
