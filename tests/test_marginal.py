"""Marginal values and shadow prices checked against re-solves with one more MW.

Each case is a small site whose optimum is linear in the resource around its
value, so the finite difference (objective with +1 MW minus objective, x 8760/H)
must equal the value computed from the duals. The tiny world is test_model.py's:
prices [20, 50, 150, 80], a running MW earns 100 USD per hour, margins per MW
[80, 50, -50, 20], 4 hours = 4/8760 years.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from allocator import load_site
from allocator import solve
from allocator.reports.text import summary
from conftest import REPO, write_site

PRICES = [20.0, 50.0, 150.0, 80.0]
ANNUALIZE = 8760 / 4
FLEET = {"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}


def mining(**kw):
    base = {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": [dict(FLEET)]}
    base.update(kw)
    return base


def solve_doc(folder, doc):
    return solve([load_site(write_site(folder, PRICES, doc))])


def values(r) -> dict[str, float]:
    return r.marginal_values.set_index("resource").value_usd_per_mw_year.to_dict()


def bump(doc: dict, path: str, delta: float = 1.0) -> dict:
    """A copy of ``doc`` with the dotted field (``ai.lease[1].min_mw``) raised by ``delta``."""
    out = copy.deepcopy(doc)
    node = out
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[parts[-1]] = node[parts[-1]] + delta
    return out


def finite_difference(tmp_path, doc, field: str, resource: str, expected: float | None = None):
    base = solve_doc(tmp_path / "base", doc)
    more = solve_doc(tmp_path / field.replace(".", "_"), bump(doc, field))
    fd = (more.objective_usd - base.objective_usd) * ANNUALIZE
    dual = values(base)[resource]
    assert dual == pytest.approx(fd, rel=1e-6, abs=1e-3)
    if expected is not None:
        assert dual == pytest.approx(expected, rel=1e-6)
    return base


def test_interconnect_through_the_grid_row_and_the_run_bound(tmp_path):
    # halls 20 MW, fleet 15 MW behind a 10 MW connection: x_t <= c_t binds in the three running hours,
    # both as the grid row and as x's implied bound; +1 MW runs in hours 0, 1, 3: 150 USD
    doc = {"site": {"interconnect_mw": 10.0, "facility_mw": 20.0}, "mining": mining(fleet=[{**FLEET, "mw": 15.0}])}
    r = finite_difference(tmp_path, doc, "site.interconnect_mw", "interconnect_mw", 150 * ANNUALIZE)
    grid = r.shadow_prices[r.shadow_prices.constraint == "grid_limit"].value_usd_per_mwh
    assert grid.tolist() == pytest.approx([80, 50, 0, 20], abs=1e-6)
    assert values(r)["facility_mw"] == pytest.approx(0.0, abs=1e-6)
    assert set(r.shadow_prices.constraint) == {"grid_limit"}  # no lease: no firm-AI rows


def test_facility_when_the_halls_bind(tmp_path):
    doc = {"site": {"interconnect_mw": 10.0, "facility_mw": 8.0}, "mining": mining()}
    r = finite_difference(tmp_path, doc, "site.facility_mw", "facility_mw", 150 * ANNUALIZE)
    assert values(r)["interconnect_mw"] == pytest.approx(0.0, abs=1e-6)


def test_interconnect_carries_a_defaulted_facility(tmp_path):
    # facility_mw defaults to interconnect_mw: one more interconnect MW is one more hall MW too
    doc = {"site": {"interconnect_mw": 8.0}, "mining": mining()}
    finite_difference(tmp_path, doc, "site.interconnect_mw", "interconnect_mw", 150 * ANNUALIZE)


def headroom_doc():
    # test_model.py's headroom soak with a second, signed, cheap tenant
    return {"site": {"interconnect_mw": 10.0, "facility_mw": 20.0},
            "mining": mining(opex_usd_per_mw_year=1000.0, fleet=[{**FLEET, "mw": 15.0}]),
            "ai": {"pue": 1.25, "convertible_mw": 4.0, "utilization_frac": 0.5,
                   "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0},
                             {"tenant": "S", "rate_usd_per_kw_month": 10.0, "min_mw": 1.0, "max_mw": 3.0}]}}


@pytest.mark.parametrize("field, resource, expected", [
    # +1 MW grid: one more mining MW kept (opex 1000/yr) running the three good hours
    ("site.interconnect_mw", "interconnect_mw", 150 * ANNUALIZE - 1000),
    # +1 convertible MW goes to T (100 USD/kW-month), and its 0.625 grid MW displace mining
    ("ai.convertible_mw", "convertible_mw", 100 * 12000 - 0.625 * (150 * ANNUALIZE - 1000)),
    # the signed tenant takes one more MW from T: 90 USD/kW-month less
    ("ai.lease[1].min_mw", "lease:S:min_mw", -90 * 12000),
])
def test_ai_site_resources(tmp_path, field, resource, expected):
    r = finite_difference(tmp_path, headroom_doc(), field, resource, expected)
    v = values(r)
    assert v["lease:S:max_mw"] == pytest.approx(0.0, abs=1e-6)  # S sits at its minimum
    assert v["lease:T:max_mw"] == pytest.approx(0.0, abs=1e-6)  # T's max (4) is not what binds


def test_lease_max_when_the_tenant_cap_binds(tmp_path):
    doc = headroom_doc()
    doc["ai"]["lease"][0]["max_mw"] = 2.0  # T takes at most 2; S stays at its signed 1 (not worth more)
    r = finite_difference(tmp_path, doc, "ai.lease[0].max_mw", "lease:T:max_mw",
                          100 * 12000 - 0.625 * (150 * ANNUALIZE - 1000))
    assert values(r)["convertible_mw"] == pytest.approx(0.0, abs=1e-6)  # T's max is explicit: no default


def test_signs_and_firm_ai_shadow_price(tmp_path):
    # test_model.py's curtailment case: AI capped at 4 IT MW by a 5 MW event in hour 2. One more grid MW
    # in that hour: 0.8 IT MW more AI (547.9 per IT MW) for 1 hall MW less mining (150): 288.4 USD
    doc = {"site": {"interconnect_mw": 10.0}, "mining": mining(),
           "ai": {"pue": 1.25, "convertible_mw": 8.0, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
           "curtailment": [{"start": "2024-01-01T02:00Z", "end": "2024-01-01T03:00Z", "cap_mw": 5.0}]}
    r = solve_doc(tmp_path, doc)
    s = r.shadow_prices.pivot(index="interval_start_utc", columns="constraint", values="value_usd_per_mwh")
    both = (s.grid_limit + s.firm_ai).to_numpy()
    ai_per_mw = 100 * 12000 * 4 / 8760
    assert both[2] == pytest.approx(0.8 * ai_per_mw - 150, rel=1e-6)
    assert (r.shadow_prices.value_usd_per_mwh >= -1e-9).all()  # relaxing a limit never costs
    assert list(r.marginal_values.columns) == ["site_id", "resource", "value_usd_per_mw_year"]
    assert "one more MW, USD/MW-year: interconnect" in summary(r)


@pytest.mark.parametrize("name, field, resource", [
    # west_texas: the halls bind (AI 125 MW at the event cap + 150 grid MW of mining): one more hall MW
    # is 1/1.05 IT MW more mining, which is linear; the grid does not bind
    ("west_texas", "facility_mw", "facility_mw"),
    # permian_hybrid: halls of 400 MW behind 250 MW of grid: one more grid MW is more mining
    ("permian_hybrid", "interconnect_mw", "interconnect_mw"),
])
def test_bundled_campus_headline_values(tmp_path, name, field, resource):
    import tomllib

    path = REPO / "sites" / f"{name}.toml"
    doc = tomllib.loads(path.read_text())
    base = solve([load_site(path)])
    v = values(base)
    doc["site"][field] += 1.0
    doc["prices"]["file"] = str(REPO / "sites" / "data" / "ercot_hb_south_hourly.csv")
    (tmp_path / f"{name}.toml").write_text(_toml(doc))
    more = solve([load_site(tmp_path / f"{name}.toml")])
    fd = (more.objective_usd - base.objective_usd) * 8760 / base.sites[0].site.hours
    assert v[resource] == pytest.approx(fd, rel=1e-6)
    assert v[resource] > 0
    other = "interconnect_mw" if resource == "facility_mw" else "facility_mw"
    assert v[other] == pytest.approx(0.0, abs=1e-3)


def _toml(doc) -> str:
    from conftest import to_toml

    return to_toml(doc)


def test_annualized_sum_of_hourly_duals(tmp_path):
    doc = {"site": {"interconnect_mw": 10.0, "facility_mw": 20.0}, "mining": mining(fleet=[{**FLEET, "mw": 15.0}])}
    r = solve_doc(tmp_path, doc)
    hourly = r.shadow_prices.value_usd_per_mwh.to_numpy()
    assert values(r)["interconnect_mw"] == pytest.approx(np.sum(hourly) * ANNUALIZE, rel=1e-9)
