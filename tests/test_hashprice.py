"""Tests of allocator.hashprice: subsidy schedule, hashrate, hashprice, revenue per MW.

Expected numbers are written out by hand (or recomputed here with independent
arithmetic), never taken from the module under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.inputs.hashprice import (
    BLOCKS_PER_DAY,
    HALVINGS,
    SECONDS_PER_BLOCK,
    breakeven_price_usd_per_mwh,
    derive_hashprice_usd_per_ph_day,
    hashprice_from_history,
    mining_revenue_usd_per_mwh,
    network_hashrate_ph,
    ph_per_mw,
    subsidy_btc,
)

RAW_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


def utc(*stamps: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(stamps), tz="UTC")


# --- constants and schedule -----------------------------------------------


def test_constants():
    assert SECONDS_PER_BLOCK == 600
    assert BLOCKS_PER_DAY == 144


def test_halvings_table():
    heights = [210_000, 420_000, 630_000, 840_000, 1_050_000, 1_260_000]
    assert [h.height for h in HALVINGS] == heights
    assert [h.subsidy_btc_after for h in HALVINGS] == [25.0, 12.5, 6.25, 3.125, 1.5625, 0.78125]
    assert [h.date_utc.date().isoformat() for h in HALVINGS[:4]] == [
        "2012-11-28",
        "2016-07-09",
        "2020-05-11",
        "2024-04-20",
    ]
    assert all(str(h.date_utc.tz) == "UTC" for h in HALVINGS)
    # Estimates: 210,000 blocks x 600 s = 126,000,000 s after the previous one.
    assert HALVINGS[4].date_utc - HALVINGS[3].date_utc == pd.Timedelta(seconds=126_000_000)
    assert HALVINGS[5].date_utc - HALVINGS[4].date_utc == pd.Timedelta(seconds=126_000_000)
    assert HALVINGS[4].date_utc.year == 2028 and HALVINGS[4].date_utc.month == 4
    assert HALVINGS[5].date_utc.year == 2032


@pytest.mark.parametrize(
    ("stamp", "expected_btc"),
    [
        ("2009-01-03", 50.0),
        ("2012-11-27", 50.0),
        ("2012-11-29", 25.0),
        ("2016-07-08", 25.0),
        ("2016-07-10", 12.5),
        ("2020-05-10", 12.5),
        ("2020-05-12", 6.25),
        ("2024-04-19", 6.25),
        ("2024-04-19 23:59", 6.25),
        ("2024-04-21", 3.125),
        ("2028-04-01", 3.125),
        ("2028-06-01", 1.5625),
        ("2032-03-01", 1.5625),
        ("2033-01-01", 0.78125),
    ],
)
def test_subsidy_each_side_of_each_halving(stamp, expected_btc):
    assert subsidy_btc(utc(stamp)) == pytest.approx([expected_btc])


def test_subsidy_applies_from_the_halving_instant():
    for before, halving in zip((50.0,) + tuple(h.subsidy_btc_after for h in HALVINGS), HALVINGS):
        t = halving.date_utc
        got = subsidy_btc(pd.DatetimeIndex([t - pd.Timedelta(seconds=1), t]))
        assert got == pytest.approx([before, halving.subsidy_btc_after])


def test_subsidy_vectorized_and_naive_times_are_utc():
    naive = pd.DatetimeIndex(["2024-04-19", "2024-04-21", "2028-06-01", "2033-01-01"])
    got = subsidy_btc(naive)
    assert isinstance(got, np.ndarray)
    assert got == pytest.approx([6.25, 3.125, 1.5625, 0.78125])
    # An aware non-UTC time is converted: 2024-04-19 20:00 in New York is 00:00 UTC on the 20th,
    # before the halving block at 00:09:27 UTC; 21:00 New York (01:00 UTC) is after it.
    ny = pd.DatetimeIndex(["2024-04-19 20:00", "2024-04-19 21:00"]).tz_localize("America/New_York")
    assert subsidy_btc(ny) == pytest.approx([6.25, 3.125])


def test_subsidy_next_halving_override():
    times = utc("2027-06-01", "2027-12-31", "2028-01-02", "2030-06-01", "2031-12-28", "2031-12-30")
    # Default estimate: April 2028 / April 2032.
    assert subsidy_btc(times) == pytest.approx([3.125, 3.125, 3.125, 1.5625, 1.5625, 1.5625])
    # Moved to 2028-01-01: the 1,260,000 halving moves by the same delta, to 2028-01-01 + 1458 d 8 h
    # = 2031-12-29 08:00 UTC.
    got = subsidy_btc(times, next_halving_utc=pd.Timestamp("2028-01-01", tz="UTC"))
    assert got == pytest.approx([3.125, 3.125, 1.5625, 1.5625, 1.5625, 0.78125])
    # Moved earlier to 2027-07-01 (naive is UTC); past halvings are not moved.
    got = subsidy_btc(utc("2024-04-19", "2027-06-30", "2027-07-02"), next_halving_utc="2027-07-01")
    assert got == pytest.approx([6.25, 3.125, 1.5625])


def test_subsidy_override_must_follow_last_halving():
    with pytest.raises(ValueError, match="next_halving_utc"):
        subsidy_btc(utc("2025-01-01"), next_halving_utc=pd.Timestamp("2024-01-01", tz="UTC"))


# --- hashrate -------------------------------------------------------------


def test_network_hashrate_hand_value():
    # 2**32 = 4,294,967,296; 1.1215e14 * 4,294,967,296 = 4.816805823...e23 hashes per block,
    # / 600 s = 8.028009...e20 H/s = 802,800.97 PH/s.
    expected_ph = 1.1215e14 * 4_294_967_296 / 600 / 1_000_000_000_000_000
    assert expected_ph == pytest.approx(802_800.97, rel=1e-8)
    got = network_hashrate_ph(1.1215e14)
    assert isinstance(got, float)
    assert got == pytest.approx(expected_ph, rel=1e-12)


def test_network_hashrate_array():
    got = network_hashrate_ph(np.array([1.0, 2.0e13]))
    assert isinstance(got, np.ndarray)
    assert got == pytest.approx([4_294_967_296 / 600 / 1e15, 2.0e13 * 4_294_967_296 / 600 / 1e15])


@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf")])
def test_network_hashrate_rejects_bad_difficulty(bad):
    with pytest.raises(ValueError, match="difficulty"):
        network_hashrate_ph(bad)


# --- derived hashprice ----------------------------------------------------


def test_derive_hashprice_hand_computed():
    # 2025-03-01: 3.125 BTC subsidy + 0.05 BTC fees, BTC at 86,000 USD, difficulty 1.1215e14.
    hashrate_ph = 1.1215e14 * 4_294_967_296 / 600 / 1e15  # 802,800.97 PH/s
    # 3.175 BTC * 144 blocks * 86,000 USD = 39,319,200 USD/day over the network.
    expected = (3.125 + 0.05) * 144 * 86_000 / hashrate_ph
    assert expected == pytest.approx(48.977, rel=1e-4)
    got = derive_hashprice_usd_per_ph_day(utc("2025-03-01"), 86_000.0, 1.1215e14, 0.05)
    assert isinstance(got, np.ndarray)
    assert got == pytest.approx([expected], rel=1e-12)


def test_derive_hashprice_arrays_broadcast():
    times = utc("2024-01-01", "2024-06-01", "2025-01-01")
    prices = np.array([40_000.0, 70_000.0, 95_000.0])
    got = derive_hashprice_usd_per_ph_day(times, prices, 1.0e14)
    ph = 1.0e14 * 2**32 / 600 / 1e15
    assert got == pytest.approx(
        [6.25 * 144 * 40_000 / ph, 3.125 * 144 * 70_000 / ph, 3.125 * 144 * 95_000 / ph]
    )
    diffs = pd.Series([8.0e13, 9.0e13, 1.1e14])
    fees = [0.1, 0.2, 0.3]
    got = derive_hashprice_usd_per_ph_day(times, 60_000.0, diffs, fees_btc_per_block=fees)
    assert got == pytest.approx(
        [
            (6.25 + 0.1) * 144 * 60_000 / (8.0e13 * 2**32 / 600 / 1e15),
            (3.125 + 0.2) * 144 * 60_000 / (9.0e13 * 2**32 / 600 / 1e15),
            (3.125 + 0.3) * 144 * 60_000 / (1.1e14 * 2**32 / 600 / 1e15),
        ]
    )


def test_derive_hashprice_steps_half_at_2028_halving():
    halving = HALVINGS[4].date_utc
    times = pd.date_range(halving - pd.Timedelta(hours=48), periods=97, freq="h")
    assert times[48] == halving
    hp = derive_hashprice_usd_per_ph_day(times, 100_000.0, 1.5e14)
    assert hp[:48] == pytest.approx(np.full(48, hp[0]))  # flat before
    assert hp[48:] == pytest.approx(np.full(49, hp[0] / 2))  # exactly half from the halving on
    fee = 0.2
    hp_fee = derive_hashprice_usd_per_ph_day(times, 100_000.0, 1.5e14, fees_btc_per_block=fee)
    assert hp_fee[48] / hp_fee[47] == pytest.approx((1.5625 + fee) / (3.125 + fee))
    assert hp_fee[48] / hp_fee[47] == pytest.approx(1.7625 / 3.325)


def test_derive_hashprice_override_moves_the_step():
    times = utc("2027-12-31", "2028-01-02")
    hp = derive_hashprice_usd_per_ph_day(times, 100_000.0, 1.5e14, next_halving_utc="2028-01-01")
    assert hp[1] / hp[0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"btc_price_usd": -1.0}, "btc_price_usd"),
        ({"btc_price_usd": float("nan")}, "btc_price_usd"),
        ({"btc_price_usd": [1.0, float("inf")]}, "btc_price_usd"),
        ({"difficulty": 0.0}, "difficulty"),
        ({"difficulty": -5.0}, "difficulty"),
        ({"difficulty": [1e14, float("nan")]}, "difficulty"),
        ({"fees_btc_per_block": -0.1}, "fees_btc_per_block"),
        ({"btc_price_usd": [1.0, 2.0, 3.0]}, "one value per time"),
    ],
)
def test_derive_hashprice_rejects_bad_inputs(kwargs, match):
    args = {"btc_price_usd": 60_000.0, "difficulty": 1e14, **kwargs}
    with pytest.raises(ValueError, match=match):
        derive_hashprice_usd_per_ph_day(utc("2025-01-01", "2025-01-02"), **args)


@settings(max_examples=50, deadline=None)
@given(
    price=st.floats(min_value=100.0, max_value=1e6),
    difficulty=st.floats(min_value=1e10, max_value=1e16),
    k=st.floats(min_value=0.01, max_value=100.0),
    fees=st.floats(min_value=0.0, max_value=2.0),
)
def test_hashprice_linear_in_price_inverse_in_difficulty(price, difficulty, k, fees):
    times = utc("2023-01-01", "2026-01-01")
    base = derive_hashprice_usd_per_ph_day(times, price, difficulty, fees)
    scaled_price = derive_hashprice_usd_per_ph_day(times, k * price, difficulty, fees)
    scaled_difficulty = derive_hashprice_usd_per_ph_day(times, price, k * difficulty, fees)
    assert scaled_price == pytest.approx(k * base, rel=1e-9)
    assert scaled_difficulty == pytest.approx(base / k, rel=1e-9)


# --- per-MW economics -----------------------------------------------------


def test_ph_per_mw():
    # 1e6 W / 17.5 W per TH/s = 57,142.857 TH/s = 57.142857 PH/s.
    assert ph_per_mw(17.5) == pytest.approx(57.142857142857)
    assert ph_per_mw(np.array([20.0, 25.0])) == pytest.approx([50.0, 40.0])
    with pytest.raises(ValueError, match="efficiency_j_per_th"):
        ph_per_mw(0.0)


def test_s21_revenue_and_breakeven():
    # Antminer S21 at 17.5 J/TH, hashprice 45 USD/PH/day, 2 % pool fee:
    # 45 * 0.98 = 44.1; * 1000 / 17.5 = 2,520 USD per MW-day; / 24 = 105 USD per IT MWh.
    revenue = mining_revenue_usd_per_mwh(45.0, 0.02, 17.5)
    assert isinstance(revenue, float)
    assert revenue == pytest.approx(45 * 0.98 * (1000 / 17.5) / 24)
    assert revenue == pytest.approx(105.0)
    # At PUE 1.05 each IT MWh draws 1.05 grid MWh: 105 / 1.05 = 100 USD per grid MWh.
    breakeven = breakeven_price_usd_per_mwh(45.0, 0.02, 17.5, 1.05)
    assert breakeven == pytest.approx(45 * 0.98 * (1000 / 17.5) / 24 / 1.05)
    assert breakeven == pytest.approx(100.0)


def test_revenue_broadcasts_over_hashprice_series():
    got = mining_revenue_usd_per_mwh(np.array([0.0, 45.0, 90.0]), 0.0, np.array([17.5, 17.5, 15.0]))
    assert got == pytest.approx([0.0, 45 * 1000 / 17.5 / 24, 90 * 1000 / 15 / 24])
    got = breakeven_price_usd_per_mwh(45.0, 0.02, [17.5, 21.5], [1.0, 1.1])
    assert got == pytest.approx([105.0, 45 * 0.98 * (1000 / 21.5) / 24 / 1.1])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1.0, 0.02, 17.5, 1.05), "hashprice_usd_per_ph_day"),
        ((45.0, 1.0, 17.5, 1.05), "pool_fee_frac"),
        ((45.0, -0.1, 17.5, 1.05), "pool_fee_frac"),
        ((45.0, 0.02, 0.0, 1.05), "efficiency_j_per_th"),
        ((45.0, 0.02, 17.5, 0.9), "pue"),
        ((45.0, 0.02, 17.5, float("nan")), "pue"),
    ],
)
def test_breakeven_rejects_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        breakeven_price_usd_per_mwh(*args)


# --- hashprice from a daily history ---------------------------------------


def test_hashprice_from_history_synthetic():
    days = pd.DatetimeIndex(["2024-04-18", "2024-04-19", "2024-04-20", "2024-04-21"])
    close = pd.Series([60_000.0, 62_000.0, 65_000.0, 64_000.0], index=days)
    # Hashrate dated by UTC-midnight timestamps, one extra day at each end.
    hashrate = pd.Series(
        [5.9e20, 6.0e20, 6.1e20, 6.2e20, 6.3e20],
        index=pd.date_range("2024-04-19", periods=5, freq="D", tz="UTC"),
    )
    got = hashprice_from_history(close, hashrate)
    assert got.name == "hashprice_usd_per_ph_day"
    assert list(got.index) == list(pd.date_range("2024-04-19", periods=3, freq="D", tz="UTC"))
    # 2024-04-20: 567 s (00:00 -> 00:09:27) at 6.25 BTC, then 3.125 BTC.
    halving_day_btc = 3.125 + 3.125 * 567 / 86_400
    assert got.to_numpy() == pytest.approx(
        [
            6.25 * 144 * 62_000 / 590_000,
            halving_day_btc * 144 * 65_000 / 600_000,
            3.125 * 144 * 64_000 / 610_000,
        ]
    )
    with_fees = hashprice_from_history(close, hashrate, fees_btc_per_block=0.1)
    assert with_fees.iloc[2] == pytest.approx((3.125 + 0.1) * 144 * 64_000 / 610_000)


def test_hashprice_from_history_rejects_bad_values():
    days = pd.date_range("2024-01-01", periods=2, freq="D", tz="UTC")
    ok_close = pd.Series([1.0, 1.0], index=days)
    ok_hashrate = pd.Series([1e20, 1e20], index=days)
    with pytest.raises(ValueError, match="btc_close_usd"):
        hashprice_from_history(pd.Series([1.0, -1.0], index=days), ok_hashrate)
    with pytest.raises(ValueError, match="hashrate_h_per_s"):
        hashprice_from_history(ok_close, pd.Series([1e20, 0.0], index=days))
    twice = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 12:00"], tz="UTC")
    with pytest.raises(ValueError, match="one value per UTC day"):
        hashprice_from_history(pd.Series([1.0, 1.0], index=twice), ok_hashrate)


def _read_btc_close_usd(raw_dir: Path) -> pd.Series:
    """Daily BTC close [USD]: file (a) before 2024-01-01, file (b) from then on (SOURCES.md 3)."""
    folder = raw_dir / "btc_price"
    old = pd.read_csv(folder / "BTC-USD_yahoo_2014-09-17_2024-03-31.csv", usecols=["Date", "Close"])
    new = pd.read_csv(  # BOM, CRLF, every value quoted
        folder / "BTC-USD_yahoo_2024-01-01_2026-06-25.csv",
        usecols=["Date", "Close"],
        encoding="utf-8-sig",
    )
    split = pd.Timestamp("2024-01-01", tz="UTC")
    parts = []
    for frame, keep_before in ((old, True), (new, False)):
        dates = pd.to_datetime(frame["Date"], format="%Y-%m-%d", utc=True)
        close = pd.Series(pd.to_numeric(frame["Close"]).to_numpy(), index=pd.DatetimeIndex(dates))
        parts.append(close[close.index < split] if keep_before else close[close.index >= split])
    return pd.concat(parts)


def _read_hashrate_h_per_s(raw_dir: Path) -> pd.Series:
    """Daily average network hashrate [H/s] from the mempool.space dump (SOURCES.md section 4)."""
    path = raw_dir / "btc_network" / "mempool_hashrate_difficulty_2009-01-03_2025-03-22.json"
    points = json.loads(path.read_text())["hashrates"]
    index = pd.to_datetime([p["timestamp"] for p in points], unit="s", utc=True)
    return pd.Series([float(p["avgHashrate"]) for p in points], index=index)


@pytest.mark.skipif(not RAW_DIR.is_dir(), reason=f"raw data folder {RAW_DIR} not present")
@pytest.mark.parametrize(
    ("date", "sources_usd_per_ph_day"),
    [
        ("2021-04-15", 368.0),
        ("2021-07-15", 236.0),
        ("2022-11-21", 52.0),
        ("2023-08-17", 57.0),
        ("2024-03-15", 108.0),
        ("2024-05-01", 42.5),
        ("2025-03-01", 46.0),
    ],
)
def test_hashprice_from_history_reproduces_sources_table(
    date, sources_usd_per_ph_day, real_hashprice
):
    got = real_hashprice.loc[pd.Timestamp(date, tz="UTC")]
    assert got == pytest.approx(sources_usd_per_ph_day, rel=0.03)


@pytest.fixture(scope="module")
def real_hashprice() -> pd.Series:
    if not RAW_DIR.is_dir():
        pytest.skip(f"raw data folder {RAW_DIR} not present")
    close = _read_btc_close_usd(RAW_DIR)
    assert not close.index.has_duplicates
    hashrate = _read_hashrate_h_per_s(RAW_DIR)
    hashprice = hashprice_from_history(close, hashrate)
    # The overlap of the two sources: 2014-09-17 .. 2025-03-22, daily with no gaps.
    assert hashprice.index[0] == pd.Timestamp("2014-09-17", tz="UTC")
    assert hashprice.index[-1] == pd.Timestamp("2025-03-22", tz="UTC")
    assert len(hashprice) == (hashprice.index[-1] - hashprice.index[0]).days + 1
    return hashprice
