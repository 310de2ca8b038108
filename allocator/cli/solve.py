"""``allocator validate | solve | report | schema``: the single-run commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import InputError, Problem
from .app import cli, echo_warnings, files_in
from .mining_capture import OPTION_HELP as MINING_CAPTURE_HELP
from .options import FiniteFloat, clamp_workers


@cli.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(sites: tuple[Path, ...]) -> None:
    """Check site files and their data; list every problem."""
    from ..inputs.site import load_site

    problems: list[Problem] = []
    for path in sites:
        try:
            site = load_site(path)
        except InputError as err:
            problems += err.problems
            continue
        click.echo(f"ok  {path}: {site.hours} hours from {site.index[0]:%Y-%m-%d %H:%M} UTC")
        echo_warnings(str(w) for w in site.warnings)
    if problems:
        raise InputError(problems, f"{len(sites)} site file{'s' if len(sites) != 1 else ''}")


@cli.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Run folder to write (split.csv, financials.csv, dispatch.csv, leases.csv, manifest.json).")
@click.option("--force", is_flag=True, help="Replace an existing --out folder (atomically).")
@click.option("--solver", type=click.Choice(["auto", "structured", "highs", "cbc"]), default="auto",
              show_default=True,
              help="auto: exact cutting planes for every site they cover (all but the uptime SLA "
                   "together with demand response), HiGHS for the others; structured: the same (its earlier "
                   "name); highs, cbc: the whole LP. The manifest and the summary say which solved each site.")
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Solver time limit per site [s].")
@click.option("--portfolio", type=click.Path(path_type=Path), default=None,
              help="portfolio.toml: solve the sites together with a shared capex budget, tenants and hashrate.")
@click.option("--portfolio-method", type=click.Choice(["auto", "one_lp", "decomposition"]), default=None,
              help="How a --portfolio is solved: auto (the default) prices a single shared <= row site by site "
                   "(exact decomposition) from 4 sites on, and solves anything else as one LP.")
@click.option("--report", "report", default=None, metavar="html,xlsx",
              help="Also write report.html and/or report.xlsx into the --out folder.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a site field, e.g. --set ai.lease[0].rate_usd_per_kw_month=130 (repeatable).")
@click.option("--scenario", type=click.Path(path_type=Path), default=None,
              help="TOML file of site fields to override (--set wins over it).")
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes solving independent sites side by side (0: one per core). Same results in the "
                   "same order.")
@click.option("--mining-capture", "mining_capture", default=None, metavar="FRAC|computed", help=MINING_CAPTURE_HELP)
def solve(sites: tuple[Path, ...], out: Path | None, force: bool, solver: str, time_limit_s: float | None,
          portfolio: Path | None = None, report: str | None = None, sets: tuple[str, ...] = (),
          scenario: Path | None = None, workers: int = 1, portfolio_method: str | None = None,
          mining_capture: str | None = None) -> None:
    """Solve the optimal AI / mining split of each site."""
    from ..reports.hourly import HourlyWriter
    from ..out_check import check_target, command_inputs
    from ..reports.run_folder import RunFolder, complete
    from ..csv_files import write_csv
    from ..reports.text import summary

    from ..operate.capture import computed_inputs, measure, with_capture
    from .mining_capture import capture_lines, parse_mining_capture

    _one_file_per_site(sites)
    capture = parse_mining_capture(mining_capture)
    workers = clamp_workers(workers)
    files = command_inputs([*sites, scenario, portfolio], sets)
    step = None
    if report is not None:
        from ..reports.report import ReportStep, formats_for_solve

        step = ReportStep(formats_for_solve(report, out), out.name)
    if portfolio is not None:
        from .plan import solve_portfolio_cli

        from .whatif import load_sites_with, overrides_from

        if workers != 1:
            raise InputError([Problem("--workers", "cannot be combined with --portfolio yet.",
                                      "Drop --workers: a portfolio is solved by one process.")], "the command line")
        if out is not None:
            check_target(out, force, files)
        values = overrides_from(sets, scenario)
        if capture is not None:
            if capture == "computed":
                raise InputError([Problem("--mining-capture", "computed is not measured for a --portfolio yet.",
                                          "Give a share, e.g. --mining-capture 0.97.")], "the command line")
            values = with_capture(values, capture)
        inputs = load_sites_with(sites, values) if values else list(sites)
        return solve_portfolio_cli(inputs, portfolio, out, force, solver, time_limit_s, step,
                                   portfolio_method or "auto", files, scenario=scenario)
    if portfolio_method is not None:
        raise InputError([Problem("--portfolio-method", "applies only with --portfolio.",
                                  "Add --portfolio FILE, or drop --portfolio-method.")], "the command line")
    from ..run.summary import solve_summarized
    from .whatif import load_sites_with, overrides_from

    if out is not None:
        check_target(out, force, files)
    values = overrides_from(sets, scenario)
    if isinstance(capture, float):
        values = with_capture(values, capture)
    inputs = load_sites_with(sites, values) if values else list(sites)
    if capture == "computed":  # solve on the full margin, measure each site's share, decide on it
        inputs, _ = computed_inputs(inputs, values, lambda items: solve_summarized(
            items, solver=solver, time_limit_s=time_limit_s, workers=workers))
    if out is None:
        result = solve_summarized(inputs, solver=solver, time_limit_s=time_limit_s, workers=workers)
        echo_warnings(result.warnings)
        click.echo(summary(result))
        click.echo("\n".join(capture_lines(*measure(inputs, result))))
        click.echo(solved_by(result))
        click.echo("\n(nothing written: add --out DIR for the CSV reports)")
        return
    # each site's hourly rows go to the run folder as it is solved; the run keeps only its summary
    with RunFolder(out, force, files) as folder:
        hourly = HourlyWriter(folder.tmp)
        result = solve_summarized(inputs, solver=solver, time_limit_s=time_limit_s, workers=workers,
                                  also=hourly.add)
        if scenario is not None:
            result.input_files.append(scenario)
        hourly.close()
        echo_warnings(result.warnings)
        click.echo(summary(result))
        captures, decided = measure(inputs, result)
        click.echo("\n".join(capture_lines(captures, decided)))
        click.echo(solved_by(result))
        from ..operate.capture import capture_table

        table = capture_table(captures)
        written_to = complete(folder, result, finish=step, hourly_s=hourly.seconds,
                              extra={"mining_capture.csv": lambda p: write_csv(table, p)})
    click.echo(f"\nwrote {out}/ ({files_in(written_to)}{step.note if step else ''})")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--format", "formats", default="html,xlsx", show_default=True, metavar="html,xlsx",
              help="Reports to write.")
def report(folder: Path, formats: str) -> None:
    """(Re)write report.html and report.xlsx of a run folder from its result files."""
    from ..reports.report import parse_formats, write_reports, written

    click.echo(f"wrote {folder}/ ({written(write_reports(folder, parse_formats(formats, '--format')))})")


def solved_by(result) -> str:
    """``solved by structured: west_texas; HiGHS: odessa (the uptime SLA ...)``: which method solved each
    site (the manifest's ``sites.<id>.method``), one line for the run."""
    groups: dict[str, list[str]] = {}
    for s in result.sites:
        method = s.method or result.solver
        name, _, why = method.partition(": ")
        name = name.split(" (")[0]
        groups.setdefault(name, []).append(s.site_id if hasattr(s, "site_id") else s.site.id)
        if why:
            groups[name][-1] += f" ({why})"
    return "\nsolved by " + "; ".join(f"{name}: {', '.join(ids)}" for name, ids in groups.items())


def _one_file_per_site(sites: tuple[Path, ...]) -> None:
    """Refuse two site files with the same site id (the file name): their rows would be indistinguishable."""
    by_id: dict[str, list[str]] = {}
    for path in sites:
        by_id.setdefault(Path(path).stem, []).append(str(path))
    problems = [Problem("SITES", f"site id {site_id!r} appears {len(paths)} times: {', '.join(paths)}.",
                        "Give each site once; to solve a variant, copy the file under another name.")
                for site_id, paths in by_id.items() if len(paths) > 1]
    if problems:
        raise InputError(problems, "the command line")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the site file (for editors)."""
    from ..inputs.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
