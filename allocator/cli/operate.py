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


def write_run(out: Path, force: bool, tables: dict, text: str, manifest: dict) -> Path:
    """Write ``tables`` (name -> DataFrame), ``summary.txt`` and ``manifest.json`` (last) as one run folder."""
    from ..csv_files import write_csv
    from ..reports.run_folder import RunFolder

    with RunFolder(out, force) as folder:
        for name, frame in tables.items():
            folder.write_with(name, lambda p, f=frame: write_csv(f, p))
        folder.write_text("summary.txt", text + "\n")
        manifest["files"] = folder.file_list()
        folder.write_json("manifest.json", manifest)
        return folder.publish()


def manifest_for(command: str, sites: list, extra: dict) -> dict:
    """The run folder's manifest: tool, versions, the inputs' sha256 and the command's settings."""
    from ..lp.solve import tool_version

    inputs: dict[str, str] = {}
    for site in sites:
        inputs.update(site.file_sha256())
    return {"tool": "allocator", "tool_version": tool_version(), "command": command,
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
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Run folder to write (schedule.csv, offers.csv, summary.txt, manifest.json).")
@click.option("--force", is_flag=True, help="Replace an existing --out run folder (atomically).")
@click.option("--solver", type=click.Choice(["highs", "cbc"]), default="highs", show_default=True)
def operate(site_file: Path, day_text: str, days: int, split_folder: Path | None, price_column: str | None,
            out: Path, force: bool, solver: str) -> None:
    """The plan of an operating day: running MW per fleet and the stand-down prices."""
    from ..operate.day import offers_table, plan_days, schedule_table, summary_text
    from ..reports.run_folder import check_target

    first = _day(day_text, "--day")
    check_target(out, force)
    plans = plan_days(site_file, first, days, split_folder, price_column, solver)
    sites = [p.site for p in plans]
    echo_warnings(sorted({str(w) for s in sites for w in s.warnings}))
    text = summary_text(plans)
    click.echo(text)
    split = plans[0].split
    manifest = manifest_for("operate", sites, {
        "site_file": str(site_file), "first_day": first.isoformat(), "days": days, "solver": solver,
        "prices_column": price_column or sites[0].config.prices.column, "split_source": split.source,
        "lease_it_mw": split.lease_mw.tolist(), "fleet_it_mw": split.fleet_mw.tolist()})
    written = write_run(out, force, {"schedule.csv": schedule_table(plans), "offers.csv": offers_table(plans)},
                        text, manifest)
    click.echo(f"\nwrote {out}/ ({files_in(written)})")
