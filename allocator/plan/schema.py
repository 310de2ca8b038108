"""The ``[plan]`` table of a site file and the ``portfolio.toml`` file, as pydantic models.

Field names carry their units. A scalar given for a yearly path (BTC price,
difficulty) is the first year's value, grown by its ``*_growth_frac`` each
year; a list gives one value per year of the horizon.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..limits import (MAX_BTC_PRICE_USD, MAX_BUDGET_USD, MAX_DIFFICULTY, MAX_FEES_BTC_PER_BLOCK, MAX_HASHRATE_PH,
                     MAX_MW, MAX_RATE_USD_PER_KW_MONTH, MAX_USD_PER_TH, MIN_DIFFICULTY)

NonNegative = Annotated[float, Field(ge=0.0)]
BtcPrice = Annotated[float, Field(gt=0.0, le=MAX_BTC_PRICE_USD)]
Difficulty = Annotated[float, Field(ge=MIN_DIFFICULTY, le=MAX_DIFFICULTY)]
Fees = Annotated[float, Field(ge=0.0, le=MAX_FEES_BTC_PER_BLOCK)]
Budget = Annotated[float, Field(ge=0.0, le=MAX_BUDGET_USD)]
Megawatts = Annotated[float, Field(ge=0.0, le=MAX_MW)]
Year = Annotated[int, Field(ge=2000, le=2200)]
Growth = Annotated[float, Field(ge=-0.99, le=10.0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Depreciation = Literal["straight_line", "macrs_5", "macrs_7", "macrs_15"]
DepreciationYears = Annotated[int, Field(ge=1, le=60)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class PlanLease(_Strict):
    """``[[plan.lease]]``: when a lease of ``[[ai.lease]]`` may run."""

    tenant: str = Field(description="Tenant name, as in [[ai.lease]].")
    start_year: Year | None = Field(None, description="First year the lease may run; default the first plan year.")
    term_years: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="Lease term [years]; default to the end of the horizon.")


class PlanFleet(_Strict):
    """``[[plan.fleet]]``: when a fleet of ``[[mining.fleet]]`` reaches end of life."""

    model: str = Field(description="ASIC model, as in [[mining.fleet]].")
    retire_year: Year = Field(description="First year the fleet is gone (end of life).")


class AsicOffer(_Strict):
    """``[[plan.asic_offer]]``: new ASICs that may be bought, in IT MW, in any plan year."""

    model: str = Field(description="ASIC model offered.")
    efficiency_j_per_th: Annotated[float, Field(gt=1.0, le=500.0)] = Field(description="Efficiency [J/TH].")
    usd_per_th: Annotated[float, Field(ge=0.0, le=MAX_USD_PER_TH)] = Field(
        description="Purchase price per TH/s of hashrate [USD per TH/s].")
    first_year: Year | None = Field(None, description="First year they can be bought; default the first plan year.")
    life_years: Annotated[int, Field(ge=1, le=50)] = Field(5, description="Years a purchase keeps hashing [years].")
    max_mw: Megawatts | None = Field(None, description="Most IT MW of them installed at once [MW]; default unlimited.")


class PricePathYear(_Strict):
    """``[[plan.price_year]]``: a price file replacing the scaled representative year."""

    year: Year = Field(description="Plan year this file replaces.")
    file: str = Field(description="Hourly price file, relative to the site file (read as [prices]).")
    column: str | None = Field(None, description="Price column; default the [prices] column.")


class PlanSection(_Strict):
    """``[plan]``: a multi-year conversion plan (``allocator plan``)."""

    start_year: Year = Field(description="First year of the horizon.")
    end_year: Year = Field(description="Last year of the horizon (inclusive).")
    discount_rate_frac: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        None, description="NPV discount rate [1/year]; default ai.discount_rate_frac (or 0.08).")
    price_escalator_frac: Growth = Field(
        0.0, description="Yearly growth of the representative year's power prices [1/year].")
    price_year: list[PricePathYear] = Field(default_factory=list, description="Years with their own price file.")
    btc_price_usd: BtcPrice | list[BtcPrice] | None = Field(
        None, description="BTC price, first year or one per year [USD]; default mining.hashprice.btc_price_usd.")
    btc_price_growth_frac: Growth = Field(0.0, description="Yearly BTC price growth [1/year].")
    difficulty: Difficulty | list[Difficulty] | None = Field(
        None, description="Network difficulty, first year or one per year [-]; default mining.hashprice.difficulty.")
    network_hashrate_growth_frac: Growth = Field(
        0.0, description="Yearly growth of network hashrate, hence difficulty [1/year].")
    fees_btc_per_block: Fees | None = Field(
        None, description="Fees per block [BTC]; default mining.hashprice.fees_btc_per_block (or 0).")
    construction_months: Annotated[float, Field(ge=0.0, le=120.0)] = Field(
        12.0, description="Months from conversion (capex paid) to AI IT MW online [months].")
    lease_escalator_frac: Growth = Field(0.0, description="Yearly lease rate escalator [1/year].")
    price_bins_per_month: Annotated[int, Field(ge=0, le=744)] = Field(
        24, description="Representative price levels per month; 0 = every hour (exact, slower).")
    lease: list[PlanLease] = Field(default_factory=list, description="Lease start years and terms.")
    fleet: list[PlanFleet] = Field(default_factory=list, description="Fleet end-of-life years.")
    asic_offer: list[AsicOffer] = Field(default_factory=list, description="New ASICs that may be bought.")
    # after-tax economics (allocator.plan.after_tax); the defaults leave the after-tax figures equal to the pre-tax ones
    income_tax_rate_frac: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Income tax rate on taxable income [-].")
    tax_losses: Literal["carry_forward", "offset"] = Field(
        "carry_forward", description="A year's tax loss: 'carry_forward' (kept and used against later taxable income "
        "of this site, never refunded) or 'offset' (used at once against the owner's other income: a negative tax).")
    fitout_depreciation: Depreciation = Field(
        "straight_line", description="Tax depreciation of AI fit-out capex: 'straight_line' over "
        "fitout_depreciation_years, or a MACRS GDS class (half-year convention): 'macrs_5', 'macrs_7', 'macrs_15'.")
    fitout_depreciation_years: DepreciationYears | None = Field(
        None, description="Straight-line tax life of fit-out capex [years]; default ai.capex_life_years.")
    asic_depreciation: Depreciation = Field(
        "straight_line", description="Tax depreciation of ASIC purchases ([[plan.asic_offer]]): as fitout_depreciation.")
    asic_depreciation_years: DepreciationYears | None = Field(
        None, description="Straight-line tax life of ASIC purchases [years]; default each offer's life_years.")
    bonus_depreciation_frac: Fraction = Field(
        0.0, description="Share of each capex deducted in the year it is paid (bonus depreciation); the rest "
        "follows the schedule [-].")
    property_tax_frac: Annotated[float, Field(ge=0.0, le=0.2)] = Field(
        0.0, description="Yearly property tax as a share of book value at the start of the year (straight-line book "
        "over ai.capex_life_years and each offer's life_years) [1/year].")
    terminal_value: Literal["none", "lease", "perpetuity"] = Field(
        "none", description="Value at the horizon's end: 'none'; 'lease' (the AI leases' net over their remaining "
        "terms past end_year, discounted); 'perpetuity' (the last year's operating net growing by "
        "terminal_growth_frac forever, discounted).")
    terminal_growth_frac: Growth = Field(
        0.0, description="Yearly growth of the perpetuity (terminal_value = 'perpetuity'), below the discount rate "
        "[1/year].")
    asic_salvage_frac: Fraction = Field(
        0.0, description="Resale value at the horizon's end of ASICs bought in the plan, as a share of their "
        "purchase price times the share of their life left [-].")
    debt_loan_to_cost_frac: Fraction = Field(
        0.0, description="Share of each year's capex (fit-out and ASICs) borrowed that year [-].")
    debt_rate_frac: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0, description="Interest rate of the project debt [1/year].")
    debt_term_years: Annotated[int, Field(ge=1, le=60)] = Field(
        10, description="Level yearly payments over this many years, from the year after each draw [years].")

    @model_validator(mode="after")
    def _years(self) -> PlanSection:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        if self.end_year - self.start_year >= 60:
            raise ValueError("the horizon is limited to 60 years")
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))


class PortfolioTenant(_Strict):
    """``[[tenant]]``: one lease placeable across several campuses."""

    tenant: str = Field(min_length=1, description="Tenant name (must differ from the sites' own [[ai.lease]] tenants).")
    rate_usd_per_kw_month: Annotated[float, Field(ge=0.0, le=MAX_RATE_USD_PER_KW_MONTH)] = Field(
        description="Lease rate [USD/kW-month].")
    max_mw: Megawatts = Field(description="Most IT MW the tenant takes, all sites together [MW].")
    min_mw: Megawatts = Field(0.0, description="Committed IT MW, all sites together [MW].")
    sites: list[str] = Field(description="Site ids where the tenant may be placed (each needs an [ai] table).")
    start_year: Year | None = Field(None, description="Plan mode: first year the lease may run.")
    term_years: Annotated[int, Field(ge=1, le=100)] | None = Field(None, description="Plan mode: lease term [years].")

    @model_validator(mode="after")
    def _bounds(self) -> PortfolioTenant:
        if self.min_mw > self.max_mw:
            raise ValueError(f"min_mw {self.min_mw:g} exceeds max_mw {self.max_mw:g}")
        if not self.sites:
            raise ValueError("list at least one eligible site id")
        return self


class PortfolioFile(_Strict):
    """``portfolio.toml``: constraints shared by several campuses."""

    name: str = Field("portfolio", description="Display name.")
    capex_budget_usd: Budget | list[Budget] | None = Field(
        None, description="Total fit-out (and ASIC) capex allowed [USD]; in plan mode per year (one value = every year).")
    min_hashrate_ph: Annotated[float, Field(ge=0.0, le=MAX_HASHRATE_PH)] = Field(
        0.0, description="Company-wide minimum installed hashrate [PH/s].")
    tenant: list[PortfolioTenant] = Field(default_factory=list, description="Tenants placeable across sites.")
