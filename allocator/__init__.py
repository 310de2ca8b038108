"""allocator: the optimal AI / mining split of a bitcoin-mining campus, as an LP.

Python API (the CLI is a thin door onto the same functions)::

    from allocator import load_site, solve
    result = solve([load_site("sites/west_texas.toml")])
    result.split          # pandas DataFrame, one row per site
"""

from .errors import InfeasibleError, InputError, Problem, SolverError
from .run import Result, solve
from .schema import SiteFile, json_schema
from .site import Site, load_site

__version__ = "0.1.0"

__all__ = [
    "InfeasibleError",
    "InputError",
    "Problem",
    "Result",
    "Site",
    "SiteFile",
    "SolverError",
    "__version__",
    "json_schema",
    "load_site",
    "solve",
]
