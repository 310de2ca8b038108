"""`allocator solve SITE --out DIR` as a whole process, against an independent scipy/HiGHS process.

The independent process does what any short Python program would to get the
same answer: import numpy and scipy, read the site's price file with numpy,
load the same LP (an ``.npz`` of the matrix ``allocator solve`` builds, made
before timing), solve it with ``scipy.optimize.linprog(method="highs-ipm")``
(HiGHS's interior point, its fastest setting on this LP) and write the column
values as CSV. It does not get faster when allocator does,
so the ratio holds on a faster or slower machine.

Each command runs ``--repeat`` times, interleaved, and the best wall time is
kept (the shared machine's slow spells only ever add time). Also printed: the
bare interpreter (``python -c pass``), the import time of the solve path
(``-X importtime``, the sum of the top-level imports) and the phases of the
best run from its manifest.

    python benchmarks/startup.py [--site sites/west_texas.toml] [--repeat 5] [--solvers auto,highs]

Needs scipy (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: the issue's targets for the whole process [s] and its ratio to the independent process
TARGET_S = 0.35
TARGET_RATIO = 0.35


def independent(npz: str, price_file: str, column: str, out: str) -> None:
    """In its own process: read the prices with numpy, solve the LP with scipy's HiGHS, write the columns."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, vstack

    with open(price_file, encoding="utf-8") as fh:
        names = fh.readline().strip().split(",")
    prices = np.loadtxt(price_file, delimiter=",", skiprows=1, usecols=names.index(column))
    d = np.load(npz)
    n_rows, n_cols = int(d["n_rows"]), d["col_cost"].size
    a = coo_matrix((d["coef"], (d["row"], d["col"])), shape=(n_rows, n_cols)).tocsr()
    lo, up = d["row_lower"], d["row_upper"]
    eq = np.isfinite(lo) & (lo == up)
    le = np.isfinite(up) & ~eq
    ge = np.isfinite(lo) & ~eq
    res = linprog(-d["col_cost"], A_ub=vstack([a[le], -a[ge]]).tocsr(), b_ub=np.r_[up[le], -lo[ge]],
                  A_eq=a[eq] if eq.any() else None, b_eq=lo[eq] if eq.any() else None,
                  bounds=np.column_stack([d["col_lower"], d["col_upper"]]), method="highs-ipm")
    if res.status != 0:
        raise SystemExit(f"independent solve failed: {res.message}")
    np.savetxt(out, res.x, delimiter=",", header="value", comments="")
    print(json.dumps({"objective_usd": -res.fun, "hours": int(prices.size)}))


def prepare(site_path: Path, folder: Path) -> tuple[list[str], float]:
    """The independent process's command line for ``site_path``, and allocator's objective (HiGHS)."""
    from allocator import load_site
    from allocator.lp import model
    from allocator.lp.results import solve_site

    site = load_site(site_path)
    lp = model.build([site])
    arr = lp.arrays()
    npz = folder / "lp.npz"
    np.savez(npz, n_rows=lp.n_rows, **{k: arr[k] for k in ("col_cost", "col_lower", "col_upper", "row_lower",
                                                           "row_upper", "row", "col", "coef")})
    price_file = site_path.parent / site.config.prices.file
    objective = solve_site(site, "highs", None)[0].objective_usd
    return ([sys.executable, str(Path(__file__).resolve()), "--independent", str(npz), str(price_file),
             site.config.prices.column, str(folder / "independent.csv")], objective)


def wall(cmd: list[str]) -> tuple[float, str]:
    """Wall time of ``cmd`` [s] and its stdout; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, proc.stdout


def import_seconds(cmd: list[str]) -> tuple[float, dict[str, float]]:
    """The imports of ``cmd`` under ``-X importtime`` [s]: the total, and each library's own share (the
    self time of its modules, by top-level package name)."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=REPO, capture_output=True, text=True)
    by_library: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)$", line)
        if match:
            root = match.group(3).split(".")[0]
            by_library[root] = by_library.get(root, 0.0) + int(match.group(1)) / 1e6
    return sum(by_library.values()), dict(sorted(by_library.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "sites" / "west_texas.toml")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--solvers", default="auto,highs")
    args = parser.parse_args()
    solvers = [s for s in args.solvers.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="startup_bench_") as tmp:
        folder = Path(tmp)
        ref_cmd, highs_objective = prepare(args.site.resolve(), folder)
        commands = {"python -c pass": [sys.executable, "-c", "pass"], "independent scipy/HiGHS": ref_cmd}
        for solver in solvers:  # a new --out folder each run: the plain `solve SITE --out DIR`, no --force
            commands[f"allocator solve --solver {solver}"] = [
                sys.executable, "-m", "allocator", "solve", str(args.site), "--out", "", "--solver", solver]
        best: dict[str, float] = dict.fromkeys(commands, float("inf"))
        phases: dict[str, dict] = {}
        for i in range(args.repeat):
            for name, cmd in commands.items():
                if "--out" in cmd:
                    cmd[cmd.index("--out") + 1] = str(folder / f"run_{cmd[-1]}_{i}")
                seconds, stdout = wall(cmd)
                if seconds < best[name]:
                    best[name] = seconds
                    if name.startswith("allocator"):
                        run = Path(cmd[cmd.index("--out") + 1])
                        phases[name] = json.loads((run / "manifest.json").read_text())["seconds"]
                if name.startswith("independent"):
                    objective = json.loads(stdout)["objective_usd"]
                    if abs(objective - highs_objective) > 1e-6 * abs(highs_objective):
                        raise SystemExit(f"the independent objective {objective} is not allocator's {highs_objective}")
        imports = {}
        for name, cmd in commands.items():
            if name.startswith("allocator"):
                cmd[cmd.index("--out") + 1] = str(folder / f"imports_{cmd[-1]}")
                imports[name] = import_seconds(cmd)
    reference = best["independent scipy/HiGHS"]
    site = args.site.resolve()
    shown = site.relative_to(REPO) if site.is_relative_to(REPO) else site.name  # no machine paths in outputs
    print(f"site {shown}, best of {args.repeat} wall times")
    print(f"{'command':<34} {'best s':>8} {'x indep.':>9} {'imports s':>10}  target")
    for name, seconds in best.items():
        target = (f"<= {TARGET_S} s and <= {TARGET_RATIO}x: "
                  f"{'met' if seconds <= TARGET_S and seconds <= TARGET_RATIO * reference else 'not met'}"
                  if name.startswith("allocator") else "")
        imported = f"{imports[name][0]:>10.3f}" if name in imports else " " * 10
        print(f"{name:<34} {seconds:>8.3f} {seconds / reference:>9.2f} {imported}  {target}")
    for name, (_, by_library) in imports.items():
        print(f"{name} imports by library (s): "
              + ", ".join(f"{k} {v:.3f}" for k, v in list(by_library.items())[:8]))
    for name, sec in phases.items():
        print(f"{name} phases (best run's manifest, s): "
              + ", ".join(f"{k} {v:.3f}" for k, v in sec.items()))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--independent":
        independent(*sys.argv[2:])
    else:
        main()
