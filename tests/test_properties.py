"""Hypothesis properties of the LP on small random sites."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from allocator import load_site
from allocator import solve
from conftest import write_site

REVENUE_USD_PER_MWH = 100.0  # 48 USD/PH/day at 20 J/TH, no fee
prices_st = st.lists(st.floats(-50, 400, allow_nan=False, width=32), min_size=3, max_size=24)
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def doc(k: float = 1.0, rate: float = 100.0, cap: float | None = None, hours: int = 0) -> dict:
    d = {
        "site": {"interconnect_mw": 10.0, "facility_mw": 14.0},
        "mining": {"pue": 1.05, "opex_usd_per_mw_year": 2000.0 * k, "hashprice_usd_per_ph_day": 48.0 * k,
                   "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 8.0},
                             {"model": "B", "efficiency_j_per_th": 30.0, "mw": 6.0}]},
        "ai": {"pue": 1.2, "convertible_mw": 5.0, "utilization_frac": 0.7, "fitout_capex_usd_per_mw": 1e4 * k,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": rate * k}]},
    }
    if cap is not None:
        d["curtailment"] = [{"start": "2024-01-01T01:00Z", "end": "2024-01-01T03:00Z", "cap_mw": cap}]
    return d


def objective(folder, prices, d) -> float:
    return solve([load_site(write_site(folder, prices, d))]).objective_usd


@SETTINGS
@given(prices=prices_st, k=st.floats(0.1, 10.0), rate=st.floats(0.0, 30.0))
def test_scaling_every_price_and_rate_scales_the_objective(tmp_path_factory, prices, k, rate):
    assume(np.median(prices) * min(k, 1.0) >= 1.0)  # below that the file is refused as USD/kWh
    base = objective(tmp_path_factory.mktemp("a"), prices, doc(1.0, rate))
    scaled = objective(tmp_path_factory.mktemp("b"), [p * k for p in prices], doc(k, rate))
    assert scaled == pytest.approx(k * base, rel=1e-6, abs=1e-6)


@SETTINGS
@given(prices=prices_st, bump=st.floats(0.0, 200.0), hour=st.integers(0, 23))
def test_higher_power_price_never_raises_mining_energy(tmp_path_factory, prices, bump, hour):
    assume(np.median(prices) >= 1.0)
    hour = hour % len(prices)
    higher = list(prices)
    higher[hour] += bump
    # away from exact ties, where the optimum is not unique
    for p in prices + higher:
        for e in (20.0, 30.0):
            assume(abs(p * 1.05 - REVENUE_USD_PER_MWH * 20.0 / e) > 1e-3)
    d = doc(rate=0.0)  # no AI: mining alone
    d.pop("ai")
    low = solve([load_site(write_site(tmp_path_factory.mktemp("a"), prices, d))]).split.mining_energy_mwh[0]
    high = solve([load_site(write_site(tmp_path_factory.mktemp("b"), higher, d))]).split.mining_energy_mwh[0]
    assert high <= low + 1e-6


@SETTINGS
@given(prices=prices_st, cap=st.floats(6.5, 10.0), loosen=st.floats(0.0, 5.0))
def test_looser_cap_never_lowers_the_objective(tmp_path_factory, prices, cap, loosen):
    assume(np.median(prices) >= 1.0)
    tight = objective(tmp_path_factory.mktemp("a"), prices, doc(cap=cap))
    loose = objective(tmp_path_factory.mktemp("b"), prices, doc(cap=cap + loosen))
    assert loose >= tight - 1e-6 * max(1.0, abs(tight))
