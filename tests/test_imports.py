"""Import cost: `allocator.cli` must not load the heavy libraries before a command needs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


def test_every_public_name_imports():
    """Each name of ``allocator.__all__`` resolves, in a fresh process, to the object its wing defines."""
    code = ("import allocator, importlib\n"
            "for name in allocator.__all__:\n"
            "    value = getattr(allocator, name)\n"
            "    assert value is not None, name\n"
            "    if name != '__version__':\n"
            "        module, attribute = allocator._LAZY[name]\n"
            "        assert value is getattr(importlib.import_module('allocator.' + module), attribute), name\n"
            "from allocator import *\n"
            "assert {'load_site', 'solve', 'write_result', 'sweep', 'Result', 'SiteSolution', 'PlanResult'} <= set(allocator.__all__)\n"
            "from allocator.whatif.sweep import run_sweep\n"
            "assert allocator.sweep is run_sweep\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize("first", ["allocator.lp.model", "allocator.lp.results", "allocator.inputs.site",
                                   "allocator.run.batch"])
def test_power_rows_are_registered_whatever_is_imported_first(first):
    """The LP finds the power market's rows and results, and the site schema the [plan] checks, however
    a program enters the package: the extensions register when ``allocator/__init__`` runs."""
    code = (f"import {first}\n"
            "from allocator.lp.extensions import EXTENSIONS\n"
            "from allocator.inputs.extensions import SECTION_VALIDATORS, power_loader\n"
            "assert list(EXTENSIONS) == ['power'], EXTENSIONS\n"
            "assert set(EXTENSIONS['power'].tables) == {'power_contracts', 'demand_response', 'coincident_peak'}\n"
            "assert list(SECTION_VALIDATORS) == ['plan'] and callable(power_loader())\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_a_missing_power_loader_is_an_error_not_a_silent_drop():
    from allocator.inputs import extensions

    saved = list(extensions._power_loader)
    extensions._power_loader.clear()
    try:
        with pytest.raises(RuntimeError, match="power-market extension is not registered"):
            extensions.power_loader()
    finally:
        extensions._power_loader[:] = saved


def test_a_plain_solve_loads_no_report_sweep_or_cbc_library(tmp_path):
    """``allocator solve SITE --out DIR`` (the default --solver auto, no --report) needs pandas, pydantic and
    HiGHS, and none of what only reports, sweeps or CBC use."""
    statement = ("from allocator.cli import main\n"
                 f"assert main(['solve', 'sites/west_texas.toml', '--out', {str(tmp_path / 'run')!r}]) == 0")
    code = (f"import sys\n{statement}\nprint('loaded:', *sorted(m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'openpyxl', 'dask', 'distributed', 'scipy', 'pulp', 'jinja2', 'xlsxwriter')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert "\nloaded:\n" in out.stdout, out.stdout[-500:]
    assert (tmp_path / "run" / "dispatch.csv").exists()
