"""The column-by-column CSV writer (csv_files.csv_text) against pandas' writer it replaces on the hourly
tables: the same bytes on the bundled sites' run and on every kind of cell that needs care."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.csv_files import csv_lines, csv_text, escape_frame

ROOT = Path(__file__).resolve().parents[1]


def pandas_csv(frame: pd.DataFrame, header: bool = True) -> str:
    """What the hourly writer wrote before csv_text (escape_frame + DataFrame.to_csv)."""
    buffer = io.StringIO()
    escape_frame(frame).to_csv(buffer, index=False, header=header, lineterminator="\n")
    return buffer.getvalue()


@pytest.mark.parametrize("solver", ["auto", "highs"])
def test_bundled_sites_hourly_tables_are_byte_identical(solver):
    from allocator import load_site, solve

    result = solve([load_site(p) for p in sorted((ROOT / "sites").glob("*.toml"))], solver=solver)
    for table in (result.dispatch, result.shadow_prices, result.split, result.financials, result.fleets,
                  result.marginal_values):
        assert len(table) > 0
        for header in (True, False):
            assert csv_text(table, header) == pandas_csv(table, header)


def test_formula_text_quotes_and_special_numbers_are_byte_identical():
    rng = np.random.default_rng(0)
    numbers = np.concatenate([rng.normal(0, 1e6, 40), [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, 5e-324, 1e16,
                                                       123456789.123456789, 0.1, 1 / 3, -1e-7, -5.0]])
    texts = ["=SUM(A1)", "+1", "-x", "@a", "\tq", "\rr", "'=", "''", "'a", "plain", 'quo"te', "co,mma",
             "new\nline", "", " sp ", None, np.nan, "ünï", "2024-01-01T00:00:00Z"]
    n = len(numbers)
    frame = pd.DataFrame({"site_id": "west_texas", "value_usd": numbers, "hour": np.arange(n) - 3,
                          "flag": rng.random(n) > 0.5, "text": [texts[i % len(texts)] for i in range(n)],
                          'odd,"name': 1.5})
    written = csv_text(frame)
    assert written == pandas_csv(frame)
    assert csv_text(frame, header=False) == pandas_csv(frame, header=False)
    # the escaping really happened: -0.0 as 0.0, a formula prefixed, the quote doubled
    assert "\n'=SUM(A1)" not in written and ",'=SUM(A1)," in written and ',"quo""te",' in written
    assert ",-0.0," not in written and written.count(",0.0,") >= 2


def test_frames_it_does_not_handle_go_to_pandas():
    nullable = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1.0, 2.0]})
    mixed = pd.DataFrame({"a": ["x", 1.5], "b": [1.0, 2.0]})
    single = pd.DataFrame({"a": ["", "x"]})  # pandas quotes an empty field alone on its row
    for frame in (nullable, mixed, single):
        assert csv_lines(frame) is None


def test_write_csv_file_equals_pandas(tmp_path):
    from allocator.csv_files import write_csv

    frame = pd.DataFrame({"site_id": ["a", "=b"], "usd": [-0.0, 1e-9], "note": ["x,y", None]})
    for name, table in (("fast.csv", frame), ("pandas.csv", frame[["usd"]])):  # one column: the pandas path
        write_csv(table, tmp_path / name)
        escape_frame(table).to_csv(tmp_path / f"ref_{name}", index=False, lineterminator="\n")
        assert (tmp_path / name).read_bytes() == (tmp_path / f"ref_{name}").read_bytes()


def test_hourly_writer_file_equals_pandas(tmp_path):
    from allocator import load_site
    from allocator.lp import marginal, results
    from allocator.lp.results import solve_site
    from allocator.reports.hourly import DISPATCH, SHADOW_PRICES, write_hourly

    solved = [solve_site(load_site(p), "auto", None)[0] for p in sorted((ROOT / "sites").glob("*.toml"))]
    write_hourly(solved, tmp_path)
    dispatch = "".join(pandas_csv(results.dispatch_table([s]), header=i == 0) for i, s in enumerate(solved))
    shadow = "".join(pandas_csv(marginal.shadow_prices_table([s]), header=i == 0) for i, s in enumerate(solved))
    assert (tmp_path / DISPATCH).read_text(encoding="utf-8") == dispatch
    assert (tmp_path / SHADOW_PRICES).read_text(encoding="utf-8") == shadow


def test_interval_start_utc_is_strftimes_text():
    """The hourly tables' numpy-formatted UTC labels equal pandas' strftime, across DST and time zones."""
    from allocator import load_site
    from allocator.inputs.time_labels import interval_start_utc

    fmt = "%Y-%m-%dT%H:%M:%SZ"
    indexes = [load_site(p).index for p in sorted((ROOT / "sites").glob("*.toml"))]
    indexes += [pd.date_range("2024-03-09", "2024-11-04", freq="h", tz="America/Chicago"),
                pd.date_range("1999-12-31 22:00", periods=5, freq="15min", tz="UTC"),
                pd.date_range("2030-01-01", periods=3, freq="h")]  # naive: read as UTC
    for index in indexes:
        expected = (index.tz_convert("UTC") if index.tz is not None else index).strftime(fmt)
        assert interval_start_utc(index).tolist() == list(expected)
