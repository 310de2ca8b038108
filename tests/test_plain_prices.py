"""The fast readers of the common price file against the general ones they stand in for.

``read_table`` splits a plain CSV file (ASCII, no quotes, no spaces, rectangular) itself and leaves the
rest to the csv module; ``parse_iso_times`` reads a column of one plain ISO layout with numpy and
leaves the rest to pandas. Wherever the fast reader answers, its answer must be the general one's.
Also checked end to end: the hourly series, its warnings and its problems are the same as with
both fast readers switched off, on generated files around DST changes (offsets, ``Z``, naive
wall-clock times, hour-ending labels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.errors import InputError
from allocator.inputs import price_formats as pf
from allocator.inputs import time_labels as tl
from allocator.inputs.series import load_price_series

REPO = Path(__file__).resolve().parents[1]


def csv_table(path: Path):
    problems: list = []
    text = pf._decode(path, "prices", problems)
    header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    sep = max([",", ";", "\t"], key=header_line.count)
    return pf._csv_table(path, text, sep, "prices", problems), problems


def pandas_times(cells: np.ndarray):
    """parse_iso_times' general route: the 24:00 labels, the offset and date screens, pandas' ISO reader."""
    text = pd.Series(cells, dtype=object)
    text, _ = tl.end_of_day_labels(text)
    offset = pf._matching(text, pf._OFFSET.search, pf._may_have_offset)
    wall = pf.plausible(pf._to_datetime(text.where(~offset, ""), utc=False))
    utc = pf.plausible(pf._to_datetime(text.where(offset, ""), utc=True))
    return wall, utc, pf._matching(text, pf._DATE_ONLY.fullmatch, lambda s: len(s) == 10)


def assert_same_times(fast, general):
    for a, b in zip(fast[:2], general[:2]):
        assert a.dtype == b.dtype
        pd.testing.assert_series_equal(a, b)
    np.testing.assert_array_equal(fast[2], general[2])


def assert_same_table(fast, general):
    assert (fast is None) == (general is None)
    if fast is None:
        return
    assert fast.columns == general.columns and fast.sep == general.sep
    np.testing.assert_array_equal(fast.lines, general.lines)
    for name in fast.columns:
        assert fast.cells[name].dtype == general.cells[name].dtype == object
        assert fast.cells[name].tolist() == general.cells[name].tolist()


CELL = st.one_of(st.sampled_from(["", "1.5", "-3", "2024-03-10T02:00:00-06:00", "2024-03-10 02:00:00", "N/A", "1e400",
                                  "x y", "x\ty", '"a,b"', "é", "\t", " 7 ", "7 ", " ", "24:00", "\x0b", "a\rb"]),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4))


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=8),
       sep=st.sampled_from([",", ";", "\t"]), crlf=st.booleans(), end=st.booleans())
def test_the_split_table_is_the_csv_modules(tmp_path_factory, rows, sep, crlf, end):
    newline = "\r\n" if crlf else "\n"
    text = newline.join(sep.join(row) for row in rows) + (newline if end else "")
    path = tmp_path_factory.mktemp("t") / "p.csv"
    path.write_bytes(text.encode("utf-8"))
    plain = pf._plain_table(pf._decode(path, "prices", []), sep)
    general, general_problems = csv_table(path)
    problems: list = []
    fast = pf.read_table(path, "prices", problems)
    assert [str(p) for p in problems] == [str(p) for p in general_problems]
    assert_same_table(fast, general)
    if plain is not None:  # the split answered: its header and rows are the csv module's
        header, cells = plain
        assert general is None or [c or f"column {i + 1}" for i, c in enumerate(header)] == general.columns
        assert general is None or cells.tolist() == np.column_stack(list(general.cells.values())).tolist()


@pytest.mark.parametrize("name", ["ercot_hb_south_hourly.csv", "ercot_hb_south_15min.csv",
                                  "ercot_load_2024_summer.csv"])
def test_bundled_price_files_split_as_the_csv_module_reads_them(name):
    path = REPO / "sites" / "data" / name
    assert pf._plain_table(pf._decode(path, "prices", []), ",") is not None
    assert_same_table(pf.read_table(path, "prices", []), csv_table(path)[0])
    table = pf.read_table(path, "prices", [])
    cells = table.cells[table.columns[0]]
    assert pf.plain_iso_times(cells) is not None
    assert_same_times(pf.plain_iso_times(cells), pandas_times(cells))


LAYOUT = st.sampled_from(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
ZONE = st.sampled_from(["", "Z", "offset"])


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=pd.Timestamp("1899-12-30").to_pydatetime(),
                          max_value=pd.Timestamp("2200-01-02").to_pydatetime()),
       n=st.integers(1, 40), step_min=st.sampled_from([1, 15, 60, 1440, 44640]), layout=LAYOUT, zone=ZONE,
       tz=st.sampled_from(["America/Chicago", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"]),
       spoil=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(
           ["2024-02-30T01:00", "2024-04-31 00:00:00", "2024-01-01T24:00", "2024-01-01T23:60", "2024-13-01T00:00",
            "2024-01-01T00:00:60", "2024-01-01T00:00z", "2024-01-01t00:00", "2024-01-01T00:00+05", "٢٠٢٤-01-01T00:00",
            "2024-01-01T00:00+24:00", "2024-01-01T00:00-05:60", "2024-01-01", "2024-01-01T00:00:00.5Z",
            "1899-12-31T23:00", "2200-01-01T00:00", "2024-01-01T00:00 ", "2024-01-01T0:00"])), max_size=2))
def test_numpy_times_are_pandas_times(start, n, step_min, layout, zone, tz, spoil):
    moments = pd.date_range(pd.Timestamp(start).floor("min"), periods=n, freq=f"{step_min}min")
    if zone == "offset":
        local = moments.tz_localize("UTC").tz_convert(tz)
        cells = [t.strftime(layout) + t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:] for t in local]
    else:
        cells = [t.strftime(layout) + zone for t in moments]
    for i, text in spoil:
        if i < n:
            cells[i] = text
    cells = np.array(cells, dtype=object)
    general = pandas_times(cells)
    fast = pf.plain_iso_times(cells)
    if fast is not None:
        assert_same_times(fast, general)
    years = [int(c[:4]) for c in cells]
    if not spoil and min(years) >= 1900 and max(years) <= 2199 and {len(c) for c in cells} <= set(pf._PLAIN_LAYOUTS):
        assert fast is not None  # the common case is read fast (not a local mean time's seconds offset)


def write(folder: Path, times: list[str], prices: list[float]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "p.csv"
    pd.DataFrame({"time": times, "price_usd_per_mwh": prices}).to_csv(path, index=False)
    return path


def loaded(path: Path, **kwargs):
    warnings: list = []
    try:
        out = load_price_series(path, warnings=warnings, **kwargs)
    except InputError as err:
        return None, [str(p) for p in err.problems], [str(w) for w in warnings], False
    return out, [], [str(w) for w in warnings], out.attrs.get("native_hourly")


@pytest.mark.parametrize("seed", range(40))
def test_hourly_series_are_those_of_the_general_readers(tmp_path, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    tz = ["America/Chicago", "Europe/Berlin", "UTC", "Australia/Lord_Howe"][seed % 4]
    anchor = pd.Timestamp(["2024-03-10", "2024-11-03", "2024-03-31", "2024-10-27", "2024-04-07"][seed % 5], tz=tz)
    utc = pd.date_range(anchor.tz_convert("UTC") - pd.Timedelta(hours=int(rng.integers(2, 30))),
                        periods=int(rng.integers(24, 72)), freq=["h", "15min"][int(rng.integers(0, 2))])
    label = ["start", "end"][int(rng.integers(0, 2))]
    shown = utc + (utc[1] - utc[0]) if label == "end" else utc
    style = int(rng.integers(0, 4))
    if style == 0:
        times = [t.tz_convert(tz).isoformat() for t in shown]
    elif style == 1:
        times = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in shown]
    elif style == 2:  # naive wall clock: the fall-back hour twice, the spring-forward one absent
        times = [t.tz_convert(tz).strftime("%Y-%m-%d %H:%M") for t in shown]
    else:  # naive, the fall-back hour written once (a warning), or a row dropped (a missing hour)
        times = [t.tz_convert(tz).strftime("%Y-%m-%d %H:%M:%S") for t in shown]
        drop = int(rng.integers(0, len(times)))
        times = times[:drop] + times[drop + 1:] if seed % 3 else list(dict.fromkeys(times))
    prices = np.round(rng.normal(40, 30, len(times)), int(rng.integers(0, 5))).tolist()
    if seed % 7 == 0:
        prices[int(rng.integers(0, len(prices)))] = float("nan")
    path = write(tmp_path, times, prices)
    kwargs = {"timezone": tz, "time_label": label, "fill": [None, "ffill"][seed % 2]}
    fast = loaded(path, **kwargs)
    monkeypatch.setattr(pf, "_plain_table", lambda text, sep: None)
    monkeypatch.setattr(pf, "plain_iso_times", lambda cells: None)
    general = loaded(path, **kwargs)
    assert fast[1:] == general[1:]
    assert (fast[0] is None) == (general[0] is None)
    if fast[0] is not None:
        pd.testing.assert_series_equal(fast[0], general[0])
        assert fast[0].index.freq == general[0].index.freq


def test_the_real_hb_west_file_splits_as_the_csv_module_reads_it(shared_raw):
    path = shared_raw / "ercot_hb_west_rtlmp" / "nbohr_hourly_prices.csv"
    assert pf._plain_table(pf._decode(path, "prices", []), ",") is not None  # "2023-07-06 00:00:00": a blank inside
    table = pf.read_table(path, "prices", [])
    assert_same_table(table, csv_table(path)[0])
    cells = table.cells["HOUR"]
    assert pf.plain_iso_times(cells) is not None
    assert_same_times(pf.plain_iso_times(cells), pandas_times(cells))
