"""The command line: ``allocator validate|solve|report|schema|sweep|breakeven|plan|decide|operate|backtest``.

``app`` holds the click group, the exit codes and the process entry point; each
command group lives in its own module and is wired onto the group here, so that
importing any part of ``allocator.cli`` gives the complete command line.
"""

from __future__ import annotations

from . import operate as _operate  # noqa: F401  (operate, backtest register on the group)
from . import solve as _solve  # noqa: F401  (validate, solve, report, schema register on the group)
from .app import cli, entry, main
from .decide import register as _register_decide
from .plan import plan
from .whatif import register as _register_whatif

cli.add_command(plan)
_register_whatif(cli)
_register_decide(cli)

__all__ = ["cli", "entry", "main"]
