"""`allocator plan` on the bundled campuses against its floor: HiGHS alone on the same two LPs.

    .venv/bin/python benchmarks/plan_bench.py --repeat 5

Per site (each loaded once beforehand), the best of ``--repeat`` runs of:

- ``plan``: :func:`allocator.plan.site_plan.solve_plan` in this process: the plan years laid out on
  representative hours (``plan_data``: hashprice dated in every plan year by ``periods.in_year``),
  the plan and business-as-usual LPs built, solved by HiGHS and read back;
- ``plan, in_year per Timestamp``: the same with the former ``in_year`` (one Timestamp per hour),
  for the before/after ratio in the same run;
- ``plan, callback every iteration``: the same with HiGHS's interrupt callbacks started from the
  first iteration, as the Ctrl-C watch of the plan's solves did before it started them only on
  Ctrl-C and around progress lines (:mod:`allocator.lp.solve_progress`);
- ``floor``: HiGHS alone (``benchmarks/floor.py``: the same options, ``passModel`` on ready arrays
  + ``run``) on the same two LPs.

The machine is shared: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from floor import floor_solve, lp_arrays  # noqa: E402

from allocator.inputs.site import load_site  # noqa: E402
from allocator.lp import solve as solve_mod  # noqa: E402
from allocator.lp.model import LinearModel  # noqa: E402
from allocator.plan import data as plan_data_mod  # noqa: E402
from allocator.plan.data import plan_data  # noqa: E402
from allocator.plan.model import add_plan_block  # noqa: E402
from allocator.plan.site_plan import solve_plan  # noqa: E402


def in_year_per_timestamp(index_utc: pd.DatetimeIndex, year: int) -> pd.DatetimeIndex:
    """The former periods.in_year: a Timestamp + Timedelta per hour."""
    idx = index_utc.tz_convert("UTC") if index_utc.tz is not None else index_utc.tz_localize("UTC")
    start = pd.to_datetime(pd.DataFrame({"year": idx.year, "month": 1, "day": 1})).dt.tz_localize("UTC")
    end = pd.to_datetime(pd.DataFrame({"year": idx.year + 1, "month": 1, "day": 1})).dt.tz_localize("UTC")
    share = ((idx - pd.DatetimeIndex(start)) / (pd.DatetimeIndex(end) - pd.DatetimeIndex(start))).to_numpy(float)
    y0 = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    y1 = pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC")
    return pd.DatetimeIndex(y0 + (y1 - y0) * share)


def every_iteration(run):
    """``allocator.lp.solve.run`` with the interrupt callbacks started before the solve: a Python call
    per simplex and interior-point iteration, as the former Ctrl-C watch made."""
    import highspy

    kinds = highspy.cb.HighsCallbackType

    def started(h) -> None:
        for kind in (kinds.kCallbackSimplexInterrupt, kinds.kCallbackIpmInterrupt):
            h.startCallback(kind)
        run(h)

    return started


def best_s(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sites", nargs="*", default=["west_texas", "permian_hybrid"])
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; best of {args.repeat}")
    print(f"{'site':<16}{'plan s':>8}{'old in_year s':>14}{'cb/iter s':>10}{'floor s':>9}{'plan/floor':>11}"
          f"{'old/floor':>10}{'cb/floor':>9}{'in_year s':>10}{'NPV equal':>10}")
    new_in_year = plan_data_mod.in_year
    for name in args.sites:
        site = load_site(HERE.parent / "sites" / f"{name}.toml")
        data = plan_data(site)
        arrays = []
        for convert in (True, False):
            lp = LinearModel("plan" if convert else "business_as_usual")
            lp.blocks.append(add_plan_block(lp, data, convert=convert))
            arrays.append(lp_arrays(lp))
        solve_plan([site])  # imports and caches warmed
        plan_s, result = best_s(lambda: solve_plan([site]), args.repeat)
        floor_s, _ = best_s(lambda: sum(sum(floor_solve(a)[:2]) for a in arrays), args.repeat)
        plan_data_mod.in_year = in_year_per_timestamp
        try:
            old_s, old = best_s(lambda: solve_plan([site]), args.repeat)
        finally:
            plan_data_mod.in_year = new_in_year
        plain_run = solve_mod.run
        solve_mod.run = every_iteration(plain_run)
        try:
            cb_s, cb = best_s(lambda: solve_plan([site]), args.repeat)
        finally:
            solve_mod.run = plain_run
        years = [y.year for y in data.years]
        in_year_s, _ = best_s(lambda: [new_in_year(site.index, y) for y in years], args.repeat)
        equal = all(result.npv_usd == other.npv_usd and result.bau_npv_usd == other.bau_npv_usd
                    for other in (old, cb))
        print(f"{name:<16}{plan_s:>8.3f}{old_s:>14.3f}{cb_s:>10.3f}{floor_s:>9.3f}{plan_s / floor_s:>11.2f}"
              f"{old_s / floor_s:>10.2f}{cb_s / floor_s:>9.2f}{in_year_s:>10.3f}{'yes' if equal else 'NO':>10}"
              f"  (load {os.getloadavg()[0]:.2f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
