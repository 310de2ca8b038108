"""The house plan: wings import one way, no module imports itself in a circle, every module imports alone.

The graph is read from the source with ``ast`` (imports inside functions count: a
lazy import is still a dependency; imports under ``if TYPE_CHECKING:`` do not run
and do not count). Wings, upstream first::

    base (errors, limits, file_hash, csv_files, time_fields, staging, out_check) -> inputs -> lp
    -> power | plan | whatif | operate -> run -> reports -> cli

A module may import its own wing and any wing upstream of it. ``power``, ``plan``,
``whatif`` and ``operate`` sit side by side and do not import each other. The package facade
(``allocator/__init__.py``, ``__main__``) sits above everything; a module may
read the package's ``__version__`` from it (metadata, not code).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "allocator"
#: small things every wing uses: errors, numeric limits, file hashing, spreadsheet-safe CSV, the time-series fields,
#: the output-folder safety every writer shares (marked staging folders, --out checks), and signals held while
#: worker processes start
BASE = {"allocator.errors", "allocator.limits", "allocator.file_hash", "allocator.csv_files", "allocator.time_fields",
        "allocator.staging", "allocator.out_check", "allocator.worker_signals"}
RANK = {"base": 0, "inputs": 1, "lp": 2, "power": 3, "plan": 3, "whatif": 3, "operate": 3, "run": 4, "reports": 5,
        "cli": 6}
FACADE = {"allocator", "allocator.__main__"}
#: Site-file sections owned by an extension wing: the site schema composes them. They are
#: leaves (pydantic and the base only), so composing them can never close a circle.
SECTION_SCHEMAS = {"allocator.power.schema", "allocator.plan.schema"}


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(root: Path = REPO) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / "allocator").rglob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The allocator modules that module ``name`` (file ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("allocator"):
                continue
            if target == "allocator" and all(a.name == "__version__" for a in node.names):
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & modules.keys()
            found.update(subs)
            if len(subs) < len(node.names) and target in modules:
                found.add(target)  # names defined in the module (or package) itself
    found.discard(name)
    return found


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    modules = all_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def wing(module: str) -> str | None:
    if module in FACADE:
        return None
    if module in BASE:
        return "base"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or parts[1] in RANK else None


def upstream_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in sorted(graph.items()):
        a = wing(src)
        if a is None:
            continue
        for dst in sorted(targets):
            b = wing(dst)
            if b is None:
                bad.append(f"{src} -> {dst} (the facade is for users, not for the package)")
            elif b == a or RANK[b] < RANK[a]:
                continue
            elif dst in SECTION_SCHEMAS and src == "allocator.inputs.schema":
                continue
            else:
                bad.append(f"{src} ({a}) -> {dst} ({b})")
    return bad


def test_every_module_belongs_to_a_wing():
    assert [m for m in all_modules() if m not in FACADE and wing(m) is None] == []


def test_the_graph_reads_relative_lazy_and_type_only_imports(tmp_path):
    """The checker itself, on a made-up package: it must see what the real checks rely on."""
    pkg = tmp_path / "allocator"
    (pkg / "lp").mkdir(parents=True)
    (pkg / "inputs").mkdir()
    for p in (pkg / "__init__.py", pkg / "lp" / "__init__.py", pkg / "inputs" / "__init__.py"):
        p.write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "inputs" / "site.py").write_text(
        "from typing import TYPE_CHECKING\nfrom ..errors import X\nif TYPE_CHECKING:\n    from ..lp.model import M\n"
        "def f():\n    from ..lp import model\n")
    (pkg / "lp" / "model.py").write_text("from ..inputs.site import Site\nimport allocator.errors\n")
    graph = import_graph(tmp_path)
    assert graph["allocator.inputs.site"] == {"allocator.errors", "allocator.lp.model"}
    assert graph["allocator.lp.model"] == {"allocator.inputs.site", "allocator.errors"}
    assert circles(graph) == [["allocator.inputs.site", "allocator.lp.model"]]
    assert upstream_violations(graph) == ["allocator.inputs.site (inputs) -> allocator.lp.model (lp)"]


def test_no_module_imports_itself_through_a_circle():
    assert circles(import_graph()) == []


def test_wings_import_only_upstream():
    assert upstream_violations(import_graph()) == []


def test_section_schemas_are_leaves():
    graph = import_graph()
    for name in SECTION_SCHEMAS:
        assert graph[name] <= BASE, name


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module first in a clean process (forked from one that has loaded only third-party libraries),
    so no module works only because another one happened to be imported before it."""
    names = sorted(m for m in all_modules() if m != "allocator.__main__")
    code = (
        "import importlib, os, sys, traceback\n"
        "import numpy, pandas, pydantic, click, highspy, pulp\n"
        "assert not [m for m in sys.modules if m.startswith('allocator')]\n"
        f"failed = []\n"
        f"for name in {names!r}:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except BaseException:\n"
        "            traceback.print_exc()\n"
        "            os._exit(1)\n"
        "        os._exit(0)\n"
        "    if os.waitpid(pid, 0)[1] != 0:\n"
        "        failed.append(name)\n"
        "print(failed)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stderr
