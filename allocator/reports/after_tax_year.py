"""``after_tax.csv`` of a solve: the split's first year after tax, from the run's own tables.

A one-year ``solve`` charges the AI fit-out as its annualized capital recovery
(``ai_capex_recovery`` in financials.csv). This view keeps that pre-tax net
and takes off the first year's taxes under the site's ``[plan]`` tax fields
(:func:`allocator.plan.after_tax.first_year`): property tax on the fit-out's
book value, and income tax on the operating net less the year's tax
depreciation of the fit-out (bonus included) and the property tax. Every
figure is scaled from the solve's horizon to a year (x 8,760 / hours). The
installed ASIC fleets are bought already (no purchase to depreciate: ASIC
purchases are a plan matter, ``[[plan.asic_offer]]``), and so is debt.

Built from split.csv, financials.csv and assumptions.csv alone, so a run
folder's reports can show it; written only when a site sets an income tax rate
or a property tax (else after tax equals pre-tax).
"""

from __future__ import annotations

import pandas as pd

from ..plan.after_tax import TaxTerms, depreciation_schedule, first_year

HOURS_PER_YEAR = 8760.0
COLUMNS = ("site_id", "hours", "pre_tax_net_usd_per_year", "ai_capex_recovery_usd_per_year",
           "operating_net_usd_per_year", "fitout_capex_usd", "tax_depreciation_usd_per_year",
           "property_tax_usd_per_year", "taxable_income_usd_per_year", "income_tax_rate_frac",
           "income_tax_usd_per_year", "after_tax_net_usd_per_year")


def taxed(assumptions: pd.DataFrame) -> bool:
    """True when some site sets ``plan.income_tax_rate_frac`` or ``plan.property_tax_frac`` above 0."""
    rows = assumptions[assumptions["field"].isin(["plan.income_tax_rate_frac", "plan.property_tax_frac"])]
    return bool((pd.to_numeric(rows["value"], errors="coerce").fillna(0.0) > 0).any())


def after_tax_year_table(split: pd.DataFrame, financials: pd.DataFrame, assumptions: pd.DataFrame) -> pd.DataFrame:
    """One row per site with a ``[plan]`` table: :data:`COLUMNS` (USD per year, costs negative)."""
    rows = []
    for row in split.itertuples(index=False):
        fields = assumptions[assumptions["site_id"] == row.site_id].set_index("field")["value"]
        if "plan.income_tax_rate_frac" not in fields.index or not row.hours:
            continue  # no [plan] table: no tax fields
        scale = HOURS_PER_YEAR / float(row.hours)
        items = financials[financials["site_id"] == row.site_id].set_index("item")["usd"].astype(float)
        pre_tax = float(items.get("net", 0.0)) * scale
        recovery = float(items.get("ai_capex_recovery", 0.0)) * scale
        operating = pre_tax - recovery
        cost = float(row.ai_it_mw) * _number(fields, "ai.fitout_capex_usd_per_mw")
        life = _number(fields, "ai.capex_life_years") or 1.0
        years = _number(fields, "plan.fitout_depreciation_years") or life
        schedule = depreciation_schedule(str(fields["plan.fitout_depreciation"]), years,
                                         _number(fields, "plan.bonus_depreciation_frac"))
        terms = TaxTerms(_number(fields, "plan.income_tax_rate_frac"), str(fields["plan.tax_losses"]),
                         _number(fields, "plan.property_tax_frac"))
        year = first_year(operating, cost, schedule, life, terms)
        rows.append((row.site_id, int(row.hours), pre_tax, recovery, operating, cost, year.depreciation_usd,
                     year.property_tax_usd, year.taxable_income_usd, terms.income_tax_rate_frac,
                     year.income_tax_usd, pre_tax + year.property_tax_usd + year.income_tax_usd))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _number(fields: pd.Series, name: str) -> float:
    """A numeric assumption; 0 when absent or empty (``not given``)."""
    value = pd.to_numeric(pd.Series([fields.get(name)]), errors="coerce").iloc[0]
    return 0.0 if pd.isna(value) else float(value)
