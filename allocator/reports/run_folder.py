"""Publish a run folder atomically: all files or none, never a mix.

Files are written into a hidden temporary folder beside the target, then the
folder is moved into place with one ``rename``. With ``force`` an existing
folder is swapped out atomically (``renameat2(RENAME_EXCHANGE)`` on Linux) and
then removed, so a reader, or a crash, sees either the old or the new folder.

The manifest is written last and lists every other file with its size and
sha256, so a reader can tell a complete folder from anything else. A run
killed outright (SIGKILL, power loss) can leave its hidden temporary folder
(``.NAME.tmp-PID-...``) behind; the next run into the same target removes
those whose process is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError, Problem
from ..file_hash import sha256_file

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)(?:-.*)?$")


class RunFolder:
    """A temporary folder to fill, published by :meth:`publish`."""

    def __init__(self, target: Path, force: bool = False) -> None:
        self.target = Path(target)
        self.force = force
        check_target(self.target, force)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(self.target)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-{os.getpid()}-", dir=self.target.parent))

    def path(self, name: str) -> Path:
        return self.tmp / name

    def file_list(self) -> dict[str, dict[str, object]]:
        """Every file written so far: name -> {bytes, sha256} (for the manifest)."""
        out: dict[str, dict[str, object]] = {}
        for item in sorted(self.tmp.iterdir()):
            digest, size = sha256_file(item)
            out[item.name] = {"bytes": size, "sha256": digest}
        return out

    def write_text(self, name: str, text: str) -> None:
        with open(self.tmp / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    def write_json(self, name: str, data: object) -> None:
        self.write_text(name, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")

    def write_with(self, name: str, writer: Callable[[Path], None]) -> None:
        writer(self.tmp / name)

    def publish(self) -> Path:
        """Move the finished folder into place (SIGINT/SIGTERM wait until it is done)."""
        if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
            return self._publish()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            return self._publish()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _publish(self) -> Path:
        for item in self.tmp.iterdir():  # the files' data is on disk before the folder appears
            with open(item, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o755)
        if self.target.exists():
            if not self.force:
                raise InputError([_exists_problem(self.target)], str(self.target))
            if not _exchange(self.tmp, self.target):
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                os.rename(self.target, old)
                os.rename(self.tmp, self.target)
                shutil.rmtree(old, ignore_errors=True)
                return self.target
            shutil.rmtree(self.tmp, ignore_errors=True)  # now holds the old run
        else:
            os.rename(self.tmp, self.target)
        return self.target

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()


def check_target(target: Path, force: bool) -> None:
    """Refuse an existing run folder unless ``force``; refuse anything but a run folder in its place.

    ``--force`` replaces only an earlier run folder (one with an allocator
    ``manifest.json``) or an empty folder: a typo such as ``--out sites
    --force`` must never delete the site files.
    """
    target = Path(target)
    if target.is_symlink():
        raise InputError([Problem(f"--out {target}", "is a symbolic link.",
                                  "Give the real folder path, or another name.")], str(target))
    if target.exists() and not target.is_dir():
        raise InputError([Problem(f"--out {target}", "is a file, not a folder.", "Choose a folder name.")],
                         str(target))
    if target.exists() and not force:
        raise InputError([_exists_problem(target)], str(target))
    if target.exists() and not _is_run_folder(target):
        raise InputError([Problem(
            f"--out {target}", "is a folder with other files in it, not an earlier run (no allocator "
                               "manifest.json); --force only replaces run folders, so nothing was deleted.",
            "Choose a new folder name for the run.")], str(target))


def _is_run_folder(folder: Path) -> bool:
    """An allocator run folder (its manifest says so) or an empty folder."""
    try:
        if not any(folder.iterdir()):
            return True
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("tool") == "allocator"


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the hidden temporary folders of earlier runs into ``target`` whose process is gone."""
    removed = []
    parent = Path(target).parent
    if not parent.is_dir():
        return removed
    for item in parent.iterdir():
        match = _LEFTOVER.match(item.name)
        if not match or match["name"] != Path(target).name or not item.is_dir():
            continue
        if _alive(int(match["pid"])):
            continue
        shutil.rmtree(item, ignore_errors=True)
        removed.append(item)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process has no run in progress while it starts a new one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exists_problem(target: Path) -> Problem:
    return Problem(f"--out {target}", "already exists; an earlier run is never overwritten silently.",
                   "Choose another folder, or add --force to replace it.")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def write_result(result, out: Path, force: bool = False, extra: dict[str, Callable[[Path], None]] | None = None,
                 finish: Callable[[Path], None] | None = None) -> Path:
    """Write the files of MODEL.md (plus ``fleets.csv``, ``assumptions.csv``) for ``result`` into ``out``, atomically.

    Parameters
    ----------
    result : allocator.Result
    out : Path
        The run folder to create.
    force : bool
        Replace an existing folder (atomically).
    extra : dict, optional
        More files to write: name -> writer(path).
    finish : callable, optional
        Called with the unpublished folder once every file above and the
        manifest are in it (the reports read them there), before publishing.
    """
    from .hourly import write_hourly

    with RunFolder(out, force) as folder:
        return complete(folder, result, extra, finish, write_hourly(result.sites, folder.tmp))


def complete(folder: RunFolder, result, extra: dict[str, Callable[[Path], None]] | None = None,
             finish: Callable[[Path], None] | None = None, hourly_s: float = 0.0) -> Path:
    """Add every table but the hourly ones (already in ``folder``), the manifest last, and publish.

    ``result`` is an ``allocator.Result`` or a ``SummaryResult``; ``hourly_s`` is the time
    the hourly tables took [s], counted into ``seconds["write"]``.
    """
    import time

    from ..csv_files import write_csv

    t0 = time.perf_counter()
    for name, frame in (("split.csv", result.split), ("financials.csv", result.financials),
                        ("leases.csv", result.leases),
                        ("fleets.csv", result.fleets), ("marginal_values.csv", result.marginal_values),
                        ("assumptions.csv", result.assumptions)):
        write_csv(frame, folder.path(name))
    for name, frame in (("power_contracts.csv", result.power_contracts),
                        ("demand_response.csv", result.demand_response),
                        ("coincident_peak.csv", result.coincident_peak)):
        if len(frame):  # only when a site has these tables (docs/power_market.md)
            write_csv(frame, folder.path(name))
    for name, writer in (extra or {}).items():
        folder.write_with(name, writer)
    result.seconds["write"] = hourly_s + time.perf_counter() - t0
    manifest = result.manifest()
    manifest["files"] = folder.file_list()  # the result files; reports written by `finish` are derived
    folder.write_json("manifest.json", manifest)
    if finish is not None:
        finish(folder.tmp)
    return folder.publish()


def replace_files(folder: Path, writers: dict[str, Callable[[Path], None]]) -> list[Path]:
    """Write files into an existing ``folder``, each replacing its old version atomically.

    Every file is first written completely under a hidden temporary name (and
    fsynced); only when all are written are they renamed over the old ones, so
    a failure or a crash leaves the old files (or none), never a half-written one.
    """
    folder = Path(folder)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, writer in writers.items():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=folder)
            os.close(fd)
            tmp = Path(tmp_name)
            staged.append((tmp, folder / name))
            writer(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [target for _, target in staged]
