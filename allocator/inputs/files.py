"""Reading an input file safely: a regular file, of sane size, named as what it is.

Every file a user names (site files, ``--scenario``, ``--portfolio``,
``--distributions``, the price and profile CSVs a site file points at, a run
folder's result files) is read through :func:`read_input_bytes`: a folder,
``/dev/zero`` or a FIFO is refused at once (never read, so never a hang or a
MemoryError), and so is a file beyond the size limit, with its size and the
limit in the message. TOML text is parsed by :func:`parse_toml`, which turns
what Python's parser cannot take (a 100,000-deep array, a 5,001-digit integer)
into a problem naming the file, and refuses nesting deeper than any input uses.
"""

from __future__ import annotations

import codecs
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem

#: the largest TOML input (site, scenario, portfolio, distributions file) [bytes]; real ones are a few kB
MAX_TOML_BYTES = 4 * 2**20
#: the largest CSV input (prices, hashprice, profiles) [bytes]: a year of 5-minute prices is about
#: 3 MB; reading a CSV as text cells takes about 15 times its size in memory (1.5 GB at the limit)
MAX_TABLE_BYTES = 100 * 2**20
#: the deepest nesting of tables and arrays in a TOML input (the deepest real field has 4 levels)
MAX_TOML_DEPTH = 32


def size_text(n_bytes: float) -> str:
    """``n_bytes`` as "12.3 MB" (powers of 1,024, one decimal)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n_bytes < 1024 or unit == "TB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def file_problem(path: Path, where: str, limit_bytes: int, missing_fix: str) -> Problem | None:
    """What makes ``path`` unreadable as an input (missing, not a regular file, too big), or None.

    Only ``stat`` is called: a FIFO or a device is never opened.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Problem(where, "file not found.", missing_fix)
    except (OSError, ValueError) as err:
        return Problem(where, f"cannot be opened ({getattr(err, 'strerror', None) or err}).", missing_fix)
    if stat.S_ISDIR(info.st_mode):
        return Problem(where, "is a folder, not a file.", missing_fix)
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        return Problem(where, f"is {kind}, not a regular file.", "Name a regular file: pipes and devices are never read.")
    if info.st_size > limit_bytes:
        return Problem(where, f"is {size_text(info.st_size)}; the limit for this kind of input is "
                              f"{size_text(limit_bytes)}.",
                       "Cut it to what the site needs (its window, its node) and name the smaller file.")
    return None


def read_input_bytes(path: Path, where: str, limit_bytes: int, missing_fix: str = "Check the path.") -> bytes:
    """The bytes of an input file; raise :class:`InputError` naming ``where`` when it is not a readable
    regular file of at most ``limit_bytes``."""
    problem = file_problem(path, where, limit_bytes, missing_fix)
    if problem is None:
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit_bytes + 1)
        except OSError as err:
            problem = Problem(where, f"cannot be read ({err.strerror or err}).", "Check that it is a readable file.")
        else:
            if len(data) > limit_bytes:  # it grew since stat
                problem = Problem(where, f"is larger than the limit of {size_text(limit_bytes)}.",
                                  "Cut it to what the site needs and name the smaller file.")
    if problem is not None:
        raise InputError([problem], where)
    return data


def encoding_problem(data: bytes) -> tuple[str, str] | None:
    """``(what the bytes are, how to fix it)`` when ``data`` is not text we read, else None.

    Names gzip, zip (Excel's .xlsx), UTF-16/32 without a byte-order mark and other binary files.
    """
    if data.startswith(b"\x1f\x8b"):
        return "gzip-compressed", "Decompress it first (gunzip FILE) and name the .csv."
    if data.startswith(b"PK\x03\x04"):
        return ("a zip archive (an Excel .xlsx workbook?)",
                "Unzip it, or in Excel: Save As > CSV UTF-8.")
    head = data[:4096]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if head and b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if head.startswith(b"\x00\x00\x00") or head[1:4] == b"\x00\x00\x00":
            return "UTF-32 text", "Save it as UTF-8 (in Excel: Save As > CSV UTF-8)."
        if odd.count(0) > len(odd) // 2 or even.count(0) > len(even) // 2:
            return ("UTF-16 text without a byte-order mark",
                    "Save it as UTF-8 (in Excel: Save As > CSV UTF-8; iconv -f UTF-16LE -t UTF-8).")
        return "a binary file, not text", "Export the data as CSV (UTF-8)."
    return None


class TomlSyntaxError(InputError):
    """Text that is not TOML at all (as opposed to TOML beyond the limits)."""


def parse_toml(text: str, where: str, fix: str = "Fix the syntax at that line.") -> dict[str, Any]:
    """``text`` parsed as TOML; raise :class:`InputError` naming ``where`` for anything the parser or
    the limits refuse (syntax, nesting beyond :data:`MAX_TOML_DEPTH`, integers beyond 4,300 digits)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TomlSyntaxError([Problem(where, f"not valid TOML: {err}.", fix)], where) from None
    except RecursionError:
        raise InputError([Problem(where, f"arrays or tables nested deeper than Python's parser can read "
                                         f"(the limit here is {MAX_TOML_DEPTH} levels).",
                                  "Fix the brackets; no input field nests that deep.")], where) from None
    except ValueError as err:  # int() beyond sys.get_int_max_str_digits()
        raise InputError([Problem(where, f"holds a number too long to read ({str(err).split(':')[0]}).",
                                  "No input field needs more than 20 digits; fix the value.")], where) from None
    depth = nesting_depth(doc)
    if depth > MAX_TOML_DEPTH:
        raise InputError([Problem(where, f"arrays or tables are nested {depth} levels deep; the limit is "
                                         f"{MAX_TOML_DEPTH}.", "Fix the brackets; no input field nests that deep.")],
                         where)
    return doc


def nesting_depth(value: Any) -> int:
    """How deep tables (dicts) and arrays (lists) nest in ``value`` (0 for a scalar); no recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_TOML_DEPTH:
            return deepest
    return deepest


def read_toml_file(path: Path, missing_fix: str = "Check the path.") -> dict[str, Any]:
    """Any input TOML file as a dict, through the checks above; raise :class:`InputError` naming it."""
    where = str(path)
    data = read_input_bytes(Path(path), where, MAX_TOML_BYTES, missing_fix)
    found = encoding_problem(data)
    if found is not None:
        what, _ = found
        raise InputError([Problem(where, f"is {what}, not TOML text.", "Save it as UTF-8 TOML.")], where)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError([Problem(where, "is UTF-16 text, not UTF-8.", "Save it as UTF-8 TOML.")], where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError([Problem(where, f"is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}).",
                                  "Save it as UTF-8 TOML.")], where) from None
    return parse_toml(text, where)


__all__ = ["MAX_TABLE_BYTES", "MAX_TOML_BYTES", "MAX_TOML_DEPTH", "encoding_problem", "file_problem",
           "nesting_depth", "parse_toml", "read_input_bytes", "read_toml_file", "size_text", "TomlSyntaxError"]
