"""Marginal values and shadow prices checked against re-solves with one more and one less MW.

Each case is a small site whose optimum is linear in the resource on each side
of its value, so the finite differences (objective with +1 MW minus objective,
and objective minus objective with -1 MW, x 8760/H) must equal the one-sided
values. The tiny world is test_model.py's: prices [20, 50, 150, 80], a running
MW earns 100 USD per hour, margins per MW [80, 50, -50, 20], 4 hours = 4/8760 years.
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
    assert list(r.marginal_values.columns) == ["site_id", "resource", "value_usd_per_mw_year",
                                               "loss_usd_per_mw_year", "lp_dual_usd_per_mw_year"]
    assert "USD/MW-year, one more MW gains / one MW less loses: interconnect" in summary(r)


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


# ------------------------------------------------------------------ one-sided values where limits bind together


def losses(r) -> dict[str, float]:
    return r.marginal_values.set_index("resource").loss_usd_per_mw_year.to_dict()


def duals(r) -> dict[str, float]:
    return r.marginal_values.set_index("resource").lp_dual_usd_per_mw_year.to_dict()


def both_sides(folder, doc, field: str, resource: str, solve_file=solve_doc, annualize: float = ANNUALIZE):
    """Assert value = (phi(+1) - phi) and loss = (phi - phi(-1)), annualized; return the base result."""
    base = solve_file(folder / "base", doc)
    more = solve_file(folder / "more", bump(doc, field, +1.0))
    less = solve_file(folder / "less", bump(doc, field, -1.0))
    assert values(base)[resource] == pytest.approx((more.objective_usd - base.objective_usd) * annualize,
                                                   rel=1e-6, abs=1e-3)
    assert losses(base)[resource] == pytest.approx((base.objective_usd - less.objective_usd) * annualize,
                                                   rel=1e-6, abs=1e-3)
    return base


def full_halls_doc():
    # halls and grid both 8 MW and a 10 MW fleet at PUE 1: mining keeps 8 MW (the halls) and runs all
    # 8 in hours 0, 1, 3 (the grid): two limits bind at once. One more hall MW cannot run (grid), one
    # more grid MW has no machine (halls): both gain 0; one less of either loses a running MW, 150 USD
    return {"site": {"interconnect_mw": 8.0, "facility_mw": 8.0}, "mining": mining()}


@pytest.mark.parametrize("field, resource", [("site.facility_mw", "facility_mw"),
                                             ("site.interconnect_mw", "interconnect_mw")])
def test_one_more_mw_of_a_limit_binding_with_another_gains_nothing(tmp_path, field, resource):
    r = both_sides(tmp_path, full_halls_doc(), field, resource)
    assert values(r)[resource] == pytest.approx(0.0, abs=1e-6)
    assert losses(r)[resource] == pytest.approx(150 * ANNUALIZE, rel=1e-9)
    # the LP's duals split the 150 USD between the two limits, each somewhere in [value, loss]
    d = duals(r)
    assert d["facility_mw"] + d["interconnect_mw"] == pytest.approx(150 * ANNUALIZE, rel=1e-6)
    assert -1e-6 <= d[resource] <= 150 * ANNUALIZE + 1e-6


def test_defaults_follow_the_field_they_default_to(tmp_path):
    # facility defaults to interconnect, convertible to facility / pue, T's max_mw to convertible:
    # one more interconnect MW is one more hall MW and 0.8 more convertible MW, all taken by T
    doc = {"site": {"interconnect_mw": 10.0}, "mining": mining(),
           "ai": {"pue": 1.25, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]}}
    r = both_sides(tmp_path, doc, "site.interconnect_mw", "interconnect_mw")
    assert values(r)["interconnect_mw"] == pytest.approx(0.8 * 100 * 12000, rel=1e-6)
    # each of them alone gains nothing: the others still bind
    for resource in ("facility_mw", "convertible_mw", "lease:T:max_mw"):
        assert values(r)[resource] == pytest.approx(0.0, abs=1e-6), resource
        assert losses(r)[resource] > 0, resource


@pytest.mark.parametrize("field, resource", [
    ("site.facility_mw", "facility_mw"), ("site.interconnect_mw", "interconnect_mw"),
    ("ai.convertible_mw", "convertible_mw"), ("ai.lease[0].max_mw", "lease:T:max_mw"),
    ("ai.lease[1].min_mw", "lease:S:min_mw"),
])
def test_ai_site_with_full_halls_and_grid(tmp_path, field, resource):
    # AI at util 1 and mining fill 10 MW of halls behind a 10 MW grid; T capped at 2 MW, S signed 1 MW
    doc = {"site": {"interconnect_mw": 10.0, "facility_mw": 10.0}, "mining": mining(),
           "ai": {"pue": 1.25, "convertible_mw": 4.0,
                  "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0, "max_mw": 2.0},
                            {"tenant": "S", "rate_usd_per_kw_month": 10.0, "min_mw": 1.0, "max_mw": 3.0}]}}
    r = both_sides(tmp_path, doc, field, resource)
    v, loss = values(r)[resource], losses(r)[resource]
    assert v <= loss + 1e-6  # the optimum is concave in every resource


def test_a_field_that_cannot_be_lowered_has_no_loss(tmp_path):
    doc = {"site": {"interconnect_mw": 10.0}, "mining": mining(),
           "ai": {"pue": 1.25, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]}}
    r = solve_doc(tmp_path, doc)
    assert np.isnan(losses(r)["lease:T:min_mw"])  # min_mw is 0 already
    assert values(r)["lease:T:min_mw"] == pytest.approx(0.0, abs=1e-6)  # T takes 8 MW > 1 anyway


def test_loss_when_lowering_makes_the_site_infeasible_is_empty(tmp_path):
    # T has signed all 4 convertible MW: one less convertible MW breaks the commitment
    doc = {"site": {"interconnect_mw": 10.0}, "mining": mining(),
           "ai": {"pue": 1.25, "convertible_mw": 4.0, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0,
                                                                  "min_mw": 4.0}]}}
    r = solve_doc(tmp_path, doc)
    assert np.isnan(losses(r)["convertible_mw"])
    out = tmp_path / "out"
    from allocator.reports.run_folder import write_result

    write_result(r, out)
    text = (out / "marginal_values.csv").read_text()
    assert "tiny,convertible_mw," in text and "-0.0" not in text


def test_the_console_line_shows_both_sides(tmp_path):
    r = solve_doc(tmp_path, full_halls_doc())
    line = [x for x in summary(r).splitlines() if "one more MW" in x][0]
    loss = f"{150 * ANNUALIZE:,.0f}"
    assert line.endswith(f"interconnect 0 / {loss}, facility 0 / {loss}")


def test_cbc_gives_the_same_one_sided_values(tmp_path):
    import pulp

    if not pulp.COIN_CMD(msg=False).available():
        pytest.skip("CBC is not installed")
    path = write_site(tmp_path, PRICES, full_halls_doc())
    highs, cbc = solve([load_site(path)]), solve([load_site(path)], solver="cbc")
    cols = ["value_usd_per_mw_year", "loss_usd_per_mw_year"]
    assert cbc.marginal_values[cols].to_numpy() == pytest.approx(highs.marginal_values[cols].to_numpy(), abs=1e-6)


def campus_doc(tmp_path) -> dict:
    """The bundled campus with halls = grid = 300 MW, no event, AI drawing all it leases: in every hour
    mining runs full, the halls and the grid bind together (the issue's degenerate case)."""
    import tomllib

    doc = tomllib.loads((REPO / "sites" / "west_texas.toml").read_text())
    doc["prices"]["file"] = str(REPO / "sites" / "data" / "ercot_hb_south_hourly.csv")
    doc.pop("curtailment", None)
    doc["ai"]["utilization_frac"] = 1.0
    doc["ai"]["lease"][0]["max_mw"] = 100.0
    return doc


def solve_file_doc(folder, doc):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "campus.toml"
    path.write_text(_toml(doc))
    return solve([load_site(path)])


@pytest.mark.parametrize("field, resource", [
    ("site.facility_mw", "facility_mw"), ("site.interconnect_mw", "interconnect_mw"),
    ("ai.lease[0].max_mw", "lease:Tenant A:max_mw"),
])
def test_campus_where_halls_and_grid_bind_together(tmp_path, field, resource):
    doc = campus_doc(tmp_path)
    base = solve_file_doc(tmp_path / "base", doc)
    annualize = 8760 / base.sites[0].site.hours
    r = both_sides(tmp_path, doc, field, resource, solve_file=solve_file_doc, annualize=annualize)
    if resource in ("facility_mw", "interconnect_mw"):
        # one of the two alone gains nothing: the other still binds every hour mining runs
        assert values(r)[resource] == pytest.approx(0.0, abs=1e-3)
        assert losses(r)[resource] > 1e5


# ------------------------------------------------------------------ portfolios


def portfolio_site(folder, site_id, fitout_usd_per_mw, interconnect_mw):
    # 24 hours at 20 USD/MWh: a running MW nets 80 USD an hour; the lease nets more per MW, but fit-out eats
    # into a shared capex budget
    doc = {"site": {"interconnect_mw": interconnect_mw, "facility_mw": 20.0},
           "mining": mining(fleet=[{**FLEET, "mw": 20.0}]),
           "ai": {"pue": 1.25, "convertible_mw": 10.0, "fitout_capex_usd_per_mw": fitout_usd_per_mw,
                  "capex_life_years": 10, "discount_rate_frac": 0.0,
                  "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]}}
    return doc


def solve_portfolio_docs(folder, docs: dict, method: str):
    from allocator.plan.portfolio import solve_portfolio

    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_site(folder, [20.0] * 24, doc, site_id=sid) for sid, doc in docs.items()]
    pf = folder / "portfolio.toml"
    pf.write_text("capex_budget_usd = 5e6\n")
    return solve_portfolio(paths, pf, method=method)


@pytest.mark.parametrize("method", ["one_lp", "decomposition"])
@pytest.mark.parametrize("site_id, field, resource", [
    ("cheap", "site.interconnect_mw", "interconnect_mw"), ("cheap", "site.facility_mw", "facility_mw"),
    ("dear", "site.interconnect_mw", "interconnect_mw"), ("cheap", "ai.convertible_mw", "convertible_mw"),
])
def test_portfolio_values_against_re_solves_of_the_portfolio(tmp_path, method, site_id, field, resource):
    docs = {"cheap": portfolio_site(tmp_path, "cheap", 1e6, 12.0), "dear": portfolio_site(tmp_path, "dear", 2e6, 20.0)}
    base = solve_portfolio_docs(tmp_path / "base", docs, method)
    more = solve_portfolio_docs(tmp_path / "more", {**docs, site_id: bump(docs[site_id], field, +1.0)}, method)
    less = solve_portfolio_docs(tmp_path / "less", {**docs, site_id: bump(docs[site_id], field, -1.0)}, method)
    row = base.marginal_values.set_index(["site_id", "resource"]).loc[(site_id, resource)]
    annualize = 8760 / 24
    assert row.value_usd_per_mw_year == pytest.approx((more.objective_usd - base.objective_usd) * annualize,
                                                      rel=1e-6, abs=1e-3)
    assert row.loss_usd_per_mw_year == pytest.approx((base.objective_usd - less.objective_usd) * annualize,
                                                     rel=1e-6, abs=1e-3)


def hb_west_campus(shared_raw, fields: dict) -> str:
    """A 300 MW West Texas campus on real HB_WEST 2024 prices whose halls and grid are both full of mining
    (the issue's degenerate case) [site-file text]."""
    doc = {"site": {"timezone": "America/Chicago", "interconnect_mw": 300.0, "facility_mw": 300.0},
           "prices": {"file": str(shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"),
                      "time_column": "HOUR", "column": "HUB", "adder_usd_per_mwh": 4.0,
                      "time_label": "end", "start": "2024-01-01", "end": "2025-01-01"},
           "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "opex_usd_per_mw_year": 40000.0,
                      "hashprice_usd_per_ph_day": 50.0,
                      "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 200.0},
                                {"model": "S19", "efficiency_j_per_th": 29.5, "mw": 120.0}]}}
    doc["site"].update(fields)
    return _toml(doc)


def test_real_hb_west_campus_with_halls_and_grid_full(tmp_path, shared_raw):
    def objective(name, **fields):
        path = tmp_path / f"{name}.toml"
        path.write_text(hb_west_campus(shared_raw, fields))
        return solve([load_site(path)])

    base = objective("base")
    annualize = 8760 / base.sites[0].site.hours
    for field in ("interconnect_mw", "facility_mw"):
        more = objective(f"{field}_more", **{field: 301.0})
        less = objective(f"{field}_less", **{field: 299.0})
        assert values(base)[field] == pytest.approx((more.objective_usd - base.objective_usd) * annualize, abs=1e-3)
        assert losses(base)[field] == pytest.approx((base.objective_usd - less.objective_usd) * annualize, rel=1e-6)
        assert values(base)[field] == pytest.approx(0.0, abs=1e-3)  # the other limit still binds
        assert losses(base)[field] > 1e5
        assert values(base)[field] - 1e-3 <= duals(base)[field] <= losses(base)[field] + 1e-3
