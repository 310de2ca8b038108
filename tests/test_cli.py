"""End to end through the command line: exit codes, files, nothing written on error."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.cli import main
from conftest import REPO, write_site

PRICES = [20.0, 50.0, 150.0, 80.0]
DOC = {
    "site": {"interconnect_mw": 10.0, "facility_mw": 20.0},
    "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
               "fleet": [{"model": "=HYPERLINK(\"x\")", "efficiency_j_per_th": 20.0, "mw": 15.0}]},
    "ai": {"pue": 1.25, "convertible_mw": 4.0, "utilization_frac": 0.5,
           "lease": [{"tenant": "+Tenant", "rate_usd_per_kw_month": 100.0}]},
}


def invoke(args: list[str]) -> tuple[int, str, str]:
    """Run ``allocator ARGS`` through click's runner; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = main(args)
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_solve_writes_every_file(tmp_path):
    site = write_site(tmp_path, PRICES, DOC)
    out = tmp_path / "run"
    code, stdout, _ = invoke(["solve", str(site), "--out", str(out)])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "assumptions.csv", "dispatch.csv", "financials.csv", "fleets.csv", "leases.csv", "manifest.json",
        "marginal_values.csv", "mining_capture.csv", "shadow_prices.csv", "split.csv"]
    split = pd.read_csv(out / "split.csv")
    assert list(split.columns) == ["site_id", "interconnect_mw", "facility_mw", "ai_it_mw", "ai_grid_mw",
                                   "mining_it_mw", "mining_grid_mw", "ai_share_frac", "mining_share_frac",
                                   "mining_energy_mwh", "mining_uptime_frac", "hours", "net_usd"]
    assert split.ai_it_mw[0] == pytest.approx(4.0)
    assert "tiny" in stdout and "AI at ai.convertible_mw = 4 MW" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "optimal" and manifest["command"] == "solve"
    assert manifest["solver"].startswith("auto: structured or HiGHS")  # the default --solver auto
    assert manifest["sites"]["tiny"]["method"].startswith("structured")  # a base-model site: cutting planes
    assert "solved by structured: tiny" in stdout
    assert manifest["objective_usd"] == pytest.approx(split.net_usd[0])
    assert set(manifest["seconds"]) >= {"load", "build", "solve", "extract", "write"}
    assert len(manifest["inputs_sha256"]) == 2  # site file and price file
    # formula-like text cells are escaped with a leading quote
    assert (out / "leases.csv").read_text().splitlines()[1].startswith("tiny,'+Tenant,")
    assert "'=HYPERLINK" in (out / "fleets.csv").read_text()
    assert list(pd.read_csv(out / "dispatch.csv").columns) == [
        "site_id", "interval_start_utc", "price_usd_per_mwh", "hashprice_usd_per_ph_day", "grid_cap_mw",
        "ai_grid_mw", "mining_it_mw", "mining_grid_mw", "curtailed_it_mw"]


def test_existing_out_is_refused_then_replaced_with_force(tmp_path):
    site = write_site(tmp_path, PRICES, DOC)
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    code, _, err = invoke(["solve", str(site), "--out", str(out)])
    assert code == 1 and "already exists" in err and "--force" in err
    assert (out / "keep.txt").read_text() == "old"
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 1 and "not an earlier run" in err  # --force replaces run folders only
    assert (out / "keep.txt").read_text() == "old"
    (out / "keep.txt").unlink()
    code, _, _ = invoke(["solve", str(site), "--out", str(out), "--force"])  # an empty folder is fine
    assert code == 0
    code, _, _ = invoke(["solve", str(site), "--out", str(out), "--force"])  # and so is an earlier run
    assert code == 0
    assert (out / "split.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_input_exits_1_lists_every_problem_and_writes_nothing(tmp_path):
    doc = {"site": {"interconnect_mw": -5.0, "colour": "red"},
           "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
                      "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": -1.0}]}}
    site = write_site(tmp_path, PRICES, doc)
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--debug"])
    assert code == 1
    assert "3 problems" in err
    assert "site.interconnect_mw" in err and "site.colour: unknown key" in err
    assert "mining.fleet[0].mw" in err
    assert "Traceback" in err  # --debug shows it
    assert not out.exists()
    code, _, err = invoke(["solve", str(site), "--out", str(out)])
    assert code == 1 and "Traceback" not in err


def test_missing_price_column_and_file(tmp_path):
    site = write_site(tmp_path, PRICES, {**DOC, "prices": {"column": "lmp"}})
    code, _, err = invoke(["validate", str(site)])
    assert code == 1 and "lmp" in err and "price_usd_per_mwh" in err
    site2 = write_site(tmp_path / "b", PRICES, {**DOC, "prices": {"file": "missing.csv"}})
    code, _, err = invoke(["validate", str(site2)])
    assert code == 1 and "missing.csv" in err and "no such file" in err


def test_infeasible_exits_2_and_names_the_conflict(tmp_path):
    doc = {**DOC, "ai": {**DOC["ai"], "lease": [{"tenant": "Anchor", "rate_usd_per_kw_month": 100.0,
                                                  "min_mw": 4.0}]},
           "curtailment": [{"start": "2024-01-01T01:00Z", "end": "2024-01-01T03:00Z", "cap_mw": 3.0}]}
    site = write_site(tmp_path, PRICES, doc)
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(site), "--out", str(out)])
    assert code == 2
    assert "infeasible" in err and "'Anchor'" in err and "5 MW of firm load" in err
    assert "curtailment[0] on 2024-01-01 01:00-03:00 UTC caps the site at 3 MW (2 hours)" in err
    assert "Lower min_mw to <= 2.4 or remove the event" in err
    assert not out.exists()


def test_usage_error_is_bad_input(tmp_path):
    code, _, err = invoke(["solve"])
    assert code == 1 and "Missing argument" in err


def test_schema_is_json_schema():
    code, stdout, _ = invoke(["schema"])
    assert code == 0
    schema = json.loads(stdout)
    assert "site" in schema["properties"] and "interconnect_mw" in json.dumps(schema)


def test_bundled_sites_validate():
    sites = sorted(str(p) for p in (REPO / "sites").glob("*.toml"))
    assert len(sites) >= 2
    code, stdout, err = invoke(["validate", *sites])
    assert code == 0, err
    assert stdout.count("ok ") == len(sites)


def _end_process_script(tmp_path, with_thread: bool) -> str:
    return (
        "import atexit, sys, threading, time\n"
        "from pathlib import Path\n"
        "from allocator.cli import app as cli\n"
        f"out = Path({str(tmp_path)!r})\n"
        "atexit.register(lambda: (out / 'atexit').write_text('ran'))\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    (out / 'thread').write_text('finished')\n"
        f"if {with_thread}:\n"
        "    threading.Thread(target=late).start()\n"
        "sys.stdout.write('buffered, no newline')\n"
        "cli._end_process(4)\n"
        "print('not reached')\n")


@pytest.mark.parametrize("with_thread", [False, True])
def test_the_process_ends_without_teardown_but_loses_nothing(tmp_path, with_thread):
    """`allocator` skips the interpreter's teardown (0.1-0.2 s with pandas loaded) yet keeps the exit
    status, flushes what was printed, runs the atexit handlers and waits for a live thread."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _end_process_script(tmp_path, with_thread)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == "buffered, no newline" and proc.stderr == ""
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").exists() == with_thread
