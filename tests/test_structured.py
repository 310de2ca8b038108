"""The structured solver (allocator/lp/structured.py) against HiGHS on the same LP.

1,000 random small base-model sites (fleets, leases with signed minimums,
curtailment caps, hourly utilization profiles, pass-through or not, negative
prices, hashprice series; 24-96 hours) from a seeded generator: the
structured optimum must

- be feasible in the site LP built by allocator/lp/model.py (every bound and row);
- equal HiGHS's objective to 1e-9 relative;
- carry an optimal dual of that LP (dual feasible, complementary, and its dual
  objective equal to the objective), so marginal values and shadow prices are
  exact LP duals;
- give HiGHS's split to 1e-6 MW wherever the split is unique. Two feasible
  plans with the optimal objective that differ prove the optimum is not
  unique, so a differing split is only allowed with both objectives equal, and
  only in a minority of cases (random data are rarely tied).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from allocator.inputs.schema import SiteFile
from allocator.inputs.site import Site, _grid_cap
from allocator.lp import model, structured
from allocator.lp.results import site_solution
from allocator.lp.solve import solve_model, worst_violation

N_CASES = 1000


def random_site(rng: np.random.Generator, k: int, *, sla: bool = False) -> Site:
    """A feasible random base-model site of 24-96 hours (in memory, no files)."""
    hours = int(rng.integers(24, 97))
    interconnect = float(rng.uniform(20, 300))
    facility = interconnect * float(rng.choice([1.0, rng.uniform(0.6, 1.6)]))
    pue_m, pue_ai = float(rng.uniform(1.02, 1.2)), float(rng.uniform(1.1, 1.5))
    n_f, n_l = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    efficiencies = rng.choice(np.arange(12.0, 40.0, 0.5), size=n_f, replace=False)
    fleets = [{"model": f"asic{f}", "efficiency_j_per_th": float(e), "mw": float(rng.uniform(5, facility))}
              for f, e in enumerate(efficiencies)]
    index = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    events = []
    for _ in range(int(rng.integers(0, 3))):  # curtailment events, as a site file states them
        start = int(rng.integers(0, hours))
        end = min(hours, start + int(rng.integers(1, 8)))
        events.append({"start": f"{index[start]:%Y-%m-%dT%H:%M}Z",
                       "end": f"{index[end - 1] + pd.Timedelta(hours=1):%Y-%m-%dT%H:%M}Z",
                       "cap_mw": float(rng.uniform(0.0, interconnect))})
    cap = np.full(hours, interconnect)
    for event in events:
        inside = (index >= pd.Timestamp(event["start"])) & (index < pd.Timestamp(event["end"]))
        cap[inside] = np.minimum(cap[inside], event["cap_mw"])
    doc = {
        "site": {"interconnect_mw": interconnect, "facility_mw": facility},
        "prices": {"file": "prices.csv"},
        "mining": {"pue": pue_m, "pool_fee_frac": float(rng.uniform(0, 0.03)),
                   "opex_usd_per_mw_year": float(rng.uniform(0, 80_000)), "fleet": fleets,
                   "min_uptime_frac": float(rng.uniform(0.1, 0.6)) if sla else 0.0},
        "curtailment": events,
    }
    utilization = np.ones(hours)
    if n_l:
        convertible = float(rng.uniform(5, facility / pue_ai * 1.2))
        firm = float(cap.min()) / pue_ai
        room = min(convertible, firm, facility / pue_ai)
        signed = rng.dirichlet(np.ones(n_l)) * room * float(rng.choice([0.0, rng.uniform(0, 0.9)]))
        leases = []
        for i in range(n_l):
            lease = {"tenant": f"t{i}", "rate_usd_per_kw_month": float(rng.uniform(40, 220)),
                     "min_mw": float(signed[i])}
            if rng.random() < 0.6:
                lease["max_mw"] = float(signed[i] + rng.uniform(0, convertible))
            leases.append(lease)
        doc["ai"] = {"pue": pue_ai, "convertible_mw": convertible, "lease": leases,
                     "fitout_capex_usd_per_mw": float(rng.uniform(0, 1.2e7)),
                     "opex_usd_per_mw_year": float(rng.uniform(0, 100_000)),
                     "power_pass_through": bool(rng.random() < 0.5)}
        if rng.random() < 0.5:
            utilization = rng.uniform(0.3, 1.0, hours)
        else:
            utilization = np.full(hours, float(rng.uniform(0.3, 1.0)))
    prices = rng.normal(45, 35, hours)
    prices[rng.random(hours) < 0.05] = float(rng.uniform(500, 3000))  # scarcity hours
    hashprice = (np.full(hours, float(rng.uniform(25, 70))) if rng.random() < 0.5
                 else rng.uniform(25, 70, hours))
    config = SiteFile.model_validate(doc)
    problems: list = []
    assert np.array_equal(_grid_cap(config, index, "case", problems), cap) and not problems
    return Site(id=f"case{k}", path=None, config=config, index=index,
                price_usd_per_mwh=prices, hashprice_usd_per_ph_day=hashprice, grid_cap_mw=cap,
                ai_utilization_frac=utilization)


def dual_gap(lp: model.LinearModel, solution) -> tuple[float, float]:
    """How far ``solution``'s duals are from an optimal dual: (worst sign or reduced-cost error,
    |dual objective - objective| relative)."""
    arr = lp.arrays()
    pi, d, x = solution.row_dual, solution.col_dual, solution.col_value
    reduced = arr["col_cost"].copy()
    np.subtract.at(reduced, arr["col"], arr["coef"] * pi[arr["row"]])
    scale = max(1.0, float(np.abs(arr["col_cost"]).max(initial=0.0)))
    error = float(np.abs(reduced - d).max(initial=0.0)) / scale
    # every row of a covered site is "<= upper": relaxing it never lowers the maximum
    error = max(error, float(np.clip(-pi, 0, None).max(initial=0.0)) / scale)
    lower, upper = arr["col_lower"], arr["col_upper"]
    tol = 1e-7
    error = max(error, float(np.where(x < upper - tol, np.clip(d, 0, None), 0).max(initial=0.0)) / scale,
                float(np.where(x > lower + tol, np.clip(-d, 0, None), 0).max(initial=0.0)) / scale)
    dual_objective = float(pi @ arr["row_upper"]) + float(np.where(d > 0, d * upper, d * lower).sum())
    return error, abs(dual_objective - solution.objective_usd) / max(1.0, abs(solution.objective_usd))


def test_structured_equals_highs_on_random_sites():
    rng = np.random.default_rng(17)
    split_differs = 0
    for k in range(N_CASES):
        site = random_site(rng, k)
        assert structured.not_covered(site) is None
        lp = model.build([site])
        block = lp.blocks[0]
        reference = solve_model(lp)
        optimum = structured.solve_structured(site)
        ours = structured.lp_solution(block, optimum, "structured")
        context = f"case {k} ({site.hours} h, {len(site.config.mining.fleet)} fleets)"
        scale = max(1.0, abs(reference.objective_usd))
        assert abs(optimum.objective_usd - reference.objective_usd) <= 1e-9 * scale, context
        assert worst_violation(lp, ours.col_value)[1] <= 1e-9, context
        # the objective the LP gives our plan is the one we report
        assert float(lp.arrays()["col_cost"] @ ours.col_value) == pytest.approx(optimum.objective_usd,
                                                                                 rel=1e-12, abs=1e-6)
        error, gap = dual_gap(lp, ours)
        assert error <= 1e-7 and gap <= 1e-8, f"{context}: dual error {error:.2g}, dual gap {gap:.2g}"
        first = np.r_[block.lease_cols, block.fleet_cols].astype(int)
        if first.size and np.abs(ours.col_value[first] - reference.col_value[first]).max() > 1e-6:
            split_differs += 1  # two optimal plans (the asserts above): the optimum is not unique
        # the priced items add up to the objective through the same extraction as HiGHS's
        assert site_solution(block, ours).financials_usd["net"] == pytest.approx(optimum.objective_usd, rel=1e-9,
                                                                                  abs=1e-6)
    assert split_differs <= N_CASES // 20, f"{split_differs} of {N_CASES} splits differ"


def test_uptime_sla_and_power_rows_are_not_covered():
    site = random_site(np.random.default_rng(3), 0, sla=True)
    while not site.config.mining.fleet:
        site = random_site(np.random.default_rng(int(site.hours)), 0, sla=True)
    assert "uptime SLA" in structured.not_covered(site)


def test_hand_solved_site():
    """One fleet, one lease, two hours, a curtailed second hour: the optimum on paper.

    Lease: 100 USD/kW-month x 12,000 x 2/8760 = 273.97 USD per IT MW over 2 h; no fixed costs.
    Fleet at 20 J/TH, hashprice 48, no fee: 48 x 50 / 24 = 100 USD per IT MWh, price 20 at PUE 1:
    margin 80/MWh. Interconnect 100, facility 100 (PUE 1 both), cap 50 in hour 2.
    Firm AI: a <= 50. Halls: a + m <= 100. Mining runs min(m, 100 - a) then min(m, 50 - a).
    Net(a, m) = 273.97 a + 80 [min(m, 100 - a) + min(m, 50 - a)]: at a = 0, m = 100 gives
    80 x 150 = 12,000; each MW of AI costs 160 of mining while both hours bind and earns 273.97,
    so a = 50, m = 50: 13,698.6 + 80 x 50 = 17,698.6.
    """
    doc = {"site": {"interconnect_mw": 100.0}, "prices": {"file": "p.csv"},
           "mining": {"pue": 1.0, "fleet": [{"model": "s", "efficiency_j_per_th": 20.0, "mw": 100.0}]},
           "ai": {"pue": 1.0, "convertible_mw": 100.0, "lease": [{"tenant": "t", "rate_usd_per_kw_month": 100.0}]}}
    site = Site(id="hand", path=None, config=SiteFile.model_validate(doc),
                index=pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC"),
                price_usd_per_mwh=np.array([20.0, 20.0]), hashprice_usd_per_ph_day=np.array([48.0, 48.0]),
                grid_cap_mw=np.array([100.0, 50.0]), ai_utilization_frac=np.ones(2))
    optimum = structured.solve_structured(site)
    lease_usd_per_mw = 100.0 * 12000.0 * 2 / 8760
    assert optimum.lease_mw == pytest.approx([50.0])
    assert optimum.fleet_mw == pytest.approx([50.0])
    assert optimum.run_mw.ravel() == pytest.approx([50.0, 0.0])
    assert optimum.objective_usd == pytest.approx(50 * lease_usd_per_mw + 80 * 50, rel=1e-12)
    # the optimum is degenerate (halls, firm AI, hour-1 grid and run limit all bind): the duals are one
    # optimal dual among many, checked as such
    lp = model.build([site])
    error, gap = dual_gap(lp, structured.lp_solution(lp.blocks[0], optimum, "structured"))
    assert error <= 1e-9 and gap <= 1e-12


def test_cli_structured_matches_highs_and_names_each_sites_method(tmp_path):
    from click.testing import CliRunner

    from allocator.cli import main
    from conftest import write_site

    base = {"site": {"interconnect_mw": 100.0},
            "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 50.0,
                       "fleet": [{"model": "a", "efficiency_j_per_th": 18.0, "mw": 60.0},
                                 {"model": "b", "efficiency_j_per_th": 30.0, "mw": 60.0}]},
            "ai": {"pue": 1.2, "convertible_mw": 60.0, "fitout_capex_usd_per_mw": 9e6,
                   "lease": [{"tenant": "x", "rate_usd_per_kw_month": 150.0}]}}
    prices = list(np.random.default_rng(5).normal(40, 30, 72))
    plain = write_site(tmp_path, prices, base, site_id="plain")
    sla = write_site(tmp_path, prices, {**base, "mining": {**base["mining"], "min_uptime_frac": 0.5}},
                     site_id="sla")
    outs = {}
    for solver in ("auto", "highs"):
        out = tmp_path / f"run_{solver}"
        code = main(["solve", str(plain), str(sla), "--solver", solver, "--out", str(out)])
        assert code == 0
        outs[solver] = out
    manifest = json.loads((outs["auto"] / "manifest.json").read_text())
    assert manifest["sites"]["plain"]["method"].startswith("structured")
    assert manifest["sites"]["sla"]["method"].startswith("HiGHS") and "uptime SLA" in manifest["sites"]["sla"]["method"]
    for name in ("split", "financials", "leases", "fleets"):
        ours = pd.read_csv(outs["auto"] / f"{name}.csv")
        theirs = pd.read_csv(outs["highs"] / f"{name}.csv")
        numeric = ours.select_dtypes("number").columns
        assert list(ours.columns) == list(theirs.columns)
        np.testing.assert_allclose(ours[numeric].to_numpy(float), theirs[numeric].to_numpy(float),
                                   rtol=1e-7, atol=1e-5, err_msg=name)
    # one-sided marginal values are unique: structured re-solves against HiGHS's warm re-solves
    ours = pd.read_csv(outs["auto"] / "marginal_values.csv")
    theirs = pd.read_csv(outs["highs"] / "marginal_values.csv")
    assert ours[["site_id", "resource"]].equals(theirs[["site_id", "resource"]])
    for column in ("value_usd_per_mw_year", "loss_usd_per_mw_year"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-6, atol=1e-3, err_msg=column)
    # the LP duals are one optimal dual among many where limits bind together (halls and grid here):
    # each lies between the one-sided values, as any optimal dual does
    plain = ours["site_id"] == "plain"
    assert (ours["lp_dual_usd_per_mw_year"][plain] >= ours["value_usd_per_mw_year"][plain] - 1e-3).all()
    assert (ours["lp_dual_usd_per_mw_year"][plain] <= ours["loss_usd_per_mw_year"][plain].fillna(np.inf) + 1e-3).all()
    ours = pd.read_csv(outs["auto"] / "dispatch.csv")
    theirs = pd.read_csv(outs["highs"] / "dispatch.csv")
    np.testing.assert_allclose(ours["mining_it_mw"], theirs["mining_it_mw"], atol=1e-6)


def test_one_sided_marginal_values_and_reasons_equal_highs_on_random_sites():
    """``solve_site`` both ways on 150 random sites: the one-sided marginal values (unique, unlike the
    duals) agree, and so do the reasons and the financial items."""
    from allocator.lp.results import reason, solve_site

    rng = np.random.default_rng(1717)
    compared = 0
    for k in range(150):
        site = random_site(rng, k)
        ours, _ = solve_site(site, "structured", None)
        theirs, _ = solve_site(site, "highs", None)
        assert ours.method.startswith("structured")
        for item, usd in theirs.financials_usd.items():
            assert ours.financials_usd[item] == pytest.approx(usd, rel=1e-7, abs=1e-3), (k, item)
        for resource, value in theirs.marginal_usd_per_mw_year.items():
            mine = ours.marginal_usd_per_mw_year[resource]
            for a, b in ((mine.value_usd_per_mw_year, value.value_usd_per_mw_year),
                         (mine.loss_usd_per_mw_year, value.loss_usd_per_mw_year)):
                assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-6, abs=1e-2), (k, resource)
                compared += 1
        if np.allclose(ours.lease_mw, theirs.lease_mw, atol=1e-6) and np.allclose(ours.fleet_mw, theirs.fleet_mw,
                                                                                    atol=1e-6):
            assert reason(ours) == reason(theirs), k
    assert compared > 1000


def test_cutting_planes_that_do_not_close_fall_back_to_highs(monkeypatch):
    from allocator.errors import Problem, SolverError
    from allocator.lp.results import solve_site

    site = random_site(np.random.default_rng(11), 0)
    reference, _ = solve_site(site, "highs", None)

    def stalls(*args, **kwargs):
        raise SolverError([Problem(site.id, "the structured cutting planes did not close the gap in 2000 cuts.",
                                   "Use --solver highs.")])

    monkeypatch.setattr(structured, "solve_structured", stalls)
    solution, _ = solve_site(site, "auto", None)
    assert solution.method.startswith("HiGHS") and "did not converge" in solution.method
    assert solution.objective_usd == pytest.approx(reference.objective_usd, rel=1e-12)


def test_a_cutting_plane_plan_that_breaks_a_row_is_never_reported(monkeypatch):
    """The structured answer is re-checked against the LP's rows like HiGHS's: auto hands the site to HiGHS
    (the method says why), --solver structured fails with exit 2."""
    from allocator.errors import SolverError
    from allocator.lp.results import solve_site

    site = random_site(np.random.default_rng(11), 0)
    reference, _ = solve_site(site, "highs", None)
    real = structured.lp_solution

    def over_the_halls(block, optimum, solver):
        solution = real(block, optimum, solver)
        solution.col_value = solution.col_value * 1.01 + 1.0
        return solution

    monkeypatch.setattr(structured, "lp_solution", over_the_halls)
    solution, _ = solve_site(site, "auto", None)
    assert solution.method.startswith("HiGHS") and "the cutting planes' plan breaks" in solution.method
    assert solution.objective_usd == pytest.approx(reference.objective_usd, rel=1e-12)
    with pytest.raises(SolverError) as err:
        solve_site(site, "structured", None)
    assert err.value.exit_code == 2 and "numerically troubled" in err.value.render()


def test_structured_refuses_a_site_it_does_not_cover_and_auto_names_why(tmp_path):
    """--solver structured is exit 1 on an uptime-SLA site, naming it and the reason; auto solves it with
    HiGHS to HiGHS's optimum and says so in the manifest and on the console."""
    from click.testing import CliRunner

    from allocator.cli import main
    from conftest import write_site

    base = {"site": {"interconnect_mw": 100.0},
            "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 50.0, "min_uptime_frac": 0.5,
                       "fleet": [{"model": "a", "efficiency_j_per_th": 18.0, "mw": 60.0}]}}
    sla = write_site(tmp_path, list(np.random.default_rng(2).normal(40, 30, 48)), base, site_id="sla")
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = main(["solve", str(sla), "--solver", "structured", "--out", str(tmp_path / "s")])
        text = err.getvalue().decode()
    assert code == 1 and not (tmp_path / "s").exists()
    assert "sla (--solver structured)" in text and "uptime SLA" in text and "--solver auto" in text
    outs = {}
    for solver in ("auto", "highs"):
        with runner.isolation() as (out, err, _):
            assert main(["solve", str(sla), "--solver", solver, "--out", str(tmp_path / solver)]) == 0
            outs[solver] = out.getvalue().decode()
    manifest = json.loads((tmp_path / "auto" / "manifest.json").read_text())
    assert manifest["sites"]["sla"]["method"].startswith("HiGHS") and "uptime SLA" in manifest["sites"]["sla"]["method"]
    assert "solved by HiGHS: sla (the uptime SLA" in outs["auto"]
    highs = json.loads((tmp_path / "highs" / "manifest.json").read_text())
    assert highs["solver"].startswith("HiGHS") and highs["sites"]["sla"]["method"].startswith("HiGHS")
    assert manifest["objective_usd"] == pytest.approx(highs["objective_usd"], rel=1e-12)
