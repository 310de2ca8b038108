"""Check a written run folder against its site file, without trusting the model.

Used by the fuzz, numerics and interrupt tests: every constraint of docs/model.md
is re-derived in pandas from the CSVs on disk and the site file's numbers,
and the folder is checked to be complete (every file the manifest lists is
there with its recorded size and sha256).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.inputs.site import Site, crf

RUN_FILES = ("split.csv", "financials.csv", "dispatch.csv", "leases.csv", "fleets.csv", "manifest.json")


def folder_is_complete(out: Path, required: tuple[str, ...] = RUN_FILES) -> bool:
    """True when ``out`` holds a manifest listing ``required`` and every file it lists, byte for byte."""
    manifest_path = out / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {})
    if not set(required) - {"manifest.json"} <= set(files):
        return False
    for name, meta in files.items():
        try:
            data = (out / name).read_bytes()
        except OSError:
            return False
        if len(data) != meta["bytes"] or hashlib.sha256(data).hexdigest() != meta["sha256"]:
            return False
    return sorted(p.name for p in out.iterdir()) == sorted([*files, "manifest.json"])


def local_to_utc(text: str, timezone: str) -> pd.Timestamp:
    """A site-file time (naive = site-local, or with an offset) as a UTC instant."""
    ts = pd.Timestamp(text)
    return ts.tz_localize(timezone) if ts.tz is None else ts.tz_convert("UTC")


def check_constraints(site: Site, out: Path, tol_mw: float | None = None) -> None:
    """Assert every docs/model.md constraint and financial item from the CSVs in ``out``."""
    cfg = site.config
    scale = max(1.0, site.interconnect_mw, site.facility_mw)
    tol = tol_mw if tol_mw is not None else 1e-6 * scale
    t = {name: pd.read_csv(out / f"{name}.csv") for name in ("split", "dispatch", "leases", "fleets", "financials")}
    split = t["split"].set_index("site_id").loc[site.id]
    d = t["dispatch"][t["dispatch"].site_id == site.id]
    leases = t["leases"][t["leases"].site_id == site.id]
    fleets = t["fleets"][t["fleets"].site_id == site.id]
    assert len(d) == int(split.hours) == site.hours
    ai = cfg.ai if site.has_ai else None
    ai_pue = cfg.ai.pue if cfg.ai is not None else 0.0
    # 1. lease bounds and the convertible cap
    if ai is not None:
        assert len(leases) == len(ai.lease)
        for lease, mw in zip(ai.lease, leases.it_mw):
            assert lease.min_mw - tol <= mw <= cfg.lease_max_mw(lease) + tol
        assert split.ai_it_mw <= ai.convertible_mw + tol
    assert leases.it_mw.sum() == np.float64(split.ai_it_mw) or abs(leases.it_mw.sum() - split.ai_it_mw) <= tol
    # 2. fleet bounds; running never above kept
    assert len(fleets) == len(cfg.mining.fleet)
    for fleet, row in zip(cfg.mining.fleet, fleets.itertuples()):
        assert -tol <= row.it_mw <= fleet.mw + tol
    assert abs(fleets.it_mw.sum() - split.mining_it_mw) <= tol
    assert (d.mining_it_mw >= -tol).all() and (d.mining_it_mw <= split.mining_it_mw + tol).all()
    # 3. halls
    assert ai_pue * split.ai_it_mw + cfg.mining.pue * split.mining_it_mw <= site.facility_mw + tol
    # 5. grid cap re-derived from the site file, then 4. firm AI and 5. grid every hour
    times = pd.to_datetime(d.interval_start_utc, utc=True)
    assert times.is_monotonic_increasing and times.diff().dropna().eq(pd.Timedelta(hours=1)).all()
    cap = np.full(site.hours, site.interconnect_mw)
    for event in cfg.curtailment:
        start, end = local_to_utc(event.start, cfg.site.timezone), local_to_utc(event.end, cfg.site.timezone)
        hit = ((times < end) & (times + pd.Timedelta(hours=1) > start)).to_numpy()
        cap[hit] = np.minimum(cap[hit], event.cap_mw)
    assert np.allclose(d.grid_cap_mw.to_numpy(), cap, rtol=1e-12, atol=0)
    assert (ai_pue * split.ai_it_mw <= cap + tol).all()
    assert (d.ai_grid_mw + d.mining_grid_mw <= cap + tol).all()
    assert np.allclose(d.mining_grid_mw, d.mining_it_mw * cfg.mining.pue, rtol=1e-9, atol=tol)
    if cfg.ai is not None and cfg.ai.utilization is None:
        assert np.allclose(d.ai_grid_mw, ai_pue * split.ai_it_mw * cfg.ai.utilization_frac, rtol=1e-9, atol=tol)
    # 6. hosting SLA
    for row in fleets.itertuples():
        assert row.mining_energy_mwh >= cfg.mining.min_uptime_frac * site.hours * row.it_mw - tol * site.hours
    assert abs(d.mining_it_mw.sum() - split.mining_energy_mwh) <= tol * site.hours
    # financial items re-priced from the tables
    years = site.hours / 8760.0
    fin = t["financials"][t["financials"].site_id == site.id].set_index("item").usd
    money_tol = 1e-6 * max(1.0, fin.abs().max())
    lease_usd = float((leases.it_mw * leases.rate_usd_per_kw_month).sum()) * 12000.0 * years
    assert abs(fin["ai_lease_revenue"] - lease_usd) <= money_tol
    if ai is not None:
        recovery = ai.fitout_capex_usd_per_mw * crf(ai.discount_rate_frac, ai.capex_life_years)
        assert abs(fin["ai_capex_recovery"] + split.ai_it_mw * recovery * years) <= money_tol
        assert abs(fin["ai_opex"] + split.ai_it_mw * ai.opex_usd_per_mw_year * years) <= money_tol
    power = float((d.mining_grid_mw * d.price_usd_per_mwh).sum())
    assert abs(fin["mining_power_cost"] + power) <= money_tol
    mining_fixed = split.mining_it_mw * cfg.mining.opex_usd_per_mw_year * years
    assert abs(fin["mining_fixed_cost"] + mining_fixed) <= money_tol
    assert abs(fin.drop("net").sum() - fin["net"]) <= money_tol
    assert abs(fin["net"] - split.net_usd) <= money_tol
