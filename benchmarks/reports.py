"""Time to write report.html and report.xlsx for the bundled campuses.

Solves sites/west_texas.toml and sites/permian_hybrid.toml once into a
temporary run folder, then writes both reports --repeat times and prints the
wall and CPU seconds of each phase (read the run folder, html, xlsx): min and
median. CPU time is the steadier figure on a shared machine.

    .venv/bin/python benchmarks/reports.py --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from allocator import solve
    from allocator.reports.excel import write_xlsx
    from allocator.reports.html import write_html
    from allocator.reports.run_files import read_run
    from allocator.reports.run_folder import write_result

    result = solve([REPO / "sites" / "west_texas.toml", REPO / "sites" / "permian_hybrid.toml"])
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_result(result, Path(tmp) / "run")
        timings: dict[str, list[tuple[float, float]]] = {"read": [], "report.html": [], "report.xlsx": []}
        for _ in range(args.repeat):
            for phase in timings:
                wall, cpu = time.perf_counter(), time.process_time()
                if phase == "read":
                    run = read_run(folder)
                elif phase == "report.html":
                    write_html(run, folder / "report.html")
                else:
                    write_xlsx(run, folder / "report.xlsx")
                timings[phase].append((time.perf_counter() - wall, time.process_time() - cpu))
        sizes = {p: (folder / p).stat().st_size for p in ("report.html", "report.xlsx")}
    print(f"bundled campuses: 2 sites x {result.sites[0].site.hours} hours, {args.repeat} repeats "
          "(first-call imports of matplotlib/openpyxl not counted after the first repeat)")
    print(f"{'phase':<12} {'wall min s':>10} {'wall median s':>14} {'cpu min s':>10} {'cpu median s':>13} {'size':>10}")
    total = [0.0, 0.0]
    for phase, rows in timings.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        total[0] += min(walls)
        total[1] += min(cpus)
        size = f"{sizes[phase] / 1e3:,.0f} kB" if phase in sizes else ""
        print(f"{phase:<12} {min(walls):>10.2f} {statistics.median(walls):>14.2f} {min(cpus):>10.2f} "
              f"{statistics.median(cpus):>13.2f} {size:>10}")
    print(f"{'total':<12} {total[0]:>10.2f} {'':>14} {total[1]:>10.2f}")


if __name__ == "__main__":
    main()
