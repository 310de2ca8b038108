"""Structured, HiGHS and PuLP/CBC side by side: one site-year in-process, and 50 site-years through the CLI.

    .venv/bin/python benchmarks/solvers_table.py                      # everything (several minutes)
    .venv/bin/python benchmarks/solvers_table.py --skip cbc,cli       # the in-process table only

1. ``per site``: the bundled campuses and the benchmark's HB_WEST calendar-2024 and -2025 sites
   (``benchmarks/sites.py``; skipped without ``../shared/data/raw``), each loaded once: the
   solver alone on that site (best of ``--repeat``): the structured cutting planes
   (``allocator.lp.structured.solve_structured``), HiGHS's ``run`` on the built LP
   (interior point + crossover, one thread, as ``allocator solve``), and, on the first site only,
   CBC through PuLP (``solve_model(lp, solver="cbc")``: building the PuLP problem, CBC, reading back;
   one run). Every objective is compared with HiGHS's.
2. ``cli``: the whole ``python -m allocator solve SITES... --out DIR --workers 1`` process on
   ``--sites`` generated site-years (imports, loading, solving with the one-sided marginal values,
   writing every table), once with ``--solver structured`` and once with ``--solver highs``.

The machine is shared: the load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import sites as bench_sites  # noqa: E402

from allocator.inputs.site import load_site  # noqa: E402
from allocator.lp import model, structured  # noqa: E402
from allocator.lp.solve import solve_model  # noqa: E402


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def best_s(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def hb_west_years(folder: Path) -> list[Path]:
    """The benchmark's HB_WEST sites 0 and 1 (calendar 2024 and 2025), or none without the raw data."""
    if bench_sites.available("hb_west"):
        print(f"# {bench_sites.available('hb_west')}")
        return []
    return bench_sites.write_sites(folder, "hb_west", 2)


def per_site(paths: list[Path], repeat: int, cbc: bool) -> None:
    print(f"\n{'site':<20}{'hours':>6}{'structured':>12}{'HiGHS':>9}{'HiGHS/str':>10}{'CBC (PuLP)':>12}"
          f"{'rel diff str':>13}{'rel diff CBC':>13}  load")
    for k, path in enumerate(paths):
        site = load_site(path)
        why = structured.not_covered(site)
        if why:
            print(f"{path.stem:<20} not covered by structured: {why}")
            continue
        s_s, opt = best_s(lambda: structured.solve_structured(site), repeat)
        lp = model.build([site])
        h_s, sol = best_s(lambda: solve_model(lp), repeat)
        diff = abs(opt.objective_usd - sol.objective_usd) / max(1.0, abs(sol.objective_usd))
        c_text, c_diff = "", ""
        if cbc and k == 0:
            c_s, c_sol = best_s(lambda: solve_model(model.build([site]), solver="cbc"), 1)
            c_text = f"{c_s:>11.2f}s"
            c_diff = f"{abs(c_sol.objective_usd - sol.objective_usd) / max(1.0, abs(sol.objective_usd)):>13.1e}"
        print(f"{path.stem:<20}{site.hours:>6}{s_s * 1e3:>10.1f}ms{h_s:>8.3f}s{h_s / s_s:>9.0f}x{c_text:>12}"
              f"{diff:>13.1e}{c_diff:>13}  {load()}", flush=True)


def cli(paths: list[Path], source: str, scratch: Path, solvers: tuple[str, ...] = ("structured", "highs")) -> None:
    for solver in solvers:
        out = scratch / f"cli_{source}_{solver}"
        before = load()
        cmd = [sys.executable, "-m", "allocator", "solve", *map(str, paths), "--out", str(out), "--force",
               "--solver", solver, "--workers", "1"]
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
        seconds = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
        print(f"  {len(paths)} {source} site-years, --solver {solver:<10} {seconds:7.1f} s wall {cpu:7.1f} s CPU  "
              f"(load {before} -> {load()}) {status}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sites", type=int, default=50, help="site-years in the CLI run")
    parser.add_argument("--sources", default=",".join(bench_sites.SOURCES))
    parser.add_argument("--skip", default="", help="cbc, cli or per_site, comma separated")
    parser.add_argument("--cli-solvers", default="structured,highs", help="--solver of each cli run, comma separated")
    parser.add_argument("--hb-west", type=Path, default=bench_sites.HB_WEST,
                        help="HB_WEST hourly price file (default: the one in ../shared/data/raw)")
    args = parser.parse_args(argv)
    bench_sites.HB_WEST = args.hb_west.resolve()
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    print(f"# {os.cpu_count()} cores, load average {load()} at the start; best of {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="allocator-solvers-") as tmp:
        scratch = Path(tmp)
        if "per_site" not in skip:
            paths = [bench_sites.REPO / "sites" / "west_texas.toml", bench_sites.REPO / "sites" / "permian_hybrid.toml"]
            per_site(paths + hb_west_years(scratch / "years"), args.repeat, cbc="cbc" not in skip)
        if "cli" not in skip:
            print(f"\nallocator solve, whole process, {args.sites} generated site-years, 1 worker:")
            for source in [s.strip() for s in args.sources.split(",") if s.strip()]:
                why = bench_sites.available(source)
                if why:
                    print(f"# {why}")
                    continue
                cli(bench_sites.write_sites(scratch / source, source, args.sites), source, scratch,
                    tuple(x.strip() for x in args.cli_solvers.split(",") if x.strip()))
    print(f"# load average {load()} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
