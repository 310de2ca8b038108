"""Standard streams that a run never depends on.

A command's work (the solve, the run folder) must not hang on who reads its
output: ``allocator solve ... >&-`` (stdout closed), ``| head -1`` and ``| true``
(the reader leaves early) all finish the run and write its folder. What could
not be printed is dropped, and the exit status is that of the run (0 when it
succeeded), not of the printing.

Two holes are closed before a command starts:

- a closed descriptor 0, 1 or 2 is reopened on the null device, so that no file
  the run opens later takes its number (C code printing to "stdout" would write
  into it) and Python's ``sys.stdout`` is a real stream, not ``None``;
- ``sys.stdout`` and ``sys.stderr`` are rebuilt on a writer that, once the reader
  has gone (EPIPE), points the descriptor at the null device and carries on.
"""

from __future__ import annotations

import errno
import io
import os
import sys

#: set once a write to the stream found its reader gone (a broken pipe)
READER_GONE: dict[int, bool] = {}
#: the interpreter's own stream objects, kept alive (they never close their descriptor, but stay referenced)
_REPLACED: list = []


class _ForgivingWriter(io.RawIOBase):
    """The raw writer under ``sys.stdout`` / ``sys.stderr``: a broken pipe sends the rest to the null device.

    Parameters
    ----------
    fd : int
        The descriptor written (1 or 2).
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        try:
            return os.isatty(self._fd)
        except OSError:
            return False

    def write(self, data) -> int:
        size = len(memoryview(data))
        if READER_GONE.get(self._fd):
            return size
        try:
            return os.write(self._fd, data)
        except OSError as err:
            if err.errno not in (errno.EPIPE, errno.EBADF):
                raise
            READER_GONE[self._fd] = True
            _point_at_null(self._fd)
            return size


def _point_at_null(fd: int) -> None:
    """Reopen descriptor ``fd`` on the null device (writes to it then vanish, never fail)."""
    null = os.open(os.devnull, os.O_RDWR)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def _reopen_closed_descriptors() -> None:
    """Descriptors 0, 1 and 2 that are closed are opened on the null device."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            _point_at_null(fd)


def guard_standard_streams() -> None:
    """Make stdout and stderr safe to write whatever became of their readers (see the module doc).

    Call once, at process start, before any command runs.
    """
    _reopen_closed_descriptors()
    for name, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        encoding = getattr(old, "encoding", None) or "utf-8"
        errors = getattr(old, "errors", None) or "strict"
        line_buffering = bool(getattr(old, "line_buffering", False)) or fd == 2
        if old is not None:
            _REPLACED.append(old)
            try:
                old.flush()
            except (OSError, ValueError):
                pass
        stream = io.TextIOWrapper(io.BufferedWriter(_ForgivingWriter(fd)), encoding=encoding, errors=errors,
                                  line_buffering=line_buffering, write_through=fd == 2)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


__all__ = ["READER_GONE", "guard_standard_streams"]
