"""Explain infeasibility in the site's own terms.

The base model has few ways to be infeasible, because every variable can go
to zero except the signed leases (``min_mw``). Each check below reproduces one
of them and names the leases, the limit and the hours that conflict.
"""

from __future__ import annotations

import numpy as np

from .errors import Problem
from .site import Site


def conflicts(site: Site) -> list[Problem]:
    """Every conflict between the site's firm commitments and its limits."""
    cfg = site.config
    if not site.has_ai:
        return []
    ai = cfg.ai
    where = str(site.path)
    signed = [(i, lease) for i, lease in enumerate(ai.lease) if lease.min_mw > 0]
    if not signed:
        return []
    committed_it = sum(lease.min_mw for _, lease in signed)
    names = _names(signed)
    firm_grid = committed_it * ai.pue
    problems: list[Problem] = []
    if committed_it > ai.convertible_mw + 1e-9:
        problems.append(Problem(
            f"{where}: ai.lease[].min_mw",
            f"{names} commit {committed_it:g} MW IT, more than ai.convertible_mw = {ai.convertible_mw:g}.",
            f"Lower min_mw to a total <= {ai.convertible_mw:g} or raise ai.convertible_mw.",
        ))
    if firm_grid > site.facility_mw + 1e-9:
        problems.append(Problem(
            f"{where}: ai.lease[].min_mw",
            f"{names} commit{'s' if len(signed) == 1 else ''} {committed_it:g} MW IT x PUE {ai.pue:g} = "
            f"{firm_grid:g} MW of firm load, but the halls hold facility_mw = {site.facility_mw:g} MW.",
            f"Lower min_mw to a total <= {site.facility_mw / ai.pue:.1f} or raise facility_mw.",
        ))
    short = site.grid_cap_mw < firm_grid - 1e-9
    if short.any():
        problems.append(_cap_conflict(site, names, committed_it, firm_grid, short))
    return problems


def _names(signed: list) -> str:
    parts = [f"lease {lease.tenant!r} (ai.lease[{i}].min_mw = {lease.min_mw:g})" for i, lease in signed]
    return parts[0] if len(parts) == 1 else "leases " + ", ".join(parts)


def _cap_conflict(site: Site, names: str, committed_it: float, firm_grid: float, short: np.ndarray) -> Problem:
    cfg = site.config
    where = str(site.path)
    tz = cfg.site.timezone
    hours = np.flatnonzero(short)
    low = float(site.grid_cap_mw[hours].min())
    first = site.index[hours[0]].tz_convert(tz)
    last = (site.index[hours[-1]] + np.timedelta64(1, "h")).tz_convert(tz)
    span = f"{first:%Y-%m-%d %H:%M}" + (
        f"-{last:%H:%M %Z}" if first.date() == last.date() else f" to {last:%Y-%m-%d %H:%M %Z}"
    )
    events = _events_covering(site, hours)
    cause = (f"curtailment {', '.join(events)} caps the site at {low:g} MW"
             if events else f"interconnect_mw caps the site at {low:g} MW")
    fix = f"Lower min_mw to a total <= {low / cfg.ai.pue:.1f}"
    fix += " or remove the event." if events else " or raise interconnect_mw."
    return Problem(
        f"{where}: ai.lease[].min_mw",
        f"{names} commit {committed_it:g} MW IT x PUE {cfg.ai.pue:g} = {firm_grid:g} MW of firm load, "
        f"but {cause} in {len(hours)} hour{'s' if len(hours) != 1 else ''} ({span}).",
        fix,
    )


def _events_covering(site: Site, hours: np.ndarray) -> list[str]:
    """Indices of the curtailment events whose cap is below interconnect in those hours."""
    events = []
    for i, event in enumerate(site.config.curtailment):
        if event.cap_mw < site.interconnect_mw and np.any(site.grid_cap_mw[hours] == event.cap_mw):
            events.append(f"curtailment[{i}] ({event.start} to {event.end})")
    return events
