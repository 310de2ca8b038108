"""report.xlsx and report.html from a run folder: every workbook cell against the CSVs, escaping, atomicity."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from allocator.reports.charts import tornado_bars
from allocator.csv_files import escape_cell, unescape_cell
from allocator.reports.excel import FORMAT_FRAC, FORMAT_MW, FORMAT_USD
from allocator.reports.labels import column_label
from allocator.reports.run_folder import replace_files
from conftest import REPO, is_number, write_site
from test_cli import invoke

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
TENANT = "+Tenant <b>&</b>"
FLEET = '=HYPERLINK("x")'
HOURS = 96
# a daily peak 16:00-19:59 UTC at $150/MWh, $20 otherwise
PRICES = [150.0 if 16 <= h % 24 < 20 else 20.0 for h in range(HOURS)]
DOC = {
    "site": {"name": "Tiny <Campus>", "timezone": "America/Chicago", "interconnect_mw": 10.0, "facility_mw": 20.0},
    "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
               "fleet": [{"model": FLEET, "efficiency_j_per_th": 20.0, "mw": 15.0},
                         {"model": "S19", "efficiency_j_per_th": 30.0, "mw": 5.0}]},
    "ai": {"pue": 1.25, "convertible_mw": 4.0, "utilization_frac": 0.5,
           "lease": [{"tenant": TENANT, "rate_usd_per_kw_month": 100.0}]},
    "curtailment": [{"start": "2024-02-01T12:00Z", "end": "2024-02-01T15:00Z", "cap_mw": 6.0}],
}
SHEET_FILES = {"split": "split.csv", "financials": "financials.csv", "marginal_values": "marginal_values.csv",
               "leases": "leases.csv", "fleets": "fleets.csv", "dispatch": "dispatch.csv",
               "shadow_prices": "shadow_prices.csv", "assumptions": "assumptions.csv",
               "mining_capture": "mining_capture.csv"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A solved tiny run with both reports (2024-01-31 00:00 UTC + 96 h: crosses a month in site time)."""
    base = tmp_path_factory.mktemp("reports")
    site = write_site(base, PRICES, DOC, start="2024-01-31T00:00:00Z")
    out = base / "run"
    code, stdout, stderr = invoke(["solve", str(site), "--out", str(out), "--report", "html,xlsx"])
    assert code == 0, stderr
    assert "report.html in" in stdout and "report.xlsx in" in stdout
    return out


@pytest.fixture
def plan_run(run_dir, tmp_path) -> Path:
    """The tiny run plus hand-made sweep.csv, sensitivity.csv, plan.csv and cashflows.csv."""
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    for name in ("sweep.csv", "sensitivity.csv", "plan.csv", "cashflows.csv"):
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def assert_sheet_equals_csv(sheet, path: Path) -> None:
    """Every cell: numbers equal float(csv text), text equals the un-escaped CSV text (typed text), times parse."""
    rows = csv_rows(path)
    values = list(sheet.iter_rows())
    assert len(values) == len(rows), f"{sheet.title}: {len(values)} rows vs {len(rows)} in {path.name}"
    # headers are words with units; the CSV column name is in each header's note
    assert [c.value for c in values[0]] == [column_label(name) for name in rows[0]]
    assert [c.comment.text for c in values[0]] == [f"CSV column: {name}" for name in rows[0]]
    for r, (cells, texts) in enumerate(zip(values[1:], rows[1:], strict=True), start=2):
        assert len(cells) == len(texts)
        for cell, text, column in zip(cells, texts, rows[0], strict=True):
            where = f"{sheet.title}!{cell.coordinate} ({column}, line {r} of {path.name})"
            if text == "":
                assert cell.value is None, where
            elif column == "interval_start_utc":
                assert cell.value == datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ"), where
                assert cell.number_format == "yyyy-mm-dd hh:mm", where
            elif is_number(text) and column not in ("site_id", "tenant", "model", "item", "field", "unit"):
                assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool), where
                assert cell.value == float(text), where
            else:
                assert cell.data_type == "s", where
                assert cell.value == unescape_cell(text), where


def test_every_sheet_equals_its_csv(run_dir):
    book = load_workbook(run_dir / "report.xlsx")
    assert book.sheetnames == ["summary", "split", "financials", "marginal_values", "leases", "fleets", "dispatch",
                               "dispatch_monthly", "shadow_prices", "assumptions", "mining_capture", "run_info"]
    # every CSV of the run folder has its sheet
    assert {p.name for p in run_dir.glob("*.csv")} == set(SHEET_FILES.values())
    for sheet, name in SHEET_FILES.items():
        assert_sheet_equals_csv(book[sheet], run_dir / name)
        assert book[sheet].freeze_panes == "A2"
    assert len(csv_rows(run_dir / "dispatch.csv")) == HOURS + 1


def test_number_formats_widths_and_text_never_formulas(run_dir):
    book = load_workbook(run_dir / "report.xlsx")
    summary = book["split"]
    header = [c.comment.text.removeprefix("CSV column: ") for c in summary[1]]
    row = {name: cell for name, cell in zip(header, summary[2], strict=True)}
    assert row["net_usd"].number_format == FORMAT_USD
    assert row["ai_share_frac"].number_format == FORMAT_FRAC
    assert row["ai_it_mw"].number_format == FORMAT_MW
    assert summary.column_dimensions["A"].width >= len("Site")
    assert [c.value for c in summary[1]][3] == "AI IT MW"
    assert book["fleets"].column_dimensions["B"].width >= len(FLEET)
    # the fleet named like a formula and the tenant starting with + are text in the workbook...
    assert [c.value for c in book["fleets"]["B"]][1] == FLEET
    assert book["fleets"]["B2"].data_type == "s"
    assert book["leases"]["B2"].value == TENANT
    # ...and no sheet holds a formula at all (read the XML itself, not openpyxl's view of it)
    with zipfile.ZipFile(run_dir / "report.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 12
        for name in sheets:
            assert "<f>" not in archive.read(name).decode() and "<f " not in archive.read(name).decode()


def test_monthly_rollup_rederived_in_site_time(run_dir):
    book = load_workbook(run_dir / "report.xlsx")
    rows = list(book["dispatch_monthly"].values)
    names = [c.comment.text.removeprefix("CSV column: ") for c in book["dispatch_monthly"][1]]
    monthly = pd.DataFrame(rows[1:], columns=names)
    dispatch = pd.read_csv(run_dir / "dispatch.csv")
    local = pd.to_datetime(dispatch.interval_start_utc, utc=True).dt.tz_convert("America/Chicago")
    # 2024-01-31 00:00 UTC is Jan 30 18:00 CST: 30 hours in January, 66 in February, site time
    assert monthly.month.tolist() == ["2024-01", "2024-02"]
    assert monthly.hours.tolist() == [30, 66]
    assert monthly.timezone.tolist() == ["America/Chicago"] * 2
    for month, group in dispatch.groupby(local.dt.strftime("%Y-%m")):
        got = monthly[monthly.month == month].iloc[0]
        assert got.mining_energy_mwh == pytest.approx(group.mining_it_mw.sum())
        assert got.mining_grid_energy_mwh == pytest.approx(group.mining_grid_mw.sum())
        assert got.ai_grid_energy_mwh == pytest.approx(group.ai_grid_mw.sum())
        assert got.curtailed_it_energy_mwh == pytest.approx(group.curtailed_it_mw.sum())
        assert got.price_mean_usd_per_mwh == pytest.approx(group.price_usd_per_mwh.mean())
    split = pd.read_csv(run_dir / "split.csv")
    assert monthly.mining_energy_mwh.sum() == pytest.approx(split.mining_energy_mwh[0])


def test_assumptions_hold_every_input_with_unit_and_default(run_dir):
    table = pd.read_csv(run_dir / "assumptions.csv", keep_default_na=False, dtype=str).set_index("field")
    assert list(table.columns) == ["site_id", "value", "unit", "source"]
    assert tuple(table.loc["site.interconnect_mw", ["value", "unit", "source"]]) == ("10.0", "MW", "file")
    assert tuple(table.loc["site.facility_mw", ["value", "source"]]) == ("20.0", "file")
    assert tuple(table.loc["ai.lease[0].max_mw", ["value", "unit", "source"]]) == ("4.0", "MW", "default")
    assert tuple(table.loc["ai.discount_rate_frac", ["value", "unit", "source"]]) == ("0.08", "fraction 0..1",
                                                                                      "default")
    assert tuple(table.loc["ai.lease[0].rate_usd_per_kw_month", ["value", "unit"]]) == ("100.0", "USD/kW-month")
    assert table.loc["ai.lease[0].tenant", "value"] == "'" + TENANT  # escaped in the CSV, plain in the workbook
    assert table.loc["mining.fleet[1].efficiency_j_per_th", "unit"] == "J/TH"
    assert tuple(table.loc["curtailment[0].cap_mw", ["value", "unit"]]) == ("6.0", "MW")
    assert table.loc["prices.fill", "source"] == "not given"
    # optional extension tables the site does not use (docs/power.md, docs/plan.md)
    assert table.loc[["power", "coincident_peak", "plan"], "source"].tolist() == ["not given"] * 3
    # every field: site 4, prices 11, mining 7 + 2 fleets x 3, ai 9 + 1 lease x 4, 1 curtailment x 3, 3 tables
    assert len(table) == 4 + 11 + 7 + 2 * 3 + 9 + 4 + 3 + 3
    assert tuple(table.loc["prices.time_label", ["value", "source"]]) == ("start", "default")


def test_run_info_is_the_manifest(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    rows = dict(list(load_workbook(run_dir / "report.xlsx")["run_info"].values)[1:])
    assert rows["solver"] == manifest["solver"] and rows["status"] == "optimal" and rows["command"] == "solve"
    assert rows["objective_usd"] == manifest["objective_usd"]
    for path, digest in manifest["inputs_sha256"].items():
        assert rows[f"inputs_sha256.{path}"] == digest
    assert rows["argv"] == " ".join(manifest["argv"])
    assert (rows["warnings"] or "") == " ".join(manifest["warnings"])  # an empty cell reads back as None
    for site_id, record in manifest["sites"].items():  # objective, hours, site file, reason, the solving method
        assert rows[f"sites.{site_id}.method"] == record["method"] and record["method"]
    assert len(rows) == (11 + len(manifest["sites"]) * 5 + len(manifest["inputs_sha256"]) + len(manifest["seconds"])
                         + 2 * len(manifest["files"]))  # files: bytes and sha256 of each result file


def test_html_is_self_contained_and_escaped(run_dir):
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page and "url(" not in page
    sources = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert len(sources) == 4  # split bars, waterfall, price duration, heatmap
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "+Tenant &lt;b&gt;&amp;&lt;/b&gt;" in page and "<b>&</b>" not in page
    assert "Tiny &lt;Campus&gt;" in page and "<Campus>" not in page
    assert "=HYPERLINK(&quot;x&quot;)" in page
    assert "<title>allocator report: run</title>" in page  # the published name, not the temporary folder
    marginal = pd.read_csv(run_dir / "marginal_values.csv")
    assert "<h3>Marginal values (USD per MW-year)</h3>" in page
    assert "<th title=\"loss_usd_per_mw_year\">Loss (USD/MW-year)</th>" in page and "lease:+Tenant &lt;b&gt;&amp;&lt;/b&gt;:max_mw" in page
    assert len(marginal) == 5  # interconnect, facility, convertible, the tenant's min and max


def test_sweep_sensitivity_and_plan_sections(plan_run):
    code, _, stderr = invoke(["report", str(plan_run)])
    assert code == 0, stderr
    book = load_workbook(plan_run / "report.xlsx")
    assert book.sheetnames == ["summary", "split", "financials", "marginal_values", "plan", "cashflows", "sensitivity",
                               "sweep", "leases", "fleets", "dispatch", "dispatch_monthly", "shadow_prices",
                               "assumptions", "mining_capture", "run_info"]
    for name in ("sweep", "sensitivity", "plan", "cashflows"):
        assert_sheet_equals_csv(book[name], plan_run / f"{name}.csv")
    page = (plan_run / "report.html").read_text(encoding="utf-8")
    assert "Sweeps and sensitivities" in page and "Multi-year plan" in page
    # 4 solve charts + tornado + sweep heatmap + plan lines
    assert page.count("data:image/png;base64,") == 7
    assert "1 not optimal (left out)" in page
    assert ("Optimal AI IT MW over mining: Hashprice (USD/PH-day) and ai.lease[0]: Rate (USD/kW-month)"
            in page)


def test_tornado_bars_from_the_fixture():
    sensitivity = pd.read_csv(FIXTURES / "sensitivity.csv")
    base, bars = tornado_bars(sensitivity, base_net_usd=1.0)  # the file's base rows win over split.csv
    assert base == 11000.0
    # hashprice swings 9,000..14,500 (5,500), the lease rate 10,200..11,900 (1,700): widest first
    assert bars == [("mining.hashprice_usd_per_ph_day", 36.0, 9000.0, 60.0, 14500.0),
                    ("ai.lease[0].rate_usd_per_kw_month", 80.0, 10200.0, 120.0, 11900.0)]
    without_base = sensitivity[sensitivity.level != "base"]
    assert tornado_bars(without_base, base_net_usd=10500.0)[0] == 10500.0
    # the infeasible high hashprice row is left out; no base given: the median of 9,000, 10,200, 11,900
    base, bars = tornado_bars(without_base.assign(status=["optimal", "infeasible", "optimal", "optimal"]))
    assert base == 10200.0
    assert bars == [("ai.lease[0].rate_usd_per_kw_month", 80.0, 10200.0, 120.0, 11900.0),
                    ("mining.hashprice_usd_per_ph_day", 36.0, 9000.0, 36.0, 9000.0)]


def test_sweep_only_folder_reports_without_split(plan_run, tmp_path):
    folder = tmp_path / "sweep_only"
    folder.mkdir()
    shutil.copy(FIXTURES / "sweep.csv", folder / "sweep.csv")
    code, _, stderr = invoke(["report", str(folder), "--format", "html"])
    assert code == 0, stderr
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "sweep.csv"]
    assert (folder / "report.html").read_text().count("data:image/png;base64,") == 1


def test_bad_folder_exits_1_and_keeps_old_reports(run_dir, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(run_dir, folder)
    before = (folder / "report.xlsx").read_bytes()
    (folder / "fleets.csv").unlink()
    (folder / "manifest.json").unlink()
    code, _, stderr = invoke(["report", str(folder)])
    assert code == 1
    assert "2 problems" in stderr and "fleets.csv: is missing" in stderr and "manifest.json: is missing" in stderr
    assert (folder / "report.xlsx").read_bytes() == before
    assert invoke(["report", str(tmp_path / "nope")])[0] == 1
    (tmp_path / "empty").mkdir()
    code, _, stderr = invoke(["report", str(tmp_path / "empty")])
    assert code == 1 and "holds no result files" in stderr
    code, _, stderr = invoke(["report", str(run_dir), "--format", "pdf"])
    assert code == 1 and "unknown report format 'pdf'" in stderr


def test_broken_csv_is_named(run_dir, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(run_dir, folder)
    (folder / "leases.csv").write_text("site_id,tenant,it_mw\nx,y,1,2,3\n")
    (folder / "split.csv").write_text("site_id,net_usd\ntiny,1.0\n")
    code, _, stderr = invoke(["report", str(folder)])
    assert code == 1 and "2 problems" in stderr
    assert "leases.csv: cannot be read (1 line(s) do not have the header's 3 cells, first line 2)" in stderr
    assert "split.csv: has no column facility_mw, ai_it_mw, ai_grid_mw" in stderr


def test_report_needs_out(tmp_path):
    site = write_site(tmp_path, PRICES[:4], {**DOC, "curtailment": []})
    code, _, stderr = invoke(["solve", str(site), "--report", "html"])
    assert code == 1 and "--report: needs a run folder" in stderr


def test_replace_files_is_all_or_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old a")

    def fail(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        replace_files(tmp_path, {"a.txt": lambda p: p.write_text("new a"), "b.txt": fail})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temporary left, no b.txt
    assert (tmp_path / "a.txt").read_text() == "old a"
    replace_files(tmp_path, {"a.txt": lambda p: p.write_text("new a")})
    assert (tmp_path / "a.txt").read_text() == "new a"


def test_report_regenerates_same_values(run_dir, tmp_path):
    folder = tmp_path / "again"
    shutil.copytree(run_dir, folder)
    code, stdout, _ = invoke(["report", str(folder), "--format", "xlsx"])
    assert code == 0 and "report.xlsx in" in stdout
    a, b = load_workbook(run_dir / "report.xlsx"), load_workbook(folder / "report.xlsx")
    for name in a.sheetnames:
        assert list(a[name].values) == list(b[name].values)


def test_solve_without_report_imports_no_report_libraries(tmp_path):
    site = write_site(tmp_path, PRICES[:4], {**DOC, "curtailment": []})
    code = ("import sys; from allocator.cli import main; rc = main(['solve', sys.argv[1], '--out', sys.argv[2]]); "
            "print(rc, sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(site), str(tmp_path / "run")], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr


@given(st.text(max_size=6))
def test_unescape_inverts_escape(text):
    assert unescape_cell(escape_cell(text)) == text
