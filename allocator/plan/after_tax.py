"""After-tax economics of a solved plan: depreciation, taxes, terminal value, salvage and project debt.

The plan LP chooses its decisions by pre-tax NPV; this module prices the
chosen plan (and business as usual) after tax. Conventions (docs/PLAN.md):

- Times are whole years ``t = 0..Y`` discounted by ``(1 + r)^-t``: the flows
  of plan year ``i`` count at its start (``t = i``, as the pre-tax NPV), and
  ``t = Y`` is the horizon's end (the start of ``end_year + 1``), where the
  terminal value, ASIC salvage, the last tax and the debt payoff fall.
- Tax is paid in the year its income is earned (same ``t``).
- Capex is placed in service, and starts depreciating, in the year it is paid.
  Straight-line: ``1 / n`` of the cost in each of ``n`` years. MACRS: the IRS
  GDS half-year tables. Bonus depreciation: a share of the cost deducted in
  the year paid, the rest on the schedule.
- At ``t = Y`` the site is deemed sold for the terminal value plus salvage:
  the tax basis not yet depreciated is deducted from those proceeds.
- Losses (``tax_losses``): ``carry_forward`` keeps them for later income of
  the site (no limit, no expiry, none refunded: what is left at ``t = Y`` is
  lost); ``offset`` uses them at once against the owner's other income
  (a negative tax, a benefit).
- Debt: ``debt_loan_to_cost_frac`` of each year's capex is drawn with it and
  repaid by level payments (``numpy_financial.pmt``) over ``debt_term_years``
  from the next year; interest is deductible; what is owed at ``t = Y`` is
  repaid then. The equity cash flow is what the owner puts in or takes out;
  the after-tax NPV and IRR are the equity's, at the plan's discount rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy_financial as npf

# IRS Publication 946, Table A-1: GDS, half-year convention, share of cost per recovery year.
MACRS_GDS_HALF_YEAR = {
    5: (0.20, 0.32, 0.192, 0.1152, 0.1152, 0.0576),
    7: (0.1429, 0.2449, 0.1749, 0.1249, 0.0893, 0.0892, 0.0893, 0.0446),
    15: (0.05, 0.095, 0.0855, 0.077, 0.0693, 0.0623, 0.059, 0.059, 0.0591, 0.059, 0.0591, 0.059, 0.0591, 0.059,
         0.0591, 0.0295),
}
AFTER_TAX_ITEMS = ("depreciation", "property_tax", "interest", "taxable_income", "income_tax", "debt_draw",
                   "debt_service", "terminal_value", "asic_salvage", "equity_cash_flow")


def depreciation_schedule(method: str, years: float, bonus_frac: float) -> np.ndarray:
    """Share of a capex deducted in each year from the year it is paid [-]; sums to 1.

    Parameters
    ----------
    method : str
        ``"straight_line"``, ``"macrs_5"``, ``"macrs_7"`` or ``"macrs_15"``.
    years : float
        Straight-line life [years] (unused by MACRS); a fractional life ends with a part year.
    bonus_frac : float
        Share deducted in the first year before the schedule [-].
    """
    if method == "straight_line":
        whole = int(np.floor(years))
        base = np.full(whole, 1.0 / years)
        if years > whole:  # a fractional life ends with the fraction left
            base = np.append(base, 1.0 - whole / years)
    else:
        base = np.array(MACRS_GDS_HALF_YEAR[int(method.split("_")[1])])
    out = (1.0 - bonus_frac) * base
    out[0] += bonus_frac
    return out


@dataclass
class Capex:
    """One capex payment: fit-out of one year, or one year's purchase of one ASIC offer."""

    year_index: int            # t it is paid
    cost_usd: float            # [USD], > 0
    tax_schedule: np.ndarray   # share deducted per year from year_index [-]
    book_life_years: float     # straight-line book life, for property tax [years]
    salvage_usd: float = 0.0   # resale at the horizon's end [USD]


@dataclass
class TaxTerms:
    """The ``[plan]`` fields of the after-tax view."""

    income_tax_rate_frac: float = 0.0
    tax_losses: str = "carry_forward"
    property_tax_frac: float = 0.0
    debt_loan_to_cost_frac: float = 0.0
    debt_rate_frac: float = 0.0
    debt_term_years: int = 10

    @classmethod
    def from_plan(cls, plan) -> TaxTerms:
        return cls(plan.income_tax_rate_frac, plan.tax_losses, plan.property_tax_frac,
                   plan.debt_loan_to_cost_frac, plan.debt_rate_frac, plan.debt_term_years)


def after_tax_lines(net_usd: np.ndarray, capex: list[Capex], terminal_value_usd: float,
                    terms: TaxTerms) -> dict[str, np.ndarray]:
    """The yearly after-tax lines of one site and scenario, each of length ``Y + 1`` (``t = Y``: horizon end).

    Parameters
    ----------
    net_usd : array (Y,)
        Pre-tax net cash flow of each plan year, capex included [USD].
    capex : list of Capex
        Every capex payment of the horizon (its cost is inside ``net_usd``).
    terminal_value_usd : float
        Value of the site at the horizon's end, before tax [USD].
    terms : TaxTerms
        Tax, property tax and debt terms.

    Returns
    -------
    dict of str to array (Y + 1,)
        :data:`AFTER_TAX_ITEMS`, signed as cash (costs negative); ``depreciation``
        and ``interest`` are deductions shown negative, ``taxable_income`` a base.
    """
    n = len(net_usd)
    z = np.zeros(n + 1)
    dep, ptax, capex_t, salvage, basis_left = z.copy(), z.copy(), z.copy(), z.copy(), 0.0
    for c in capex:
        j = c.year_index
        capex_t[j] += c.cost_usd
        sched = c.tax_schedule[:max(0, n - j)]
        dep[j:j + len(sched)] -= c.cost_usd * sched
        basis_left += c.cost_usd * (1.0 - sched.sum())
        age = np.arange(n - j)
        ptax[j:n] -= terms.property_tax_frac * c.cost_usd * np.clip(1.0 - age / c.book_life_years, 0.0, 1.0)
        salvage[n] += c.salvage_usd
    dep[n] = -basis_left  # written off against the sale at the horizon's end
    draw, service, interest = _debt(capex_t, terms)
    terminal = z.copy()
    terminal[n] = terminal_value_usd
    ebitda = z.copy()
    ebitda[:n] = np.asarray(net_usd, float) + capex_t[:n]
    taxable = ebitda + terminal + salvage + ptax + dep + interest
    tax = _income_tax(taxable, terms)
    equity = ebitda - capex_t + ptax + tax + draw + service + terminal + salvage
    lines = {"depreciation": dep, "property_tax": ptax, "interest": interest, "taxable_income": taxable,
             "income_tax": tax, "debt_draw": draw, "debt_service": service, "terminal_value": terminal,
             "asic_salvage": salvage, "equity_cash_flow": equity}
    return {k: v + 0.0 for k, v in lines.items()}  # no -0.0


def _income_tax(taxable: np.ndarray, terms: TaxTerms) -> np.ndarray:
    """Tax paid each year (negative = paid) under the chosen loss treatment."""
    rate = terms.income_tax_rate_frac
    if terms.tax_losses == "offset":
        return -rate * taxable
    tax = np.zeros_like(taxable)
    pool = 0.0  # losses carried forward [USD]
    for t, income in enumerate(taxable):
        if income < 0:
            pool -= income
            continue
        used = min(pool, income)
        pool -= used
        tax[t] = -rate * (income - used)
    return tax


def _debt(capex_t: np.ndarray, terms: TaxTerms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws (+), debt service (-, principal and interest) and interest (-) at t = 0..Y; payoff at t = Y."""
    n = len(capex_t) - 1
    draw, service, interest = np.zeros(n + 1), np.zeros(n + 1), np.zeros(n + 1)
    rate, term = terms.debt_rate_frac, terms.debt_term_years
    for j in range(n):
        loan = terms.debt_loan_to_cost_frac * capex_t[j]
        if loan <= 0:
            continue
        draw[j] += loan
        payment = float(npf.pmt(rate, term, -loan))
        balance = loan
        for t in range(j + 1, min(j + term, n) + 1):
            owed = balance * (1.0 + rate)
            pay = owed if t == n else min(payment, owed)  # the horizon's end repays what is owed
            interest[t] -= balance * rate
            service[t] -= pay
            balance = owed - pay
    return draw, service, interest


def npv_usd(flows_usd: np.ndarray, rate_frac: float) -> float:
    """NPV of yearly flows at t = 0, 1, ... (the first undiscounted) [USD]."""
    return float(npf.npv(rate_frac, np.asarray(flows_usd, float)))


def irr_frac(flows_usd: np.ndarray) -> float:
    """IRR of yearly flows at t = 0, 1, ... [1/year]; NaN when the flows never change sign or have no real root."""
    flows = np.asarray(flows_usd, float)
    if not (flows < 0).any() or not (flows > 0).any():
        return float("nan")
    return float(npf.irr(flows))


def perpetuity_usd(last_operating_net_usd: float, growth_frac: float, rate_frac: float) -> float:
    """Value at t = Y of ``N (1 + g)^k`` received at t = Y + k - 1, k = 1, 2, ... [USD]; never below 0.

    ``= N (1 + g) (1 + r) / (r - g)``: the first year after the horizon counts at its
    start, like every plan year.
    """
    value = last_operating_net_usd * (1.0 + growth_frac) * (1.0 + rate_frac) / (rate_frac - growth_frac)
    return max(0.0, value)


def remaining_lease_usd(yearly_net_usd: list[np.ndarray], rate_frac: float) -> float:
    """Value at t = Y of each lease's net for its years past the horizon (k = 1.. at t = Y + k - 1) [USD]."""
    total = 0.0
    for flows in yearly_net_usd:
        total += float(np.sum(np.asarray(flows, float) / (1.0 + rate_frac) ** np.arange(len(flows))))
    return total


@dataclass
class SiteAfterTax:
    """One site's after-tax lines (t = 0..Y) and their headline figures."""

    lines: dict[str, np.ndarray]
    npv_usd: float                # equity cash flows at the plan's discount rate [USD]
    terminal_usd: float           # terminal value + ASIC salvage at t = Y, before tax [USD]
    terminal_pv_usd: float        # the same, discounted to t = 0 [USD]


def site_after_tax(block, build_mw: np.ndarray, buy_mw: np.ndarray, online_mw: np.ndarray, lease_mw: np.ndarray,
                   net_usd: np.ndarray) -> SiteAfterTax:
    """Price one solved plan (or business as usual) of one site after tax.

    Parameters
    ----------
    block : PlanBlock
        The site's plan block (its data, fleets and lease rates).
    build_mw, online_mw : array (Y,)
        AI IT MW converted and online per year [MW].
    buy_mw : array (O, Y)
        IT MW of each ASIC offer bought per year [MW].
    lease_mw : array (L, Y)
        IT MW leased per tenant and year [MW].
    net_usd : array (Y,)
        Pre-tax net per year, capex included [USD].
    """
    data = block.data
    plan, rate = data.plan, data.discount_rate_frac
    ai = block.site.config.ai
    n = len(net_usd)
    capex: list[Capex] = []
    if ai is not None and ai.fitout_capex_usd_per_mw > 0:
        sched = depreciation_schedule(plan.fitout_depreciation, plan.fitout_depreciation_years or ai.capex_life_years,
                                      plan.bonus_depreciation_frac)
        capex += [Capex(i, ai.fitout_capex_usd_per_mw * mw, sched, ai.capex_life_years)
                  for i, mw in enumerate(build_mw) if mw > 0]
    offers = [f for f in block.fleets if f.offer]
    for o, f in enumerate(offers):
        sched = depreciation_schedule(plan.asic_depreciation, plan.asic_depreciation_years or f.life_years,
                                      plan.bonus_depreciation_frac)
        for i in range(n):
            cost = f.capex_usd_per_mw * buy_mw[o, i]
            if cost > 0:
                life_left = max(0, f.life_years - (n - i))
                capex.append(Capex(i, cost, sched, f.life_years,
                                   plan.asic_salvage_frac * cost * life_left / f.life_years))
    terminal = 0.0
    if plan.terminal_value == "perpetuity":
        last_capex = sum(c.cost_usd for c in capex if c.year_index == n - 1)
        terminal = perpetuity_usd(float(net_usd[-1]) + last_capex, plan.terminal_growth_frac, rate)
    elif plan.terminal_value == "lease" and lease_mw.size:
        terminal = remaining_lease_usd(_lease_tails(block, online_mw, lease_mw), rate)
    lines = after_tax_lines(net_usd, capex, terminal, TaxTerms.from_plan(plan))
    end = terminal + float(lines["asic_salvage"][-1])
    return SiteAfterTax(lines, npv_usd(lines["equity_cash_flow"], rate), end, end / (1.0 + rate) ** n)


def _lease_tails(block, online_mw: np.ndarray, lease_mw: np.ndarray) -> list[np.ndarray]:
    """Each lease's yearly net past the horizon: its last-year revenue escalated, less its share of AI costs.

    A lease's remaining years are those of its ``[[plan.lease]]`` term past ``end_year``
    (none without a term); the AI opex of the last year's online MW and the AI power
    cost (without pass-through) are shared per leased MW and held flat.
    """
    data = block.data
    plan, ai = data.plan, block.site.config.ai
    leased = float(lease_mw[:, -1].sum())
    if leased <= 0:
        return []
    power = 0.0 if ai.power_pass_through else data.years[-1].ai_power_usd_per_mw * leased
    cost_per_mw = (ai.opex_usd_per_mw_year * float(online_mw[-1]) + power) / leased
    terms = {pl.tenant: pl for pl in plan.lease}
    tails = []
    for j, tenant in enumerate(block.tenants):
        pl = terms.get(tenant)
        if pl is None or pl.term_years is None or lease_mw[j, -1] <= 0:
            continue
        start = pl.start_year or plan.start_year
        left = start + pl.term_years - 1 - plan.end_year
        if left <= 0:
            continue
        k = np.arange(1, left + 1)
        rate_k = block.rates_usd_per_mw_year[j, -1] * (1.0 + plan.lease_escalator_frac) ** k
        tails.append(lease_mw[j, -1] * (rate_k - cost_per_mw))
    return tails


@dataclass
class FirstYear:
    """The one-year after-tax view of a one-year ``solve`` [USD per year, costs negative]."""

    depreciation_usd: float      # tax depreciation of the year (bonus included), a deduction, <= 0
    property_tax_usd: float      # <= 0
    taxable_income_usd: float
    income_tax_usd: float        # <= 0 paid; > 0 a benefit under tax_losses = "offset"


def first_year(operating_net_usd: float, fitout_capex_usd: float, schedule: np.ndarray, book_life_years: float,
               terms: TaxTerms) -> FirstYear:
    """Tax of the first year of a solved split, by :func:`after_tax_lines`' rules at ``t = 0``.

    The fit-out is paid and placed in service at the year's start: the year deducts
    ``schedule[0]`` of it (bonus included) and pays property tax on its full book value.
    Debt is left out: its first interest falls in the next year (the plan's convention).

    Parameters
    ----------
    operating_net_usd : float
        Net of the year before capex and tax: revenues less opex and power [USD/year].
    fitout_capex_usd : float
        The AI fit-out's cost [USD] (``ai_it_mw x ai.fitout_capex_usd_per_mw``).
    schedule : array
        Share of the cost deducted per year (:func:`depreciation_schedule`) [-].
    book_life_years : float
        Straight-line book life for property tax [years].
    terms : TaxTerms
        Income tax rate, loss treatment and property tax (debt fields ignored).
    """
    no_debt = TaxTerms(terms.income_tax_rate_frac, terms.tax_losses, terms.property_tax_frac)
    capex = [Capex(0, fitout_capex_usd, schedule, book_life_years)] if fitout_capex_usd > 0 else []
    lines = after_tax_lines(np.array([operating_net_usd - fitout_capex_usd]), capex, 0.0, no_debt)
    return FirstYear(float(lines["depreciation"][0]), float(lines["property_tax"][0]),
                     float(lines["taxable_income"][0]), float(lines["income_tax"][0]))
