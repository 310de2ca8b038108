"""The sha256 of a file, read in 1 MB chunks (hourly CSVs of many site-years run to 100 MB)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> tuple[str, int]:
    """``(hex digest, size in bytes)`` of the file at ``path``."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
