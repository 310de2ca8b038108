"""Benchmark sites: variations of the bundled campus, on bundled HB_SOUTH or real HB_WEST prices.

Every site is the West Texas campus (``sites/west_texas.toml``) scaled and
re-priced deterministically by its number, written as a site file in a
scratch folder. Its prices are read where they are: the bundled HB_SOUTH file
(``campus``: 7,200 hours, June 2024 to March 2025) or the HB_WEST hourly file
in ``../shared/data/raw`` (``hb_west``: calendar 2024 or 2025, 8,784 or 8,760
hours), which is never copied into the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAMPUS = REPO / "sites" / "west_texas.toml"
HB_SOUTH = REPO / "sites" / "data" / "ercot_hb_south_hourly.csv"
HB_WEST = REPO.parent / "shared" / "data" / "raw" / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"

SOURCES = ("hb_west", "campus")
GOLDEN = 0.6180339887498949


def available(source: str) -> str | None:
    """None if ``source`` can be generated here, else why not."""
    if source == "hb_west" and not HB_WEST.is_file():
        return f"{HB_WEST} is absent: HB_WEST sites skipped"
    return None


def write_sites(folder: Path, source: str, n: int) -> list[Path]:
    """Write ``n`` site files of ``source`` into ``folder``; return their paths in order."""
    folder.mkdir(parents=True, exist_ok=True)
    template = CAMPUS.read_text(encoding="utf-8")
    return [_write(folder, source, i, template) for i in range(n)]


def _frac(x: float) -> float:
    return x - int(x)


def _write(folder: Path, source: str, i: int, text: str) -> Path:
    scale = 0.7 + 0.6 * _frac(i * GOLDEN)           # 210 .. 390 MW of interconnect
    rate = 130.0 + 40.0 * _frac(0.3 + i * 0.4142)  # 130 .. 170 USD/kW-month
    adder = 2.0 + 4.0 * _frac(0.7 + i * 0.7321)    # 2 .. 6 USD/MWh
    subs = {
        r"interconnect_mw = 300\.0": f"interconnect_mw = {300 * scale:.1f}",
        r"facility_mw = 300\.0": f"facility_mw = {300 * scale:.1f}",
        r"mw = 120\.0": f"mw = {120 * scale:.1f}",
        r"mw = 80\.0": f"mw = {80 * scale:.1f}",
        r"convertible_mw = 200\.0": f"convertible_mw = {200 * scale:.1f}",
        r"max_mw = 200\.0": f"max_mw = {200 * scale:.1f}",
        r"cap_mw = 150\.0": f"cap_mw = {150 * scale:.1f}",
        r"rate_usd_per_kw_month = 150\.0": f"rate_usd_per_kw_month = {rate:.2f}",
        r"adder_usd_per_mwh = 4\.0": f"adder_usd_per_mwh = {adder:.2f}",
    }
    if source == "campus":
        subs[r'file = "data/ercot_hb_south_hourly\.csv"'] = f'file = "{HB_SOUTH.as_posix()}"'
    elif source == "hb_west":
        year = 2024 + i % 2
        # HOUR is hour ending, read here as the interval start (one hour early: a timing benchmark);
        # ffill covers the spring-forward and the collapsed fall-back hour
        subs[r'file = "data/ercot_hb_south_hourly\.csv"'] = (
            f'file = "{HB_WEST.as_posix()}"\ntime_column = "HOUR"\nfill = "ffill"\n'
            f'start = "{year}-01-01T00:00"\nend = "{year + 1}-01-01T00:00"')
        subs[r'column = "hb_south_rtm_usd_per_mwh"'] = 'column = "HUB"'
        subs[r'"2024-08-20T(\d\d):00"'] = rf'"{year}-08-20T\1:00"'
    else:
        raise ValueError(f"unknown source {source!r}; use one of {SOURCES}")
    for pattern, repl in subs.items():
        text, n = re.subn(rf"(?m)^{pattern}$" if not pattern.startswith('"') else pattern, repl, text)
        if n == 0:
            raise ValueError(f"{CAMPUS}: no line matches {pattern!r}; update benchmarks/sites.py")
    path = folder / f"{source}_{i:03d}.toml"
    path.write_text(text, encoding="utf-8")
    return path
