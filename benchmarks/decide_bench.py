"""`allocator decide` over 100 and 1,000 futures, as a ratio to an independent solve of the base site.

The unit is a separate Python process that solves the base site's LP once with
``scipy.optimize.linprog(method="highs")`` (the LP is handed over as an ``.npz``
of the same matrix ``allocator solve`` builds; only the ``linprog`` call is
timed): it does not get faster when allocator does. Then ``allocator decide``
runs in its own process on the same site with the bundled scenario file
(``scenarios/decide_campuses.toml``: BTC/difficulty/rate/adder samples crossed
with bootstrapped price paths) at each number of futures, and reports its wall
time, the ratio, and its peak RSS (``VmHWM``; one process, ``--workers 1``).

    python benchmarks/decide_bench.py [--site sites/west_texas.toml] [--futures 100,1000]

Needs scipy (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def export_lp(site_path: Path, npz: Path) -> tuple[float, float]:
    """Write the base site's LP (coordinate form) to ``npz``; return allocator's own optimum [USD] and
    its HiGHS solve time [s] (shown beside the reference, for scale)."""
    sys.path.insert(0, str(REPO))
    from allocator.lp import model
    from allocator.inputs.site import load_site
    from allocator.lp.solve import solve_model

    lp = model.build([load_site(site_path)])
    arr = lp.arrays()
    np.savez(npz, n_rows=lp.n_rows, **{k: arr[k] for k in ("col_cost", "col_lower", "col_upper", "row_lower",
                                                             "row_upper", "row", "col", "coef")})
    sol = solve_model(lp)
    return sol.objective_usd, sol.seconds["solve"]


def reference(npz: str) -> None:
    """In its own process: solve the LP with scipy's HiGHS; print JSON {solve_s, objective_usd}."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    d = np.load(npz)
    n_rows, n_cols = int(d["n_rows"]), d["col_cost"].size
    a = coo_matrix((d["coef"], (d["row"], d["col"])), shape=(n_rows, n_cols)).tocsr()
    lo, up = d["row_lower"], d["row_upper"]
    eq = np.isfinite(lo) & (lo == up)
    le = np.isfinite(up) & ~eq
    ge = np.isfinite(lo) & ~eq
    from scipy.sparse import vstack

    a_ub = vstack([a[le], -a[ge]]).tocsr()
    b_ub = np.r_[up[le], -lo[ge]]
    bounds = np.column_stack([d["col_lower"], np.where(np.isfinite(d["col_upper"]), d["col_upper"], np.inf)])
    t0 = time.perf_counter()
    res = linprog(-d["col_cost"], A_ub=a_ub, b_ub=b_ub, A_eq=a[eq] if eq.any() else None,
                  b_eq=lo[eq] if eq.any() else None, bounds=bounds, method="highs")
    seconds = time.perf_counter() - t0
    if res.status != 0:
        raise SystemExit(f"reference solve failed: {res.message}")
    print(json.dumps({"solve_s": seconds, "objective_usd": -res.fun}))


def run_decide(args: list[str]) -> None:
    """In its own process: run ``allocator decide ARGS``; print JSON {code, peak_rss_mb}."""
    sys.path.insert(0, str(REPO))
    from allocator.cli import main

    code = main(args)
    rss = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) / 1024.0
    print(json.dumps({"code": code, "peak_rss_mb": rss}))


def _child(*argv: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="sites/west_texas.toml")
    parser.add_argument("--scenarios", default="scenarios/decide_campuses.toml")
    parser.add_argument("--futures", default="100,1000")
    parser.add_argument("--risk-weight", default="0.0")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "base.npz"
        own, own_s = export_lp(REPO / ns.site, npz)
        ref = _child("--reference", str(npz))
        assert abs(ref["objective_usd"] - own) <= 1e-6 * abs(own), (ref, own)
        print(f"reference: scipy.optimize.linprog(method='highs') on {ns.site} once: {ref['solve_s']:.3f} s "
              f"(objective {ref['objective_usd']:,.0f} USD, allocator's {own:,.0f}); allocator's own HiGHS "
              f"solve of the same LP: {own_s:.3f} s")
        print(f"{'futures':>8} {'decide_s':>9} {'ratio':>7} {'vs_own_solve':>12} {'peak_rss_mb':>12}")
        for n in [int(x) for x in ns.futures.split(",")]:
            out = Path(tmp) / f"decide_{n}"
            t0 = time.perf_counter()
            res = _child("--decide", ns.site, "--scenarios", ns.scenarios, "--samples", str(n), "--out", str(out),
                         "--workers", "1", "--risk-weight", ns.risk_weight)
            wall = time.perf_counter() - t0
            if res["code"] != 0:
                raise SystemExit(f"decide exited {res['code']}")
            print(f"{n:>8} {wall:>9.2f} {wall / ref['solve_s']:>7.1f} {wall / own_s:>12.1f} "
                  f"{res['peak_rss_mb']:>12.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--reference":
        reference(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--decide":
        run_decide(["decide", *sys.argv[2:]])
    else:
        main()
