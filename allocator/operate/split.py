"""The installed split: IT MW per lease and per fleet, from the site file or a ``solve`` run folder."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..csv_files import unescape_cell
from ..errors import InputError, Problem
from ..inputs.files import MAX_TABLE_BYTES, read_input_bytes
from ..inputs.schema import SiteFile


@dataclass(frozen=True)
class InstalledSplit:
    """What is installed and signed, the input an operator cannot change on the day.

    Attributes
    ----------
    lease_mw : np.ndarray
        (L,) IT MW contracted with each ``[[ai.lease]]`` tenant, in file order [IT MW].
    fleet_mw : np.ndarray
        (F,) IT MW installed of each ``[[mining.fleet]]``, in file order [IT MW].
    source : str
        Where the split comes from (``"site file"`` or the run folder).
    """

    lease_mw: np.ndarray
    fleet_mw: np.ndarray
    source: str


def site_file_split(config: SiteFile) -> InstalledSplit:
    """The site file's split: every fleet's ``mw`` and every lease's signed ``min_mw``."""
    leases = config.ai.lease if config.ai is not None else []
    return InstalledSplit(np.array([lease.min_mw for lease in leases], float),
                          np.array([fleet.mw for fleet in config.mining.fleet], float), "site file")


def run_folder_split(folder: Path, site_id: str, config: SiteFile) -> InstalledSplit:
    """The split ``solve`` chose for ``site_id``, from ``fleets.csv`` and ``leases.csv`` of ``folder``.

    Raises
    ------
    InputError
        A file is missing or unreadable, the site is not in it, or its fleets and tenants do not
        match the site file's (every problem listed).
    """
    folder = Path(folder)
    problems: list[Problem] = []
    leases = config.ai.lease if config.ai is not None else []
    fleets = config.mining.fleet
    lease_mw = _column(folder / "leases.csv", site_id, "tenant", [lease.tenant for lease in leases], problems)
    fleet_mw = _column(folder / "fleets.csv", site_id, "model", [fleet.model for fleet in fleets], problems)
    for fleet, mw in zip(fleets, fleet_mw):
        if mw > fleet.mw + 1e-6:
            problems.append(Problem(f"{folder / 'fleets.csv'}: {fleet.model}",
                                    f"it_mw = {mw:g} exceeds the {fleet.mw:g} MW the site file installs.",
                                    "Use the run folder solved from this site file."))
    if problems:
        raise InputError(problems, str(folder))
    return InstalledSplit(lease_mw, fleet_mw, str(folder))


def _column(path: Path, site_id: str, key: str, names: list[str], problems: list[Problem]) -> np.ndarray:
    """``it_mw`` of each name, in the order of ``names`` (zeros and problems when it cannot be read)."""
    out = np.zeros(len(names))
    if not names:
        return out
    try:  # through the input gate: a folder, FIFO or device named fleets.csv is refused, never opened
        data = read_input_bytes(path, str(path), MAX_TABLE_BYTES, "Pass --split the folder a `solve --out` run wrote.")
    except InputError as err:
        problems += err.problems
        return out
    try:
        text = data.decode("utf-8-sig")
        rows = [{k: unescape_cell(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text, newline=""))]
    except (UnicodeDecodeError, csv.Error) as err:
        problems.append(Problem(str(path), f"cannot be read ({err.__class__.__name__}: {err}).",
                                "Pass --split the folder a `solve --out` run wrote."))
        return out
    found = {row.get(key): row.get("it_mw") for row in rows if row.get("site_id") == site_id}
    for i, name in enumerate(names):
        cell = found.get(name)
        try:
            out[i] = float(cell)
        except (TypeError, ValueError):
            problems.append(Problem(f"{path}: site {site_id}, {key} {name!r}",
                                    "has no it_mw row." if cell is None else f"it_mw = {cell!r} is not a number.",
                                    "Pass --split the run folder solved from this site file."))
            continue
        if not np.isfinite(out[i]) or out[i] < 0:
            problems.append(Problem(f"{path}: site {site_id}, {key} {name!r}", f"it_mw = {cell} is not >= 0.",
                                    "Re-run solve to rewrite the folder."))
    return out
