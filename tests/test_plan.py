"""allocator plan: hand-solved years, re-derived one-way conversion and construction delay, the halving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator.plan.site_plan import CASHFLOW_ITEMS, irr, payback_years, solve_plan
from allocator.inputs.site import load_site
from conftest import REPO, write_site
from test_cli import invoke

# network hashrate of exactly 1e6 PH/s, and a BTC price giving 48 USD/PH/day at 3.125 BTC per block:
# 3.125 * 144 * btc / 1e6 = 48  ->  mining revenue at 20 J/TH = 48 * 50 / 24 = 100 USD per IT MWh
DIFFICULTY_1E6_PH = 1e6 * 1e15 * 600 / 2**32
BTC_48 = 48.0 * 1e6 / (3.125 * 144)


def plan_doc(**plan):
    base = {"start_year": 2026, "end_year": 2027, "btc_price_usd": BTC_48, "difficulty": DIFFICULTY_1E6_PH,
            "fees_btc_per_block": 0.0, "construction_months": 0.0, "discount_rate_frac": 0.1,
            "price_bins_per_month": 0}
    base.update(plan)
    return {
        "site": {"interconnect_mw": 10.0, "facility_mw": 10.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
                   "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 10.0}]},
        "ai": {"pue": 1.0, "convertible_mw": 10.0, "fitout_capex_usd_per_mw": 0.6e6,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
        "plan": base,
    }


def pretax(cashflows: pd.DataFrame) -> pd.DataFrame:
    """The pre-tax items of cashflows.csv (they add up to ``net``), one column each, by plan year."""
    items = (*CASHFLOW_ITEMS, "mining_capture_adjustment")  # the latter only with mining.capture_frac < 1
    return cashflows[cashflows["item"].isin(items)].pivot(index="year", columns="item", values="usd")


def test_two_year_plan_hand_solved(tmp_path):
    # per IT MW-year: AI lease 100 * 12000 = 1.2M; mining (100 - 20) * 8760 = 0.7008M; fit-out 0.6M once.
    # convert in 2026: -0.6 + 1.2 + 1.2/1.1 = 1.6909M; mine then convert: 0.7008 + 0.6/1.1 = 1.2463M;
    # mine both years: 0.7008 + 0.7008/1.1 = 1.3379M  ->  convert all 10 MW in 2026.
    result = solve_plan([write_site(tmp_path, [20.0] * 24, plan_doc())])
    plan = result.plan
    assert plan["ai_it_mw"].tolist() == pytest.approx([10.0, 10.0])
    assert plan["mining_it_mw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert result.npv_usd == pytest.approx(10 * (-0.6e6 + 1.2e6 + 1.2e6 / 1.1), rel=1e-6)
    assert result.bau_npv_usd == pytest.approx(10 * 0.7008e6 * (1 + 1 / 1.1), rel=1e-6)
    summary = result.summary.iloc[0]
    # incremental flows: 2026 10 * (1.2 - 0.6 - 0.7008)M = -1.008M; 2027 10 * (1.2 - 0.7008)M = 4.992M
    assert summary.conversion_irr_frac == pytest.approx(4.992 / 1.008 - 1, rel=1e-6)
    # payback with the NPV's timing (a year's flow at its start): -1.008M on 2026-01-01, back to
    # +3.984M with the 2027 flow on 2027-01-01 -> 1 year
    assert summary.payback_years == 1.0
    flows = pretax(result.cashflows)
    assert flows.loc[2026, "ai_capex"] == pytest.approx(-6e6)
    assert flows.loc[2027, "ai_lease_revenue"] == pytest.approx(12e6)
    assert (flows.drop(columns="net").sum(axis=1) - flows["net"]).abs().max() < 1e-6


def test_bau_mines_both_years_at_hand_value(tmp_path):
    result = solve_plan([write_site(tmp_path, [20.0] * 24, plan_doc())])
    bau = result.bau_plan
    assert bau["ai_it_mw"].tolist() == [0.0, 0.0]
    assert bau["mining_energy_mwh"].tolist() == pytest.approx([87600.0, 87600.0])


def online_share(months: float, k: int) -> float:
    """Share of a year's converted MW online k years later, from the docs' definition (months after Jan 1)."""
    return min(max((12 * (k + 1) - months) / 12, 0.0), 1.0) if k >= 0 else 0.0


def test_construction_delay_and_one_way_rederived_from_plan_csv(tmp_path):
    doc = plan_doc(start_year=2026, end_year=2031, construction_months=18.0, discount_rate_frac=0.05)
    doc["ai"]["lease"][0]["rate_usd_per_kw_month"] = 60.0
    doc["plan"]["network_hashrate_growth_frac"] = 0.3
    site = write_site(tmp_path, [20.0] * 24, doc)
    out = tmp_path / "run"
    code, stdout, _ = invoke(["plan", str(site), "--out", str(out)])
    assert code == 0, stdout
    plan = pd.read_csv(out / "plan.csv")
    flows = pretax(pd.read_csv(out / "cashflows.csv"))
    assert list(plan.columns[:6]) == ["site_id", "year", "ai_it_mw", "mining_it_mw", "mining_energy_mwh", "net_usd"]
    built = plan["ai_converted_mw"].to_numpy()
    assert built.sum() > 1.0  # the falling hashprice makes conversion pay at some point
    # capex is paid in the conversion year
    assert flows["ai_capex"].to_numpy() == pytest.approx(-0.6e6 * built, abs=1e-3)
    # online MW = converted MW delayed by 18 months (half a year online in the second year)
    online = [sum(online_share(18.0, i - j) * built[j] for j in range(len(built))) for i in range(len(built))]
    assert plan["ai_it_mw"].to_numpy() == pytest.approx(online, abs=1e-6)
    assert plan["ai_it_mw"].iloc[0] == 0.0
    # one-way: AI never shrinks; halls hold AI + mining
    assert (np.diff(plan["ai_it_mw"].to_numpy()) >= -1e-9).all()
    assert (plan["ai_it_mw"] + plan["mining_it_mw"] <= 10.0 + 1e-6).all()
    # NPV in the summary is the discounted sum of net_usd
    npv = (plan["net_usd"] * 1.05 ** -np.arange(len(plan))).sum()
    summary = pd.read_csv(out / "plan_summary.csv")
    assert summary["npv_usd"].iloc[0] == pytest.approx(npv, rel=1e-9)
    assert sorted(p.name for p in out.iterdir()) == ["bau_plan.csv", "cashflows.csv", "manifest.json",
                                                       "plan.csv", "plan_summary.csv"]


def test_halving_is_a_step_in_mining_revenue(tmp_path):
    # a leap-year price year (2024) at 20 USD/MWh (mining always runs), one bin per month; BTC and difficulty flat
    hours = pd.date_range("2024-01-01", "2025-01-01", freq="h", inclusive="left")
    doc = plan_doc(start_year=2027, end_year=2029, price_bins_per_month=1)
    del doc["ai"]
    doc["mining"]["opex_usd_per_mw_year"] = 0.0
    result = solve_plan([write_site(tmp_path, [20.0] * len(hours), doc)])
    flows = pretax(result.cashflows)["mining_revenue"]
    assert flows[2027] == pytest.approx(10 * 100.0 * 8760, rel=1e-9)  # 3.125 BTC all year
    assert flows[2029] == pytest.approx(flows[2027] / 2, rel=1e-9)  # 1.5625 BTC all year
    # 2028: 3.125 BTC until block 1,050,000 (2028-04-17 08:09 UTC), then half
    before = (pd.Timestamp("2028-04-17 08:09:27") - pd.Timestamp("2028-01-01")) / pd.Timedelta(days=366)
    assert flows[2028] / flows[2027] == pytest.approx(before + 0.5 * (1 - before), abs=2e-4)


def test_signed_lease_cannot_precede_construction_is_bad_input(tmp_path):
    doc = plan_doc(construction_months=12.0)
    doc["ai"]["lease"][0]["min_mw"] = 5.0
    code, _, err = invoke(["plan", str(write_site(tmp_path, [20.0] * 24, doc))])
    assert code == 1
    assert "ai.lease[0].min_mw" in err and "start_year" in err


def test_bad_plan_input_lists_every_problem(tmp_path):
    site = write_site(tmp_path, [20.0] * 24, plan_doc())
    site.write_text(site.read_text().replace('[plan]', '[plan]\ncolour = "red"'))
    code, _, err = invoke(["plan", str(site)])
    assert code == 1 and "plan.colour: unknown key" in err

    site = write_site(tmp_path / "a", [20.0] * 24, plan_doc(end_year=2025))
    code, _, err = invoke(["plan", str(site)])
    assert code == 1 and "end_year 2025 is before start_year 2026" in err

    doc = plan_doc(lease=[{"tenant": "Nobody"}], fleet=[{"model": "Z", "retire_year": 2027}])
    site = write_site(tmp_path / "b", [20.0] * 24, doc)
    site.write_text(site.read_text().replace("btc_price_usd = ", "btc_price_usd = [1.0, 2.0, 3.0] # "))
    code, _, err = invoke(["plan", str(site)])
    assert code == 1
    assert "3 problems" in err
    assert "plan.btc_price_usd: has 3 values" in err and "plan.lease[0].tenant" in err and "plan.fleet[0].model" in err


def test_site_without_plan_is_bad_input(tmp_path):
    doc = plan_doc()
    del doc["plan"]
    code, _, err = invoke(["plan", str(write_site(tmp_path, [20.0] * 24, doc))])
    assert code == 1 and "has no [plan] table" in err


def test_irr_and_payback_definitions():
    assert irr(np.array([-100.0, 110.0])) == pytest.approx(0.10, abs=1e-9)
    assert np.isnan(irr(np.array([100.0, 10.0])))
    # cumulative at the start of each year: -100, -50, +50 -> back to >= 0 two years in
    assert payback_years(np.array([-100.0, 50.0, 100.0])) == 2.0
    assert np.isnan(payback_years(np.array([-100.0, 50.0])))


def test_bundled_campuses_plan_runs_and_halving_cuts_revenue_per_mwh():
    sites = [load_site(REPO / "sites" / f"{name}.toml") for name in ("west_texas", "permian_hybrid")]
    result = solve_plan(sites, bins_per_month=6)
    summary = result.summary.set_index("scope")
    assert (summary["conversion_npv_usd"] > 0).all()
    flows = result.cashflows.pivot_table(index=["site_id", "year"], columns="item", values="usd")
    energy = result.plan.set_index(["site_id", "year"])["mining_energy_mwh"]
    per_mwh = (flows["mining_revenue"] / energy).loc["permian_hybrid"]
    # BTC +8%/yr, hashrate +20%/yr: -10%/yr, and the April 2028 halving halves it
    assert per_mwh[2029] / per_mwh[2027] == pytest.approx(0.5 * (1.08 / 1.2) ** 2, rel=0.05)


def test_asic_purchase_and_retirement_hand_solved(tmp_path):
    # no AI; an old 5 MW fleet retires in 2027; new 20 J/TH ASICs at 10 USD per TH/s = 0.5M per IT MW
    # (50,000 TH/s per MW) earn 0.7008M per MW-year: buying fills the halls in 2026 and, with a
    # two-year life, no second purchase is needed.
    doc = plan_doc(fleet=[{"model": "A", "retire_year": 2027}],
                   asic_offer=[{"model": "New", "efficiency_j_per_th": 20.0, "usd_per_th": 10.0, "life_years": 2}])
    del doc["ai"]
    doc["mining"]["fleet"][0]["mw"] = 5.0
    result = solve_plan([write_site(tmp_path, [20.0] * 24, doc)])
    plan = result.plan
    assert plan["mining_it_mw"].tolist() == pytest.approx([10.0, 10.0])
    flows = pretax(result.cashflows)
    assert flows["mining_capex"].tolist() == pytest.approx([-5 * 0.5e6, -5 * 0.5e6])  # 5 MW, then the retired 5
    margin = 0.7008e6
    assert result.npv_usd == pytest.approx(10 * margin - 2.5e6 + (10 * margin - 2.5e6) / 1.1, rel=1e-9)


def test_price_year_file_replaces_a_year(tmp_path):
    site = write_site(tmp_path, [20.0] * 24, plan_doc(price_year=[{"year": 2027, "file": "dear.csv"}]))
    hours = pd.date_range("2024-03-01", periods=24, freq="h", tz="UTC")
    pd.DataFrame({"interval_start": hours.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "price_usd_per_mwh": [150.0] * 24}).to_csv(tmp_path / "dear.csv", index=False)
    result = solve_plan([site])
    # 150 USD/MWh is above mining's 100 USD/MWh revenue: business as usual idles the fleet in 2027
    assert result.bau_plan["mining_energy_mwh"].tolist() == pytest.approx([87600.0, 0.0], abs=1e-6)
    assert str((tmp_path / "dear.csv").resolve()) in result.manifest()["inputs_sha256"]


def test_mining_capture_frac_scales_the_plan_margin_hand_solved(tmp_path):
    # a lease at 1 USD/kW-month never pays its fit-out: the plan mines 10 MW both years, and with
    # mining.capture_frac = 0.4 earns 0.4 x (100 - 20) x 8760 x 10 = 2.8032M a year
    doc = plan_doc()
    doc["ai"]["lease"][0]["rate_usd_per_kw_month"] = 1.0
    doc["mining"]["capture_frac"] = 0.4
    result = solve_plan([write_site(tmp_path, [20.0] * 24, doc)])
    assert result.plan["mining_it_mw"].tolist() == pytest.approx([10.0, 10.0])
    flows = pretax(result.cashflows)
    assert flows.loc[2026, "mining_revenue"] == pytest.approx(100 * 87600)
    assert flows.loc[2026, "mining_capture_adjustment"] == pytest.approx(-0.6 * 80 * 87600)
    assert flows.loc[2026, "net"] == pytest.approx(0.4 * 80 * 87600)
    assert (flows.drop(columns="net").sum(axis=1) - flows["net"]).abs().max() < 1e-6
    assert result.npv_usd == pytest.approx(0.4 * 80 * 87600 * (1 + 1 / 1.1), rel=1e-6)


def test_mining_capture_frac_moves_the_plan_to_ai_hand_solved(tmp_path):
    # per IT MW-year at 55 USD/kW-month: lease 0.66M, fit-out 0.6M once; mining (100 - 20) x 8760 = 0.7008M.
    # capture 1: mine both years 0.7008 (1 + 1/1.1) = 1.3379M beats converting now, 0.66 - 0.6 + 0.66/1.1 = 0.66M.
    # capture 0.4: mining 0.28032 (1 + 1/1.1) = 0.5352M, mine then convert 0.28032 + 0.06/1.1 = 0.3349M < 0.66M.
    doc = plan_doc()
    doc["ai"]["lease"][0]["rate_usd_per_kw_month"] = 55.0
    assert solve_plan([write_site(tmp_path / "a", [20.0] * 24, doc)]).plan["ai_it_mw"].tolist() == pytest.approx(
        [0.0, 0.0], abs=1e-6)
    doc["mining"]["capture_frac"] = 0.4
    result = solve_plan([write_site(tmp_path / "b", [20.0] * 24, doc)])
    assert result.plan["ai_it_mw"].tolist() == pytest.approx([10.0, 10.0])
    assert result.npv_usd == pytest.approx(10 * 0.66e6, rel=1e-6)
