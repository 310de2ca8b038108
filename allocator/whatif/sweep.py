"""Sweeps: many scenarios of many sites, resumable, on local cores or a Dask cluster.

A sweep is a list of scenarios (dicts of dotted path -> value): a grid
(``--vary path=lo:hi:n``, the last path varying fastest) or Monte Carlo
samples (:mod:`allocator.whatif.distributions`). Every scenario is solved for every
site and gives one row of ``sweep.csv``::

    scenario_id, <one column per varied path>, <the columns of split.csv>, status, error

Rows are appended (and flushed) as scenarios finish, so an interrupted sweep
keeps every finished row; ``sweep.json`` beside it holds the sweep's
definition (sites and the hashes of their input files, varied paths and
values or distributions, seed). A rerun with the same ``--out`` skips the
(scenario_id, site_id) pairs already in ``sweep.csv`` and refuses if the
definition differs. A failed scenario (bad value, infeasible, solver failure)
is a row with its status and error text; the sweep goes on.

Scenarios of one site are sent in chunks (at most 25 scenarios) to worker
processes or Dask workers, which keep each site's solver between scenarios
(:mod:`allocator.whatif.reuse`); a chunk's rows are written when it
returns. With one worker the scenarios run in this process and each row is
written as soon as it is solved.

The solver is ``auto`` by default: the scenarios the structured solver covers
(:func:`allocator.lp.structured.not_covered`: the base model, TOU, 4CP,
contracts, demand response, the uptime SLA) by its exact cutting planes, their
cuts kept while a scenario moves only the master's objective or bounds
(:mod:`allocator.whatif.sweep_structured`), the others by HiGHS; ``highs``
solves every scenario with HiGHS. ``sweep.json`` records the solver, and
``manifest.json`` how many scenarios each method solved (``methods_this_run``,
and per site ``sites.<id>.methods_this_run``, each method in words with why
HiGHS where ``auto`` chose it).
"""

from __future__ import annotations

import csv
import errno
import itertools
import json
import math
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..csv_files import csv_cell
from ..file_hash import sha256_file
from ..errors import InputError, Problem
from ..inputs.files import TomlSyntaxError, parse_toml
from ..limits import MAX_SCENARIOS
from ..worker_signals import held, worker_started
from ..inputs.overrides import check_path, parse_value, read_raw
from ..lp.results import SPLIT_COLUMNS
from .dask_scheduler import dask_client
from .sweep_folder import CSV_NAME, DEFINITION_NAME, claim, finished  # noqa: F401 (the names stay importable here)

MAX_CHUNK = 25
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


@dataclass
class Sweep:
    """Scenarios x sites to solve.

    Attributes
    ----------
    sites : list of Path
        Site files (absolute paths).
    paths : list of str
        Varied dotted paths, one column each in sweep.csv.
    values : list of tuple
        One tuple per scenario, aligned with ``paths``.
    definition : dict
        What makes the sweep itself (kind, grid or distributions, seed), for the resume check.
    time_limit_s : float, optional
        Solver time limit per scenario [s].
    solver : {"auto", "highs"}
        ``auto``: structured cutting planes where they apply, HiGHS for the rest; ``highs``: HiGHS only.
    """

    sites: list[Path]
    paths: list[str]
    values: list[tuple]
    definition: dict = field(default_factory=dict)
    time_limit_s: float | None = None
    input_files: list[Path] = field(default_factory=list)  # inputs besides the sites (a distributions file)
    loaded: list = field(default_factory=list)  # the sites, loaded by check_sweep (for the manifest)
    solver: str = "auto"

    @property
    def scenario_ids(self) -> list[str]:
        width = max(5, len(str(len(self.values))))
        return [f"s{i + 1:0{width}d}" for i in range(len(self.values))]

    @property
    def columns(self) -> list[str]:
        return ["scenario_id", *self.paths, *SPLIT_COLUMNS, "status", "error"]


# ------------------------------------------------------------------ defining


def parse_vary(text: str) -> tuple[str, list]:
    """``path=lo:hi:n`` (n evenly spaced values) or ``path=v1,v2,...`` -> (path, values)."""
    where = f"--vary {text}"
    path, sep, spec = text.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec:
        raise InputError([Problem(where, "is not of the form path=lo:hi:n or path=v1,v2,...",
                                  "Write e.g. --vary mining.hashprice_usd_per_ph_day=30:80:11.")], where)
    if ":" in spec:
        parts = spec.split(":")
        try:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if len(parts) != 3 or n < 1 or not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError
        except (ValueError, IndexError):
            raise InputError([Problem(where, f"{spec!r} is not lo:hi:n with numbers and n >= 1.",
                                      "Write e.g. 30:80:11 (11 values from 30 to 80).")], where) from None
        if n > MAX_SCENARIOS:  # refused before linspace allocates it
            raise InputError([Problem(where, f"{n:,} values; a sweep holds at most {MAX_SCENARIOS:,} scenarios "
                                             "per site.", "Use fewer points, or split the range over several "
                                                          "sweeps (each with its own --out).")], where)
        values = np.linspace(lo, hi, n).tolist() if n > 1 else [lo]
        return path, values
    items = [v.strip() for v in spec.split(",")]
    # one bare word is no list of values, and "30-80" in a list is a range slip; other text items of a list
    # (a typo among numbers) are kept, to fail as that scenario's input_error row
    bad = [v for v in items
           if not _is_toml_value(v, f"--vary {path}") and (len(items) == 1 or _RANGE.fullmatch(v))]
    if bad:
        shown = ", ".join(map(repr, bad))
        ranged = _RANGE.fullmatch(bad[0])
        if ranged:
            lo, hi = ranged.groups()
            fix = f"For a range write lo:hi:n, e.g. {path}={lo}:{hi}:11 (11 values from {lo} to {hi})."
        else:
            fix = 'Give numbers (30,40,50), a range lo:hi:n (30:80:11), or quote text ("ffill").'
        raise InputError([Problem(where, f"{shown} is neither a number, a list v1,v2,... nor a range lo:hi:n.",
                                  fix)], where)
    values = [parse_value(v, f"--vary {path}") for v in items]
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        raise InputError([Problem(where, f"{spec!r} holds a value that is not a finite number (nan or inf).",
                                  "Give plain numbers, e.g. 30,40,50.")], where)
    return path, values


_RANGE = re.compile(r"\s*(-?[\d.]+)\s*(?:-|\.\.|to|\u2013)\s*(-?[\d.]+)\s*")


def _is_toml_value(text: str, where: str) -> bool:
    """True when ``text`` reads as a TOML value (a number, a boolean, a quoted string, a date...); TOML beyond
    the parser's limits (a 100,000-deep array) is an :class:`InputError` naming ``where``."""
    try:
        parse_toml(f"v = {text}", where)
    except TomlSyntaxError:
        return False
    return True


def grid_sweep(sites: list[Path], vary: list[str], time_limit_s: float | None = None, solver: str = "auto") -> Sweep:
    """Every combination of the ``--vary`` values, the last path varying fastest (``solver``: see :class:`Sweep`)."""
    specs = [parse_vary(v) for v in vary]
    paths = [p for p, _ in specs]
    _no_duplicates(paths, "--vary")
    size = math.prod(len(vals) for _, vals in specs)
    if size > MAX_SCENARIOS:  # refused before the product is built
        counts = " x ".join(f"{len(vals):,}" for _, vals in specs)
        raise InputError([Problem("--vary", f"the grid has {counts} = {size:,} scenarios per site; the limit is "
                                            f"{MAX_SCENARIOS:,}.",
                                  "Use fewer points per path, or split the grid over several sweeps "
                                  "(each with its own --out).")], "--vary")
    values = list(itertools.product(*[vals for _, vals in specs]))
    definition = {"kind": "grid", "vary": [{"path": p, "values": v} for p, v in specs]}
    return Sweep([Path(s).resolve() for s in sites], paths, values, definition, time_limit_s, solver=solver)


def monte_carlo_sweep(sites: list[Path], distributions_path: Path, samples: int, seed: int | None = None,
                      time_limit_s: float | None = None, solver: str = "auto") -> Sweep:
    """``samples`` draws from the distributions file (its seed unless ``seed`` is given; ``solver``: see
    :class:`Sweep`)."""
    from .distributions import read_distributions

    dists = read_distributions(Path(distributions_path))
    draws = dists.sample(samples, seed)
    values = [tuple(float(x) for x in row) for row in draws]
    definition = {"kind": "monte_carlo", "samples": samples, "seed": dists.seed if seed is None else seed,
                  "distributions": dists.definition()}
    sweep = Sweep([Path(s).resolve() for s in sites], dists.paths, values, definition, time_limit_s, solver=solver)
    sweep.input_files = [Path(distributions_path).resolve()]
    return sweep


def _no_duplicates(paths: list[str], option: str) -> None:
    dups = sorted({p for p in paths if paths.count(p) > 1})
    if dups:
        raise InputError([Problem(option, f"{', '.join(dups)} is varied twice.", "Give each path once.")], option)


def check_sweep(sweep: Sweep) -> dict:
    """Check the sites and the varied paths before anything runs; return the full definition.

    Raises :class:`InputError` (exit 1) for a bad site file, a duplicate site id or a path
    that names no field of a site.
    """
    from ..inputs.site import load_site

    problems: list[Problem] = []
    inputs = []
    ids = [p.stem for p in sweep.sites]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem("SITES", f"site id {dup!r} appears twice.", "Give each site file once."))
    sweep.loaded = []
    for path in sweep.sites:
        try:
            site = load_site(path)
            raw = read_raw(path)
        except InputError as err:
            problems += err.problems
            continue
        sweep.loaded.append(site)
        for p in sweep.paths:
            problems += check_path(raw, p, str(path))
        inputs.append({"site": str(path), "sha256": site.file_sha256()})
    if not sweep.values:
        problems.append(Problem("sweep", "has no scenario.", "Give --vary or --samples."))
    if problems:
        raise InputError(problems, "the sweep")
    from .manifest import versions

    tools = versions()  # a sweep is resumed only by the same tool and solver: rows of one sweep stay comparable
    if sweep.solver not in ("auto", "highs"):
        problems.append(Problem("--solver", f"{sweep.solver!r} is not a sweep solver.", "Use auto or highs."))
        raise InputError(problems, "the sweep")
    tools["solver"] = sweep_solver(sweep)
    extra = {"inputs_sha256": {str(p): sha256_file(p)[0] for p in sweep.input_files}} if sweep.input_files else {}
    return {**sweep.definition, "paths": sweep.paths, "sites": inputs, "time_limit_s": sweep.time_limit_s,
            "scenarios": len(sweep.values), "tool_version": tools["tool_version"], "solver": tools["solver"],
            **extra}


def sweep_solver(sweep: Sweep) -> str:
    """The solver recorded in sweep.json and manifest.json: ``"structured + HiGHS x.y"`` for auto."""
    from ..lp.solve import solver_version

    return solver_version("structured" if sweep.solver == "auto" else "highs")


# ------------------------------------------------------------------ the worker side

_local = threading.local()


def run_chunk(site_path: str, items: list[tuple[str, dict[str, Any]]], reuse: bool = True,
              time_limit_s: float | None = None, solver: str = "auto") -> list[dict[str, Any]]:
    """Solve scenarios of one site in this worker; one row dict per scenario (its ``method`` key,
    "structured" or "highs", and ``method_detail``, the method in words, are not columns). Never
    raises for a scenario."""
    from .reuse import SiteScenarios

    cache = getattr(_local, "sites", None)
    if cache is None:
        cache = _local.sites = {}
    key = (site_path, reuse, time_limit_s, solver)
    if key not in cache:
        cache[key] = SiteScenarios(site_path, reuse=reuse, time_limit_s=time_limit_s, solver=solver)
    runner = cache[key]
    rows = []
    for scenario_id, values in items:
        try:
            outcome = runner.run(values)
            row = {**outcome.split, "status": outcome.status, "error": outcome.error, "method": outcome.method,
                   "method_detail": outcome.method_detail}
        except Exception as err:  # a defect must not stop the sweep: record it
            row = {"site_id": runner.site_id, "status": "internal_error", "error": f"{type(err).__name__}: {err}"}
        rows.append({"scenario_id": scenario_id, **values, **row})
    return rows


# ------------------------------------------------------------------ running


@dataclass
class SweepSummary:
    """What a run of a sweep did."""

    out: Path
    total: int
    skipped: int
    statuses: Counter
    seconds: float
    findings: list[str] = field(default_factory=list)  # sweep_findings.findings: ranges, failed points
    methods: Counter = field(default_factory=Counter)  # solved rows per method: structured, highs
    site_methods: dict[str, Counter] = field(default_factory=dict)  # site_id -> method in words -> rows

    @property
    def solved(self) -> int:
        return sum(self.statuses.values())

    def text(self) -> str:
        per_s = self.solved / self.seconds if self.seconds > 0 else float("nan")
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "nothing to do"
        resumed = f" ({self.skipped} already done)" if self.skipped else ""
        return "\n".join([f"sweep: {self.total} scenario rows{resumed}: {counts} in {self.seconds:.1f} s "
                          f"({per_s:.1f} rows/s); wrote {self.out / CSV_NAME}", *self.findings])


def run_sweep(sweep: Sweep, out: Path, *, workers: int | None = None, dask_scheduler: str | None = None,
              reuse: bool = True, progress: Callable[[int], None] | None = None,
              total_callback: Callable[[int], None] | None = None) -> SweepSummary:
    """Run (or resume) ``sweep`` into ``out``.

    Parameters
    ----------
    sweep : Sweep
    out : Path
        Folder for sweep.csv and sweep.json; created if absent; resumed if it holds the same sweep.
    workers : int, optional
        Local worker processes; default all cores; 1 runs in this process.
    dask_scheduler : str, optional
        Address of an existing Dask distributed scheduler; the scenarios run there instead.
    reuse : bool
        Keep each site's model between scenarios (default).
    progress : callable, optional
        Called with the number of rows finished, after each chunk.
    total_callback : callable, optional
        Called once with the number of rows still to solve.
    """
    t0 = time.perf_counter()
    definition = check_sweep(sweep)
    out = Path(out)
    csv_path = out / CSV_NAME
    lock = claim(out, definition)
    try:
        summary = _run_locked(sweep, out, csv_path, workers, dask_scheduler, reuse, progress, total_callback, t0)
        _write_manifest(sweep, out, summary)
    except OSError as err:
        if err.errno not in _WRITE_ERRNOS and not str(err.filename or "").startswith(str(out)):
            raise
        from ..out_check import os_problem

        raise InputError([os_problem(out, err, "cannot be written (the rows written so far are kept; rerun "
                                               "to resume)")], str(out)) from None
    finally:
        lock.close()
    from .sweep_findings import findings

    summary.findings = findings(csv_path, sweep.paths)
    return summary


def _write_manifest(sweep: Sweep, out: Path, summary: SweepSummary) -> None:
    """``manifest.json`` of a finished run of the sweep (replaced by rename, under the sweep's lock)."""
    from .manifest import run_manifest

    files = {}
    for name in (DEFINITION_NAME, CSV_NAME):
        if (out / name).exists():
            digest, size = sha256_file(out / name)
            files[name] = {"bytes": size, "sha256": digest}
    manifest = run_manifest("sweep", sweep.loaded, sweep.input_files, status="complete",
                            scenario_rows=summary.total, rows_this_run=summary.solved,
                            statuses=dict(summary.statuses), seconds={"run": round(summary.seconds, 6)},
                            files=files, solver=sweep_solver(sweep), methods_this_run=dict(summary.methods))
    for site_id, counts in summary.site_methods.items():  # as a solve's sites.<id>.method, counted per scenario
        if site_id in manifest["sites"]:
            manifest["sites"][site_id]["methods_this_run"] = dict(counts)
    tmp = out / f".manifest.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, out / "manifest.json")


def _run_locked(sweep: Sweep, out: Path, csv_path: Path, workers: int | None, dask_scheduler: str | None,
                reuse: bool, progress, total_callback, t0: float) -> SweepSummary:
    done = finished(csv_path, sweep.columns)
    ids = sweep.scenario_ids
    pending: dict[str, list[tuple[str, dict]]] = {}
    total = len(ids) * len(sweep.sites)
    order = locality_order(sweep.values) if sweep.definition.get("kind") == "monte_carlo" else range(len(ids))
    for site in sweep.sites:
        todo = [(ids[i], dict(zip(sweep.paths, sweep.values[i]))) for i in order if (ids[i], site.stem) not in done]
        if todo:
            pending[str(site)] = todo
    n_pending = sum(len(v) for v in pending.values())
    if total_callback:
        total_callback(n_pending)
    workers = max(1, workers or os.cpu_count() or 1)
    chunks = _chunks(pending, workers)
    statuses: Counter = Counter()
    methods: Counter = Counter()
    site_methods: dict[str, Counter] = {}
    new_file = not csv_path.exists() or csv_path.stat().st_size == 0
    with open(csv_path, "a", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=sweep.columns, lineterminator="\n", extrasaction="ignore")
        if new_file:
            writer.writeheader()
            fh.flush()
        if dask_scheduler:
            results = _on_dask(dask_scheduler, chunks, reuse, sweep.time_limit_s, sweep.solver)
        elif workers == 1 or len(chunks) <= 1:
            # in this process: one scenario at a time, each written as soon as it is solved
            results = (run_chunk(site, [item], reuse, sweep.time_limit_s, sweep.solver)
                       for site, items in chunks for item in items)
        else:
            results = _on_pool(workers, chunks, reuse, sweep.time_limit_s, sweep.solver)
        for rows in results:
            for row in rows:
                writer.writerow({k: csv_cell(_cell(v)) for k, v in row.items()})
                statuses[row["status"]] += 1
                if row.get("method"):
                    methods[row["method"]] += 1
                    site_methods.setdefault(row["site_id"], Counter())[row.get("method_detail") or row["method"]] += 1
            fh.flush()
            if progress:
                progress(len(rows))
    return SweepSummary(out, total, total - n_pending, statuses, time.perf_counter() - t0, methods=methods,
                        site_methods=site_methods)


def locality_order(values: list[tuple]) -> list[int]:
    """An order of the scenarios in which neighbours are close, so warm starts are short.

    Samples are binned on their first value (sqrt(n) bins) and sorted by the second within
    each bin, in alternating directions (a snake through the first two dimensions); rows are
    still keyed by scenario_id, so the order changes only the speed.
    """
    n = len(values)
    if n < 3 or not values[0]:
        return list(range(n))
    x = np.array([[float(v) if isinstance(v, int | float) else 0.0 for v in row[:2]] for row in values])
    ranks = np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0, kind="stable") / n
    bins = np.minimum((ranks[:, 0] * math.isqrt(n)).astype(int), math.isqrt(n) - 1)
    second = ranks[:, 1] if x.shape[1] > 1 else ranks[:, 0]
    key = np.where(bins % 2 == 0, second, -second)
    return np.lexsort((key, bins)).tolist()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\r", " ").replace("\n", " ")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _chunks(pending: dict[str, list], workers: int) -> list[tuple[str, list]]:
    n = sum(len(v) for v in pending.values())
    size = max(1, min(MAX_CHUNK, math.ceil(n / (workers * 4))))
    return [(site, items[i:i + size]) for site, items in pending.items() for i in range(0, len(items), size)]


def _on_pool(workers: int, chunks: list[tuple[str, list]], reuse: bool,
             time_limit_s: float | None, solver: str = "auto") -> Iterator[list[dict]]:
    """Chunks on a local process pool. On Ctrl-C the chunks not started are dropped and those
    running are finished and yielded (a few seconds), then KeyboardInterrupt goes on."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed, wait

    # spawn: no fork of a process that may hold threads (HiGHS, a progress bar); workers ignore
    # Ctrl-C, which the parent handles
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), initializer=worker_started,
                               mp_context=multiprocessing.get_context("spawn"))
    with held():  # submit starts the workers: a signal then would leave one half-fed (worker_signals)
        futures = [pool.submit(run_chunk, site, items, reuse, time_limit_s, solver) for site, items in chunks]
    yielded = set()
    try:
        for future in as_completed(futures):
            yielded.add(future)
            yield future.result()
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        running = [f for f in futures if not f.cancelled() and f not in yielded]
        wait(running)
        for future in running:
            if future.exception() is None:
                yield future.result()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_dask(address: str, chunks: list[tuple[str, list]], reuse: bool,
             time_limit_s: float | None, solver: str = "auto") -> Iterator[list[dict]]:
    client = dask_client(address)
    from dask.distributed import as_completed  # importable: dask_client checked

    try:
        futures = [client.submit(run_chunk, site, items, reuse, time_limit_s, solver, pure=False)
                   for site, items in chunks]
        for future in as_completed(futures, loop=client.loop):
            yield future.result()
    finally:
        client.cancel([f for f in futures if not f.done()])
        client.close()


def read_sweep(out: Path):
    """``sweep.csv`` of a sweep folder as a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(Path(out) / CSV_NAME)


def is_tty_progress() -> bool:
    """A progress bar only on a terminal, never in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


__all__ = ["Sweep", "SweepSummary", "grid_sweep", "monte_carlo_sweep", "read_sweep",
           "run_chunk", "run_sweep"]
