"""Shared test helpers: tiny sites written to tmp_path, and the raw-data folder."""

from __future__ import annotations

import math
import re
from pathlib import Path

import os

import pandas as pd
import pytest
from hypothesis import settings

# The same examples on every run, so a CI result can be reproduced (and a flaky seed cannot fail a
# landing); HYPOTHESIS_PROFILE=explore draws new examples each run, to look for new failures.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
REPO = Path(__file__).resolve().parents[1]


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**63) <= value < 2**63 else repr(float(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if value is None:
        return '""'
    raise TypeError(value)


def to_toml(doc: dict) -> str:
    """A TOML writer for site files (and the fuzz suite's odd ones): tables as [headers], arrays of
    tables as [[headers]], everything else inline; any key, string, NaN or infinity written as TOML."""
    lines: list[str] = []

    def table(prefix: str, body: dict, array: bool) -> None:
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
        nested = []
        for key, value in body.items():
            name = f"{prefix}.{toml_key(key)}"
            if isinstance(value, dict) and value and all(not isinstance(v, dict) for v in value.values()) \
                    and key in ("hashprice", "utilization"):
                nested.append((name, value, False))
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                nested += [(name, item, True) for item in value]
            else:
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
        lines.append("")
        for name, item, is_array in nested:
            table(name, item, is_array)

    for key, value in doc.items():
        if isinstance(value, dict):
            table(toml_key(key), value, False)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                table(toml_key(key), item, True)
        else:
            lines.insert(0, f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(lines)


def is_number(text: str) -> bool:
    """Whether ``float(text)`` accepts the text."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_site(folder: Path, prices: list[float], doc: dict, *, site_id: str = "tiny",
               start: str = "2024-01-01T00:00:00Z") -> Path:
    """Write ``prices`` (hourly, UTC) as a CSV and ``doc`` as a site file; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    index = pd.date_range(start, periods=len(prices), freq="h")
    pd.DataFrame({"interval_start": index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "price_usd_per_mwh": prices}).to_csv(folder / f"{site_id}_prices.csv", index=False)
    full = {"site": {"timezone": "UTC"}, "prices": {"file": f"{site_id}_prices.csv"}}
    for key, value in doc.items():
        if isinstance(value, dict):
            full[key] = {**full.get(key, {}), **value}
        else:
            full[key] = value
    path = folder / f"{site_id}.toml"
    path.write_text(to_toml(full), encoding="utf-8")
    return path


@pytest.fixture
def shared_raw() -> Path:
    """The real public data beside the project; skip when absent."""
    if not SHARED_RAW.is_dir():
        pytest.skip("../shared/data/raw is absent")
    return SHARED_RAW
