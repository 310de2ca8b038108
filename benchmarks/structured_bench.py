"""One site-year in-process: the structured solver against HiGHS on the same site, in the same run.

For each site (the bundled campuses, and the West Texas campus on real HB_WEST
2024 prices when ``../shared/data/raw`` is there) it times, after loading the
site once:

- ``structured``: :func:`allocator.lp.structured.solve_structured` alone (the cutting planes and
  the hourly dispatch);
- ``structured site``: ``solve_site(site, "structured")``, what ``allocator solve --solver structured``
  does per site (LP layout for the duals, extraction, financials, marginal values);
- ``highs``: HiGHS alone on the built LP (:func:`allocator.lp.solve.solve_model`, the floor);
- ``highs site``: ``solve_site(site, "highs")``.

Each site is also run in three variants built in memory, so the terms the structured solver
covers beyond the base model are timed on a whole year: ``+sla`` (``min_uptime_frac = 0.995``,
binding on the bundled sites; its fleets compete for the hours), ``+sla1`` (the same, its first
fleet alone) and ``+4cp+ppa`` (a 4CP charge of
60,000 USD/MW-year on probabilities spread over every summer afternoon, 15-18 h Central in
June-September, and a physical 30 MW block at 35 USD/MWh all year) and ``+dr`` (demand response:
ECRS at 5 USD/MW-hour up to 100 MW, an ERS-style annual program at 30,000 USD/MW-year deployed
for 4 hours from the year's highest price, and a stacking program at 2 USD/MW-hour up to 60 MW
deployed for 2 hours from the second highest). ``docs/examples/west_texas_power.toml`` (4CP,
contracts, TOU, hourly ECRS) is timed too.

Each is the median of ``--repeat`` runs; the table gives the ratios to ``structured`` and the
relative objective difference. Usage, from the repository root::

    .venv/bin/python benchmarks/structured_bench.py [--repeat 5] [--hb-west PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sites as bench_sites  # noqa: E402

from allocator.inputs.site import load_site  # noqa: E402
from allocator.lp import model, structured  # noqa: E402
from allocator.lp.results import solve_site  # noqa: E402
from allocator.lp.solve import solve_model  # noqa: E402
from allocator.power.market import Contract, PowerMarket, Program  # noqa: E402


def variants(name: str, site):
    """The site, its one-fleet uptime-SLA variant and its 4CP + physical contract variant (module docstring)."""
    yield name, site
    config = site.config.model_copy(deep=True)
    config.mining.min_uptime_frac = 0.995
    yield f"{name}+sla", dataclasses.replace(site, config=config)
    config = config.model_copy(deep=True)
    config.mining.fleet = config.mining.fleet[:1]
    yield f"{name}+sla1", dataclasses.replace(site, config=config)
    hub = site.price_usd_per_mwh if site.power is None else site.power.hub_price_usd_per_mwh
    # 4CP probabilities: every summer afternoon (15-18 h Central, June-September) equally likely
    summer = np.isin(site.index.month, [6, 7, 8, 9]) & np.isin(site.index.hour, [20, 21, 22, 23])
    peaks = summer / max(1, summer.sum())
    market = PowerMarket(hub.copy(), site.price_usd_per_mwh - hub,
                         contracts=[Contract("ppa", "physical", 35.0, np.full(site.hours, 30.0))],
                         peak_charge_usd_per_mw_year=60_000.0, peak_weight_frac=peaks, peak_charge_share_frac=1.0)
    yield f"{name}+4cp+ppa", dataclasses.replace(site, power=market)
    yield f"{name}+dr", dataclasses.replace(site, power=demand_response(site, hub))


def demand_response(site, hub: np.ndarray) -> PowerMarket:
    """The ``+dr`` variant's programs (module docstring) on the site's hours."""
    n_h = site.hours
    every = np.ones(n_h, bool)
    first, second = np.argsort(-hub)[:2]
    ers_days = np.zeros(n_h, bool)
    ers_days[first:first + 4] = True
    spin_days = np.zeros(n_h, bool)
    spin_days[second:second + 2] = True
    programs = [Program("ecrs", False, np.full(n_h, 5.0), every, np.zeros(n_h, bool), 100.0, False),
                Program("ers", True, np.full(n_h, 30_000.0 / 8760.0), every, ers_days, np.inf, False),
                Program("nonspin", False, np.full(n_h, 2.0), every, spin_days, 60.0, True)]
    return PowerMarket(hub.copy(), site.price_usd_per_mwh - hub, programs=programs)


def median_s(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeat`` runs [s] and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hb-west", type=Path, default=bench_sites.HB_WEST,
                        help="HB_WEST hourly price file (default: the one in ../shared/data/raw)")
    args = parser.parse_args(argv)
    paths = [bench_sites.REPO / "sites" / "west_texas.toml", bench_sites.REPO / "sites" / "permian_hybrid.toml",
             bench_sites.REPO / "docs" / "examples" / "west_texas_power.toml"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.hb_west.is_file():
            bench_sites.HB_WEST = args.hb_west.resolve()
            paths += bench_sites.write_sites(Path(tmp), "hb_west", 1)  # site 0: calendar 2024
        else:
            print(f"# {args.hb_west} is absent: HB_WEST 2024 skipped")
        rows = []
        for name, site in (v for path in paths for v in variants(path.stem, load_site(path))):
            if structured.not_covered(site):
                print(f"# {name}: {structured.not_covered(site)}: skipped")
                continue
            s_core, opt = median_s(lambda: structured.solve_structured(site), args.repeat)
            s_site, _ = median_s(lambda: solve_site(site, "structured", None), args.repeat)
            lp = model.build([site])
            h_core, sol = median_s(lambda: solve_model(lp), args.repeat)
            h_site, _ = median_s(lambda: solve_site(site, "highs", None), args.repeat)
            diff = abs(opt.objective_usd - sol.objective_usd) / max(1.0, abs(sol.objective_usd))
            rows.append((name, site.hours, opt.iterations, s_core, s_site, h_core, h_site, diff))
    print(f"{'site':<26}{'hours':>6}{'cuts':>5}{'structured':>12}{'str. site':>11}{'highs':>9}{'highs site':>11}"
          f"{'highs/str':>10}{'site ratio':>11}{'rel diff':>10}")
    for name, hours, cuts, s_core, s_site, h_core, h_site, diff in rows:
        print(f"{name:<26}{hours:>6}{cuts:>5}{s_core * 1e3:>10.1f}ms{s_site * 1e3:>9.1f}ms{h_core:>8.3f}s"
              f"{h_site:>10.3f}s{h_core / s_core:>9.0f}x{h_site / s_site:>10.1f}x{diff:>10.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
