"""Demand response in the structured solver (allocator/lp/structured_dr.py) against HiGHS on the same LP.

Random sites of tests/test_structured.py (fleets, leases, caps, utilization,
pass-through, TOU adders, contracts, 4CP) with 1-3 random programs each:
hourly (flat or hourly prices) or annual (USD/MW-year), exclusive or
stacking, with or without ``max_mw``, in random windows, some with
deployments. The structured optimum must be feasible in the site LP, equal
HiGHS's objective to 1e-9 relative, carry an optimal dual of the LP (so
shadow prices and the LP-dual column are exact), give HiGHS's split to 1e-6 MW
where it is unique, and give the same one-sided marginal values.
Hand-solved sites check the numbers on paper: mining run at a loss to hold
an offer, stacking programs, an annual program shed in its deployment hour.
"""

from __future__ import annotations

import numpy as np
import pytest

from allocator.lp import model, structured
from allocator.lp.solve import solve_model
from allocator.power.market import PowerMarket, Program
from test_structured import (ONE_FLEET, check_against_highs, random_site, same_items_and_one_sided_values,
                             small_site, solved_both_ways)

N_DR_CASES = 300


def add_programs(rng: np.random.Generator, site) -> None:
    """1-3 random demand-response programs on ``site`` (a power market is added when it has none)."""
    hours = site.hours
    if site.power is None:
        site.power = PowerMarket(hub_price_usd_per_mwh=site.price_usd_per_mwh.copy(),
                                 tou_adder_usd_per_mwh=np.zeros(hours))
    for i in range(int(rng.integers(1, 4))):
        start = int(rng.integers(0, hours))
        end = int(rng.integers(start + 1, hours + 1))
        active = (np.arange(hours) >= start) & (np.arange(hours) < end)
        annual = bool(rng.random() < 0.3)
        if annual:
            price = np.full(hours, float(rng.uniform(5_000, 200_000)) / 8760.0)
        elif rng.random() < 0.5:
            price = np.full(hours, float(rng.uniform(0, 30)))
        else:
            price = rng.uniform(0, 40, hours)
        deployed = np.zeros(hours, bool)
        if rng.random() < 0.4:
            first = int(rng.integers(start, end))
            deployed[first:min(end, first + int(rng.integers(1, 5)))] = True
        max_mw = float(rng.uniform(1, 200)) if rng.random() < 0.6 else np.inf
        site.power.programs.append(Program(f"p{i}", annual, np.where(active, price, 0.0), active, deployed, max_mw,
                                           bool(rng.random() < 0.4)))


def dr_site(rng: np.random.Generator, k: int, hours: int | None = None):
    """A random site with a fleet and demand response (half of them with the other power terms too)."""
    while True:
        site = random_site(rng, k, power=bool(rng.random() < 0.5), hours=hours)
        if site.config.mining.fleet:
            add_programs(rng, site)
            return site


def test_structured_equals_highs_with_demand_response_on_random_sites():
    rng = np.random.default_rng(1717_17)
    split_differs = 0
    seen = {"annual held": 0, "deployment hours": 0, "stacking": 0, "feasibility cuts": 0, "run at a loss": 0}
    for k in range(N_DR_CASES):
        site = dr_site(rng, k)
        assert structured.not_covered(site) is None
        split_differs += check_against_highs(site, f"dr case {k} ({site.hours} h)")
        optimum = structured.solve_structured(site)
        programs = site.power.programs
        seen["annual held"] += bool((optimum.demand_response["annual_mw"] > 1e-6).any())
        seen["deployment hours"] += any(p.deployed.any() for p in programs)
        seen["stacking"] += any(p.stacking for p in programs)
        seen["feasibility cuts"] += any(cut.kind == "dr_feasibility" for cut in optimum.cuts.rows)
        seen["run at a loss"] += bool(((optimum.run_mw > 1e-6) & (optimum.margin_usd_per_mwh < -1e-6)).any())
    assert split_differs <= N_DR_CASES // 20, f"{split_differs} of {N_DR_CASES} splits differ"
    # the generator reaches every case the solver distinguishes
    assert min(seen.values()) >= 10, seen


def test_the_uptime_sla_with_demand_response_is_refused_not_solved_without_it():
    from allocator.errors import SolverError

    site = dr_site(np.random.default_rng(5), 0)
    site.config.mining.min_uptime_frac = 0.3
    assert "the uptime SLA with demand response" in structured.not_covered(site)
    with pytest.raises(SolverError, match="uptime SLA with demand response"):
        structured.solve_structured(site)


def test_one_sided_marginal_values_and_reasons_equal_highs_with_demand_response():
    from allocator.lp.results import reason, solve_site

    rng = np.random.default_rng(4343)
    compared = 0
    for k in range(30):
        site = dr_site(rng, k)
        ours, _ = solve_site(site, "structured", None)
        theirs, _ = solve_site(site, "highs", None)
        assert ours.method.startswith("structured"), ours.method
        compared += same_items_and_one_sided_values(ours, theirs, k)
        if np.allclose(ours.lease_mw, theirs.lease_mw, atol=1e-6) and np.allclose(ours.fleet_mw, theirs.fleet_mw,
                                                                                    atol=1e-6):
            assert reason(ours) == reason(theirs), k
    assert compared > 200


def test_full_size_site_with_demand_response():
    rng = np.random.default_rng(8761)
    for k in range(2):
        check_against_highs(dr_site(rng, k, hours=8760), f"full-size dr case {k}")


def _market(hub: list[float], *programs: Program) -> PowerMarket:
    market = PowerMarket(hub_price_usd_per_mwh=np.asarray(hub, float), tou_adder_usd_per_mwh=np.zeros(len(hub)))
    market.programs.extend(programs)
    return market


def _hourly(name: str, rate: float, hours: int, max_mw: float = np.inf, stacking: bool = False) -> Program:
    return Program(name, False, np.full(hours, rate), np.ones(hours, bool), np.zeros(hours, bool), max_mw, stacking)


def test_hand_solved_mining_run_at_a_loss_to_hold_an_offer():
    """Revenue 100 USD per IT MWh, PUE 1, cap 150 MW, 100 MW of fleet; ECRS pays 5 USD/MW-hour up to 60 MW.

    Hour 0 (price 50): run 100 MW (margin 50), offer 60. Hour 1 (price 103, margin -3): running a MW
    loses 3 but backs an offer worth 5, so run exactly the 60 MW offered: 5,000 + 300 + 60 x 2 = 5,420.
    The offer row of hour 1 prices a MW of running at 3 (the loss it covers); the offer column sits at
    max_mw with reduced cost 5 - 3 = 2.
    """
    market = _market([50.0, 103.0], _hourly("ecrs", 5.0, 2, max_mw=60.0))
    site = small_site(ONE_FLEET, [50.0, 103.0], cap=[150.0, 150.0], market=market)
    optimum, ours, reference, block = solved_both_ways(site)
    assert optimum.objective_usd == pytest.approx(5420.0, abs=1e-9)
    assert optimum.fleet_mw == pytest.approx([100.0])
    assert optimum.run_mw[0] == pytest.approx([100.0, 60.0])
    offer = block.cols["dr_offer:ecrs"]
    assert ours.col_value[offer] == pytest.approx([60.0, 60.0])
    assert ours.row_dual[block.rows["dr_offer__0"]] == pytest.approx([0.0, 3.0])
    assert ours.col_dual[offer] == pytest.approx([5.0, 2.0])
    assert reference.objective_usd == pytest.approx(5420.0, abs=1e-9)


def test_hand_solved_stacking_programs():
    """One hour, 100 MW running (margin 50): exclusive 8 USD/MW-hour up to 50 MW; stacking 5 up to 30 and
    4 up to 100. The first 30 MW of stacking depth earn 9, exclusive MW 8, deeper stacking MW 4: 50 MW
    exclusive and 50 of depth, 400 + 150 + 200 = 750 on top of the mining's 5,000."""
    market = _market([50.0], _hourly("excl", 8.0, 1, 50.0), _hourly("a", 5.0, 1, 30.0, True),
                     _hourly("b", 4.0, 1, 100.0, True))
    site = small_site(ONE_FLEET, [50.0], cap=[150.0], market=market)
    optimum, ours, _, block = solved_both_ways(site)
    assert optimum.objective_usd == pytest.approx(5750.0, abs=1e-9)
    offered = [float(ours.col_value[block.cols[f"dr_offer:{name}"]][0]) for name in ("excl", "a", "b")]
    assert offered == pytest.approx([50.0, 30.0, 50.0])


def test_hand_solved_annual_program_shed_in_its_deployment_hour():
    """ERS pays 87,600 USD/MW-year (10 per MW-hour) for MW held through both hours, at most 80 MW, and
    deploys in hour 1. Hour 0 (margin 50) runs all 100 MW, backing the offer; hour 1 (price 95, margin 5)
    sheds the 80 MW held and runs 20: 5,000 + 100 + 80 x 20 = 6,700. A MW held earns 20 and costs hour
    1's margin of 5: the column sits at max_mw with reduced cost 15."""
    ers = Program("ers", True, np.full(2, 10.0), np.ones(2, bool), np.array([False, True]), 80.0, False)
    market = _market([50.0, 95.0], ers)
    site = small_site(ONE_FLEET, [50.0, 95.0], cap=[150.0, 150.0], market=market)
    optimum, ours, reference, block = solved_both_ways(site)
    assert optimum.objective_usd == pytest.approx(6700.0, abs=1e-9)
    assert optimum.run_mw[0] == pytest.approx([100.0, 20.0])
    assert ours.col_value[block.cols["dr_offer:ers"]] == pytest.approx([80.0])
    assert ours.col_value[block.cols["dr_shed"]] == pytest.approx([80.0])
    assert ours.col_dual[block.cols["dr_offer:ers"]] == pytest.approx([15.0])
    assert reference.objective_usd == pytest.approx(6700.0, abs=1e-9)


def test_an_annual_offer_the_kept_fleet_cannot_back_is_cut_off():
    """ERS at 30 per MW-hour without max_mw, over a cap that drops to 40 MW in hour 1: the MW held must run
    or be shed in every hour, so at most 40 MW are held (the cap binds, found by a feasibility cut); hour 0
    runs 100 MW (margin 50), hour 1 runs 40 (margin 50): 7,000 + 40 x 60 = 9,400."""
    ers = Program("ers", True, np.full(2, 30.0), np.ones(2, bool), np.zeros(2, bool), np.inf, False)
    site = small_site(ONE_FLEET, [50.0, 50.0], cap=[150.0, 40.0], market=_market([50.0, 50.0], ers))
    optimum, ours, _, block = solved_both_ways(site)
    assert optimum.objective_usd == pytest.approx(9400.0, abs=1e-9)
    assert ours.col_value[block.cols["dr_offer:ers"]] == pytest.approx([40.0])
    lp = model.build([site])
    assert solve_model(lp).objective_usd == pytest.approx(9400.0, abs=1e-9)


def test_cli_solves_every_kind_of_program_structured_with_highs_outputs(tmp_path):
    """``allocator solve`` with auto and with highs on a site with an hourly stacking program deployed, an
    annual program deployed and a second stacking program: auto says structured in the manifest and on the console,
    and the split, net, one-sided values and demand-response table agree with HiGHS's."""
    import json

    import pandas as pd

    from allocator.cli import main
    from conftest import write_site

    doc = {"site": {"interconnect_mw": 100.0},
           "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 50.0,
                      "fleet": [{"model": "a", "efficiency_j_per_th": 18.0, "mw": 60.0},
                                {"model": "b", "efficiency_j_per_th": 30.0, "mw": 60.0}]},
           "ai": {"pue": 1.2, "convertible_mw": 60.0, "fitout_capex_usd_per_mw": 9e6,
                  "lease": [{"tenant": "x", "rate_usd_per_kw_month": 150.0}]},
           "demand_response": [
               {"name": "ecrs", "capacity_usd_per_mw_hour": 6.0, "max_mw": 40.0, "stacking": True,
                "deployment": [{"start": "2024-01-01T17:00", "end": "2024-01-01T19:00"}]},
               {"name": "ers", "capacity_usd_per_mw_year": 90_000.0,
                "deployment": [{"start": "2024-01-02T18:00", "end": "2024-01-02T20:00"}]},
               {"name": "spin", "capacity_usd_per_mw_hour": 2.5, "max_mw": 25.0, "stacking": True}]}
    prices = list(np.random.default_rng(7).normal(45, 35, 72))
    path = write_site(tmp_path, prices, doc, site_id="dr")
    outs, consoles = {}, {}
    for solver in ("auto", "highs"):
        from click.testing import CliRunner

        with CliRunner().isolation() as (out, _, _):
            assert main(["solve", str(path), "--solver", solver, "--out", str(tmp_path / solver)]) == 0
            consoles[solver] = out.getvalue().decode()
        outs[solver] = tmp_path / solver
    manifest = json.loads((outs["auto"] / "manifest.json").read_text())
    assert manifest["sites"]["dr"]["method"].startswith("structured")
    assert "solved by structured: dr" in consoles["auto"]
    highs = json.loads((outs["highs"] / "manifest.json").read_text())
    assert manifest["objective_usd"] == pytest.approx(highs["objective_usd"], rel=1e-9)
    for name, columns in (("split", None), ("marginal_values", ["value_usd_per_mw_year", "loss_usd_per_mw_year"]),
                          ("demand_response", None)):
        ours, theirs = pd.read_csv(outs["auto"] / f"{name}.csv"), pd.read_csv(outs["highs"] / f"{name}.csv")
        assert list(ours.columns) == list(theirs.columns), name
        numeric = columns or list(ours.select_dtypes("number").columns)
        np.testing.assert_allclose(ours[numeric].to_numpy(float), theirs[numeric].to_numpy(float),
                                   rtol=1e-6, atol=1e-3, err_msg=name)
