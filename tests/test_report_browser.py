"""report.html in real headless Chromium: the page loads, every chart decodes and draws pixels."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

from test_cli import invoke
from test_reports import FIXTURES, run_dir  # noqa: F401  (the solved tiny run with its reports)

WIDTH = 1100
HEIGHT = 6400
# Appended to a copy of the report (never to the report itself): on load, record each image's
# decode state and page rectangle, and any error, into the DOM that --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target && e.target.src)), true);
window.addEventListener('load', () => {
  const images = [...document.images].map(img => {
    const r = img.getBoundingClientRect();
    return {ok: img.complete && img.naturalWidth > 0, x: r.left + scrollX, y: r.top + scrollY,
            w: r.width, h: r.height};
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({images, errors: window.__errors, title: document.title});
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH: install Debian's chromium package (.ci/run does: apt-get install chromium)")


def run_chromium(*args: str, profile: Path | None = None) -> subprocess.CompletedProcess:
    """Headless Chromium with its own profile folder (CI may have no usable HOME)."""
    extra = [f"--user-data-dir={profile}"] if profile is not None else []
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars",
                           "--mute-audio", f"--window-size={WIDTH},{HEIGHT}", *extra, *args],
                          capture_output=True, text=True, timeout=120)


def test_report_renders_in_chromium(run_dir, tmp_path):  # noqa: F811
    """The tiny run's report plus the sweep, sensitivity and plan sections: 7 charts."""
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    for name in ("sweep.csv", "sensitivity.csv", "plan.csv", "cashflows.csv"):
        shutil.copy(FIXTURES / name, folder / name)
    assert invoke(["report", str(folder), "--format", "html"])[0] == 0
    page = (folder / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    dom = run_chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "profile")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"the page did not load: {dom.stderr[-2000:]}"
    state = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    assert state["errors"] == []
    assert state["title"] == "allocator report: run"
    assert len(state["images"]) == 7 and all(image["ok"] for image in state["images"])

    shot = tmp_path / "shot.png"
    done = run_chromium(f"--screenshot={shot}", (folder / "report.html").as_uri(), profile=tmp_path / "profile")
    assert shot.exists(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert pixels.shape == (HEIGHT, WIDTH, 3)
    for image in state["images"]:
        assert image["w"] > 300 and image["h"] > 100
        x0, y0 = int(image["x"]), int(image["y"])
        assert y0 + image["h"] <= HEIGHT, "a chart is below the screenshot: raise HEIGHT"
        region = pixels[y0 + 2:y0 + int(image["h"]) - 2, x0 + 2:x0 + int(image["w"]) - 2]
        ink = (region.min(axis=2) < 200).mean()  # share of pixels that are not near-white
        colours = len(np.unique(region.reshape(-1, 3).astype(np.uint8), axis=0))
        assert ink > 0.02 and colours > 20, f"chart at y={y0} looks blank (ink {ink:.3f}, {colours} colours)"
    # the split bar's AI blue (#1f5fbf) and mining orange (#e08a1e) are on screen
    first = state["images"][0]
    bar = pixels[int(first["y"]):int(first["y"] + first["h"]), int(first["x"]):int(first["x"] + first["w"])]
    for rgb in ((0x1F, 0x5F, 0xBF), (0xE0, 0x8A, 0x1E)):
        assert (np.abs(bar - rgb).sum(axis=2) < 30).sum() > 500, f"colour {rgb} not drawn"
    assert not (folder / "probe.html").exists()
