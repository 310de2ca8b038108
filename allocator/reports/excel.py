"""``report.xlsx``: the run folder as a workbook for finance (openpyxl).

The first sheet, ``summary``, holds the run's summary block (dates, split or
decision, net per year, plan NPV/IRR/payback and business as usual, then the
reasons: :mod:`allocator.reports.headline`). Then one sheet per CSV file in
the run folder, cell for cell the CSV's values (full precision; number
formats only change how they look), plus a monthly roll-up of the dispatch
and ``run_info`` from ``manifest.json``. Headers are words with units
(:func:`~allocator.reports.labels.column_label`), each with the CSV column
name in its note. Header rows frozen, columns
sized to their content, text cells typed as text (a tenant named ``=SUM(A1)``
is never a formula). openpyxl is imported here only, so ``allocator solve``
without ``--report`` never loads it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .headline import headline
from .labels import column_label
from .run_files import RunFiles

# (sheet, file) in workbook order; files absent from the run folder are skipped, any other CSV of the
# folder follows (sheet named after the file), run_info comes last
SHEETS = (("split", "split.csv"), ("financials", "financials.csv"), ("after_tax", "after_tax.csv"),
          ("marginal_values", "marginal_values.csv"), ("plan_summary", "plan_summary.csv"),
          ("plan", "plan.csv"), ("bau_plan", "bau_plan.csv"), ("cashflows", "cashflows.csv"),
          ("breakeven", "breakeven.csv"), ("sensitivity", "sensitivity.csv"), ("sweep", "sweep.csv"),
          ("leases", "leases.csv"), ("fleets", "fleets.csv"), ("tenants", "tenants.csv"),
          ("coupling_prices", "coupling_prices.csv"), ("power_contracts", "power_contracts.csv"),
          ("coincident_peak_4cp", "coincident_peak.csv"), ("demand_response", "demand_response.csv"),
          ("dispatch", "dispatch.csv"), ("dispatch_monthly", None), ("shadow_prices", "shadow_prices.csv"),
          ("assumptions", "assumptions.csv"))

FORMAT_USD = "#,##0;[Red]-#,##0"
FORMAT_RATE = "#,##0.00"
FORMAT_MW = "#,##0.000"
FORMAT_MWH = "#,##0.0"
FORMAT_FRAC = "0.0%"
FORMAT_TIME = "yyyy-mm-dd hh:mm"
FORMAT_COUNT = "#,##0"
MAX_WIDTH = 48


def number_format(column: str) -> str:
    """The display format of a column, from its name's unit suffix."""
    name = column.rsplit(".", 1)[-1]
    if name.endswith("_utc"):
        return FORMAT_TIME
    if name.endswith("_frac"):
        return FORMAT_FRAC
    if "_usd_per_" in name or name.endswith(("_j_per_th", "_pue")) or name == "pue":
        return FORMAT_RATE
    if name.endswith("_usd") or name == "usd":
        return FORMAT_USD
    if name.endswith("_mwh"):
        return FORMAT_MWH
    if name.endswith("_mw"):
        return FORMAT_MW
    if name in ("hours", "year"):
        return "0" if name == "year" else FORMAT_COUNT
    return "General"


def monthly_dispatch(run: RunFiles) -> pd.DataFrame:
    """Dispatch rolled up by site and calendar month in the site's time zone.

    Columns: ``site_id, month, timezone, hours, price_mean_usd_per_mwh,
    ai_grid_energy_mwh, mining_energy_mwh`` (IT, as in split.csv),
    ``mining_grid_energy_mwh, curtailed_it_energy_mwh`` (hourly MW x 1 h summed).
    """
    dispatch = run.get("dispatch.csv")
    columns = ["site_id", "month", "timezone", "hours", "price_mean_usd_per_mwh", "ai_grid_energy_mwh",
               "mining_energy_mwh", "mining_grid_energy_mwh", "curtailed_it_energy_mwh"]
    if dispatch is None or dispatch.empty:
        return pd.DataFrame(columns=columns)
    zones = run.timezones()
    parts = []
    for site_id, rows in dispatch.groupby("site_id", sort=False):
        zone = zones.get(site_id, "UTC")
        month = rows["interval_start_utc"].dt.tz_convert(zone).dt.strftime("%Y-%m")
        grouped = rows.groupby(month.to_numpy(), sort=True)
        part = pd.DataFrame({
            "site_id": site_id,
            "month": grouped.size().index,
            "timezone": zone,
            "hours": grouped.size().to_numpy(),
            "price_mean_usd_per_mwh": grouped["price_usd_per_mwh"].mean().to_numpy(),
            "ai_grid_energy_mwh": grouped["ai_grid_mw"].sum().to_numpy(),
            "mining_energy_mwh": grouped["mining_it_mw"].sum().to_numpy(),
            "mining_grid_energy_mwh": grouped["mining_grid_mw"].sum().to_numpy(),
            "curtailed_it_energy_mwh": grouped["curtailed_it_mw"].sum().to_numpy(),
        })
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[columns]


def run_info(run: RunFiles) -> pd.DataFrame:
    """``manifest.json`` flattened to ``key, value`` rows (dotted keys; lists joined by spaces).

    Its ``reports`` (the reports written so far, recorded so that ``--force`` may replace them) are left
    out: a report describes the run, and must not change when it is written again."""
    rows: list[tuple[str, object]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            rows.append((prefix, " ".join(str(v) for v in value)))
        elif value is None or isinstance(value, bool):
            rows.append((prefix, json.dumps(value)))
        else:
            rows.append((prefix, value))

    walk("", {k: v for k, v in run.manifest.items() if k != "reports"})
    return pd.DataFrame(rows, columns=["key", "value"])


def sheet_files(run: RunFiles) -> list[tuple[str, str | None]]:
    """``(sheet, file)`` of every sheet after ``summary``, in workbook order, from the files present."""
    known = {name for _, name in SHEETS if name}
    out = [(sheet, name) for sheet, name in SHEETS
           if (name is None and run.has_solve) or (name is not None and run.get(name) is not None)]
    out += [(name.removesuffix(".csv")[:31], name) for name in run.tables if name not in known]
    if run.manifest:
        out.append(("run_info", None))
    return out


def summary_frame(run: RunFiles) -> pd.DataFrame:
    """The summary sheet: ``item, value`` rows of the headline, a blank row, then ``why`` rows."""
    block = headline(run)
    rows: list[tuple[object, object, str]] = [("run", block.kind, "")]
    rows += [(line.label, line.value, line.column) for line in block.lines]
    rows += [("why", reason, "") for reason in block.reasons]
    return pd.DataFrame(rows, columns=["item", "value", "column"])


def write_xlsx(run: RunFiles, path: Path) -> None:
    """Write the workbook of ``run`` to ``path``."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    _write_summary(book, summary_frame(run))
    for sheet, name in sheet_files(run):
        if sheet == "dispatch_monthly":
            frame = monthly_dispatch(run)
        elif sheet == "run_info":
            frame = run_info(run)
        else:
            frame = run.get(name)
        _write_sheet(book, sheet, frame)
    book.save(path)


def _write_summary(book, frame: pd.DataFrame) -> None:
    """The first sheet: the headline figures, each number formatted by its column's unit."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = book.create_sheet("summary")
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["B"].width = 90
    bold = Font(bold=True)
    for k, row in enumerate(frame.itertuples(index=False)):
        label = WriteOnlyCell(sheet, value=str(row.item))
        label.data_type = "s"
        label.font = bold
        value = row.value
        if isinstance(value, float) and math.isnan(value):
            value = None
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        elif value is not None and row.column:
            cell.number_format = number_format(row.column)
        if k == 0:
            cell.font = bold
        sheet.append([label, cell])


def _write_sheet(book, title: str, frame: pd.DataFrame) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    formats = [number_format(str(c)) for c in frame.columns]
    widths = [min(MAX_WIDTH, max(10, len(column_label(str(c))) + 2)) for c in frame.columns]
    columns = [_cells(frame[c]) for c in frame.columns]
    for j, values in enumerate(columns):
        sample = values[:200]
        longest = max((_shown_width(v, formats[j]) for v in sample), default=0)
        widths[j] = min(MAX_WIDTH, max(widths[j], longest + 2))
        sheet.column_dimensions[get_column_letter(j + 1)].width = widths[j]
    from openpyxl.comments import Comment

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    header = []
    for name in frame.columns:
        cell = WriteOnlyCell(sheet, value=column_label(str(name)))
        cell.comment = Comment(f"CSV column: {name}", "allocator", width=240, height=40)
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    template = [WriteOnlyCell(sheet) for _ in frame.columns]
    for cell, fmt in zip(template, formats, strict=True):
        cell.number_format = fmt
    for row in zip(*columns, strict=True) if columns else ():
        out = []
        for j, value in enumerate(row):
            if value is None:
                out.append(None)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            else:
                cell._style = template[j]._style
            out.append(cell)
        sheet.append(out)


def _cells(series: pd.Series) -> list[object]:
    """Plain Python values for openpyxl: floats, ints, str, naive UTC datetimes; None for missing."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return [None if pd.isna(t) else t.to_pydatetime() for t in naive]
    if pd.api.types.is_integer_dtype(series.dtype):
        return [int(v) for v in series.to_numpy()]
    if pd.api.types.is_float_dtype(series.dtype):
        return [None if math.isnan(v) else v for v in series.to_numpy(dtype=float).tolist()]
    out: list[object] = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _shown_width(value: object, fmt: str) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, datetime):
        return 16
    if isinstance(value, float | int):
        if fmt == FORMAT_FRAC:
            return 7
        return len(f"{value:,.3f}") if fmt != "General" else len(repr(value))
    return 8
