"""Power-market constraints and items re-derived from the written CSVs, and a real-data run.

The re-derivation never trusts the model: it reads dispatch/split/financials
and the power tables from disk and checks every new row family and financial
item against the site file's numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator import load_site
from allocator import solve
from allocator.reports.run_folder import write_result
from conftest import write_site

TOL = 1e-5
PRICES = [20.0, 50.0, 150.0, 80.0, 35.0, 300.0, 10.0, 60.0]
ECRS_USD_PER_MW_HOUR = [3.0, 0.0, 70.0, 5.0, 12.0, 40.0, 0.0, 8.0]
CHARGE = 164.0  # USD/MW-year: each of the 2 listed peaks costs CHARGE / 4 = 41 USD per MW drawn (ERCOT 4CP)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("power")
    index = pd.date_range("2024-01-01T00:00:00Z", periods=len(PRICES), freq="h")
    pd.DataFrame({"t": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "usd": ECRS_USD_PER_MW_HOUR}).to_csv(
        folder / "ecrs.csv", index=False)
    doc = {
        "site": {"interconnect_mw": 10.0, "facility_mw": 14.0},
        "mining": {"pue": 1.1, "hashprice_usd_per_ph_day": 48.0, "opex_usd_per_mw_year": 500.0,
                   "fleet": [{"model": "New", "efficiency_j_per_th": 20.0, "mw": 10.0},
                             {"model": "Old", "efficiency_j_per_th": 30.0, "mw": 5.0}]},
        "ai": {"pue": 1.25, "convertible_mw": 2.0, "power_pass_through": False,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
        "prices": {"file": "tiny_prices.csv", "tou_adder": [{"adder_usd_per_mwh": 7.0, "hours": [2, 3, 5]},
                                                            {"adder_usd_per_mwh": 1.5, "months": [1]}]},
        "power": {"contract": [{"name": "ppa", "mw": 3.0, "price_usd_per_mwh": 40.0, "settlement": "physical"},
                               {"name": "cfd", "mw": 2.0, "price_usd_per_mwh": 45.0, "settlement": "financial",
                                "start": "2024-01-01T02:00Z"}]},
        "coincident_peak": {"charge_usd_per_mw_year": CHARGE,
                            "intervals": ["2024-01-01T02:00Z", "2024-01-01T05:00Z"]},
        "demand_response": [{"name": "ecrs", "capacity_price": {"file": "ecrs.csv"}},
                            {"name": "ers", "capacity_usd_per_mw_year": 600_000.0, "stacking": True,
                             "start": "2024-01-01T01:00Z", "end": "2024-01-01T07:00Z",
                             "deployment": [{"start": "2024-01-01T03:00Z", "end": "2024-01-01T04:00Z"}]}],
    }
    site = load_site(write_site(folder, PRICES, doc))
    out = folder / "run"
    write_result(solve([site]), out)
    names = ("split", "dispatch", "financials", "power_contracts", "demand_response", "coincident_peak",
             "marginal_values", "shadow_prices")
    return site, {n: pd.read_csv(out / f"{n}.csv") for n in names}


def test_dispatch_columns_and_prices(run):
    site, t = run
    d = t["dispatch"]
    for col in ("hub_price_usd_per_mwh", "contract_mw", "physical_contract_mw", "peak_weight_frac",
                "offered_mw_ecrs", "offered_mw_ers", "shed_mw"):
        assert col in d.columns
    tou = np.where(np.isin(np.arange(8), [2, 3, 5]), 7.0, 0.0) + 1.5
    assert np.allclose(d.hub_price_usd_per_mwh, PRICES)
    assert np.allclose(d.price_usd_per_mwh, np.array(PRICES) + tou)
    assert np.allclose(d.contract_mw, [3, 3, 5, 5, 5, 5, 5, 5])
    assert np.allclose(d.peak_weight_frac, [0, 0, 0.5, 0, 0, 0.5, 0, 0])


def test_new_constraints_hold(run):
    site, t = run
    d, split = t["dispatch"], t["split"].iloc[0]
    host = d.mining_grid_mw + d.ai_grid_mw  # the host pays the tenant's power here
    # physical contract: 0 <= y <= block, y <= host draw
    assert (d.physical_contract_mw >= -TOL).all() and (d.physical_contract_mw <= 3 + TOL).all()
    assert (d.physical_contract_mw <= host + TOL).all()
    # demand response: ecrs exclusive, ers stacking: ecrs + ers <= running + shed, every hour
    assert (d.offered_mw_ecrs + d.offered_mw_ers <= d.mining_grid_mw + d.shed_mw + TOL).all()
    # ers is one MW figure through its window [1, 7) and nothing outside it
    ers = d.offered_mw_ers.to_numpy()
    assert np.allclose(ers[1:7], ers[1]) and ers[0] == 0 and ers[7] == 0
    # deployment hour 3: the ers MW are shed; shed MW are kept machines within the grid cap
    assert ers[3] <= d.shed_mw[3] + TOL
    assert (d.shed_mw[[0, 1, 2, 4, 5, 6, 7]] == 0).all()
    assert d.shed_mw[3] + d.mining_grid_mw[3] <= split.mining_grid_mw + TOL
    assert d.shed_mw[3] + d.mining_grid_mw[3] + d.ai_grid_mw[3] <= d.grid_cap_mw[3] + TOL
    # the base grid row still holds
    assert (d.ai_grid_mw + d.mining_grid_mw <= d.grid_cap_mw + TOL).all()
    assert ers[1] > 0  # the case exercises the program


def test_items_re_derived(run):
    site, t = run
    d, fin = t["dispatch"], t["financials"].set_index("item").usd
    years = len(PRICES) / 8760
    hub = d.hub_price_usd_per_mwh.to_numpy()
    host = (d.mining_grid_mw + d.ai_grid_mw).to_numpy()
    cfd_block = np.array([0, 0, 2, 2, 2, 2, 2, 2.0])
    settlement = float(d.physical_contract_mw @ hub) - 3 * 8 * 40 + float(cfd_block @ (hub - 45))
    assert fin["power_contract_settlement"] == pytest.approx(settlement, rel=1e-9)
    peak_draw = 0.5 * host[2] + 0.5 * host[5]
    # each listed interval carries 1/4 of the annual charge (4 peaks a year), whatever the horizon
    assert fin["coincident_peak_cost"] == pytest.approx(-CHARGE / 4 * (host[2] + host[5]), rel=1e-6, abs=1e-6)
    revenue = float(d.offered_mw_ecrs @ ECRS_USD_PER_MW_HOUR) + float(d.offered_mw_ers.sum()) * 600_000 / 8760
    assert fin["demand_response_revenue"] == pytest.approx(revenue, rel=1e-9)
    assert fin["mining_power_cost"] == pytest.approx(-float(d.mining_grid_mw @ d.price_usd_per_mwh), rel=1e-9)
    assert fin["ai_power_cost"] == pytest.approx(-float(d.ai_grid_mw @ d.price_usd_per_mwh), rel=1e-9)
    assert fin.drop("net").sum() == pytest.approx(fin["net"], rel=1e-12)
    assert fin["net"] == pytest.approx(t["split"].net_usd[0], rel=1e-12)
    # per contract and per program tables add up to the items
    assert t["power_contracts"].power_contract_settlement_usd.sum() == pytest.approx(settlement, rel=1e-9)
    assert t["demand_response"].demand_response_revenue_usd.sum() == pytest.approx(revenue, rel=1e-9)
    peak = t["coincident_peak"].iloc[0]
    assert peak.peak_draw_mw == pytest.approx(peak_draw, abs=1e-6)
    assert peak.uncurtailed_peak_draw_mw >= peak.peak_draw_mw - TOL


def test_marginal_files_written(run):
    site, t = run
    mv = t["marginal_values"]
    assert list(mv.resource) == ["interconnect_mw", "facility_mw", "convertible_mw", "lease:T:min_mw",
                                 "lease:T:max_mw"]
    sp = t["shadow_prices"]
    assert set(sp.constraint) == {"grid_limit", "firm_ai"} and len(sp) == 2 * len(PRICES)


# ------------------------------------------------------------------ real data


def hb_west_august_2023(tmp_path, shared_raw, power: dict | None):
    price_file = shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    doc = {
        "site": {"timezone": "America/Chicago", "interconnect_mw": 100.0},
        "prices": {"file": str(price_file), "column": "HUB", "start": "2023-08-01", "end": "2023-09-01"},
        "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "hashprice_usd_per_ph_day": 75.0,
                   "fleet": [{"model": "S19j Pro", "efficiency_j_per_th": 29.5, "mw": 95.0}]},
    }
    if power:
        doc["power"] = power
    return solve([load_site(write_site(tmp_path, [1.0], doc))])


def test_hb_west_heat_wave_contract_credits(tmp_path, shared_raw):
    raw = pd.read_csv(shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv")
    august = raw[raw.HOUR.str.startswith("2023-08")].HUB.to_numpy()
    assert len(august) == 744 and august.mean() == pytest.approx(196, abs=1)  # SOURCES.md: $196/MWh
    base = hb_west_august_2023(tmp_path / "base", shared_raw, None)
    cfd = {"contract": [{"name": "hedge", "mw": 60.0, "price_usd_per_mwh": 45.0, "settlement": "financial"}]}
    fin = hb_west_august_2023(tmp_path / "cfd", shared_raw, cfd)
    # a CfD leaves dispatch alone and settles 60 x sum(hub - 45), from the raw file
    assert np.allclose(fin.dispatch.mining_it_mw, base.dispatch.mining_it_mw, atol=1e-6)
    expected = 60.0 * float((august - 45.0).sum())
    c = fin.power_contracts.iloc[0]
    assert c.power_contract_settlement_usd == pytest.approx(expected, rel=1e-9)
    assert fin.objective_usd - base.objective_usd == pytest.approx(expected, rel=1e-9)
    # mining stood down in the spikes: the block energy it left was credited at those prices
    stood_down = base.dispatch.mining_it_mw < 95.0 - 1e-6
    assert stood_down.sum() > 24
    assert c.curtailment_credit_usd == pytest.approx(float(60 * august[stood_down.to_numpy()].sum()), rel=1e-6)
    assert c.curtailment_credit_usd > 0.5 * c.power_contract_settlement_usd
    # the same block bought physically runs mining through spikes on contracted energy
    ppa = {"contract": [{"name": "hedge", "mw": 60.0, "price_usd_per_mwh": 45.0, "settlement": "physical"}]}
    phys = hb_west_august_2023(tmp_path / "ppa", shared_raw, ppa)
    assert phys.split.mining_energy_mwh[0] > base.split.mining_energy_mwh[0] + 1000
    assert phys.objective_usd < fin.objective_usd  # the lost resale is worth more in a heat wave
