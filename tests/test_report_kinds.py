"""Every kind of run folder (solve, portfolio, plan, sweep, breakeven, decide) gets reports that lead with the answer.

The summary block's figures are re-derived here from the CSVs; the page is rendered in headless
Chromium and the block's text must be in what the browser laid out; the sweep heatmap's labels are
checked for WCAG contrast against their own cells.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from allocator.reports import charts
from allocator.reports.headline import headline
from allocator.reports.labels import column_label
from allocator.reports.run_files import read_run
from conftest import REPO
from test_cli import invoke
from test_portfolio import TENANT, ai_site, portfolio
from test_report_browser import HEIGHT, WIDTH, run_chromium
from test_reports import run_dir  # noqa: F401  (the solved tiny run with its reports)

SITE = REPO / "sites" / "west_texas.toml"
RATE = "ai.lease[0].rate_usd_per_kw_month"
HASHPRICE = "mining.hashprice_usd_per_ph_day"


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, run_dir) -> dict[str, Path]:  # noqa: F811
    """One run folder of each kind, with report.html and report.xlsx."""
    base = tmp_path_factory.mktemp("kinds")
    folders = {"solve": run_dir}
    sites = [ai_site(base, "cheap", 1e6), ai_site(base, "dear", 2e6)]
    pf = portfolio(base, "capex_budget_usd = 5e6\n" + TENANT.format(max_mw=10.0))
    folders["portfolio"] = base / "portfolio"
    commands = {
        "portfolio": ["solve", *map(str, sites), "--portfolio", str(pf), "--out", str(folders["portfolio"]),
                      "--report", "html,xlsx"],
        "plan": ["plan", str(SITE), "--out", str(base / "plan")],
        "sweep": ["sweep", str(SITE), "--vary", f"{HASHPRICE}=30:80:4", "--vary", f"{RATE}=80:160:5",
                  "--out", str(base / "sweep"), "--workers", "1"],
        "breakeven": ["breakeven", str(SITE), "--param", RATE, "--points", "5", "--out", str(base / "breakeven")],
        "decide": ["decide", str(SITE), "--scenarios", str(REPO / "scenarios" / "decide_campuses.toml"),
                   "--samples", "12", "--risk-weight", "0.5", "--out", str(base / "decide"), "--report", "html,xlsx"],
    }
    for kind, args in commands.items():
        code, _, err = invoke(args)
        assert code == 0, err
        folders.setdefault(kind, base / kind)
        if kind not in ("portfolio", "decide"):
            code, _, err = invoke(["report", str(folders[kind])])
            assert code == 0, err
    return folders


def test_column_labels_read_as_words_with_units():
    assert column_label("ai_it_mw") == "AI IT MW"
    assert column_label("mining_grid_mw") == "Mining grid MW"
    assert column_label("net_usd") == "Net (USD)"
    assert column_label("ai_share_frac") == "AI share (%)"
    assert column_label("value_usd_per_mw_year") == "Value (USD/MW-year)"
    assert column_label("breakeven_price_usd_per_mwh") == "Breakeven price (USD/MWh)"
    assert column_label("ai.fitout_capex_usd_per_mw") == "ai: Fitout capex (USD/MW)"
    assert column_label("bau_npv_usd") == "Business-as-usual NPV (USD)"
    assert column_label("conversion_irr_frac") == "Conversion IRR (%)"
    assert column_label("after_tax_npv_usd") == "After tax NPV (USD)"  # a column added later still reads


@pytest.mark.parametrize("kind", ["solve", "portfolio", "plan", "sweep", "breakeven", "decide"])
def test_each_report_opens_with_its_summary_and_ends_with_the_hashes(kinds, kind):
    folder = kinds[kind]
    page = (folder / "report.html").read_text(encoding="utf-8")
    summary = page.index('<section class="summary"')
    assert summary < page.index("</section>") < min(page.index(h) for h in ("<h2>The split", "<h2>Sweeps", "<h2>Multi",
                                                                            "<h2>Breakevens", "<h2>west_texas")
                                                    if h in page)
    # the hashes: folded away at the very end, after every table
    if kind != "sweep":  # a sweep folder has sweep.json, no manifest
        details = page.index('<details id="run-info">')
        assert page[details:].count("<table>") == 1 and page.endswith("</details>\n</body>\n</html>\n")
        assert "sha256" not in page[:details]
    book = load_workbook(folder / "report.xlsx")
    assert book.sheetnames[0] == "summary"
    rows = list(book["summary"].values)
    assert rows[0] == ("run", "portfolio" if kind == "portfolio" else kind)
    block = headline(read_run(folder))
    assert len(rows) == 1 + len(block.lines) + len(block.reasons)
    for row, line in zip(rows[1:], block.lines, strict=False):
        assert row[0] == line.label
        assert row[1] == (pytest.approx(line.value) if isinstance(line.value, float) else line.value)
    # every CSV of the folder has a sheet
    sheets = {c.comment.text.removeprefix("CSV column: ") for name in book.sheetnames[1:] if name != "run_info"
              for c in book[name][1][:1]}
    assert sheets  # headers carry notes
    assert len([n for n in book.sheetnames if n not in ("summary", "dispatch_monthly", "run_info")]) == len(
        list(folder.glob("*.csv")))


def test_solve_summary_rederived(run_dir):  # noqa: F811
    """The tiny run: 96 hours from 2024-01-31 00:00 UTC, site time America/Chicago (CST, UTC-6)."""
    split = pd.read_csv(run_dir / "split.csv").iloc[0]
    rows = dict(list(load_workbook(run_dir / "report.xlsx")["summary"].values)[1:])
    assert rows["horizon"].startswith("2024-01-30 18:00 CST to 2024-02-03 17:00 CST")
    assert rows["AI IT MW"] == split.ai_it_mw and rows["mining IT MW"] == split.mining_it_mw
    assert rows["net over the horizon (USD)"] == split.net_usd
    assert rows["net per year (USD, x 8,760 / 96 hours)"] == pytest.approx(split.net_usd * 8760 / 96)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert f"{split.net_usd * 8760 / 96:,.0f}" in page
    # the reason the solve printed is recorded and shown
    reason = json.loads((run_dir / "manifest.json").read_text())["sites"]["tiny"]["reason"]
    assert reason and html.escape(reason) in page
    # the marginal value of each binding resource, from marginal_values.csv
    values = pd.read_csv(run_dir / "marginal_values.csv")
    for r in values[values.value_usd_per_mw_year.abs() > 0.5].itertuples():
        assert html.escape(f"one more MW of {r.resource}: value {r.value_usd_per_mw_year:,.0f} USD/MW-year") in page


def test_plan_summary_shows_every_plan_summary_column(kinds):
    folder = kinds["plan"]
    summary = pd.read_csv(folder / "plan_summary.csv")
    rows = dict(list(load_workbook(folder / "report.xlsx")["summary"].values)[1:])
    for record in summary.to_dict("records"):
        for column, value in record.items():
            if column == "scope":
                continue
            got = rows[f"{record['scope']}: {column_label(column)}"]
            if isinstance(value, float) and math.isnan(value):
                assert got.startswith("never") if column == "payback_years" else got == "not defined"
            else:
                assert got == pytest.approx(value)
    plan = pd.read_csv(folder / "plan.csv")
    assert rows["horizon"] == f"{plan.year.min()} to {plan.year.max()} ({plan.year.nunique()} plan years)"
    first_ai = int(plan[plan.ai_it_mw > 0].year.min())
    assert f"online from {first_ai}" in rows["west_texas: decision"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    npv = summary.npv_usd.iloc[0]
    assert page.index(f"{npv:,.0f}") < page.index("<h2>Multi-year plan")
    assert f"{summary.conversion_irr_frac.iloc[0]:.1%}" in page


def test_breakeven_summary_and_tornado_give_values_with_units(kinds):
    folder = kinds["breakeven"]
    breakeven = pd.read_csv(folder / "breakeven.csv")
    assert len(breakeven) >= 1
    page = (folder / "report.html").read_text(encoding="utf-8")
    summary = page[:page.index("</section>")]
    for value in breakeven.breakeven_value:
        assert f"breaks even at {value:,.4g} USD/kW-month" in summary
    # the tornado writes the breakeven beside its bar
    rows = pd.read_csv(folder / "sensitivity.csv")
    fig = charts.tornado(rows, None, "t", breakeven)
    texts = [t.get_text() for t in fig.axes[0].texts]
    charts.png(fig)
    assert "breakeven " + ", ".join(f"{float(f'{v:.4g}'):g} USD/kW-month" for v in breakeven.breakeven_value) \
        in texts
    assert any(t.strip().endswith("USD/kW-month") and not t.startswith("breakeven") for t in texts)


def test_sweep_heatmap_labels_meet_wcag_contrast(kinds):
    """On the real sweep: every annotated cell's label has contrast >= 4.5:1 with that cell's colour."""
    sweep = pd.read_csv(kinds["sweep"] / "sweep.csv")
    assert len(sweep) == 20 and (sweep.status == "optimal").all()
    fig = charts.sweep_heatmap(sweep, RATE, HASHPRICE, "t")
    ax = fig.axes[0]
    image = ax.images[0]
    grid = image.get_array()
    ratios, other = [], []
    for text in ax.texts:
        j, i = (round(c) for c in text.get_position())
        cell = image.cmap(image.norm(float(grid[i, j])))
        assert text.get_text() == f"{float(grid[i, j]):,.0f}"
        ratios.append(charts.contrast_ratio(text.get_color(), cell))
        other.append(charts.contrast_ratio("black" if text.get_color() == "white" else "white", cell))
    charts.png(fig)
    assert len(ratios) == grid.size == 20
    assert min(ratios) >= 4.5
    assert min(other) < 4.5  # the test can fail: the other colour would be unreadable on some cell
    assert charts.contrast_ratio("black", "white") == pytest.approx(21.0)
    assert charts.contrast_ratio("#777777", "white") == pytest.approx(4.48, abs=0.01)  # WCAG's grey example


PROBE = """<script>
window.addEventListener('load', () => {
  const images = [...document.images].map(img => {
    const r = img.getBoundingClientRect();
    return {ok: img.complete && img.naturalWidth > 0, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height};
  }).concat([...document.querySelectorAll('svg')].map(svg => {  // inline SVG charts (decide's histogram)
    const r = svg.getBoundingClientRect();
    return {ok: svg.childElementCount > 0, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height};
  }));
  const s = document.getElementById('summary').getBoundingClientRect();
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({images, summary: document.getElementById('summary').innerText,
    box: {x: s.left, y: s.top + scrollY, w: s.width, h: s.height}, width: document.documentElement.scrollWidth});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.parametrize("kind", ["solve", "portfolio", "plan", "sweep", "breakeven", "decide"])
def test_each_report_kind_renders_in_chromium(kinds, kind, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(kinds[kind], folder)
    page = (folder / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    dom = run_chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "profile")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"the page did not load: {dom.stderr[-2000:]}"
    state = json.loads(html.unescape(found.group(1)))
    assert state["images"] and all(i["ok"] for i in state["images"])
    assert state["width"] <= WIDTH  # nothing pushed off the side
    # the summary block's text, as the browser laid it out: every label and every figure
    shown = " ".join(state["summary"].split())
    block = headline(read_run(folder))
    for line in block.lines:
        assert " ".join(line.label.split()) in shown
        if isinstance(line.value, float):
            text = (f"{line.value:.1%}" if line.column.endswith("_frac") else
                    f"{line.value:,.0f}" if line.column.endswith("_usd") else
                    f"{line.value:,.2f}" if line.column.endswith("_years") else f"{line.value:,.1f}")
            assert text in shown, (line, shown)
        else:
            assert " ".join(str(line.value).split()) in shown
    for reason in block.reasons:
        assert " ".join(reason.split()) in shown
    assert state["box"]["y"] < 400  # on the first screen

    shot = tmp_path / "shot.png"
    done = run_chromium(f"--screenshot={shot}", (folder / "report.html").as_uri(), profile=tmp_path / "profile")
    assert shot.exists(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert pixels.shape == (HEIGHT, WIDTH, 3)
    box = state["box"]
    region = pixels[int(box["y"]):int(box["y"] + box["h"]), int(box["x"]):int(box["x"] + box["w"])]
    assert (region.min(axis=2) < 120).mean() > 0.01, "the summary block shows no text"
    for image in state["images"]:
        if image["y"] + image["h"] > HEIGHT:
            continue
        region = pixels[int(image["y"]) + 2:int(image["y"] + image["h"]) - 2,
                        int(image["x"]) + 2:int(image["x"] + image["w"]) - 2]
        assert (region.min(axis=2) < 200).mean() > 0.02, f"chart at y={image['y']} looks blank"


def test_portfolio_summary_totals_and_tenants(kinds):
    folder = kinds["portfolio"]
    split = pd.read_csv(folder / "split.csv")
    assert len(split) == 2
    rows = dict(list(load_workbook(folder / "report.xlsx")["summary"].values)[1:])
    assert rows["all sites: AI IT MW"] == pytest.approx(split.ai_it_mw.sum())
    assert rows["all sites: mining IT MW"] == pytest.approx(split.mining_it_mw.sum())
    assert rows["all sites: net per year (USD, each site x 8,760 / its hours)"] == pytest.approx(
        (split.net_usd * 8760 / split.hours).sum())
    for r in split.itertuples():
        assert f"net per year {r.net_usd * 8760 / r.hours:,.0f} USD" in rows[f"{r.site_id}: split"]
    for r in pd.read_csv(folder / "tenants.csv").itertuples():
        assert rows[f"tenant {r.tenant} at {r.site_id}: IT MW"] == pytest.approx(r.it_mw)


@pytest.mark.parametrize("kind", ["sweep", "breakeven", "decide"])
def test_what_if_summaries_state_the_calendar_dates(kinds, kind):
    """The dates come from the manifest's record of the site file's horizon: re-derived from the price file."""
    prices = pd.read_csv(REPO / "sites" / "data" / "ercot_hb_south_hourly.csv")
    times = pd.to_datetime(prices.iloc[:, 0], utc=True)
    manifest = json.loads((kinds[kind] / "manifest.json").read_text())
    horizon = manifest["sites"]["west_texas"]["horizon"]
    assert horizon["intervals"] == len(times)
    assert pd.Timestamp(horizon["first_interval_start_utc"]) == times.min()
    assert pd.Timestamp(horizon["last_interval_start_utc"]) == times.max()
    local = times.dt.tz_convert("America/Chicago")
    rows = dict(list(load_workbook(kinds[kind] / "report.xlsx")["summary"].values)[1:])
    assert rows["horizon (the site file's prices)"].startswith(
        f"{local.min():%Y-%m-%d %H:%M %Z} to {local.max():%Y-%m-%d %H:%M %Z}")
