"""Shared test helpers: tiny sites written to tmp_path, and the raw-data folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
REPO = Path(__file__).resolve().parents[1]


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float | int):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list):  # arrays of scalars
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def to_toml(doc: dict) -> str:
    """A small TOML writer for site files: tables, arrays of tables, scalars."""
    lines: list[str] = []

    def table(prefix: str, body: dict, array: bool = False) -> None:
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
        nested = []
        for key, value in body.items():
            if isinstance(value, dict):
                nested.append((f"{prefix}.{key}", value, False))
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                nested += [(f"{prefix}.{key}", item, True) for item in value]
            else:
                lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
        for name, item, is_array in nested:
            table(name, item, is_array)

    for key, value in doc.items():
        if isinstance(value, list):
            for item in value:
                table(key, item, array=True)
        else:
            table(key, value)
    return "\n".join(lines)


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
