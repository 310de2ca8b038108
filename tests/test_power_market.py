"""Hand-solved sites for the power-market extension (docs/power.md).

Same tiny world as test_model.py: four UTC hours priced [20, 50, 150, 80]
USD/MWh, one 10 MW fleet at 20 J/TH with hashprice 48 USD/PH/day and PUE 1.0,
so a running MW earns exactly 100 USD per hour and mining's margins per MW are
[80, 50, -50, 20]. Without any extension the optimum runs hours 0, 1, 3 and
nets 1,500 USD. The horizon is 4/8760 years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator import InputError, load_site
from allocator.lp import model
from allocator import solve
from conftest import write_site

PRICES = [20.0, 50.0, 150.0, 80.0]
YEARS = 4 / 8760
FLEET = {"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}
BASE = {"site": {"interconnect_mw": 10.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": [dict(FLEET)]}}


def run(tmp_path, extra: dict, prices=PRICES):
    doc = {**BASE, **extra}
    if "prices" in extra:
        doc["prices"] = extra["prices"]
    return solve([load_site(write_site(tmp_path, prices, doc))])


def items(r) -> pd.Series:
    return r.financials.set_index("item").usd


def running(r) -> list[float]:
    return r.dispatch.mining_it_mw.tolist()


def write_series(folder, name: str, values, column: str) -> str:
    index = pd.date_range("2024-01-01T00:00:00Z", periods=len(values), freq="h")
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"), column: values}).to_csv(
        folder / name, index=False)
    return name


# ------------------------------------------------------------------ contracts


def test_financial_contract_settles_without_changing_dispatch(tmp_path):
    r = run(tmp_path, {"power": {"contract": [{"mw": 5.0, "price_usd_per_mwh": 60.0, "settlement": "financial"}]}})
    assert running(r) == pytest.approx([10, 10, 0, 10], abs=1e-6)  # unchanged
    # credited hub on all 5 MW, paid 60 on them: 5 x (20 + 50 + 150 + 80 - 4 x 60) = 300
    fin = items(r)
    assert fin["power_contract_settlement"] == pytest.approx(300.0, rel=1e-9)
    assert r.objective_usd == pytest.approx(1800.0, rel=1e-6)
    assert fin.drop("net").sum() == pytest.approx(fin["net"], rel=1e-9)
    c = r.power_contracts.iloc[0]
    assert c.contract == "contract_0" and c.settlement == "financial"
    assert c.contract_energy_mwh == pytest.approx(20.0)
    assert c.used_energy_mwh == pytest.approx(15.0, abs=1e-6)  # 5 MW in the three hours mining runs
    # mining stood down at 150 USD/MWh: the unused 5 MWh were credited at 150
    assert c.curtailment_credit_usd == pytest.approx(750.0, rel=1e-6)


def test_physical_contract_runs_mining_through_a_spike(tmp_path):
    r = run(tmp_path, {"power": {"contract": [{"name": "ppa", "mw": 5.0, "price_usd_per_mwh": 60.0,
                                               "settlement": "physical"}]}})
    # at 150 USD/MWh the first 5 MW run on energy already paid for (worth 100 - 150 + 150 = 100 per MW),
    # the other 5 MW would pay spot (100 - 150 < 0)
    assert running(r) == pytest.approx([10, 10, 5, 10], abs=1e-6)
    assert r.dispatch.physical_contract_mw.tolist() == pytest.approx([5, 5, 5, 5], abs=1e-6)
    fin = items(r)
    assert fin["mining_power_cost"] == pytest.approx(-(200 + 500 + 750 + 800), rel=1e-6)
    # contract energy worth hub: 5 x 300 = 1500, paid 5 x 4 x 60 = 1200
    assert fin["power_contract_settlement"] == pytest.approx(300.0, rel=1e-6)
    assert r.objective_usd == pytest.approx(3500 - 2250 + 300, rel=1e-6)
    assert r.power_contracts.iloc[0].curtailment_credit_usd == 0.0


def test_physical_block_is_lost_when_unused_and_skipped_at_negative_prices(tmp_path):
    # no load can take it in hour 1 (-30 USD/MWh: buying spot is paid) and the block costs 10
    prices = [20.0, -30.0, 150.0, 80.0]
    r = run(tmp_path, {"power": {"contract": [{"mw": 5.0, "price_usd_per_mwh": 10.0, "settlement": "physical",
                                               "start": "2024-01-01T01:00Z", "end": "2024-01-01T03:00Z"}]}},
            prices=prices)
    # hour 1: y = 0 (spot is cheaper than nothing); hour 2: 5 MW on the block
    assert r.dispatch.physical_contract_mw.tolist() == pytest.approx([0, 0, 5, 0], abs=1e-6)
    assert r.dispatch.contract_mw.tolist() == [0, 5, 5, 0]
    assert running(r) == pytest.approx([10, 10, 5, 10], abs=1e-6)
    # settlement: 5 x 150 - 2 x 5 x 10
    assert items(r)["power_contract_settlement"] == pytest.approx(650.0, rel=1e-6)


# ------------------------------------------------------------------ coincident peak


@pytest.mark.parametrize("charge, curtails", [(400.0, True), (100.0, False)])
def test_coincident_peak_curtails_only_when_the_charge_beats_the_margin(tmp_path, charge, curtails):
    # one listed peak interval, hour 1 (margin 50 USD per MW): as in ERCOT's 4CP it carries a quarter of the
    # annual charge, charge / 4 per MW drawn in it, whatever the horizon's length
    r = run(tmp_path, {"coincident_peak": {"charge_usd_per_mw_year": charge, "intervals": ["2024-01-01T01:00Z"]}})
    per_mw = charge / 4
    peak = r.coincident_peak.iloc[0]
    assert peak.peaks_per_year == 4.0 and peak.peaks_in_horizon == 1.0
    assert peak.uncurtailed_peak_draw_mw == pytest.approx(10.0)
    assert peak.uncurtailed_coincident_peak_cost_usd == pytest.approx(-10 * per_mw)
    if curtails:  # 100 > 50
        assert running(r) == pytest.approx([10, 0, 0, 10], abs=1e-6)
        assert items(r)["coincident_peak_cost"] == pytest.approx(0.0, abs=1e-6)
        assert r.objective_usd == pytest.approx(1000.0, rel=1e-6)
    else:  # 25 < 50
        assert running(r) == pytest.approx([10, 10, 0, 10], abs=1e-6)
        assert items(r)["coincident_peak_cost"] == pytest.approx(-10 * per_mw, rel=1e-6)
        assert r.objective_usd == pytest.approx(1500 - 10 * per_mw, rel=1e-6)


def test_coincident_peak_probabilities_are_an_expected_value(tmp_path):
    # hours 1 and 3 are each a peak with probability 0.3 -> weight 0.5 each: charge per MW 45.7 per hour;
    # hour 1 (margin 50) still runs, hour 3 (margin 20) stands down
    name = write_series(tmp_path, "peaks.csv", [0.0, 0.3, 0.0, 0.3], "probability_frac")
    r = run(tmp_path, {"coincident_peak": {"charge_usd_per_mw_year": 200_000.0, "probability": {"file": name}}})
    # the probabilities are the expected number of peaks in each hour, scaled to sum to the peaks expected in
    # the horizon, 4 a year x 4/8760 years: each hour holds half of them, and a peak costs charge / 4 per MW
    per_mw = 200_000.0 / 4 * (4 * YEARS) * 0.5
    assert per_mw == pytest.approx(200_000.0 * YEARS * 0.5)
    assert running(r) == pytest.approx([10, 10, 0, 0], abs=1e-6)
    assert r.dispatch.peak_weight_frac.tolist() == pytest.approx([0, 0.5, 0, 0.5])
    assert items(r)["coincident_peak_cost"] == pytest.approx(-10 * per_mw, rel=1e-6)
    assert r.objective_usd == pytest.approx(1300 - 10 * per_mw, rel=1e-6)


# ------------------------------------------------------------------ demand response


@pytest.mark.parametrize("pay, runs_spike", [(30.0, False), (60.0, True)])
def test_hourly_program_offers_only_running_mw(tmp_path, pay, runs_spike):
    r = run(tmp_path, {"demand_response": [{"name": "ecrs", "capacity_usd_per_mw_hour": pay}]})
    offered = r.dispatch.offered_mw_ecrs.to_numpy()
    assert (offered <= r.dispatch.mining_grid_mw.to_numpy() + 1e-6).all()
    if runs_spike:  # 60 beats the -50 margin at 150 USD/MWh: run and offer every hour
        assert running(r) == pytest.approx([10] * 4, abs=1e-6)
        assert r.objective_usd == pytest.approx(1500 - 500 + 4 * 10 * 60, rel=1e-6)
    else:
        assert running(r) == pytest.approx([10, 10, 0, 10], abs=1e-6)
        assert offered.tolist() == pytest.approx([10, 10, 0, 10], abs=1e-6)
        assert r.objective_usd == pytest.approx(1500 + 3 * 10 * 30, rel=1e-6)
    prog = r.demand_response.set_index("program").loc["ecrs"]
    assert prog.demand_response_revenue_usd == pytest.approx(items(r)["demand_response_revenue"])


@pytest.mark.parametrize("rate, offers", [(438_000.0, True), (219_000.0, False)])
def test_annual_program_with_a_deployment_sheds_the_offered_mw(tmp_path, rate, offers):
    # one MW figure through all four hours, paid rate x 4/8760 (200 or 100 USD per MW); it costs the
    # shed hour 0 (margin 80) and running hour 2 at a loss (50): 130 USD per MW
    r = run(tmp_path, {"demand_response": [{"name": "ers", "capacity_usd_per_mw_year": rate,
                                            "deployment": [{"start": "2024-01-01T00:00Z",
                                                            "end": "2024-01-01T01:00Z"}]}]})
    if offers:
        assert r.dispatch.offered_mw_ers.tolist() == pytest.approx([10] * 4, abs=1e-6)
        assert running(r) == pytest.approx([0, 10, 10, 10], abs=1e-6)
        assert r.dispatch.shed_mw.tolist() == pytest.approx([10, 0, 0, 0], abs=1e-6)
        assert r.demand_response.iloc[0].shed_mwh == pytest.approx(10.0)
        assert items(r)["demand_response_revenue"] == pytest.approx(2000.0, rel=1e-6)
        assert r.objective_usd == pytest.approx(1500 - 800 - 500 + 2000, rel=1e-6)
    else:
        assert r.dispatch.offered_mw_ers.tolist() == pytest.approx([0] * 4, abs=1e-6)
        assert r.objective_usd == pytest.approx(1500.0, rel=1e-6)


@pytest.mark.parametrize("stacking, expected", [
    ((False, False), 1500 + 3 * 10 * 30),   # exclusive: each MW to the better program only
    ((True, True), 1500 + 3 * 10 * 45),     # both stack: the same MW sold twice
    ((False, True), 1500 + 3 * 10 * 30),    # one exclusive: its MW are not shared
])
def test_exclusivity_never_sells_a_mw_twice(tmp_path, stacking, expected):
    programs = [{"name": "a", "capacity_usd_per_mw_hour": 30.0, "stacking": stacking[0]},
                {"name": "b", "capacity_usd_per_mw_hour": 15.0, "stacking": stacking[1]}]
    r = run(tmp_path, {"demand_response": programs})
    assert r.objective_usd == pytest.approx(expected, rel=1e-6)
    d = r.dispatch
    total = d.offered_mw_a + d.offered_mw_b
    limit = d.mining_grid_mw * (2 if all(stacking) else 1)
    assert (total <= limit + 1e-6).all()
    by_program = r.demand_response.set_index("program").demand_response_revenue_usd
    assert by_program.sum() == pytest.approx(items(r)["demand_response_revenue"], rel=1e-9)


def test_capacity_price_series_file(tmp_path):
    # pays 0, 0, 70, 5: the spike hour runs (70 > 50) and offers
    name = write_series(tmp_path, "ecrs.csv", [0.0, 0.0, 70.0, 5.0], "ecrs_usd_per_mw_hour")
    r = run(tmp_path, {"demand_response": [{"name": "ecrs", "capacity_price": {"file": name}}]})
    assert running(r) == pytest.approx([10] * 4, abs=1e-6)
    assert items(r)["demand_response_revenue"] == pytest.approx(10 * 70 + 10 * 5, rel=1e-6)


# ------------------------------------------------------------------ time-of-use


def test_tou_adder_by_hour_of_day_and_month(tmp_path):
    peak = {"adder_usd_per_mwh": 100.0, "hours": [0]}
    r = run(tmp_path, {"prices": {"file": "tiny_prices.csv", "tou_adder": [peak]}})
    assert r.dispatch.price_usd_per_mwh.tolist() == [120.0, 50.0, 150.0, 80.0]
    assert running(r) == pytest.approx([0, 10, 0, 10], abs=1e-6)
    assert r.objective_usd == pytest.approx(700.0, rel=1e-6)
    assert r.dispatch.hub_price_usd_per_mwh.tolist() == PRICES
    february = {**peak, "months": [2]}  # January prices: no effect
    r = run(tmp_path / "feb", {"prices": {"file": "tiny_prices.csv", "tou_adder": [february]}})
    assert r.objective_usd == pytest.approx(1500.0, rel=1e-6)


# ------------------------------------------------------------------ the base model is untouched


def test_site_without_tables_builds_the_base_lp(tmp_path):
    site = load_site(write_site(tmp_path, PRICES, BASE))
    assert site.power is None
    lp = model.build([site])
    block = lp.blocks[0]
    assert set(block.cols) == {"fleet", "run"}
    assert {k.split("__")[0] for k in block.rows} == {"run_limit", "halls", "grid_limit"}
    assert lp.n_cols == 1 + 4
    r = solve([site])
    assert list(items(r).index) == ["ai_lease_revenue", "ai_capex_recovery", "ai_opex", "ai_power_cost",
                                    "mining_revenue", "mining_power_cost", "mining_fixed_cost", "net"]
    assert "offered_mw" not in " ".join(r.dispatch.columns)


def test_bundled_sites_match_the_base_model(tmp_path):
    # objectives of the base model (commit 81e6a76, before this extension), to 1e-9
    from conftest import REPO

    for name, objective in (("west_texas", 159977888.1453894), ("permian_hybrid", 144990388.29762423)):
        site = load_site(REPO / "sites" / f"{name}.toml")
        assert site.power is None
        assert solve([site]).objective_usd == pytest.approx(objective, rel=1e-9)


# ------------------------------------------------------------------ bad input


def test_bad_power_tables_list_every_problem(tmp_path):
    doc = {**BASE,
           "coincident_peak": {"charge_usd_per_mw_year": 1.0},
           "demand_response": [{"name": "ecrs"}, {"name": "ECRS x", "capacity_usd_per_mw_hour": 1.0}],
           "power": {"contract": [{"mw": 5.0, "price_usd_per_mwh": 60.0, "settlement": "swap"}]}}
    with pytest.raises(InputError) as err:
        load_site(write_site(tmp_path, PRICES, doc))
    text = err.value.render()
    assert "coincident_peak" in text and "either intervals" in text
    assert "demand_response[0]" in text and "exactly one payment" in text
    assert "demand_response[1].name" in text
    assert "power.contract[0].settlement" in text and "'financial'" in text


def test_implausible_power_figures_are_refused_like_the_price_file(tmp_path):
    # 1e12 USD/MWh is refused in a price file and in prices.adder_usd_per_mwh; the power tables took it
    # and solved: a contract at 1e12 USD/MWh made net -8.8e17 USD and moved the one-sided marginal values
    # of the cutting planes by 0.1% (their 1e-9 relative gap is then 8.8e8 USD)
    big = 1e12
    name = write_series(tmp_path, "ecrs.csv", [0.0, 0.0, big, 5.0], "ecrs_usd_per_mw_hour")
    doc = {**BASE,
           "prices": {"tou_adder": [{"adder_usd_per_mwh": big}]},
           "coincident_peak": {"charge_usd_per_mw_year": big, "intervals": ["2024-01-01T02:00"]},
           "demand_response": [{"name": "ecrs", "capacity_usd_per_mw_hour": big, "max_mw": big},
                               {"name": "ers", "capacity_usd_per_mw_year": big, "stacking": True},
                               {"name": "rrs", "capacity_price": {"file": name}, "stacking": True}],
           "power": {"contract": [{"mw": big, "price_usd_per_mwh": -big, "settlement": "financial"}]}}
    with pytest.raises(InputError) as err:
        load_site(write_site(tmp_path, PRICES, doc))
    text = err.value.render()
    for field in ("prices.tou_adder[0].adder_usd_per_mwh", "coincident_peak.charge_usd_per_mw_year",
                  "demand_response[0].capacity_usd_per_mw_hour", "demand_response[0].max_mw",
                  "demand_response[1].capacity_usd_per_mw_year", "power.contract[0].mw",
                  "power.contract[0].price_usd_per_mwh"):
        assert field in text, field
    assert "check the units" in text
    # at the limits the site loads
    doc["prices"]["tou_adder"][0]["adder_usd_per_mwh"] = 100_000.0
    doc["coincident_peak"]["charge_usd_per_mw_year"] = 100_000.0 * 8760
    doc["demand_response"] = [{"name": "ecrs", "capacity_usd_per_mw_hour": 100_000.0, "max_mw": 100_000.0},
                              {"name": "ers", "capacity_usd_per_mw_year": 100_000.0 * 8760, "stacking": True}]
    doc["power"]["contract"][0].update(mw=100_000.0, price_usd_per_mwh=-100_000.0)
    assert load_site(write_site(tmp_path, PRICES, doc)).power is not None
    # a capacity price file is held to the same limit
    doc["demand_response"].append({"name": "rrs", "capacity_price": {"file": name}, "stacking": True})
    with pytest.raises(InputError, match=r"demand_response\[2\].capacity_price: 1 hours have a capacity price "
                                         r"above 100,000 USD/MW-hour \(first 2024-01-01 02:00:00\+00:00: 1e\+12\)"):
        load_site(write_site(tmp_path, PRICES, doc))
    write_series(tmp_path, "ecrs.csv", [0.0, 0.0, 100_000.0, 5.0], "ecrs_usd_per_mw_hour")
    assert load_site(write_site(tmp_path, PRICES, doc)).power.programs[2].capacity_usd_per_mw_hour[2] == 100_000.0


def test_unknown_key_in_a_program_suggests_the_field(tmp_path):
    doc = {**BASE, "demand_response": [{"name": "ecrs", "capacity_usd_per_mwh": 5.0}]}
    with pytest.raises(InputError, match="Did you mean 'capacity_usd_per_mw_hour'"):
        load_site(write_site(tmp_path, PRICES, doc))


def test_windows_outside_the_horizon_are_problems(tmp_path):
    doc = {**BASE,
           "coincident_peak": {"charge_usd_per_mw_year": 1.0, "intervals": ["2025-07-01T16:00"]},
           "demand_response": [{"name": "ers", "capacity_usd_per_mw_year": 1.0, "start": "2024-01-01T00:00Z",
                                "end": "2024-01-01T02:00Z",
                                "deployment": [{"start": "2024-01-01T03:00Z", "end": "2024-01-01T04:00Z"}]}],
           "power": {"contract": [{"mw": 5.0, "price_usd_per_mwh": 60.0, "settlement": "financial",
                                   "start": "2023-01-01", "end": "2023-02-01"}]}}
    with pytest.raises(InputError) as err:
        load_site(write_site(tmp_path, PRICES, doc))
    text = err.value.render()
    assert "coincident_peak.intervals[0]" in text and "outside the price horizon" in text
    assert "demand_response[0].deployment[0]" in text and "outside the program window" in text
    assert "power.contract[0]" in text and "holds no hour" in text


def test_demand_response_needs_a_fleet(tmp_path):
    doc = {"site": {"interconnect_mw": 10.0}, "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0},
           "demand_response": [{"name": "ecrs", "capacity_usd_per_mw_hour": 1.0}]}
    with pytest.raises(InputError, match="no \\[\\[mining.fleet\\]\\]"):
        load_site(write_site(tmp_path, PRICES, doc))


def test_items_add_up_with_every_extension(tmp_path):
    name = write_series(tmp_path, "ecrs.csv", [3.0, 0.0, 70.0, 5.0], "ecrs_usd_per_mw_hour")
    r = run(tmp_path, {
        "site": {"interconnect_mw": 10.0, "facility_mw": 14.0},
        "mining": {"pue": 1.1, "hashprice_usd_per_ph_day": 48.0, "opex_usd_per_mw_year": 500.0,
                   "fleet": [dict(FLEET), {"model": "Old", "efficiency_j_per_th": 30.0, "mw": 5.0}]},
        "ai": {"pue": 1.25, "convertible_mw": 2.0, "power_pass_through": False,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
        "prices": {"file": "tiny_prices.csv", "tou_adder": [{"adder_usd_per_mwh": 7.0, "hours": [2, 3]}]},
        "power": {"contract": [{"mw": 3.0, "price_usd_per_mwh": 40.0, "settlement": "physical"},
                               {"mw": 2.0, "price_usd_per_mwh": 45.0, "settlement": "financial"}]},
        "coincident_peak": {"charge_usd_per_mw_year": 90_000.0, "intervals": ["2024-01-01T02:00Z"]},
        "demand_response": [{"name": "ecrs", "capacity_price": {"file": name}},
                            {"name": "ers", "capacity_usd_per_mw_year": 50_000.0, "stacking": True,
                             "deployment": [{"start": "2024-01-01T03:00Z", "end": "2024-01-01T04:00Z"}]}],
    })
    fin = items(r)
    assert fin.drop("net").sum() == pytest.approx(fin["net"], rel=1e-9)
    assert fin["net"] == pytest.approx(r.objective_usd, rel=1e-9)
    assert np.isfinite(r.marginal_values.value_usd_per_mw_year).all()


def test_documented_example_site(tmp_path):
    from conftest import REPO

    from allocator.cli import main

    path = REPO / "docs" / "examples" / "west_texas_power.toml"
    out = tmp_path / "run"
    assert main(["solve", str(path), "--out", str(out)]) == 0
    for name in ("power_contracts", "coincident_peak", "demand_response", "marginal_values", "shadow_prices"):
        assert (out / f"{name}.csv").is_file()
    hub = pd.read_csv(REPO / "sites" / "data" / "ercot_hb_south_hourly.csv").hb_south_rtm_usd_per_mwh
    contract = pd.read_csv(out / "power_contracts.csv").iloc[0]
    assert contract.power_contract_settlement_usd == pytest.approx(100 * float((hub - 30).sum()), rel=1e-9)
    fin = pd.read_csv(out / "financials.csv").set_index("item").usd
    assert fin.drop("net").sum() == pytest.approx(fin["net"], rel=1e-12)


# ------------------------------------------------------------------ properties

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROPERTY
@given(prices=st.lists(st.floats(-50, 400, allow_nan=False, width=32), min_size=3, max_size=12),
       mw=st.floats(0.5, 15.0), price=st.floats(-10.0, 120.0), dr=st.floats(0.0, 80.0))
def test_contract_properties(tmp_path_factory, prices, mw, price, dr):
    """A CfD moves net USD by exactly its settlement and leaves dispatch alone; the same block bought
    physically is never worth more (its unused energy is lost) except for the negative-price hours
    it is spared, and a DR program never lowers net USD."""
    assume(np.median(prices) >= 1.0)
    assume(np.min(np.abs(np.array(prices) - 100.0)) > 1e-3)  # no zero-margin hour: the dispatch is unique
    docs = {"base": {}, "financial": "financial", "physical": "physical"}
    results = {}
    for name, settlement in docs.items():
        extra = {} if not settlement else {"power": {"contract": [
            {"mw": mw, "price_usd_per_mwh": price, "settlement": settlement}]}}
        results[name] = run(tmp_path_factory.mktemp(name), extra, prices=prices)
    base, fin, phys = results["base"], results["financial"], results["physical"]
    settlement = mw * float(np.sum(np.array(prices, dtype=np.float32).astype(float) - price))
    assert fin.objective_usd - base.objective_usd == pytest.approx(settlement, rel=1e-6, abs=1e-3)
    assert np.allclose(fin.dispatch.mining_it_mw, base.dispatch.mining_it_mw, atol=1e-6)
    # physical = financial minus the resale of unused block energy at spot; that resale is worth
    # something except in negative-price hours, where losing the energy saves at most mw * |spot|
    negative_usd = mw * float(np.sum(np.maximum(0.0, -np.array(prices, dtype=np.float32).astype(float))))
    assert phys.objective_usd <= fin.objective_usd + negative_usd + 1e-6
    program = {"demand_response": [{"name": "x", "capacity_usd_per_mw_hour": dr}]}
    with_dr = run(tmp_path_factory.mktemp("dr"), program, prices=prices)
    assert with_dr.objective_usd >= base.objective_usd - 1e-6
