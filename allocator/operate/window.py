"""A site file cut to an operating window: the events of other days dropped.

A site file lists curtailment events, demand-response deployments, contract and
program windows and 4CP intervals for its whole horizon; read on one day, the
ones outside the day would be errors (an event outside the price horizon). The
operating day keeps only what overlaps it: a program or contract that does not
run that day, a 4CP section with no listed interval that day, are left out.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..inputs import overrides, series
from ..inputs.schema import SiteFile
from ..inputs.site import Site


def window_config(path: Path, first: date, days: int, extra: dict | None = None) -> SiteFile:
    """The site file at ``path`` read on local days ``[first, first + days)``, its events trimmed to them.

    Parameters
    ----------
    path : Path
        Site file.
    first : date
        First local day.
    days : int
        Number of local days.
    extra : dict, optional
        Further overrides (``prices.column``...).
    """
    values = {"prices.start": first.isoformat(), "prices.end": (first + timedelta(days=days)).isoformat()}
    values.update(extra or {})
    _, config = overrides.site_config(Path(path), values)
    tz = config.site.timezone
    where = str(path)
    start = series.to_utc(values["prices.start"], tz, f"{where}: prices.start")
    end = series.to_utc(values["prices.end"], tz, f"{where}: prices.end")

    def overlaps(a: str | None, b: str | None, field: str) -> bool:
        try:
            lo = start if a is None else series.to_utc(a, tz, f"{where}: {field}.start")
            hi = end if b is None else series.to_utc(b, tz, f"{where}: {field}.end")
        except InputError:
            return True  # keep it: the site reader reports the bad time
        return bool(lo < end and hi > start)

    update: dict = {"curtailment": [e for i, e in enumerate(config.curtailment)
                                    if overlaps(e.start, e.end, f"curtailment[{i}]")]}
    programs = []
    for i, p in enumerate(config.demand_response):
        if not overlaps(p.start, p.end, f"demand_response[{i}]"):
            continue
        kept = [w for j, w in enumerate(p.deployment)
                if overlaps(w.start, w.end, f"demand_response[{i}].deployment[{j}]")]
        programs.append(p.model_copy(update={"deployment": kept}))
    update["demand_response"] = programs
    if config.power is not None:
        kept = [c for i, c in enumerate(config.power.contract) if overlaps(c.start, c.end, f"power.contract[{i}]")]
        update["power"] = config.power.model_copy(update={"contract": kept})
    cp = config.coincident_peak
    if cp is not None and cp.intervals is not None:
        inside = [t for i, t in enumerate(cp.intervals)
                  if _inside(t, tz, start, end, f"{where}: coincident_peak.intervals[{i}]")]
        update["coincident_peak"] = cp.model_copy(update={"intervals": inside}) if inside else None
    # the day is run on the real margin: a capture share (mining.capture_frac) is for deciding the split
    update["mining"] = config.mining.model_copy(update={"capture_frac": 1.0})
    return config.model_copy(update=update)


def _inside(text: str, tz: str, start: pd.Timestamp, end: pd.Timestamp, where: str) -> bool:
    try:
        t = series.to_utc(text, tz, where)
    except InputError:
        return True
    return bool(start <= t < end)


def real_margin(site: Site) -> Site:
    """``site`` with ``mining.capture_frac`` = 1: operated and replayed on the real margin."""
    m = site.config.mining
    if m.capture_frac == 1.0:
        return site
    config = site.config.model_copy(update={"mining": m.model_copy(update={"capture_frac": 1.0})})
    return dataclasses.replace(site, config=config)
