"""Sweep speed: scenarios per second with and without model reuse, and a 1,000-scenario grid sweep.

    .venv/bin/python benchmarks/sweep_bench.py                  # everything (a few minutes on 2 cores)
    .venv/bin/python benchmarks/sweep_bench.py --skip-grid      # rebuild vs reuse only
    .venv/bin/python benchmarks/sweep_bench.py --site year      # on a full 2024 year (needs ../shared/data/raw)
    .venv/bin/python benchmarks/sweep_bench.py --site sla4cp --skip-rates --workers 1   # uptime SLA + 4CP

Phases measured, on one site:

- ``rebuild``: per scenario, read the site file and its prices, build the LP, pass it to HiGHS and
  cold-solve it (interior point + crossover), as a fresh ``allocator solve --set`` would, less the
  process start-up;
- ``rebuild (site in memory)``: the site's arrays derived in memory, but a new LP and a cold solve;
- ``reuse``: arrays derived in memory, costs and bounds pushed into the kept HiGHS model, dual
  simplex from the previous basis (the sweep's ``--solver highs`` path);
- ``structured``: the sweep's default (``auto``): the exact cutting planes of
  ``allocator.whatif.sweep_structured``, their cuts kept while only the lease rate moves.

``--site sla4cp`` runs it on the bundled campus with a binding uptime SLA (its S21 fleet alone) and a
4CP charge (:func:`sla_4cp_site`), which sweeps used to send to HiGHS scenario by scenario.

Then a grid sweep of ``--grid`` scenarios (hashprice x lease rate) through ``allocator.whatif.sweep`` on
1 and 2 worker processes (process start-up and CSV writing included), once per ``--solvers``. The
machine is shared: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from allocator.whatif.reuse import SiteScenarios  # noqa: E402
from allocator.whatif.sweep import grid_sweep, locality_order, run_sweep  # noqa: E402

HP = "mining.hashprice_usd_per_ph_day"
RATE = "ai.lease[0].rate_usd_per_kw_month"


def year_site(folder: Path) -> Path:
    """west_texas on ERCOT HB_WEST 2024 hourly prices (8,784 hours), read from ../shared/data/raw."""
    raw = REPO.parent / "shared" / "data" / "raw" / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    if not raw.is_file():
        sys.exit(f"--site year needs {raw}")
    text = (REPO / "sites" / "west_texas.toml").read_text(encoding="utf-8")
    text = text.replace('file = "data/ercot_hb_south_hourly.csv"\ncolumn = "hb_south_rtm_usd_per_mwh"',
                        f'file = "{raw.as_posix()}"\ncolumn = "HUB"\nstart = "2024-01-01"\nend = "2025-01-01"\n'
                        'fill = "ffill"')
    path = folder / "west_texas_2024.toml"
    path.write_text(text, encoding="utf-8")
    return path


def sla_4cp_site(folder: Path) -> Path:
    """The bundled campus with the uptime SLA and a 4CP charge: its S21 fleet alone (the structured
    solver covers the SLA of one fleet) held to ``min_uptime_frac = 0.995`` (binding), and a 4CP charge
    of 55,000 USD/MW-year on four summer-afternoon intervals, paid on the AI halls' draw too (their
    power no longer passed through)."""
    text = (REPO / "sites" / "west_texas.toml").read_text(encoding="utf-8")
    data = (REPO / "sites" / "data" / "ercot_hb_south_hourly.csv").as_posix()
    second = '[[mining.fleet]]\nmodel = "Antminer S19j Pro"\nefficiency_j_per_th = 29.5\nmw = 80.0\n'
    for old, new in (('file = "data/ercot_hb_south_hourly.csv"', f'file = "{data}"'), (second, ""),
                     ("pool_fee_frac = 0.02\n", "pool_fee_frac = 0.02\nmin_uptime_frac = 0.995\n"),
                     ("power_pass_through = true", "power_pass_through = false")):
        if old not in text:
            sys.exit(f"sites/west_texas.toml changed: {old!r} not found")
        text = text.replace(old, new)
    text = text[:text.index("\n[plan]")]  # the plan names the fleet removed; a sweep does not read it
    text += ('\n[coincident_peak]\ncharge_usd_per_mw_year = 55000.0\n'
             'intervals = ["2024-06-27T16:00", "2024-07-30T16:00", "2024-08-20T16:00", "2024-09-19T16:00"]\n')
    path = folder / "west_texas_sla_4cp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def scenarios(n: int, order: str, seed: int = 1) -> list[dict]:
    """``random``: independent draws; ``sorted``: the same draws in the order a Monte Carlo sweep
    solves them (:func:`allocator.whatif.sweep.locality_order`); ``grid``: a hashprice x rate grid in sweep order."""
    if order in ("random", "sorted"):
        rng = np.random.default_rng(seed)
        draws = [(float(rng.uniform(30, 80)), float(rng.uniform(110, 170))) for _ in range(n)]
        if order == "sorted":
            draws = [draws[i] for i in locality_order(draws)]
        return [{HP: h, RATE: r} for h, r in draws]
    side = max(1, int(round(np.sqrt(n))))
    return [{HP: float(h), RATE: float(r)} for h in np.linspace(30, 80, side)
            for r in np.linspace(110, 170, max(1, n // side))]


def rate(runner: SiteScenarios, items: list[dict]) -> tuple[float, float, int]:
    """(scenarios per wall second, scenarios per CPU second of this process, failures)."""
    runner.run({})  # the base solve (and, for reuse, the model kept) is not counted
    t0, c0 = time.perf_counter(), time.process_time()
    failed = sum(runner.run(s).status != "optimal" for s in items)
    return len(items) / (time.perf_counter() - t0), len(items) / (time.process_time() - c0), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", choices=("bundled", "year", "sla4cp"), default="bundled")
    parser.add_argument("--scenarios", type=int, default=30, help="scenarios per rebuild/reuse measurement")
    parser.add_argument("--grid", type=int, default=1000, help="scenarios in the grid sweep (a square-ish grid)")
    parser.add_argument("--workers", default="1,2", help="worker counts for the grid sweep")
    parser.add_argument("--solvers", default="auto,highs", help="sweep solvers for the grid sweep")
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--skip-rates", action="store_true", help="only the grid sweep")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        site = {"bundled": lambda: REPO / "sites" / "west_texas.toml", "year": lambda: year_site(Path(tmp)),
                "sla4cp": lambda: sla_4cp_site(Path(tmp))}[args.site]()
        print(f"site {site.name}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        hours = SiteScenarios(site).base.hours
        for order in () if args.skip_rates else ("grid", "random", "sorted"):
            items = scenarios(args.scenarios, order)
            rebuild = rate(SiteScenarios(site, reuse=False), items)
            in_memory = SiteScenarios(site)
            in_memory.solver.reuse = False
            rebuild_mem = rate(in_memory, items)
            reuse = rate(SiteScenarios(site), items)
            structured = rate(SiteScenarios(site, solver="auto"), items)
            print(f"\n{len(items)} scenarios (hashprice x lease rate) in {order} order, {hours} hours, 1 process "
                  f"(load average now {os.getloadavg()[0]:.2f}):")
            print(f"  {'mode':26s} {'scen/s wall':>11s} {'scen/s CPU':>11s} {'vs rebuild (CPU)':>17s}")
            for name, (wall, cpu, failed) in (("rebuild", rebuild), ("rebuild (site in memory)", rebuild_mem),
                                              ("reuse (warm start)", reuse), ("structured (kept cuts)", structured)):
                print(f"  {name:26s} {wall:11.1f} {cpu:11.1f} {cpu / rebuild[1]:16.1f}x"
                      + (f"  ({failed} failed)" if failed else ""))
        if args.skip_grid:
            return
        side = max(d for d in range(1, int(np.sqrt(args.grid)) + 1) if args.grid % d == 0)
        n_rate = args.grid // side
        vary = [f"{HP}=30:80:{side}", f"{RATE}=110:170:{n_rate}"]
        print(f"\ngrid sweep {side} x {n_rate} = {side * n_rate} scenarios of {site.name} ({hours} hours):")
        for solver in args.solvers.split(","):
            for workers in [int(w) for w in args.workers.split(",")]:
                out = Path(tmp) / f"grid_{solver}_{workers}"
                load = os.getloadavg()[0]
                sweep = grid_sweep([site], vary)
                sweep.solver = solver
                t0, c0 = time.perf_counter(), time.process_time()
                summary = run_sweep(sweep, out, workers=workers)
                seconds = time.perf_counter() - t0
                cpu = f"{time.process_time() - c0:5.1f} s CPU" if workers == 1 else "           "
                print(f"  {solver:<6} {workers} worker{'s' if workers > 1 else ' '}: {seconds:6.1f} s  {cpu}  "
                      f"{summary.solved / seconds:6.1f} scenarios/s  {dict(summary.statuses)}  "
                      f"{dict(summary.methods)}  (load average at start {load:.2f})", flush=True)


if __name__ == "__main__":
    main()
