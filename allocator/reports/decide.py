"""The run folder of ``allocator decide`` and its ``--report html,xlsx``: the decision in one page and one workbook.

:func:`write_decision` writes decision.csv, scenarios.csv, candidates.csv and
summary.csv, then manifest.json, then the asked-for reports (recorded under
the manifest's ``reports``, so ``allocator report DIR`` may rewrite them), into
a hidden folder published by one rename
(:class:`~allocator.reports.run_folder.RunFolder`).

Both reports read only the run folder's tables and manifest. They open with the
summary block every report shares (:mod:`allocator.reports.headline`: the site
files' dates, the decision, expected net per year, CVaR when risk-averse, VSS
and EVPI, then the reasons in words); the page then shows, per site, the split,
the distribution of annual net under it (a histogram, the CVaR tail in red) and
the candidates side by side, with the run info (versions, hashes) collapsed at
the end. The workbook's first sheet is that summary, then one sheet per table
(summary.csv's as ``metrics``), ``run_info`` last. Text cells a spreadsheet
would run as formulas are escaped.
"""

from __future__ import annotations

import hashlib
import html
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..csv_files import escape_frame, write_csv
from ..file_hash import sha256_file
from ..whatif.decide import SiteDecision, candidates_table, decision_table, scenarios_table, summary_table
from ..whatif.decide_scenarios import ScenarioSet
from .decide_words import _m, sentences
from .run_files import RunFiles

REPORTS = ("html", "xlsx")


def parse_reports(text: str | None) -> list[str]:
    """``"html,xlsx"`` -> ``["html", "xlsx"]``; raise :class:`InputError` on an unknown kind."""
    from ..errors import InputError, Problem

    if not text:
        return []
    kinds = [k.strip().lower() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in REPORTS]
    if bad or not kinds:
        raise InputError([Problem(f"--report {text}", f"unknown report kind {', '.join(bad) or '(none)'}.",
                                  "Use --report html, --report xlsx or --report html,xlsx.")], "--report")
    return list(dict.fromkeys(kinds))


def _histogram_svg(net: np.ndarray, prob: np.ndarray, tail: np.ndarray, expected: float, cvar_value: float) -> str:
    """An inline SVG histogram of annual net [USD/year], probability-weighted; tail bars in red."""
    width, height, pad = 640, 220, 40
    lo, hi = float(net.min()), float(net.max())
    if hi - lo < 1.0:
        lo, hi = lo - 1.0, hi + 1.0
    n_bins = int(min(30, max(5, np.sqrt(net.size) * 2)))
    edges = np.linspace(lo, hi, n_bins + 1)
    which = np.clip(np.searchsorted(edges, net, side="right") - 1, 0, n_bins - 1)
    mass = np.bincount(which, weights=prob, minlength=n_bins)
    tail_mass = np.bincount(which, weights=prob * tail, minlength=n_bins)
    top = float(mass.max()) or 1.0

    def x(v: float) -> float:
        return pad + (v - lo) / (hi - lo) * (width - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             'aria-label="distribution of annual net">']
    bar_w = (width - 2 * pad) / n_bins
    for k in range(n_bins):
        h_all = mass[k] / top * (height - 2 * pad)
        h_tail = tail_mass[k] / top * (height - 2 * pad)
        x0 = pad + k * bar_w
        parts.append(f'<rect x="{x0:.1f}" y="{height - pad - h_all:.1f}" width="{bar_w - 1:.1f}" '
                     f'height="{h_all:.1f}" fill="#7a9cc6"/>')
        if h_tail > 0:
            parts.append(f'<rect x="{x0:.1f}" y="{height - pad - h_tail:.1f}" width="{bar_w - 1:.1f}" '
                         f'height="{h_tail:.1f}" fill="#c0392b"/>')
    for value, label, colour in ((expected, "expected", "#222"), (cvar_value, "CVaR", "#c0392b")):
        parts.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{pad - 10}" y2="{height - pad}" '
                     f'stroke="{colour}" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x(value) + 3:.1f}" y="{pad - 12}" font-size="11" fill="{colour}">'
                     f'{label} {html.escape(_m(value))}</text>')
    parts.append(f'<text x="{pad}" y="{height - 12}" font-size="11">{html.escape(_m(lo))}</text>')
    parts.append(f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">'
                 f'{html.escape(_m(hi))} a year</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(frame: pd.DataFrame) -> str:
    return escape_frame(frame).to_html(index=False, float_format=lambda v: f"{v:,.2f}", na_rep="",
                                       escape=True, border=0, classes="t")


def run_files(folder: Path, tables: dict[str, pd.DataFrame], manifest_data: dict) -> RunFiles:
    """The decide run folder as the other reports see one (:class:`RunFiles`), from the tables in memory."""
    return RunFiles(folder, folder.name, {f"{k}.csv": v for k, v in tables.items()}, manifest_data)


def _flags(column: pd.Series) -> np.ndarray:
    """A True/False column, in memory (bool) or read back from the CSV (text ``"True"``/``"False"``)."""
    if column.dtype == bool:
        return column.to_numpy()
    return column.astype(str).str.strip().str.lower().isin(["true", "1", "1.0"]).to_numpy()


def write_html(run: RunFiles, path: Path) -> None:
    """report.html: the summary block (headline.py), then per site the split, the net distribution with its tail,
    the candidates; the run info (versions, hashes) collapsed at the end."""
    from .headline import headline
    from .html import STYLE, _run_info, _summary

    decision, scenarios, candidates = (run.get(f"{k}.csv") for k in ("decision", "scenarios", "candidates"))
    body = ["<h1>One split for many futures</h1>", _summary(headline(run))]
    for site_id in decision.site_id.unique():
        sc = scenarios[scenarios.site_id == site_id]
        c = candidates[candidates.site_id == site_id]
        sto = c.set_index("candidate").loc["stochastic"]
        body.append(f"<h2>{html.escape(str(site_id))}</h2>")
        body.append("<h3>The decision [IT MW]</h3>" + _table(decision[decision.site_id == site_id].drop(columns="site_id")))
        body.append("<h3>Annual net under it, over the futures [USD/year] (the CVaR tail in red)</h3>")
        body.append(_histogram_svg(sc.net_usd_per_year.to_numpy(float), sc.probability_frac.to_numpy(float),
                                   _flags(sc.in_tail), float(sto.expected_net_usd_per_year),
                                   float(sto.cvar_net_usd_per_year)))
        body.append("<h3>Candidates side by side [USD/year]</h3>" + _table(c.drop(columns="site_id")))
    body.append(_run_info(run))
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>allocator decide: "
            f"{html.escape(run.name)}</title>\n<style>{STYLE}table.t{{border-collapse:collapse}}table.t td,table.t th"
            "{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)


def write_xlsx(run: RunFiles, path: Path) -> None:
    """report.xlsx: the summary sheet (as every report's), then one sheet per table (summary.csv's as ``metrics``),
    run_info last."""
    from openpyxl import Workbook

    from .excel import _write_sheet, _write_summary, run_info, summary_frame

    book = Workbook(write_only=True)
    _write_summary(book, summary_frame(run))
    for name in ("decision", "candidates", "summary", "scenarios", "mining_capture"):
        if run.get(f"{name}.csv") is not None:
            _write_sheet(book, name if name != "summary" else "metrics", run.get(f"{name}.csv"))
    if run.manifest:
        _write_sheet(book, "run_info", run_info(run))
    book.save(path)


def write_reports(folder: Path, tables: dict[str, pd.DataFrame], kinds: list[str],
                  manifest_data: dict | None = None) -> None:
    """Write the asked-for reports into ``folder`` (the unpublished run folder)."""
    run = run_files(folder, tables, manifest_data or {})
    if "html" in kinds:
        write_html(run, folder / "report.html")
    if "xlsx" in kinds:
        write_xlsx(run, folder / "report.xlsx")


# ------------------------------------------------------------------ the run folder


def manifest(found: list[SiteDecision], sset: ScenarioSet, seconds: dict[str, float]) -> dict:
    """As ``solve``'s manifest, plus the scenario and distributions files' sha256, the seed and the method."""
    from ..lp.solve import dist_version, solver_version, tool_version

    inputs: dict[str, str] = {}
    for d in found:
        inputs.update(d.inputs_sha256)
    files = {str(sset.path): sha256_file(sset.path)[0]}
    if sset.distributions_path is not None:
        files[str(sset.distributions_path)] = sha256_file(sset.distributions_path)[0]
    definition = json.dumps([[s.id, s.probability_frac, s.values, s.price_sample] for s in sset.scenarios],
                            sort_keys=True, default=str)
    return {
        "tool": "allocator", "command": "decide", "tool_version": tool_version(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(), "pulp_version": dist_version("pulp"),
        "solver": solver_version("highs"), "status": "optimal",
        "objective_usd": sum(d.decision.objective_usd_per_year for d in found),
        "sites": {d.site_id: {"objective_usd_per_year": d.decision.objective_usd_per_year,
                              "site_file": str(d.site_file), "optimality_gap_frac": d.decision.gap_frac,
                              "iterations": d.decision.iterations, **_horizon(d.site_file)} for d in found},
        "inputs_sha256": inputs, "warnings": [w for d in found for w in d.warnings],
        "scenarios_sha256": files, "seed": sset.seed,
        "scenarios_definition_sha256": hashlib.sha256(definition.encode()).hexdigest(),
        "method": found[0].decision.method if found else "",
        "seconds": {k: round(v, 6) for k, v in seconds.items()}, "argv": sys.argv,
    }


def _horizon(site_file: Path) -> dict:
    """``{"horizon": ...}`` of the site file's prices (whatif.manifest.site_horizon), read again (a few ms);
    ``{}`` if the file can no longer be read."""
    from ..errors import InputError
    from ..inputs.site import load_site
    from ..whatif.manifest import site_horizon

    try:
        return {"horizon": site_horizon(load_site(site_file))}
    except (InputError, OSError):
        return {}


def write_decision(found: list[SiteDecision], sset: ScenarioSet, out: Path, force: bool,
                   seconds: dict[str, float], reports: list[str] | None = None,
                   extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write decision.csv, scenarios.csv, candidates.csv, summary.csv, ``extra`` (name -> table, e.g.
    ``mining_capture``) and the asked-for reports, then manifest.json, atomically."""
    from .run_folder import RunFolder

    tables = {"decision": decision_table(found), "scenarios": scenarios_table(found),
              "candidates": candidates_table(found), "summary": summary_table(found), **(extra or {})}
    with RunFolder(out, force) as folder:
        for name, frame in tables.items():
            write_csv(frame, folder.path(f"{name}.csv"))
        data = manifest(found, sset, seconds)
        data["files"] = folder.file_list()
        folder.write_json("manifest.json", data)
        if reports:  # after the manifest, recorded under its "reports" as solve's are (`allocator report` rewrites them)
            write_reports(folder.tmp, tables, reports, data)
            folder.record_reports()
        return folder.publish()
