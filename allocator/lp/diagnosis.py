"""Explain infeasibility in the site's own terms.

Every variable of the LP can go to zero except the signed leases
(``ai.lease[].min_mw``), so every conflict the model can have is a set of
signed leases against one limit (docs/model.md's constraint numbers):

=====================  ==========================================================
limit                  conflict
=====================  ==========================================================
1 convertible_mw       sum of min_mw > ai.convertible_mw
3 facility_mw          PUE_ai x sum of min_mw > facility_mw (the halls)
4 interconnect_mw      PUE_ai x sum of min_mw > interconnect_mw (every hour)
4 curtailment[i]       PUE_ai x sum of min_mw > cap_mw during event i
=====================  ==========================================================

``min_mw > max_mw`` is refused when the file is read (exit 1). The grid row
(5) never adds a conflict because utilization <= 1 and mining can stop; the
uptime SLA (6) never does because a fleet the SLA cannot keep running is
simply not kept (m_f = 0). Each problem names the smallest set of signed
leases that breaks the limit (largest first) and the value that would fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import Problem
from ..inputs.site import Site

TOLERANCE_MW = 1e-9


@dataclass(frozen=True)
class Limit:
    """One limit on the signed leases, in IT MW, with how to describe and relax it."""

    field: str        # the site-file field the limit comes from
    it_mw: float      # most IT MW of signed leases that fits
    cause: str        # "the halls hold facility_mw = 100 MW"
    relax: str        # "raise facility_mw"
    firm: bool = True  # the limit is on grid MW (firm load = IT x PUE)


def conflicts(site: Site) -> list[Problem]:
    """Every conflict between the site's signed leases and its limits (empty if none)."""
    cfg = site.config
    if not site.has_ai:
        return []
    signed = [(i, lease) for i, lease in enumerate(cfg.ai.lease) if lease.min_mw > 0]
    if not signed:
        return []
    total_it = sum(lease.min_mw for _, lease in signed)
    return [_problem(site, signed, limit) for limit in limits(site) if total_it > limit.it_mw + TOLERANCE_MW]


def limits(site: Site) -> list[Limit]:
    """Every limit on the sum of signed lease IT MW."""
    cfg = site.config
    pue = cfg.ai.pue
    out = [
        Limit("ai.convertible_mw", cfg.ai.convertible_mw,
              f"ai.convertible_mw = {cfg.ai.convertible_mw:g} MW IT is the most the halls can host after conversion",
              "raise ai.convertible_mw", firm=False),
        Limit("site.facility_mw", site.facility_mw / pue, f"the halls hold facility_mw = {site.facility_mw:g} MW",
              "raise site.facility_mw"),
        Limit("site.interconnect_mw", site.interconnect_mw / pue,
              f"interconnect_mw caps the site at {site.interconnect_mw:g} MW in every hour",
              "raise site.interconnect_mw"),
    ]
    for i, event in enumerate(cfg.curtailment):
        hours = event_hours(site, i)
        if event.cap_mw >= site.interconnect_mw or not hours.any():
            continue
        out.append(Limit(
            f"curtailment[{i}]", event.cap_mw / pue,
            f"curtailment[{i}] on {span(site, hours)} caps the site at {event.cap_mw:g} MW "
            f"({_count(int(hours.sum()), 'hour')})",
            "remove the event or raise its cap_mw"))
    return out


def _problem(site: Site, signed: list, limit: Limit) -> Problem:
    pue = site.config.ai.pue
    chosen = _smallest_set(signed, limit.it_mw)
    it = sum(lease.min_mw for _, lease in chosen)
    names = _names(chosen)
    verb = "commits" if len(chosen) == 1 else "commit"
    if limit.firm:
        what = f"{names} {verb} {it:g} MW IT x PUE {pue:g} = {it * pue:g} MW of firm load"
    else:
        what = f"{names} {verb} {it:g} MW IT"
    if len(signed) == 1:
        fix = f"Lower min_mw to <= {_round_down(limit.it_mw)} or {limit.relax}."
    else:
        total = sum(lease.min_mw for _, lease in signed)
        fix = (f"Lower min_mw to a total <= {_round_down(limit.it_mw)} over the {len(signed)} signed leases "
               f"(now {total:g}) or {limit.relax}.")
    where = f"{site.path}: " + ("ai.lease[].min_mw" if len(chosen) > 1 else f"ai.lease[{chosen[0][0]}].min_mw")
    return Problem(where, f"{what}, but {limit.cause}.", fix)


def _smallest_set(signed: list, limit_it_mw: float) -> list:
    """The fewest signed leases whose min_mw add up to more than the limit (largest first)."""
    chosen, total = [], 0.0
    for i, lease in sorted(signed, key=lambda item: -item[1].min_mw):
        chosen.append((i, lease))
        total += lease.min_mw
        if total > limit_it_mw + TOLERANCE_MW:
            break
    return sorted(chosen, key=lambda item: item[0])


def _names(chosen: list) -> str:
    parts = [f"{lease.tenant!r} (ai.lease[{i}].min_mw = {lease.min_mw:g})" for i, lease in chosen]
    return ("lease " if len(parts) == 1 else "leases ") + ", ".join(parts)


def _round_down(value: float) -> str:
    """A value that fits, shown with one decimal (more for tiny values): 83.33 -> "83.3"."""
    if value <= 0:
        return "0"
    decimals = 1 if value >= 1 else min(9, 1 - math.floor(math.log10(value)))
    step = 10.0 ** decimals
    return f"{math.floor(value * step * (1 + 1e-12)) / step:.{decimals}f}"


def event_hours(site: Site, i: int) -> np.ndarray:
    """Hours of the horizon that curtailment[i] overlaps."""
    from ..inputs.series import to_utc

    event = site.config.curtailment[i]
    start = to_utc(event.start, site.timezone, f"{site.path}: curtailment[{i}].start")
    end = to_utc(event.end, site.timezone, f"{site.path}: curtailment[{i}].end")
    ends = site.index + np.timedelta64(1, "h")
    return np.asarray((site.index < end) & (ends > start))


def span(site: Site, hours: np.ndarray) -> str:
    """``"2024-08-20 15:00-21:00 CDT"`` for the first to the last marked hour, in site time."""
    idx = np.flatnonzero(hours)
    tz = site.timezone
    first = site.index[idx[0]].tz_convert(tz)
    last = (site.index[idx[-1]] + np.timedelta64(1, "h")).tz_convert(tz)
    if first.date() == last.date() and first.tzname() == last.tzname():
        return f"{first:%Y-%m-%d %H:%M}-{last:%H:%M %Z}"
    return f"{first:%Y-%m-%d %H:%M %Z} to {last:%Y-%m-%d %H:%M %Z}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
