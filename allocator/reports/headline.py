"""The summary block every report opens with: dates, the decision, net per year, then the reasons.

Built from the run folder's files alone (:class:`~allocator.reports.run_files.RunFiles`), for each
kind of run: a solve (or a portfolio solve), a plan, a sweep, a breakeven. The HTML page shows it
first; the workbook's first sheet holds the same rows. Columns are read by name where a file may
gain more (``plan_summary.csv``'s every column is shown, so new figures flow through).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .labels import column_label, value_unit
from .run_files import RunFiles

HOURS_PER_YEAR = 8760.0


@dataclass
class Line:
    """One headline figure: ``label``, ``value`` (a number or text) and ``column`` (the tidy name whose
    unit suffix formats it, e.g. ``net_usd``; ``""`` for text)."""

    label: str
    value: object
    column: str = ""


@dataclass
class Headline:
    """What a run decided, in the order a reader asks: ``kind``, ``lines`` (dates, decision, money), ``reasons``."""

    kind: str
    lines: list[Line] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def run_kind(run: RunFiles) -> str:
    """``"portfolio"``, ``"solve"``, ``"plan"``, ``"sweep"``, ``"decide"`` or ``"breakeven"`` from the files
    present."""
    if run.get("decision.csv") is not None:
        return "decide"
    if run.has_solve:
        return "portfolio" if run.get("tenants.csv") is not None else "solve"
    if run.get("plan.csv") is not None:
        return "plan"
    if run.get("sweep.csv") is not None:
        return "sweep"
    return "breakeven"


def headline(run: RunFiles) -> Headline:
    """The summary block of ``run`` (see the module docstring)."""
    kind = run_kind(run)
    out = Headline(kind)
    if run.has_solve:
        _solve(run, out)
    if run.get("plan.csv") is not None:
        _plan(run, out)
    if run.get("sweep.csv") is not None:
        _sweep(run, out)
    if run.get("breakeven.csv") is not None or run.get("sensitivity.csv") is not None:
        _breakeven(run, out)
    if run.get("decision.csv") is not None:
        _decide(run, out)
    return out


def manifest_horizon(run: RunFiles) -> Line | None:
    """The site files' horizon recorded in manifest.json (``sites.ID.horizon``: sweep, breakeven, decide), as one
    line: ``"2024-06-01 00:00 CDT to 2025-03-27 23:00 CDT (...)"``, per site when the sites differ."""
    sites = run.manifest.get("sites") if isinstance(run.manifest.get("sites"), dict) else {}
    texts = {}
    for site_id, entry in sites.items():
        horizon = entry.get("horizon") if isinstance(entry, dict) else None
        if not isinstance(horizon, dict):
            continue
        try:
            zone = str(horizon["timezone"])
            first = pd.Timestamp(horizon["first_interval_start_utc"]).tz_convert(zone)
            last = pd.Timestamp(horizon["last_interval_start_utc"]).tz_convert(zone)
            texts[site_id] = (f"{first:%Y-%m-%d %H:%M %Z} to {last:%Y-%m-%d %H:%M %Z} (first and last interval "
                              f"start, {zone}; {int(horizon['intervals']):,} intervals)")
        except (KeyError, ValueError, TypeError):
            continue
    if not texts:
        return None
    if len(set(texts.values())) == 1:
        label = "horizon (the site file's prices)" if len(texts) == 1 else "horizon (every site file's prices)"
        return Line(label, next(iter(texts.values())))
    return Line("horizon (each site file's prices)", "; ".join(f"{k}: {v}" for k, v in texts.items()))


def horizon_text(run: RunFiles, site_id: str) -> str:
    """``"2024-01-01 00:00 CST to 2024-10-26 23:00 CDT (interval starts, site time; 7,200 hours)"``."""
    dispatch = run.get("dispatch.csv")
    rows = dispatch[dispatch["site_id"] == site_id] if dispatch is not None else None
    if rows is None or not len(rows):
        return "not recorded in this folder"
    zone = run.timezones().get(site_id, "UTC")
    times = rows["interval_start_utc"].dt.tz_convert(zone)
    return (f"{times.min():%Y-%m-%d %H:%M %Z} to {times.max():%Y-%m-%d %H:%M %Z} "
            f"(first and last interval start, {zone}; {len(rows):,} intervals)")


def _solve(run: RunFiles, out: Headline) -> None:
    split = run.get("split.csv")
    sites = run.manifest.get("sites", {}) if isinstance(run.manifest.get("sites"), dict) else {}
    names = run.site_names()
    several = len(split) > 1
    horizons = {row.site_id: horizon_text(run, row.site_id) for row in split.itertuples(index=False)}
    if len(set(horizons.values())) == 1:
        out.lines.append(Line("horizon" if not several else "horizon (every site)", next(iter(horizons.values()))))
    for row in split.itertuples(index=False):
        tag = f"{names.get(row.site_id, row.site_id)}: " if several else ""
        per_year = float(row.net_usd) * HOURS_PER_YEAR / float(row.hours) if row.hours else float("nan")
        if len(set(horizons.values())) > 1:
            out.lines.append(Line(f"{tag}horizon", horizons[row.site_id]))
        split_text = (f"AI {row.ai_it_mw:,.1f} IT MW, mining {row.mining_it_mw:,.1f} IT MW "
                      f"({row.ai_share_frac:.0%} / {row.mining_share_frac:.0%} of facility MW)")
        if several:  # one line per site keeps the block on the first screen; the totals follow as numbers
            out.lines.append(Line(f"{tag}split", f"{split_text}; net per year {per_year:,.0f} USD"))
        else:
            out.lines.append(Line("split", split_text))
            out.lines.append(Line("AI IT MW", float(row.ai_it_mw), "ai_it_mw"))
            out.lines.append(Line("mining IT MW", float(row.mining_it_mw), "mining_it_mw"))
            out.lines.append(Line("net over the horizon (USD)", float(row.net_usd), "net_usd"))
            if row.hours:
                out.lines.append(Line(f"net per year (USD, x 8,760 / {int(row.hours):,} hours)", per_year, "net_usd"))
        reason = sites.get(row.site_id, {}).get("reason") if isinstance(sites.get(row.site_id), dict) else None
        if reason:
            out.reasons.append(f"{tag}{reason}")
    if several:
        out.lines.append(Line("all sites: AI IT MW", float(split["ai_it_mw"].sum()), "ai_it_mw"))
        out.lines.append(Line("all sites: mining IT MW", float(split["mining_it_mw"].sum()), "mining_it_mw"))
        out.lines.append(Line("all sites: net over the horizons (USD)", float(split["net_usd"].sum()), "net_usd"))
        out.lines.append(Line("all sites: net per year (USD, each site x 8,760 / its hours)", sum(
            float(r.net_usd) * HOURS_PER_YEAR / float(r.hours) for r in split.itertuples() if r.hours), "net_usd"))
    _after_tax_year(run, out, names, several)
    values = run.get("marginal_values.csv")
    if values is not None and len(values):
        for site_id, rows in values.groupby("site_id", sort=False):
            tag = f"{names.get(site_id, site_id)}: " if several else ""
            idle = []
            for row in rows.to_dict("records"):
                worth = {c.removesuffix("_usd_per_mw_year").replace("_", " "): v for c, v in row.items()
                         if c.endswith("_usd_per_mw_year") and isinstance(v, float) and math.isfinite(v)}
                if any(abs(v) > 0.5 for v in worth.values()):
                    out.reasons.append(f"{tag}one more MW of {row['resource']}: " + ", ".join(
                        f"{k} {v:,.0f} USD/MW-year" for k, v in worth.items()))
                elif worth:
                    idle.append(str(row["resource"]))
            if idle:
                out.reasons.append(f"{tag}not limiting (one more MW is worth 0 USD/MW-year): {', '.join(idle)}")
    out.lines += capture_lines(run.get("mining_capture.csv"), names, several)
    tenants = run.get("tenants.csv")
    if tenants is not None and len(tenants) and {"tenant", "site_id", "it_mw"} <= set(tenants.columns):
        for r in tenants.itertuples(index=False):
            out.lines.append(Line(f"tenant {r.tenant} at {r.site_id}: IT MW", float(r.it_mw), "it_mw"))


def _after_tax_year(run: RunFiles, out: Headline, names: dict[str, str], several: bool) -> None:
    """The first year after tax (after_tax.csv, written when a site's [plan] sets a tax)."""
    table = run.get("after_tax.csv")
    if table is None:
        return
    for row in table.to_dict("records"):
        tag = f"{names.get(row['site_id'], row['site_id'])}: " if several else ""
        out.lines.append(Line(f"{tag}net per year after tax, first year (USD)",
                              float(row["after_tax_net_usd_per_year"]), "net_usd"))
        out.lines.append(Line(f"{tag}first year's taxes (USD)",
                              f"income tax {0.0 - float(row['income_tax_usd_per_year']) + 0.0:,.0f} at "
                              f"{float(row['income_tax_rate_frac']):.1%} of taxable income "
                              f"{float(row['taxable_income_usd_per_year']):,.0f} (after tax depreciation "
                              f"{0.0 - float(row['tax_depreciation_usd_per_year']) + 0.0:,.0f}); property tax "
                              f"{0.0 - float(row['property_tax_usd_per_year']) + 0.0:,.0f}"))


def capture_lines(capture: pd.DataFrame | None, names: dict, several: bool) -> list[Line]:
    """``mining_capture.csv`` (solve, decide): the share of the plan's mining value a threshold rule earned."""
    if capture is None or not {"site_id", "mining_capture_frac", "resolution_minutes", "note"} <= set(capture.columns):
        return []
    lines = []
    for row in capture.to_dict("records"):
        tag = f"{names.get(row['site_id'], row['site_id'])}: " if several else ""
        frac, note = row["mining_capture_frac"], row["note"] if isinstance(row["note"], str) else ""
        if isinstance(frac, float) and math.isfinite(frac):
            text = (f"mining revenue assumes perfect hourly foresight; a {float(row['resolution_minutes']):g}-minute "
                    f"threshold rule earned {frac:.1%} of it on this history" + (f" ({note})" if note else ""))
        else:
            text = f"not computed ({note})"
        lines.append(Line(f"{tag}mining capture", text))
    return lines


def _plan(run: RunFiles, out: Headline) -> None:
    plan = run.get("plan.csv")
    years = plan["year"].astype(int)
    out.lines.append(Line("horizon", f"{years.min()} to {years.max()} ({years.nunique()} plan years)"))
    for site_id, rows in plan.groupby("site_id", sort=False):
        rows = rows.sort_values("year")
        ai = rows["ai_it_mw"].astype(float)
        online = rows[ai > 0]
        if len(online):
            decision = (f"AI {ai.max():,.1f} IT MW online from {int(online['year'].iloc[0])}; mining "
                        f"{float(rows['mining_it_mw'].iloc[0]):,.1f} IT MW in {int(rows['year'].iloc[0])}, "
                        f"{float(rows['mining_it_mw'].iloc[-1]):,.1f} in {int(rows['year'].iloc[-1])}")
        else:
            decision = "stay all mining: no AI conversion"
        out.lines.append(Line(f"{site_id}: decision", decision))
        if "net_usd" in rows.columns:
            out.lines.append(Line(f"{site_id}: net per year, average (USD, undiscounted)",
                                  float(rows["net_usd"].astype(float).mean()), "net_usd"))
    summary = run.get("plan_summary.csv")
    if summary is None:
        return
    for row in summary.to_dict("records"):
        scope = row.get("scope", "")
        for column, value in row.items():
            if column == "scope":
                continue
            if value is None or (isinstance(value, float) and math.isnan(value)):
                value = "never (or nothing converts)" if column == "payback_years" else "not defined"
            out.lines.append(Line(f"{scope}: {column_label(column)}", value, column))
        conversion = row.get("conversion_npv_usd")
        if isinstance(conversion, float) and math.isfinite(conversion):
            verb = "beats" if conversion > 0 else "does not beat"
            after = row.get("conversion_after_tax_npv_usd")
            taxed = (f" ({after:,.0f} USD of after-tax NPV, the equity's)"
                     if isinstance(after, float) and math.isfinite(after) and abs(after - conversion) > 0.5 else "")
            out.reasons.append(f"{scope}: the plan {verb} business as usual (all mining) by "
                               f"{abs(conversion):,.0f} USD of NPV{taxed}")


def _sweep(run: RunFiles, out: Headline) -> None:
    from .charts import varied_columns

    sweep = run.get("sweep.csv")
    ok = sweep[sweep["status"].astype(str) == "optimal"] if "status" in sweep.columns else sweep
    dates = manifest_horizon(run)
    if dates is not None:
        out.lines.append(dates)
    if "hours" in sweep.columns and len(sweep):
        hours = sorted({int(h) for h in sweep["hours"].dropna()})
        out.lines.append(Line("hours per scenario", f"{', '.join(f'{h:,}' for h in hours)} "
                                                    "(the site file's price horizon)"))
    out.lines.append(Line("scenarios", f"{len(sweep):,} ({len(ok):,} optimal)"))
    if not len(ok):
        return
    ai = ok["ai_it_mw"].astype(float)
    out.lines.append(Line("decision", f"AI {ai.min():,.1f} to {ai.max():,.1f} IT MW (median {ai.median():,.1f}); "
                                      f"AI takes some MW in {(ai > 1e-6).sum():,} of {len(ok):,} scenarios"))
    if {"net_usd", "hours"} <= set(ok.columns):
        per_year = ok["net_usd"].astype(float) * HOURS_PER_YEAR / ok["hours"].astype(float)
        out.lines.append(Line("net per year, median (USD)", float(per_year.median()), "net_usd"))
        out.lines.append(Line("net per year, 10th to 90th percentile (USD)",
                              f"{per_year.quantile(0.1):,.0f} to {per_year.quantile(0.9):,.0f}"))
    swings = []
    for column in varied_columns(ok):
        means = ok.groupby(ok[column].astype(str))["ai_it_mw"].mean()
        swings.append((float(means.max() - means.min()), column))
    for swing, column in sorted(swings, reverse=True):
        out.reasons.append(f"{column_label(column)} moves the mean AI IT MW by {swing:,.1f} MW across its values")


def _breakeven(run: RunFiles, out: Headline) -> None:
    dates = manifest_horizon(run) if run.get("sweep.csv") is None else None  # a sweep said it already
    if dates is not None:
        out.lines.append(dates)
    sensitivity = run.get("sensitivity.csv")
    if sensitivity is not None and len(sensitivity):
        base = sensitivity[sensitivity["level"].astype(str) == "base"]
        for site_id, rows in base.groupby("site_id", sort=False):
            row = rows.iloc[0]
            out.lines.append(Line(f"{site_id}: base split",
                                  f"AI {float(row['ai_it_mw']):,.1f} IT MW, mining {float(row['mining_it_mw']):,.1f} "
                                  "IT MW"))
            out.lines.append(Line(f"{site_id}: base net over the horizon (USD)", float(row["net_usd"]), "net_usd"))
    breakeven = run.get("breakeven.csv")
    if breakeven is None:
        return
    for row in breakeven.to_dict("records"):
        unit = value_unit(row["parameter"])
        value = float(row["breakeven_value"])
        out.reasons.append(
            f"{row['site_id']}: {row['parameter']} breaks even at "
            f"{f'{value * 100:.4g}%' if unit == '%' else number_text(value) + (' ' + unit if unit else '')}: "
            f"below it AI {float(row['below_ai_it_mw']):,.1f} / mining {float(row['below_mining_it_mw']):,.1f} "
            f"IT MW, above it AI {float(row['above_ai_it_mw']):,.1f} / mining "
            f"{float(row['above_mining_it_mw']):,.1f} IT MW")
    if not len(breakeven):
        out.reasons.append("no parameter changes the split within its searched range")


def number_text(value: float) -> str:
    """A parameter value for a sentence: ``127,424``, ``92.65``, ``8.202e+13``."""
    size = abs(value)
    if size >= 1e12 or (0 < size < 1e-3):
        return f"{value:.4g}"
    return f"{value:,.0f}" if size >= 1000 else f"{value:,.4g}"


def _decide(run: RunFiles, out: Headline) -> None:
    """``allocator decide``: the split for many futures, its expected net, CVaR (risk-averse), VSS and EVPI."""
    from .decide_words import sentences

    dates = manifest_horizon(run)
    if dates is not None:
        out.lines.append(dates)
    decision, candidates, summary = run.get("decision.csv"), run.get("candidates.csv"), run.get("summary.csv")
    names = run.site_names()
    several = decision["site_id"].nunique() > 1
    for site_id in dict.fromkeys(decision["site_id"]):
        tag = f"{names.get(site_id, site_id)}: " if several else ""
        rows = decision[decision["site_id"] == site_id]
        total = dict(zip(rows.loc[rows["kind"] == "total", "name"], rows.loc[rows["kind"] == "total", "it_mw"],
                         strict=True))
        parts = [f"{r.name} {float(r.it_mw):,.1f}" for r in rows.itertuples(index=False) if r.kind != "total"]
        out.lines.append(Line(f"{tag}decision", f"AI {float(total.get('ai', 0.0)):,.1f} IT MW, mining "
                                                f"{float(total.get('mining', 0.0)):,.1f} IT MW ({', '.join(parts)})"))
        metric = summary[summary["site_id"] == site_id].set_index("metric")["value"]
        chosen = candidates[(candidates["site_id"] == site_id)
                            & (candidates["candidate"].astype(str) == "stochastic")]
        if len(chosen):
            row = chosen.iloc[0]
            out.lines.append(Line(f"{tag}expected net per year (USD, over {int(_number(metric.get('scenarios')) or 0)} "
                                  "futures)", float(row["expected_net_usd_per_year"]), "net_usd"))
            weight = _number(metric.get("risk_weight_frac")) or 0.0
            if weight > 0:
                alpha = _number(metric.get("risk_alpha_frac")) or 0.0
                out.lines.append(Line(f"{tag}CVaR: net per year in the worst {alpha:.0%} of futures (USD; "
                                      f"risk weight {weight:.0%})", float(row["cvar_net_usd_per_year"]), "net_usd"))
        for key, label in (("vss_usd_per_year", "VSS: worth of deciding for the range of futures (USD per year)"),
                           ("evpi_usd_per_year", "EVPI: most that perfect foresight is worth (USD per year)")):
            value = _number(metric.get(key))
            value = value if value is not None else "not defined"
            out.lines.append(Line(f"{tag}{label}", value, "net_usd"))
        out.reasons += [f"{tag}{text}" for text in sentences(site_id, summary, candidates)]
    out.lines += capture_lines(run.get("mining_capture.csv"), names, several)


def _number(value: object) -> float | None:
    """A float from a cell that may be a number, numeric text or empty (summary.csv's mixed ``value``)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
