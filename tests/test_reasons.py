"""Every reason printed beside a split names a limit that binds, and relaxing it moves the split.

The tiny world of test_model.py: prices [20, 50, 150, 80], a 10 MW fleet at
20 J/TH and PUE 1 earns 100 USD per running MW-hour (breakeven 100 USD/MWh),
margins per MW [80, 50, -50, 20]: 150 USD per MW over the 4 hours, 328,500
USD per MW-year. A lease of r USD/kW-month earns r x 12,000 USD per IT MW-year.
"""

from __future__ import annotations

import copy

import pytest

from allocator import load_site, solve
from conftest import write_site
from test_marginal import bump

PRICES = [20.0, 50.0, 150.0, 80.0]
FLEET = {"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}


def mining(**kw):
    return {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": [dict(FLEET)], **kw}


def lease(**kw):
    return {"tenant": "T", "rate_usd_per_kw_month": 100.0, **kw}


def solved(folder, doc):
    return solve([load_site(write_site(folder, PRICES, doc))])


def ai_mw(folder, doc) -> float:
    return float(solved(folder, doc).split.ai_it_mw[0])


CASES = {
    # name: (doc, expected words, field relaxed, step, AI after)
    "firm limit": (
        {"site": {"interconnect_mw": 10.0}, "mining": mining(),
         "ai": {"pue": 1.25, "convertible_mw": 8.0, "lease": [lease()]},
         "curtailment": [{"start": "2024-01-01T02:00", "end": "2024-01-01T03:00", "cap_mw": 5.0}]},
        "AI at the firm limit set by the lowest grid cap: curtailment[0] 2024-01-01 02:00-03:00 UTC, "
        "5 MW / PUE 1.25 = 4 MW of AI", "curtailment[0].cap_mw", 1.0, 4.8),
    "firm limit at zero": (
        {"site": {"interconnect_mw": 10.0}, "mining": mining(),
         "ai": {"pue": 1.25, "convertible_mw": 8.0, "lease": [lease()]},
         "curtailment": [{"start": "2024-01-01T02:00", "end": "2024-01-01T03:00", "cap_mw": 0.0}]},
        "AI at the firm limit set by the lowest grid cap: curtailment[0] 2024-01-01 02:00-03:00 UTC, "
        "0 MW / PUE 1.25 = 0 MW of AI", "curtailment[0].cap_mw", 1.0, 0.8),
    "convertible": (
        {"site": {"interconnect_mw": 10.0}, "mining": mining(),
         "ai": {"pue": 1.25, "convertible_mw": 4.0, "lease": [lease()]}},
        "AI at ai.convertible_mw = 4 MW", "ai.convertible_mw", 1.0, 5.0),
    "tenants' max_mw": (
        {"site": {"interconnect_mw": 10.0}, "mining": mining(), "ai": {"pue": 1.25, "lease": [lease(max_mw=3.0)]}},
        "AI at the tenants' max_mw (T 3 MW)", "ai.lease[0].max_mw", 1.0, 4.0),
    "halls": (
        {"site": {"interconnect_mw": 10.0, "facility_mw": 6.0}, "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0},
         "ai": {"pue": 1.25, "convertible_mw": 8.0, "lease": [lease()]}},
        "AI at the halls: facility_mw 6 MW / PUE 1.25 = 4.8 MW of AI", "site.facility_mw", 1.0, 5.6),
    "fit-out and opex": (
        {"site": {"interconnect_mw": 10.0}, "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0},
         "ai": {"pue": 1.25, "opex_usd_per_mw_year": 20000.0, "lease": [lease(rate_usd_per_kw_month=1.0)]}},
        "AI not worth it: the best lease (T, 1 USD/kW-month = 12,000 USD/MW-year) pays less than fit-out and "
        "opex (20,000 USD/MW-year)", "ai.opex_usd_per_mw_year", -15000.0, 8.0),
    "mining displaced": (
        # 120,000 per IT MW-year against 1.25 grid MW x 328,500 of mining
        {"site": {"interconnect_mw": 10.0}, "mining": mining(),
         "ai": {"pue": 1.25, "lease": [lease(rate_usd_per_kw_month=10.0)]}},
        "AI not worth it: the best lease (T) nets 120,000 USD per IT MW-year after fit-out and opex, but its "
        "1.25 grid MW earn 410,625 USD/MW-year as mining", "mining.hashprice_usd_per_ph_day", -30.0, 8.0),
    "signed minimum": (
        {"site": {"interconnect_mw": 10.0}, "mining": mining(),
         "ai": {"pue": 1.25, "lease": [lease(rate_usd_per_kw_month=10.0, min_mw=1.0)]}},
        "AI only at its signed minimum", "ai.lease[0].min_mw", -1.0, 0.0),
    "sized against mining": (
        # halls 10, grid 8, AI at util 0.5: AI and mining meet where both the halls and the grid are full,
        # a = 3.2 (1.25 a + m = 10, 0.625 a + m = 8); with 11 MW of halls, a = 4.8
        {"site": {"interconnect_mw": 8.0, "facility_mw": 10.0}, "mining": mining(),
         "ai": {"pue": 1.25, "utilization_frac": 0.5, "lease": [lease(rate_usd_per_kw_month=25.0)]}},
        "AI sized against mining: the halls (facility_mw 10 MW) and the grid in 3 hours full",
        "site.facility_mw", 1.0, 4.8),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_reason_names_a_limit_whose_relaxation_moves_the_split(tmp_path, name):
    doc, words, field, step, ai_after = CASES[name]
    r = solved(tmp_path / "base", doc)
    assert words in r.reasons["tiny"]
    relaxed = bump(copy.deepcopy(doc), field, step)
    after = ai_mw(tmp_path / "relaxed", relaxed)
    assert after == pytest.approx(ai_after, abs=1e-6)
    assert abs(after - r.split.ai_it_mw[0]) > 0.1


def test_the_curtailment_threshold_is_the_fleets_breakeven_on_a_4cp_probability_site(tmp_path):
    # hours 1 and 3 are peaks with probability 0.3 each: hour 3 (80 USD/MWh) stands down for the 4CP
    # charge, hour 2 (150) for its price. Mining stops above its breakeven, 100 USD/MWh, not above 80
    import pandas as pd

    index = pd.date_range("2024-01-01T00:00:00Z", periods=4, freq="h")
    (tmp_path / "peaks.csv").write_text(pd.DataFrame({
        "interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "probability_frac": [0.0, 0.3, 0.0, 0.3]}).to_csv(index=False))
    doc = {"site": {"interconnect_mw": 10.0}, "mining": mining(),
           "coincident_peak": {"charge_usd_per_mw_year": 200_000.0, "probability": {"file": "peaks.csv"}}}
    r = solved(tmp_path, doc)
    assert r.dispatch.mining_it_mw.tolist() == pytest.approx([10, 10, 0, 0], abs=1e-6)
    assert r.reasons["tiny"].endswith("curtailed above $100/MWh")
    # outside the peak hours, the fleet runs exactly where the price is below the threshold
    d = r.dispatch[r.dispatch.peak_weight_frac == 0]
    assert ((d.price_usd_per_mwh < 100) == (d.mining_it_mw > 0)).all()


def test_thresholds_per_fleet_and_before_the_adder(tmp_path):
    # a 40 J/TH fleet breaks even at 50 USD/MWh; with a 10 USD/MWh adder, at 40 and 90 of the file's price
    doc = {"site": {"interconnect_mw": 20.0}, "prices": {"adder_usd_per_mwh": 10.0},
           "mining": mining(fleet=[dict(FLEET), {"model": "Old40", "efficiency_j_per_th": 40.0, "mw": 10.0}])}
    r = solved(tmp_path, doc)
    assert r.reasons["tiny"].endswith("curtailed above $90/MWh (Test20), $40/MWh (Old40) before the $10/MWh adder")
    run = r.dispatch.mining_it_mw.tolist()
    # file prices [20, 50, 150, 80]: Test20 runs below 90 (hours 0, 1, 3), Old40 below 40 (hour 0)
    assert run == pytest.approx([20, 10, 0, 10], abs=1e-6)
