"""The site file (TOML) as pydantic models.

Field names are the names of docs/model.md, units in every name. Unknown keys are
errors (``extra="forbid"``), NaN and infinity are refused, and every problem in
a file is collected and reported at once with its field and a fix.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError, Problem
from .extensions import SECTION_VALIDATORS
from .files import read_toml_file
from ..limits import (MAX_CAPEX_USD_PER_MW, MAX_HASHPRICE_USD_PER_PH_DAY, MAX_MW,  # noqa: F401 - re-exported
                     MAX_OPEX_USD_PER_MW_YEAR, MAX_RATE_USD_PER_KW_MONTH, MAX_USD_PER_MWH, MIN_SITE_MW)
from ..plan.schema import BtcPrice, Difficulty, Fees, PlanSection
from ..plan.schema import Megawatts as Mw
from ..power.schema import CoincidentPeak, DemandResponse, PowerSection, TouAdder
from ..time_fields import TIME_FORMAT_DOC, TIME_LABEL_DOC, TimeFormat, TimeLabel
from ..power.schema import cross_check as power_cross_check

SITE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

SiteMw = Annotated[float, Field(ge=MIN_SITE_MW, le=MAX_MW)]
Opex = Annotated[float, Field(ge=0.0, le=MAX_OPEX_USD_PER_MW_YEAR)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Pue = Annotated[float, Field(ge=1.0, le=3.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class SiteSection(_Strict):
    """``[site]``: the campus and its grid connection."""

    name: str | None = Field(None, description="Display name; default the site id.")
    timezone: str = Field("UTC", description="IANA time zone of the site, e.g. America/Chicago.")
    interconnect_mw: SiteMw = Field(description="Grid import limit at the meter [MW].")
    facility_mw: SiteMw | None = Field(
        None, description="Hall electrical capacity [MW]; default interconnect_mw."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ' (e.g. "America/Chicago" or "UTC")'
            raise ValueError(f"not a known IANA time zone{hint}") from None
        return value


class PricesSection(_Strict):
    """``[prices]``: the hourly (or finer) power price series."""

    file: str = Field(description="Price file, relative to the site file.")
    format: Literal["auto", "csv", "ercot_spp", "gridstatus"] = Field(
        "auto", description="File layout; auto detects it from the header."
    )
    time_column: str | None = Field(None, description="Time column (csv); default the first.")
    column: str | None = Field(
        None, description="Column holding the price [USD/MWh]; default the only numeric one."
    )
    location: str | None = Field(
        None, description="Settlement point / Location to use in ERCOT or gridstatus files."
    )
    adder_usd_per_mwh: Annotated[float, Field(ge=-MAX_USD_PER_MWH, le=MAX_USD_PER_MWH)] = Field(
        0.0, description="Delivery charges and fees added to every hour [USD/MWh]."
    )
    start: str | None = Field(None, description="Window start (inclusive), site time unless an offset is given.")
    end: str | None = Field(None, description="Window end (exclusive), site time unless an offset is given.")
    fill: Literal["ffill", "interpolate"] | None = Field(
        None, description="How to fill missing hours; default: missing hours are an error."
    )
    time_label: TimeLabel = Field("start", description=TIME_LABEL_DOC + " ERCOT reports (format ercot_spp) "
                                  "are read by their own hour-ending columns.")
    time_format: TimeFormat = Field(None, description=TIME_FORMAT_DOC)
    tou_adder: list[TouAdder] = Field(
        default_factory=list, description="Time-of-use delivery charges by hour of day and month (extension)."
    )


class SeriesFile(_Strict):
    """A time series in a CSV file (daily, hourly or finer), stepped onto the hours."""

    file: str = Field(description="CSV file, relative to the site file.")
    column: str | None = Field(None, description="Value column; default the only numeric one.")
    time_column: str | None = Field(None, description="Time column; default the first.")
    time_label: TimeLabel = Field("start", description=TIME_LABEL_DOC)
    time_format: TimeFormat = Field(None, description=TIME_FORMAT_DOC)


class HashpriceSection(_Strict):
    """``[mining.hashprice]``: a hashprice series file, or its bitcoin inputs."""

    file: str | None = Field(None, description="CSV of hashprice [USD/PH/day], daily or hourly.")
    column: str | None = Field(None, description="Hashprice column in the file.")
    time_column: str | None = Field(None, description="Time column in the file; default the first.")
    time_label: TimeLabel = Field("start", description=TIME_LABEL_DOC + " A daily file's end labels end their day.")
    time_format: TimeFormat = Field(None, description=TIME_FORMAT_DOC)
    btc_price_usd: BtcPrice | None = Field(None, description="Bitcoin price [USD].")
    difficulty: Difficulty | None = Field(None, description="Network difficulty [-].")
    fees_btc_per_block: Fees = Field(0.0, description="Transaction fees per block [BTC].")
    next_halving_utc: str | None = Field(
        None, description="Override the estimated date of the next halving (UTC)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> HashpriceSection:
        derived = self.btc_price_usd is not None or self.difficulty is not None
        if self.file is not None and derived:
            raise ValueError("give either file or btc_price_usd + difficulty, not both")
        if self.file is None and (self.btc_price_usd is None or self.difficulty is None):
            raise ValueError("give file, or both btc_price_usd and difficulty")
        return self


class Fleet(_Strict):
    """``[[mining.fleet]]``: ASICs of one model on site."""

    model: str = Field(description="ASIC model, e.g. Antminer S21.")
    efficiency_j_per_th: Annotated[float, Field(gt=1.0, le=500.0)] = Field(
        description="Efficiency [J/TH] (= W per TH/s)."
    )
    mw: Mw = Field(description="IT MW of these machines on site [MW].")


class MiningSection(_Strict):
    """``[mining]``: interruptible ASIC mining."""

    pue: Pue = Field(description="Grid MW per IT MW of mining [-].")
    pool_fee_frac: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, description="Pool fee [0..1).")
    opex_usd_per_mw_year: Opex = Field(0.0, description="Per IT MW kept installed [USD/MW-year].")
    hashprice_usd_per_ph_day: Annotated[float, Field(ge=0.0, le=MAX_HASHPRICE_USD_PER_PH_DAY)] | None = Field(
        None, description="Flat hashprice [USD/PH/day]."
    )
    hashprice: HashpriceSection | None = Field(None, description="Hashprice series or its inputs.")
    min_uptime_frac: Fraction = Field(
        0.0, description="Hosting SLA: each fleet runs at least this share of its hours [0..1]."
    )
    capture_frac: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        1.0, description="Share of the hourly mining margin (revenue - PUE x price, perfect hourly foresight) "
                         "that the site's operating rule earns; the split is decided on the margin times it "
                         "(0..1], e.g. a backtest's capture share (docs/operate.md)."
    )
    fleet: list[Fleet] = Field(default_factory=list, description="ASIC fleets on site.")


class Lease(_Strict):
    """``[[ai.lease]]``: an AI tenant's offer."""

    tenant: str = Field(min_length=1, description="Tenant name.")
    rate_usd_per_kw_month: Annotated[float, Field(ge=0.0, le=MAX_RATE_USD_PER_KW_MONTH)] = Field(
        description="Lease rate [USD per kW of critical IT per month]."
    )
    min_mw: Mw = Field(0.0, description="Committed IT MW (signed lease) [MW].")
    max_mw: Mw | None = Field(
        None, description="Most IT MW this tenant takes [MW]; default ai.convertible_mw."
    )


class AiSection(_Strict):
    """``[ai]``: contracted GPU hosting."""

    pue: Pue = Field(description="Grid MW per IT MW of AI [-].")
    convertible_mw: Mw | None = Field(
        None, description="Most IT MW the halls can host after conversion [MW]; default facility_mw / ai.pue."
    )
    utilization_frac: Fraction = Field(1.0, description="Share of contracted IT the tenant draws [0..1].")
    utilization: SeriesFile | None = Field(
        None, description="Hourly utilization profile [0..1]; replaces utilization_frac."
    )
    fitout_capex_usd_per_mw: Annotated[float, Field(ge=0.0, le=MAX_CAPEX_USD_PER_MW)] = Field(0.0, description="Fit-out capital per IT MW [USD/MW].")
    capex_life_years: Annotated[float, Field(ge=1.0, le=100.0)] = Field(
        15.0, description="Capital recovery period [years]."
    )
    discount_rate_frac: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.08, description="Discount rate for the capital recovery factor [0..1]."
    )
    opex_usd_per_mw_year: Opex = Field(0.0, description="AI opex per IT MW [USD/MW-year].")
    power_pass_through: bool = Field(True, description="Tenant pays its own power (triple-net).")
    lease: list[Lease] = Field(default_factory=list, description="Tenant offers.")


class Curtailment(_Strict):
    """``[[curtailment]]``: a grid-directed cap on the whole site's draw."""

    start: str = Field(description="Event start, site time unless an offset is given.")
    end: str = Field(description="Event end (exclusive), site time unless an offset is given.")
    cap_mw: Mw = Field(description="Most grid MW the site may draw during the event [MW].")


class SiteFile(_Strict):
    """One campus: the whole site file."""

    site: SiteSection
    prices: PricesSection
    mining: MiningSection
    ai: AiSection | None = None
    curtailment: list[Curtailment] = Field(default_factory=list)
    # power-market extension (docs/power.md); absent tables mean the base model
    power: PowerSection | None = None
    coincident_peak: CoincidentPeak | None = None
    demand_response: list[DemandResponse] = Field(default_factory=list)
    plan: PlanSection | None = Field(None, description="Multi-year conversion plan (allocator plan); docs/plan.md.")

    @model_validator(mode="after")
    def _default_convertible(self) -> SiteFile:
        """``ai.convertible_mw`` defaults to ``facility_mw / ai.pue``: every hall may be converted.

        The default is filled in without marking the field as set, so a copy of the file with
        ``facility_mw`` (or ``interconnect_mw``, or ``ai.pue``) changed derives it afresh.
        """
        if self.ai is not None and self.ai.convertible_mw is None:
            self.ai.convertible_mw = self.facility_mw / self.ai.pue
            self.ai.model_fields_set.discard("convertible_mw")
        return self

    @property
    def facility_mw(self) -> float:
        """Hall capacity with its default applied [MW]."""
        return self.site.facility_mw if self.site.facility_mw is not None else self.site.interconnect_mw

    def lease_max_mw(self, lease: Lease) -> float:
        """A lease's max_mw with its default (ai.convertible_mw) applied [MW]."""
        assert self.ai is not None
        return lease.max_mw if lease.max_mw is not None else self.ai.convertible_mw


def json_schema() -> dict[str, Any]:
    """JSON Schema of the site file, for editors."""
    schema = SiteFile.model_json_schema()
    schema["title"] = "allocator site file"
    return schema


# ---------------------------------------------------------------- loading


def read_toml(path: Path, missing_fix: str = "Check the path.") -> dict[str, Any]:
    """Any input TOML (site, scenario, portfolio, distributions) as a dict; raise :class:`InputError`
    saying what is wrong with the file and how to fix it (allocator.inputs.files: a regular file of
    sane size, nesting and numbers that Python's parser can take)."""
    return read_toml_file(path, missing_fix)


def read_site_file(path: Path) -> SiteFile:
    """Read and validate one site file; raise :class:`InputError` listing every problem."""
    where = str(path)
    problems: list[Problem] = []
    if not SITE_ID_PATTERN.match(path.stem):
        problems.append(
            Problem(
                where,
                f"the site id {path.stem!r} (the file name) must match [a-z][a-z0-9_]*.",
                "Rename the file, e.g. to " + _suggest_id(path.stem) + ".toml.",
            )
        )
    raw = read_toml(path, "Check the path.")
    try:
        site_file = SiteFile.model_validate(raw)
    except ValidationError as err:
        for e in err.errors():  # a union field (number or list) fails once per branch: keep the first
            problem = _problem_from_error(where, e)
            if all(p.where != problem.where for p in problems):
                problems.append(problem)
        raise InputError(problems, where) from None
    problems += cross_check(site_file, where)
    if problems:
        raise InputError(problems, where)
    return site_file


def cross_check(sf: SiteFile, where: str) -> list[Problem]:
    """Checks that span several fields (those that need no price data)."""
    problems: list[Problem] = []
    m = sf.mining
    if (m.hashprice_usd_per_ph_day is None) == (m.hashprice is None):
        problems.append(
            Problem(
                f"{where}: mining",
                "give exactly one hashprice: hashprice_usd_per_ph_day, or a [mining.hashprice] table.",
                "For a flat value add e.g. hashprice_usd_per_ph_day = 45.0.",
            )
        )
    models = [f.model for f in m.fleet]
    for name in sorted({x for x in models if models.count(x) > 1}):
        problems.append(
            Problem(f"{where}: mining.fleet", f"fleet model {name!r} appears twice.", "Merge them or rename one.")
        )
    if sf.ai is not None:
        ai = sf.ai
        tenants = [lease.tenant for lease in ai.lease]
        for name in sorted({x for x in tenants if tenants.count(x) > 1}):
            problems.append(
                Problem(f"{where}: ai.lease", f"tenant {name!r} appears twice.", "Give each lease its own tenant name.")
            )
        for i, lease in enumerate(ai.lease):
            max_mw = sf.lease_max_mw(lease)
            if lease.min_mw > max_mw:
                problems.append(
                    Problem(
                        f"{where}: ai.lease[{i}].min_mw",
                        f"= {lease.min_mw:g} exceeds max_mw = {max_mw:g}"
                        + (" (its default, ai.convertible_mw)." if lease.max_mw is None else "."),
                        "Lower min_mw or raise max_mw.",
                    )
                )
        if ai.utilization is not None and "utilization_frac" in ai.model_fields_set:
            problems.append(
                Problem(
                    f"{where}: ai.utilization",
                    "give utilization_frac or a [ai.utilization] profile, not both.",
                    "Remove one of them.",
                )
            )
    problems += power_cross_check(sf, where)
    for check in SECTION_VALIDATORS.values():  # [plan] (allocator/plan registers it)
        problems += check(sf, where)
    for i, event in enumerate(sf.curtailment):
        if event.start >= event.end and _looks_same_format(event.start, event.end):
            problems.append(
                Problem(
                    f"{where}: curtailment[{i}]",
                    f"start {event.start!r} is not before end {event.end!r}.",
                    "Swap them or fix the times.",
                )
            )
    return problems


def _looks_same_format(a: str, b: str) -> bool:
    return len(a) == len(b) and a[:2].isdigit() and b[:2].isdigit()


def _suggest_id(stem: str) -> str:
    text = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_") or "site"
    return text if text[0].isalpha() else "site_" + text


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``loc`` (from ``root``, the site file by default)."""
    model: type[BaseModel] | None = root or SiteFile
    for part in loc[:-1]:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _problem_from_error(where: str, err: dict[str, Any], root: type[BaseModel] | None = None) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic puts union branch names in the location; drop them
    loc = tuple(p for p in loc if p not in ("float", "str", "int", "bool", "list[...]")
                and not (isinstance(p, str) and p.startswith(("constrained-", "list["))))
    field = _dotted(loc)
    place = f"{where}: {field}" if field else where
    kind = err["type"]
    owner = _model_at(loc, root) if loc else None
    key = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        known = list(owner.model_fields) if owner else []
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else ""
        allowed = f"Known keys here: {', '.join(known)}." if known else ""
        return Problem(place, "unknown key.", " ".join(x for x in (hint, allowed) if x))
    if kind == "missing":
        desc = ""
        if owner is not None and key in owner.model_fields:
            desc = owner.model_fields[key].description or ""
        return Problem(place, "required field is missing.", f"Add it: {desc}".strip())
    value = err.get("input")
    shown = repr(value) if not isinstance(value, dict) else "a table"
    if len(shown) > 60:  # a 4,000-digit number or a pasted blob: enough to find it
        shown = f"{shown[:40]}... ({len(shown)} characters)"
    msg = err["msg"].rstrip(".")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return Problem(place, f"= {shown}: {msg}" + ("" if msg.endswith("?") else "."), _fix_for(kind, err))


def _fix_for(kind: str, err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"Use a value {'>=' if kind.endswith('equal') else '>'} {bound:g}."
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"Use a value {'<=' if kind.endswith('equal') else '<'} {bound:g} (check the units)."
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "Use a plain finite number, e.g. 150.0."
    if kind == "literal_error":
        return f"Use one of {ctx.get('expected', 'the allowed values')}."
    if kind in ("string_type",):
        return "Quote it as a string."
    if kind in ("list_type",):
        return "Use an array of tables ([[...]])."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "Use a table."
    return ""
