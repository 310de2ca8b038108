"""The run folder of ``allocator plan``: the plan's tables and its manifest."""

from __future__ import annotations

import time
from pathlib import Path

from ..csv_files import write_csv
from ..plan.site_plan import PlanResult
from .run_folder import RunFolder, manifest_inputs


def write_plan(result: PlanResult, out: Path, force: bool = False, inputs=()) -> Path:
    """Write plan.csv, cashflows.csv, plan_summary.csv, bau_plan.csv (and portfolio tables), atomically.

    ``force`` replaces an earlier run (only the files it recorded); ``inputs`` (paths, or a callable
    returning them) and the manifest's input files must not lie inside ``out``.
    """
    t0 = time.perf_counter()
    with RunFolder(out, force, inputs) as folder:
        tables = {"plan.csv": result.plan, "cashflows.csv": result.cashflows, "plan_summary.csv": result.summary,
                  "bau_plan.csv": result.bau_plan}
        if result.placements is not None:
            tables["tenants.csv"] = result.placements
        if result.shadow_prices is not None:
            tables["coupling_prices.csv"] = result.shadow_prices
        for name, frame in tables.items():
            write_csv(frame, folder.path(name))
        result.seconds["write"] = time.perf_counter() - t0
        manifest = result.manifest()
        manifest["files"] = folder.file_list()  # as a solve run folder: what a reader can check
        folder.write_json("manifest.json", manifest)
        folder.inputs += manifest_inputs(manifest)
        return folder.publish()


