"""Sites shared by the what-if tests: a hand-solvable tiny campus and a one-month bundled campus."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, write_site

HOURS = 24
PRICE_USD_PER_MWH = 30.0
EFFICIENCY_J_PER_TH = 20.0


def tiny(folder: Path, *, hashprice: float = 60.0, rate: float = 50.0, site_id: str = "tiny", **extra) -> Path:
    """100 MW, PUE 1 everywhere, one 100 MW fleet at 20 J/TH, one lease up to 100 MW, flat $30/MWh.

    Per IT MW over the 24 hours, AI earns ``rate x 12000 x 24 / 8760`` and mining earns
    ``(hashprice x 1000 / 20 / 24 - 30) x 24``: whichever is larger takes all 100 MW.
    """
    doc = {
        "site": {"interconnect_mw": 100.0, "facility_mw": 100.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": hashprice,
                   "fleet": [{"model": "S", "efficiency_j_per_th": EFFICIENCY_J_PER_TH, "mw": 100.0}]},
        "ai": {"pue": 1.0, "convertible_mw": 100.0,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": rate, "max_mw": 100.0}]},
    }
    for key, value in extra.items():
        doc[key] = {**doc.get(key, {}), **value} if isinstance(value, dict) else value
    return write_site(folder, [PRICE_USD_PER_MWH] * HOURS, doc, site_id=site_id)


def breakeven_hashprice(rate: float, adder: float = 0.0) -> float:
    """On paper: the hashprice at which mining's margin equals the lease [USD/PH/day]."""
    lease_usd_per_mwh = rate * 12000.0 / 8760.0
    return (lease_usd_per_mwh + PRICE_USD_PER_MWH + adder) * 24.0 * EFFICIENCY_J_PER_TH / 1000.0


def campus_month(folder: Path, site_id: str = "campus") -> Path:
    """The bundled west_texas campus on its first 720 hours (June 2024), price file by absolute path."""
    text = (REPO / "sites" / "west_texas.toml").read_text(encoding="utf-8")
    data = (REPO / "sites" / "data" / "ercot_hb_south_hourly.csv").as_posix()
    text = text.replace('file = "data/ercot_hb_south_hourly.csv"',
                        f'file = "{data}"\nstart = "2024-06-01"\nend = "2024-07-01"')
    text = text.replace('start = "2024-08-20T15:00"', 'start = "2024-06-20T15:00"')
    text = text.replace('end = "2024-08-20T21:00"', 'end = "2024-06-20T21:00"')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{site_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path
