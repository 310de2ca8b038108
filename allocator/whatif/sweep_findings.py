"""What a sweep found, in a few lines: the range of the split and of net USD, and the failed points.

Read from ``sweep.csv`` itself when the sweep ends (resumed rows included), so the
summary always describes the whole file. Also: which varied fields make every
scenario rebuild the LP instead of re-solving it warm (:mod:`allocator.whatif.reuse`),
so that a sweep can say up front that it will be slow.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..csv_files import unescape_cell

#: fields that change the LP's matrix (a PUE, the AI utilization, the uptime SLA): each scenario that
#: moves one is solved from scratch, not warm-started from the previous basis (allocator.whatif.reuse)
REBUILD_PATH = re.compile(r"^(mining\.(pue|min_uptime_frac)|ai\.(pue|utilization_frac|utilization(\..+)?))$")
#: CPU time per scenario of a rebuild field over a reused one, bundled west_texas: 6-7x (mining.pue against
#: hashprice) to 26x (ai.pue against a lease rate), benchmarks/sweep_rebuild.py; the message rounds it
REBUILD_SLOWDOWN = 10
#: failed points listed by name before "and N more"
SHOW_FAILED = 3


def rebuild_paths(paths: list[str]) -> list[str]:
    """The varied paths that force a model rebuild per scenario."""
    return [p for p in paths if REBUILD_PATH.match(p)]


def rebuild_warning(paths: list[str]) -> str | None:
    """One line saying that varying these paths is about 10x slower per scenario, or None."""
    slow = rebuild_paths(paths)
    if not slow:
        return None
    # the structured solver covers the SLA, 4CP, contracts, TOU and demand response, not the SLA with
    # demand response (allocator.lp.structured.not_covered)
    who = "every scenario of a site the structured solver leaves to HiGHS (the uptime SLA with demand response)"
    return (f"note: {', '.join(slow)} change{'s' if len(slow) == 1 else ''} the LP's matrix, so {who} "
            f"rebuilds the model and solves it from scratch: about {REBUILD_SLOWDOWN}x slower per scenario "
            "than varying prices, rates or limits (which re-solve the kept model warm).")


def findings(csv_path: Path, paths: list[str]) -> list[str]:
    """Per site: how many points were optimal, the range of the split and of net USD across them,
    and which points were infeasible or failed (with their varied values).

    Parameters
    ----------
    csv_path : Path
        The sweep's ``sweep.csv``.
    paths : list of str
        The varied dotted paths (columns of sweep.csv).
    """
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = [{k: unescape_cell(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    except OSError:
        return []
    lines = []
    for site_id in dict.fromkeys(r["site_id"] for r in rows):
        mine = [r for r in rows if r["site_id"] == site_id]
        ok = [r for r in mine if r["status"] == "optimal"]
        failed = [r for r in mine if r["status"] != "optimal"]
        head = f"  {site_id}: {len(ok)} of {len(mine)} points optimal"
        if ok:
            ai = [float(r["ai_it_mw"]) for r in ok]
            mining = [float(r["mining_it_mw"]) for r in ok]
            net = [float(r["net_usd"]) for r in ok]
            head += (f"; AI IT MW {_span(ai, '{:,.1f}')}, mining IT MW {_span(mining, '{:,.1f}')}, "
                     f"net USD {_span(net, '{:,.0f}')}")
            if len(ok) > 1:
                head += f" (max net at {_values(max(ok, key=lambda r: float(r['net_usd'])), paths)})"
        lines.append(head)
        for status in dict.fromkeys(r["status"] for r in failed):
            these = [r for r in failed if r["status"] == status]
            shown = "; ".join(f"{r['scenario_id']} ({_values(r, paths)})" for r in these[:SHOW_FAILED])
            more = f"; and {len(these) - SHOW_FAILED} more" if len(these) > SHOW_FAILED else ""
            first_error = these[0].get("error", "")
            why = f"; first error: {first_error[:200]}" if first_error else ""
            lines.append(f"    {status}: {len(these)}: {shown}{more}{why}")
    return lines


def _span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)} to {fmt.format(hi)}"


def _values(row: dict, paths: list[str]) -> str:
    """``path=value, ...`` of a row, numbers to 6 significant digits (sweep.csv has them in full)."""
    return ", ".join(f"{p}={_short(row.get(p, ''))}" for p in paths)


def _short(text: str) -> str:
    try:
        return f"{float(text):.6g}"
    except ValueError:
        return text
