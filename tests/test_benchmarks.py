"""Smoke test of the benchmark suite at one small site: it runs and writes its table (no timing asserted)."""

from __future__ import annotations

import csv
import subprocess
import sys

from conftest import REPO


def test_benchmark_runs_at_one_site(tmp_path):
    out = tmp_path / "bench.csv"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--sites", "1", "--repeat", "1",
                           "--sources", "campus", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["experiment", "source", "sites", "phase", "value", "unit", "floor", "ratio", "target",
                             "met", "note"]
    by_phase = {(r["experiment"], r["phase"]): r for r in rows}
    for phase in ("load", "build", "handoff", "solve", "marginal", "extract", "write", "floor total"):
        assert float(by_phase["site_year", phase]["value"]) >= 0.0
    core = by_phase["site_year", "build+handoff+solve+marginal+extract"]
    # the ratio is the allocator phases over the floor measured in the same run
    assert abs(float(core["ratio"]) - float(core["value"]) / float(core["floor"])) < 2e-3
    assert core["met"] in ("yes", "no")
    assert float(by_phase["memory", "floor peak RSS"]["value"]) > 10.0  # MB: numpy + HiGHS at least
    assert by_phase["cli", "allocator solve (whole process)"]["unit"] == "s"
    assert "build+handoff+solve+marginal+extract" in proc.stdout  # the printed table


def test_startup_benchmark_runs_and_checks_its_reference(tmp_path):
    """benchmarks/startup.py: the whole solve process beside the independent scipy/HiGHS process, whose
    objective it checks against allocator's (no timing asserted)."""
    import pytest

    pytest.importorskip("scipy")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "startup.py"), "--repeat", "1",
                           "--solvers", "auto"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = {line[:34].strip(): line[34:].split() for line in proc.stdout.splitlines()[2:5]}
    assert set(rows) == {"python -c pass", "independent scipy/HiGHS", "allocator solve --solver auto"}
    assert float(rows["independent scipy/HiGHS"][1]) == 1.0  # the ratios are to the reference
    assert "load" in proc.stdout and "write" in proc.stdout  # the phases of the best run
