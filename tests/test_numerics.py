"""Numerical robustness: a 1 GW campus over five years with $5,000/MWh spikes,
negative prices and a 0.001 MW lease, verified by re-deriving every constraint
from the written CSVs, plus the hours whose dispatch is known on paper.

Every solve also passes solve.check_accuracy (the plan re-checked against the
model's own rows), so a badly scaled answer would fail here as exit 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator import load_site
from allocator.inputs.hashprice import mining_revenue_usd_per_mwh
from run_check import check_constraints, folder_is_complete
from test_cli import invoke
from test_fuzz import to_toml

HOURS_5Y = int((pd.Timestamp("2029-01-01") - pd.Timestamp("2024-01-01")) / pd.Timedelta(hours=1))  # 43,848


def campus(tmp_path, hours: int, fleets: int = 2, uptime: float = 0.5):
    rng = np.random.default_rng(5)
    h = np.arange(hours)
    prices = 35.0 + 25.0 * np.sin(2 * np.pi * (h % 24) / 24) + rng.normal(0, 8, hours)
    spikes = rng.choice(hours, size=max(3, hours // 500), replace=False)
    negative = rng.choice(np.setdiff1d(h, spikes), size=max(3, hours // 200), replace=False)
    prices[spikes] = 5000.0
    prices[negative] = -rng.uniform(5, 60, negative.size)
    index = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "price_usd_per_mwh": np.round(prices, 2)}).to_csv(tmp_path / "prices.csv", index=False)
    doc = {
        "site": {"name": "Gigawatt", "timezone": "America/Chicago", "interconnect_mw": 1000.0,
                 "facility_mw": 1000.0},
        "prices": {"file": "prices.csv", "adder_usd_per_mwh": 4.0},
        "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "opex_usd_per_mw_year": 40000.0,
                   "hashprice_usd_per_ph_day": 55.0, "min_uptime_frac": uptime,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 600.0},
                             {"model": "S19", "efficiency_j_per_th": 29.5, "mw": 300.0}][:fleets]},
        "ai": {"pue": 1.2, "convertible_mw": 700.0, "utilization_frac": 0.8, "fitout_capex_usd_per_mw": 9.0e6,
               "opex_usd_per_mw_year": 60000.0,
               "lease": [{"tenant": "Hyperscaler", "rate_usd_per_kw_month": 150.0, "min_mw": 100.0, "max_mw": 500.0},
                         {"tenant": "Lab", "rate_usd_per_kw_month": 200.0, "min_mw": 0.001, "max_mw": 0.001}]},
        "curtailment": [{"start": "2024-08-20T15:00", "end": "2024-08-20T21:00", "cap_mw": 700.0}],
    }
    path = tmp_path / "gigawatt.toml"
    path.write_text(to_toml(doc))
    return path, spikes, negative


@pytest.mark.parametrize(("hours", "fleets", "uptime"), [(24 * 366, 2, 0.5), (HOURS_5Y, 1, 0.0)],
                         ids=["1y-2-fleets-sla", "5y"])
def test_gigawatt_campus_with_spikes_negative_prices_and_a_tiny_lease(tmp_path, hours, fleets, uptime):
    path, spikes, negative = campus(tmp_path, hours, fleets, uptime)
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(path), "--out", str(out)])
    assert code == 0, err
    assert folder_is_complete(out)
    site = load_site(path)
    assert site.hours == hours
    check_constraints(site, out, tol_mw=1e-6)
    leases = pd.read_csv(out / "leases.csv").set_index("tenant").it_mw
    assert leases["Lab"] == pytest.approx(0.001, abs=1e-9)  # a 0.001 MW lease survives a 1 GW model
    assert leases["Hyperscaler"] >= 100.0 - 1e-6
    d = pd.read_csv(out / "dispatch.csv")
    split = pd.read_csv(out / "split.csv").iloc[0]
    assert split.mining_it_mw > 0
    # $5,000/MWh is far above any fleet's revenue per MWh: nothing mines in a spike hour, unless the
    # uptime SLA forces it (it does not here: half the hours are cheap)
    revenue = mining_revenue_usd_per_mwh(55.0, 0.02, 17.5)
    assert revenue < 5000.0 / 1.05
    assert (d.mining_it_mw.to_numpy()[spikes] <= 1e-6).all()
    # below-zero power is paid to take: every kept MW runs, up to the grid headroom
    headroom_it = (d.grid_cap_mw - d.ai_grid_mw) / 1.05
    full = np.minimum(split.mining_it_mw, headroom_it.to_numpy())
    assert np.allclose(d.mining_it_mw.to_numpy()[negative], full[negative], atol=1e-6)
