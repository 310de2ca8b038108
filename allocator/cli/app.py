"""The command line: parse, call the API, print, exit with 0 / 1 / 2.

Exit status: 0 optimal; 1 bad input (every problem listed, nothing written);
2 infeasible or solver failure (the conflict explained, nothing written).
A closed stdout or a reader that leaves early (``| head -1``) changes neither the
run nor its exit status: what could not be printed is dropped (allocator.cli.streams).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import NoReturn

import click

from ..errors import AllocatorError

INTERRUPTED = "interrupted: nothing partial was written; --out holds the previous run, or this one complete"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="allocator")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Split each campus between contracted AI hosting and interruptible mining."""
    ctx.obj = {"debug": debug}


def echo_warnings(warnings) -> None:
    """Print each input warning to stderr (the run goes on; the manifest lists them too)."""
    for text in warnings:
        click.echo(f"warning: {text}", err=True)


def files_in(folder: Path) -> str:
    """The result files of a run folder, comma-separated (reports are listed with their timings)."""
    return ", ".join(sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("report.")))


def entry() -> None:
    """The process entry point (the `allocator` script and `python -m allocator`).

    A closed or broken stdout/stderr never stops a run nor changes its exit status (allocator.cli.streams).
    """
    from .streams import guard_standard_streams

    guard_standard_streams()
    _end_process(main(process_entry=True))


def _end_process(code: int) -> NoReturn:
    """End the process with exit status ``code``, without the interpreter's teardown.

    Freeing the 700-odd modules that pandas, pydantic and HiGHS bring takes Python 0.1-0.2 s at
    exit, a tenth of ``allocator solve`` on one site-year, and the operating system reclaims that
    memory at once anyway. Nothing is lost: a command has closed and renamed into place everything it
    writes before ``main`` returns, the ``atexit`` handlers still run and both streams are flushed.
    While another thread is still alive (a Dask client's, say) the normal exit waits for it. A daemon
    thread (a HiGHS solve stopped by Ctrl-C in presolve, allocator.lp.solve_progress) is not waited for
    by the normal exit either: it ends with the process, and needs no 1-2 s of teardown first.
    """
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
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
        _interrupted()
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
        _interrupted()
        return 130
    except Exception as err:
        if _SIGNALLED:  # a signal in the middle of an import surfaces as "ImportError: initialization failed"
            _interrupted()
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


def _interrupted() -> None:
    """Remove what the interrupted run had staged (nothing of it may stay behind), then say so."""
    from ..staging import remove_active

    remove_active()
    click.echo(INTERRUPTED, err=True)


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
        except (OSError, ValueError, AttributeError):  # AttributeError: None, a stream closed at start
            pass


if __name__ == "__main__":
    entry()
