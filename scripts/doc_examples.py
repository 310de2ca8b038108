"""Run the command examples shown in README.md and docs/*.md, and check what they print.

An example is a fenced block marked ``console``: lines starting with ``$ `` are
commands, the lines after each one are what it prints (stdout, then stderr)::

    ```console
    $ allocator validate sites/examples/typos.toml   # exit 1
    error: 6 problems in 1 site file
    ...
    ```

A trailing ``# exit N`` comment states the expected exit status (default 0).
Commands are ``allocator ...`` (run as ``python -m allocator`` from this
checkout, with ``*`` patterns expanded as a shell does), ``head -N FILE`` and ``. .venv/bin/activate`` (a no-op here). The
blocks of one page run in order in one fresh copy of the repository's example
files (sites/, scenarios/, portfolios/, docs/examples/), so a page's examples
must work when followed in order, as a reader would.

Volatile parts (timings, rates, the temporary folder's path) are masked on
both sides before comparing; everything else must match exactly.

``tests/test_doc_examples.py`` runs every page. After changing a message, rewrite
the expected outputs in place and review the diff::

    .venv/bin/python scripts/update_doc_examples.py             # every page
    .venv/bin/python scripts/update_doc_examples.py docs/whatif.md
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: the folders copied into each page's scratch copy of the repository
EXAMPLE_DIRS = ("sites", "scenarios", "portfolios", "docs/examples")

#: one command's time limit [s]
COMMAND_TIMEOUT_S = 900

_FENCE = re.compile(r"^```console\s*$")
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")

#: (pattern, replacement) applied to expected and actual output before comparing
_VOLATILE = [
    (re.compile(r"\b\d+(?:\.\d+)? s\b"), "<t> s"),  # durations: "in 5.8 s", "wall time 3.9 s"
    (re.compile(r"\b\d+(?:\.\d+)? (rows|scenarios)/s\b"), r"<n> \1/s"),  # throughput
]


@dataclass
class Command:
    """One ``$ ...`` line of a console block and the output shown under it."""

    line_index: int  # index of the ``$`` line in the page's lines
    text: str  # the command as shown, without ``$ `` and the exit comment
    exit_code: int
    expected: list[str] = field(default_factory=list)


def pages() -> list[Path]:
    """README.md and every page of the guide."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def parse(text: str) -> list[Command]:
    """Every command of the page's console blocks, in order."""
    commands: list[Command] = []
    inside = False
    for i, line in enumerate(text.splitlines()):
        if not inside:
            inside = bool(_FENCE.match(line))
            continue
        if line.startswith("```"):
            inside = False
            continue
        if line.startswith("$ "):
            command = line[2:]
            match = _EXIT.search(command)
            exit_code = int(match.group(1)) if match else 0
            if match:
                command = command[: match.start()]
            commands.append(Command(i, command.strip(), exit_code))
        elif commands and inside:
            commands[-1].expected.append(line)
        else:
            raise ValueError(f"line {i + 1}: a console block must start with a '$ ' command line")
    return commands


def normalize(lines: list[str]) -> list[str]:
    """Mask volatile parts; drop trailing spaces and trailing empty lines."""
    out = []
    for line in lines:
        for pattern, replacement in _VOLATILE:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return out


def scratch_copy() -> Path:
    """A temporary folder holding a copy of the repository's example files."""
    work = Path(tempfile.mkdtemp(prefix="allocator-docs-"))
    for name in EXAMPLE_DIRS:
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    return work


def run(command: str, cwd: Path) -> tuple[int, list[str]]:
    """Run one shown command in ``cwd``; return its exit status and printed lines."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("empty command")
    if argv[0] in (".", "source") and argv[1:] == [".venv/bin/activate"]:
        return 0, []
    if argv[0] == "head" and len(argv) == 3 and re.fullmatch(r"-\d+", argv[1]):
        with open(cwd / argv[2], encoding="utf-8") as f:
            return 0, [line.rstrip("\n") for _, line in zip(range(int(argv[1][1:])), f)]
    if argv[0] != "allocator":
        raise ValueError(f"unsupported command in a doc example: {command!r} (allocator, head -N FILE)")
    argv = [a for arg in argv for a in _glob(arg, cwd)]
    env = {**os.environ, "CI": "1", "COLUMNS": "100", "PYTHONPATH": str(ROOT)}
    env.pop("ALLOCATOR_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "allocator", *argv[1:]], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
    )
    printed = (proc.stdout + proc.stderr).replace(str(cwd) + os.sep, "").replace(str(cwd), ".")
    return proc.returncode, printed.splitlines()


def _glob(arg: str, cwd: Path) -> list[str]:
    """Expand a shell pattern (``sites/*.toml``) as the shell would: sorted, or kept when nothing matches."""
    if not any(ch in arg for ch in "*?["):
        return [arg]
    return sorted(str(p.relative_to(cwd)) for p in cwd.glob(arg)) or [arg]


@dataclass
class Outcome:
    """What one command did against what its page shows."""

    command: Command
    exit_code: int
    printed: list[str]

    @property
    def ok(self) -> bool:
        return self.exit_code == self.command.exit_code and normalize(self.printed) == normalize(
            self.command.expected)

    def report(self, page: Path) -> str:
        where = f"{page.relative_to(ROOT)}:{self.command.line_index + 1}: $ {self.command.text}"
        lines = [where]
        if self.exit_code != self.command.exit_code:
            lines.append(f"  exit status {self.exit_code}, the page says {self.command.exit_code}")
        diff = difflib.unified_diff(normalize(self.command.expected), normalize(self.printed),
                                    "shown", "printed", lineterm="", n=1)
        lines.extend("  " + d for d in diff)
        return "\n".join(lines)


def check_page(page: Path) -> list[Outcome]:
    """Run every command of ``page`` in order in a fresh scratch copy."""
    commands = parse(page.read_text(encoding="utf-8"))
    if not commands:
        return []
    work = scratch_copy()
    try:
        outcomes = []
        for command in commands:
            code, printed = run(command.text, work)
            outcomes.append(Outcome(command, code, printed))
        return outcomes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def update_page(page: Path) -> int:
    """Rewrite the outputs shown in ``page`` with what the commands print now; return how many changed.

    The exit comment of a command whose status changed is rewritten too.
    """
    lines = page.read_text(encoding="utf-8").splitlines()
    outcomes = check_page(page)
    changed = 0
    for outcome in reversed(outcomes):  # bottom up, so earlier line numbers stay valid
        if outcome.ok:
            continue
        changed += 1
        c = outcome.command
        head = f"$ {c.text}" + (f"   # exit {outcome.exit_code}" if outcome.exit_code else "")
        lines[c.line_index: c.line_index + 1 + len(c.expected)] = [head, *outcome.printed]
    if changed:
        page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed
