"""A hostile tester's campaign against the command line: every case ends in a run or a clear refusal.

Closed and broken stdout, TOML that Python's parser cannot take, devices and
FIFOs named as inputs, oversized files, non-finite and absurd numeric options,
a site given twice, and files that are not what they claim to be. Each case
drives the real CLI (a subprocess where the process itself is under test: its
streams, a FIFO that would hang it; click's runner otherwise) and checks the
exit code, that the message names the file or option, and that no traceback
or internal error is printed.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, to_toml, write_site
from run_check import RUN_FILES, folder_is_complete
from test_fuzz import run_cli

PRICES = [20.0, 50.0, 150.0, 80.0, 30.0, 60.0]
DOC = {
    "site": {"interconnect_mw": 10.0, "facility_mw": 20.0},
    "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0,
               "fleet": [{"model": "S21", "efficiency_j_per_th": 20.0, "mw": 15.0}]},
    "ai": {"pue": 1.25, "convertible_mw": 4.0, "utilization_frac": 0.5,
           "lease": [{"tenant": "Anchor", "rate_usd_per_kw_month": 100.0}]},
}
OUTCOMES: dict[int, int] = {}
TIMEOUT_S = 120  # a hang (a FIFO read, /dev/zero) fails the test instead of blocking the suite


def cli(*args) -> tuple[int, str]:
    """``allocator ARGS`` in-process; (exit code, stderr); fails on a traceback or an internal error."""
    return run_cli([str(a) for a in args], OUTCOMES)


def process(*args, stdin=None, **popen) -> subprocess.Popen:
    """``python -m allocator ARGS`` as its own process (the way users run it)."""
    return subprocess.Popen([sys.executable, "-m", "allocator", *map(str, args)], cwd=REPO, stdin=stdin, **popen)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    """(exit code, stderr) of ``proc``; a process still running after TIMEOUT_S is killed and fails the test."""
    try:
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"{proc.args} hung for {TIMEOUT_S} s") from None
    return proc.returncode, stderr.decode()


def no_crash(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err


@pytest.fixture
def site(tmp_path) -> Path:
    return write_site(tmp_path / "campus", PRICES, DOC)


# ------------------------------------------------------------------ stdout closed or its reader gone


def test_closed_stdout_still_writes_the_run_folder(site, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "allocator", "solve", str(site),
                           "--out", str(out)], cwd=REPO, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    no_crash(err)
    assert folder_is_complete(out, RUN_FILES)


@pytest.mark.parametrize("with_out", [True, False])
def test_reader_that_leaves_at_once_neither_stops_the_run_nor_fails_it(site, tmp_path, with_out):
    """``| true``: every write to stdout finds no reader (EPIPE); the run still completes, exit 0."""
    out = tmp_path / "run"
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        proc = process("solve", site, *(["--out", out] if with_out else []), stdout=subprocess.PIPE, stderr=stderr)
        proc.stdout.close()  # the reader is gone before the first line is printed
        code = proc.wait(timeout=TIMEOUT_S)
    err = stderr_path.read_text()
    assert code == 0, err
    no_crash(err)
    assert err == ""  # quiet, as a pipe's early reader expects
    if with_out:
        assert folder_is_complete(out, RUN_FILES)


def test_reader_that_takes_one_line(site, tmp_path):
    """``| head -1``: the first line arrives; the run completes either way."""
    out = tmp_path / "run"
    proc = process("solve", site, "--out", out, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=TIMEOUT_S) == 0, err
    no_crash(err)
    assert first.startswith(b"site ")
    assert folder_is_complete(out, RUN_FILES)


# ------------------------------------------------------------------ TOML that Python's parser cannot take

HOSTILE_VALUES = {"deep_array": "[" * 100_000 + "]" * 100_000,
                  "deep_table": "{a = " * 5_000 + "1" + "}" * 5_000,
                  "long_integer": "7" * 5_001,
                  "nested_33": "[" * 33 + "]" * 33}


@pytest.mark.parametrize("payload", sorted(HOSTILE_VALUES))
@pytest.mark.parametrize("door", ["site", "scenario", "portfolio", "distributions", "set", "vary"])
def test_hostile_toml_is_refused_naming_the_file_or_option(site, tmp_path, door, payload):
    value = HOSTILE_VALUES[payload]
    hostile = tmp_path / "hostile.toml"
    hostile.write_text(f"x = {value}\n")
    out = tmp_path / "out"
    if door == "site":
        bad_site = tmp_path / "campus" / "bad.toml"
        bad_site.write_text(site.read_text() + f"\n[extra]\nx = {value}\n")
        code, err = cli("solve", bad_site, "--out", out)
        named = str(bad_site)
    elif door == "scenario":
        code, err = cli("solve", site, "--scenario", hostile)
        named = str(hostile)
    elif door == "portfolio":
        code, err = cli("solve", site, "--portfolio", hostile)
        named = str(hostile)
    elif door == "distributions":
        code, err = cli("sweep", site, "--samples", 2, "--distributions", hostile, "--out", out)
        named = str(hostile)
    elif door == "set":
        code, err = cli("solve", site, "--set", f"mining.pue={value}")
        named = "--set mining.pue"
    else:
        code, err = cli("sweep", site, "--vary", f"mining.pue=1.1,{value}", "--out", out)
        named = "--vary mining.pue"
    assert code == 1, err
    assert f"  - {named}: " in err, err
    assert ("nested" in err) if payload != "long_integer" else ("number too long" in err), err
    assert not out.exists()


# ------------------------------------------------------------------ inputs that are not regular files


def _door_args(door: str, target: Path, site: Path, tmp_path: Path) -> list:
    return {"validate": ["validate", target],
            "solve": ["solve", target],
            "scenario": ["solve", site, "--scenario", target],
            "portfolio": ["solve", site, "--portfolio", target],
            "distributions": ["sweep", site, "--samples", 2, "--distributions", target, "--out", tmp_path / "sw"]}[door]


@pytest.mark.parametrize("door", ["validate", "solve", "scenario", "portfolio", "distributions"])
def test_a_fifo_named_on_the_command_line_is_refused_at_once(site, tmp_path, door):
    fifo = tmp_path / "input.toml"
    os.mkfifo(fifo)
    proc = process(*_door_args(door, fifo, site, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code, err = finish(proc)  # opening the FIFO for reading would block forever
    assert code == 1, err
    no_crash(err)
    assert f"  - {fifo}: is a FIFO (named pipe), not a regular file." in err


@pytest.mark.parametrize("door", ["validate", "scenario", "distributions"])
def test_dev_zero_named_on_the_command_line_is_refused(site, tmp_path, door):
    args = [sys.executable, "-m", "allocator", *map(str, _door_args(door, Path("/dev/zero"), site, tmp_path))]
    # a 2 GB address-space cap: reading /dev/zero would end in MemoryError, not in the machine's swap
    code, err = finish(subprocess.Popen(["sh", "-c", 'ulimit -v 2000000; exec "$@"', "sh", *args], cwd=REPO,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    no_crash(err)
    assert code == 1 and "  - /dev/zero: is a device or socket, not a regular file." in err, err


def test_a_fifo_in_a_run_folder_is_refused_by_report(site, tmp_path):
    out = tmp_path / "run"
    assert cli("solve", site, "--out", out)[0] == 0
    (out / "split.csv").unlink()
    os.mkfifo(out / "split.csv")
    code, err = finish(process("report", out, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 1 and f"  - {out / 'split.csv'}: is a FIFO (named pipe)" in err, err


def test_oversized_toml_is_refused_with_its_size_and_the_limit(site, tmp_path):
    scenario = tmp_path / "huge.toml"
    with open(scenario, "wb") as fh:
        fh.truncate(5 * 2**20)  # sparse: the limit is checked before a byte is read
    code, err = cli("solve", site, "--scenario", scenario)
    assert code == 1 and f"  - {scenario}: is 5.0 MB; the limit for this kind of input is 4.0 MB." in err, err


def test_oversized_price_file_is_refused_with_its_size_and_the_limit(tmp_path):
    site = write_site(tmp_path, PRICES, DOC)
    with open(tmp_path / "tiny_prices.csv", "r+b") as fh:
        fh.truncate(101 * 2**20)
    code, err = cli("validate", site)
    assert code == 1, err
    assert f"{site}: prices: {tmp_path / 'tiny_prices.csv'} is 101.0 MB; the limit for a price or profile file " \
           "is 100.0 MB" in err, err


# ------------------------------------------------------------------ numeric options


@pytest.mark.parametrize(("args", "option"), [
    (["solve", "{site}", "--time-limit", "nan"], "--time-limit"),
    (["solve", "{site}", "--time-limit", "inf"], "--time-limit"),
    (["solve", "{site}", "--time-limit", "-1"], "--time-limit"),
    (["solve", "{site}", "--workers", "-3"], "--workers"),
    (["plan", "{site}", "--time-limit", "nan"], "--time-limit"),
    (["plan", "{site}", "--bins-per-month", "1000000"], "--bins-per-month"),
    (["sweep", "{site}", "--vary", "mining.pue=1:2:3", "--time-limit", "inf", "--out", "{out}"], "--time-limit"),
    (["sweep", "{site}", "--samples", "100000000", "--distributions", "{dist}", "--out", "{out}"], "--samples"),
    (["breakeven", "{site}", "--param", "mining.pue", "--low", "1", "--high", "inf"], "--high"),
    (["breakeven", "{site}", "--param", "mining.pue", "--low", "-1e308", "--high", "2"], "--low"),
    (["breakeven", "{site}", "--tolerance", "nan"], "--tolerance"),
    (["breakeven", "{site}", "--swing", "nan"], "--swing"),
    (["breakeven", "{site}", "--points", "1000000000"], "--points"),
    (["decide", "{site}", "--scenarios", "{dist}", "--out", "{out}", "--risk-alpha", "nan"], "--risk-alpha"),
    (["decide", "{site}", "--scenarios", "{dist}", "--out", "{out}", "--risk-weight", "inf"], "--risk-weight"),
    (["decide", "{site}", "--scenarios", "{dist}", "--out", "{out}", "--time-limit", "nan"], "--time-limit"),
])
def test_non_finite_and_absurd_options_are_refused(site, tmp_path, args, option):
    names = {"site": site, "out": tmp_path / "out", "dist": REPO / "scenarios" / "btc_2027.toml"}
    code, err = cli(*[a.format(**names) for a in args])
    assert code == 1 and f"Invalid value for '{option}'" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("vary", "expected"), [
    (["mining.pue=1:2:10000000000"], "10,000,000,000 values; a sweep holds at most 1,000,000 scenarios per site"),
    (["mining.pue=1:2:100000", "mining.hashprice_usd_per_ph_day=1:2:100000"],
     "the grid has 100,000 x 100,000 = 10,000,000,000 scenarios per site; the limit is 1,000,000"),
    (["mining.pue=nan,1.1"], "holds a value that is not a finite number"),
])
def test_sweep_grids_beyond_the_limit_are_refused_before_they_allocate(site, tmp_path, vary, expected):
    args = [a for v in vary for a in ("--vary", v)]
    code, err = cli("sweep", site, *args, "--out", tmp_path / "out")
    assert code == 1 and expected in err and "--vary" in err, err
    assert not (tmp_path / "out").exists()


def test_workers_beyond_the_cores_are_clamped_and_the_json_is_strict(site, tmp_path):
    from allocator.cli.options import cores_available

    out = tmp_path / "sweep"
    code, err = cli("sweep", site, "--vary", "mining.pue=1.0,1.1", "--workers", 1_000_000, "--out", out)
    cores = cores_available()
    assert code == 0, err
    assert f"note: --workers 1000000 is more than the {cores} core" in err and f"using {cores}." in err

    def refuse(constant):
        raise AssertionError(f"{constant} in sweep.json")

    definition = json.loads((out / "sweep.json").read_text(), parse_constant=refuse)
    assert definition["scenarios"] == 2
    assert len(pd.read_csv(out / "sweep.csv")) == 2


# ------------------------------------------------------------------ the same site twice


def test_solve_refuses_a_site_id_given_twice(site, tmp_path):
    other = write_site(tmp_path / "elsewhere", PRICES, DOC)  # same file name, another folder
    code, err = cli("solve", site, other, "--out", tmp_path / "out")
    assert code == 1, err
    assert f"  - SITES: site id 'tiny' appears 2 times: {site}, {other}." in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ files named as what they are


def _price_site(tmp_path: Path, data: bytes, **prices) -> Path:
    (tmp_path / "prices.csv").write_bytes(data)
    doc = {**DOC, "site": {**DOC["site"], "timezone": "UTC"}, "prices": {"file": "prices.csv", **prices}}
    path = tmp_path / "campus.toml"
    path.write_text(to_toml(doc))
    return path


CSV = "interval_start_utc,price_usd_per_mwh\n2024-06-01T00:00:00Z,20\n2024-06-01T01:00:00Z,30\n"


@pytest.mark.parametrize(("data", "expected"), [
    (gzip.compress(CSV.encode()), "is gzip-compressed, not CSV text. Decompress it first (gunzip FILE)"),
    (CSV.encode("utf-16-le"), "is UTF-16 text without a byte-order mark, not CSV text. Save it as UTF-8"),
    (CSV.encode("utf-16-be"), "is UTF-16 text without a byte-order mark, not CSV text. Save it as UTF-8"),
    (CSV.encode("utf-32-le"), "is UTF-32 text, not CSV text. Save it as UTF-8"),
])
def test_compressed_and_utf16_files_are_named_with_the_fix(tmp_path, data, expected):
    site = _price_site(tmp_path, data)
    code, err = cli("validate", site)
    assert code == 1 and f"{site}: prices: {tmp_path / 'prices.csv'} {expected}" in err, err
    assert "spreadsheet" not in err


@pytest.mark.parametrize("text", [
    "root:$6$SECRETSALT$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",  # /etc/shadow-like
    "SECRETHEADER,x\nSECRET1\nSECRET2\nSECRET3\n",  # commas on line 1 only: not a table either
])
def test_a_file_that_is_not_a_table_is_never_quoted(tmp_path, text):
    site = _price_site(tmp_path, text.encode(), column="price_usd_per_mwh")
    code, err = cli("validate", site)
    assert code == 1 and f"{tmp_path / 'prices.csv'} is not a CSV table" in err, err
    assert "SECRET" not in err


def test_an_hour_with_half_its_5_minute_prices_is_a_missing_hour_unless_filled(tmp_path):
    times = pd.date_range("2024-06-01", periods=36, freq="5min", tz="UTC")  # 00:00-02:55
    values = [10.0 + i for i in range(36)]
    keep = [i for i in range(36) if not 12 <= i < 18]  # 01:00-01:25 missing: 01:00 holds 6 of 12
    rows = "".join(f"{times[i]:%Y-%m-%dT%H:%M:%SZ},{values[i]}\n" for i in keep)
    data = ("interval_start_utc,price_usd_per_mwh\n" + rows).encode()
    site = _price_site(tmp_path, data)
    code, err = cli("solve", site, "--out", tmp_path / "out")
    assert code == 1, err
    assert "has 5-minute data, but 1 of the 3 hours holds only part of the hour's 12 intervals; the first: " \
           "2024-06-01 01:00 UTC (6 of 12)." in err and 'prices.fill = "ffill"' in err
    assert not (tmp_path / "out").exists()
    site = _price_site(tmp_path, data, fill="ffill")
    code, err = cli("solve", site, "--out", tmp_path / "out")
    assert code == 0, err
    prices = pd.read_csv(tmp_path / "out" / "dispatch.csv").price_usd_per_mwh.tolist()
    assert prices == pytest.approx([sum(values[0:12]) / 12, sum(values[18:24]) / 6, sum(values[24:36]) / 12])
