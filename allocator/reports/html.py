"""``report.html``: one self-contained page with the run's charts and tables.

Charts are PNGs embedded as ``data:`` URIs, the style sheet is inline: the
file opens offline and requests nothing. All text from the run folder (site
ids, tenant and fleet names, manifest values) is escaped with
:func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import charts
from .headline import Headline, headline
from .labels import column_label
from .run_files import RunFiles

MAX_SITE_SECTIONS = 12

STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1000px;
color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
h3{font-size:15px;margin-bottom:4px}.meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px}
th{background:#eef2f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:6px 0}figure{margin:12px 0}
figcaption{font-size:12px;color:#555}.note{font-size:13px;color:#555}
section.summary{background:#f5f8fc;border:1px solid #c9d6e8;border-radius:6px;padding:4px 16px 12px;margin:12px 0}
section.summary table{font-size:14px}section.summary td{border:none;padding:2px 12px 2px 0}
.wide{overflow-x:auto;max-width:100%}details{margin-top:32px}summary{cursor:pointer;font-size:15px;font-weight:600}
"""
# run-folder tables shown as they are, after the detail of the run (file, heading)
MORE_TABLES = (("power_contracts.csv", "Power contracts"), ("coincident_peak.csv", "4CP (coincident peaks)"),
               ("demand_response.csv", "Demand response"), ("tenants.csv", "Tenants placed"),
               ("coupling_prices.csv", "Coupling prices of the shared rows"),
               ("breakeven.csv", "Breakevens"))



def write_html(run: RunFiles, path: Path) -> None:
    """Write the report page of ``run`` to ``path``."""
    Path(path).write_text(render(run), encoding="utf-8")


def render(run: RunFiles) -> str:
    """The whole page as a string."""
    names = run.site_names()
    parts = [_head(run), _summary(headline(run))]
    if run.has_solve:
        parts.append(_solve_sections(run, names))
    if run.get("sweep.csv") is not None or run.get("sensitivity.csv") is not None:
        parts.append(_sweep_section(run, names))
    if run.get("plan.csv") is not None:
        parts.append(_plan_section(run, names))
    parts.append(_more_tables(run))
    parts.append(_run_info(run))
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def _head(run: RunFiles) -> str:
    manifest = run.manifest
    meta = [f"run folder {_e(run.name)}"]
    for key in ("created_utc", "solver", "status", "tool_version"):
        if key in manifest:
            meta.append(f"{_e(key.replace('_', ' '))}: {_e(manifest[key])}")
    meta.append(f"report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>allocator report: {_e(run.name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>allocator report</h1>\n<p class=\"meta\">{' &middot; '.join(meta)}</p>")


def _summary(block: Headline) -> str:
    """The summary block: the headline figures, then the reasons."""
    rows = "".join(f"<tr><th scope=\"row\">{_e(line.label)}</th><td>{_e(_format(line.column, line.value, False))}"
                   "</td></tr>" for line in block.lines)
    out = [f"<section class=\"summary\" id=\"summary\"><h2>Summary: {_e(block.kind)} run</h2>",
           f"<table>{rows}</table>"]
    if block.reasons:
        out.append("<h3>Why</h3><ul>" + "".join(f"<li>{_e(r)}</li>" for r in block.reasons) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def _more_tables(run: RunFiles) -> str:
    out = []
    for name, heading in MORE_TABLES:
        frame = run.get(name)
        if frame is not None and len(frame):
            out += [f"<h2>{_e(heading)}</h2>", _table(frame, None)]
    summary = run.get("plan_summary.csv")
    if summary is not None and len(summary):
        out[:0] = ["<h2>Plan summary</h2>", _table(summary, None)]
    return "\n".join(out)


def _solve_sections(run: RunFiles, names: dict[str, str]) -> str:
    split = run.get("split.csv")
    financials = run.get("financials.csv")
    dispatch = run.get("dispatch.csv")
    fleets = run.get("fleets.csv")
    zones = run.timezones()
    out = ["<h2>The split</h2>",
           "<p class=\"note\">IT MW of each site: AI hosting in front on contract, interruptible mining "
           "behind it. Shares are grid MW (IT MW x PUE) over facility MW.</p>"]
    if len(split):
        out.append(_figure(charts.split_bars(split, names), "AI and mining IT MW per site"))
    out.append(_table(split, ["site_id", "ai_it_mw", "ai_share_frac", "mining_it_mw", "mining_share_frac",
                              "mining_uptime_frac", "mining_energy_mwh", "hours", "net_usd"]))
    pivot = financials.pivot_table(index="item", columns="site_id", values="usd", aggfunc="sum", sort=False)
    pivot = pivot.reindex(columns=list(dict.fromkeys(financials["site_id"])))
    out += ["<h3>Financials (USD over each site's horizon; revenues +, costs -)</h3>",
            "<p class=\"note\">ai_capex_recovery: the AI fit-out capex annualized over its life (capital "
            "recovery factor), not cash; ai_opex and mining_fixed_cost: yearly opex; all prorated to the "
            "horizon.</p>",
            _table(pivot.reset_index(), None, usd_columns=set(pivot.columns), words=False)]
    leases = run.get("leases.csv")
    if len(leases):
        out += ["<h3>Leases</h3>", _table(leases, None)]
    if len(fleets):
        out += ["<h3>Fleets</h3>", _table(fleets, None)]
    marginal = run.get("marginal_values.csv")
    if marginal is not None and len(marginal):
        out += ["<h3>Marginal values (USD per MW-year)</h3>",
                "<p class=\"note\">value: gained by one more MW of the field alone; loss: lost by one MW less "
                "(empty: the field cannot be lowered); lp_dual: the LP's dual, any number between the two when "
                "limits bind together.</p>",
                _table(marginal, None)]
    site_ids = split["site_id"].tolist()
    shown = site_ids[:MAX_SITE_SECTIONS]
    if len(site_ids) > len(shown):
        out.append(f"<p class=\"note\">Charts for the first {len(shown)} of {len(site_ids)} sites; "
                   "every site is in the tables above and in report.xlsx.</p>")
    for site_id in shown:
        label = names.get(site_id, site_id)
        zone = zones.get(site_id, "UTC")
        hours = dispatch[dispatch["site_id"] == site_id]
        out.append(f"<h2>{_e(label)} <span class=\"meta\">({_e(site_id)})</span></h2>")
        out.append(_figure(charts.waterfall(financials[financials["site_id"] == site_id], "Revenue to net"),
                           "Financial waterfall: revenues up, costs down, net at the end"))
        if len(hours):
            out.append(_figure(charts.price_duration(hours, fleets[fleets["site_id"] == site_id],
                                                     "Price duration curve and fleet breakevens"),
                               "Hours sorted by delivered price; a fleet earns more than its power costs "
                               "below its breakeven line (at the median hashprice)"))
            out.append(_figure(charts.mining_heatmap(hours, zone, "Mining IT MW running"),
                               f"Mining by hour of day and day ({_e(zone)}): dark bands are curtailment"))
    return "\n".join(out)


def _sweep_section(run: RunFiles, names: dict[str, str]) -> str:
    out = ["<h2>Sweeps and sensitivities</h2>"]
    split = run.get("split.csv")
    base = dict(zip(split["site_id"], split["net_usd"].astype(float), strict=True)) if split is not None else {}
    sensitivity = run.get("sensitivity.csv")
    breakevens = run.get("breakeven.csv")
    if sensitivity is not None and len(sensitivity):
        for site_id in list(dict.fromkeys(sensitivity["site_id"]))[:MAX_SITE_SECTIONS]:
            rows = sensitivity[sensitivity["site_id"] == site_id]
            label = names.get(site_id, site_id)
            found = breakevens[breakevens["site_id"] == site_id] if breakevens is not None else None
            out.append(_figure(charts.tornado(rows, base.get(site_id), f"{label}: sensitivity of net USD", found),
                               "Net USD over the horizon at each parameter's low and high value (with its unit) "
                               "around the base, widest swing on top"
                               + ("; at the right, where the optimal split changes" if found is not None else "")))
    sweep = run.get("sweep.csv")
    if sweep is not None and len(sweep):
        varied = charts.varied_columns(sweep)
        site_groups = sweep.groupby("site_id", sort=False) if "site_id" in sweep.columns else [("", sweep)]
        for k, (site_id, rows) in enumerate(site_groups):
            if k >= MAX_SITE_SECTIONS:
                break
            label = names.get(site_id, site_id)
            ok = rows[rows["status"].astype(str) == "optimal"] if "status" in rows.columns else rows
            failed = len(rows) - len(ok)
            out.append(f"<h3>{_e(label)}: {len(rows)} scenarios"
                       + (f", {failed} not optimal (left out)" if failed else "") + "</h3>")
            if len(varied) >= 2:
                x, y = sorted(varied, key=lambda c: -rows[c].nunique())[:2]
                out.append(_figure(charts.sweep_heatmap(ok, x, y, f"{label}: optimal AI IT MW"),
                                   f"Optimal AI IT MW over {_e(column_label(x))} and {_e(column_label(y))}"
                                   + (" (mean over the other varied parameters)" if len(varied) > 2 else "")))
            elif len(varied) == 1:
                out.append(_figure(charts.sweep_line(ok, varied[0], f"{label}: split against {varied[0]}"),
                                   f"Optimal IT MW against {_e(column_label(varied[0]))}"))
    return "\n".join(out)


def _plan_section(run: RunFiles, names: dict[str, str]) -> str:
    plan = run.get("plan.csv")
    out = ["<h2>Multi-year plan</h2>"]
    if len(plan):
        out.append(_figure(charts.plan_lines(plan, names, MAX_SITE_SECTIONS), "AI vs mining IT MW by year"))
        out.append(_table(plan, None))
    cashflows = run.get("cashflows.csv")
    if cashflows is not None and len(cashflows):
        pivot = cashflows.pivot_table(index=["site_id", "year"], columns="item", values="usd", aggfunc="sum",
                                      sort=False).reset_index()
        out += ["<h3>Cash flows (USD per year)</h3>",
                _table(pivot, None, usd_columns=set(pivot.columns) - {"site_id", "year"})]
    return "\n".join(out)


def _run_info(run: RunFiles) -> str:
    if not run.manifest:
        return ""
    from .excel import run_info

    info = run_info(run)
    info["value"] = [_format(str(k), v, False) for k, v in zip(info["key"], info["value"], strict=True)]
    return ("<details id=\"run-info\"><summary>Run info: versions, timings, input and file hashes</summary>\n"
            + _table(info, None) + "\n</details>")


def _figure(fig, caption: str) -> str:
    data = base64.b64encode(charts.png(fig)).decode("ascii")
    return (f"<figure><img alt=\"{_e(caption)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _table(frame: pd.DataFrame, columns: list[str] | None, usd_columns: set | None = None,
           words: bool = True) -> str:
    """An HTML table; headers in words with units (:func:`column_label`), the CSV name as their tooltip."""
    frame = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
    usd_columns = usd_columns or set()
    head = "".join(f"<th title=\"{_e(c)}\">{_e(column_label(c) if words else c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            text = _format(str(column), value, column in usd_columns)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(f"<td class=\"num\">{_e(text)}</td>" if numeric else f"<td>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class=\"wide\"><table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table></div>")


def _format(column: str, value: object, usd: bool) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    name = column.rsplit(".", 1)[-1]
    if usd or name == "usd" or name.endswith("_usd"):
        return f"{value:,.0f}" if round(value) != 0 else "0"  # never "-0"
    if name.endswith("_frac"):
        return f"{value:.1%}"
    if name.endswith(("_mw", "_mwh")):
        return f"{value:,.1f}"
    if "_usd_per_" in name or name.endswith(("_j_per_th", "_years")):
        return f"{value:,.2f}"
    if isinstance(value, int) or name in ("year", "hours"):
        return f"{value}"
    return f"{value:,.6g}"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
