"""Portfolios: a tenant split across sites, a shared capex budget and its shadow price, minimum hashrate."""

from __future__ import annotations

import pandas as pd
import pytest

from allocator.plan.site_plan import solve_plan
from allocator.plan.portfolio import solve_portfolio
from allocator.run.batch import solve
from conftest import write_site
from test_cli import invoke
from test_plan import BTC_48, DIFFICULTY_1E6_PH

HOURS = 24
YEARS = HOURS / 8760


def ai_site(folder, site_id, fitout_usd_per_mw, *, pue=1.0, fleet_mw=0.0):
    doc = {
        "site": {"interconnect_mw": 20.0, "facility_mw": 20.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
                   "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": fleet_mw}]},
        "ai": {"pue": pue, "convertible_mw": 10.0, "fitout_capex_usd_per_mw": fitout_usd_per_mw,
               "capex_life_years": 10, "discount_rate_frac": 0.0},
        "plan": {"start_year": 2026, "end_year": 2027, "btc_price_usd": BTC_48, "difficulty": DIFFICULTY_1E6_PH,
                 "construction_months": 0.0, "discount_rate_frac": 0.0, "price_bins_per_month": 0},
    }
    return write_site(folder, [20.0] * HOURS, doc, site_id=site_id)


def portfolio(folder, text):
    path = folder / "portfolio.toml"
    path.write_text(text)
    return path


TENANT = """
[[tenant]]
tenant = "Hyper"
rate_usd_per_kw_month = 100.0
max_mw = {max_mw}
sites = ["cheap", "dear"]
"""


def test_binding_budget_places_the_tenant_at_the_cheapest_site(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n" + TENANT.format(max_mw=10.0))
    result = solve_portfolio(sites, pf)
    placed = result.placements.set_index("site_id")["it_mw"]
    # same lease at both; cheap earns (1.2M - 1M * crf 0.1) per MW-year on 1M of capex, dear on 2M: all
    # 5M of budget goes to cheap (5 MW), nothing to dear
    assert placed["cheap"] == pytest.approx(5.0)
    assert placed["dear"] == pytest.approx(0.0, abs=1e-7)
    value_per_mw = (100 * 12000 - 1e6 * 0.1) * YEARS
    assert result.objective_usd == pytest.approx(5 * value_per_mw)
    dual = result.shadow_prices.set_index("constraint").loc["capex_budget"]
    assert dual.shadow_price == pytest.approx(value_per_mw / 1e6, rel=1e-6)
    assert dual.usd_per_1m_usd_capex == pytest.approx(value_per_mw, rel=1e-6)


def test_loose_budget_fills_both_sites_and_costs_nothing(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6, pue=1.5)]
    pf = portfolio(tmp_path, "capex_budget_usd = 1e9\n" + TENANT.format(max_mw=15.0))
    result = solve_portfolio(sites, pf)
    placed = result.placements.set_index("site_id")["it_mw"]
    assert placed["cheap"] == pytest.approx(10.0)  # convertible_mw
    assert placed["dear"] == pytest.approx(5.0)    # the rest of max_mw
    assert result.shadow_prices.set_index("constraint").loc["capex_budget"].shadow_price == 0.0


def test_without_portfolio_sites_are_independent(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6, fleet_mw=10.0), ai_site(tmp_path, "dear", 2e6, fleet_mw=10.0)]
    pf = portfolio(tmp_path, "name = 'empty'\n")
    together = solve_portfolio(sites, pf)
    alone = solve(sites)
    assert together.objective_usd == pytest.approx(alone.objective_usd, rel=1e-9)


def test_min_hashrate_keeps_mining_against_the_tenant(tmp_path):
    # AI pays more than mining, but the company keeps 300 PH/s: 6 MW at 50 PH/s per MW stay installed
    sites = [ai_site(tmp_path, "cheap", 0.0, fleet_mw=10.0), ai_site(tmp_path, "dear", 0.0, fleet_mw=10.0)]
    for path in sites:
        path.write_text(path.read_text().replace("facility_mw = 20.0", "facility_mw = 10.0"))
    pf = portfolio(tmp_path, "min_hashrate_ph = 300.0\n" + TENANT.format(max_mw=20.0))
    result = solve_portfolio(sites, pf)
    assert result.split["mining_it_mw"].sum() == pytest.approx(6.0)
    assert result.split["ai_it_mw"].sum() == pytest.approx(14.0)


def test_plan_budget_per_year_and_its_shadow_price(tmp_path):
    # per MW: lease 1.2M/year; at cheap converting in 2026 is worth 2 * 1.2 - 1 = 1.4M per 1M of capex,
    # in 2027 1.2 - 1 = 0.2M; dear never pays back its 2M in two years. Budget 4M a year, tenant max 5 MW:
    # 4 MW at cheap in 2026, 1 more in 2027. One more 2026 dollar moves capex from 2027 to 2026: 1.4 - 0.2.
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 4e6\n" + TENANT.format(max_mw=5.0))
    result = solve_plan(sites, portfolio=pf)
    placed = result.placements.pivot(index="year", columns="site_id", values="it_mw")
    assert placed["cheap"].tolist() == pytest.approx([4.0, 5.0])
    assert placed["dear"].tolist() == pytest.approx([0.0, 0.0], abs=1e-7)
    assert result.npv_usd == pytest.approx(4 * 1.4e6 + 0.2e6)
    duals = result.shadow_prices[result.shadow_prices["constraint"] == "capex_budget"]
    assert duals["shadow_price"].tolist() == pytest.approx([1.2, 0.0], abs=1e-9)
    assert result.bau_npv_usd == pytest.approx(0.0, abs=1e-6)


def test_portfolio_cli_writes_tenants_and_shadow_prices(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n" + TENANT.format(max_mw=10.0))
    out = tmp_path / "run"
    code, stdout, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--out", str(out)])
    assert code == 0, err
    assert "one more $1M of capex is worth" in stdout
    tenants = pd.read_csv(out / "tenants.csv")
    assert list(tenants.columns) == ["tenant", "site_id", "it_mw", "fitout_capex_usd"]
    assert (out / "coupling_prices.csv").is_file()
    code, stdout, err = invoke(["plan", *map(str, sites), "--portfolio", str(pf), "--out", str(tmp_path / "p")])
    assert code == 0, err
    assert {"tenants.csv", "coupling_prices.csv", "plan.csv"} <= {p.name for p in (tmp_path / "p").iterdir()}


def test_portfolio_refuses_options_it_would_ignore(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n" + TENANT.format(max_mw=10.0))
    out = tmp_path / "run"
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--out", str(out),
                           "--workers", "2"])
    assert code == 1 and not out.exists()
    assert "--workers: cannot be combined with --portfolio" in err


def test_portfolio_what_if_with_set_and_scenario(tmp_path):
    sites = [leased_site(tmp_path, "cheap", 1e6), leased_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n")
    # every site's fit-out at 2.5M/MW: the 5M budget buys 2 MW in all, wherever they go
    code, stdout, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--out", str(tmp_path / "run"),
                                "--set", "ai.fitout_capex_usd_per_mw=2.5e6"])
    assert code == 0, err
    split = pd.read_csv(tmp_path / "run" / "split.csv")
    assert split["ai_it_mw"].sum() == pytest.approx(2.0)
    assert split["net_usd"].sum() == pytest.approx(2 * value_per_mw(2.5e6), rel=1e-9)
    scenario = tmp_path / "dear_power.toml"
    scenario.write_text("[ai]\nfitout_capex_usd_per_mw = 2.5e6\n")
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--out", str(tmp_path / "scen"),
                           "--scenario", str(scenario)])
    assert code == 0, err
    assert pd.read_csv(tmp_path / "scen" / "split.csv")["net_usd"].sum() == pytest.approx(split["net_usd"].sum())
    import hashlib
    import json

    inputs = json.loads((tmp_path / "scen" / "manifest.json").read_text())["inputs_sha256"]
    assert inputs[str(scenario.resolve())] == hashlib.sha256(scenario.read_bytes()).hexdigest()
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--set", "ai.fitout_capex=1"])
    assert code == 1 and "ai.fitout_capex" in err


def test_bad_portfolio_lists_every_problem(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = -1\nbudget = 3\n" + TENANT.format(max_mw=10.0))
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf)])
    assert code == 1
    assert "capex_budget_usd" in err and "budget: " in err and "unknown key" in err
    pf = portfolio(tmp_path, TENANT.format(max_mw=10.0).replace('"dear"]', '"nowhere"]'))
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf)])
    assert code == 1 and "site 'nowhere' is not among the sites given" in err
    out = tmp_path / "never"
    code, _, err = invoke(["plan", *map(str, sites), "--portfolio", str(tmp_path / "missing.toml"), "--out", str(out)])
    assert code == 1 and "file not found" in err and not out.exists()


def test_unreachable_tenant_minimum_is_bad_input(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, TENANT.format(max_mw=30.0) + "min_mw = 25.0\n")
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf)])
    assert code == 1 and "tenant[0].min_mw" in err and "(20)" in err


def test_budget_below_a_tenant_minimum_is_infeasible_exit_2(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 1e6\n" + TENANT.format(max_mw=10.0) + "min_mw = 5.0\n")
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf)])
    assert code == 2 and "min_mw = 5" in err and "capex_budget_usd" in err


# ------------------------------------------------------------------ one shared row: the exact decomposition


def leased_site(folder, site_id, fitout_usd_per_mw, *, min_mw=0.0):
    """ai_site with its own lease at $100/kW-month (10 convertible IT MW, no mining)."""
    path = ai_site(folder, site_id, fitout_usd_per_mw)
    text = path.read_text()
    text += f'\n[[ai.lease]]\ntenant = "own_{site_id}"\nrate_usd_per_kw_month = 100.0\nmin_mw = {min_mw}\n'
    path.write_text(text)
    return path


def value_per_mw(fitout_usd_per_mw):
    """Net USD over the 24 hours of one leased IT MW: lease less annualized fit-out (crf 0.1, no discount)."""
    return (100 * 12000 - fitout_usd_per_mw * 0.1) * YEARS


def test_budget_alone_is_decomposed_with_the_one_lp_optimum_and_duals(tmp_path):
    sites = [leased_site(tmp_path, "cheap", 1e6), leased_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n")
    auto = solve_portfolio(sites, pf, method="decomposition")
    one = solve_portfolio(sites, pf, method="one_lp")
    assert auto.manifest_extra["portfolio_method"].startswith("decomposition (")
    assert one.manifest_extra["portfolio_method"] == "one LP"
    # two sites are one LP by default (faster than the decomposition), four are decomposed
    assert solve_portfolio(sites, pf).manifest_extra["portfolio_method"] == "one LP"
    # a site with nothing to decide (no AI, no fleet: an LP without columns) rides along
    bare = write_site(tmp_path, [20.0] * HOURS, {"site": {"interconnect_mw": 20.0},
                                                 "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": []}},
                      site_id="bare")
    three = solve_portfolio([*sites, leased_site(tmp_path, "mid", 1.5e6), bare], pf)
    assert three.manifest_extra["portfolio_method"].startswith("decomposition (")
    assert three.objective_usd == pytest.approx(5 * value_per_mw(1e6), rel=1e-9)
    assert three.split.set_index("site_id").loc["bare", "net_usd"] == 0.0
    # hand-solved: 5M of budget buys 5 MW at cheap (its margin per USD of capex is the higher), none at dear
    for result in (auto, one):
        ai = result.split.set_index("site_id")["ai_it_mw"]
        assert ai["cheap"] == pytest.approx(5.0) and ai["dear"] == pytest.approx(0.0, abs=1e-7)
        assert result.objective_usd == pytest.approx(5 * value_per_mw(1e6), rel=1e-9)
        budget = result.shadow_prices.set_index("constraint").loc["capex_budget"]
        assert budget.shadow_price == pytest.approx(value_per_mw(1e6) / 1e6, rel=1e-6)
    # the site rows' duals at the optimal price are the one LP's: the same marginal values and shadow prices
    pd.testing.assert_frame_equal(auto.marginal_values, one.marginal_values, atol=1e-6)
    pd.testing.assert_frame_equal(auto.shadow_prices, one.shadow_prices, atol=1e-9)
    pd.testing.assert_frame_equal(auto.financials, one.financials, atol=1e-6)


def test_one_tenant_without_minimum_is_decomposed(tmp_path):
    sites = [ai_site(tmp_path, "cheap", 1e6), ai_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, TENANT.format(max_mw=15.0))
    result = solve_portfolio(sites, pf, method="decomposition")
    assert result.manifest_extra["portfolio_method"].startswith("decomposition (")
    # cheap fills its 10 convertible MW, the other 5 go to dear
    placed = result.placements.set_index("site_id")["it_mw"]
    assert placed["cheap"] == pytest.approx(10.0) and placed["dear"] == pytest.approx(5.0)
    assert result.objective_usd == pytest.approx(10 * value_per_mw(1e6) + 5 * value_per_mw(2e6), rel=1e-9)
    # one more MW of the tenant goes to dear, which has room left: the row's dual is dear's value per MW
    tenant = result.shadow_prices.set_index("constraint").loc["tenant__Hyper"]
    assert tenant.shadow_price == pytest.approx(value_per_mw(2e6), rel=1e-6)
    assert tenant.unit == "usd_per_it_mw"
    assert result.objective_usd == pytest.approx(solve_portfolio(sites, pf, method="one_lp").objective_usd, rel=1e-9)


def test_portfolio_method_on_the_command_line(tmp_path):
    sites = [leased_site(tmp_path, "cheap", 1e6), leased_site(tmp_path, "dear", 2e6)]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n")
    runs = {}
    for method in ("decomposition", "one_lp"):
        out = tmp_path / method
        code, stdout, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--out", str(out),
                                    "--portfolio-method", method])
        assert code == 0, err
        runs[method] = out
    assert "portfolio solved by decomposition (" in invoke(["solve", *map(str, sites), "--portfolio", str(pf),
                                                             "--portfolio-method", "decomposition"])[1]
    assert "portfolio solved by one LP" in invoke(["solve", *map(str, sites), "--portfolio", str(pf)])[1]
    for name in ("split.csv", "financials.csv", "coupling_prices.csv", "marginal_values.csv"):
        a, b = pd.read_csv(runs["decomposition"] / name), pd.read_csv(runs["one_lp"] / name)
        pd.testing.assert_frame_equal(a, b, atol=1e-6)
    two_rows = portfolio(tmp_path, "capex_budget_usd = 5e6\n" + TENANT.format(max_mw=10.0))
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(two_rows), "--portfolio-method",
                           "decomposition"])
    assert code == 1 and "exactly one shared <= row" in err
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio-method", "one_lp"])
    assert code == 1 and "--portfolio-method: applies only with --portfolio" in err


def test_budget_below_signed_leases_is_infeasible_when_decomposed(tmp_path):
    # each site signed 4 MW: 4M + 8M of fit-out, against a 10M budget
    sites = [leased_site(tmp_path, "cheap", 1e6, min_mw=4.0), leased_site(tmp_path, "dear", 2e6, min_mw=4.0)]
    pf = portfolio(tmp_path, "capex_budget_usd = 1e7\n")
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--portfolio-method", "decomposition"])
    assert code == 2, err
    assert "capex_budget_usd = 10000000.0" in err and "need at least 12,000,000" in err


def test_time_limit_applies_to_each_site_solve_of_the_decomposition(tmp_path):
    sites = [leased_site(tmp_path, sid, capex) for sid, capex in (("cheap", 1e6), ("dear", 2e6), ("mid", 1.5e6))]
    pf = portfolio(tmp_path, "capex_budget_usd = 5e6\n")
    out = tmp_path / "run"
    code, _, err = invoke(["solve", *map(str, sites), "--portfolio", str(pf), "--time-limit", "1e-9", "--out", str(out),
                           "--portfolio-method", "decomposition"])
    assert code == 2 and not out.exists()
    assert "the time limit of 1e-09 s per site solve was reached at coupling price 0" in err
