"""Fuzz the two doors users walk through: site files and price files.

Hypothesis generates site TOML files (wrong types, missing and extra keys,
NaN / inf / negative / huge values, broken encodings, odd paths) and price
CSVs (BOM, Latin-1, UTF-16, ``;`` with decimal commas, duplicated, unsorted,
DST-shifted and mixed-zone times, $/kWh, junk cells, empty files). Every case
runs ``allocator solve SITE --out DIR`` in-process and must end in:

- exit 0: a complete run folder whose CSVs satisfy every constraint of docs/model.md
  (re-derived by tests/run_check.py, never trusting the model);
- exit 1: a message naming the site file and the field or rows, nothing written;
- exit 2: an infeasibility explained in site terms, nothing written;

never a traceback or an internal error (exit 3), never a partial folder.
``ALLOCATOR_FUZZ_SCALE`` multiplies the number of cases (1 in CI: 2,000 cases);
``ALLOCATOR_FUZZ_RANDOM=1`` draws new cases instead of CI's fixed ones.
"""

from __future__ import annotations

import codecs
import gzip
import math
import os
import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator import load_site
from allocator.cli import main
from click.testing import CliRunner
from conftest import is_number, to_toml
from run_check import check_constraints, folder_is_complete

SCALE = float(os.environ.get("ALLOCATOR_FUZZ_SCALE", "1"))
CASES = {"site": int(1100 * SCALE), "prices": int(900 * SCALE)}
RUN = {"site": 0, "prices": 0}
OUTCOMES: dict[int, int] = {}


def fuzz_settings(n: int):
    return settings(max_examples=n, deadline=None, database=None,
                    derandomize=not os.environ.get("ALLOCATOR_FUZZ_RANDOM"),  # CI: the same cases every run
                    suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------ running a case


def run_cli(argv: list[str], outcomes: dict[int, int]) -> tuple[int, str]:
    """Run ``allocator ARGV`` in-process; count its exit code in ``outcomes``; return (code, stderr).

    Every fuzz case must end in exit 0, 1 or 2, never a traceback or an internal error.
    """
    runner = CliRunner()
    with runner.isolation() as (_, stderr, _):
        code = main(argv)
    err = stderr.getvalue().decode("utf-8", "replace")
    outcomes[code] = outcomes.get(code, 0) + 1
    assert code in (0, 1, 2), f"exit {code}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


def assert_refused(out: Path, code: int, err: str) -> None:
    """Exit 1 or 2: nothing written, and an ``error:`` line with its problems listed."""
    assert not out.exists(), f"exit {code} but {out} was written"
    assert err.startswith("error: ") and any(line.startswith("  - ") for line in err.splitlines()), err


def run_case(folder: Path, site: Path) -> tuple[int, str]:
    """Solve ``site`` through the CLI into ``folder/run``; check the outcome; return (code, stderr)."""
    out = folder / "run"
    code, err = run_cli(["solve", str(site), "--out", str(out)], OUTCOMES)
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".run.")]
    assert leftovers == [], leftovers
    if code == 0:
        assert folder_is_complete(out), "exit 0 with an incomplete run folder"
        check_constraints(load_site(site), out)
        return code, err
    assert_refused(out, code, err)
    assert str(site) in err, f"the message does not name the site file:\n{err}"
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    for line in problems:  # each problem says where: a field, rows/lines or a file
        assert re.search(r"\.toml(: [A-Za-z_\[\]0-9.]+)?: ", line), line
    if code == 2:
        assert "infeasible" in err.splitlines()[0], err  # valid input never troubles the solver
    return code, err


# ------------------------------------------------------------------ site files

BASE_PRICES = [25.0, 18.0, 12.0, 15.0, 30.0, 55.0, 80.0, 140.0, 95.0, 60.0, 40.0, 35.0] * 4  # 48 hours
BASE_SITE = {
    "site": {"name": "Fuzz", "timezone": "America/Chicago", "interconnect_mw": 100.0, "facility_mw": 110.0},
    "prices": {"file": "prices.csv", "adder_usd_per_mwh": 3.0},
    "mining": {"pue": 1.05, "pool_fee_frac": 0.02, "opex_usd_per_mw_year": 30000.0,
               "hashprice_usd_per_ph_day": 48.0, "min_uptime_frac": 0.0,
               "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 60.0},
                         {"model": "S19", "efficiency_j_per_th": 29.5, "mw": 30.0}]},
    "ai": {"pue": 1.2, "convertible_mw": 50.0, "utilization_frac": 0.8, "fitout_capex_usd_per_mw": 9.0e6,
           "capex_life_years": 15.0, "discount_rate_frac": 0.08, "opex_usd_per_mw_year": 60000.0,
           "power_pass_through": True,
           "lease": [{"tenant": "Anchor", "rate_usd_per_kw_month": 150.0, "min_mw": 10.0, "max_mw": 40.0}]},
    "curtailment": [{"start": "2024-06-01T15:00", "end": "2024-06-01T18:00", "cap_mw": 60.0}],
}
FIELDS = [
    ("site", "name"), ("site", "timezone"), ("site", "interconnect_mw"), ("site", "facility_mw"),
    ("prices", "file"), ("prices", "adder_usd_per_mwh"), ("prices", "start"), ("prices", "end"),
    ("prices", "column"), ("prices", "time_column"), ("prices", "fill"), ("prices", "format"), ("prices", "location"),
    ("mining", "pue"), ("mining", "pool_fee_frac"), ("mining", "opex_usd_per_mw_year"),
    ("mining", "hashprice_usd_per_ph_day"), ("mining", "min_uptime_frac"), ("mining", "hashprice"),
    ("mining", "fleet", 0, "model"), ("mining", "fleet", 0, "efficiency_j_per_th"), ("mining", "fleet", 0, "mw"),
    ("mining", "fleet", 1, "mw"), ("mining", "fleet"),
    ("ai", "pue"), ("ai", "convertible_mw"), ("ai", "utilization_frac"), ("ai", "fitout_capex_usd_per_mw"),
    ("ai", "capex_life_years"), ("ai", "discount_rate_frac"), ("ai", "opex_usd_per_mw_year"),
    ("ai", "power_pass_through"), ("ai", "utilization"),
    ("ai", "lease", 0, "tenant"), ("ai", "lease", 0, "rate_usd_per_kw_month"), ("ai", "lease", 0, "min_mw"),
    ("ai", "lease", 0, "max_mw"), ("ai", "lease"), ("ai",),
    ("curtailment", 0, "start"), ("curtailment", 0, "end"), ("curtailment", 0, "cap_mw"), ("curtailment",),
    ("site",), ("prices",), ("mining",),
]
TIMES = st.sampled_from([
    "2024-06-01T00:00", "2024-06-01T05:00", "2024-06-02T12:00", "2024-06-03T00:00", "2024-06-01",
    "2024-06-01T10:00Z", "2024-06-01T10:00-05:00", "2024-03-10T02:30", "2024-11-03T01:30", "2023-01-01",
    "2030-01-01", "06/01/2024", "yesterday", "", "2024-13-01", "2024-06-01T25:00", "T", "2024-06-01 16:00",
])
NUMBERS = st.one_of(
    st.sampled_from([0.0, -0.0, -1.0, 1e-300, 1e-9, 0.001, 1.0, 1.5, 3.0, 1e6, 1e9, 1e15, 1e19, 1e20, 1e25,
                     1e300, 1.7976931348623157e308, math.nan, math.inf, -math.inf, -1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
)
WRONG = st.one_of(
    NUMBERS, TIMES, st.text(max_size=12), st.booleans(),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.sampled_from(["a", "mw", "file"]), st.integers(0, 9),
                                                             max_size=2),
    st.sampled_from(["prices.csv", "../prices.csv", "/etc/passwd", "..", ".", "", "nosuch.csv", "sub/../prices.csv",
                     "\x00", "prices.csv\n", "C:\\prices.csv", "~/prices.csv", "America/Chicago", "UTC",
                     "Mars/Olympus", "ffill", "interpolate", "csv", "ercot_spp", "gridstatus", "price_usd_per_mwh"]),
)


def _get_parent(doc, path):
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def apply(doc: dict, mutation: tuple) -> None:
    kind, path, value = mutation
    parent = _get_parent(doc, path)
    key = path[-1]
    if parent is None:
        return
    if kind == "delete":
        if isinstance(parent, dict):
            parent.pop(key, None)
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            parent.pop(key)
    elif kind == "set":
        if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(key, int) and key < len(parent)):
            parent[key] = value
    elif kind == "extra":
        target = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(target, dict):
            target[value[0]] = value[1]
        elif isinstance(target, list) and target and isinstance(target[0], dict):
            target[0][value[0]] = value[1]


MUTATION = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(FIELDS), WRONG),
    st.tuples(st.just("delete"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("extra"), st.sampled_from([("site",), ("prices",), ("mining",), ("ai",), ("mining", "fleet"),
                                                 ("ai", "lease"), ("curtailment",)]),
              st.tuples(st.one_of(st.sampled_from(["colour", "interconnect_MW", "min_mw_", "pue ", "file"]),
                                  st.text(min_size=1, max_size=8)), WRONG)),
)


NUMERIC_FIELDS = [f for f in FIELDS if f[-1] in ("interconnect_mw", "facility_mw", "adder_usd_per_mwh", "pue",
                                                 "pool_fee_frac", "opex_usd_per_mw_year", "hashprice_usd_per_ph_day",
                                                 "min_uptime_frac", "mw", "convertible_mw", "utilization_frac",
                                                 "rate_usd_per_kw_month", "min_mw", "max_mw", "cap_mw")]
# plausible values keep many cases valid, so accepted plans (and infeasible ones) are checked too
PLAUSIBLE = st.tuples(st.just("set"), st.sampled_from(NUMERIC_FIELDS),
                      st.one_of(st.floats(0.0, 1.0), st.floats(1.0, 3.0), st.floats(0.0, 150.0)))


def prices_csv(prices: list[float], start: str = "2024-06-01T00:00:00Z") -> str:
    index = pd.date_range(start, periods=len(prices), freq="h")
    rows = [f"{t:%Y-%m-%dT%H:%M:%SZ},{p!r}" for t, p in zip(index, prices)]
    return "interval_start_utc,price_usd_per_mwh\n" + "\n".join(rows) + "\n"


ENCODINGS = st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "latin-1", "utf-16", "truncate", "empty", "garbage",
                             "utf-16-le", "gzip", "deep_array", "deep_table", "long_integer"])
#: text appended to a site file that Python's TOML parser cannot take (a RecursionError, a ValueError)
HOSTILE_TOML = {"deep_array": "\nx = " + "[" * 100_000 + "]" * 100_000 + "\n",
                "deep_table": "\nx = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n",
                "long_integer": "\nx = " + "7" * 5_001 + "\n"}


@fuzz_settings(CASES["site"])
@given(mutations=st.lists(st.one_of(MUTATION, PLAUSIBLE, PLAUSIBLE), max_size=4), encoding=ENCODINGS,
       cut=st.floats(0, 1),
       name=st.sampled_from(["site"] * 7 + ["Site-1", "1site", "s\u00e9te"]))
def test_fuzzed_site_files(mutations, encoding, cut, name):
    RUN["site"] += 1
    import copy

    doc = copy.deepcopy(BASE_SITE)
    for mutation in mutations:
        apply(doc, mutation)
    text = to_toml(doc)
    if encoding == "latin-1":
        data = text.replace("Fuzz", "Caf\u00e9").encode("latin-1", "replace")
    elif encoding == "utf-16":
        data = text.encode("utf-16")
    elif encoding == "truncate":
        data = text.encode()[: int(len(text) * cut)]
    elif encoding == "empty":
        data = b""
    elif encoding == "garbage":
        data = bytes(range(256))[int(cut * 200):]
    elif encoding == "gzip":
        data = gzip.compress(text.encode())
    elif encoding in HOSTILE_TOML:
        data = (text + HOSTILE_TOML[encoding]).encode()
    else:
        data = text.encode(encoding)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "campus"
        folder.mkdir()
        (folder / "prices.csv").write_text(prices_csv(BASE_PRICES))
        (Path(tmp) / "prices.csv").write_text(prices_csv(BASE_PRICES))  # outside the site's folder
        site = folder / f"{name}.toml"
        site.write_bytes(data)
        run_case(folder, site)


# ------------------------------------------------------------------ price files


@st.composite
def price_files(draw):
    """(csv bytes, site timezone, extra [prices] keys) for one fuzzed price file."""
    n = draw(st.sampled_from([24, 36, 48, 72]))
    tz = draw(st.sampled_from(["UTC", "America/Chicago", "Europe/Berlin"]))
    start = draw(st.sampled_from(["2024-06-01", "2024-03-09T12:00", "2024-11-02T12:00", "2024-03-30T12:00",
                                  "2024-10-26T12:00"]))
    values = draw(st.lists(st.floats(-100, 800, allow_nan=False), min_size=n, max_size=n))
    utc = pd.date_range(pd.Timestamp(start).tz_localize(tz), periods=n, freq="h").tz_convert("UTC")
    style = draw(st.sampled_from(["Z", "offset", "local", "local", "utc_naive", "mixed", "us_dates", "quarter"]))
    if style == "Z":
        times = [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in utc]
    elif style == "offset":
        times = [t.tz_convert(tz).isoformat() for t in utc]
    elif style == "local":  # wall-clock times: the fall-back hour appears twice, the spring-forward hour never
        times = [f"{t.tz_convert(tz):%Y-%m-%d %H:%M}" for t in utc]
    elif style == "utc_naive":  # a common export mistake: UTC written without its Z for a non-UTC site
        times = [f"{t:%Y-%m-%d %H:%M}" for t in utc]
    elif style == "mixed":
        times = [t.tz_convert(tz).isoformat() if i % 2 else f"{t.tz_convert(tz):%Y-%m-%d %H:%M}"
                 for i, t in enumerate(utc)]
    elif style == "us_dates":
        times = [f"{t.tz_convert(tz):%m/%d/%Y %H:%M}" for t in utc]
    else:  # 15-minute rows
        times, quarter = [], []
        for t, v in zip(utc, values):
            for k in range(4):
                times.append(f"{t + pd.Timedelta(minutes=15 * k):%Y-%m-%dT%H:%M:%S}Z")
                quarter.append(v + k)
        values = quarter
    cells = [repr(v) for v in values]
    # row-level damage
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["nan", "inf", "empty", "text", "huge", "dup", "drop", "swap", "shift",
                                     "neg", "badtime"]))
        i = draw(st.integers(0, len(times) - 1))
        if kind == "nan":
            cells[i] = draw(st.sampled_from(["nan", "NaN", "N/A", "#N/A", "null", "-"]))
        elif kind == "inf":
            cells[i] = draw(st.sampled_from(["inf", "-inf", "Infinity", "1e400"]))
        elif kind == "empty":
            cells[i] = ""
        elif kind == "text":
            cells[i] = draw(st.text(max_size=6))
        elif kind == "huge":
            cells[i] = draw(st.sampled_from(["1e12", "9e99", "-1e15", "1e300"]))
        elif kind == "neg":
            cells[i] = draw(st.sampled_from(["-250.0", "-9999", "-0.5"]))
        elif kind == "dup":
            times.insert(i, times[i])
            cells.insert(i, cells[i])
        elif kind == "drop" and len(times) > 2:
            del times[i], cells[i]
        elif kind == "swap":
            j = draw(st.integers(0, len(times) - 1))
            times[i], times[j] = times[j], times[i]
            cells[i], cells[j] = cells[j], cells[i]
        elif kind == "shift":  # a DST-shifted stretch: one hour late from row i on
            times[i:] = [shift_hour(t) for t in times[i:]]
        elif kind == "badtime":
            times[i] = draw(st.sampled_from(["", "2024-02-30T00:00", "not a time", "24:00", "2024-06-01T24:00",
                                             "1850-01-01T00:00", "2024-03-10T02:30"]))
    kwh = draw(st.booleans()) and draw(st.booleans())
    if kwh:
        cells = [repr(float(c) / 1000.0) if is_number(c) else c for c in cells]
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    if sep != ",":
        cells = [c.replace(".", ",") for c in cells]  # decimal commas
    header = [draw(st.sampled_from(["interval_start", "Zeit", "time", "", "Datum/Zeit"])),
              draw(st.sampled_from(["price_usd_per_mwh", "Preis \u00e9", "LMP", "price", "price_usd_per_mwh"]))]
    extra = draw(st.sampled_from([None, None, None, "notes", "load_mw"]))
    lines = [sep.join(header + ([extra] if extra else []))]
    for k, (t, c) in enumerate(zip(times, cells)):
        row = [t, c] + ([f"note {k}" if extra == "notes" else str(k)] if extra else [])
        lines.append(sep.join(_quote(x, sep) for x in row))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    data = text.encode(encoding, "replace")
    damage = draw(st.sampled_from([None] * 8 + ["empty", "header_only", "truncate", "binary", "gzip",
                                                "utf16_no_bom"]))
    if damage == "empty":
        data = b""
    elif damage == "header_only":
        data = (lines[0] + "\n").encode()
    elif damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "binary":
        data = b"PK\x03\x04" + data
    elif damage == "gzip":
        data = gzip.compress(data)
    elif damage == "utf16_no_bom":
        data = text.encode("utf-16-le")
    prices = {"fill": draw(st.sampled_from([None, None, "ffill", "interpolate"])),
              "column": draw(st.sampled_from([None, None, None, header[1], "price_usd_per_mwh"])),
              "start": draw(st.sampled_from([None, None, None, start, "2024-06-01T06:00", "2025-01-01"])),
              "end": draw(st.sampled_from([None, None, None, "2024-06-02T00:00", "2024-06-01"]))}
    return data, tz, {k: v for k, v in prices.items() if v is not None}


def shift_hour(text: str) -> str:
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        return text
    if pd.isna(ts):  # "" parses as NaT
        return text
    moved = ts + pd.Timedelta(hours=1)
    return moved.isoformat() if ts.tz is not None else f"{moved:%Y-%m-%d %H:%M}"


def _quote(cell: str, sep: str) -> str:
    return f'"{cell}"' if sep in cell or '"' in cell else cell


@fuzz_settings(CASES["prices"])
@given(case=price_files(), uptime=st.sampled_from([0.0, 0.0, 0.5]), lease_min=st.sampled_from([0.0, 10.0, 45.0]),
       role=st.sampled_from(["prices"] * 6 + ["hashprice", "utilization"]))
def test_fuzzed_price_files(case, uptime, lease_min, role):
    """The fuzzed CSV as the price file, or as the hashprice / AI utilization profile beside clean prices."""
    RUN["prices"] += 1
    data, tz, prices = case
    doc = {
        "site": {"timezone": tz, "interconnect_mw": 100.0, "facility_mw": 110.0},
        "prices": {"file": "data/prices.csv", "adder_usd_per_mwh": 2.0, **prices},
        "mining": {**BASE_SITE["mining"], "min_uptime_frac": uptime},
        "ai": {**BASE_SITE["ai"], "lease": [{"tenant": "Anchor", "rate_usd_per_kw_month": 150.0,
                                             "min_mw": lease_min, "max_mw": 40.0}]},
    }
    if role != "prices":
        doc["prices"] = {"file": "data/clean.csv", "adder_usd_per_mwh": 2.0, "start": "2024-06-01T00:00Z",
                         "end": "2024-06-02T00:00Z"}
        column = {k: v for k, v in prices.items() if k == "column"}
        if role == "hashprice":
            del doc["mining"]["hashprice_usd_per_ph_day"]
            doc["mining"]["hashprice"] = {"file": "data/prices.csv", **column}
        else:
            del doc["ai"]["utilization_frac"]
            doc["ai"]["utilization"] = {"file": "data/prices.csv", **column}
            data = _scale_cells(data, 0.001)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        (folder / "data" / "prices.csv").write_bytes(data)
        (folder / "data" / "clean.csv").write_text(prices_csv(BASE_PRICES[:24] * 3, start="2024-05-31T00:00:00Z"))
        site = folder / "campus.toml"
        site.write_text(to_toml(doc), encoding="utf-8")
        code, err = run_case(folder, site)
        if code == 1 and "prices" in err and "campus.toml: prices" in err:
            # a price problem names the price file and says where in it
            assert "prices.csv" in err or re.search(r"campus\.toml: prices\.\w+", err), err


def _scale_cells(data: bytes, k: float) -> bytes:
    """Multiply the plain-number cells of a CSV's second column by ``k`` (for utilization fractions)."""
    out = []
    for line in data.split(b"\n"):
        parts = line.split(b",")
        if len(parts) >= 2:
            try:
                parts[1] = repr(float(parts[1]) * k).encode()
            except ValueError:
                pass
        out.append(b",".join(parts))
    return b"\n".join(out)


def test_case_count():
    """The two fuzz tests above ran their full number of cases (at least 2,000 in CI)."""
    if RUN["site"] == 0 or RUN["prices"] == 0:
        import pytest

        pytest.skip("run with the fuzz tests")
    print(f"fuzz cases: {RUN}, exit codes: {OUTCOMES}")
    assert RUN["site"] + RUN["prices"] >= int(2000 * SCALE)


def test_bom_in_site_file_is_accepted(tmp_path):
    folder = tmp_path / "campus"
    folder.mkdir()
    (folder / "prices.csv").write_text(prices_csv(BASE_PRICES))
    site = folder / "site.toml"
    site.write_bytes(codecs.BOM_UTF8 + to_toml(BASE_SITE).encode())
    assert run_case(folder, site)[0] == 0


# ------------------------------------------------------------------ defects the fuzzing found (regressions)

DEFECTS = {
    # huge values reached HiGHS, which treats >= 1e20 as infinite: 'Unbounded' or 'Unknown', exit 2
    "fleet_1e25_mw": ([("set", ("mining", "fleet", 0, "mw"), 1e25), ("set", ("site", "interconnect_mw"), 1e25),
                       ("set", ("site", "facility_mw"), 1e25)], "mining.fleet[0].mw: = 1e+25"),
    "hashprice_1e300": ([("set", ("mining", "hashprice_usd_per_ph_day"), 1e300)],
                        "mining.hashprice_usd_per_ph_day: = 1e+300"),
    "adder_minus_1e300": ([("set", ("prices", "adder_usd_per_mwh"), -1e300)], "prices.adder_usd_per_mwh: = -1e+300"),
    # accepted and 'solved' into meaningless 1e300-dollar plans
    "rate_1e300": ([("set", ("ai", "lease", 0, "rate_usd_per_kw_month"), 1e300)],
                   "ai.lease[0].rate_usd_per_kw_month: = 1e+300"),
    "interconnect_1e25": ([("set", ("site", "interconnect_mw"), 1e25)], "site.interconnect_mw: = 1e+25"),
    # internal errors (exit 3)
    "capex_life_1e-300": ([("set", ("ai", "capex_life_years"), 1e-300)], "ai.capex_life_years: = 1e-300"),
    "subnormal_discount_rate": ([("set", ("ai", "discount_rate_frac"), 2.2250738585e-313)], None),
    "nul_in_price_path": ([("set", ("prices", "file"), "\x00")], "prices.file: = '\\x00' is not a usable file name"),
    "derived_hashprice_overflow": ([("delete", ("mining", "hashprice_usd_per_ph_day"), None),
                                    ("set", ("mining", "hashprice"), {"btc_price_usd": 1e300, "difficulty": 1e-300})],
                                   "mining.hashprice.btc_price_usd: = 1e+300"),
    "derived_hashprice_too_high": ([("delete", ("mining", "hashprice_usd_per_ph_day"), None),
                                    ("set", ("mining", "hashprice"), {"btc_price_usd": 1e9, "difficulty": 1.0})],
                                   "mining.hashprice: 48 hours have a hashprice outside 0..1e+06 USD/PH/day"),
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defects_found_by_fuzzing_are_fixed(tmp_path, name):
    import copy

    mutations, expected = DEFECTS[name]
    doc = copy.deepcopy(BASE_SITE)
    for mutation in mutations:
        apply(doc, mutation)
    (tmp_path / "prices.csv").write_text(prices_csv(BASE_PRICES))
    site = tmp_path / "site.toml"
    site.write_text(to_toml(doc))
    code, err = run_case(tmp_path, site)
    if expected is None:  # a value that is valid but crashed before
        assert code == 0, err
        return
    assert code == 1 and f"{site}: {expected}" in err, err


def test_price_beyond_the_plausible_range_names_its_line(tmp_path):
    prices = list(BASE_PRICES)
    prices[5] = 2.5e5
    (tmp_path / "prices.csv").write_text(prices_csv(prices))
    site = tmp_path / "site.toml"
    site.write_text(to_toml(BASE_SITE))
    code, err = run_case(tmp_path, site)
    assert code == 1
    assert f"{site}: prices: {tmp_path / 'prices.csv'}: price beyond +-100,000 USD/MWh in column " \
           f"'price_usd_per_mwh' on 1 row: line 7 ('250000.0')." in err
