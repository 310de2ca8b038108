"""The solve's first year after tax (after_tax.csv, the console, the summary block), worked by hand from the
run's own pre-tax tables: fit-out cost, the year's tax depreciation, property tax and income tax."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import REPO
from test_cli import invoke

SITE = str(REPO / "sites" / "west_texas.toml")
FITOUT_USD_PER_MW = 9.0e6  # sites/west_texas.toml ai.fitout_capex_usd_per_mw
LIFE_YEARS = 15            # ai.capex_life_years


def solve(tmp_path, *sets: str) -> tuple[pd.Series, pd.DataFrame, str]:
    out = tmp_path / "run"
    args = ["solve", SITE, "--out", str(out), "--report", "xlsx"]
    for s in sets:
        args += ["--set", s]
    code, stdout, err = invoke(args)
    assert code == 0, err
    items = pd.read_csv(out / "financials.csv").set_index("item")["usd"]
    split = pd.read_csv(out / "split.csv").iloc[0]
    scale = 8760.0 / split["hours"]
    return items * scale, split, stdout


def test_profit_year_straight_line(tmp_path):
    per_year, split, stdout = solve(tmp_path, "plan.income_tax_rate_frac=0.21", "plan.property_tax_frac=0.01")
    cost = split["ai_it_mw"] * FITOUT_USD_PER_MW
    operating = per_year["net"] - per_year["ai_capex_recovery"]  # the recovery is not cash: add it back
    dep = cost / LIFE_YEARS
    ptax = 0.01 * cost
    taxable = operating - dep - ptax
    assert taxable > 0
    tax = 0.21 * taxable
    row = pd.read_csv(tmp_path / "run" / "after_tax.csv").iloc[0]
    assert row["fitout_capex_usd"] == pytest.approx(125.0 * 9.0e6)
    assert row["tax_depreciation_usd_per_year"] == pytest.approx(-dep)
    assert row["property_tax_usd_per_year"] == pytest.approx(-ptax)
    assert row["taxable_income_usd_per_year"] == pytest.approx(taxable)
    assert row["income_tax_usd_per_year"] == pytest.approx(-tax)
    assert row["after_tax_net_usd_per_year"] == pytest.approx(per_year["net"] - ptax - tax)
    assert f"{per_year['net'] - ptax - tax:,.0f} after tax" in stdout
    book = load_workbook(tmp_path / "run" / "report.xlsx")
    first = {r[0]: r[1] for r in book["summary"].iter_rows(values_only=True)}
    assert first["net per year after tax, first year (USD)"] == pytest.approx(per_year["net"] - ptax - tax)
    assert book.sheetnames[:4] == ["summary", "split", "financials", "after_tax"]


@pytest.mark.parametrize("losses", ["carry_forward", "offset"])
def test_bonus_macrs_loss_year(tmp_path, losses):
    per_year, split, _ = solve(tmp_path, "plan.income_tax_rate_frac=0.21", "plan.fitout_depreciation=macrs_15",
                               "plan.bonus_depreciation_frac=0.4", f"plan.tax_losses={losses}")
    cost = split["ai_it_mw"] * FITOUT_USD_PER_MW
    dep = cost * (0.4 + 0.6 * 0.05)  # 40% bonus, then 5% of the rest (IRS table A-1, 15-year, year 1)
    taxable = per_year["net"] - per_year["ai_capex_recovery"] - dep
    assert taxable < 0  # the bonus makes year 1 a tax loss
    tax = 0.0 if losses == "carry_forward" else -0.21 * taxable  # kept for later, or a benefit now
    row = pd.read_csv(tmp_path / "run" / "after_tax.csv").iloc[0]
    assert row["tax_depreciation_usd_per_year"] == pytest.approx(-dep)
    assert row["property_tax_usd_per_year"] == 0.0
    assert row["income_tax_usd_per_year"] == pytest.approx(tax)
    assert row["after_tax_net_usd_per_year"] == pytest.approx(per_year["net"] + tax)


def test_no_tax_fields_no_file(tmp_path):
    _, _, stdout = solve(tmp_path)
    assert not (tmp_path / "run" / "after_tax.csv").exists()
    assert "after tax" not in stdout
