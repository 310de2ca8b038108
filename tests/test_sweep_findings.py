"""A sweep ends with what it found, and warns up front when its field makes every scenario a rebuild."""

from __future__ import annotations

import pytest

from allocator.whatif.reuse import SiteScenarios
from allocator.whatif.sweep_findings import REBUILD_PATH, rebuild_paths
from conftest import write_site
from test_cli import invoke

# 10 MW of halls; per IT MW-year AI nets 12000 * rate (no capex, no opex), mining (100 - 20) * 8760 =
# 700,800 USD: AI takes the halls when the lease rate is above 58.4 USD/kW-month
DOC = {
    "site": {"interconnect_mw": 10.0, "facility_mw": 10.0},
    "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
               "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 10.0}]},
    "ai": {"pue": 1.0, "convertible_mw": 10.0, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
}
HOURS = 24
YEARS = HOURS / 8760


def test_sweep_summary_gives_ranges_and_failed_points(tmp_path):
    site = write_site(tmp_path, [20.0] * HOURS, DOC)
    out = tmp_path / "sweep"
    # rates 0, 50, 100; caps: 12 MW (the interconnect binds at 10), and -5 (a bad value: input_error)
    code, stdout, err = invoke(["sweep", str(site), "--vary", "ai.lease[0].rate_usd_per_kw_month=0:100:3",
                                "--vary", "site.interconnect_mw=12,-5", "--out", str(out), "--workers", "1"])
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith("sweep: 6 scenario rows: 3 input_error, 3 optimal")
    mining_net = 10 * (100 - 20) * HOURS  # all mining: 19,200 USD over the 24 hours
    ai_net = 10 * 100 * 12000 * YEARS  # rate 100: the halls leased, 32,876.7 USD
    assert lines[1] == (f"  tiny: 3 of 6 points optimal; AI IT MW 0.0 to 10.0, mining IT MW 0.0 to 10.0, "
                        f"net USD {mining_net:,.0f} to {ai_net:,.0f} (max net at "
                        "ai.lease[0].rate_usd_per_kw_month=100, site.interconnect_mw=12)")
    assert lines[2].startswith("    input_error: 3: s00002 (ai.lease[0].rate_usd_per_kw_month=0, "
                               "site.interconnect_mw=-5); s00004 (")
    assert "first error: " in lines[2] and "site.interconnect_mw" in lines[2]
    assert "note:" not in err


def test_sweep_of_a_pue_says_up_front_it_is_slower(tmp_path):
    site = write_site(tmp_path, [20.0] * HOURS, DOC)
    code, stdout, err = invoke(["sweep", str(site), "--vary", "mining.pue=1.0,1.1", "--out", str(tmp_path / "a"),
                                "--workers", "1"])
    assert code == 0
    assert "mining.pue changes the LP's matrix" in err and "about 10x slower" in err
    # no note when the model is rebuilt anyway, or for a field that re-solves warm
    code, _, err = invoke(["sweep", str(site), "--vary", "mining.pue=1.0,1.1", "--no-reuse",
                           "--out", str(tmp_path / "b"), "--workers", "1"])
    assert code == 0 and "note:" not in err
    code, _, err = invoke(["sweep", str(site), "--vary", "mining.hashprice_usd_per_ph_day=40,50",
                           "--out", str(tmp_path / "c"), "--workers", "1"])
    assert code == 0 and "note:" not in err


def test_monte_carlo_sampling_a_pue_says_so_too(tmp_path):
    site = write_site(tmp_path, [20.0] * HOURS, DOC)
    dists = tmp_path / "d.toml"
    dists.write_text('seed = 1\n[[param]]\npath = "ai.pue"\ndist = "triangular"\nlow = 1.1\nmode = 1.2\nhigh = 1.3\n'
                     '[[param]]\npath = "mining.hashprice_usd_per_ph_day"\ndist = "normal"\nmean = 48.0\nsd = 2.0\n')
    code, stdout, err = invoke(["sweep", str(site), "--samples", "3", "--distributions", str(dists),
                                "--out", str(tmp_path / "mc"), "--workers", "1"])
    assert code == 0, err
    assert err.startswith("note: ai.pue changes the LP's matrix") and "mining.hashprice" not in err
    assert "tiny: 3 of 3 points optimal" in stdout


FIELDS = {
    "site.interconnect_mw": (10.0, 9.0), "site.facility_mw": (10.0, 9.5), "prices.adder_usd_per_mwh": (1.0, 2.0),
    "mining.pue": (1.05, 1.1), "mining.pool_fee_frac": (0.01, 0.02), "mining.opex_usd_per_mw_year": (1e3, 2e3),
    "mining.hashprice_usd_per_ph_day": (40.0, 50.0), "mining.min_uptime_frac": (0.1, 0.2),
    "mining.fleet[0].efficiency_j_per_th": (20.0, 21.0), "mining.fleet[0].mw": (10.0, 9.0),
    "ai.pue": (1.1, 1.2), "ai.convertible_mw": (8.0, 7.0), "ai.utilization_frac": (0.8, 0.7),
    "ai.fitout_capex_usd_per_mw": (1e5, 2e5), "ai.opex_usd_per_mw_year": (1e3, 2e3),
    "ai.lease[0].rate_usd_per_kw_month": (50.0, 60.0), "ai.lease[0].max_mw": (5.0, 4.0),
}


@pytest.mark.parametrize("path", sorted(FIELDS))
def test_rebuild_fields_are_those_that_pass_the_model_anew(tmp_path, path):
    # the warning's list of fields against what allocator.whatif.reuse really does with two scenarios
    runner = SiteScenarios(write_site(tmp_path, [20.0 + h for h in range(HOURS)], DOC))
    for value in FIELDS[path]:
        assert runner.run({path: value}).status == "optimal"
    assert (runner.solver.rebuilt == 2) == bool(REBUILD_PATH.match(path))
    assert rebuild_paths([path]) == ([path] if runner.solver.rebuilt == 2 else [])
