"""The floor: HiGHS alone on the same matrix, from numpy arrays, with allocator's options.

``floor_solve(arrays)`` times ``Highs()`` + options + ``passModel`` (the
hand-off) and ``run`` (the solve) on arrays made beforehand, so the floor is
what any Python program pays to have HiGHS solve this LP. Run as a script on a
folder of ``.npz`` matrices it solves them one by one, keeping each solution's
column values, and prints its peak RSS (the memory floor): it imports numpy
and highspy only.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import highspy
import numpy as np

#: the options of allocator.lp.solve.highs_for (interior point with crossover, one thread, quiet)
OPTIONS = {"output_flag": False, "solver": "ipm", "threads": 1}


def lp_arrays(lp) -> dict[str, np.ndarray]:
    """A LinearModel's LP as the plain arrays HiGHS takes (made outside the timed floor)."""
    from allocator.lp import matrix

    arr = lp.arrays()
    start, index, value = matrix.csc(lp)
    return {"col_cost": arr["col_cost"], "col_lower": arr["col_lower"], "col_upper": arr["col_upper"],
            "row_lower": arr["row_lower"], "row_upper": arr["row_upper"],
            "start": start[:-1].astype(np.int32), "index": index.astype(np.int32), "value": value}


def floor_solve(a: dict[str, np.ndarray], keep: list | None = None) -> tuple[float, float, float]:
    """``(handoff_s, solve_s, objective)`` of HiGHS alone on ``a``; appends the column values to ``keep``."""
    t0 = time.perf_counter()
    h = highspy.Highs()
    for key, value in OPTIONS.items():
        h.setOptionValue(key, value)
    n_col, n_row = a["col_cost"].size, a["row_lower"].size
    status = h.passModel(n_col, n_row, a["value"].size, int(highspy.MatrixFormat.kColwise),
                         int(highspy.ObjSense.kMaximize), 0.0, a["col_cost"], a["col_lower"], a["col_upper"],
                         a["row_lower"], a["row_upper"], a["start"], a["index"], a["value"],
                         np.zeros(n_col, np.int32))
    t1 = time.perf_counter()
    if status != highspy.HighsStatus.kOk:
        raise RuntimeError(f"passModel returned {status}")
    h.run()
    t2 = time.perf_counter()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"floor solve: {h.modelStatusToString(h.getModelStatus())}")
    if keep is not None:
        keep.append(np.asarray(h.getSolution().col_value))
    return t1 - t0, t2 - t1, float(h.getInfo().objective_function_value)


def peak_rss_mb() -> float:
    """Peak resident set size of this process [MB].

    ``VmHWM`` from ``/proc/self/status``: unlike ``getrusage``'s ``ru_maxrss``, which
    Linux carries over ``fork`` + ``exec`` (a child started by a big parent reports the
    parent's peak), it belongs to this program's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(folder: str) -> None:
    """Solve every matrix in ``folder`` in turn, keeping each solution (what a caller needs back)."""
    objective, solutions = 0.0, []
    for path in sorted(Path(folder).glob("*.npz")):
        with np.load(path) as data:
            objective += floor_solve(dict(data), solutions)[2]
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "objective_usd": objective}))


if __name__ == "__main__":
    main(sys.argv[1])
