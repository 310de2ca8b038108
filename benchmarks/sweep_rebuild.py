"""Sweep speed by varied field: fields that change the LP's matrix (a PUE) against those that do not.

    .venv/bin/python benchmarks/sweep_rebuild.py

A sweep keeps each site's HiGHS model and re-solves it warm when a scenario moves only costs and
bounds; a PUE, the AI utilization or the uptime SLA change the matrix, so each such scenario is
built and solved from scratch (``allocator.whatif.sweep_findings.REBUILD_PATH``). This measures 12 values
of each of four fields on the bundled west_texas campus, one process, and prints scenarios per
second (wall and CPU of this process; the machine is shared, so CPU is the steadier figure) and how
many times the model was passed anew. ``allocator sweep`` quotes the ratio ("about 10x slower").
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from allocator.whatif.reuse import SiteScenarios  # noqa: E402

FIELDS = (
    ("mining.hashprice_usd_per_ph_day", np.linspace(30.0, 80.0, 12)),
    ("ai.lease[0].rate_usd_per_kw_month", np.linspace(110.0, 170.0, 12)),
    ("mining.pue", np.linspace(1.02, 1.2, 12)),
    ("ai.pue", np.linspace(1.1, 1.4, 12)),
)


def main() -> None:
    site = REPO / "sites" / "west_texas.toml"
    print(f"site {site.name}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  {'varied field':36s} {'scen/s wall':>11s} {'scen/s CPU':>11s} {'models passed':>14s}")
    for path, values in FIELDS:
        runner = SiteScenarios(site)
        runner.run({})  # the base solve is not counted
        t0, c0 = time.perf_counter(), time.process_time()
        failed = sum(runner.run({path: float(v)}).status != "optimal" for v in values)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"  {path:36s} {len(values) / wall:11.1f} {len(values) / cpu:11.1f} {runner.solver.rebuilt - 1:14d}"
              + (f"  ({failed} not optimal)" if failed else ""))


if __name__ == "__main__":
    main()
