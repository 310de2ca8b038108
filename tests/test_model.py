"""Hand-solved sites: the optimum computed on paper, asserted to 1e-6 relative.

Every case uses four hours priced [20, 50, 150, 80] USD/MWh and one fleet at
20 J/TH (50 PH/s per MW) with hashprice 48 USD/PH/day and no pool fee, so a
running MW earns exactly 48 * 50 / 24 = 100 USD per hour. An AI lease at
100 USD/kW-month earns 100 * 12000 * 4 / 8760 USD per IT MW over 4 hours.
"""

from __future__ import annotations

import pytest

from allocator import InfeasibleError, load_site
from allocator import solve
from conftest import write_site

PRICES = [20.0, 50.0, 150.0, 80.0]
AI_USD_PER_MW = 100 * 12000 * 4 / 8760  # 547.945... over the 4-hour horizon
FLEET = {"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}


def mining(**kw):
    base = {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": [dict(FLEET)]}
    base.update(kw)
    return base


def ai(**kw):
    base = {"pue": 1.25, "convertible_mw": 8.0, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]}
    base.update(kw)
    return base


def run(tmp_path, doc, prices=PRICES):
    return solve([load_site(write_site(tmp_path, prices, doc))])


def test_mining_wins_without_ai(tmp_path):
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining()})
    row = r.split.iloc[0]
    assert row.mining_it_mw == pytest.approx(10.0, rel=1e-6)
    assert row.ai_it_mw == 0.0
    # runs in the three hours below 100 USD/MWh: margin (80 + 50 + 20) x 10 MW
    assert r.objective_usd == pytest.approx(1500.0, rel=1e-6)
    assert row.mining_uptime_frac == pytest.approx(0.75, rel=1e-6)
    assert r.dispatch.mining_it_mw.tolist() == pytest.approx([10, 10, 0, 10], abs=1e-6)
    fin = r.financials.set_index("item").usd
    assert fin["mining_revenue"] == pytest.approx(3000.0, rel=1e-6)
    assert fin["mining_power_cost"] == pytest.approx(-1500.0, rel=1e-6)


def test_ai_wins_the_halls(tmp_path):
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining(), "ai": ai()})
    row = r.split.iloc[0]
    # AI earns 438 USD per hall MW against mining's 150: it takes all 8 convertible MW = 10 grid MW
    assert row.ai_it_mw == pytest.approx(8.0, rel=1e-6)
    assert row.ai_grid_mw == pytest.approx(10.0, rel=1e-6)
    assert row.mining_it_mw == pytest.approx(0.0, abs=1e-9)
    assert r.objective_usd == pytest.approx(8 * AI_USD_PER_MW, rel=1e-6)
    assert "AI at ai.convertible_mw = 8 MW" in r.reasons["tiny"]


def test_power_not_passed_through_flips_the_decision(tmp_path):
    # the host pays the tenant's power: 1.25 x (20+50+150+80) = 375 USD per IT MW,
    # leaving 172.9 per IT MW = 138.4 per hall MW, less than mining's 150
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining(),
                       "ai": ai(power_pass_through=False)})
    row = r.split.iloc[0]
    assert row.ai_it_mw == pytest.approx(0.0, abs=1e-9)
    assert row.mining_it_mw == pytest.approx(10.0, rel=1e-6)
    assert r.objective_usd == pytest.approx(1500.0, rel=1e-6)


def test_headroom_soak(tmp_path):
    # halls 20 MW behind a 10 MW interconnect; the tenant draws half its 4 MW x 1.25
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0, "facility_mw": 20.0},
                       "mining": mining(opex_usd_per_mw_year=1000.0, fleet=[{**FLEET, "mw": 15.0}]),
                       "ai": ai(convertible_mw=4.0, utilization_frac=0.5)})
    row = r.split.iloc[0]
    assert row.ai_it_mw == pytest.approx(4.0, rel=1e-6)
    # grid left for mining: 10 - 1.25 x 0.5 x 4 = 7.5 MW; more installed MW would only cost opex
    assert row.mining_it_mw == pytest.approx(7.5, rel=1e-6)
    expected = 4 * AI_USD_PER_MW + 7.5 * 150 - 7.5 * 1000 * 4 / 8760
    assert r.objective_usd == pytest.approx(expected, rel=1e-6)
    assert r.dispatch.ai_grid_mw.tolist() == pytest.approx([2.5] * 4, rel=1e-9)
    assert r.dispatch.curtailed_it_mw.tolist() == pytest.approx([0, 0, 7.5, 0], abs=1e-6)


def test_curtailment_event_caps_firm_ai(tmp_path):
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining(), "ai": ai(),
                       "curtailment": [{"start": "2024-01-01T02:00Z", "end": "2024-01-01T03:00Z", "cap_mw": 5.0}]})
    row = r.split.iloc[0]
    # firm AI: 1.25 a <= 5 in the event hour -> a = 4; the halls' other 5 MW mine
    assert row.ai_it_mw == pytest.approx(4.0, rel=1e-6)
    assert row.mining_it_mw == pytest.approx(5.0, rel=1e-6)
    assert r.objective_usd == pytest.approx(4 * AI_USD_PER_MW + 5 * 150, rel=1e-6)
    assert r.dispatch.grid_cap_mw.tolist() == [10.0, 10.0, 5.0, 10.0]


def test_uptime_sla_binds(tmp_path):
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining(min_uptime_frac=1.0)})
    # must run every hour, including the 150 USD/MWh one: 10 x (400 - 300)
    assert r.objective_usd == pytest.approx(1000.0, rel=1e-6)
    assert r.dispatch.mining_it_mw.tolist() == pytest.approx([10] * 4, rel=1e-6)


def test_signed_lease_minimum_binds_when_ai_loses_money(tmp_path):
    lease = {"tenant": "Signed", "rate_usd_per_kw_month": 10.0, "min_mw": 2.0}
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining(),
                       "ai": ai(opex_usd_per_mw_year=1.0e6, lease=[lease])})
    row = r.split.iloc[0]
    assert row.ai_it_mw == pytest.approx(2.0, rel=1e-6)
    assert row.mining_it_mw == pytest.approx(7.5, rel=1e-6)
    expected = 2 * (10 * 12000 - 1.0e6) * 4 / 8760 + 7.5 * 150
    assert r.objective_usd == pytest.approx(expected, rel=1e-6)
    assert "signed minimum" in r.reasons["tiny"]


def test_two_tenants_best_rate_first(tmp_path):
    leases = [{"tenant": "Cheap", "rate_usd_per_kw_month": 90.0, "max_mw": 8.0},
              {"tenant": "Rich", "rate_usd_per_kw_month": 100.0, "max_mw": 3.0}]
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0}, "mining": mining(), "ai": ai(lease=leases)})
    mw = r.leases.set_index("tenant").it_mw
    assert mw["Rich"] == pytest.approx(3.0, rel=1e-6)
    assert mw["Cheap"] == pytest.approx(5.0, rel=1e-6)
    assert r.objective_usd == pytest.approx((3 * 100 + 5 * 90) * 12000 * 4 / 8760, rel=1e-6)


def test_items_add_up_to_the_objective(tmp_path):
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0, "facility_mw": 20.0},
                       "mining": mining(opex_usd_per_mw_year=1000.0, fleet=[{**FLEET, "mw": 15.0}]),
                       "ai": ai(convertible_mw=4.0, utilization_frac=0.5, fitout_capex_usd_per_mw=1e5)})
    fin = r.financials.set_index("item").usd
    assert fin.drop("net").sum() == pytest.approx(fin["net"], rel=1e-9)
    assert fin["net"] == pytest.approx(r.objective_usd, rel=1e-9)


def test_signed_lease_above_curtailment_cap_is_infeasible(tmp_path):
    lease = {"tenant": "Anchor", "rate_usd_per_kw_month": 100.0, "min_mw": 8.0}
    path = write_site(tmp_path, PRICES, {
        "site": {"interconnect_mw": 10.0}, "mining": mining(), "ai": ai(lease=[lease]),
        "curtailment": [{"start": "2024-01-01T02:00Z", "end": "2024-01-01T03:00Z", "cap_mw": 5.0}]})
    with pytest.raises(InfeasibleError) as err:
        solve([load_site(path)])
    text = err.value.render()
    assert "'Anchor'" in text and "10 MW of firm load" in text and "5 MW" in text
    assert "curtailment[0]" in text and "1 hour" in text
    assert "<= 4.0" in text  # the fix: min_mw <= 5 / 1.25
    assert err.value.exit_code == 2


def test_site_with_nothing_to_decide_is_all_zeros(tmp_path):
    r = run(tmp_path, {"site": {"interconnect_mw": 10.0},
                       "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0}})
    row = r.split.iloc[0]
    assert (row.ai_it_mw, row.mining_it_mw, row.net_usd) == (0.0, 0.0, 0.0)
    assert r.dispatch.mining_it_mw.tolist() == [0.0] * 4
    assert "no AI lease offered; no ASIC fleet" == r.reasons["tiny"]
