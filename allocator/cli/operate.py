"""``allocator operate | backtest``: running the installed split day by day, and replaying history."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from ..errors import InputError, Problem
from .app import cli, echo_warnings, files_in


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError([Problem(option, f"{text!r} is not a date.", "Write it as YYYY-MM-DD.")],
                         "the command line") from None


def write_run(out: Path, force: bool, tables: dict, text: str, manifest: dict, extra: dict | None = None) -> Path:
    """Write ``tables`` (name -> DataFrame), ``summary.txt``, ``extra`` (name -> writer(path)) and
    ``manifest.json`` (last, listing every other file) as one run folder.

    The files the manifest hashes are the run's inputs: ``--force`` refuses a target holding one."""
    from ..csv_files import write_csv
    from ..reports.run_folder import RunFolder, manifest_inputs

    with RunFolder(out, force, inputs=manifest_inputs(manifest)) as folder:
        for name, frame in tables.items():
            folder.write_with(name, lambda p, f=frame: write_csv(f, p))
        folder.write_text("summary.txt", text + "\n")
        for name, writer in (extra or {}).items():
            folder.write_with(name, writer)
        manifest["files"] = folder.file_list()
        folder.write_json("manifest.json", manifest)
        return folder.publish()


def day_solver(name: str) -> str:
    """The solver of operate's and backtest's LPs for ``--solver name``: auto is HiGHS."""
    return "highs" if name == "auto" else name


#: ``--solver`` of operate and backtest: their day plans are HiGHS (or CBC) LPs
DAY_SOLVER_OPTION = click.option(
    "--solver", type=click.Choice(["auto", "highs", "cbc"]), default="auto", show_default=True,
    callback=lambda ctx, param, value: day_solver(value),
    help="auto and highs: HiGHS (a day's plan holds the split fixed, which the cutting planes of "
         "`solve` do not cover); cbc: CBC through PuLP.")


def manifest_for(command: str, sites: list, extra: dict) -> dict:
    """The run folder's manifest: tool, versions, the inputs' sha256 and the command's settings."""
    import platform

    from ..lp.solve import dist_version, solver_version, tool_version

    inputs: dict[str, str] = {}
    for site in sites:
        inputs.update(site.file_sha256())
    return {"tool": "allocator", "tool_version": tool_version(), "command": command,
            "python": platform.python_version(), "pulp_version": dist_version("pulp"),
            "solver_version": solver_version(extra.get("solver", "highs")),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "inputs_sha256": inputs,
            "warnings": sorted({str(w) for site in sites for w in site.warnings}), "argv": sys.argv, **extra}


@cli.command()
@click.argument("site_file", type=click.Path(path_type=Path))
@click.option("--day", "day_text", required=True, metavar="YYYY-MM-DD", help="First operating day (site time).")
@click.option("--days", type=click.IntRange(min=1, max=366), default=1, show_default=True,
              help="Consecutive days, each planned on its own.")
@click.option("--split", "split_folder", type=click.Path(path_type=Path), default=None,
              help="A `solve --out` run folder whose split (fleets.csv, leases.csv) is installed; "
                   "default: the site file's fleets and signed leases (min_mw).")
@click.option("--prices-column", "price_column", default=None,
              help="Column of the site's price file holding the day-ahead prices; default prices.column.")
@click.option("--peak-load", "peak_load", type=click.Path(path_type=Path), default=None,
              help="Hourly system load CSV (time, MW; e.g. ERCOT native load): each day's 4CP risk hours are "
                   "forecast from the load before it and charged as the day's 4CP intervals.")
@click.option("--peak-load-column", default=None, help="Its load column; default the only numeric one.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Run folder to write (schedule.csv, offers.csv, summary.txt, manifest.json).")
@click.option("--report", "report", type=click.Choice(["html"]), default=None,
              help="Also write report.html (the day's chart) into the --out folder.")
@click.option("--force", is_flag=True, help="Replace an existing --out run folder (atomically).")
@DAY_SOLVER_OPTION
def operate(site_file: Path, day_text: str, days: int, split_folder: Path | None, price_column: str | None,
            peak_load: Path | None, peak_load_column: str | None, out: Path, report: str | None, force: bool,
            solver: str) -> None:
    """The plan of an operating day: running MW per fleet and the stand-down prices."""
    from ..operate.day import offers_table, peak_risk_table, plan_days, schedule_table, summary_text
    from ..reports.run_folder import check_target

    first = _day(day_text, "--day")
    check_target(out, force)
    plans = plan_days(site_file, first, days, split_folder, price_column, solver, peak_load, peak_load_column)
    sites = [p.site for p in plans]
    echo_warnings(sorted({str(w) for s in sites for w in s.warnings}))
    text = summary_text(plans)
    click.echo(text)
    split = plans[0].split
    manifest = manifest_for("operate", sites, {
        "site_file": str(site_file), "first_day": first.isoformat(), "days": days, "solver": solver,
        "prices_column": price_column or sites[0].config.prices.column, "split_source": split.source,
        "lease_it_mw": split.lease_mw.tolist(), "fleet_it_mw": split.fleet_mw.tolist(),
        "peak_load": str(peak_load) if peak_load else None, "peak_load_column": peak_load_column,
        "report": report})
    tables = {"schedule.csv": schedule_table(plans), "offers.csv": offers_table(plans)}
    if peak_load is not None:
        from ..file_hash import sha256_file

        manifest["inputs_sha256"][str(peak_load)] = sha256_file(Path(peak_load))[0]
        tables["peak_risk.csv"] = peak_risk_table(plans)
    extra = {}
    if report == "html":
        from ..reports.operate import write_operate_html

        extra["report.html"] = lambda p: write_operate_html(
            p, tables["schedule.csv"], tables.get("peak_risk.csv"), sites[0].timezone, text, manifest, sites[0].name)
    written = write_run(out, force, tables, text, manifest, extra)
    click.echo(f"\nwrote {out}/ ({files_in(written)}{', report.html' if extra else ''})")


@cli.command()
@click.argument("site_file", type=click.Path(path_type=Path))
@click.option("--from", "from_text", required=True, metavar="YYYY-MM-DD", help="First day replayed (site time).")
@click.option("--to", "to_text", required=True, metavar="YYYY-MM-DD", help="Day after the last one replayed.")
@click.option("--policy", "policy_text", default="perfect,threshold,day_ahead", show_default=True,
              help="Policies to replay, comma-separated (perfect is always replayed: the shares are of it).")
@click.option("--split", "split_folder", type=click.Path(path_type=Path), default=None,
              help="A `solve --out` run folder whose split is installed; default: the site file's.")
@click.option("--day-ahead-column", default=None,
              help="Column of the site's price file with day-ahead prices (operate plans on them); "
                   "default prices.column.")
@click.option("--real-time-file", type=click.Path(path_type=Path), default=None,
              help="Real-time prices at their native resolution (15-minute...); default the site's price file.")
@click.option("--real-time-column", default=None, help="Its price column; default the site's prices.column.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Run folder to write (backtest.csv, capture.csv, summary.txt, manifest.json).")
@click.option("--report", "report", type=click.Choice(["html"]), default=None,
              help="Also write report.html (the capture chart) into the --out folder.")
@click.option("--force", is_flag=True, help="Replace an existing --out run folder (atomically).")
@DAY_SOLVER_OPTION
def backtest(site_file: Path, from_text: str, to_text: str, policy_text: str, split_folder: Path | None,
             day_ahead_column: str | None, real_time_file: Path | None, real_time_column: str | None, out: Path,
             force: bool, solver: str, report: str | None = None) -> None:
    """Replay history with the installed split: what perfect hindsight, a stand-down threshold and
    the day-ahead plan earn from mining."""
    from ..operate.backtest import POLICIES, backtest_site
    from ..reports.run_folder import check_target

    first, end = _day(from_text, "--from"), _day(to_text, "--to")
    policies = tuple(p.strip() for p in policy_text.split(",") if p.strip())
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise InputError([Problem("--policy", f"unknown polic{'ies' if len(unknown) > 1 else 'y'} "
                                  f"{', '.join(map(repr, unknown)) or '(none given)'}.",
                                  f"Use any of {', '.join(POLICIES)}, comma-separated.")], "the command line")
    check_target(out, force)
    result = backtest_site(site_file, first, end, policies, split_folder, day_ahead_column, real_time_file,
                           real_time_column, solver)
    echo_warnings(sorted({str(w) for w in result.site.warnings}))
    table, capture = result.table(), result.capture()
    text = backtest_text(result.site.name, first, end, table, capture)
    click.echo(text)
    manifest = manifest_for("backtest", [result.site], {
        "site_file": str(site_file), "from": first.isoformat(), "to": to_text, "policies": list(policies),
        "solver": solver, "day_ahead_column": day_ahead_column or result.site.config.prices.column,
        "real_time_file": str(real_time_file) if real_time_file else None, "real_time_column": real_time_column,
        "split_source": str(split_folder) if split_folder else "site file"})
    if real_time_file is not None:
        from ..file_hash import sha256_file

        manifest["inputs_sha256"][str(real_time_file)] = sha256_file(Path(real_time_file))[0]
    manifest["report"] = report
    extra = {}
    if report == "html":
        from ..reports.operate import write_backtest_html

        extra["report.html"] = lambda p: write_backtest_html(p, table, capture, text, manifest, result.site.name)
    written = write_run(out, force, {"backtest.csv": table, "capture.csv": capture}, text, manifest, extra)
    click.echo(f"\nwrote {out}/ ({files_in(written)}{', report.html' if extra else ''})")


def backtest_text(name: str, first: date, end: date, table, capture) -> str:
    """The backtest's summary: one line per policy."""
    step = table["resolution_minutes"].iloc[0]
    lines = [f"{name}: {first} to {end} (exclusive), real-time prices at {step:g} minutes; mining only "
             "(lease and fixed costs are the same for every policy)"]
    charged = bool(table["coincident_peak_cost_usd"].astype(float).any())
    for row, cap in zip(table.itertuples(), capture.itertuples()):
        lines.append(f"  {row.policy:<10} net {row.mining_net_usd:>14,.0f} USD  ({cap.capture_frac:.1%} of perfect; "
                     f"{cap.curtailment_capture_frac:.1%} of its curtailment value)  "
                     f"uptime {row.mining_uptime_frac:.1%}  SLA {'met' if row.sla_met else 'MISSED'}"
                     + (f"  4CP {row.coincident_peak_cost_usd:,.0f} USD" if charged else ""))
    lines.append(f"  running every interval would net {capture['always_on_net_usd'].iloc[0]:,.0f} USD")
    return "\n".join(lines)
