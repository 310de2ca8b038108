"""After-tax plan economics against spreadsheet-style cases computed here year by year with plain arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from allocator.plan.after_tax import (Capex, TaxTerms, after_tax_lines, depreciation_schedule, irr_frac, npv_usd,
                                      perpetuity_usd)
from allocator.plan.site_plan import CASHFLOW_ITEMS, irr, solve_plan
from conftest import write_site
from test_cli import invoke
from test_plan import plan_doc

PRETAX_COLUMNS = ["npv_usd", "bau_npv_usd", "conversion_npv_usd", "conversion_irr_frac", "payback_years"]


def pv(flows, rate):
    return sum(f / (1 + rate) ** t for t, f in enumerate(flows))


def level_payment(loan, rate, years):
    return loan * rate / (1 - (1 + rate) ** -years)


def test_depreciation_schedules():
    # IRS Pub. 946 table A-1 sums to 100%; straight-line over 2.5 years ends with the half year left
    for cls in ("macrs_5", "macrs_7", "macrs_15"):
        assert depreciation_schedule(cls, 0, 0.0).sum() == pytest.approx(1.0, abs=1e-4)
    assert depreciation_schedule("macrs_5", 0, 0.5).tolist() == pytest.approx(
        [0.5 + 0.5 * 0.20, 0.5 * 0.32, 0.5 * 0.192, 0.5 * 0.1152, 0.5 * 0.1152, 0.5 * 0.0576])
    assert depreciation_schedule("straight_line", 2.5, 0.0).tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert len(depreciation_schedule("macrs_15", 0, 0.0)) == 16


def loss_year_case(losses):
    """3 years, 1000 of capex at t=0 (MACRS 5-year, 50% bonus), 21% tax, 1% property tax on a 10-year
    straight-line book, 60% debt at 10% over 5 years, terminal value 400; year 0 is a tax loss."""
    ebitda = [300.0, 500.0, 600.0]
    terms = TaxTerms(0.21, losses, 0.01, 0.6, 0.10, 5)
    lines = after_tax_lines(np.array([ebitda[0] - 1000.0, ebitda[1], ebitda[2]]),
                            [Capex(0, 1000.0, depreciation_schedule("macrs_5", 0, 0.5), 10.0)], 400.0, terms)
    # the spreadsheet, row by row
    dep = [600.0, 160.0, 96.0, 144.0]        # 500 bonus + 20% of 500; 32%, 19.2% of 500; the rest written off at t=3
    ptax = [10.0, 9.0, 8.0]                  # 1% of 1000, 900, 800
    pay = level_payment(600.0, 0.10, 5)
    bal1 = 600.0 * 1.1 - pay
    bal2 = bal1 * 1.1 - pay
    interest = [0.0, 60.0, bal1 * 0.1, bal2 * 0.1]
    taxable = [300 - 10 - 600, 500 - 9 - 160 - 60, 600 - 8 - 96 - interest[2], 400 - 144 - interest[3]]
    return lines, dep, ptax, pay, bal2 * 1.1, interest, taxable


def test_hand_computed_case_with_a_loss_carried_forward():
    lines, dep, ptax, pay, payoff, interest, taxable = loss_year_case("carry_forward")
    assert taxable[0] == pytest.approx(-310.0)  # the loss year
    assert lines["taxable_income"].tolist() == pytest.approx(taxable)
    assert lines["depreciation"].tolist() == pytest.approx([-d for d in dep])
    assert lines["property_tax"].tolist() == pytest.approx([-10.0, -9.0, -8.0, 0.0])
    assert lines["interest"].tolist() == pytest.approx([-i for i in interest])
    # 310 of loss: all of year 1's 271 is sheltered, 39 is left for year 2
    tax = [0.0, 0.0, 0.21 * (taxable[2] - 39.0), 0.21 * taxable[3]]
    assert lines["income_tax"].tolist() == pytest.approx([-t for t in tax])
    assert lines["debt_draw"].tolist() == pytest.approx([600.0, 0, 0, 0])
    assert lines["debt_service"].tolist() == pytest.approx([0.0, -pay, -pay, -payoff])
    equity = [300 - 1000 - 10 + 600, 500 - 9 - pay, 600 - 8 - tax[2] - pay, 400 - tax[3] - payoff]
    assert lines["equity_cash_flow"].tolist() == pytest.approx(equity)
    assert npv_usd(lines["equity_cash_flow"], 0.08) == pytest.approx(pv(equity, 0.08))
    r = irr_frac(lines["equity_cash_flow"])
    assert pv(equity, r) == pytest.approx(0.0, abs=1e-6)


def test_hand_computed_case_with_losses_offset_against_other_income():
    lines, dep, ptax, pay, payoff, interest, taxable = loss_year_case("offset")
    tax = [0.21 * x for x in taxable]  # the loss year's tax is a benefit of 65.1
    assert lines["income_tax"].tolist() == pytest.approx([-t for t in tax])
    assert lines["income_tax"][0] == pytest.approx(65.1)
    assert lines["equity_cash_flow"][0] == pytest.approx(300 - 1000 - 10 + 600 + 65.1)


def test_irr_sign_conventions():
    # -100 then +60, +60: 60 x^2 + 60 x - 100 = 0 with x = 1 / (1 + r)
    x = (-60 + math.sqrt(60 ** 2 + 4 * 60 * 100)) / (2 * 60)
    assert irr_frac(np.array([-100.0, 60.0, 60.0])) == pytest.approx(1 / x - 1, rel=1e-9)
    assert irr(np.array([-100.0, 60.0, 60.0])) == pytest.approx(1 / x - 1, rel=1e-6)  # the pre-tax IRR: the same function
    # a loan's flows (money in first) have the same rate: the IRR is read beside the NPV's sign
    assert irr_frac(np.array([100.0, -60.0, -60.0])) == pytest.approx(1 / x - 1, rel=1e-9)
    assert math.isnan(irr_frac(np.array([100.0, 10.0])))
    assert math.isnan(irr_frac(np.array([-100.0, -10.0])))


def test_perpetuity_is_the_sum_of_its_years():
    n, g, r = 1000.0, 0.02, 0.09
    explicit = sum(n * (1 + g) ** k / (1 + r) ** (k - 1) for k in range(1, 3000))
    assert perpetuity_usd(n, g, r) == pytest.approx(explicit, rel=1e-9)
    assert perpetuity_usd(-n, g, r) == 0.0  # a losing site can stop


def three_year_doc(**after_tax):
    doc = plan_doc(end_year=2028, lease=[{"tenant": "T", "start_year": 2026, "term_years": 5}], **after_tax)
    return doc


def test_three_year_plan_after_tax_by_hand(tmp_path):
    # converting all 10 MW in 2026 is optimal (test_plan): 6M of fit-out, 12M of lease a year; business
    # as usual mines 10 MW at 80 USD/MWh margin: 7.008M a year
    doc = three_year_doc(income_tax_rate_frac=0.21, fitout_depreciation="macrs_5", bonus_depreciation_frac=0.5,
                         property_tax_frac=0.01, debt_loan_to_cost_frac=0.5, debt_rate_frac=0.07, debt_term_years=5,
                         terminal_value="lease")
    result = solve_plan([write_site(tmp_path, [20.0] * 24, doc)])
    assert result.plan["ai_converted_mw"].tolist() == pytest.approx([10.0, 0.0, 0.0])
    dep = [6e6 * 0.6, 6e6 * 0.16, 6e6 * 0.096, 6e6 * 0.144]
    ptax = [0.01 * 6e6, 0.01 * 6e6 * 14 / 15, 0.01 * 6e6 * 13 / 15]  # book: 15-year straight line
    pay = level_payment(3e6, 0.07, 5)
    bal1 = 3e6 * 1.07 - pay
    bal2 = bal1 * 1.07 - pay
    interest = [0.0, 3e6 * 0.07, bal1 * 0.07, bal2 * 0.07]
    terminal = 12e6 + 12e6 / 1.1  # the lease runs 2029 and 2030: 10 MW x 1.2M, counted at each year's start
    taxable = [12e6 - ptax[0] - dep[0], 12e6 - ptax[1] - dep[1] - interest[1], 12e6 - ptax[2] - dep[2] - interest[2],
               terminal - dep[3] - interest[3]]
    tax = [0.21 * x for x in taxable]
    equity = [12e6 - 6e6 - ptax[0] - tax[0] + 3e6, 12e6 - ptax[1] - tax[1] - pay, 12e6 - ptax[2] - tax[2] - pay,
              terminal - tax[3] - bal2 * 1.07]
    bau = [0.79 * 7.008e6] * 3 + [0.0]
    row = result.summary.iloc[0]
    assert row.terminal_value_usd == pytest.approx(terminal)
    assert row.bau_terminal_value_usd == 0.0
    assert row.npv_with_terminal_usd == pytest.approx(row.npv_usd + terminal / 1.1 ** 3)
    assert row.after_tax_npv_usd == pytest.approx(pv(equity, 0.1), rel=1e-9)
    assert row.bau_after_tax_npv_usd == pytest.approx(pv(bau, 0.1), rel=1e-9)
    assert row.conversion_after_tax_npv_usd == pytest.approx(pv(equity, 0.1) - pv(bau, 0.1), rel=1e-9)
    incremental = [e - b for e, b in zip(equity, bau)]
    # debt pays half the fit-out and the lease out-earns mining at once: no year of the conversion costs the
    # owner money, so there is no rate of return (empty, not a number)
    assert min(incremental) > 0 and math.isnan(row.conversion_after_tax_irr_frac)
    lines = result.cashflows.pivot(index="year", columns="item", values="usd")
    assert lines["equity_cash_flow"].tolist() == pytest.approx(equity)
    assert lines["taxable_income"].tolist() == pytest.approx(taxable)
    assert lines.loc[2029, "debt_service"] == pytest.approx(-bal2 * 1.07)


def test_defaults_leave_the_pretax_figures_unchanged(tmp_path):
    base = solve_plan([write_site(tmp_path / "a", [20.0] * 24, three_year_doc())])
    taxed = solve_plan([write_site(tmp_path / "b", [20.0] * 24, three_year_doc(
        income_tax_rate_frac=0.3, property_tax_frac=0.02, terminal_value="perpetuity", terminal_growth_frac=0.01,
        debt_loan_to_cost_frac=0.7, debt_rate_frac=0.09, asic_depreciation="macrs_7"))])
    row = base.summary.iloc[0]
    # by hand (test_plan): the plan's NPV is 10 x (-0.6 + 1.2 + 1.2/1.1 + 1.2/1.21) M
    assert row.npv_usd == pytest.approx(10e6 * (-0.6 + 1.2 + 1.2 / 1.1 + 1.2 / 1.21), rel=1e-9)
    # defaults: after tax = pre-tax, no terminal value
    assert row.after_tax_npv_usd == pytest.approx(row.npv_usd, rel=1e-12)
    assert row.bau_after_tax_npv_usd == pytest.approx(row.bau_npv_usd, rel=1e-12)
    assert row.conversion_after_tax_irr_frac == pytest.approx(row.conversion_irr_frac, rel=1e-6)
    assert row.terminal_value_usd == 0.0 and row.npv_with_terminal_usd == row.npv_usd
    # taxes, debt and a terminal value change none of the pre-tax figures, decisions or items
    pd.testing.assert_frame_equal(base.summary[PRETAX_COLUMNS], taxed.summary[PRETAX_COLUMNS])
    pd.testing.assert_frame_equal(base.plan, taxed.plan)
    pre = [c[c["item"].isin(CASHFLOW_ITEMS)].reset_index(drop=True) for c in (base.cashflows, taxed.cashflows)]
    pd.testing.assert_frame_equal(*pre)
    assert taxed.summary.iloc[0].after_tax_npv_usd != pytest.approx(row.npv_usd, rel=1e-3)


def test_perpetuity_of_business_as_usual_and_growth_at_the_discount_rate_is_bad_input(tmp_path):
    result = solve_plan([write_site(tmp_path, [20.0] * 24, three_year_doc(
        terminal_value="perpetuity", terminal_growth_frac=0.02))])
    row = result.summary.iloc[0]
    assert row.bau_terminal_value_usd == pytest.approx(7.008e6 * 1.02 * 1.1 / (0.1 - 0.02))
    assert row.terminal_value_usd == pytest.approx(12e6 * 1.02 * 1.1 / (0.1 - 0.02))
    assert row.bau_after_tax_npv_usd == pytest.approx(pv([7.008e6] * 3 + [row.bau_terminal_value_usd], 0.1))
    site = write_site(tmp_path / "bad", [20.0] * 24, three_year_doc(terminal_value="perpetuity",
                                                                     terminal_growth_frac=0.1))
    code, out, err = invoke(["plan", str(site)])
    assert code == 1
    assert "plan.terminal_growth_frac" in out + err and "below" in out + err
    site = write_site(tmp_path / "bad2", [20.0] * 24, three_year_doc(fitout_depreciation="macrs_7",
                                                                      fitout_depreciation_years=10))
    code, out, err = invoke(["plan", str(site)])
    assert code == 1 and "plan.fitout_depreciation_years" in out + err


def test_asic_salvage_counts_the_life_left(tmp_path):
    # test_plan's ASIC case: 5 MW bought in 2026 and 5 MW in 2027 (0.5M per MW), two-year life;
    # at the end of 2027 the 2026 machines are spent and the 2027 ones have half their life left
    doc = plan_doc(fleet=[{"model": "A", "retire_year": 2027}], asic_salvage_frac=0.5,
                   asic_offer=[{"model": "New", "efficiency_j_per_th": 20.0, "usd_per_th": 10.0, "life_years": 2}])
    del doc["ai"]
    doc["mining"]["fleet"][0]["mw"] = 5.0
    site = write_site(tmp_path, [20.0] * 24, doc)
    out = tmp_path / "run"
    code, stdout, _ = invoke(["plan", str(site), "--out", str(out)])
    assert code == 0, stdout
    salvage = 0.5 * 2.5e6 * 1 / 2
    summary = pd.read_csv(out / "plan_summary.csv").iloc[0]
    assert summary.terminal_value_usd == pytest.approx(salvage)
    lines = pd.read_csv(out / "cashflows.csv").pivot(index="year", columns="item", values="usd")
    assert lines.loc[2028, "asic_salvage"] == pytest.approx(salvage)
    # no tax: the equity flow is the pre-tax net, then the salvage at the horizon's end
    assert lines["equity_cash_flow"].tolist() == pytest.approx(
        lines.loc[[2026, 2027], "net"].tolist() + [salvage])
    assert summary.after_tax_npv_usd == pytest.approx(summary.npv_usd + salvage / 1.1 ** 2)
    assert "after tax" in stdout


def test_conversion_after_tax_irr_without_debt(tmp_path):
    # the same plan without debt: the fit-out year costs the owner more than mining would have earned
    result = solve_plan([write_site(tmp_path, [20.0] * 24, three_year_doc(
        income_tax_rate_frac=0.21, fitout_depreciation="macrs_5", bonus_depreciation_frac=0.5))])
    dep = [6e6 * 0.6, 6e6 * 0.16, 6e6 * 0.096, 6e6 * 0.144]
    taxable = [12e6 - dep[0], 12e6 - dep[1], 12e6 - dep[2], -dep[3]]  # t=3: the basis left is written off
    # carried forward, the last loss is never used (nothing is earned after the horizon)
    tax = [0.21 * x for x in taxable[:3]] + [0.0]
    equity = [6e6 - tax[0], 12e6 - tax[1], 12e6 - tax[2], 0.0]
    incremental = [e - b for e, b in zip(equity, [0.79 * 7.008e6] * 3 + [0.0])]
    assert incremental[0] < 0
    row = result.summary.iloc[0]
    assert row.conversion_after_tax_npv_usd == pytest.approx(pv(incremental, 0.1), rel=1e-9)
    assert pv(incremental, row.conversion_after_tax_irr_frac) == pytest.approx(0.0, abs=1e-3)
    assert row.conversion_after_tax_irr_frac > 0.1  # positive NPV at 10%: the IRR is above it
