"""allocator: the optimal AI / mining split of a bitcoin-mining campus, as an LP.

Python API (the CLI is a thin door onto the same functions)::

    from allocator import load_site, solve, write_result
    result = solve([load_site("sites/west_texas.toml")])
    result.split          # pandas DataFrame, one row per site
    write_result(result, "out/run")

The package is built in wings that import one way (docs/architecture.md)::

    inputs -> lp -> power | plan | whatif -> run -> reports -> cli

Names are imported on first use (module ``__getattr__``), so ``import
allocator.cli`` does not pay for pandas, pydantic, PuLP or HiGHS until a
command needs them. Importing the package registers the extension wings'
hooks (power-market rows and results, the ``[plan]`` table's checks) with the
core wings; Python runs this file before any submodule, so every path into the
package sees them.
"""

from __future__ import annotations

from importlib import import_module

from . import plan as _plan  # noqa: F401  (registers the [plan] table's checks with the site schema)
from . import power as _power  # noqa: F401  (registers power-market rows and results with the LP)

__version__ = "0.1.0"

#: public name -> (submodule that defines it, its name there)
_LAZY = {
    "InfeasibleError": ("errors", "InfeasibleError"),
    "InputError": ("errors", "InputError"),
    "Problem": ("errors", "Problem"),
    "SolverError": ("errors", "SolverError"),
    "SiteFile": ("inputs.schema", "SiteFile"),
    "json_schema": ("inputs.schema", "json_schema"),
    "Site": ("inputs.site", "Site"),
    "load_site": ("inputs.site", "load_site"),
    "SiteSolution": ("lp.results", "SiteSolution"),
    "Result": ("lp.results", "Result"),
    "solve": ("run.batch", "solve"),
    "write_result": ("reports.run_folder", "write_result"),
    "Sweep": ("whatif.sweep", "Sweep"),
    "SweepSummary": ("whatif.sweep", "SweepSummary"),
    "grid_sweep": ("whatif.sweep", "grid_sweep"),
    "monte_carlo_sweep": ("whatif.sweep", "monte_carlo_sweep"),
    "sweep": ("whatif.sweep", "run_sweep"),
    "read_sweep": ("whatif.sweep", "read_sweep"),
    "PlanResult": ("plan.site_plan", "PlanResult"),
    "solve_plan": ("plan.site_plan", "solve_plan"),
    "solve_portfolio": ("plan.portfolio", "solve_portfolio"),
    "decide": ("whatif.decide", "decide"),
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'allocator' has no attribute {name!r}")
    module, attribute = where
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
