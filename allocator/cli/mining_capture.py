"""``solve --mining-capture`` and the capture share in ``solve``'s and ``decide``'s summaries.

The share itself, and the re-loading of the sites with their own share, are
:mod:`allocator.operate.capture`; this module parses the option and prints the lines.
"""

from __future__ import annotations

import math

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
