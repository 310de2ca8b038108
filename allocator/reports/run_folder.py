"""Publish a run folder atomically: all files or none, never a mix.

Files are written into a marked hidden staging folder beside the target
(``.NAME.tmp-TOKEN/run``, :mod:`allocator.reports.staging`), then moved into
place with one ``rename``. With ``force`` an existing earlier run is swapped
out atomically (``renameat2(RENAME_EXCHANGE)`` on Linux) and then only the
files its manifest recorded are removed (:mod:`allocator.out_check`
refuses before the run if the folder holds anything else), so a reader, or a
crash, sees either the old or the new folder.

The manifest is written last and lists every other file with its size and
sha256, so a reader can tell a complete folder from anything else; reports
written after it are recorded under its ``reports``. A run killed outright
(SIGKILL, power loss) can leave its staging folder behind; the next run into
the same target removes it when its marker proves it ours and its process is
gone, and never touches anything else.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import staging
from ..errors import InputError
from ..file_hash import sha256_file
from ..out_check import check_target, exists_problem, os_problem, removable, replace_problems

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class RunFolder:
    """A temporary folder to fill, published by :meth:`publish`.

    Parameters
    ----------
    target : Path
        The run folder to create.
    force : bool
        Replace an earlier run there (only the files it recorded).
    inputs : iterable of Path, or a callable returning one
        Files the run reads: ``--force`` refuses if any lies inside ``target``
        (a callable is called only when ``target`` exists).

    An OS error while writing (disk full, file-size limit, read-only file
    system...) becomes an :class:`InputError` naming the folder and the reason,
    with the staging folder removed and ``target`` untouched.
    """

    def __init__(self, target: Path, force: bool = False,
                 inputs: Iterable[Path] | Callable[[], Iterable[Path]] = ()) -> None:
        self.target = Path(target)
        self.force = force
        if callable(inputs):  # finding the inputs reads the TOML files: only when something could be deleted
            inputs = inputs() if os.path.lexists(self.target) else ()
        self.inputs = list(inputs)
        check_target(self.target, force, self.inputs)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            staging.remove_leftovers(self.target.parent, self.target.name)
            self.staging = staging.Staging(self.target.parent, self.target.name)
        except OSError as err:
            raise InputError([os_problem(self.target, err)], str(self.target)) from None
        self.tmp = self.staging.path / "run"
        try:
            os.mkdir(self.tmp)
        except OSError as err:
            self.staging.remove()
            raise InputError([os_problem(self.target, err)], str(self.target)) from None

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
        self.write_text(name, json.dumps(data, indent=2, sort_keys=False, default=str, allow_nan=False) + "\n")

    def write_with(self, name: str, writer: Callable[[Path], None]) -> None:
        writer(self.tmp / name)

    def record_reports(self) -> None:
        """Add the files written after the manifest (the reports) to its ``reports``, so --force may remove them."""
        manifest = json.loads((self.tmp / "manifest.json").read_text(encoding="utf-8"))
        listed = set(manifest.get("files", {})) | {"manifest.json"}
        reports = {name: meta for name, meta in self.file_list().items() if name not in listed}
        if reports:
            manifest["reports"] = reports
            self.write_json("manifest.json", manifest)

    def publish(self) -> Path:
        """Move the finished folder into place (SIGINT/SIGTERM wait until it is done)."""
        if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
            return self._publish_or_explain()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            return self._publish_or_explain()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _publish_or_explain(self) -> Path:
        try:
            return self._publish()
        except OSError as err:
            raise InputError([os_problem(self.target, err)], str(self.target)) from None

    def _publish(self) -> Path:
        for item in self.tmp.iterdir():  # the files' data is on disk before the folder appears
            with open(item, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o755)
        if os.path.lexists(self.target):
            if not self.force:
                raise InputError([exists_problem(self.target)], str(self.target))
            problems = replace_problems(self.target, self.inputs)  # again: files may have come since the check
            if problems:
                raise InputError(problems, str(self.target))
            if _exchange(self.tmp, self.target):
                old = self.tmp  # now holds the earlier run
            else:  # the old run goes into the marked staging folder, then the new one into place
                old = self.staging.path / "old"
                os.rename(self.target, old)
                try:
                    os.rename(self.tmp, self.target)
                except OSError:
                    os.rename(old, self.target)  # the old run back where it was
                    raise
            _fsync_dir(self.target.parent)
            self._remove_old_run(old)
        else:
            os.rename(self.tmp, self.target)
            _fsync_dir(self.target.parent)
            self.staging.remove()
        return self.target

    def _remove_old_run(self, old: Path) -> None:
        """Remove what the earlier run recorded; keep anything else (it came after the last check).

        The new run is in place by now: a file that cannot be removed stays in the marked
        staging folder, which the next run into the target removes.
        """
        try:
            for item in removable(old):
                if item.is_dir() and not item.is_symlink():
                    staging.remove_marked(item)  # a staging folder of ours (its marker says so)
                else:
                    item.unlink(missing_ok=True)
            old.rmdir()
        except OSError:
            kept = sorted(p.name for p in old.iterdir()) if old.is_dir() else []
            if not kept or set(kept) <= {p.name for p in removable(old)}:
                self.staging.release()  # ours only: the next run removes it
                return
            self.staging.marker.unlink(missing_ok=True)  # no longer ours to remove
            self.staging.release()
            print(f"warning: {', '.join(kept)} appeared in {self.target} while it was being replaced; "
                  f"kept in {old}", file=sys.stderr)
            return
        self.staging.remove()

    def discard(self) -> None:
        self.staging.remove()

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()
            if issubclass(exc_type, OSError) and _is_write_error(exc, self):
                raise InputError([os_problem(self.target, exc)], str(self.target)) from None


_WRITE_ERRORS = {"ENOSPC", "EDQUOT", "EFBIG", "EROFS"}


def _is_write_error(err: OSError, folder: RunFolder) -> bool:
    """An OS error of writing the run folder (not of reading an input)."""
    import errno

    if errno.errorcode.get(err.errno or 0) in _WRITE_ERRORS:
        return True
    for name in (err.filename, err.filename2):
        if name and (str(name).startswith(str(folder.staging.path)) or Path(str(name)) == folder.target):
            return True
    return False


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
                 finish: Callable[[Path], None] | None = None,
                 inputs: Iterable[Path] | Callable[[], Iterable[Path]] = ()) -> Path:
    """Write the files of docs/model.md (plus ``fleets.csv``, ``assumptions.csv``) for ``result`` into ``out``, atomically.

    Parameters
    ----------
    result : allocator.Result
    out : Path
        The run folder to create.
    force : bool
        Replace an earlier run there (atomically; only the files it recorded are removed).
    extra : dict, optional
        More files to write: name -> writer(path).
    finish : callable, optional
        Called with the unpublished folder once every file above and the
        manifest are in it (the reports read them there), before publishing.
    inputs : iterable of Path, or a callable returning one
        Files the run read, besides those its manifest names: ``force`` refuses if any is inside ``out``.
    """
    from .hourly import write_hourly

    with RunFolder(out, force, inputs) as folder:
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
        if len(frame):  # only when a site has these tables (docs/power.md)
            write_csv(frame, folder.path(name))
    from .after_tax_year import after_tax_year_table, taxed

    if taxed(result.assumptions):  # the first year after tax (docs/reports.md); else it equals pre-tax
        write_csv(after_tax_year_table(result.split, result.financials, result.assumptions),
                  folder.path("after_tax.csv"))
    for name, writer in (extra or {}).items():
        folder.write_with(name, writer)
    result.seconds["write"] = hourly_s + time.perf_counter() - t0
    manifest = result.manifest()
    manifest["files"] = folder.file_list()  # the result files; reports written by `finish` are derived
    folder.write_json("manifest.json", manifest)
    folder.inputs += manifest_inputs(manifest)
    if finish is not None:
        finish(folder.tmp)
        folder.record_reports()
    return folder.publish()


def manifest_inputs(manifest: dict) -> list[Path]:
    """The input files a manifest names (the keys of its ``*_sha256`` tables)."""
    found = []
    for key, value in manifest.items():
        if key.endswith("_sha256") and isinstance(value, dict):
            found += [Path(p) for p in value]
    return found


def replace_files(folder: Path, writers: dict[str, Callable[[Path], None]]) -> list[Path]:
    """Write files into an existing run ``folder``, each replacing its old version atomically.

    Every file is first written completely into a marked staging folder inside
    ``folder`` (and fsynced); the folder's allocator manifest, if any, is
    rewritten to record them under ``reports`` (so ``--force`` may remove them
    later); then each is renamed over its old version. A failure or a crash
    leaves the old files (or none), never a half-written one; a crash leaves
    the staging folder, which the next call removes.
    """
    folder = Path(folder)
    staging.remove_leftovers(folder, "report")
    stage = staging.Staging(folder, "report")
    try:
        staged = []
        for name, writer in writers.items():
            tmp = stage.path / name
            writer(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            staged.append((tmp, folder / name))
        manifest = _manifest_with_reports(folder, stage.path, [tmp for tmp, _ in staged])
        if manifest is not None:
            os.replace(manifest, folder / "manifest.json")
        for tmp, target in staged:
            os.replace(tmp, target)
        _fsync_dir(folder)
    finally:
        stage.remove()
    return [target for _, target in staged]


def _manifest_with_reports(folder: Path, stage: Path, reports: list[Path]) -> Path | None:
    """``folder``'s manifest with ``reports`` recorded, written into ``stage``; None without an allocator manifest."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("tool") != "allocator":
        return None
    recorded = manifest.get("reports") if isinstance(manifest.get("reports"), dict) else {}
    for path in reports:
        digest, size = sha256_file(path)
        recorded[path.name] = {"bytes": size, "sha256": digest}
    manifest["reports"] = recorded
    path = stage / "manifest.json"
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(manifest, indent=2, sort_keys=False, default=str, allow_nan=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o644)
    return path


def unrecorded_reports(folder: Path, names: Iterable[str]) -> list[str]:
    """Of ``names``, those present in ``folder`` that its manifest does not record as written by allocator."""
    from ..out_check import recorded_files

    recorded = recorded_files(folder) or set()
    return [n for n in names if os.path.lexists(Path(folder) / n) and n not in recorded]


__all__ = ["RunFolder", "check_target", "complete", "manifest_inputs", "replace_files", "unrecorded_reports",
           "write_result"]
