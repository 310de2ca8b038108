"""The command line: parse, call the API, print, exit with 0 / 1 / 2.

Exit status: 0 optimal; 1 bad input (every problem listed, nothing written);
2 infeasible or solver failure (the conflict explained, nothing written).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import NoReturn

import click

from .errors import AllocatorError, InputError, Problem

INTERRUPTED = "interrupted: nothing partial was written; --out holds the previous run, or this one complete"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="allocator")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Split each campus between contracted AI hosting and interruptible mining."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(sites: tuple[Path, ...]) -> None:
    """Check site files and their data; list every problem."""
    from .site import load_site

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
@click.option("--solver", type=click.Choice(["highs", "cbc"]), default="highs", show_default=True)
@click.option("--time-limit", "time_limit_s", type=click.FloatRange(min=0, min_open=True), default=None,
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
def solve(sites: tuple[Path, ...], out: Path | None, force: bool, solver: str, time_limit_s: float | None,
          portfolio: Path | None = None, report: str | None = None, sets: tuple[str, ...] = (),
          scenario: Path | None = None, workers: int = 1, portfolio_method: str | None = None) -> None:
    """Solve the optimal AI / mining split of each site."""
    from .reports.hourly import HourlyWriter
    from .reports.run_folder import RunFolder, check_target, complete
    from .reports.text import summary

    step = None
    if report is not None:
        from .reports.report import ReportStep, formats_for_solve

        step = ReportStep(formats_for_solve(report, out), out.name)
    if portfolio is not None:
        from .cli_plan import solve_portfolio_cli

        from .whatif_cli import load_sites_with, overrides_from

        if workers != 1:
            raise InputError([Problem("--workers", "cannot be combined with --portfolio yet.",
                                      "Drop --workers: a portfolio is solved by one process.")], "the command line")
        values = overrides_from(sets, scenario)
        inputs = load_sites_with(sites, values) if values else list(sites)
        return solve_portfolio_cli(inputs, portfolio, out, force, solver, time_limit_s, step,
                                   portfolio_method or "auto")
    if portfolio_method is not None:
        raise InputError([Problem("--portfolio-method", "applies only with --portfolio.",
                                  "Add --portfolio FILE, or drop --portfolio-method.")], "the command line")
    from .site_summary import solve_summarized
    from .whatif_cli import load_sites_with, overrides_from

    if out is not None:
        check_target(out, force)
    values = overrides_from(sets, scenario)
    inputs = load_sites_with(sites, values) if values else list(sites)
    if out is None:
        result = solve_summarized(inputs, solver=solver, time_limit_s=time_limit_s, workers=workers)
        echo_warnings(result.warnings)
        click.echo(summary(result))
        click.echo("\n(nothing written: add --out DIR for the CSV reports)")
        return
    # each site's hourly rows go to the run folder as it is solved; the run keeps only its summary
    with RunFolder(out, force) as folder:
        hourly = HourlyWriter(folder.tmp)
        result = solve_summarized(inputs, solver=solver, time_limit_s=time_limit_s, workers=workers,
                                  also=hourly.add)
        hourly.close()
        echo_warnings(result.warnings)
        click.echo(summary(result))
        written_to = complete(folder, result, finish=step, hourly_s=hourly.seconds)
    click.echo(f"\nwrote {out}/ ({files_in(written_to)}{step.note if step else ''})")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--format", "formats", default="html,xlsx", show_default=True, metavar="html,xlsx",
              help="Reports to write.")
def report(folder: Path, formats: str) -> None:
    """(Re)write report.html and report.xlsx of a run folder from its result files."""
    from .reports.report import parse_formats, write_reports, written

    click.echo(f"wrote {folder}/ ({written(write_reports(folder, parse_formats(formats, '--format')))})")


def echo_warnings(warnings) -> None:
    """Print each input warning to stderr (the run goes on; the manifest lists them too)."""
    for text in warnings:
        click.echo(f"warning: {text}", err=True)


def files_in(folder: Path) -> str:
    """The result files of a run folder, comma-separated (reports are listed with their timings)."""
    return ", ".join(sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("report.")))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the site file (for editors)."""
    from .schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


from .cli_plan import plan  # noqa: E402  (allocator plan: multi-year plans, docs/PLAN.md)

cli.add_command(plan)
from .whatif_cli import register as _register_whatif  # noqa: E402  (sweep, breakeven)

_register_whatif(cli)


def entry() -> None:
    """The process entry point (the `allocator` script and `python -m allocator`)."""
    _end_process(main(process_entry=True))


def _end_process(code: int) -> NoReturn:
    """End the process with exit status ``code``, without the interpreter's teardown.

    Freeing the 700-odd modules that pandas, pydantic and HiGHS bring takes Python 0.1-0.2 s at
    exit, a tenth of ``allocator solve`` on one site-year, and the operating system reclaims that
    memory at once anyway. Nothing is lost: a command has closed and renamed into place everything it
    writes before ``main`` returns, the ``atexit`` handlers still run and both streams are flushed.
    While another thread is still alive (a Dask client's, say) the normal exit waits for it.
    """
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    _flush_output()
    os._exit(code)


def main(argv: list[str] | None = None, *, process_entry: bool = False) -> int:
    """Run one command and map errors to exit codes; tracebacks only with --debug.

    With `process_entry` the process ends right after: a signal from then on finds the work done (or
    already undone), so it ends the process at once and quietly instead of surfacing as a
    KeyboardInterrupt traceback from the interpreter's shutdown."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:  # accepted anywhere on the line, not only before the command
        args = ["--debug"] + [a for a in args if a != "--debug"]
    previous = _terminate_like_interrupt()
    try:
        cli.main(args=args, prog_name="allocator", standalone_mode=False)
    except click.exceptions.Abort:  # click's form of Ctrl-C / SIGTERM
        click.echo(INTERRUPTED, err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return 1
    except AllocatorError as err:
        if debug:
            traceback.print_exc()
        click.echo(err.render(), err=True)
        return err.exit_code
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        return 130
    except Exception as err:
        if _SIGNALLED:  # a signal in the middle of an import surfaces as "ImportError: initialization failed"
            click.echo(INTERRUPTED, err=True)
            return 130
        # a defect: say so plainly
        if debug:
            traceback.print_exc()
        click.echo(f"internal error: {type(err).__name__}: {err}\n"
                   "This is a bug in allocator; rerun with --debug and report it.", err=True)
        return 3
    finally:
        if previous is not None:
            if process_entry:
                _exit_on_signal_from_now_on()
            else:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
                sys.unraisablehook = _UNRAISABLE_HOOK
    return 0


_SIGNALLED = False
_UNRAISABLE_HOOK = sys.unraisablehook
#: SIGALRM re-delivers a signal that was lost (_redeliver_lost_interrupt); Windows has no timer signal
_REDELIVER = getattr(signal, "SIGALRM", None)
#: the signals that stop a command
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, *(() if _REDELIVER is None else (_REDELIVER,)))


def _terminate_like_interrupt() -> dict | None:
    """Make SIGTERM unwind like Ctrl-C, so a half-written run folder is removed, and remember that a
    signal came; return the old handlers."""
    def handler(signum, frame):
        global _SIGNALLED
        _SIGNALLED = True
        raise KeyboardInterrupt

    try:
        previous = {signum: signal.signal(signum, handler) for signum in _STOP_SIGNALS}
    except ValueError:  # not the main thread: leave signals alone
        return None
    sys.unraisablehook = _redeliver_lost_interrupt
    return previous


def _redeliver_lost_interrupt(unraisable) -> None:
    """A signal whose KeyboardInterrupt was raised where Python cannot take it (a weakref callback, a
    ``__del__``) is delivered again, so it stops the command instead of printing "Exception ignored"."""
    if _SIGNALLED and issubclass(unraisable.exc_type, KeyboardInterrupt):
        if _REDELIVER is not None:
            signal.setitimer(signal.ITIMER_REAL, 0.001)  # in 1 ms, once this callback is over
        return
    _UNRAISABLE_HOOK(unraisable)


def _exit_on_signal_from_now_on() -> None:
    """Flush what was printed, then let SIGINT/SIGTERM end the process quietly with exit 130."""
    _flush_output()

    def handler(signum, frame):
        os._exit(130)

    for signum in _STOP_SIGNALS:
        signal.signal(signum, handler)


def _flush_output() -> None:
    """Flush stdout and stderr, whatever became of them (a closed pipe, a closed stream)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    entry()
