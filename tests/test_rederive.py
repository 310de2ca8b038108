"""Every constraint of docs/model.md re-derived from the written CSVs, in pandas.

The test never trusts the model: it reads split/dispatch/leases/fleets/
financials from disk and checks each constraint and each financial item
against the site file's numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator import load_site
from allocator import solve
from allocator.reports.run_folder import write_result
from allocator.inputs.site import crf
from conftest import REPO

TOL_MW = 1e-5


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    sites = [load_site(REPO / "sites" / f"{name}.toml") for name in ("west_texas", "permian_hybrid")]
    write_result(solve(sites), out)
    tables = {name: pd.read_csv(out / f"{name}.csv") for name in
              ("split", "dispatch", "leases", "fleets", "financials")}
    return {s.id: s for s in sites}, tables


@pytest.mark.parametrize("site_id", ["west_texas", "permian_hybrid"])
def test_constraints_hold_in_the_csvs(demo_run, site_id):
    sites, t = demo_run
    site = sites[site_id]
    cfg = site.config
    split = t["split"].set_index("site_id").loc[site_id]
    d = t["dispatch"][t["dispatch"].site_id == site_id]
    leases = t["leases"][t["leases"].site_id == site_id]
    fleets = t["fleets"][t["fleets"].site_id == site_id]
    assert len(d) == split.hours == site.hours

    # 1. lease bounds and the convertible cap
    for lease, mw in zip(cfg.ai.lease, leases.it_mw):
        assert lease.min_mw - TOL_MW <= mw <= cfg.lease_max_mw(lease) + TOL_MW
    assert leases.it_mw.sum() == pytest.approx(split.ai_it_mw)
    assert split.ai_it_mw <= cfg.ai.convertible_mw + TOL_MW
    # 2. fleet bounds; running never above kept
    for fleet, row in zip(cfg.mining.fleet, fleets.itertuples()):
        assert 0 <= row.it_mw <= fleet.mw + TOL_MW
    assert fleets.it_mw.sum() == pytest.approx(split.mining_it_mw)
    assert (d.mining_it_mw <= split.mining_it_mw + TOL_MW).all()
    assert np.allclose(d.curtailed_it_mw, split.mining_it_mw - d.mining_it_mw, atol=TOL_MW)
    # 3. halls
    assert cfg.ai.pue * split.ai_it_mw + cfg.mining.pue * split.mining_it_mw <= site.facility_mw + TOL_MW
    assert split.ai_grid_mw == pytest.approx(cfg.ai.pue * split.ai_it_mw)
    assert split.mining_grid_mw == pytest.approx(cfg.mining.pue * split.mining_it_mw)
    # 4. firm AI under every hour's cap
    assert (split.ai_grid_mw <= d.grid_cap_mw + TOL_MW).all()
    # 5. the grid, every hour; the cap re-derived from the site file
    expected_cap = np.full(site.hours, site.interconnect_mw)
    times = pd.to_datetime(d.interval_start_utc, utc=True)
    for event in cfg.curtailment:
        start = pd.Timestamp(event.start).tz_localize(cfg.site.timezone)
        end = pd.Timestamp(event.end).tz_localize(cfg.site.timezone)
        expected_cap[((times < end) & (times + pd.Timedelta(hours=1) > start)).to_numpy()] = event.cap_mw
    assert np.array_equal(d.grid_cap_mw.to_numpy(), expected_cap)
    assert np.allclose(d.ai_grid_mw, split.ai_grid_mw * cfg.ai.utilization_frac)
    assert (d.ai_grid_mw + d.mining_grid_mw <= d.grid_cap_mw + TOL_MW).all()
    assert np.allclose(d.mining_grid_mw, d.mining_it_mw * cfg.mining.pue)
    # 6. hosting SLA and the uptime figures
    for row in fleets.itertuples():
        assert row.mining_energy_mwh >= cfg.mining.min_uptime_frac * site.hours * row.it_mw - TOL_MW
    assert d.mining_it_mw.sum() == pytest.approx(split.mining_energy_mwh)
    assert split.mining_uptime_frac == pytest.approx(split.mining_energy_mwh / (split.mining_it_mw * site.hours))
    # the hall split: shares of facility_mw in grid MW
    assert split.ai_share_frac == pytest.approx(split.ai_grid_mw / site.facility_mw)


@pytest.mark.parametrize("site_id", ["west_texas", "permian_hybrid"])
def test_financial_items_rederived(demo_run, site_id):
    sites, t = demo_run
    site = sites[site_id]
    cfg = site.config
    years = site.hours / 8760
    fin = t["financials"][t["financials"].site_id == site_id].set_index("item").usd
    d = t["dispatch"][t["dispatch"].site_id == site_id]
    leases = t["leases"][t["leases"].site_id == site_id]
    split = t["split"].set_index("site_id").loc[site_id]
    assert fin["ai_lease_revenue"] == pytest.approx((leases.it_mw * leases.rate_usd_per_kw_month).sum() * 12000 * years)
    recovery = cfg.ai.fitout_capex_usd_per_mw * crf(cfg.ai.discount_rate_frac, cfg.ai.capex_life_years)
    assert fin["ai_capex_recovery"] == pytest.approx(-split.ai_it_mw * recovery * years)
    assert fin["ai_opex"] == pytest.approx(-split.ai_it_mw * cfg.ai.opex_usd_per_mw_year * years)
    assert fin["mining_power_cost"] == pytest.approx(-(d.mining_grid_mw * d.price_usd_per_mwh).sum())
    assert fin["mining_fixed_cost"] == pytest.approx(-split.mining_it_mw * cfg.mining.opex_usd_per_mw_year * years)
    assert fin.drop("net").sum() == pytest.approx(fin["net"], rel=1e-9)
    assert fin["net"] == pytest.approx(split.net_usd, rel=1e-12)


def test_price_is_hub_plus_adder(demo_run):
    sites, t = demo_run
    raw = pd.read_csv(REPO / "sites" / "data" / "ercot_hb_south_hourly.csv")
    d = t["dispatch"][t["dispatch"].site_id == "west_texas"]
    assert np.allclose(d.price_usd_per_mwh.to_numpy(), raw.hb_south_rtm_usd_per_mwh.to_numpy() + 4.0)
