"""``allocator decide``: thin, like the other command groups: parse, call allocator.whatif.decide, write the
run folder with allocator.reports.decide, print. No pandas or pydantic at import time."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..limits import MAX_SCENARIOS
from .options import FiniteFloat, clamp_workers


def _usd(x: float | None) -> str:
    """USD per year in millions, or ``n/a`` (no unit) when the figure is not defined."""
    return "n/a" if x is None else f"${x / 1e6:,.2f}M/year"


class _Progress:
    """One line on stderr, rewritten as the futures are loaded, at each iteration and while the candidates are
    evaluated, with an estimate of the time left; only on a terminal (never in CI)."""

    #: least time between two rewrites of the line [s]
    EVERY_S = 0.2

    def __init__(self) -> None:
        from ..whatif.sweep import is_tty_progress

        self.on = is_tty_progress()
        self.last = 0.0
        self.width = 0

    def __call__(self, report) -> None:
        if not self.on:
            return
        now = time.perf_counter()
        if now - self.last < self.EVERY_S and 0 < report.done < report.total:
            return
        self.last = now
        text = report.line(1e-6)
        sys.stderr.write("\r" + text.ljust(self.width))
        self.width = len(text)
        sys.stderr.flush()

    def done(self) -> None:
        if self.on and self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()


@click.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--scenarios", "scenarios", type=click.Path(path_type=Path), required=True,
              help="Scenario file (TOML): explicit scenarios, [sample] Monte Carlo, or both (their product).")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Run folder to write (decision.csv, scenarios.csv, candidates.csv, summary.csv, manifest.json).")
@click.option("--samples", type=click.IntRange(min=1, max=MAX_SCENARIOS), default=None,
              help="Override [sample] count.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override [sample] seed.")
@click.option("--risk-alpha", "risk_alpha", type=FiniteFloat(), default=0.1, show_default=True,
              help="CVaR tail: the worst share of probability, in (0, 1].")
@click.option("--risk-weight", "risk_weight", type=FiniteFloat(), default=0.0, show_default=True,
              help="Weight of CVaR in the objective, in [0, 1] (0 = risk-neutral).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes holding the scenarios' second stages.")
@click.option("--dask-scheduler", "dask_scheduler", default=None, metavar="ADDRESS",
              help="Hold the futures on an existing Dask cluster (tcp://host:8786) instead of local processes.")
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Time limit of the cutting planes per site [s].")
@click.option("--report", "report", default=None, metavar="html,xlsx", help="Also write report.html and/or report.xlsx into the --out folder.")
@click.option("--force", is_flag=True, help="Replace an existing --out run folder (atomically).")
def decide(sites, scenarios, out, samples, seed, risk_alpha, risk_weight, workers, dask_scheduler, time_limit_s,
           report, force) -> None:
    """One split for many futures: the two-stage decision over a scenario file (risk-neutral or CVaR)."""
    from ..reports.decide import write_decision
    from ..reports.run_folder import check_target
    from ..whatif.decide import decide as decide_sites

    from ..reports.decide import parse_reports

    reports = parse_reports(report)
    workers = clamp_workers(workers)
    check_target(out, force)
    t0 = time.perf_counter()
    bar = _Progress()
    try:
        found, sset = decide_sites(list(sites), scenarios, samples=samples, seed=seed, risk_alpha=risk_alpha,
                                        risk_weight=risk_weight, workers=workers, time_limit_s=time_limit_s,
                                        dask_scheduler=dask_scheduler, progress=bar)
    finally:
        bar.done()
    t1 = time.perf_counter()
    from .app import echo_warnings

    echo_warnings(w for d in found for w in d.warnings)
    from ..operate.capture import capture_table, decided_captures

    captures = decided_captures(found)
    write_decision(found, sset, out, force, {"decide": t1 - t0}, reports,
                   extra={"mining_capture": capture_table(captures)})
    for d in found:
        sto = d.candidate("stochastic").row(d.site_id)
        click.echo(f"{d.site_id}: AI {sto['ai_it_mw']:.2f} IT MW, mining {sto['mining_it_mw']:.2f} IT MW over "
                   f"{len(d.scenarios.scenarios)} scenarios ({d.decision.method}, {d.decision.iterations} "
                   f"iterations, gap {d.decision.gap_frac:.1e})")
        click.echo(f"  expected net {_usd(sto['expected_net_usd_per_year'])}, CVaR({d.alpha:g}) "
                   f"{_usd(sto['cvar_net_usd_per_year'])}, worst {_usd(sto['worst_net_usd_per_year'])}")
        click.echo(f"  VSS {_usd(d.vss_usd_per_year)}, EVPI {_usd(d.evpi_usd_per_year)}")
        click.echo("".join(f"  {c.line()}" for c in captures if c.site_id == d.site_id))
    extra = "".join(f", report.{k}" for k in reports)
    click.echo(f"wrote {out}/ (decision.csv, scenarios.csv, candidates.csv, summary.csv, mining_capture.csv{extra}, "
               "manifest.json)")


def register(group: click.Group) -> None:
    """Add ``decide`` to the CLI group."""
    group.add_command(decide)


__all__ = ["decide", "register"]
