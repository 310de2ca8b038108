"""allocator: the optimal AI / mining split of a bitcoin-mining campus, as an LP.

Python API (the CLI is a thin door onto the same functions)::

    from allocator import load_site, solve
    result = solve([load_site("sites/west_texas.toml")])
    result.split          # pandas DataFrame, one row per site

Names are imported on first use (module ``__getattr__``), so ``import
allocator.cli`` does not pay for pandas, pydantic, PuLP or HiGHS until a
command needs them.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

__version__ = "0.1.0"

#: public name -> the submodule that defines it
_LAZY = {
    "InfeasibleError": "errors",
    "InputError": "errors",
    "Problem": "errors",
    "SolverError": "errors",
    "Result": "run.batch",
    "solve": "run.batch",
    "SiteFile": "inputs.schema",
    "json_schema": "inputs.schema",
    "Site": "inputs.site",
    "load_site": "inputs.site",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'allocator' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(ModuleType):
    """The package module: loading the submodule ``allocator.solve`` must not hide ``solve()``.

    Python binds a submodule as an attribute of its package when it is first
    imported; with lazy names that would replace the function ``allocator.solve``
    by the module of the same name (which stays importable as ``allocator.solve``
    through ``sys.modules``).
    """

    def __setattr__(self, name: str, value) -> None:
        if name == "solve" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
