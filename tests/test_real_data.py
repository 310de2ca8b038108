"""The LP on real ERCOT HB_WEST 2024 prices against an independent optimum.

With full AI utilization and facility_mw = interconnect_mw, the grid row is
implied by the hall row, so the LP separates: every grid MW of the halls goes
to the option worth most per grid MW (AI up to convertible_mw, each fleet up to
its mw) while that value is positive. The test computes that greedy optimum in
numpy and compares. Skips only when ../shared/data/raw is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

from allocator import load_site
from allocator import solve
from allocator.inputs.site import crf
from conftest import write_site


def test_hb_west_2024_matches_the_greedy_optimum(tmp_path, shared_raw):
    price_file = shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    doc = {
        "site": {"timezone": "America/Chicago", "interconnect_mw": 100.0},
        "prices": {"file": str(price_file), "column": "HUB", "start": "2024-01-01", "end": "2025-01-01",
                   "fill": "ffill"},
        "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "opex_usd_per_mw_year": 40000.0,
                   "hashprice_usd_per_ph_day": 50.0,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 50.0},
                             {"model": "S19j Pro", "efficiency_j_per_th": 29.5, "mw": 70.0}]},
        "ai": {"pue": 1.2, "convertible_mw": 60.0, "fitout_capex_usd_per_mw": 9e6, "opex_usd_per_mw_year": 60000.0,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": 140.0}]},
    }
    site = load_site(write_site(tmp_path, [1.0], doc))
    assert site.hours == 8784  # 2024 is a leap year
    price = site.price_usd_per_mwh
    assert price.mean() == pytest.approx(27.4, abs=0.2)  # SOURCES.md: 2024 mean $27.4

    years = site.hours / 8760
    options = []  # (value per grid MW, grid MW available, name)
    ai_value = (140 * 12000 - 9e6 * crf(0.08, 15) - 60000) * years
    options.append((ai_value / 1.2, 60.0 * 1.2, "ai"))
    for f in doc["mining"]["fleet"]:
        revenue = 50.0 * 0.98 * (1000 / f["efficiency_j_per_th"]) / 24
        value = np.maximum(0.0, revenue - 1.05 * price).sum() - 40000 * years
        options.append((value / 1.05, f["mw"] * 1.05, f["model"]))
    left, expected, chosen = 100.0, 0.0, {}
    for value, grid_mw, name in sorted(options, reverse=True):
        take = min(left, grid_mw) if value > 0 else 0.0
        chosen[name] = take
        expected += take * value
        left -= take

    result = solve([site])
    assert result.objective_usd == pytest.approx(expected, rel=1e-6)
    assert result.split.ai_it_mw[0] == pytest.approx(chosen["ai"] / 1.2, abs=1e-4)
    fleets = result.fleets.set_index("model").it_mw
    assert fleets["S21"] == pytest.approx(chosen["S21"] / 1.05, abs=1e-4)
    assert fleets["S19j Pro"] == pytest.approx(chosen["S19j Pro"] / 1.05, abs=1e-4)
