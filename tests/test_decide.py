"""`allocator decide`: the scenario file, the two-stage program against the extensive form and a
hand-solved case, candidates, VSS/EVPI and the run folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.inputs.site import load_site
from allocator.whatif.decide_engine import ScenarioModel
from allocator.whatif.decide_parallel import Scenarios
from allocator.whatif.decide_program import FirstStage, cvar, in_tail, solve_extensive, solve_lshaped
from allocator.whatif.decide_scenarios import read_scenarios
from whatif_sites import campus_month, tiny

RATE = 50.0                       # USD/kW-month -> 600,000 USD per IT MW-year
LEASE_USD_PER_MW_YEAR = RATE * 12000.0


def mining_usd_per_mw_year(hashprice: float) -> float:
    """The tiny site's fleet (20 J/TH, $30/MWh, PUE 1, no fee or opex) running every hour it pays."""
    return max(0.0, hashprice * 1000.0 / 20.0 / 24.0 - 30.0) * 8760.0


def invoke(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = main(args)
    return code, out.getvalue().decode(), err.getvalue().decode()


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


TWO_HASHPRICES = """
[[scenario]]
name = "low"
[scenario.set]
"mining.hashprice_usd_per_ph_day" = 10.0

[[scenario]]
name = "high"
[scenario.set]
"mining.hashprice_usd_per_ph_day" = 120.0
"""


# ------------------------------------------------------------------ hand-solved


@pytest.mark.parametrize("weight, ai_mw", [(0.0, 0.0), (0.5, 100.0), (1.0, 100.0)])
def test_hand_solved_two_futures(tmp_path, weight, ai_mw):
    """Per IT MW-year: AI 600,000 in both futures; mining 0 (low) or 1,927,200 (high), equally likely.

    Risk-neutral: mining's 963,600 expected beats AI, so a = 0. CVaR at alpha = 0.5 is the low
    future's net, 600,000 a, so with w = 0.5 the objective is 48.18M + 118,200 a: a = 100.
    """
    site = tiny(tmp_path, hashprice=10.0, rate=RATE)
    scenarios = write(tmp_path / "sc.toml", TWO_HASHPRICES)
    out = tmp_path / "out"
    code, stdout, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out),
                                "--risk-weight", str(weight), "--risk-alpha", "0.5"])
    assert code == 0, err
    high = mining_usd_per_mw_year(120.0)
    assert mining_usd_per_mw_year(10.0) == 0.0 and high == pytest.approx(1_927_200.0)
    decision = pd.read_csv(out / "decision.csv").set_index(["kind", "name"])["it_mw"]
    assert decision[("total", "ai")] == pytest.approx(ai_mw, abs=1e-6)
    assert decision[("total", "mining")] == pytest.approx(100.0 - ai_mw, abs=1e-6)
    nets = pd.read_csv(out / "scenarios.csv").set_index("scenario_id")
    a = ai_mw
    assert nets.loc["low", "net_usd_per_year"] == pytest.approx(LEASE_USD_PER_MW_YEAR * a, abs=1e-3)
    assert nets.loc["high", "net_usd_per_year"] == pytest.approx(LEASE_USD_PER_MW_YEAR * a + high * (100 - a))
    # at a = 100 both futures net the same: the tie goes to the lower id ("high")
    assert list(nets.index[nets["in_tail"]]) == (["low"] if a < 100 else ["high"])
    expected = 0.5 * LEASE_USD_PER_MW_YEAR * a + 0.5 * (LEASE_USD_PER_MW_YEAR * a + high * (100 - a))
    objective = (1 - weight) * expected + weight * LEASE_USD_PER_MW_YEAR * a
    cand = pd.read_csv(out / "candidates.csv").set_index("candidate")
    assert cand.loc["stochastic", "objective_usd_per_year"] == pytest.approx(objective)
    assert cand.loc["stochastic", "cvar_net_usd_per_year"] == pytest.approx(LEASE_USD_PER_MW_YEAR * a, abs=1e-3)
    # the deterministic split: the site file's hashprice of 10 makes AI take all 100 MW
    assert cand.loc["deterministic", "ai_it_mw"] == pytest.approx(100.0)
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    det_objective = (1 - weight) * LEASE_USD_PER_MW_YEAR * 100 + weight * LEASE_USD_PER_MW_YEAR * 100
    assert float(summary["vss_usd_per_year"]) == pytest.approx(objective - det_objective, abs=1e-3)
    assert float(summary["optimality_gap_frac"]) <= 1e-6
    if weight == 0:
        # each future alone: AI everywhere when low (60M), mining everywhere when high (192.72M)
        evpi = 0.5 * LEASE_USD_PER_MW_YEAR * 100 + 0.5 * high * 100 - expected
        assert float(summary["evpi_usd_per_year"]) == pytest.approx(evpi)
        assert evpi == pytest.approx(30_000_000.0)
    else:
        assert pd.isna(summary["evpi_usd_per_year"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tool"] == "allocator" and str(scenarios) in manifest["scenarios_sha256"]
    assert set(manifest["files"]) == {"decision.csv", "scenarios.csv", "candidates.csv", "summary.csv",
                                     "mining_capture.csv"}


def test_cvar_and_tail_by_hand():
    net = np.array([10.0, -5.0, 3.0, -5.0])
    prob = np.array([0.25, 0.25, 0.25, 0.25])
    assert cvar(net, prob, 0.5) == pytest.approx(-5.0)
    assert cvar(net, prob, 0.6) == pytest.approx((-5 * 0.5 + 3 * 0.1) / 0.6)  # the straddling 3 counts 0.1
    assert cvar(net, prob, 1.0) == pytest.approx(net.mean())
    # the straddling scenario is in the tail; ties by id
    assert in_tail(net, prob, ["a", "b", "c", "d"], 0.6).tolist() == [False, True, True, True]
    assert in_tail(net, prob, ["a", "b", "c", "d"], 0.25).tolist() == [False, True, False, False]


# ------------------------------------------------------------------ method vs extensive form

SC_CAMPUS = """
[[scenario]]
name = "a"
probability = 0.2
[scenario.set]
"mining.hashprice.btc_price_usd" = 50000.0
"mining.min_uptime_frac" = 0.97
"curtailment[1]" = { start = "2024-06-10T00:00", end = "2024-06-12T00:00", cap_mw = 200.0 }

[[scenario]]
name = "b"
probability = 0.5
[scenario.set]
"mining.hashprice.btc_price_usd" = 110000.0
"ai.lease[0].rate_usd_per_kw_month" = 110.0

[[scenario]]
name = "c"
probability = 0.3
[scenario.set]
"mining.hashprice.btc_price_usd" = 180000.0
"prices.adder_usd_per_mwh" = 30.0
"mining.min_uptime_frac" = 0.95
"prices.end" = "2024-06-25"
"""


def _sites(site_path, sset):
    from allocator.inputs.overrides import read_raw
    from allocator.whatif.decide_engine import scenario_site

    base, raw = load_site(site_path), read_raw(site_path)
    return [scenario_site(base, raw, s, sset.prices, sset.seed)[0] for s in sset.scenarios]


def _both(site_path, scenario_path, weight, alpha, structured=True, memory_bytes=2**28):
    sset = read_scenarios(scenario_path)
    prob = np.array([s.probability_frac for s in sset.scenarios])
    with Scenarios(str(site_path), sset.scenarios, structured=structured, memory_bytes=memory_bytes) as sc:
        first = FirstStage.of(load_site(site_path), min(i.min_cap_mw for i in sc.infos))
        decision = solve_lshaped(first, sc, prob, weight, alpha)
    y, obj = solve_extensive(first, _sites(site_path, sset), prob, weight, alpha)
    return decision, y, obj


@pytest.mark.parametrize("structured, memory_bytes", [(True, 2**28), (False, 2**28), (True, 0)])
@pytest.mark.parametrize("weight, alpha", [(0.0, 0.1), (0.5, 0.2), (1.0, 0.3)])
def test_lshaped_equals_the_extensive_form(tmp_path, weight, alpha, structured, memory_bytes):
    """Three futures of a campus month (one shorter, one with its own event, two with an uptime SLA that
    the first iterates break): the cutting planes reach the extensive form's optimum, with the closed-form
    second stage where it applies or with every second stage an LP."""
    site = campus_month(tmp_path)
    scenarios = write(tmp_path / "sc.toml", SC_CAMPUS)
    decision, y, obj = _both(site, scenarios, weight, alpha, structured)
    assert decision.gap_frac <= 1e-6
    assert decision.objective_usd_per_year == pytest.approx(obj, rel=1e-6)
    assert decision.y_mw == pytest.approx(y, abs=1e-4)


def test_risk_averse_decision_differs_and_matches_extensive(tmp_path):
    site = tiny(tmp_path, hashprice=10.0, rate=RATE)
    scenarios = write(tmp_path / "sc.toml", TWO_HASHPRICES)
    neutral, y0, obj0 = _both(site, scenarios, 0.0, 0.5)
    averse, y1, obj1 = _both(site, scenarios, 0.5, 0.5)
    assert neutral.objective_usd_per_year == pytest.approx(obj0, rel=1e-6)
    assert averse.objective_usd_per_year == pytest.approx(obj1, rel=1e-6)
    assert neutral.y_mw[0] == pytest.approx(0.0, abs=1e-6) and y0[0] == pytest.approx(0.0, abs=1e-6)
    assert averse.y_mw[0] == pytest.approx(100.0) and y1[0] == pytest.approx(100.0)


def test_subgradient_is_the_one_sided_slope(tmp_path):
    """The reduced costs of the fixed first stage match a re-solve's difference quotient."""
    site = load_site(campus_month(tmp_path))
    m = ScenarioModel(site)
    y = np.array([60.0, 80.0, 40.0])
    e = m.evaluate(y)
    for j in range(3):
        step = np.zeros(3)
        step[j] = 1e-3
        up, down = m.evaluate(y + step).net_usd_per_year, m.evaluate(y - step).net_usd_per_year
        # concave: the supergradient lies between the one-sided slopes
        assert (up - e.net_usd_per_year) / 1e-3 <= e.gradient[j] + 1e-3 * abs(e.gradient[j]) + 1
        assert (e.net_usd_per_year - down) / 1e-3 >= e.gradient[j] - 1e-3 * abs(e.gradient[j]) - 1


def test_closed_form_second_stage_equals_the_lp(tmp_path):
    from allocator.whatif.decide_structured import StructuredScenario, applies

    site = load_site(campus_month(tmp_path))
    assert applies(site)
    lp, closed = ScenarioModel(site), StructuredScenario(site)
    rng = np.random.default_rng(4)
    for _ in range(8):
        y = np.array([rng.uniform(0, 125), rng.uniform(0, 120), rng.uniform(0, 80)])
        a, b = lp.evaluate(y), closed.evaluate(y)
        assert b.net_usd_per_year == pytest.approx(a.net_usd_per_year, rel=1e-9)
        assert b.mining_energy_mwh == pytest.approx(a.mining_energy_mwh, rel=1e-9)
        assert b.gradient == pytest.approx(a.gradient, rel=1e-6, abs=1.0)
    own_lp, own_closed = lp.own_optimum(), closed.own_optimum()
    assert own_closed[0] == pytest.approx(own_lp[0], rel=1e-6)


# ------------------------------------------------------------------ infeasible, bad input


def test_no_decision_feasible_in_every_scenario(tmp_path):
    site = tiny(tmp_path, ai={"lease": [{"tenant": "T", "rate_usd_per_kw_month": RATE, "min_mw": 80.0,
                                         "max_mw": 100.0}]})
    scenarios = write(tmp_path / "sc.toml", """
[[scenario]]
name = "calm"

[[scenario]]
name = "storm"
[scenario.set]
"curtailment[0]" = { start = "2024-01-01T05:00", end = "2024-01-01T07:00", cap_mw = 50.0 }
""")
    out = tmp_path / "out"
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out)])
    assert code == 2, err
    assert "scenario storm" in err and "curtailment[0]" in err and "min_mw" in err
    assert not out.exists()


def test_every_bad_input_listed(tmp_path):
    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", """
colour = "blue"
[[scenario]]
name = "Bad Name"
probability = 0.5

[[scenario]]
name = "ok"
probability = 0.4

[[scenario]]
name = "ok"
""")
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o")])
    assert code == 1
    for text in ("colour", "scenario[0].name", "appears twice", "give a probability"):
        assert text in err, text
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("path, value", [("ai.lease[0].max_mw", 50.0), ("site.facility_mw", 90.0),
                                         ("ai.pue", 1.3), ("mining.fleet[0].mw", 10.0), ("mining.pue", 1.1)])
def test_first_stage_paths_are_refused(tmp_path, path, value):
    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", f'[[scenario]]\nname = "x"\n[scenario.set]\n"{path}" = {value}\n')
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "scenario x" in err and path in err


def test_first_stage_change_through_a_default_is_refused(tmp_path):
    """facility_mw defaults to interconnect_mw: changing the interconnect changes the halls."""
    site = tiny(tmp_path)
    text = site.read_text().replace("facility_mw = 100.0\n", "")
    site.write_text(text)
    scenarios = write(tmp_path / "sc.toml", '[[scenario]]\nname = "x"\n[scenario.set]\n"site.interconnect_mw" = 90.0\n')
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "scenario x" in err and "site.facility_mw" in err and "site.interconnect_mw" in err


def test_event_outside_every_scenario_is_an_input_error(tmp_path):
    site = campus_month(tmp_path)  # its event is on 2024-06-20
    windows = [("early", "2024-06-01", "2024-06-10"), ("mid", "2024-06-10", "2024-06-19")]
    text = "".join(f'[[scenario]]\nname = "{n}"\n[scenario.set]\n"prices.start" = "{a}"\n"prices.end" = "{b}"\n'
                   for n, a, b in windows)
    scenarios = write(tmp_path / "sc.toml", text)
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "curtailment[0]" in err and "overlaps no scenario" in err


def test_an_event_caps_only_the_scenarios_it_overlaps(tmp_path):
    site = campus_month(tmp_path)
    scenarios = write(tmp_path / "sc.toml", """
[[scenario]]
name = "early"
[scenario.set]
"prices.end" = "2024-06-10"

[[scenario]]
name = "late"
[scenario.set]
"prices.start" = "2024-06-15"
""")
    sset = read_scenarios(scenarios)
    with Scenarios(str(site), sset.scenarios) as sc:
        caps = {i.id: i.min_cap_mw for i in sc.infos}
        hours = {i.id: i.hours for i in sc.infos}
    assert caps == {"early": 300.0, "late": 150.0}
    assert hours == {"early": 9 * 24, "late": 16 * 24}


# ------------------------------------------------------------------ samples and the product


def test_samples_and_product(tmp_path):
    path = write(tmp_path / "sc.toml", """
[[scenario]]
name = "a"
probability = 0.25
[[scenario]]
name = "b"
probability = 0.75

[sample]
count = 3
seed = 11
[[sample.param]]
path = "mining.hashprice_usd_per_ph_day"
dist = "uniform"
low = 40.0
high = 80.0
""")
    sset = read_scenarios(path)
    ids = [s.id for s in sset.scenarios]
    assert ids == ["a/s00001", "a/s00002", "a/s00003", "b/s00001", "b/s00002", "b/s00003"]
    assert [s.probability_frac for s in sset.scenarios] == pytest.approx([0.25 / 3] * 3 + [0.75 / 3] * 3)
    draws = [s.values["mining.hashprice_usd_per_ph_day"] for s in sset.scenarios]
    assert draws[:3] == draws[3:] and all(40 <= d <= 80 for d in draws)
    again = read_scenarios(path)
    assert [s.values for s in again.scenarios] == [s.values for s in sset.scenarios]
    other = read_scenarios(path, samples=5, seed=12)
    assert len(other.scenarios) == 10
    assert other.scenarios[0].values != sset.scenarios[0].values


def test_workers_give_the_same_decision(tmp_path):
    site = campus_month(tmp_path)
    scenarios = write(tmp_path / "sc.toml", SC_CAMPUS)
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out),
                               "--workers", workers, "--risk-weight", "0.3"])
        assert code == 0, err
        outs.append(pd.read_csv(out / "candidates.csv"))
    pd.testing.assert_frame_equal(outs[0], outs[1])


# ------------------------------------------------------------------ block bootstrap


ORDINAL0 = 738520  # 2022-12-31: prices stay below the schema's 100,000 USD/MWh


def _coded_history_site(tmp_path):
    """A Chicago site whose hub price encodes its own local day and hour: (day - ORDINAL0) x 100 + hour."""
    from conftest import to_toml

    index = pd.date_range("2023-01-01T06:00Z", "2025-01-01T06:00Z", freq="h", inclusive="left")
    local = index.tz_convert("America/Chicago")
    code = [(d.toordinal() - ORDINAL0) * 100 + int((t - t.normalize()) / pd.Timedelta(hours=1))
            for d, t in zip(local.date, local)]
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "price_usd_per_mwh": code}).to_csv(
        tmp_path / "coded.csv", index=False)
    doc = {"site": {"timezone": "America/Chicago", "interconnect_mw": 10.0},
           "prices": {"file": "coded.csv", "start": "2024-03-01", "end": "2024-04-15", "adder_usd_per_mwh": 0.5},
           "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 50.0,
                      "fleet": [{"model": "S", "efficiency_j_per_th": 20.0, "mw": 5.0}]}}
    (tmp_path / "coded.toml").write_text(to_toml(doc), encoding="utf-8")
    return tmp_path / "coded.toml"


def test_block_bootstrap_copies_whole_aligned_blocks(tmp_path):
    import datetime as dt

    from allocator.whatif.decide_bootstrap import bootstrap_site
    from allocator.whatif.decide_scenarios import PriceSampling

    site = load_site(_coded_history_site(tmp_path))
    sampling = PriceSampling(block_days=7)
    paths = [bootstrap_site(site, site, sampling, seed=5, k=k) for k in range(3)]
    again = bootstrap_site(site, site, sampling, seed=5, k=1)
    np.testing.assert_array_equal(again.price_usd_per_mwh, paths[1].price_usd_per_mwh)
    assert not np.array_equal(paths[0].price_usd_per_mwh, paths[1].price_usd_per_mwh)
    local = site.index.tz_convert("America/Chicago")
    target_day = np.array(local.date)
    offset = ((local - local.normalize()) / pd.Timedelta(hours=1)).to_numpy().round().astype(int)
    days = list(dict.fromkeys(target_day))
    assert len(days) == 45 and site.hours == 45 * 24 - 1  # the 2024-03-10 spring-forward day has 23 hours
    for p in paths:
        hub = np.round(p.price_usd_per_mwh - 0.5).astype(int)  # the adder applies on top
        source, position = hub // 100 + ORDINAL0, hub % 100
        for b in range(0, len(days), 7):
            block = days[b:b + 7]
            first = source[target_day == block[0]][0]
            for i, day in enumerate(block):
                here = target_day == day
                assert (source[here] == first + i).all()  # consecutive history days, whole block
                src_hours = 23 if dt.date.fromordinal(first + i) in (dt.date(2023, 3, 12), dt.date(2024, 3, 10)) \
                    else 25 if dt.date.fromordinal(first + i) in (dt.date(2023, 11, 5), dt.date(2024, 11, 3)) else 24
                np.testing.assert_array_equal(position[here], np.minimum(offset[here], src_hours - 1))
            src = dt.date.fromordinal(int(first))
            gaps = [abs((src - block[0].replace(year=y)).days) for y in (2023, 2024, 2025)]
            assert min(gaps) <= 15


def test_bootstrapped_prices_through_decide(tmp_path):
    site = _coded_history_site(tmp_path)
    scenarios = write(tmp_path / "sc.toml", "[sample]\ncount = 3\nseed = 9\n[sample.prices]\nblock_days = 5\n")
    sset = read_scenarios(scenarios)
    assert [s.id for s in sset.scenarios] == ["s00001", "s00002", "s00003"]
    prices = [s.price_usd_per_mwh for s in _sites(site, sset)]
    assert not np.array_equal(prices[0], prices[1])
    assert all(p.size == load_site(site).hours for p in prices)


# ------------------------------------------------------------------ real HB_WEST price years


def test_hb_west_price_years_match_the_extensive_form(tmp_path, shared_raw):
    """Two real ERCOT HB_WEST years (2024 a leap year) with a CVaR weight: method = extensive form."""
    from conftest import write_site

    price_file = shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    doc = {
        "site": {"timezone": "America/Chicago", "interconnect_mw": 100.0},
        "prices": {"file": str(price_file), "column": "HUB", "fill": "ffill", "start": "2024-01-01",
                   "end": "2025-01-01"},
        "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "opex_usd_per_mw_year": 40000.0,
                   "hashprice_usd_per_ph_day": 50.0,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 50.0},
                             {"model": "S19j Pro", "efficiency_j_per_th": 29.5, "mw": 70.0}]},
        "ai": {"pue": 1.2, "convertible_mw": 60.0, "utilization_frac": 0.8, "fitout_capex_usd_per_mw": 9e6,
               "opex_usd_per_mw_year": 60000.0, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 120.0}]},
    }
    site = write_site(tmp_path, [1.0], doc, site_id="hb_west")
    scenarios = write(tmp_path / "years.toml", """
[[scenario]]
name = "y2024"
probability = 0.4

[[scenario]]
name = "y2025"
probability = 0.6
[scenario.set]
"prices.start" = "2025-01-01"
"prices.end" = "2026-01-01"
"mining.hashprice_usd_per_ph_day" = 42.0
""")
    for weight in (0.0, 0.6):
        decision, y, obj = _both(site, scenarios, weight, 0.5)
        assert decision.objective_usd_per_year == pytest.approx(obj, rel=1e-6)
        assert decision.y_mw == pytest.approx(y, abs=1e-3)
    out = tmp_path / "out"
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out)])
    assert code == 0, err
    table = pd.read_csv(out / "scenarios.csv").set_index("scenario_id")
    assert table.loc["y2024", "hours"] == 8784 and table.loc["y2025", "hours"] == 8760


# ------------------------------------------------------------------ interrupted runs


def test_interrupted_decide_leaves_old_or_new_complete_folder(tmp_path):
    """SIGINT/SIGTERM at random moments of `decide --force --workers 2`: the folder is the previous run or the
    new one, complete, never a mix; exit 130 when interrupted."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO
    from run_check import folder_is_complete

    site = campus_month(tmp_path)
    scenarios = write(tmp_path / "sc.toml", SC_CAMPUS)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "allocator", "decide", str(site), "--scenarios", str(scenarios), "--out",
               str(out), "--force", "--workers", "2"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    files = ("decision.csv", "scenarios.csv", "candidates.csv", "summary.csv", "manifest.json")
    t0 = time.perf_counter()
    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    full_s = time.perf_counter() - t0
    assert first.returncode == 0, first.stderr
    assert folder_is_complete(out, files)
    rng = random.Random(18)
    codes = set()
    for _ in range(4):
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(rng.uniform(0.2, full_s))
        proc.send_signal(rng.choice((signal.SIGINT, signal.SIGTERM)))
        _, err = proc.communicate(timeout=120)
        codes.add(proc.returncode)
        assert proc.returncode in (0, 130), err
        assert "Traceback" not in err, err
        assert folder_is_complete(out, files)
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert codes  # at least one round ran


# ------------------------------------------------------------------ reports


def test_reports_state_the_figures_of_the_tables(tmp_path):
    from openpyxl import load_workbook

    site = tiny(tmp_path, hashprice=10.0, rate=RATE,
                ai={"lease": [{"tenant": "=HYPERLINK(1)", "rate_usd_per_kw_month": RATE, "max_mw": 100.0}]})
    scenarios = write(tmp_path / "sc.toml", TWO_HASHPRICES)
    out = tmp_path / "out"
    code, stdout, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(out),
                                "--report", "html,xlsx"])
    assert code == 0, err
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    vss, evpi = float(summary["vss_usd_per_year"]), float(summary["evpi_usd_per_year"])
    assert vss == pytest.approx(96_360_000.0 - 60_000_000.0) and evpi == pytest.approx(30_000_000.0)
    page = (out / "report.html").read_text()
    assert f"worth ${vss / 1e6:,.2f}M a year in expectation (VSS)" in page
    assert f"at most ${evpi / 1e6:,.2f}M a year (EVPI)" in page
    assert page.count("<svg") == 1 and "#c0392b" in page  # the tail is drawn
    book = load_workbook(out / "report.xlsx")
    assert book.sheetnames == ["summary", "decision", "candidates", "metrics", "scenarios", "mining_capture",
                               "run_info"]
    cells = [row[2] for row in book["decision"].iter_rows(min_row=2)]
    assert [c.value for c in cells if c.value == "=HYPERLINK(1)"] and all(c.data_type == "s" for c in cells)
    # a formula-looking tenant name stays typed text; the first sheet leads with the decision and VSS/EVPI
    first = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True)}
    assert first["run"] == "decide"
    assert first["VSS: worth of deciding for the range of futures (USD per year)"] == pytest.approx(vss)
    assert first["EVPI: most that perfect foresight is worth (USD per year)"] == pytest.approx(evpi)
    assert page.index('id="summary"') < page.index("<svg") < page.index('id="run-info"')
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"report.html", "report.xlsx"} == set(manifest["reports"])
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o2"),
                           "--report", "pdf"])
    assert code == 1 and "pdf" in err


def test_dask_cluster_gives_the_same_decision(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    site = campus_month(tmp_path)
    scenarios = write(tmp_path / "sc.toml", SC_CAMPUS)
    local = tmp_path / "local"
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(local),
                           "--risk-weight", "0.3"])
    assert code == 0, err
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
        remote = tmp_path / "dask"
        code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(remote),
                               "--risk-weight", "0.3", "--workers", "2", "--dask-scheduler", cl.scheduler_address])
        assert code == 0, err
    for name in ("candidates.csv", "scenarios.csv", "decision.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(local / name), pd.read_csv(remote / name))


def test_unreachable_dask_scheduler_is_an_input_error(tmp_path):
    import socket

    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", TWO_HASHPRICES)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = invoke(["decide", str(site), "--scenarios", str(scenarios), "--out", str(tmp_path / "o"),
                           "--dask-scheduler", f"tcp://127.0.0.1:{port}"])
    assert code == 1 and "cannot reach the scheduler" in err
    assert not (tmp_path / "o").exists()


def test_bad_options_are_listed_together(tmp_path):
    site = tiny(tmp_path)
    scenarios = write(tmp_path / "sc.toml", TWO_HASHPRICES)
    code, _, err = invoke(["decide", str(site), str(site), "--scenarios", str(scenarios), "--out",
                           str(tmp_path / "o"), "--risk-weight", "1.5", "--risk-alpha", "0"])
    assert code == 1
    assert "--risk-weight" in err and "--risk-alpha" in err and "appears twice" in err
    assert not (tmp_path / "o").exists()
