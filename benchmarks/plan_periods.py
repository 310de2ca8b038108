"""NPV error of the plan's representative hours against every hour of the price year.

Solves `allocator plan` on the bundled campuses (plan and business as usual,
each site its own LP) with k price levels per month and with every hour
(k = 0, the reference), and prints NPV, error and wall time per k.

    .venv/bin/python benchmarks/plan_periods.py            # k = 0, 6, 12, 24, 48
    .venv/bin/python benchmarks/plan_periods.py --bins 24  # one k against full hours
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", default="6,12,24,48", help="comma-separated price levels per month")
    parser.add_argument("--sites", nargs="*", default=[str(REPO / "sites" / "west_texas.toml"),
                                                       str(REPO / "sites" / "permian_hybrid.toml")])
    args = parser.parse_args()
    from allocator.plan.site_plan import solve_plan
    from allocator.inputs.site import load_site

    sites = [load_site(p) for p in args.sites]

    def run(bins: int):
        t0 = time.perf_counter()
        result = solve_plan(sites, bins_per_month=bins)
        return result, time.perf_counter() - t0

    ref, ref_s = run(0)
    print(f"{'k/month':>8} {'hours/yr':>9} {'scope':<16} {'plan NPV USD':>16} {'error':>9} "
          f"{'conversion NPV USD':>19} {'error':>9} {'seconds':>8}")
    rows = [(0, ref, ref_s)] + [(k, *run(k)) for k in (int(x) for x in args.bins.split(","))]
    ref_summary = ref.summary.set_index("scope")
    for k, result, seconds in rows:
        summary = result.summary.set_index("scope")
        hours = len(result.sites[0].block.data.years[0].weight_h)
        for scope, r in summary.iterrows():
            base = ref_summary.loc[scope]
            err = (r.npv_usd - base.npv_usd) / abs(base.npv_usd)
            cerr = (r.conversion_npv_usd - base.conversion_npv_usd) / abs(base.conversion_npv_usd)
            print(f"{k:>8} {hours:>9} {scope:<16} {r.npv_usd:>16,.0f} {err:>9.4%} "
                  f"{r.conversion_npv_usd:>19,.0f} {cerr:>9.4%} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
