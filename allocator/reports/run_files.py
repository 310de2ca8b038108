"""A run folder read back from its files alone: what the reports draw from.

Numbers are parsed with Python's correctly rounded ``float`` (what the CSV
holds is exactly what the reports show), text cells are un-escaped (the
leading ``'`` that protects a formula-like cell in the CSV is removed; the
workbook stores such cells as typed text instead), ``interval_start_utc``
becomes a timestamp. A folder with missing or unreadable files is an
:class:`InputError` naming each file and how to fix it.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..csv_files import unescape_cell
from ..errors import InputError, Problem
from ..inputs.files import file_problem

# the files of `allocator solve --out`: all of them, or none (a sweep or plan folder)
SOLVE_FILES = ("split.csv", "financials.csv", "dispatch.csv", "leases.csv", "fleets.csv")
OPTIONAL_FILES = ("assumptions.csv", "marginal_values.csv", "sweep.csv", "sensitivity.csv", "breakeven.csv",
                  "plan.csv", "cashflows.csv", "decision.csv", "candidates.csv", "summary.csv", "scenarios.csv")
# files that make a folder a run folder on their own (a sweep, a breakeven, a plan)
RESULT_FILES = ("sweep.csv", "sensitivity.csv", "breakeven.csv", "plan.csv", "decision.csv")
#: the largest result file a report reads [bytes] (dispatch.csv of 50 site-years is about 70 MB)
MAX_RESULT_BYTES = 2 * 2**30
# the columns the reports use, per file (more columns are fine)
REQUIRED_COLUMNS = {
    "split.csv": ("site_id", "facility_mw", "ai_it_mw", "ai_grid_mw", "mining_it_mw", "mining_grid_mw",
                  "ai_share_frac", "mining_share_frac", "mining_energy_mwh", "mining_uptime_frac", "hours",
                  "net_usd"),
    "financials.csv": ("site_id", "item", "usd"),
    "dispatch.csv": ("site_id", "interval_start_utc", "price_usd_per_mwh", "ai_grid_mw", "mining_it_mw",
                     "mining_grid_mw", "curtailed_it_mw"),
    "leases.csv": ("site_id", "tenant", "it_mw"),
    "fleets.csv": ("site_id", "model", "installed_mw", "it_mw", "breakeven_price_usd_per_mwh"),
    "assumptions.csv": ("site_id", "field", "value"),
    "marginal_values.csv": ("site_id", "resource", "value_usd_per_mw_year", "loss_usd_per_mw_year"),
    "sweep.csv": ("ai_it_mw", "mining_it_mw"),
    "sensitivity.csv": ("site_id", "parameter", "level", "value", "net_usd"),
    "breakeven.csv": ("site_id", "parameter", "breakeven_value", "below_ai_it_mw", "below_mining_it_mw",
                      "above_ai_it_mw", "above_mining_it_mw"),
    "plan.csv": ("site_id", "year", "ai_it_mw", "mining_it_mw"),
    "cashflows.csv": ("site_id", "year", "item", "usd"),
    "decision.csv": ("site_id", "kind", "name", "it_mw"),
    "candidates.csv": ("site_id", "candidate", "expected_net_usd_per_year", "cvar_net_usd_per_year"),
    "summary.csv": ("site_id", "metric", "value"),
    "scenarios.csv": ("site_id", "scenario_id", "probability_frac", "net_usd_per_year", "in_tail"),
}
# columns that are text even when every cell looks like a number
TEXT_COLUMNS = frozenset({"site_id", "item", "tenant", "model", "status", "scenario_id", "parameter", "resource",
                          "field", "unit", "source", "error", "scope", "constraint", "kind", "name", "candidate",
                          "metric"})
# columns that are text or numbers cell by cell
MIXED_COLUMNS = frozenset({"value", "level"})


@dataclass
class RunFiles:
    """The tables of one run folder (``None`` where the file is absent).

    Attributes
    ----------
    folder : Path
    name : str
        The run's name for display (the folder name once published).
    tables : dict[str, pd.DataFrame]
        By file name (``"split.csv"``...), columns in file order.
    manifest : dict
        ``manifest.json`` ({} when absent from a folder without ``split.csv``).
    """

    folder: Path
    name: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @property
    def has_solve(self) -> bool:
        return "split.csv" in self.tables

    def timezones(self) -> dict[str, str]:
        """``site.timezone`` of each site from ``assumptions.csv`` (UTC when not recorded)."""
        zones: dict[str, str] = {}
        table = self.get("assumptions.csv")
        if table is not None:
            rows = table[table["field"] == "site.timezone"]
            zones = dict(zip(rows["site_id"], rows["value"].astype(str), strict=True))
        return zones

    def site_names(self) -> dict[str, str]:
        """``site.name`` of each site from ``assumptions.csv`` (the id when not recorded)."""
        table = self.get("assumptions.csv")
        if table is None:
            return {}
        rows = table[table["field"] == "site.name"]
        return dict(zip(rows["site_id"], rows["value"].astype(str), strict=True))


def read_run(folder: Path, name: str | None = None) -> RunFiles:
    """Read every result file of ``folder``; raise :class:`InputError` listing each problem.

    ``name`` is the run's display name (default: the folder's name).
    """
    folder = Path(folder)
    where = str(folder)
    if not folder.is_dir():
        raise InputError([Problem(where, "is not a run folder (no such directory)." if not folder.exists()
                                  else "is a file, not a run folder.",
                                  "Give the --out folder of `allocator solve`.")], where)
    present = {p.name for p in folder.iterdir() if p.is_file()}
    problems: list[Problem] = []
    for file_name in SOLVE_FILES + OPTIONAL_FILES + ("manifest.json",):  # a FIFO, device or huge file: refused
        if file_name in present or (folder / file_name).exists():
            problem = file_problem(folder / file_name, str(folder / file_name), MAX_RESULT_BYTES,
                                   "Re-run the command that wrote it.")
            if problem is not None:
                problems.append(problem)
    if problems:
        raise InputError(problems, where)
    solve_present = [n for n in SOLVE_FILES if n in present]
    if solve_present:
        for file_name in SOLVE_FILES + ("manifest.json",):
            if file_name not in present:
                problems.append(Problem(f"{folder / file_name}", "is missing: the run folder is incomplete.",
                                        "Re-run `allocator solve ... --out DIR --force`."))
    elif not any(n in present for n in RESULT_FILES):
        problems.append(Problem(where, "holds no result files (split.csv, sweep.csv, sensitivity.csv, breakeven.csv, decision.csv "
                                "or plan.csv).",
                                "Give the --out folder of `allocator solve` (or of a sweep or plan)."))
    if problems:
        raise InputError(problems, where)
    run = RunFiles(folder, name or folder.name)
    others = sorted(n for n in present if n.endswith(".csv") and n not in SOLVE_FILES + OPTIONAL_FILES)
    for file_name in SOLVE_FILES + OPTIONAL_FILES + tuple(others):  # every table: the workbook shows them all
        if file_name in present:
            try:
                table = read_table(folder / file_name)
            except (OSError, UnicodeDecodeError, csv.Error, ValueError) as err:
                problems.append(Problem(str(folder / file_name), f"cannot be read ({err}).",
                                        "Re-run the command that wrote it."))
                continue
            missing = [c for c in REQUIRED_COLUMNS.get(file_name, ()) if c not in table.columns]
            if missing:
                problems.append(Problem(str(folder / file_name), f"has no column {', '.join(missing)}.",
                                        "Re-run the command that wrote it (an older or edited file?)."))
            run.tables[file_name] = table
    if "manifest.json" in present:
        try:
            run.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            problems.append(Problem(str(folder / "manifest.json"), f"is not valid JSON ({err}).",
                                    "Re-run `allocator solve ... --out DIR --force`."))
    if problems:
        raise InputError(problems, where)
    return run


def read_table(path: Path) -> pd.DataFrame:
    """One CSV of a run folder with typed columns (see the module docstring)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError("the file is empty")
    header, body = rows[0], rows[1:]
    bad = [i for i, row in enumerate(body, start=2) if len(row) != len(header)]
    if bad:
        raise ValueError(f"{len(bad)} line(s) do not have the header's {len(header)} cells, first line {bad[0]}")
    columns = list(zip(*body, strict=True)) if body else [()] * len(header)
    return pd.DataFrame({name: typed_column(name, list(cells)) for name, cells in zip(header, columns, strict=True)},
                        columns=header)


def typed_column(name: str, cells: list[str]) -> pd.Series:
    """Text, numbers or UTC timestamps, by the column's name and content."""
    if name == "interval_start_utc":
        return pd.Series(pd.to_datetime(cells, utc=True, format="ISO8601"), dtype="datetime64[ns, UTC]")
    if name in TEXT_COLUMNS:
        return pd.Series([unescape_cell(c) for c in cells], dtype=object)
    if name not in MIXED_COLUMNS:
        fast = _all_numbers(cells)
        if fast is not None:
            return fast
    parsed = [number(c) for c in cells]
    if name in MIXED_COLUMNS:
        return pd.Series([p if p is not None else unescape_cell(c) for p, c in zip(parsed, cells, strict=True)],
                         dtype=object)
    if all(p is not None for p, c in zip(parsed, cells, strict=True) if c.strip()):  # empty cells: no value
        return pd.Series([float("nan") if p is None else float(p) for p in parsed], dtype="float64")
    return pd.Series([p if p is not None else (None if c == "" else unescape_cell(c))
                      for p, c in zip(parsed, cells, strict=True)], dtype=object)


_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _all_numbers(cells: list[str]) -> pd.Series | None:
    """An int64 or float64 column if every cell is a plain decimal number, else None."""
    if not cells:
        return pd.Series([], dtype="float64")
    if all(_INT.fullmatch(c) for c in cells):
        return pd.Series([int(c) for c in cells], dtype="int64")
    if all(_FLOAT.fullmatch(c) for c in cells):
        return pd.Series(list(map(float, cells)), dtype="float64")  # Python's float: correctly rounded
    return None


def number(cell: str) -> int | float | None:
    """An int or float for a numeric cell (``"7200"``, ``"1.5e3"``), else ``None``."""
    text = cell.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if text.lower() not in ("nan", "inf", "-inf", "infinity", "-infinity", "+inf") else None
