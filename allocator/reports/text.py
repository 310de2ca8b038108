"""The terminal summary of a run: the mullet split as a readable table."""

from __future__ import annotations


def summary(result) -> str:
    """Per site: AI and mining IT MW with their facility shares, uptime, net USD and the why."""
    split = result.split
    header = (f"{'site':<18} {'AI IT MW':>9} {'share':>6} {'mining IT MW':>12} {'share':>6} "
              f"{'uptime':>7} {'net USD':>16}")
    lines = [header, "-" * len(header)]
    reasons = result.reasons
    for row in split.itertuples(index=False):
        lines.append(
            f"{row.site_id:<18} {row.ai_it_mw:>9.1f} {row.ai_share_frac:>6.0%} {row.mining_it_mw:>12.1f} "
            f"{row.mining_share_frac:>6.0%} {row.mining_uptime_frac:>7.0%} {row.net_usd:>16,.0f}"
        )
        lines.append(f"  {bar(row.ai_share_frac, row.mining_share_frac)}  {reasons[row.site_id]}")
        lines += headline_values(result, row.site_id)
    lines += after_tax_lines(result)
    return "\n".join(lines)


def after_tax_lines(result) -> list[str]:
    """The first year after tax of each site whose ``[plan]`` sets a tax (after_tax_year.py); none otherwise."""
    from .after_tax_year import after_tax_year_table, taxed

    if not taxed(result.assumptions):
        return []
    lines = ["", "first year after tax (USD per year; [plan] tax fields; capex as its annual recovery):"]
    for r in after_tax_year_table(result.split, result.financials, result.assumptions).itertuples(index=False):
        lines.append(f"  {r.site_id}: net {r.pre_tax_net_usd_per_year:,.0f} pre-tax, "
                     f"{r.after_tax_net_usd_per_year:,.0f} after tax (tax depreciation "
                     f"{0.0 - r.tax_depreciation_usd_per_year:,.0f}, property tax {0.0 - r.property_tax_usd_per_year:,.0f}, "
                     f"income tax {0.0 - r.income_tax_usd_per_year + 0.0:,.0f} at {r.income_tax_rate_frac:.1%})")
    return lines


def headline_values(result, site_id: str) -> list[str]:
    """One line of one-sided marginal values of the site's resources [USD per MW-year] (marginal.py):
    what one more MW gains / what one MW less loses."""
    values = result.marginal_values
    rows = values[(values["site_id"] == site_id)
                  & values["resource"].isin(["interconnect_mw", "facility_mw", "convertible_mw"])]
    if not len(rows):
        return []
    shown = [f"{r.resource.removesuffix('_mw')} {_usd(r.value_usd_per_mw_year)} / {_usd(r.loss_usd_per_mw_year)}"
             for r in rows.itertuples()]
    return ["  USD/MW-year, one more MW gains / one MW less loses: " + ", ".join(shown)]


def _usd(value: float) -> str:
    """``358,166``; ``n/a`` for a field that cannot move that way (NaN)."""
    return "n/a" if value != value else f"{value:,.0f}"


def bar(ai_share_frac: float, mining_share_frac: float, width: int = 30) -> str:
    """A text bar of facility MW: A for AI, M for mining, . for unused."""
    ai = round(ai_share_frac * width)
    mining = min(width - ai, round(mining_share_frac * width))
    return "[" + "A" * ai + "M" * mining + "." * (width - ai - mining) + "]"
