"""``allocator operate --report html``: the day's chart renders in headless Chromium, risk hours shaded."""

from __future__ import annotations

import json
import re

import numpy as np
from conftest import write_site
from PIL import Image
from test_peak_risk import hand_load
from test_report_browser import HEIGHT, PROBE, WIDTH, run_chromium

from allocator.cli import main

# the 4CP risk hours' shade (#f4b183 at alpha 0.45 over white), as Chromium draws the PNG
SHADE_RGB = (250, 220, 199)


def _operate(tmp_path, with_load: bool):
    load = hand_load()
    load.to_frame("system_load_mw").rename_axis("interval_start").to_csv(tmp_path / "load.csv")
    doc = {"site": {"interconnect_mw": 100.0}, "prices": {"adder_usd_per_mwh": 5.0},
           "mining": {"pue": 1.25, "hashprice_usd_per_ph_day": 48.0,
                      "fleet": [{"model": "A", "efficiency_j_per_th": 20.0, "mw": 40.0}]},
           "coincident_peak": {"charge_usd_per_mw_year": 400.0, "intervals": ["2023-06-03T12:00"]}}
    path = write_site(tmp_path, [20.0 + k for k in range(24)], doc, start="2023-06-03T00:00:00Z")
    out = tmp_path / ("with" if with_load else "without")
    args = ["operate", str(path), "--day", "2023-06-03", "--report", "html", "--out", str(out)]
    assert main(args + (["--peak-load", str(tmp_path / "load.csv")] if with_load else [])) == 0
    return out


def _render(page, tmp_path, name):
    probe = tmp_path / f"{name}_probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    dom = run_chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "profile")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"the page did not load: {dom.stderr[-2000:]}"
    state = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    shot = tmp_path / f"{name}.png"
    run_chromium(f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile")
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert pixels.shape == (HEIGHT, WIDTH, 3)
    (image,) = state["images"]
    assert state["errors"] == [] and image["ok"] and image["w"] > 300 and image["h"] > 200
    chart = pixels[int(image["y"]):int(image["y"] + image["h"]), int(image["x"]):int(image["x"] + image["w"])]
    return state, chart


def test_operate_report_renders_with_the_risk_hours_shaded(tmp_path):
    out = _operate(tmp_path, True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "report.html" in manifest["files"] and manifest["report"] == "html"
    state, chart = _render(out / "report.html", tmp_path, "with")
    assert state["title"] == "allocator operate: tiny"
    shaded = (np.abs(chart - SHADE_RGB).sum(axis=2) < 12).sum()
    assert shaded > 2000  # two risk hours (16:00, 17:00) of a 24-hour axis, on both panels
    ink = (chart.min(axis=2) < 200).mean()
    assert ink > 0.02

    plain = _operate(tmp_path, False)
    _, chart = _render(plain / "report.html", tmp_path, "without")
    assert (np.abs(chart - SHADE_RGB).sum(axis=2) < 12).sum() < 50
