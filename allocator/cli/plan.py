"""``allocator plan`` and the ``--portfolio`` door of ``allocator solve`` (thin: parse, call, print)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import FiniteFloat

@click.command()
@click.argument("sites", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--portfolio", "portfolio", type=click.Path(path_type=Path), default=None,
              help="portfolio.toml: shared capex budget per year, tenants placeable across sites, minimum hashrate.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Run folder to write (plan.csv, cashflows.csv, plan_summary.csv, bau_plan.csv, manifest.json).")
@click.option("--force", is_flag=True, help="Replace an existing --out folder (atomically).")
@click.option("--bins-per-month", "bins", type=click.IntRange(min=0, max=744), default=None,
              help="Representative price levels per month (default plan.price_bins_per_month; 0 = every hour).")
@click.option("--time-limit", "time_limit_s", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Solver time limit per LP [s].")
def plan(sites: tuple[Path, ...], portfolio: Path | None, out: Path | None, force: bool, bins: int | None,
         time_limit_s: float | None) -> None:
    """Solve the multi-year conversion plan of each site, and business as usual (all mining)."""
    from ..plan.site_plan import solve_plan
    from ..reports.plan import write_plan
    from ..out_check import check_target, command_inputs

    files = command_inputs([*sites, portfolio])
    if out is not None:
        check_target(out, force, files)
    result = solve_plan(list(sites), portfolio=portfolio, bins_per_month=bins, time_limit_s=time_limit_s,
                        progress=lambda line: click.echo(f"plan: {line}", err=True))
    from .app import echo_warnings

    echo_warnings(result.warnings)
    click.echo(plan_summary_text(result))
    if out is not None:
        write_plan(result, out, force, files)
        names = "plan.csv, cashflows.csv, plan_summary.csv, bau_plan.csv"
        if result.placements is not None:
            names += ", tenants.csv, coupling_prices.csv"
        click.echo(f"\nwrote {out}/ ({names}, manifest.json)")
    else:
        click.echo("\n(nothing written: add --out DIR for the CSV reports)")


def plan_summary_text(result) -> str:
    """NPV of the plan and business as usual, the conversion's IRR and payback (pre-tax, then after tax with the
    terminal value), AI MW by year."""
    import math

    def money(x):
        return f"{x / 1e6:,.1f}M"

    lines = [f"{'scope':<18}{'plan NPV':>14}{'all-mining NPV':>16}{'conversion NPV':>16}{'IRR':>8}{'payback':>9}",
             "-" * 81]
    # summary rows: one per site in the plan's order, then "total" when there are several
    built = result.plan.groupby("site_id", sort=False)["ai_converted_mw"].sum().tolist()
    for i, r in enumerate(result.summary.itertuples()):
        irr = "-" if math.isnan(r.conversion_irr_frac) else f"{r.conversion_irr_frac:.1%}"
        converts = (built[i] if i < len(built) else sum(built)) > 0.0
        # payback in whole years, flows at the start of each year as in the NPV (plan.payback_years)
        pb = "-" if not converts else "never" if math.isnan(r.payback_years) else f"{r.payback_years:.0f} y"
        lines.append(f"{r.scope:<18}{money(r.npv_usd):>14}{money(r.bau_npv_usd):>16}"
                     f"{money(r.conversion_npv_usd):>16}{irr:>8}{pb:>9}")
    lines.append("NPV, IRR and payback (whole years) count each year's cash flow at the start of that year.")
    lines += ["", f"{'after tax':<18}{'plan NPV':>14}{'all-mining NPV':>16}{'conversion NPV':>16}{'IRR':>8}"
              f"{'terminal value':>16}", "-" * 88]
    for r in result.summary.itertuples():
        irr = "-" if math.isnan(r.conversion_after_tax_irr_frac) else f"{r.conversion_after_tax_irr_frac:.1%}"
        lines.append(f"{r.scope:<18}{money(r.after_tax_npv_usd):>14}{money(r.bau_after_tax_npv_usd):>16}"
                     f"{money(r.conversion_after_tax_npv_usd):>16}{irr:>8}{money(r.terminal_value_usd):>16}")
    plan = result.plan
    lines.append("")
    lines.append("AI IT MW online / mining IT MW by year:")
    for site_id, rows in plan.groupby("site_id", sort=False):
        cells = " ".join(f"{int(y) % 100:02d}:{a:.0f}/{m:.0f}" for y, a, m in
                         zip(rows["year"], rows["ai_it_mw"], rows["mining_it_mw"]))
        lines.append(f"  {site_id}: {cells}")
    if result.shadow_prices is not None:
        budget = result.shadow_prices[result.shadow_prices["constraint"] == "capex_budget"]
        binding = budget[budget["shadow_price"] > 0]
        for r in binding.itertuples():
            lines.append(f"capex budget {r.year}: one more $1M of capex is worth ${r.usd_per_1m_usd_capex:,.0f} of NPV")
        if result.placements is not None and len(result.placements):
            placed = result.placements.groupby(["tenant", "site_id"], sort=False)["it_mw"].max()
            for (tenant, site_id), mw in placed.items():
                lines.append(f"tenant {tenant}: up to {mw:.1f} IT MW at {site_id}")
    sec = result.seconds
    lines.append(f"\nperiods: {result.method}\nwall time {sum(sec.values()):.1f} s (load {sec['load']:.1f} s, "
                 f"build {sec['build']:.1f} s, solve {sec['solve']:.1f} s for plan and business as usual)")
    return "\n".join(lines)


def solve_portfolio_cli(sites: list, portfolio: Path, out: Path | None, force: bool, solver: str,
                        time_limit_s: float | None, step=None, method: str = "auto", files=(),
                        scenario: Path | None = None) -> None:
    """``allocator solve ... --portfolio``: the sites with shared rows; tenants.csv and coupling_prices.csv.

    ``files`` are the command's input files (or a callable finding them), which ``--force`` must not delete;
    ``scenario`` the ``--scenario`` file, hashed into the manifest."""
    from ..csv_files import write_csv
    from ..out_check import check_target
    from ..plan.portfolio import solve_portfolio
    from ..reports.run_folder import write_result
    from ..reports.text import summary

    if out is not None:
        check_target(out, force, files)
    # a portfolio's shared rows are outside the cutting planes: auto is HiGHS here
    result = solve_portfolio(sites, portfolio, solver="highs" if solver == "auto" else solver,
                             time_limit_s=time_limit_s, method=method)
    if scenario is not None:
        result.input_files.append(scenario)
    from .app import echo_warnings

    echo_warnings(result.warnings)
    click.echo(summary(result))
    click.echo(f"portfolio solved by {result.manifest_extra['portfolio_method']}")
    for r in result.placements.itertuples():
        click.echo(f"tenant {r.tenant}: {r.it_mw:.1f} IT MW at {r.site_id}")
    for r in result.shadow_prices.itertuples():
        if r.constraint == "capex_budget":
            click.echo(f"capex budget: one more $1M of capex is worth ${r.usd_per_1m_usd_capex:,.0f} of net USD "
                       "over the price horizon")
    if out is not None:
        from .app import files_in

        written_to = write_result(result, out, force, finish=step, extra={
            "tenants.csv": lambda p: write_csv(result.placements, p),
            "coupling_prices.csv": lambda p: write_csv(result.shadow_prices, p)}, inputs=files)
        click.echo(f"\nwrote {out}/ ({files_in(written_to)}{step.note if step else ''})")
