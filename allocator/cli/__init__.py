"""The command line: ``allocator validate|solve|report|schema|sweep|breakeven|plan``.

``app`` holds the click group, the exit codes and the process entry point; each
command group lives in its own module and is wired onto the group here.
"""

from __future__ import annotations

from .app import cli, entry, main

__all__ = ["cli", "entry", "main"]
