"""Import cost: `allocator.cli` must not load the heavy libraries before a command needs them."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

HEAVY = ("pandas", "pulp", "pydantic", "highspy")


def loaded_after(statement: str) -> set[str]:
    """Top-level heavy modules present in ``sys.modules`` after running ``statement`` in a fresh process."""
    code = f"import sys\n{statement}\nprint(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_cli_import_is_light():
    assert loaded_after("import allocator.cli") == set()


def test_package_import_is_light_until_a_name_is_used():
    assert loaded_after("import allocator") == set()
    assert loaded_after("from allocator import Problem") == set()
    assert {"pandas", "pydantic"} <= loaded_after("from allocator import solve")


def test_solve_is_the_function_even_after_the_solve_module_loads():
    code = ("import allocator.lp.solve, allocator.run.batch\nfrom allocator import solve\nimport allocator\n"
            "assert callable(solve) and solve.__module__ == 'allocator.run.batch', solve\n"
            "assert allocator.solve is solve\n"
            "assert sorted(allocator.__all__) == allocator.__all__ and 'load_site' in allocator.__all__")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
