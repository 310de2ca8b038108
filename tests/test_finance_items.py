"""Finance words mean one thing: item names, payback, signed zeros and the units of assumptions.csv.

Every number is computed by hand from the site below (no solver output is trusted): AI capex
recovery and opex are separate items in ``solve`` and keep their names in ``plan``, the payback
counts each year's flow at the start of the year as the NPV does, no CSV holds ``-0.0``, and
every assumption has a unit and says whether ``--scenario`` or ``--set`` gave it.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import typing

import pandas as pd
import pytest

from allocator.plan.site_plan import CASHFLOW_ITEMS, payback_years
from allocator.inputs.assumptions import unit_of
from allocator.lp.results import FINANCIAL_ITEMS
from allocator.inputs.schema import SiteFile, _inner_model
from conftest import REPO, write_site
from test_cli import invoke
from test_plan import plan_doc

# 10 MW of halls; per IT MW-year the lease pays 100 * 12000 = 1.2M, the fit-out is 1M recovered over
# 10 years at 0% (crf = 0.1: 100k a year) and opex is 50k; mining at 20 J/TH earns 100 USD/MWh
# against 20 USD/MWh of power (0.7008M a year): AI takes the whole 10 MW
SOLVE_DOC = {
    "site": {"interconnect_mw": 10.0, "facility_mw": 10.0},
    "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "opex_usd_per_mw_year": 1000.0,
               "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 10.0}]},
    "ai": {"pue": 1.0, "convertible_mw": 10.0, "fitout_capex_usd_per_mw": 1.0e6, "capex_life_years": 10,
           "discount_rate_frac": 0.0, "opex_usd_per_mw_year": 5.0e4,
           "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]},
}
HOURS = 48
YEARS = HOURS / 8760


def test_solve_financials_split_capex_recovery_from_opex(tmp_path):
    site = write_site(tmp_path, [20.0] * HOURS, SOLVE_DOC)
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(site), "--out", str(out)])
    assert code == 0, err
    fin = pd.read_csv(out / "financials.csv")
    assert fin["item"].tolist() == ["ai_lease_revenue", "ai_capex_recovery", "ai_opex", "ai_power_cost",
                                    "mining_revenue", "mining_power_cost", "mining_fixed_cost", "net"]
    usd = fin.set_index("item")["usd"]
    assert usd["ai_lease_revenue"] == pytest.approx(10 * 100.0 * 12000 * YEARS, rel=1e-9)
    assert usd["ai_capex_recovery"] == pytest.approx(-10 * 1.0e6 * 0.1 * YEARS, rel=1e-9)
    assert usd["ai_opex"] == pytest.approx(-10 * 5.0e4 * YEARS, rel=1e-9)
    assert usd["mining_revenue"] == 0.0 and usd["mining_fixed_cost"] == 0.0
    assert usd.drop("net").sum() == pytest.approx(usd["net"], rel=1e-12)
    assert usd["net"] == pytest.approx(10 * (1.2e6 - 1.0e5 - 5.0e4) * YEARS, rel=1e-9)


def test_plan_cashflows_use_the_solve_names(tmp_path):
    doc = plan_doc()
    doc["ai"]["opex_usd_per_mw_year"] = 1.0e5
    site = write_site(tmp_path, [20.0] * 24, doc)
    out = tmp_path / "plan"
    code, _, err = invoke(["plan", str(site), "--out", str(out)])
    assert code == 0, err
    flows = pd.read_csv(out / "cashflows.csv")
    assert "ai_fixed_cost" not in set(flows["item"])
    wide = flows.pivot(index="year", columns="item", values="usd")
    online = pd.read_csv(out / "plan.csv").set_index("year")["ai_it_mw"]
    assert online.tolist() == pytest.approx([10.0, 10.0])
    wide = wide.loc[online.index]  # the plan's years (the horizon's end, year end_year + 1, holds only after-tax lines)
    # opex only (yearly, per MW online); the fit-out is cash in the year it is paid
    assert wide["ai_opex"].tolist() == pytest.approx((-1.0e5 * online).tolist())
    assert wide["ai_capex"].tolist() == pytest.approx([-6.0e6, 0.0])
    # a name shared with financials.csv means the same thing; the plan adds only the cash capex
    assert set(CASHFLOW_ITEMS) - set(FINANCIAL_ITEMS) == {"ai_capex", "mining_capex"}
    assert set(FINANCIAL_ITEMS) - set(CASHFLOW_ITEMS) == {"ai_capex_recovery"}


def test_payback_uses_the_npv_timing_hand_computed(tmp_path):
    # no ASICs (business as usual earns 0) and no discounting: a 5.5M/MW fit-out of the 10 MW in 2026 then
    # 1.2M/MW a year of lease: 10 * (-5.5 + 5 * 1.2) = +5M over 2026-2030, converting a year later -7M, so
    # the plan converts in 2026. Incremental flows, each at the start of its year: -43M, then +12M a year.
    # Cumulative: -43, -31, -19, -7, +5 -> back to >= 0 with the 2030 flow, on 2030-01-01: 4 years.
    doc = plan_doc(start_year=2026, end_year=2030, discount_rate_frac=0.0)
    doc["ai"]["fitout_capex_usd_per_mw"] = 5.5e6
    doc["mining"]["fleet"] = []
    site = write_site(tmp_path, [20.0] * 24, doc)
    out = tmp_path / "plan"
    code, stdout, err = invoke(["plan", str(site), "--out", str(out)])
    assert code == 0, err
    assert pd.read_csv(out / "plan.csv")["ai_converted_mw"].tolist() == pytest.approx([10.0, 0, 0, 0, 0], abs=1e-6)
    summary = pd.read_csv(out / "plan_summary.csv").iloc[0]
    assert summary["conversion_npv_usd"] == pytest.approx(-43e6 + 4 * 12e6, rel=1e-6)
    assert summary["payback_years"] == 4.0
    assert re.search(r"\s4 y\n", stdout)
    assert "each year's cash flow at the start of that year" in stdout


def test_payback_is_empty_when_the_plan_does_not_convert(tmp_path):
    doc = plan_doc()
    doc["ai"]["lease"][0]["rate_usd_per_kw_month"] = 1.0  # 12k a year per MW: never worth a 0.6M fit-out
    site = write_site(tmp_path, [20.0] * 24, doc)
    out = tmp_path / "plan"
    code, stdout, err = invoke(["plan", str(site), "--out", str(out)])
    assert code == 0, err
    assert pd.read_csv(out / "plan.csv")["ai_converted_mw"].sum() == 0.0
    with open(out / "plan_summary.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["payback_years"] == "" and row["conversion_irr_frac"] == ""
    table_row = next(line for line in stdout.splitlines() if line.startswith("tiny"))
    assert "0.0 y" not in table_row and table_row.split()[-1] == "-"


def test_payback_definition_cases():
    assert payback_years([0.0, 0.0, 0.0]) != payback_years([0.0, 0.0, 0.0])  # NaN: nothing to pay back
    assert payback_years([5.0, -1.0, 3.0]) == 0.0  # never below zero
    assert payback_years([-10.0, 4.0, 4.0, 4.0]) == 3.0  # -10, -6, -2, +2
    assert payback_years([-10.0, 10.0]) == 1.0  # exactly back to zero counts
    assert payback_years([-10.0, 20.0, -30.0, 25.0]) == 3.0  # below zero again in year 2: the last crossing


# ------------------------------------------------------------------ no -0.0 in any CSV

NEGATIVE_ZERO = re.compile(r"^-0*(\.0*)?([eE][-+]?\d+)?$")


def _negative_zeros(folder) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            for row in reader:
                found += [f"{path.name}:{header[i]}" for i, cell in enumerate(row) if NEGATIVE_ZERO.match(cell)]
    return sorted(set(found))


def test_no_negative_zero_in_any_csv_of_solve_plan_and_sweep(tmp_path):
    # AI not worth its fit-out (a = 0) while its power is not passed through, mining priced out in
    # every third hour: on main this wrote ai_fixed_cost and ai_power_cost as -0.0 (-0.0 * cost)
    doc = {
        "site": {"interconnect_mw": 10.0},
        "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "opex_usd_per_mw_year": 1000.0,
                   "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 10.0}]},
        "ai": {"pue": 1.0, "fitout_capex_usd_per_mw": 9.0e6, "opex_usd_per_mw_year": 1.0e5,
               "power_pass_through": False, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 10.0}]},
    }
    site = write_site(tmp_path, [500.0 if h % 3 == 0 else 20.0 for h in range(48)], doc)
    code, _, err = invoke(["solve", str(site), "--out", str(tmp_path / "solve")])
    assert code == 0, err
    assert _negative_zeros(tmp_path / "solve") == []
    fin = pd.read_csv(tmp_path / "solve" / "financials.csv").set_index("item")["usd"]
    assert fin["ai_capex_recovery"] == 0.0 and fin["ai_power_cost"] == 0.0  # zeros, written without a sign

    plan_doc_ = plan_doc()
    plan_doc_["ai"]["lease"][0]["rate_usd_per_kw_month"] = 1.0
    plan_doc_["ai"]["power_pass_through"] = False
    plan_site = write_site(tmp_path / "p", [20.0] * 24, plan_doc_)
    code, _, err = invoke(["plan", str(plan_site), "--out", str(tmp_path / "plan")])
    assert code == 0, err
    assert _negative_zeros(tmp_path / "plan") == []

    code, _, err = invoke(["sweep", str(site), "--vary", "ai.lease[0].rate_usd_per_kw_month=0:20:3",
                           "--out", str(tmp_path / "sweep"), "--workers", "1"])
    assert code == 0, err
    assert _negative_zeros(tmp_path / "sweep") == []


def test_csv_writer_drops_the_sign_of_zero_only(tmp_path):
    from allocator.csv_files import write_csv

    frame = pd.DataFrame({"x_usd": [-0.0, 0.0, -1.5, float("nan")], "note": ["=1", "ok", -0.0, "-0.0"]})
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[1:] == ["0.0,'=1", "0.0,ok", "-1.5,0.0", ",'-0.0"]


# ------------------------------------------------------------------ assumptions.csv


def _schema_paths(model=SiteFile, prefix=""):
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, info.annotation
        inner = _inner_model(info.annotation)
        if inner is not None:
            yield from _schema_paths(inner, path)


def test_every_schema_field_has_a_unit():
    missing = [path for path, annotation in _schema_paths() if not unit_of(path, annotation)]
    assert missing == []
    assert unit_of("mining.fleet[0].mw", float) == "MW"
    assert unit_of("plan.asic_offer[0].usd_per_th", float) == "USD per TH/s"
    assert unit_of("ai.power_pass_through", bool) == "true/false"
    assert unit_of("ai.lease[0].tenant", str) == "text"
    assert unit_of("prices.fill", typing.Optional[typing.Literal["ffill", "interpolate"]]) \
        == "one of ffill, interpolate"


def test_assumptions_units_and_override_sources(tmp_path):
    site = write_site(tmp_path, [20.0] * HOURS, SOLVE_DOC)
    scenario = tmp_path / "bear.toml"
    scenario.write_text('description = "bear"\n"ai.lease[0].rate_usd_per_kw_month" = 90.0\n'
                        '[mining]\nhashprice_usd_per_ph_day = 30.0\npool_fee_frac = 0.01\n')
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--scenario", str(scenario),
                           "--set", "mining.pool_fee_frac=0.03", "--set", "ai.lease[1]={tenant = \"U\", "
                           "rate_usd_per_kw_month = 80.0}"])
    assert code == 0, err
    table = pd.read_csv(out / "assumptions.csv", keep_default_na=False, dtype=str).set_index("field")
    assert (table["unit"] != "").all(), table[table["unit"] == ""].index.tolist()
    assert tuple(table.loc["mining.fleet[0].mw", ["value", "unit", "source"]]) == ("10.0", "MW", "file")
    assert tuple(table.loc["mining.hashprice_usd_per_ph_day", ["value", "source"]]) == ("30.0", "scenario")
    assert tuple(table.loc["ai.lease[0].rate_usd_per_kw_month", ["value", "source"]]) == ("90.0", "scenario")
    # --set wins over the scenario, and says so
    assert tuple(table.loc["mining.pool_fee_frac", ["value", "source"]]) == ("0.03", "set")
    # a whole table set: each of its fields; its defaults stay defaults
    assert table.loc[["ai.lease[1].tenant", "ai.lease[1].rate_usd_per_kw_month"], "source"].tolist() == ["set"] * 2
    assert table.loc["ai.lease[1].max_mw", "source"] == "default"
    assert table.loc["site.interconnect_mw", "source"] == "file"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_says_how_to_run_the_cli():
    # the demo's own commands, without running them: what it prints after the solve
    recipe = subprocess.run(["make", "-n", "-s", "demo"], cwd=REPO, capture_output=True, text=True, check=True)
    echo = [line for line in recipe.stdout.splitlines() if line.startswith("echo")]
    printed = subprocess.run(["sh", "-c", "; ".join(echo)], capture_output=True, text=True, check=True).stdout
    assert ". .venv/bin/activate" in printed and ".venv/bin/allocator" in printed
