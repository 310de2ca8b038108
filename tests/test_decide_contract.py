"""`allocator decide` against its contract, item by item: exactness on a few hundred futures, the run
folder's nets re-solved by HiGHS, per-scenario warnings, every problem listed once, the deterministic
candidate without a split, progress with an estimate of the time left, and the fixed memory budget."""

from __future__ import annotations

import json

import highspy
import numpy as np
import pandas as pd
import pytest

from allocator.inputs.overrides import read_raw
from allocator.inputs.site import HOURS_PER_YEAR, load_site
from allocator.lp import model
from allocator.whatif.decide import decide_site
from allocator.whatif.decide_engine import Shard, scenario_site
from allocator.whatif.decide_parallel import Scenarios
from allocator.whatif.decide_program import FirstStage, cvar, solve_extensive, solve_lshaped
from allocator.whatif.decide_progress import Clock, iterations_ahead
from allocator.whatif.decide_scenarios import read_scenarios
from conftest import REPO, write_site
from test_decide import invoke, write
from whatif_sites import campus_month, tiny

# ------------------------------------------------------------------ exactness at a few hundred futures

HOURS = 48


def two_fleet_site(tmp_path, min_uptime_frac: float = 0.0):
    """Two days of swinging prices, a lease with a floor, two fleets of different efficiency."""
    rng = np.random.default_rng(3)
    prices = list(np.round(20.0 + 60.0 * rng.random(HOURS), 2))
    doc = {"site": {"interconnect_mw": 100.0, "facility_mw": 100.0},
           "mining": {"pue": 1.1, "hashprice_usd_per_ph_day": 50.0, "min_uptime_frac": min_uptime_frac,
                      "fleet": [{"model": "new", "efficiency_j_per_th": 17.0, "mw": 60.0},
                                {"model": "old", "efficiency_j_per_th": 30.0, "mw": 60.0}]},
           "ai": {"pue": 1.25, "convertible_mw": 60.0,
                  "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0, "min_mw": 10.0, "max_mw": 60.0}]}}
    return write_site(tmp_path, prices, doc, site_id="two_fleet")


SAMPLES = """
[sample]
count = {count}
seed = 21
[[sample.param]]
path = "{hashprice}"
dist = "uniform"
low = {low}
high = {high}
[[sample.param]]
path = "ai.lease[0].rate_usd_per_kw_month"
dist = "uniform"
low = 60.0
high = 160.0
[[sample.param]]
path = "prices.adder_usd_per_mwh"
dist = "uniform"
low = 0.0
high = 25.0
"""

HASHPRICE = {"hashprice": "mining.hashprice_usd_per_ph_day", "low": 25.0, "high": 110.0}
BTC = {"hashprice": "mining.hashprice.btc_price_usd", "low": 50000.0, "high": 200000.0}


@pytest.mark.parametrize("min_uptime_frac, count", [(0.0, 300), (0.6, 200)])
@pytest.mark.parametrize("weight, alpha", [(0.0, 0.1), (0.7, 0.05)])
def test_hundreds_of_futures_equal_the_extensive_form(tmp_path, weight, alpha, min_uptime_frac, count):
    """Hundreds of sampled futures (closed-form second stages, or LPs with an uptime SLA), on a 2 MB
    memory budget so most futures are rebuilt at each evaluation: the cutting planes' optimum is the
    optimum of the one HiGHS LP holding every future's rows."""
    site = two_fleet_site(tmp_path, min_uptime_frac)
    sset = read_scenarios(write(tmp_path / "sc.toml", SAMPLES.format(count=count, **HASHPRICE)))
    prob = np.array([s.probability_frac for s in sset.scenarios])
    with Scenarios(str(site), sset.scenarios, memory_bytes=2 * 2**20) as sc:
        first = FirstStage.of(load_site(site), min(i.min_cap_mw for i in sc.infos))
        decision = solve_lshaped(first, sc, prob, weight, alpha)
    base, raw = load_site(site), read_raw(site)
    sites = [scenario_site(base, raw, s)[0] for s in sset.scenarios]
    y, obj = solve_extensive(first, sites, prob, weight, alpha)
    assert decision.gap_frac <= 1e-6
    assert decision.objective_usd_per_year == pytest.approx(obj, rel=1e-6)
    # the optimum is unique here: the split is the extensive form's too
    assert decision.y_mw == pytest.approx(y, abs=1e-3)
    # and the objective is what the nets say: (1 - w) E[net] + w CVaR
    net = decision.net_usd_per_year
    assert decision.objective_usd_per_year == pytest.approx((1 - weight) * prob @ net
                                                            + weight * cvar(net, prob, alpha), rel=1e-9)


# ------------------------------------------------------------------ the run folder re-solved


def _fixed_resolve(site, y: np.ndarray) -> tuple[float, float]:
    """The scenario's own LP with the first stage fixed at ``y``, solved by a fresh HiGHS: (net [USD/year],
    mined IT MWh)."""
    from allocator.lp.matrix import pass_model

    lp = model.build([site], name="check")
    block = lp.blocks[0]
    cols = np.concatenate([block.lease_cols, block.fleet_cols])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    pass_model(h, lp)
    h.changeColsBounds(cols.size, cols.astype(np.int32), y, y)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    x = np.asarray(h.getSolution().col_value)
    return h.getInfo().objective_function_value * HOURS_PER_YEAR / site.hours, float(x[block.run_cols.ravel()].sum())


def test_bundled_run_folder_nets_are_fresh_highs_resolves(tmp_path):
    """west_texas over 6 bootstrapped futures: each scenarios.csv net and MWh is a fresh HiGHS solve of that
    future's LP with the decision fixed; expected, CVaR and worst follow from them; the tail is the
    lowest nets reaching alpha."""
    out = tmp_path / "out"
    scenarios = REPO / "scenarios" / "decide_campuses.toml"
    code, _, err = invoke(["decide", str(REPO / "sites" / "west_texas.toml"), "--scenarios", str(scenarios),
                           "--samples", "6", "--out", str(out), "--risk-alpha", "0.3"])
    assert code == 0, err
    decision = pd.read_csv(out / "decision.csv")
    y = decision[decision.kind != "total"].it_mw.to_numpy(float)
    table = pd.read_csv(out / "scenarios.csv")
    sset = read_scenarios(scenarios, samples=6)
    base = load_site(REPO / "sites" / "west_texas.toml")
    raw = read_raw(REPO / "sites" / "west_texas.toml")
    for row, s in zip(table.itertuples(), sset.scenarios):
        site = scenario_site(base, raw, s, sset.prices, sset.seed)[0]
        net, energy = _fixed_resolve(site, y)
        assert row.scenario_id == s.id
        assert row.net_usd_per_year == pytest.approx(net, rel=1e-9)
        assert row.mining_energy_mwh == pytest.approx(energy, rel=1e-9, abs=1e-6)
        assert row.mining_uptime_frac == pytest.approx(energy / (y[1:].sum() * site.hours))
    net, prob = table.net_usd_per_year.to_numpy(), table.probability_frac.to_numpy()
    assert prob == pytest.approx(np.full(6, 1 / 6))
    lowest = np.sort(net)
    # alpha 0.3 of six equally likely futures: the lowest one whole and 0.8 of the second
    assert cvar(net, prob, 0.3) == pytest.approx((lowest[0] + 0.8 * lowest[1]) / 1.8)
    assert set(table.net_usd_per_year[table.in_tail]) == {lowest[0], lowest[1]}
    cand = pd.read_csv(out / "candidates.csv").set_index("candidate").loc["stochastic"]
    assert cand.expected_net_usd_per_year == pytest.approx(net.mean(), rel=1e-12)
    assert cand.cvar_net_usd_per_year == pytest.approx((lowest[0] + 0.8 * lowest[1]) / 1.8, rel=1e-12)
    assert cand.worst_net_usd_per_year == pytest.approx(lowest[0], rel=1e-12)


# ------------------------------------------------------------------ per-scenario warnings


def test_scenario_warnings_reach_the_console_and_the_manifest(tmp_path):
    """A lease rate that looks per kW-year in one scenario, a price file in cents/kWh in another, and the
    same slip in every sample of a sampled set: each said once, naming its scenarios."""
    site = tiny(tmp_path)
    idx = pd.date_range("2024-01-01T00:00Z", periods=24, freq="h")
    pd.DataFrame({"interval_start": idx.strftime("%Y-%m-%dT%H:%M:%SZ"), "price_usd_per_mwh": [3.0] * 24}).to_csv(
        tmp_path / "cents.csv", index=False)
    scenarios = write(tmp_path / "sc.toml", """
[[scenario]]
name = "calm"
[[scenario]]
name = "slip"
[scenario.set]
"ai.lease[0].rate_usd_per_kw_month" = 1500.0
[[scenario]]
name = "cents"
[scenario.set]
"prices.file" = "cents.csv"
""")
    out = tmp_path / "out"
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out)])
    assert code == 0, err
    lines = [x for x in err.splitlines() if x.startswith("warning: ")]
    assert len(lines) == 2, err
    assert any(x.startswith("warning: scenario slip: ") and "rate_usd_per_kw_month" in x and "per kW-year" in x
               for x in lines)
    assert any(x.startswith("warning: scenario cents: ") and "cents per kWh" in x for x in lines)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["warnings"]) == sorted(x[len("warning: "):] for x in lines)
    assert str(tmp_path / "cents.csv") in manifest["inputs_sha256"]  # the scenario's own file is hashed

    sampled = write(tmp_path / "samples.toml", """
[sample]
count = 8
seed = 1
[[sample.param]]
path = "ai.lease[0].rate_usd_per_kw_month"
dist = "uniform"
low = 1500.0
high = 1600.0
""")
    code, _, err = invoke(["decide", str(site), "--scenarios", str(sampled), "--out", str(tmp_path / "o2")])
    assert code == 0, err
    lines = [x for x in err.splitlines() if x.startswith("warning: ")]
    # each draw differs, so each is its own warning; the site file's own rate raises none
    assert len(lines) == 8 and all("per kW-year" in x for x in lines)


def test_identical_problems_of_many_samples_are_said_once(tmp_path):
    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", """
[sample]
count = 9
[[sample.param]]
path = "prices.adder_usd_per_mwh"
dist = "uniform"
low = -1e9
high = -1e8
[sample.prices]
history_start = "2024-01-05"
history_end = "2024-01-01"
""")
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o")])
    assert code == 1
    # the history window is named once, for the scenario file's field (not once per sample)
    assert err.count("is not before end") == 1 and "sample.prices" in err
    assert not (tmp_path / "o").exists()


def test_every_problem_is_listed_whatever_its_kind(tmp_path):
    """A path the site file lacks used not to hide the other scenarios' problems."""
    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", """
[[scenario]]
name = "typo"
[scenario.set]
"mining.nonsense" = 3
[[scenario]]
name = "late"
[scenario.set]
"prices.start" = "2030-01-01"
"prices.end" = "2030-02-01"
[[scenario]]
name = "words"
[scenario.set]
"mining.hashprice_usd_per_ph_day" = "lots"
""")
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "3 problems" in err
    assert "scenario typo: " in err and "nonsense" in err
    assert "scenario late: " in err and "not covered" in err
    assert "scenario words: " in err and "hashprice_usd_per_ph_day" in err


# ------------------------------------------------------------------ the deterministic candidate


def test_deterministic_candidate_without_a_split_is_reported_infeasible(tmp_path):
    """The site file's own event leaves no room for the signed 80 MW; every scenario replaces it with a
    milder one. solve has no split, so the deterministic row is there, infeasible, and VSS is empty."""
    site = tiny(tmp_path, ai={"lease": [{"tenant": "T", "rate_usd_per_kw_month": 50.0, "min_mw": 80.0,
                                         "max_mw": 100.0}]},
                curtailment=[{"start": "2024-01-01T05:00", "end": "2024-01-01T07:00", "cap_mw": 50.0}])
    scenarios = write(tmp_path / "sc.toml", """
[[scenario]]
name = "mild"
[scenario.set]
"curtailment[0]" = { start = "2024-01-01T05:00", end = "2024-01-01T07:00", cap_mw = 90.0 }
[[scenario]]
name = "milder"
[scenario.set]
"curtailment[0]" = { start = "2024-01-01T05:00", end = "2024-01-01T07:00", cap_mw = 95.0 }
""")
    out = tmp_path / "out"
    code, stdout, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out)])
    assert code == 0, err
    assert "  VSS n/a, EVPI $" in stdout  # no unit on a figure that is not defined
    cand = pd.read_csv(out / "candidates.csv").set_index("candidate")
    det = cand.loc["deterministic"]
    assert not det.feasible and pd.isna(det.ai_it_mw) and pd.isna(det.expected_net_usd_per_year)
    assert cand.loc["stochastic"].feasible
    # firm AI in the 90 MW event: at most 90 IT MW at PUE 1
    assert cand.loc["stochastic"].ai_it_mw <= 90.0 + 1e-6
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    assert pd.isna(summary["vss_usd_per_year"])


# ------------------------------------------------------------------ progress


def test_iterations_ahead_extrapolates_the_gap():
    assert iterations_ahead([], 1e-6) == 2                    # no gap yet: this one and one more
    assert iterations_ahead([float("inf"), 0.5], 1e-6) == 2   # one finite gap: no trend
    # 1e-1 -> 1e-3 is two decades an iteration; 1e-3 -> 1e-6 needs 1.5, so 2
    assert iterations_ahead([1e-1, 1e-3], 1e-6) == 2
    assert iterations_ahead([1e-2, 5e-3], 1e-6) == 13          # log2(5000) = 12.3
    assert iterations_ahead([1e-2, 1e-2], 1e-6) == 2           # no progress: no trend
    assert iterations_ahead([0.9, 0.899999], 1e-6) == 20       # capped


def test_progress_reports_each_phase_with_an_eta(tmp_path):
    site = campus_month(tmp_path)
    sset = read_scenarios(write(tmp_path / "sc.toml", SAMPLES.format(count=12, **BTC)))
    reports = []
    decision = decide_site(site, sset, progress=reports.append, memory_bytes=0)
    phases = list(dict.fromkeys(r.phase for r in reports))
    assert phases == ["loading", "iteration", "candidates"]
    for phase in ("loading", "candidates"):
        seen = [r for r in reports if r.phase == phase]
        assert seen[0].done == 0 and seen[0].eta_s is None
        assert seen[-1].done == seen[-1].total == 12 and seen[-1].eta_s == 0.0
        assert all(r.eta_s is not None and r.eta_s >= 0 for r in seen if r.done)
    iterations = [r for r in reports if r.phase == "iteration"]
    assert max(r.iteration for r in iterations) == decision.decision.iterations
    assert all(r.eta_is_guess for r in iterations if r.done)
    last = [r for r in iterations if r.done == 12][-1]
    assert "ETA ~" in last.line(1e-6) and f"iteration {last.iteration}, futures 12/12" in last.line(1e-6)
    elapsed = [r.elapsed_s for r in reports]
    assert elapsed == sorted(elapsed)


def test_clock_eta_is_the_linear_rest_of_the_pass():
    seen = []
    clock = Clock("x", 10, seen.append)
    clock.start("loading")
    clock.pass_t0 -= 4.0  # 4 s into the pass
    clock.tick(4)
    assert seen[-1].eta_s == pytest.approx(6.0, rel=1e-3)  # 1 s a future, 6 to go
    assert "loading futures 4/10" in seen[-1].line(1e-6) and "ETA 6.0 s" in seen[-1].line(1e-6)


# ------------------------------------------------------------------ memory


def test_a_shard_holds_no_more_than_its_budget_and_rebuilds_the_rest(tmp_path):
    site = campus_month(tmp_path)
    sset = read_scenarios(write(tmp_path / "sc.toml", SAMPLES.format(count=10, **BTC)))
    per_future = Shard(str(site), sset.scenarios[:1]).held_bytes
    assert per_future > 0
    budget = 3 * per_future + per_future // 2
    small = Shard(str(site), sset.scenarios, memory_bytes=budget)
    assert small.held_bytes == 3 * per_future <= budget
    assert sum(m is not None for m in small.models) == 3 and sum(small.rebuild) == 7
    whole = Shard(str(site), sset.scenarios, memory_bytes=2**30)
    y = np.array([80.0, 100.0, 50.0])
    a, b = small.evaluate(y), whole.evaluate(y)
    assert [e.net_usd_per_year for e in a] == [e.net_usd_per_year for e in b]
    assert [e.mining_energy_mwh for e in a] == [e.mining_energy_mwh for e in b]


def test_seed_or_samples_without_a_sample_table_are_refused(tmp_path):
    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", '[[scenario]]\nname = "a"\n')
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o"),
                           "--seed", "3", "--samples", "4"])
    assert code == 1
    assert "--seed is given but the file has no [sample] table" in err
    assert "--samples is given but the file has no [sample] table" in err


def test_worker_processes_report_their_progress(tmp_path):
    site = campus_month(tmp_path)
    sset = read_scenarios(write(tmp_path / "sc.toml", SAMPLES.format(count=6, **BTC)))
    reports = []
    decide_site(site, sset, workers=2, progress=reports.append)
    for phase in ("loading", "iteration", "candidates"):
        seen = [r for r in reports if r.phase == phase]
        assert seen and seen[-1].done == 6, phase
