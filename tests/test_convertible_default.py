"""ai.convertible_mw defaults to facility_mw / ai.pue; a lease max_mw above it is a warning.

The tiny world of test_model.py: prices [20, 50, 150, 80], a running MW earns
100 USD per hour; a lease of 100 USD/kW-month pays far more than mining.
"""

from __future__ import annotations

import json

import pytest

from allocator import load_site, solve
from allocator.inputs.overrides import load_site_with
from conftest import write_site
from test_cli import invoke

PRICES = [20.0, 50.0, 150.0, 80.0]
MINING = {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
          "fleet": [{"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}]}


def doc(lease: dict, **ai) -> dict:
    return {"site": {"interconnect_mw": 10.0}, "mining": MINING,
            "ai": {"pue": 1.25, **ai, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0, **lease}]}}


def test_a_lease_offer_without_convertible_mw_is_taken(tmp_path):
    # the case: max_mw and no convertible_mw gave AI = 0 ("leases pay less than fit-out and opex")
    r = solve([load_site(write_site(tmp_path, PRICES, doc({"max_mw": 5.0})))])
    assert r.split.ai_it_mw[0] == pytest.approx(5.0)
    assert "leases pay less" not in r.reasons["tiny"]
    assert r.sites[0].site.config.ai.convertible_mw == pytest.approx(10.0 / 1.25)
    assert r.sites[0].site.warnings == []


def test_the_default_follows_facility_mw_and_pue(tmp_path):
    path = write_site(tmp_path, PRICES, {**doc({}), "site": {"interconnect_mw": 10.0, "facility_mw": 6.0}})
    assert load_site(path).config.ai.convertible_mw == pytest.approx(6.0 / 1.25)
    # an override of the field it follows re-derives it; an explicit value is kept
    assert load_site_with(path, {"site.facility_mw": 9.0}).config.ai.convertible_mw == pytest.approx(9.0 / 1.25)
    assert load_site_with(path, {"ai.pue": 1.5}).config.ai.convertible_mw == pytest.approx(6.0 / 1.5)
    assert load_site_with(path, {"ai.convertible_mw": 3.0}).config.ai.convertible_mw == pytest.approx(3.0)
    # with no lease max_mw, the tenant may take every hall: AI fills the 6 MW of halls
    assert solve([load_site(path)]).split.ai_grid_mw[0] == pytest.approx(6.0)


@pytest.mark.parametrize("ai, expected", [
    ({}, "ai.lease[0].max_mw: = 12 MW ('T') exceeds ai.convertible_mw = 8 MW (its default, facility_mw 10 / "
         "ai.pue 1.25): the tenant can take at most 8 MW. Lower max_mw or raise ai.convertible_mw."),
    ({"convertible_mw": 4.0}, "ai.lease[0].max_mw: = 12 MW ('T') exceeds ai.convertible_mw = 4 MW: the tenant "
                              "can take at most 4 MW."),
])
def test_a_lease_above_convertible_is_a_warning_naming_both(tmp_path, ai, expected):
    site = write_site(tmp_path, PRICES, doc({"max_mw": 12.0}, **ai))
    out = tmp_path / "run"
    code, stdout, stderr = invoke(["solve", str(site), "--out", str(out)])
    assert code == 0
    assert f"warning: {site}: {expected}" in stderr
    assert any(expected in w for w in json.loads((out / "manifest.json").read_text())["warnings"])
    code, stdout, stderr = invoke(["validate", str(site)])
    assert code == 0 and expected in stderr


def test_no_warning_when_the_lease_fits(tmp_path):
    site = write_site(tmp_path, PRICES, doc({"max_mw": 8.0}))
    out = tmp_path / "run"
    code, _, stderr = invoke(["solve", str(site), "--out", str(out)])
    assert code == 0 and "warning" not in stderr
    assert json.loads((out / "manifest.json").read_text())["warnings"] == []
