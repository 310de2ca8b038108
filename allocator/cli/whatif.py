"""The what-if commands: ``sweep`` and ``breakeven`` (``--set`` / ``--scenario`` live on ``solve``).

Thin, like the other command groups: parse, call allocator.whatif.sweep / allocator.whatif.breakeven, print.
No pandas or pydantic at import time.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import AllocatorError, InputError, Problem
from .options import MAX_PARAMETER, MAX_POINTS, MAX_SCENARIOS, FiniteFloat, clamp_workers


class SweepInterrupted(AllocatorError):
    """Ctrl-C during a sweep: finished rows are kept; exit 130."""

    exit_code = 130


def overrides_from(sets: tuple[str, ...], scenario: Path | None) -> dict:
    """``--scenario`` file values, then ``--set`` values on top (later wins)."""
    from ..inputs.overrides import Overrides, parse_assignment, read_scenario_file

    values = Overrides()
    if scenario is not None:
        for path, value in read_scenario_file(scenario).items():
            values[path] = value
            values.sources[path] = "scenario"
    problems: list[Problem] = []
    for text in sets:
        try:
            path, value = parse_assignment(text)
        except InputError as err:
            problems += err.problems
            continue
        values[path] = value
        values.sources[path] = "set"
    if problems:
        raise InputError(problems, "--set")
    return values


def load_sites_with(sites: tuple[Path, ...], values: dict) -> list:
    """Every site with the overrides applied; every problem of every site reported together."""
    from ..inputs.overrides import load_site_with

    loaded, problems = [], []
    for path in sites:
        try:
            loaded.append(load_site_with(path, values))
        except InputError as err:
            problems += err.problems
    if problems:
        raise InputError(problems, f"{len(sites)} site file{'s' if len(sites) != 1 else ''} with overrides")
    return loaded


@click.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--vary", "vary", multiple=True, metavar="PATH=LO:HI:N",
              help="Grid: N evenly spaced values of a site field (or PATH=v1,v2,...); repeat for more fields.")
@click.option("--samples", type=click.IntRange(min=1, max=MAX_SCENARIOS), default=None,
              help="Monte Carlo: number of samples.")
@click.option("--distributions", type=click.Path(path_type=Path), default=None,
              help="Monte Carlo: TOML file of the sampled fields' distributions.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the distributions file's seed.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Folder for sweep.csv and sweep.json; rerun with the same folder to resume.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: all cores].")
@click.option("--dask-scheduler", "dask_scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask cluster, e.g. tcp://scheduler:8786.")
@click.option("--no-reuse", is_flag=True, help="Rebuild and cold-solve the model for every scenario (slower).")
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Solver time limit per scenario [s].")
def sweep(sites, vary, samples, distributions, seed, out, workers, dask_scheduler, no_reuse, time_limit_s) -> None:
    """Solve many scenarios of each site: a grid (--vary) or Monte Carlo (--samples, --distributions)."""
    from ..whatif import sweep as sw

    if bool(vary) == bool(samples or distributions):
        raise InputError([Problem("sweep", "give either --vary (a grid) or --samples with --distributions.",
                                  "E.g. --vary mining.hashprice_usd_per_ph_day=30:80:11.")], "the sweep options")
    if (samples is None) != (distributions is None):
        raise InputError([Problem("sweep", "--samples and --distributions go together.",
                                  "Give both, e.g. --samples 2000 --distributions scenarios/btc_2027.toml.")],
                         "the sweep options")
    if vary:
        definition = sw.grid_sweep(list(sites), list(vary), time_limit_s)
    else:
        definition = sw.monte_carlo_sweep(list(sites), distributions, samples, seed, time_limit_s)
    from ..whatif.sweep_findings import rebuild_warning

    slow = None if no_reuse else rebuild_warning(definition.paths)
    bar = None
    state = {"total": 0}

    def start(total: int) -> None:  # the sweep is checked, nothing solved yet
        nonlocal bar
        state["total"] = total
        if slow and total:
            click.echo(slow, err=True)
        if sw.is_tty_progress() and total:
            bar = click.progressbar(length=total, label="sweep", show_eta=True, show_pos=True,
                                    file=click.get_text_stream("stderr"))
            bar.__enter__()

    def step(n: int) -> None:
        if bar is not None:
            bar.update(n)

    workers = clamp_workers(workers)
    try:
        summary = sw.run_sweep(definition, out, workers=workers, dask_scheduler=dask_scheduler,
                               reuse=not no_reuse, progress=step, total_callback=start)
    except KeyboardInterrupt:
        raise SweepInterrupted([Problem(f"--out {out}", "the finished scenarios are kept in sweep.csv.",
                                        "Rerun the same command to resume.")], "sweep interrupted") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(summary.text())


@click.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="PATH",
              help="Site field to move (repeatable) [default: the usual prices, rates and costs of the site].")
@click.option("--low", type=FiniteFloat(min=-MAX_PARAMETER, max=MAX_PARAMETER), default=None,
              help="Low end of the range (one --param only).")
@click.option("--high", type=FiniteFloat(min=-MAX_PARAMETER, max=MAX_PARAMETER), default=None,
              help="High end of the range (one --param only).")
@click.option("--swing", "swing_frac", type=FiniteFloat(min=0, min_open=True), default=0.5, show_default=True,
              help="Without --low/--high: the range is base x (1 -/+ swing).")
@click.option("--tolerance", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Bracket width of each breakeven, in the parameter's unit [default: range / 1000].")
@click.option("--points", type=click.IntRange(min=2, max=MAX_POINTS), default=21, show_default=True,
              help="Values scanned before bisecting.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Folder to write breakeven.csv and sensitivity.csv (tornado data).")
@click.option("--force", is_flag=True, help="Replace an existing --out folder (atomically).")
def breakeven(sites, params, low, high, swing_frac, tolerance, points, out, force) -> None:
    """Where the optimal split changes as one parameter moves, and low/base/high sensitivity."""
    from ..whatif import breakeven as be

    if (low is not None or high is not None) and len(params) != 1:
        raise InputError([Problem("--low/--high", "apply to one --param.", "Give exactly one --param with them.")],
                         "the breakeven options")
    files = None
    if out is not None:
        from ..out_check import check_target, command_inputs

        files = command_inputs(sites)
        check_target(out, force, files)
    breakevens, tornado, loaded, methods = [], [], [], {}
    for path in sites:
        runner = be.runner(path)
        loaded.append(runner.base)  # bad site files fail here, before any search
        methods[runner.base.id] = runner.methods
        names = list(params) or be.default_parameters(runner)
        ranges = {p: be.resolve_range(runner, p, low, high, swing_frac) for p in names}
        click.echo(f"{runner.site_id}:")
        for p, (lo, base, hi) in ranges.items():
            result = be.search(runner, p, lo, hi, tolerance, points, base)
            click.echo(f"  {p} (base {be.format_value(p, base, result.tolerance)}, searched "
                       f"{be.format_value(p, lo, result.tolerance)} to {be.format_value(p, hi, result.tolerance)}, "
                       f"tolerance {result.tolerance:.3g}):")
            click.echo(f"    {result.sentence()}")
            breakevens += result.rows()
            tornado += be.sensitivity(runner, p, lo, base, hi)
    if out is not None:
        _write_breakeven(out, force, breakevens, tornado, loaded, files, methods)
        click.echo(f"\nwrote {out}/ (breakeven.csv, sensitivity.csv, manifest.json)")


def _write_breakeven(out: Path, force: bool, breakevens: list[dict], tornado: list[dict], sites: list,
                     files, methods: dict) -> None:
    """breakeven.csv and sensitivity.csv, and a manifest listing them (so --force may replace the folder);
    ``methods``: site id -> solves per method in words (the manifest's ``sites.<id>.methods_this_run``)."""
    import pandas as pd

    from ..lp.solve import solver_version
    from ..whatif.manifest import run_manifest
    from ..csv_files import write_csv
    from ..reports.run_folder import RunFolder, manifest_inputs
    from ..whatif.breakeven import BREAKEVEN_COLUMNS, SENSITIVITY_COLUMNS

    with RunFolder(out, force, files) as folder:
        write_csv(pd.DataFrame(breakevens, columns=list(BREAKEVEN_COLUMNS)), folder.path("breakeven.csv"))
        write_csv(pd.DataFrame(tornado, columns=list(SENSITIVITY_COLUMNS)), folder.path("sensitivity.csv"))
        manifest = run_manifest("breakeven", sites, status="complete")
        manifest["solver"] = solver_version("auto")
        for site_id, counts in methods.items():
            manifest["sites"][site_id]["methods_this_run"] = dict(counts)
        manifest["files"] = folder.file_list()  # as a solve run folder: what a reader can check
        folder.write_json("manifest.json", manifest)
        folder.inputs += manifest_inputs(manifest)
        folder.publish()


def register(group: click.Group) -> None:
    """Add the what-if commands to the CLI group."""
    group.add_command(sweep)
    group.add_command(breakeven)


__all__ = ["breakeven", "load_sites_with", "overrides_from", "register", "sweep"]
