"""The power-market tables of a site file: contracts, 4CP, demand response, TOU adders.

Every table is optional; a site file without them means exactly the base
model of docs/model.md. The LP terms they add are described in docs/power.md.
Times follow the site file's rule: site-local wall-clock time unless an
offset is given.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import Problem
from ..limits import MAX_MW, MAX_USD_PER_MWH
from ..time_fields import TIME_FORMAT_DOC, TIME_LABEL_DOC, TimeFormat, TimeLabel

NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
#: the limits of the price file and ``prices.adder_usd_per_mwh``: a figure beyond them is a unit slip, and
#: it would dwarf the rest of the objective (a 1e12 USD/MWh contract moved the marginal values by 0.1%)
UsdPerMwh = Annotated[float, Field(ge=-MAX_USD_PER_MWH, le=MAX_USD_PER_MWH)]
CapacityUsdPerMwHour = Annotated[float, Field(ge=0.0, le=MAX_USD_PER_MWH)]
UsdPerMwYear = Annotated[float, Field(ge=0.0, le=MAX_USD_PER_MWH * 8760)]
Megawatts = Annotated[float, Field(gt=0.0, le=MAX_MW)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class TouAdder(_Strict):
    """``[[prices.tou_adder]]``: a delivery charge added in some hours of the day and months."""

    adder_usd_per_mwh: UsdPerMwh = Field(description="Charge added to the price in the matching hours [USD/MWh].")
    hours: list[Annotated[int, Field(ge=0, le=23)]] | None = Field(
        None, description="Site-local hours of day (interval start, 0..23) it applies to; default all."
    )
    months: list[Annotated[int, Field(ge=1, le=12)]] | None = Field(
        None, description="Months (1..12, site-local) it applies to; default all."
    )


class PowerContract(_Strict):
    """``[[power.contract]]``: a fixed-price block of grid power."""

    name: Name | None = Field(None, description="Contract name ([a-z][a-z0-9_]*); default contract_<i>.")
    mw: Megawatts = Field(description="Contracted block at the meter, every hour of [start, end) [MW].")
    price_usd_per_mwh: UsdPerMwh = Field(description="Fixed price of the block [USD/MWh].")
    start: str | None = Field(None, description="Delivery start, site time unless an offset; default horizon start.")
    end: str | None = Field(None, description="Delivery end (exclusive); default horizon end.")
    settlement: Literal["financial", "physical"] = Field(
        description="financial: contract for difference against the hub price; "
                    "physical: block energy at the fixed price, unused block energy lost."
    )


class PowerSection(_Strict):
    """``[power]``: how the site buys its power besides the spot price."""

    contract: list[PowerContract] = Field(default_factory=list, description="Fixed-price contracts.")


class ProbabilityFile(_Strict):
    """A CSV of per-interval probabilities [0..1] that an hour is a peak interval."""

    file: str = Field(description="CSV file, relative to the site file; list every hour (0 where no peak).")
    column: str | None = Field(None, description="Probability column; default the only numeric one.")
    time_column: str | None = Field(None, description="Time column; default the first.")
    time_label: TimeLabel = Field("start", description=TIME_LABEL_DOC)
    time_format: TimeFormat = Field(None, description=TIME_FORMAT_DOC)


class CoincidentPeak(_Strict):
    """``[coincident_peak]``: a transmission charge on the average host draw over peak intervals (ERCOT 4CP)."""

    charge_usd_per_mw_year: UsdPerMwYear = Field(
        description="Charge per MW of average grid draw over the peak intervals [USD/MW-year]."
    )
    intervals: list[str] | None = Field(
        None, description="Start times of the peak intervals (hours), site time unless an offset."
    )
    probability: ProbabilityFile | None = Field(
        None, description="Per-hour probability of being a peak interval (expected-value charge)."
    )
    peaks_per_year: Annotated[float, Field(gt=0.0, le=8760.0)] = Field(
        4.0, description="Peak intervals a year whose average draw the annual charge is levied on (ERCOT 4CP: 4) "
                         "[1/year]; each peak interval costs charge / peaks_per_year per MW drawn in it."
    )
    peaks_in_horizon: Positive | None = Field(
        None, description="Peak intervals expected in the horizon, the sum the probabilities are scaled to [-]; "
                          "default peaks_per_year x hours / 8760 (probability files only: listed intervals count "
                          "themselves)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> CoincidentPeak:
        if (self.intervals is None) == (self.probability is None):
            raise ValueError("give either intervals (a list of times) or a [coincident_peak.probability] file")
        if self.intervals is not None and not self.intervals:
            raise ValueError("intervals is empty; list at least one peak interval")
        if self.intervals is not None and self.peaks_in_horizon is not None:
            raise ValueError("peaks_in_horizon applies to a probability file; listed intervals count themselves")
        return self


class Window(_Strict):
    """A time window ``[start, end)``."""

    start: str = Field(description="Start, site time unless an offset is given.")
    end: str = Field(description="End (exclusive), site time unless an offset is given.")


class PriceSeriesFile(_Strict):
    """A CSV of hourly (or finer) capacity prices [USD/MW-hour], e.g. ERCOT ECRS or RRS MCPC."""

    file: str = Field(description="CSV file, relative to the site file.")
    column: str | None = Field(None, description="Price column; default the only numeric one.")
    time_column: str | None = Field(None, description="Time column; default the first.")
    time_label: TimeLabel = Field("start", description=TIME_LABEL_DOC)
    time_format: TimeFormat = Field(None, description=TIME_FORMAT_DOC)


class DemandResponse(_Strict):
    """``[[demand_response]]``: a program buying mining load as controllable capacity."""

    name: Name = Field(description="Program name ([a-z][a-z0-9_]*), e.g. ecrs or ers.")
    capacity_usd_per_mw_hour: CapacityUsdPerMwHour | None = Field(
        None, description="Flat capacity payment per MW offered per hour [USD/MW-hour]."
    )
    capacity_price: PriceSeriesFile | None = Field(
        None, description="Hourly capacity payment series [USD/MW-hour]."
    )
    capacity_usd_per_mw_year: UsdPerMwYear | None = Field(
        None, description="ERS-style payment for one MW offered through the whole window [USD/MW-year]."
    )
    max_mw: Annotated[float, Field(ge=0.0, le=MAX_MW)] | None = Field(None, description="Most grid MW offered to this program [MW]; default no limit.")
    start: str | None = Field(None, description="Program window start; default horizon start.")
    end: str | None = Field(None, description="Program window end (exclusive); default horizon end.")
    deployment: list[Window] = Field(
        default_factory=list, description="Hours in which the offered MW must actually be shed."
    )
    stacking: bool = Field(
        False, description="true: the same MW may also be sold to other stacking programs; "
                           "false (default): MW sold here are sold to no other program."
    )

    @model_validator(mode="after")
    def _one_payment(self) -> DemandResponse:
        given = [x is not None for x in (self.capacity_usd_per_mw_hour, self.capacity_price,
                                         self.capacity_usd_per_mw_year)]
        if sum(given) != 1:
            raise ValueError("give exactly one payment: capacity_usd_per_mw_hour, a [demand_response.capacity_price]"
                             " file, or capacity_usd_per_mw_year")
        return self


def cross_check(sf, where: str) -> list[Problem]:
    """Checks across the power-market fields of a validated site file."""
    problems: list[Problem] = []
    power = sf.power
    if power is not None:
        names = contract_names(power)
        for name in sorted({x for x in names if names.count(x) > 1}):
            problems.append(Problem(f"{where}: power.contract", f"contract name {name!r} appears twice.",
                                    "Give each contract its own name."))
    programs = [p.name for p in sf.demand_response]
    for name in sorted({x for x in programs if programs.count(x) > 1}):
        problems.append(Problem(f"{where}: demand_response", f"program {name!r} appears twice.",
                                "Give each program its own name."))
    if sf.demand_response and not sf.mining.fleet:
        problems.append(Problem(f"{where}: demand_response", "demand response sells mining load, but the site has "
                                "no [[mining.fleet]].", "Add a fleet or remove the [[demand_response]] tables."))
    return problems


def contract_names(power: PowerSection) -> list[str]:
    """Each contract's name with its default (``contract_<i>``) applied."""
    return [c.name or f"contract_{i}" for i, c in enumerate(power.contract)]
