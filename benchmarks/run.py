"""allocator against the solver floor: one table of phases, seconds and ratios, also written as CSV.

    .venv/bin/python benchmarks/run.py                      # 1, 10 and 50 sites, best of 3
    .venv/bin/python benchmarks/run.py --sites 1 --repeat 1 --out /tmp/smoke.csv   # the CI smoke run

Experiments (each figure is the best of ``--repeat`` runs; the floor is
measured in the same run, interleaved with allocator's):

1. ``site_year``: one site loaded, built, handed off, solved, extracted and
   written by allocator's own code path, beside HiGHS alone on the same matrix.
   Target: build + hand-off + solve + extract within 2.5x the floor.
2. ``independent``: N sites solved one LP per site, serially and with a
   process pool (``workers`` = the cores available). Target: the pool's wall
   time within 1.5x the sum of the per-site floors divided by the workers.
3. ``coupled``: the same N sites sharing one capex budget row (half of what
   their AI halls could use), through ``allocator solve --portfolio``'s code
   path (``solve_portfolio``) as one LP and by the exact Lagrangian
   decomposition (allocator.lp.decomposition); both objectives must agree.
4. ``memory``: peak RSS of ``allocator solve`` on the N sites (largest N) in a
   fresh process, beside a fresh process that only loads the same matrices and
   solves them with HiGHS. Target: within 2x.
5. ``cli``: wall time of the whole ``python -m allocator solve SITE --out DIR``
   process, imports included. Target: under 1.5 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from floor import floor_solve, lp_arrays  # noqa: E402
from sites import SOURCES, available, write_sites  # noqa: E402

from allocator import load_site  # noqa: E402
from allocator.lp import model
from allocator.run.parallel import worker_count  # noqa: E402
from allocator.plan.portfolio import solve_portfolio  # noqa: E402
from allocator.reports.run_folder import write_result  # noqa: E402
from allocator.lp.results import solve_site  # noqa: E402
from allocator.run.batch import Result, solve  # noqa: E402
from allocator.lp.solve import _quiet_highs  # noqa: E402

COLUMNS = ("experiment", "source", "sites", "phase", "value", "unit", "floor", "ratio", "target", "met", "note")
#: share of the sites' largest possible AI capex the shared budget allows
BUDGET_SHARE = 0.5


class Table:
    """Rows of the result table; printed as they come, written as CSV at the end."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, experiment: str, source: str, sites: int, phase: str, value: float, unit: str = "s",
            floor: float | None = None, target: float | None = None, note: str = "") -> None:
        ratio = value / floor if floor else None
        met = "" if target is None or ratio is None else ("yes" if ratio <= target else "no")
        row = {"experiment": experiment, "source": source, "sites": sites, "phase": phase,
               "value": round(value, 4), "unit": unit, "floor": "" if floor is None else round(floor, 4),
               "ratio": "" if ratio is None else round(ratio, 3), "target": "" if target is None else target,
               "met": met, "note": note}
        self.rows.append(row)
        print(f"{experiment:<12}{source:<9}{sites:>4}  {phase:<28}{value:>10.3f} {unit:<3}"
              f"{row['floor']!s:>10}{row['ratio']!s:>8}{row['target']!s:>6} {met:<4}{note}", flush=True)

    def header(self) -> None:
        print(f"{'experiment':<12}{'source':<9}{'sites':>4}  {'phase':<28}{'value':>10} {'':<3}"
              f"{'floor':>10}{'ratio':>8}{'target':>6} met", flush=True)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, path)


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each phase's least time over the repeats."""
    return {key: min(r[key] for r in runs) for key in runs[0]}


# ------------------------------------------------------------------ 1. one site-year


def site_year(table: Table, source: str, path: Path, repeat: int, scratch: Path) -> None:
    runs, floors = [], []
    for k in range(repeat):
        t0 = time.perf_counter()
        site = load_site(path)
        load_s = time.perf_counter() - t0
        solution, seconds = solve_site(site, "highs", None)
        result = Result([solution], "HiGHS", dict(seconds))
        t1 = time.perf_counter()
        write_result(result, scratch / f"site_year_{source}_{k}", force=True)
        runs.append({"load": load_s, **seconds, "write": time.perf_counter() - t1})
        arrays = lp_arrays(model.build([site]))
        handoff_s, solve_s, objective = floor_solve(arrays)
        floors.append({"handoff": handoff_s, "solve": solve_s})
        if abs(objective - solution.objective_usd) > 1e-6 * abs(objective):
            raise AssertionError(f"floor objective {objective} != allocator's {solution.objective_usd}")
    b, f = best(runs), best(floors)
    floor_s = f["handoff"] + f["solve"]
    hours = site.hours
    for phase in ("load", "build", "handoff", "solve", "marginal", "extract", "write"):
        table.add("site_year", source, 1, phase, b[phase], floor=floor_s)
    core = b["build"] + b["handoff"] + b["solve"] + b["marginal"] + b["extract"]
    table.add("site_year", source, 1, "build+handoff+solve+marginal+extract", core, floor=floor_s, target=2.5,
              note=f"target 1; {hours} hours, {site.config.mining.fleet.__len__()} fleets")
    table.add("site_year", source, 1, "floor handoff (passModel)", f["handoff"], floor=floor_s)
    table.add("site_year", source, 1, "floor solve (run)", f["solve"], floor=floor_s)
    table.add("site_year", source, 1, "floor total", floor_s, floor=floor_s)


# ------------------------------------------------------------------ 2. independent sites


def independent(table: Table, source: str, paths: list[Path], repeat: int, serial: bool) -> None:
    """N sites one LP per site: the floors, allocator serially, and allocator's process pool.

    The target row gives the pool site objects already loaded (like target 1, whose
    floor does not read files either); a second row times the pool from the files.
    """
    n = len(paths)
    workers = worker_count(0, n)
    sites = [load_site(p) for p in paths]
    arrays = [lp_arrays(model.build([s])) for s in sites]
    per_site = np.full(n, np.inf)
    times: dict[str, list[float]] = {"pooled": [], "pooled_files": [], "serial": [], "in_workers": []}
    objectives = set()
    for _ in range(repeat):
        for i, a in enumerate(arrays):
            h_s, s_s, _ = floor_solve(a)
            per_site[i] = min(per_site[i], h_s + s_s)
        runs = [("pooled", sites, workers), ("pooled_files", paths, workers)] + ([("serial", sites, 1)] if serial else [])
        for key, items, w in runs:
            t0 = time.perf_counter()
            result = solve(items, workers=w)
            times[key].append(time.perf_counter() - t0)
            objectives.add(result.objective_usd)
            if key == "pooled":
                times["in_workers"].append(sum(result.seconds[k] for k in ("build", "handoff", "solve", "marginal", "extract")))
    if len(objectives) != 1:
        raise AssertionError(f"the runs' objectives differ: {objectives}")
    floor_sum = float(per_site.sum())
    table.add("independent", source, n, "floor: sum of per-site", floor_sum)
    table.add("independent", source, n, f"floor / workers ({workers})", floor_sum / workers)
    if times["serial"]:
        table.add("independent", source, n, "allocator serial", min(times["serial"]), floor=floor_sum,
                  note="sites loaded; vs the floor sum")
    table.add("independent", source, n, f"allocator --workers {workers}", min(times["pooled"]),
              floor=floor_sum / workers, target=1.5, note="target 2; sites loaded; wall time incl. pool start")
    table.add("independent", source, n, "pool: per-site phases summed", min(times["in_workers"]), floor=floor_sum,
              note="build..extract timed inside the workers, summed: overhead apart from core contention")
    table.add("independent", source, n, f"allocator --workers {workers} + load", min(times["pooled_files"]),
              floor=floor_sum / workers, note="from the site files: each worker also reads its sites")


# ------------------------------------------------------------------ 3. coupled portfolio


def budget_usd(sites) -> float:
    """A capex budget that binds: half the fit-out capex of the AI the sites could take [USD]."""
    most = 0.0
    for site in sites:
        ai = site.config.ai
        firm_mw = min(ai.convertible_mw, float(site.grid_cap_mw.min()) / ai.pue)
        most += firm_mw * ai.fitout_capex_usd_per_mw
    return BUDGET_SHARE * most


def coupled(table: Table, source: str, paths: list[Path], repeat: int, scratch: Path) -> None:
    """``--portfolio`` with a shared capex budget, solved as one LP and by the decomposition."""
    n = len(paths)
    sites = [load_site(p) for p in paths]
    budget = budget_usd(sites)
    pf = scratch / f"budget_{source}_{n}.toml"
    pf.write_text(f'name = "benchmark budget"\ncapex_budget_usd = {budget!r}\n', encoding="utf-8")
    runs: dict[str, list[dict]] = {"one_lp": [], "decomposition": []}
    results = {}
    for _ in range(repeat if n <= 10 else 1):  # one LP takes minutes at 50 sites
        for method in runs:
            t0 = time.perf_counter()
            results[method] = solve_portfolio(sites, pf, method=method)
            runs[method].append({**results[method].seconds, "total": time.perf_counter() - t0})
    mono, dec = results["one_lp"], results["decomposition"]
    gap = abs(dec.objective_usd - mono.objective_usd) / abs(mono.objective_usd)
    if gap > 1e-7:
        raise AssertionError(f"decomposition objective {dec.objective_usd} != one LP {mono.objective_usd}")
    m, d = best(runs["one_lp"]), best(runs["decomposition"])
    dual = {k: float(r.shadow_prices.set_index("constraint").loc["capex_budget", "shadow_price"])
            for k, r in results.items()}
    note = (f"budget {budget / 1e9:.2f} bn USD, dual {dual['decomposition']:.4f} (one LP {dual['one_lp']:.4f}), "
            f"objective gap {gap:.1e}, {dec.manifest_extra['portfolio_method']}")
    if n > 10:
        note += "; one run"
    table.add("coupled", source, n, "one LP: build", m["build"])
    table.add("coupled", source, n, "one LP: handoff+solve", m["handoff"] + m["solve"])
    table.add("coupled", source, n, "one LP: total", m["total"])
    table.add("coupled", source, n, "decomposition: handoff+solve", d["handoff"] + d["solve"])
    table.add("coupled", source, n, "decomposition: total", d["total"], floor=m["total"],
              note="target 3 (ratio < 1: faster than one LP); allocator solve --portfolio; " + note)


# ------------------------------------------------------------------ 4. memory


def memory(table: Table, source: str, paths: list[Path], scratch: Path) -> None:
    n = len(paths)
    npz = scratch / f"matrices_{source}_{n}"
    npz.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        np.savez(npz / f"{i:03d}.npz", **lp_arrays(model.build([load_site(p)])))
    floor = _last_json([sys.executable, str(HERE / "floor.py"), str(npz)])
    out = scratch / f"memory_run_{source}_{n}"
    code = ("import json, sys\nfrom allocator.cli import main\n"
            f"rc = main(['solve', *{[str(p) for p in paths]!r}, '--out', {str(out)!r}, '--force'])\n"
            f"sys.path.insert(0, {str(HERE)!r})\nfrom floor import peak_rss_mb\n"
            "print(json.dumps({'rc': rc, 'peak_rss_mb': peak_rss_mb()}))")
    mine = _last_json([sys.executable, "-c", code])
    if mine["rc"] != 0:
        raise AssertionError(f"allocator solve exited {mine['rc']}")
    table.add("memory", source, n, "floor peak RSS", floor["peak_rss_mb"], unit="MB")
    table.add("memory", source, n, "allocator solve --out peak RSS", mine["peak_rss_mb"], unit="MB",
              floor=floor["peak_rss_mb"], target=2.0, note="target 4; each in a fresh process, workers 1")


def _last_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ 5. the command line


def cli(table: Table, source: str, path: Path, repeat: int, scratch: Path) -> None:
    times = []
    for k in range(repeat):
        cmd = [sys.executable, "-m", "allocator", "solve", str(path), "--out", str(scratch / f"cli_{source}"),
               "--force"]
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=HERE.parent)
        times.append(time.perf_counter() - t0)
    table.add("cli", source, 1, "allocator solve (whole process)", min(times), floor=1.5, target=1.0,
              note="target 5: under 1.5 s (ratio = seconds / 1.5)")


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default="1,10,50", help="site counts, comma separated [default: 1,10,50]")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept [default: 3]")
    parser.add_argument("--sources", default=",".join(SOURCES), help=f"site sources [default: {','.join(SOURCES)}]")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV to write [default: benchmarks/results/<UTC time>.csv]")
    parser.add_argument("--skip", default="", help="experiments to skip, comma separated (e.g. coupled,memory)")
    parser.add_argument("--hb-west", type=Path, default=None,
                        help="HB_WEST hourly price file (default: the one in ../shared/data/raw)")
    args = parser.parse_args(argv)
    if args.hb_west is not None:
        import sites as bench_sites

        bench_sites.HB_WEST = args.hb_west.resolve()
    counts = sorted({int(x) for x in args.sites.split(",") if x.strip()})
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    out = args.out or HERE / "results" / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.csv"
    _quiet_highs()  # HiGHS's banner, once, away from the table
    load = os.getloadavg()
    print(f"# {platform.node()} {platform.python_version()} cores {os.cpu_count()} "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; best of {args.repeat}")
    table = Table()
    table.header()
    with tempfile.TemporaryDirectory(prefix="allocator-bench-") as tmp:
        scratch = Path(tmp)
        for source in [s.strip() for s in args.sources.split(",") if s.strip()]:
            why = available(source)
            if why:
                print(f"# {why}")
                continue
            paths = write_sites(scratch / source, source, max(counts))
            if "site_year" not in skip:
                site_year(table, source, paths[0], args.repeat, scratch)
            if "cli" not in skip:
                cli(table, source, paths[0], args.repeat, scratch)
            for n in counts:
                if n > 1 and "independent" not in skip:
                    independent(table, source, paths[:n], args.repeat, serial=n <= 10)
                if n > 1 and "coupled" not in skip:
                    coupled(table, source, paths[:n], args.repeat, scratch)
            if "memory" not in skip:
                memory(table, source, paths[:max(counts)], scratch)
    load = os.getloadavg()
    print(f"# load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    table.write(out)
    print(f"# wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
