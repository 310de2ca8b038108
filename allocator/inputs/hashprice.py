"""Bitcoin mining economics: subsidy schedule, difficulty -> hashrate, hashprice, revenue per MW.

Hashprice is what one PH/s of hashing earns per day [USD/PH/day]::

    network_hashrate_ph = difficulty * 2**32 / 600 / 1e15
    hashprice_usd_per_ph_day = (subsidy_btc + fees_btc_per_block) * 144 * btc_price_usd
                               / network_hashrate_ph

and 1 IT MW of ASICs at ``e`` J/TH hashes ``1000 / e`` PH/s. Everything here is
plain numpy/pandas arithmetic; reading site files and turning bad user values
into friendly errors happens in the layers above. The functions below still
refuse values that cannot be right (negative or non-finite prices, difficulty
that is not positive) with a :class:`ValueError` naming the argument.

Times are UTC. A time-zone-naive timestamp or index is taken to be UTC; an
aware one is converted to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "BLOCKS_PER_DAY",
    "HALVINGS",
    "Halving",
    "SECONDS_PER_BLOCK",
    "breakeven_price_usd_per_mwh",
    "derive_hashprice_usd_per_ph_day",
    "hashprice_from_history",
    "mining_revenue_usd_per_mwh",
    "network_hashrate_ph",
    "ph_per_mw",
    "subsidy_btc",
]

SECONDS_PER_BLOCK = 600
"""Target block interval [s]."""

BLOCKS_PER_DAY = 144
"""Blocks per day at the target interval, 86,400 s / 600 s [blocks/day]."""

HASHES_PER_DIFFICULTY = 2**32
"""Expected hashes to find a block at difficulty 1 [H]."""

H_PER_PH = 1e15
"""Hashes per second in one PH/s [(H/s)/(PH/s)]."""

BLOCKS_PER_HALVING = 210_000
"""Blocks between two subsidy halvings [blocks]."""

INITIAL_SUBSIDY_BTC = 50.0
"""Block subsidy before the first halving [BTC per block]."""


@dataclass(frozen=True)
class Halving:
    """One halving of the block subsidy.

    Parameters
    ----------
    height : int
        Height of the first block paying the new subsidy [block].
    date_utc : pandas.Timestamp
        When that block was (or is expected to be) mined, tz-aware [UTC].
    subsidy_btc_after : float
        Block subsidy from this block on [BTC per block].
    """

    height: int
    date_utc: pd.Timestamp
    subsidy_btc_after: float


def _expected_after(previous: pd.Timestamp) -> pd.Timestamp:
    """Date of the next halving at exactly 210,000 blocks x 600 s after ``previous`` [UTC]."""
    return previous + pd.Timedelta(seconds=BLOCKS_PER_HALVING * SECONDS_PER_BLOCK)


_H840 = pd.Timestamp("2024-04-20 00:09:27", tz="UTC")
_H1050 = _expected_after(_H840)  # 2028-04-17 08:09:27 UTC
_H1260 = _expected_after(_H1050)  # 2032-04-14 16:09:27 UTC

HALVINGS: tuple[Halving, ...] = (
    Halving(210_000, pd.Timestamp("2012-11-28 15:24:38", tz="UTC"), 25.0),
    Halving(420_000, pd.Timestamp("2016-07-09 16:46:13", tz="UTC"), 12.5),
    Halving(630_000, pd.Timestamp("2020-05-11 19:23:43", tz="UTC"), 6.25),
    Halving(840_000, _H840, 3.125),
    Halving(1_050_000, _H1050, 1.5625),
    Halving(1_260_000, _H1260, 0.78125),
)
"""The subsidy halvings, oldest first.

The four past ones carry the header timestamps of blocks 210,000, 420,000,
630,000 and 840,000, to the second [UTC] (block timestamps are set by the
miner and may differ from wall-clock time by a few minutes; they are the
figures block explorers publish):

- 210,000: 2012-11-28 15:24:38 (unix 1354116278), 50 -> 25 BTC
- 420,000: 2016-07-09 16:46:13 (unix 1468082773), 25 -> 12.5 BTC
- 630,000: 2020-05-11 19:23:43 (unix 1589225023), 12.5 -> 6.25 BTC
- 840,000: 2024-04-20 00:09:27 (unix 1713571767), 6.25 -> 3.125 BTC

The two future ones are estimates: 210,000 blocks at the 600 s target after
the previous halving, i.e. + 126,000,000 s = + 1458 days 8 h:

- 1,050,000: 2024-04-20 00:09:27 + 1458 d 8 h = 2028-04-17 08:09:27, 3.125 -> 1.5625 BTC
- 1,260,000: 2028-04-17 08:09:27 + 1458 d 8 h = 2032-04-14 16:09:27, 1.5625 -> 0.78125 BTC

While the network hashrate keeps growing, blocks come somewhat faster than
every 600 s, so the real dates tend to fall a few days to weeks earlier;
:func:`subsidy_btc` takes ``next_halving_utc`` to move them.
"""

_LAST_PAST_HALVING_INDEX = 3  # HALVINGS[3] is block 840,000; later entries are estimates.


# --- input checks ---------------------------------------------------------


def _as_float_array(name: str, value, *, allow_zero: bool = True) -> np.ndarray:
    """``value`` as a float array, refusing non-finite and negative (or zero) entries."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} must be finite, got {arr[bad].ravel()[0]!r}")
    too_small = arr < 0 if allow_zero else arr <= 0
    if too_small.any():
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {arr[too_small].ravel()[0]!r}")
    return arr


def _scalar_or_array(arr: np.ndarray) -> float | np.ndarray:
    """A 0-d result as a Python float, anything else unchanged."""
    return float(arr) if arr.ndim == 0 else arr


def _broadcast_to_times(name: str, arr: np.ndarray, n_times: int) -> np.ndarray:
    """A scalar or a 1-d array of length ``n_times`` as a 1-d array of that length."""
    if arr.ndim == 0:
        return np.full(n_times, float(arr))
    if arr.shape != (n_times,):
        raise ValueError(
            f"{name} must be a scalar or have one value per time ({n_times}), "
            f"got shape {arr.shape}"
        )
    return arr


def _to_utc_index(times_utc) -> pd.DatetimeIndex:
    """``times_utc`` as a tz-aware UTC DatetimeIndex (naive times are taken as UTC)."""
    index = pd.DatetimeIndex(times_utc)
    if index.hasnans:
        raise ValueError("times must not contain NaT (missing timestamps)")
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")


def _to_utc_timestamp(name: str, value) -> pd.Timestamp:
    """``value`` as a tz-aware UTC Timestamp (naive is taken as UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a timestamp, got {value!r}") from exc
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a timestamp, got NaT")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


# --- subsidy schedule -----------------------------------------------------


def _halving_dates_utc(next_halving_utc) -> list[pd.Timestamp]:
    """Halving dates [UTC], the estimates shifted so 1,050,000 falls on ``next_halving_utc``."""
    dates = [h.date_utc for h in HALVINGS]
    if next_halving_utc is None:
        return dates
    first_estimate = _LAST_PAST_HALVING_INDEX + 1
    new_date = _to_utc_timestamp("next_halving_utc", next_halving_utc)
    last_past = HALVINGS[_LAST_PAST_HALVING_INDEX]
    if new_date <= last_past.date_utc:
        raise ValueError(
            f"next_halving_utc = {new_date} must be after the last halving "
            f"(block {last_past.height:,} on {last_past.date_utc})"
        )
    shift = new_date - HALVINGS[first_estimate].date_utc
    return dates[:first_estimate] + [d + shift for d in dates[first_estimate:]]


def subsidy_btc(
    times_utc: pd.DatetimeIndex, next_halving_utc: pd.Timestamp | None = None
) -> np.ndarray:
    """Block subsidy in force at each time [BTC per block].

    A halving applies from its date on: at ``HALVINGS[k].date_utc`` itself the
    subsidy is already ``HALVINGS[k].subsidy_btc_after``.

    Parameters
    ----------
    times_utc : pandas.DatetimeIndex
        Times at which to read the schedule [UTC]; naive times are taken as
        UTC, aware ones are converted.
    next_halving_utc : pandas.Timestamp or None
        Date of the 1,050,000 halving [UTC], replacing the estimate in
        :data:`HALVINGS`; the 1,260,000 halving moves by the same delta. Must
        be after 2024-04-20. ``None`` keeps the estimates.

    Returns
    -------
    numpy.ndarray
        Subsidy per block, one float per time [BTC per block].
    """
    index = _to_utc_index(times_utc)
    out = np.full(len(index), INITIAL_SUBSIDY_BTC)
    for halving, date in zip(HALVINGS, _halving_dates_utc(next_halving_utc), strict=True):
        out[np.asarray(index >= date)] = halving.subsidy_btc_after
    return out


def _daily_mean_subsidy_btc(days_utc: pd.DatetimeIndex) -> np.ndarray:
    """Time-weighted mean subsidy over each UTC day ``[d, d + 1 day)`` [BTC per block].

    Equal to :func:`subsidy_btc` on every day but a halving day, where it
    mixes the two subsidies in proportion to the hours before and after the
    halving block (2024-04-20: 6.25 for 9 min 27 s, then 3.125 -> 3.1455).
    """
    day = pd.Timedelta(days=1)
    day_end = _to_utc_index(days_utc) + day
    out = np.full(len(day_end), INITIAL_SUBSIDY_BTC)
    before = INITIAL_SUBSIDY_BTC
    for halving in HALVINGS:
        share_after = np.clip(np.asarray((day_end - halving.date_utc) / day, dtype=float), 0.0, 1.0)
        out += share_after * (halving.subsidy_btc_after - before)
        before = halving.subsidy_btc_after
    return out


# --- hashrate and hashprice -----------------------------------------------


def network_hashrate_ph(difficulty) -> np.ndarray | float:
    """Network hashrate implied by the difficulty [PH/s].

    ``difficulty * 2**32 / 600 / 1e15``: at difficulty ``D`` a block takes
    ``D * 2**32`` hashes on average, found every 600 s.

    Parameters
    ----------
    difficulty : float or array_like
        Mining difficulty, > 0 [dimensionless].

    Returns
    -------
    float or numpy.ndarray
        Network hashrate [PH/s]; a float for a scalar input.
    """
    d = _as_float_array("difficulty", difficulty, allow_zero=False)
    return _scalar_or_array(d * HASHES_PER_DIFFICULTY / SECONDS_PER_BLOCK / H_PER_PH)


def derive_hashprice_usd_per_ph_day(
    times_utc: pd.DatetimeIndex,
    btc_price_usd,
    difficulty,
    fees_btc_per_block=0.0,
    next_halving_utc=None,
) -> np.ndarray:
    """Hashprice from BTC price, difficulty and fees at each time [USD/PH/day].

    ``(subsidy_btc + fees_btc_per_block) * 144 * btc_price_usd / network_hashrate_ph``,
    with the subsidy read from :func:`subsidy_btc` at each time, so a series
    steps on a halving's date.

    Parameters
    ----------
    times_utc : pandas.DatetimeIndex
        Times of the series [UTC]; naive times are taken as UTC.
    btc_price_usd : float or array_like
        Bitcoin price, >= 0; a scalar or one value per time [USD/BTC].
    difficulty : float or array_like
        Mining difficulty, > 0; a scalar or one value per time [dimensionless].
    fees_btc_per_block : float or array_like, default 0.0
        Transaction fees per block, >= 0; a scalar or one value per time
        [BTC per block].
    next_halving_utc : pandas.Timestamp or None
        Override of the 1,050,000 halving date, see :func:`subsidy_btc` [UTC].

    Returns
    -------
    numpy.ndarray
        Hashprice, one float per time [USD/PH/day].
    """
    index = _to_utc_index(times_utc)
    n = len(index)
    price = _broadcast_to_times(
        "btc_price_usd", _as_float_array("btc_price_usd", btc_price_usd), n
    )
    diff = _broadcast_to_times(
        "difficulty", _as_float_array("difficulty", difficulty, allow_zero=False), n
    )
    fees = _broadcast_to_times(
        "fees_btc_per_block", _as_float_array("fees_btc_per_block", fees_btc_per_block), n
    )
    reward_btc_per_block = subsidy_btc(index, next_halving_utc) + fees
    return reward_btc_per_block * BLOCKS_PER_DAY * price / network_hashrate_ph(diff)


def hashprice_from_history(
    btc_close_usd: pd.Series,
    hashrate_h_per_s: pd.Series,
    fees_btc_per_block=0.0,
) -> pd.Series:
    """Daily hashprice from a daily BTC close and the daily network hashrate [USD/PH/day].

    ``(subsidy_btc + fees_btc_per_block) * 144 * close / (hashrate / 1e15)``.
    The subsidy of a day is its time-weighted mean over the UTC day, so it
    equals the schedule on every day but a halving day, which blends the two
    subsidies (2024-04-20, halving at 00:09:27 UTC: 3.1455 BTC).

    Parameters
    ----------
    btc_close_usd : pandas.Series
        Daily BTC close, indexed by UTC date (naive dates are taken as UTC;
        times within a day are floored to 00:00), >= 0 [USD/BTC].
    hashrate_h_per_s : pandas.Series
        Daily average network hashrate, indexed by UTC date (e.g.
        mempool.space's ``avgHashrate`` at its UTC-midnight ``timestamp``),
        > 0 on the dates shared with ``btc_close_usd`` [H/s].
    fees_btc_per_block : float or pandas.Series, default 0.0
        Transaction fees per block, >= 0; a scalar, or a Series indexed by UTC
        date that covers every date shared by the two inputs [BTC per block].

    Returns
    -------
    pandas.Series
        Hashprice on the dates present in both inputs, named
        ``"hashprice_usd_per_ph_day"``, indexed by ``interval_start_utc``
        (tz-aware UTC, 00:00 of each day) [USD/PH/day].
    """
    close = _daily_utc(btc_close_usd, "btc_close_usd")
    hashrate = _daily_utc(hashrate_h_per_s, "hashrate_h_per_s")
    days = close.index.intersection(hashrate.index).sort_values()
    close_usd = _as_float_array("btc_close_usd", close.reindex(days).to_numpy())
    hashrate_ph = (
        _as_float_array(
            "hashrate_h_per_s", hashrate.reindex(days).to_numpy(), allow_zero=False
        )
        / H_PER_PH
    )
    if isinstance(fees_btc_per_block, pd.Series):
        fees_series = _daily_utc(fees_btc_per_block, "fees_btc_per_block").reindex(days)
        fees = _as_float_array("fees_btc_per_block (on the shared dates)", fees_series.to_numpy())
    else:
        fees = _as_float_array("fees_btc_per_block", fees_btc_per_block)
        fees = _broadcast_to_times("fees_btc_per_block", fees, len(days))
    hashprice = (_daily_mean_subsidy_btc(days) + fees) * BLOCKS_PER_DAY * close_usd / hashrate_ph
    return pd.Series(
        hashprice,
        index=pd.DatetimeIndex(days, name="interval_start_utc"),
        name="hashprice_usd_per_ph_day",
    )


def _daily_utc(series: pd.Series, name: str) -> pd.Series:
    """``series`` re-indexed by UTC day (00:00, tz-aware), refusing two values on one day."""
    if not isinstance(series, pd.Series):
        raise ValueError(f"{name} must be a pandas Series indexed by UTC date")
    days = _to_utc_index(series.index).floor("D")
    if days.has_duplicates:
        raise ValueError(
            f"{name} must hold one value per UTC day; {days[days.duplicated()][0].date()} "
            "appears more than once"
        )
    return pd.Series(series.to_numpy(), index=days)


# --- per-MW economics ------------------------------------------------------


def ph_per_mw(efficiency_j_per_th) -> float | np.ndarray:
    """Hashrate of 1 IT MW of ASICs [PH/s per MW].

    ``1000 / e``: 1 MW = 1e6 J/s, divided by ``e`` J/TH gives ``1e6 / e``
    TH/s = ``1000 / e`` PH/s.

    Parameters
    ----------
    efficiency_j_per_th : float or array_like
        ASIC efficiency, > 0 [J/TH] (= W per TH/s).

    Returns
    -------
    float or numpy.ndarray
        Hashrate per IT MW [PH/s per MW]; a float for a scalar input.
    """
    e = _as_float_array("efficiency_j_per_th", efficiency_j_per_th, allow_zero=False)
    return _scalar_or_array(1000.0 / e)


def mining_revenue_usd_per_mwh(
    hashprice_usd_per_ph_day, pool_fee_frac, efficiency_j_per_th
) -> float | np.ndarray:
    """Mining revenue per IT MWh run [USD per IT-MWh].

    ``hashprice * (1 - pool_fee_frac) * (1000 / e) / 24``: one IT MW running
    one hour earns a 24th of a day's hashprice on its PH/s, net of the pool fee.

    Parameters
    ----------
    hashprice_usd_per_ph_day : float or array_like
        Hashprice, >= 0 [USD/PH/day].
    pool_fee_frac : float or array_like
        Share of revenue kept by the pool, in [0, 1) [fraction].
    efficiency_j_per_th : float or array_like
        ASIC efficiency, > 0 [J/TH].

    Returns
    -------
    float or numpy.ndarray
        Revenue per IT MWh, broadcast over the inputs [USD/MWh]; a float when
        every input is a scalar.
    """
    hashprice = _as_float_array("hashprice_usd_per_ph_day", hashprice_usd_per_ph_day)
    fee = _as_float_array("pool_fee_frac", pool_fee_frac)
    if (fee >= 1).any():
        raise ValueError(f"pool_fee_frac must be < 1, got {fee[fee >= 1].ravel()[0]!r}")
    ph = np.asarray(ph_per_mw(efficiency_j_per_th))
    return _scalar_or_array(hashprice * (1.0 - fee) * ph / 24.0)


def breakeven_price_usd_per_mwh(
    hashprice_usd_per_ph_day, pool_fee_frac, efficiency_j_per_th, pue
) -> float | np.ndarray:
    """Grid power price at which running the ASICs breaks even [USD per grid MWh].

    Revenue per IT MWh divided by the PUE, since each IT MWh draws ``pue``
    MWh from the grid. Running pays when the all-in power price is below this.

    Parameters
    ----------
    hashprice_usd_per_ph_day : float or array_like
        Hashprice, >= 0 [USD/PH/day].
    pool_fee_frac : float or array_like
        Share of revenue kept by the pool, in [0, 1) [fraction].
    efficiency_j_per_th : float or array_like
        ASIC efficiency, > 0 [J/TH].
    pue : float or array_like
        Power usage effectiveness of the mining halls, >= 1 [grid MW / IT MW].

    Returns
    -------
    float or numpy.ndarray
        Break-even power price [USD/MWh]; a float when every input is a scalar.
    """
    p = _as_float_array("pue", pue, allow_zero=False)
    if (p < 1).any():
        raise ValueError(f"pue must be >= 1, got {p[p < 1].ravel()[0]!r}")
    revenue = np.asarray(
        mining_revenue_usd_per_mwh(hashprice_usd_per_ph_day, pool_fee_frac, efficiency_j_per_th)
    )
    return _scalar_or_array(revenue / p)
