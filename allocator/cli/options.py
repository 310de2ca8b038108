"""Numeric command-line options that are finite and within what the machine can do.

click's ``FloatRange`` lets ``nan`` through (every comparison with NaN is
false) and ``inf`` where there is no upper bound; a NaN time limit then
reached the solver and the run's ``manifest.json``. :class:`FiniteFloat`
refuses both. :func:`clamp_workers` caps process counts at the cores this
process may use, saying so on stderr.
"""

from __future__ import annotations

import math
import os

import click

from ..limits import MAX_SCENARIOS
#: the most values breakeven scans per parameter before bisecting
MAX_POINTS = 10_000
#: the largest magnitude of a breakeven range end (--low, --high): no site field is larger (limits.py)
MAX_PARAMETER = 1.0e15


class FiniteFloat(click.FloatRange):
    """A float option that must be finite (no ``nan``, ``inf``), within ``[min, max]`` like FloatRange."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give a plain number such as 10 or 2.5.", param, ctx)
        return super().convert(number, param, ctx)


def cores_available() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def clamp_workers(workers: int | None, option: str = "--workers") -> int | None:
    """``workers`` capped at :func:`cores_available` (a note on stderr when capped); None and 0 pass through.

    More processes than cores only share the same cores and multiply the memory (each holds a model).
    """
    if not workers:
        return workers
    cores = cores_available()
    if workers <= cores:
        return workers
    click.echo(f"note: {option} {workers} is more than the {cores} core{'s' if cores != 1 else ''} this "
               f"machine gives the run; using {cores}.", err=True)
    return cores


__all__ = ["MAX_PARAMETER", "MAX_POINTS", "MAX_SCENARIOS", "FiniteFloat", "clamp_workers", "cores_available"]
