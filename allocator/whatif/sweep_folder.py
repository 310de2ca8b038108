"""The folder of a sweep: claimed atomically, locked while rows are written, resumed from its rows.

``sweep.json`` (the definition) and ``.lock`` are in the folder from the
moment it appears: a new folder is staged beside ``--out`` and renamed into
place (:func:`claim`). ``sweep.csv`` is appended to; a row torn by a crash is
cut off on resume (:func:`finished`).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError, Problem

CSV_NAME = "sweep.csv"
DEFINITION_NAME = "sweep.json"


#: called between staging a new sweep folder and moving it into place (tests slow the claim down here)
_before_claim: Callable[[Path], None] | None = None


def claim(out: Path, definition: dict):
    """Claim ``out`` for this sweep and return its lock (held while the sweep runs).

    A new (or empty) folder is built beside ``out`` in a marked staging folder, with
    ``sweep.json`` written and ``.lock`` locked, then renamed into place: the folder
    appears with its definition and its lock, or not at all, and of two sweeps racing
    for it exactly one rename succeeds. An existing sweep folder is locked first, then
    its ``sweep.json`` compared with this sweep's (resume) or refused (another sweep).
    """
    from .. import staging
    from ..out_check import check_out_path, os_problem

    check_out_path(out)
    text = json.dumps(definition, indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"
    try:
        if not (out / DEFINITION_NAME).exists() and (not out.exists() or not any(out.iterdir())):
            out.parent.mkdir(parents=True, exist_ok=True)
            lock = _claim_new(out, text)
            if lock is not None:
                return lock
        if not (out / DEFINITION_NAME).exists():
            raise InputError([Problem(f"--out {out}", "exists and holds no sweep.json.",
                                      "Choose an empty or new folder.")], str(out))
        lock = lock_folder(out)
        staging.remove_leftovers(out.parent, out.name)  # a claim killed before its rename
    except OSError as err:
        raise InputError([os_problem(out, err)], str(out)) from None
    try:
        old = json.loads((out / DEFINITION_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    new = json.loads(text)
    if old != new:
        lock.close()
        keys = sorted(k for k in set(new) | set(old or {}) if (old or {}).get(k) != new.get(k))
        raise InputError([Problem(
            f"--out {out}",
            f"holds a different sweep (its {', '.join(keys) or 'definition'} differ from this one's).",
            "Rerun the same command to resume it, or choose another --out for this sweep.")], str(out))
    return lock


def _claim_new(out: Path, text: str):
    """Stage ``out`` with its sweep.json and a held lock, then rename it into place; None if another came first."""
    import errno

    from .. import staging

    staging.remove_leftovers(out.parent, out.name)
    stage = staging.Staging(out.parent, out.name)
    try:
        folder = stage.path / "run"
        folder.mkdir()
        with open(folder / DEFINITION_NAME, "x", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        lock = lock_folder(folder)
        os.chmod(folder, 0o755)
        if _before_claim is not None:
            _before_claim(out)
        try:
            os.rename(folder, out)  # fails if ``out`` appeared, not empty, meanwhile
        except OSError as err:
            lock.close()
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return None
            raise
        return lock
    finally:
        stage.remove()


def lock_folder(out: Path):
    """An exclusive lock on the sweep folder, held while rows are written (released on exit)."""
    import fcntl

    fh = open(out / ".lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise InputError([Problem(f"--out {out}", "another sweep is writing to this folder right now.",
                                  "Wait for it to finish (or stop it), then rerun to resume.")], str(out)) from None
    return fh


def finished(csv_path: Path, columns: list[str]) -> set[tuple[str, str]]:
    """(scenario_id, site_id) pairs already in sweep.csv; a torn last line is cut off."""
    if not csv_path.exists() or csv_path.stat().st_size == 0:
        return set()
    data = csv_path.read_bytes()
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(csv_path, "r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    lines = data.decode("utf-8").splitlines()
    if not lines:
        return set()
    reader = csv.reader(lines)
    header = next(reader)
    if header != columns:
        raise InputError([Problem(str(csv_path), "has other columns than this sweep writes.",
                                  "Move it away or choose another --out.")], str(csv_path))
    i_sid, i_site = header.index("scenario_id"), header.index("site_id")
    return {(row[i_sid], row[i_site]) for row in reader if len(row) == len(header)}


__all__ = ["CSV_NAME", "DEFINITION_NAME", "claim", "finished", "lock_folder"]
