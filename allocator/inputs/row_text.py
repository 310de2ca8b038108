"""How a problem message names rows of a file, and which times are plausible at all.

Shared by the CSV readers (:mod:`allocator.inputs.price_formats`) and the time-label rules
(:mod:`allocator.inputs.time_labels`), so neither has to import the other to word a message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHOWN = 5  # how many offending rows a problem names
YEARS = (1900, 2199)  # times outside these years are misread cells


def count(n: int, noun: str) -> str:
    """``"1 row"``, ``"3 rows"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def describe_rows(lines: np.ndarray, texts: np.ndarray | None = None) -> str:
    """``"line 5 ('N/A'), line 9 ('') and 3 more"``: the first few rows of a problem."""
    shown = [
        f"line {line}" + (f" ({texts[i]!r})" if texts is not None else "")
        for i, line in enumerate(lines[:SHOWN])
    ]
    more = len(lines) - SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def plausible(times: pd.Series) -> pd.Series:
    """``times`` with NaT for years outside :data:`YEARS` (a misread cell, such as ``"-3"``)."""
    return times.where(times.dt.year.between(*YEARS))
