"""``manifest.json`` of the what-if run folders (breakeven, sweep): what ran, on which inputs, with which tools.

The same keys as a solve run folder's manifest where they mean the same: ``tool``,
``command``, ``tool_version``, ``python``, ``pulp_version``, ``solver``,
``inputs_sha256`` (every site file and its data files, plus the distributions
file of a Monte Carlo sweep), ``warnings`` (the sites' input warnings) and ``argv``.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..file_hash import sha256_file
from ..lp.solve import dist_version, solver_version, tool_version


def versions() -> dict[str, str]:
    """Tool, Python, PuLP and solver versions (also recorded in ``sweep.json``)."""
    return {"tool_version": tool_version(), "python": platform.python_version(),
            "pulp_version": dist_version("pulp"), "solver": solver_version("highs")}


def site_horizon(site) -> dict:
    """The site file's hourly horizon: first and last interval start (UTC), time zone and count (the summaries'
    dates)."""
    return {"first_interval_start_utc": f"{site.index[0]:%Y-%m-%dT%H:%M:%SZ}",
            "last_interval_start_utc": f"{site.index[-1]:%Y-%m-%dT%H:%M:%SZ}",
            "timezone": site.timezone, "intervals": int(site.hours)}


def run_manifest(command: str, sites: list, extra_files: list[Path] | None = None, **fields) -> dict:
    """The manifest of a what-if run folder.

    Parameters
    ----------
    command : str
        ``"breakeven"`` or ``"sweep"``.
    sites : list of Site
        The loaded sites (their input files are hashed, their warnings listed).
    extra_files : list of Path, optional
        Other inputs to hash (a distributions file).
    **fields
        Command-specific entries, added last.
    """
    inputs: dict[str, str] = {}
    for site in sites:
        inputs.update(site.file_sha256())
    for path in extra_files or []:
        inputs[str(Path(path).resolve())] = sha256_file(Path(path))[0]
    return {"tool": "allocator", "command": command, **versions(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sites": {s.id: {"site_file": str(s.path), "horizon": site_horizon(s)} for s in sites},
            "inputs_sha256": inputs, "warnings": [str(w) for s in sites for w in s.warnings],
            "argv": sys.argv, **fields}
