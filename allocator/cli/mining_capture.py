"""``solve --mining-capture`` and the capture share in ``solve``'s and ``decide``'s summaries.

The share itself is :mod:`allocator.operate.capture`; this module parses the option, re-loads the
sites with ``mining.capture_frac`` and turns the shares into the printed lines and
``mining_capture.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputError, Problem

OPTION_HELP = ("Decide the split on mining's hourly margin times FRAC (0 < FRAC <= 1; sets mining.capture_frac), "
               "e.g. the capture share a backtest measured; `computed`: each site's own share, as the summary "
               "measures it (solves twice).")


def parse_mining_capture(text: str | None, option: str = "--mining-capture") -> float | str | None:
    """None, ``"computed"`` or a float in (0, 1]; raise :class:`InputError` (exit 1) otherwise."""
    if text is None:
        return None
    if text.strip().lower() == "computed":
        return "computed"
    try:
        frac = float(text)
    except ValueError:
        frac = float("nan")
    if not (math.isfinite(frac) and 0.0 < frac <= 1.0):
        raise InputError([Problem(option, f"{text!r} is not a share in (0, 1].",
                                  "Give the share of mining's hourly margin the operating rule earns, e.g. 0.97 "
                                  "(1 = perfect hourly foresight), or `computed`.")], "the command line")
    return frac


def with_capture(values: dict, frac: float) -> dict:
    """``values`` (overrides) plus ``mining.capture_frac = frac``, recorded as set by --mining-capture."""
    from ..inputs.overrides import Overrides

    out = Overrides(dict(values), dict(getattr(values, "sources", {})))
    out["mining.capture_frac"] = frac
    out.sources["mining.capture_frac"] = "set"
    return out


def loaded(item):
    """A Site from a site file path (or the Site itself)."""
    from ..inputs.site import Site, load_site

    return item if isinstance(item, Site) else load_site(Path(item))


def measure(inputs: list, result) -> tuple[list, dict[str, float]]:
    """Each solved site's :class:`~allocator.operate.capture.MiningCapture` (on its own price file), and
    ``mining.capture_frac`` of each site that has one below 1 (its split was decided on the scaled margin)."""
    from ..operate.capture import mining_capture, plan_mining_net_usd, solved_split

    sites = {s.id: s for s in (loaded(item) for item in inputs)}
    fleets, leases, financials = result.fleets, result.leases, result.financials
    out = []
    for site_id in result.split["site_id"]:
        site = sites[site_id]
        out.append(mining_capture(site, solved_split(fleets, leases, site), plan_mining_net_usd(financials, site_id)))
    decided = {s.id: s.config.mining.capture_frac for s in sites.values() if s.config.mining.capture_frac != 1.0}
    return out, decided


def computed_inputs(inputs: list, values: dict, solve_once) -> tuple[list, dict[str, float]]:
    """Solve once (``solve_once(inputs)`` -> result), measure each site's share, and re-load every site
    with ``mining.capture_frac`` = its share (at most 1; 1 where none could be measured)."""
    from ..inputs.overrides import load_site_with

    captures, _ = measure(inputs, solve_once(inputs))
    fracs = {c.site_id: min(1.0, c.capture_frac) if c.capture_frac is not None and c.capture_frac > 0 else 1.0
             for c in captures}
    again = []
    for item in inputs:
        site = loaded(item)
        again.append(load_site_with(site.path, with_capture(values, fracs[site.id])))
    return again, fracs


def capture_lines(captures: list, decided: dict[str, float] | None = None) -> list[str]:
    """One line per site: the share measured, and the FRAC the split was decided with."""
    several = len(captures) > 1
    lines = []
    for c in captures:
        tag = f"{c.site_id}: " if several else ""
        lines.append(f"{tag}{c.line()}")
        if decided is not None and c.site_id in decided:
            lines.append(f"{tag}split decided on mining's hourly margin x {decided[c.site_id]:.4g} "
                         "(mining.capture_frac, --mining-capture)")
    return lines


def decided_captures(found: list) -> list:
    """The capture share of each ``decide`` site's stochastic split on the site file's own price history.

    The plan's mining value is the fixed-split LP's (``operate``'s, over the whole horizon) with that split."""
    from ..errors import InfeasibleError
    from ..operate.capture import MiningCapture, mining_capture
    from ..operate.day import plan_day
    from ..operate.split import InstalledSplit
    from ..operate.window import real_margin

    out = []
    for d in found:
        site = real_margin(loaded(d.site_file))
        y, n = d.candidate("stochastic").y_mw, d.first.n_lease
        split = InstalledSplit(np.asarray(y[:n], float), np.asarray(y[n:], float), "decide")
        try:
            fin = plan_day(site, split).solution.financials_usd
        except InfeasibleError:
            out.append(MiningCapture(d.site_id, None, note="the split cannot be run on the site file's own history"))
            continue
        out.append(mining_capture(site, split, fin["mining_revenue"] + fin["mining_power_cost"]))
    return out
