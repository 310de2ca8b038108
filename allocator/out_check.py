"""Check an ``--out`` folder before a run: what may be written there, and what ``--force`` may remove.

``--force`` removes only what an earlier run wrote and recorded: the files its
``manifest.json`` lists under ``files`` (the result files) and ``reports``
(``report.html``, ``report.xlsx`` written by ``--report`` or ``allocator
report``), the manifest itself, and our own marked staging folders whose
process is gone (:mod:`allocator.staging`). Anything else in the
folder (a user's ``notes.txt`` or ``charts/``), a folder without such a
manifest, and any input file of the current run inside it make the run refuse
before it solves, listing those files; nothing is deleted.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import InputError, Problem
from .staging import NAME_MAX, owner_alive, read_marker

MANIFEST = "manifest.json"
#: the most file names a refusal lists before "and N more"
LISTED = 20
#: TOML files larger than this are not searched for input paths [bytes] (the loaders report them)
TOML_MAX_BYTES = 16 * 2**20

REASONS = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file would exceed the file-size limit",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.ENOENT: "a part of the path does not exist and cannot be created",
}


def os_problem(target: Path, err: OSError, doing: str = "cannot be written") -> Problem:
    """An OS error while writing ``--out target`` as a :class:`Problem` naming the folder and the OS reason."""
    reason = REASONS.get(err.errno or 0, err.strerror or str(err))
    name = Path(str(err.filename or "")).name
    ours = name == Path(target).name or name.startswith(f".{Path(target).name[:16]}") or ".tmp-" in str(err.filename)
    where = f" ({err.filename})" if err.filename and not ours else ""
    return Problem(f"--out {target}", f"{doing}: {reason} [{errno.errorcode.get(err.errno or 0, 'error')}]{where}.",
                   _advice(err.errno))


def _advice(code: int | None) -> str:
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "Free some space (or choose a folder on another disk) and rerun; nothing was changed."
    if code == errno.EFBIG:
        return "Raise the file-size limit (ulimit -f) or choose another disk, and rerun; nothing was changed."
    if code == errno.ENAMETOOLONG:
        return "Choose a shorter folder name."
    return "Choose a folder you can write to (check its permissions and its parent folders)."


def check_out_path(target: Path) -> None:
    """Refuse ``--out`` paths that can never be a run folder, and say why a folder cannot be written.

    ``.``, ``..`` (or any path ending so), ``/``, a folder holding the current
    working folder, a symbolic link, a file, an over-long name, and a parent
    that is a file, read-only or not writable are refused (exit 1).
    """
    target = Path(target)
    where = f"--out {target}"
    if target.name in ("", ".", ".."):
        raise InputError([Problem(where, "names the current folder, its parent or the root, not a new folder.",
                                  "Give the run folder its own name, e.g. --out runs/today.")], str(target))
    try:
        inside = Path.cwd().resolve().is_relative_to(target.resolve())
    except (OSError, RuntimeError):
        inside = False
    if inside:
        raise InputError([Problem(where, "holds the current folder.",
                                  "Give the run folder its own name, e.g. --out runs/today.")], str(target))
    if any(len(os.fsencode(part)) > NAME_MAX for part in target.parts):
        raise InputError([os_problem(target, OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG)))],
                         str(target))
    try:
        if target.is_symlink():
            raise InputError([Problem(where, "is a symbolic link.", "Give the real folder path, or another name.")],
                             str(target))
        if target.exists() and not target.is_dir():
            raise InputError([Problem(where, "is a file, not a folder.", "Choose a folder name.")], str(target))
        _check_writable(target)
    except OSError as err:
        raise InputError([os_problem(target, err)], str(target)) from None


def _check_writable(target: Path) -> None:
    """The nearest existing folder above ``target`` must be a writable folder on a writable file system."""
    existing = target.parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    code = None
    if not existing.is_dir():
        code = errno.ENOTDIR
    else:
        try:
            if os.statvfs(existing).f_flag & os.ST_RDONLY:
                code = errno.EROFS
        except OSError:
            pass
        if code is None and not os.access(existing, os.W_OK | os.X_OK):
            code = errno.EACCES
    if code is not None:
        err = OSError(code, os.strerror(code), str(existing))
        raise InputError([os_problem(target, err)], str(target))


def check_target(target: Path, force: bool, inputs: Iterable[Path] | Callable[[], Iterable[Path]] = ()) -> None:
    """Check ``--out target`` before a run: refuse what cannot or must not be written.

    Parameters
    ----------
    target : Path
        The run folder to write.
    force : bool
        ``--force``: an existing earlier run may be replaced.
    inputs : iterable of Path, or a callable returning one
        Files the run reads (site, price, portfolio files...); none may be inside ``target``.
        A callable is called only when ``target`` exists.

    Raises
    ------
    InputError
        Exit 1, listing every file that stops ``--force`` (nothing is deleted).
    """
    target = Path(target)
    check_out_path(target)
    if not target.exists():
        return
    if not force:
        raise InputError([exists_problem(target)], str(target))
    problems = replace_problems(target, inputs() if callable(inputs) else inputs)
    if problems:
        raise InputError(problems, str(target))


def command_inputs(files: Iterable[Path | None], sets: Iterable[str] = ()) -> Callable[[], list[Path]]:
    """The input files of a command (its TOML files, what they name, and files named by ``--set PATH=VALUE``),
    found only when called (:func:`check_target` calls it only for an existing ``--out``)."""
    def find() -> list[Path]:
        values = [text.partition("=")[2].strip().strip("'\"") for text in sets]
        return referenced_files([Path(f) for f in files if f is not None], values)
    return find


def exists_problem(target: Path) -> Problem:
    return Problem(f"--out {target}", "already exists; an earlier run is never overwritten silently.",
                   "Choose another folder, or add --force to replace it.")


def recorded_files(folder: Path) -> set[str] | None:
    """Names ``folder``'s allocator manifest records (result files, reports, the manifest); None without one."""
    try:
        with open(Path(folder) / MANIFEST, encoding="utf-8") as fh:
            manifest = json.loads(fh.read(64 * 2**20))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(manifest, dict) or manifest.get("tool") != "allocator":
        return None
    names = {MANIFEST}
    for key in ("files", "reports"):
        listed = manifest.get(key, {})
        if not isinstance(listed, dict) or (key == "files" and not listed):
            return None
        names |= {n for n in listed if isinstance(n, str) and n not in ("", ".", "..") and "/" not in n
                  and "\\" not in n and "\0" not in n}
    return names


def replace_problems(target: Path, inputs: Iterable[Path] = ()) -> list[Problem]:
    """Why ``--force`` may not replace the existing folder ``target`` (empty when it may)."""
    where = f"--out {target}"
    try:
        entries = sorted(Path(target).iterdir())
    except OSError as err:
        return [os_problem(target, err, "cannot be read")]
    problems = []
    inside = sorted({str(p) for p in _inputs_inside(target, inputs)})
    if inside:
        problems.append(Problem(where, f"holds {_count(inside, 'input file')} of this run: {_listing(inside)}; "
                                       "--force would delete them, so nothing was deleted.",
                                "Move the inputs out of the run folder, or choose another --out."))
    if not entries:
        return problems
    recorded = recorded_files(target)
    if recorded is None:
        return problems + [Problem(
            where, "is a folder with other files in it, not an earlier run (no allocator manifest.json listing "
                   "its files); --force only replaces run folders, so nothing was deleted.",
            "Choose a new folder name for the run.")]
    unknown, busy = [], []
    for item in entries:
        if item.name in recorded and stat.S_ISREG(item.lstat().st_mode):
            continue
        marker = read_marker(item)
        if marker is not None:
            if owner_alive(marker):
                busy.append(item.name)
            continue
        unknown.append(item.name + ("/" if item.is_dir() and not item.is_symlink() else ""))
    if unknown:
        problems.append(Problem(
            where, f"also holds {_count(unknown, 'file')} that no earlier run recorded: {_listing(unknown)}; "
                   "--force removes only the files a run wrote and listed in its manifest.json, so nothing "
                   "was deleted.",
            "Move those files out of the run folder, or choose another --out."))
    if busy:
        problems.append(Problem(where, f"is being written by another allocator process ({_listing(busy)}).",
                                "Wait for it to finish, then rerun."))
    return problems


def removable(folder: Path) -> list[Path]:
    """What ``--force`` removes from an earlier run ``folder``: its recorded files and our dead staging folders.

    The manifest comes last, so a removal stopped halfway still knows what the rest is.
    """
    recorded = recorded_files(folder) or set()
    out = []
    for item in sorted(Path(folder).iterdir(), key=lambda p: (p.name == MANIFEST, p.name)):  # the manifest last
        if item.name in recorded and stat.S_ISREG(item.lstat().st_mode):
            out.append(item)
        else:
            marker = read_marker(item)
            if marker is not None and not owner_alive(marker):
                out.append(item)
    return out


def _inputs_inside(target: Path, inputs: Iterable[Path]) -> list[Path]:
    root = Path(target).resolve()
    found = []
    for path in inputs:
        try:
            if Path(path).resolve().is_relative_to(root):
                found.append(Path(path))
        except (OSError, ValueError):
            continue
    return found


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def referenced_files(toml_files: Iterable[Path], values: Iterable[object] = ()) -> list[Path]:
    """Every file a run may read: the TOML files themselves and each existing file that a string in them
    (or in ``values``, e.g. ``--set`` overrides) names, relative to that TOML file's folder or absolute.

    Deliberately wider than the schema (any string that names a file counts), so that no input kind is
    missed when ``--force`` checks that none lies in the folder it would replace. Unreadable or
    malformed files are skipped: the loaders report them.
    """
    found: list[Path] = []
    for path in toml_files:
        path = Path(path)
        found.append(path)
        strings = [v for v in values if isinstance(v, str)]
        try:
            info = path.stat()
            if stat.S_ISREG(info.st_mode) and info.st_size <= TOML_MAX_BYTES:
                import tomllib

                with open(path, "rb") as fh:
                    strings += list(_strings(tomllib.load(fh)))
        except (OSError, ValueError, RecursionError, MemoryError):
            pass
        for text in strings:
            if not text or len(text) > 4096 or "\0" in text:
                continue
            candidate = Path(text) if Path(text).is_absolute() else path.parent / text
            try:
                if candidate.is_file():
                    found.append(candidate)
            except (OSError, ValueError):
                continue
    return found


def _strings(node: object, depth: int = 0):
    if depth > 50:
        return
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, depth + 1)


__all__ = ["check_out_path", "check_target", "command_inputs", "exists_problem", "os_problem", "recorded_files", "referenced_files",
           "removable", "replace_problems"]
