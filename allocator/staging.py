"""Marked temporary folders: the only hidden folders allocator ever removes on its own.

A run is written into a hidden folder beside its target (``.NAME.tmp-TOKEN``)
and then renamed into place. A run killed outright (SIGKILL, power loss) leaves
that folder behind, and the next run into the same target removes it. A name
pattern alone never proves a folder is ours (a user may keep
``.results.old-20240105`` beside ``results``), so every staging folder has a
marker file beside it, ``.NAME.tmp-TOKEN.json``, holding::

    {"allocator_staging": 1, "token": "<32 hex>", "target": "NAME",
     "pid": 4242, "host": "node-1", "started": 123456789}

The marker appears whole before the folder is made (on Linux an anonymous
file linked into place; elsewhere written in one go) and is removed after the
folder is gone, so a kill at any moment leaves a marked folder, a lone marker,
or nothing: never a folder we could not prove ours.

A leftover is removed only when its marker parses, its ``token`` is the one in
its name, its ``target`` is the target being written, and its owner is gone:
the same host, and no process with that PID and start time (``started``: clock
ticks after boot, from ``/proc``). A folder of another host is never removed.
Within this process, a folder whose token is still in use is alive.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import stat
import threading
from pathlib import Path

#: the marker's suffix: ``.NAME.tmp-TOKEN`` is marked by ``.NAME.tmp-TOKEN.json``
MARKER = ".json"
#: the longest file name most file systems take [bytes]
NAME_MAX = 255
_NAME = re.compile(r"^\..*\.(?P<kind>tmp|old)-(?P<token>[0-9a-f]{32})(?P<marker>\.json)?$")
#: a lone empty marker file older than this was left by a run killed while creating it [s]
EMPTY_MARKER_AGE_S = 10.0
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
#: staging folders this process made and has not released: token -> folder
_ACTIVE: dict[str, Path] = {}
_ACTIVE_LOCK = threading.Lock()


def staging_name(target_name: str, token: str, kind: str = "tmp") -> str:
    """``.NAME.tmp-TOKEN``, NAME shortened so that it and its marker's name fit in :data:`NAME_MAX` bytes."""
    suffix = f".{kind}-{token}"
    room = NAME_MAX - 1 - len(suffix) - len(MARKER)
    name = target_name
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}{suffix}"


class Staging:
    """A new marked hidden folder in ``parent`` for work that ends up at ``parent / target_name``.

    Parameters
    ----------
    parent : Path
        Folder to create it in (must exist; the same file system as the target).
    target_name : str
        Name of the file or folder the work is for (recorded in the marker).
    """

    def __init__(self, parent: Path, target_name: str) -> None:
        self.token = secrets.token_hex(16)
        self.target_name = target_name
        self.path = Path(parent) / staging_name(target_name, self.token)
        self.marker = marker_of(self.path)
        marker = {"allocator_staging": 1, "token": self.token, "target": target_name,
                  "pid": os.getpid(), "host": socket.gethostname(), "started": _started(os.getpid())}
        with _ACTIVE_LOCK:
            _ACTIVE[self.token] = self.path
        try:
            _write_whole(self.marker, (json.dumps(marker) + "\n").encode())
            os.mkdir(self.path, 0o700)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        """Remove the folder and all it holds (it is ours: we created it), then its marker."""
        remove_marked(self.path)
        self.release()

    def release(self) -> None:
        """Forget the token without removing anything."""
        with _ACTIVE_LOCK:
            _ACTIVE.pop(self.token, None)


def remove_active() -> list[Path]:
    """Remove every staging folder this process made and has not released; return them.

    Called when a command is interrupted: a signal may land where no ``with`` block holds the
    folder yet (between its creation and the block's start), and the run must still leave
    nothing behind. Only this process's own folders are touched, never a published one.
    """
    with _ACTIVE_LOCK:
        active = list(_ACTIVE.items())
    for token, folder in active:
        remove_marked(folder)
        with _ACTIVE_LOCK:
            _ACTIVE.pop(token, None)
    return [folder for _, folder in active]


def marker_of(folder: Path) -> Path:
    """The marker file of staging folder ``folder`` (``folder`` itself when it is a marker)."""
    folder = Path(folder)
    return folder if folder.name.endswith(MARKER) else folder.with_name(folder.name + MARKER)


def folder_of(path: Path) -> Path:
    """The staging folder of a marker file (``path`` itself when it names a folder)."""
    path = Path(path)
    return path.with_name(path.name[:-len(MARKER)]) if path.name.endswith(MARKER) else path


def read_marker(path: Path) -> dict | None:
    """The marker of one of our staging folders (given the folder or its marker), or None when not provably ours."""
    path = Path(path)
    match = _NAME.match(path.name)
    if not match or path.is_symlink():
        return None
    if not match["marker"] and not path.is_dir():
        return None
    marker_path = marker_of(path)
    try:
        if not stat.S_ISREG(marker_path.lstat().st_mode):
            return None
        with open(marker_path, encoding="utf-8") as fh:
            marker = json.loads(fh.read(4096))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("allocator_staging") != 1 or marker.get("token") != match["token"]:
        return None
    if not isinstance(marker.get("pid"), int) or not isinstance(marker.get("target"), str):
        return None
    return marker


def is_ours(path: Path, target_name: str | None = None) -> bool:
    """``path`` is a staging folder of ours or its marker (for ``target_name`` when given)."""
    marker = read_marker(path)
    return marker is not None and (target_name is None or marker["target"] == target_name)


def owner_alive(marker: dict) -> bool:
    """The process that created the marked folder may still be running (unknown counts as running)."""
    if marker.get("host") != socket.gethostname():
        return True
    pid = marker["pid"]
    if pid == os.getpid():
        with _ACTIVE_LOCK:
            return marker["token"] in _ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _started(pid)
    return started is None or marker.get("started") is None or started == marker["started"]


def leftovers(parent: Path, target_name: str) -> list[Path]:
    """Our staging folders for ``target_name`` in ``parent`` whose owner is gone (found by their markers)."""
    found = []
    try:
        entries = sorted(Path(parent).iterdir())
    except OSError:
        return found
    for item in entries:
        if not item.name.endswith(MARKER):
            continue
        marker = read_marker(item)
        if marker is not None and marker["target"] == target_name and not owner_alive(marker):
            found.append(folder_of(item))
    return found


def remove_leftovers(parent: Path, target_name: str) -> list[Path]:
    """Remove our dead staging folders for ``target_name`` in ``parent``; return them.

    A folder whose run was killed between moving the old target aside and
    moving the new one in holds the old one as ``old/``: it is put back first.
    """
    _remove_empty_markers(Path(parent), target_name)
    removed = []
    for item in leftovers(parent, target_name):
        target = Path(parent) / target_name
        if (item / "old").is_dir() and not os.path.lexists(target):
            try:
                os.rename(item / "old", target)
            except OSError:
                continue  # keep everything rather than lose the old run
        remove_marked(item)
        removed.append(item)
    return removed


def remove_marked(path: Path) -> None:
    """Remove a staging folder of ours (given it or its marker): the folder first, its marker last.

    Killed halfway, the marker is still there, and the next run removes the rest.
    """
    folder = folder_of(path)
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        try:
            marker_of(folder).unlink(missing_ok=True)
        except OSError:
            pass


def _write_whole(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``.

    On Linux the file is written anonymously (``O_TMPFILE``) and then linked
    into place, so it never exists partly written. Elsewhere (or where that is
    refused) it is written with one ``write``; a kill between creating and
    writing it leaves an empty file, which :func:`remove_leftovers` removes
    once it is :data:`EMPTY_MARKER_AGE_S` old (it holds nothing).
    """
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            fd = os.open(path.parent, tmpfile | os.O_WRONLY, 0o644)
        except OSError:
            fd = -1  # a file system without anonymous files
        if fd >= 0:
            try:
                os.write(fd, data)
                os.fsync(fd)
                if _link_anonymous(fd, path):
                    return
            finally:
                os.close(fd)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_anonymous(fd: int, path: Path) -> bool:
    """Give the anonymous file ``fd`` the name ``path`` (linkat); False where the system refuses."""
    import ctypes
    import errno

    try:
        linkat = ctypes.CDLL(None, use_errno=True).linkat
    except (OSError, AttributeError):
        linkat = None
    if linkat is not None:
        linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        if linkat(fd, b"", _AT_FDCWD, os.fsencode(path), _AT_EMPTY_PATH) == 0:
            return True
        if ctypes.get_errno() == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    try:  # without CAP_DAC_READ_SEARCH: through /proc
        os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
        return True
    except FileExistsError:
        raise
    except OSError:
        return False


def _remove_empty_markers(parent: Path, target_name: str) -> None:
    """Remove lone empty marker files of ``target_name`` (a kill between creating and writing one)."""
    import time

    prefix = staging_name(target_name, "0" * 32)[:-len(".tmp-" + "0" * 32)] + "."
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return
    for item in entries:
        match = _NAME.match(item.name)
        if not match or not match["marker"] or not item.name.startswith(prefix):
            continue
        try:
            info = item.lstat()
            if (stat.S_ISREG(info.st_mode) and info.st_size == 0 and not os.path.lexists(folder_of(item))
                    and time.time() - info.st_mtime > EMPTY_MARKER_AGE_S):
                item.unlink()
        except OSError:
            continue


def _started(pid: int) -> int | None:
    """Start time of process ``pid`` [clock ticks after boot], or None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            info = fh.read()
        return int(info[info.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


__all__ = ["MARKER", "Staging", "folder_of", "is_ours", "leftovers", "marker_of", "owner_alive", "read_marker",
           "remove_leftovers", "remove_marked", "staging_name"]
