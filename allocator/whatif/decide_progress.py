"""Progress of ``allocator decide``: which phase, how far, and an estimate of the time left.

A run of one site has three phases, each a pass (or several) over its futures:

- ``loading``: every future built once (its total is known, so the estimate is linear);
- ``iteration``: the cutting planes, one pass per iteration; the time left is the rest of the
  current pass plus the further iterations that the bound gap's trend asks for (the gap's
  logarithm extrapolated over its last two iterations; one more when there is no trend yet),
  each as long as the passes so far;
- ``candidates``: one pass evaluating every candidate split and each future alone (linear).

The estimates are what they say: a linear extrapolation, shown with ``~`` where they assume
a number of iterations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: most further iterations an estimate assumes
MAX_ITERATIONS_AHEAD = 20


@dataclass(frozen=True)
class Progress:
    """One progress report of one site.

    Attributes
    ----------
    site_id : str
    phase : str
        ``loading``, ``iteration`` or ``candidates``.
    done, total : int
        Futures done in the current pass, and in all.
    iteration : int
        Cutting-plane iteration (0 outside the iterations).
    gap_frac : float
        Relative bound gap after the last finished iteration (inf before one closes).
    elapsed_s : float
        Time since the site's run began [s].
    eta_s : float or None
        Estimated time left in this phase (None: nothing to estimate from yet) [s].
    eta_is_guess : bool
        The estimate assumes a number of further iterations.
    """

    site_id: str
    phase: str
    done: int
    total: int
    iteration: int
    gap_frac: float
    elapsed_s: float
    eta_s: float | None
    eta_is_guess: bool = False

    def line(self, target_gap_frac: float) -> str:
        """The one-line text of this report."""
        eta = "" if self.eta_s is None else f", ETA {'~' if self.eta_is_guess else ''}{_duration(self.eta_s)}"
        head = f"decide {self.site_id}: "
        if self.phase == "loading":
            return f"{head}loading futures {self.done}/{self.total}, {_duration(self.elapsed_s)}{eta}"
        if self.phase == "candidates":
            return (f"{head}evaluating the candidates, futures {self.done}/{self.total}, "
                    f"{_duration(self.elapsed_s)}{eta}")
        gap = "inf" if math.isinf(self.gap_frac) else f"{self.gap_frac:.2e}"
        return (f"{head}iteration {self.iteration}, futures {self.done}/{self.total}, gap {gap} "
                f"(target {target_gap_frac:.0e}), {_duration(self.elapsed_s)}{eta}")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def iterations_ahead(gaps: list[float], target_gap_frac: float) -> int:
    """Iterations after the finished ones (the running one included) that the gap's trend asks for:
    its log extrapolated over the last two finished iterations, at least 1 and at most
    :data:`MAX_ITERATIONS_AHEAD`; 2 (the running one and one more) without a trend."""
    finite = [g for g in gaps if math.isfinite(g)]
    if finite and finite[-1] <= target_gap_frac:
        return 1
    if len(finite) < 2 or not 0 < finite[-1] < finite[-2]:
        return 2
    last = finite[-1]
    rate = math.log(finite[-2] / last)
    ahead = math.ceil(math.log(last / target_gap_frac) / rate)
    return max(1, min(MAX_ITERATIONS_AHEAD, ahead))


@dataclass
class Clock:
    """Turns the passes' counts into :class:`Progress` reports for one site.

    Parameters
    ----------
    site_id : str
    total : int
        Futures of the site.
    report : callable
        Called with each :class:`Progress`.
    target_gap_frac : float
        The gap the cutting planes stop at.
    """

    site_id: str
    total: int
    report: Callable[[Progress], None]
    target_gap_frac: float = 1e-6
    phase: str = "loading"
    iteration: int = 0
    gaps: list[float] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)
    pass_t0: float = field(default_factory=time.perf_counter)
    pass_s: list[float] = field(default_factory=list)  # durations of finished iteration passes

    def start(self, phase: str, iteration: int = 0) -> None:
        """A new pass over the futures begins."""
        now = time.perf_counter()
        if self.phase == "iteration" and self.iteration:
            self.pass_s.append(now - self.pass_t0)
        self.phase, self.iteration, self.pass_t0 = phase, iteration, now
        self.tick(0)

    def iteration_done(self, gap_frac: float) -> None:
        """The current iteration closed with this gap."""
        self.gaps.append(gap_frac)

    def tick(self, done: int, total: int | None = None) -> None:
        """``done`` futures of the current pass are through."""
        total = self.total if total is None else total
        now = time.perf_counter()
        spent = now - self.pass_t0
        eta, guess = None, False
        if done > 0:
            rest_of_pass = spent / done * (total - done)
            eta = rest_of_pass
            if self.phase == "iteration":
                per_pass = (sum(self.pass_s) / len(self.pass_s)) if self.pass_s else spent / done * total
                eta = rest_of_pass + (iterations_ahead(self.gaps, self.target_gap_frac) - 1) * per_pass
                guess = True
        gap = self.gaps[-1] if self.gaps else math.inf
        self.report(Progress(self.site_id, self.phase, done, total, self.iteration, gap, now - self.t0, eta, guess))


__all__ = ["Clock", "Progress", "iterations_ahead"]
