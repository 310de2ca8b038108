"""--workers: independent sites solved in a process pool give the serial answer, in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator import InfeasibleError, InputError
from allocator import solve
from allocator.run.parallel import worker_count
from conftest import write_site

PRICES = [20.0, 50.0, 150.0, 80.0, 5.0, 300.0]


def doc(interconnect_mw: float, rate: float, min_mw: float = 0.0) -> dict:
    return {
        "site": {"interconnect_mw": interconnect_mw, "facility_mw": 20.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
                   "fleet": [{"model": "S21", "efficiency_j_per_th": 20.0, "mw": 15.0}]},
        "ai": {"pue": 1.25, "convertible_mw": 10.0, "utilization_frac": 0.5,
               "lease": [{"tenant": "T", "rate_usd_per_kw_month": rate, "min_mw": min_mw}]},
    }


def test_pool_gives_the_serial_result_in_order(tmp_path):
    # site ids in non-alphabetical order, sizes that differ, so a reordering would show
    specs = [("zeta", 12.0, 100.0), ("alpha", 8.0, 5.0), ("mid", 16.0, 300.0), ("beta", 10.0, 100.0)]
    paths = [write_site(tmp_path, PRICES, doc(ic, rate), site_id=sid) for sid, ic, rate in specs]
    serial = solve(paths)
    pooled = solve(paths, workers=2)
    assert list(pooled.split["site_id"]) == ["zeta", "alpha", "mid", "beta"]
    for name in ("split", "financials", "dispatch", "leases", "fleets"):
        pd.testing.assert_frame_equal(getattr(pooled, name), getattr(serial, name), check_exact=True)
    assert pooled.objective_usd == serial.objective_usd
    # the sites differ, so equal tables are not a coincidence of identical inputs
    assert len(set(np.round(serial.split["net_usd"], 3))) == 4
    assert set(pooled.seconds) == {"load", "build", "handoff", "solve", "marginal", "extract"}


def test_pool_raises_the_error_the_serial_run_raises(tmp_path):
    ok = write_site(tmp_path, PRICES, doc(12.0, 100.0), site_id="ok")
    # firm AI 9 MW x 1.25 = 11.25 grid MW > the 10 MW interconnect: a conflict found before solving
    tight = write_site(tmp_path, PRICES, doc(10.0, 100.0, min_mw=9.0), site_id="tight")
    bad = tmp_path / "bad.toml"
    bad.write_text(ok.read_text().replace("[site]", "[site]\ncolour = \"red\""), encoding="utf-8")
    for paths, kind in (([ok, tight, bad], InputError), ([ok, tight], InfeasibleError)):
        with pytest.raises(kind) as serial:
            solve(paths)
        with pytest.raises(kind) as pooled:
            solve(paths, workers=2)
        assert str(pooled.value) == str(serial.value)
        assert pooled.value.problems == serial.value.problems


def test_worker_count():
    assert worker_count(1, 50) == 1
    assert worker_count(4, 3) == 3
    assert 1 <= worker_count(0, 50) <= 50
    with pytest.raises(ValueError):
        worker_count(-1, 5)
