"""The report's charts, drawn with matplotlib (Agg) from run-folder tables.

Each function takes tidy tables (as read by :mod:`run_files`) and returns a
finished ``Figure``; :func:`png` turns it into PNG bytes for embedding.
matplotlib is imported here only, so ``allocator solve`` without
``--report`` never loads it.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from .labels import column_label, value_unit

AI_COLOR = "#1f5fbf"
MINING_COLOR = "#e08a1e"
UNUSED_COLOR = "#d5d8dc"
GAIN_COLOR = "#2e8b57"
LOSS_COLOR = "#c0392b"
NET_COLOR = "#34495e"
REVENUE_ITEMS = ("ai_lease_revenue", "mining_revenue")
COST_ITEMS = ("ai_capex_recovery", "ai_opex", "ai_power_cost", "mining_power_cost", "mining_fixed_cost",
              "ai_fixed_cost")  # the last: run folders written before it was split into capex recovery and opex
SPLIT_COLUMNS = frozenset({"site_id", "interconnect_mw", "facility_mw", "ai_it_mw", "ai_grid_mw", "mining_it_mw",
                           "mining_grid_mw", "ai_share_frac", "mining_share_frac", "mining_energy_mwh",
                           "mining_uptime_frac", "hours", "net_usd", "scenario_id", "status", "error"})


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def png(fig, dpi: int = 96) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    plt = _plt()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def split_bars(split: pd.DataFrame, names: dict[str, str] | None = None):
    """Stacked horizontal bars of IT MW per site: AI IT MW, then mining IT MW (the tables' unit)."""
    plt = _plt()
    names = names or {}
    sites = split["site_id"].tolist()
    ai = split["ai_it_mw"].to_numpy(float)
    mining = split["mining_it_mw"].to_numpy(float)
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.55 * len(sites)))
    y = np.arange(len(sites))[::-1]
    ax.barh(y, ai, color=AI_COLOR, label="AI hosting (IT MW)")
    ax.barh(y, mining, left=ai, color=MINING_COLOR, label="mining (IT MW)")
    for yi, a, m in zip(y, ai, mining, strict=True):
        if a > 0:
            ax.text(a / 2, yi, f"{a:,.0f}", ha="center", va="center", color=label_color(AI_COLOR), fontsize=9)
        if m > 0:
            ax.text(a + m / 2, yi, f"{m:,.0f}", ha="center", va="center", color=label_color(MINING_COLOR),
                    fontsize=9)
    ax.set_yticks(y, [names.get(s, s) for s in sites])
    ax.set_xlabel("IT MW (grid MW = IT MW x PUE)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def relative_luminance(color) -> float:
    """WCAG 2.x relative luminance of a colour (a matplotlib colour or an RGB(A) tuple in 0..1) [0..1]."""
    from matplotlib.colors import to_rgb

    channels = np.asarray(to_rgb(color), dtype=float)
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_color(background) -> str:
    """``"white"`` or ``"black"``, whichever contrasts more with ``background`` (always >= 4.58:1)."""
    return "white" if contrast_ratio("white", background) >= contrast_ratio("black", background) else "black"


def waterfall(financials: pd.DataFrame, title: str):
    """Revenue items up, cost items down, ending at net [USD] for one site."""
    plt = _plt()
    usd = dict(zip(financials["item"], financials["usd"].astype(float), strict=True))
    known = [i for i in REVENUE_ITEMS + COST_ITEMS if i in usd]
    items = known + [i for i in usd if i not in known and i != "net"]  # renamed or new items still show
    fig, ax = plt.subplots(figsize=(9, 3.6))
    level = 0.0
    for k, item in enumerate(items):
        value = usd[item]
        ax.bar(k, value, bottom=level, color=GAIN_COLOR if value >= 0 else LOSS_COLOR, width=0.6)
        ax.text(k, level + value, _short_usd(value), ha="center", va="bottom" if value >= 0 else "top", fontsize=8)
        level += value
    net = usd.get("net", level)
    ax.bar(len(items), net, color=NET_COLOR, width=0.6)
    ax.text(len(items), net, _short_usd(net), ha="center", va="bottom" if net >= 0 else "top", fontsize=8,
            fontweight="bold")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(items) + 1), [i.replace("_", "\n", 1) for i in items] + ["net"], fontsize=8)
    ax.set_ylabel("USD over the horizon")
    ax.yaxis.set_major_formatter(_usd_formatter())
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def price_duration(dispatch: pd.DataFrame, fleets: pd.DataFrame, title: str):
    """Hourly prices sorted high to low, with each fleet's breakeven price drawn across."""
    plt = _plt()
    price = np.sort(dispatch["price_usd_per_mwh"].to_numpy(float))[::-1]
    share = (np.arange(price.size) + 0.5) / max(1, price.size) * 100.0
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(share, price, color="#555555", lw=1.4, label="delivered power price")
    breakevens = fleets["breakeven_price_usd_per_mwh"].to_numpy(float) if len(fleets) else np.array([])
    palette = plt.get_cmap("tab10")
    for k, row in enumerate(fleets.itertuples(index=False)):
        kept = f"{row.it_mw:,.1f} of {row.installed_mw:,.1f} MW kept"
        hours_above = float((price > row.breakeven_price_usd_per_mwh).mean()) * 100.0 if price.size else 0.0
        ax.axhline(row.breakeven_price_usd_per_mwh, color=palette(k % 10), ls="--", lw=1.2,
                   label=f"{row.model} breakeven ${row.breakeven_price_usd_per_mwh:,.1f}/MWh ({kept}; "
                         f"above it {hours_above:.1f}% of hours)")
    top = max(np.percentile(price, 99.0) if price.size else 1.0, breakevens.max() if breakevens.size else 0.0)
    low = min(0.0, float(price.min())) if price.size else 0.0
    ax.set_ylim(low, top * 1.25 + 1.0)
    if price.size and price.max() > top * 1.25 + 1.0:
        ax.text(0.99, 0.97, f"peak ${price.max():,.0f}/MWh off scale", transform=ax.transAxes, ha="right",
                va="top", fontsize=8)
    ax.set_xlabel("share of hours at or above this price [%]")
    ax.set_ylabel("USD/MWh")
    ax.set_xlim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False, ncol=1)  # below the axes
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def mining_heatmap(dispatch: pd.DataFrame, timezone: str, title: str):
    """Running mining IT MW by hour of day (rows) and day (columns), in site time."""
    plt = _plt()
    local = dispatch["interval_start_utc"].dt.tz_convert(timezone)
    frame = pd.DataFrame({"day": local.dt.strftime("%Y-%m-%d").to_numpy(), "hour": local.dt.hour.to_numpy(),
                          "mw": dispatch["mining_it_mw"].to_numpy(float)})
    grid = frame.pivot_table(index="hour", columns="day", values="mw", aggfunc="mean").reindex(range(24))
    fig, ax = plt.subplots(figsize=(9, 3.4))
    image = ax.imshow(grid.to_numpy(float), aspect="auto", origin="lower", cmap="viridis", interpolation="nearest")
    days = list(grid.columns)
    ticks = [i for i, d in enumerate(days) if d.endswith("-01")] or [0]
    ax.set_xticks(ticks, [days[i][:7] for i in ticks], fontsize=7, rotation=0)
    ax.set_yticks([0, 6, 12, 18, 23])
    ax.set_ylabel(f"hour of day ({timezone})")
    ax.set_xlabel(f"day ({timezone})")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="mining IT MW running", pad=0.01)
    return fig


def tornado_bars(sensitivity: pd.DataFrame, base_net_usd: float | None = None) -> tuple[float, list[tuple]]:
    """The base net USD and, widest swing first, ``(parameter, low_value, low_net_usd, high_value, high_net_usd)``.

    Only optimal rows count. The base is the net USD of the ``level == "base"``
    rows when there are any (the sweep's own base), else ``base_net_usd``
    (the run's split.csv), else the median. Low and high are the rows with the
    smallest and largest ``value`` of each parameter (in file order when the
    values are not numbers).
    """
    rows = sensitivity
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str) == "optimal"]
    net = rows["net_usd"].astype(float)
    is_base = rows["level"].astype(str) == "base"
    if is_base.any():
        base_net_usd = float(net[is_base].median())
    elif base_net_usd is None:
        base_net_usd = float(net.median())
    bars = []
    for parameter, group in rows[~is_base].groupby("parameter", sort=False):
        numeric = pd.to_numeric(group["value"], errors="coerce")
        order = numeric.argsort(kind="stable").to_numpy() if numeric.notna().all() else np.arange(len(group))
        lo, hi = group.iloc[order[0]], group.iloc[order[-1]]
        bars.append((str(parameter), lo["value"], float(lo["net_usd"]), hi["value"], float(hi["net_usd"])))
    bars.sort(key=lambda b: -(max(b[2], b[4], base_net_usd) - min(b[2], b[4], base_net_usd)))
    return base_net_usd, bars


def tornado(sensitivity: pd.DataFrame, base_net_usd: float | None, title: str,
            breakevens: pd.DataFrame | None = None):
    """Net USD at the lowest and highest value of each parameter, around the base, widest on top.

    Each bar's ends are labelled with the parameter's value and unit; with ``breakevens`` (rows of
    ``breakeven.csv``) each parameter's breakeven values are written at the right of its bar."""
    plt = _plt()
    base, bars = tornado_bars(sensitivity, base_net_usd)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.5 * max(1, len(bars))))
    for k, (parameter, lo_value, lo_net, hi_value, hi_net) in enumerate(reversed(bars)):
        unit = value_unit(parameter)
        ends = [(lo_value, lo_net, "#7fb3d5", "low value"), (hi_value, hi_net, "#1a5276", "high value")]
        ends.sort(key=lambda e: -abs(e[1] - base))  # the longer bar first, so both show
        for value, net, color, name in ends:
            ax.barh(k, net - base, left=base, color=color, height=0.6, label=name if k == 0 else None)
            ax.text(net, k, f" {with_unit(value, unit)} ", va="center", fontsize=7,
                    ha="left" if net >= base else "right")
        if breakevens is not None:
            found = breakevens[breakevens["parameter"].astype(str) == parameter]["breakeven_value"].astype(float)
            text = ("breakeven " + ", ".join(with_unit(float(f"{v:.4g}"), unit) for v in found)
                    if len(found) else "no breakeven in range")
            ax.text(1.01, k, text, transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    ax.axvline(base, color="black", lw=0.8)
    ax.set_yticks(range(len(bars)), [b[0] for b in reversed(bars)], fontsize=8)
    ax.xaxis.set_major_formatter(_usd_formatter())
    ax.set_xlabel(f"net USD over the horizon (base {_short_usd(base)} at the line)")
    ax.set_title(title, fontsize=10, pad=18)
    ax.margins(x=0.15)
    ax.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def varied_columns(sweep: pd.DataFrame) -> list[str]:
    """The dotted-path columns a sweep varied (every column that is not a split.csv or bookkeeping column)."""
    return [c for c in sweep.columns if c not in SPLIT_COLUMNS and sweep[c].nunique(dropna=True) > 1]


def sweep_heatmap(sweep: pd.DataFrame, x: str, y: str, title: str):
    """Optimal AI IT MW over two varied parameters (mean over any others; binned if sampled)."""
    plt = _plt()
    rows = sweep
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str) == "optimal"]
    frame = pd.DataFrame({"x": _axis(rows[x]), "y": _axis(rows[y]), "ai": rows["ai_it_mw"].astype(float)})
    grid = frame.pivot_table(index="y", columns="x", values="ai", aggfunc="mean", observed=False)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    image = ax.imshow(grid.to_numpy(float), aspect="auto", origin="lower", cmap="Blues", interpolation="nearest")
    values = grid.to_numpy(float)
    if values.size <= 400:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):  # the label's colour from the cell's own colour, for contrast
                ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=7,
                        color=label_color(image.cmap(image.norm(v))))
    ax.set_xticks(range(len(grid.columns)), [_tick(v) for v in grid.columns], fontsize=7, rotation=45)
    ax.set_yticks(range(len(grid.index)), [_tick(v) for v in grid.index], fontsize=7)
    ax.set_xlabel(column_label(x))
    ax.set_ylabel(column_label(y))
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="optimal AI IT MW", pad=0.01)
    return fig


def sweep_line(sweep: pd.DataFrame, x: str, title: str):
    """Optimal AI and mining IT MW against one varied parameter."""
    plt = _plt()
    rows = sweep
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str) == "optimal"]
    mean = rows.groupby(rows[x].astype(float))[["ai_it_mw", "mining_it_mw"]].mean().sort_index()
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.plot(mean.index, mean["ai_it_mw"], marker="o", color=AI_COLOR, label="AI IT MW")
    ax.plot(mean.index, mean["mining_it_mw"], marker="s", color=MINING_COLOR, label="mining IT MW")
    ax.set_xlabel(column_label(x))
    ax.set_ylabel("IT MW")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: covers no line
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plan_lines(plan: pd.DataFrame, names: dict[str, str] | None = None, max_sites: int = 12):
    """AI vs mining IT MW by year (side-by-side bars), one panel per site."""
    plt = _plt()
    names = names or {}
    sites = list(dict.fromkeys(plan["site_id"]))[:max_sites]
    cols = min(3, len(sites))
    rows_n = -(-len(sites) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(9, 2.8 * rows_n), squeeze=False, sharey=True)
    for ax in axes.flat[len(sites):]:
        ax.set_visible(False)
    for ax, site in zip(axes.flat, sites, strict=False):
        rows = plan[plan["site_id"] == site].sort_values("year")
        years = rows["year"].to_numpy()
        ax.bar(years - 0.2, rows["ai_it_mw"].astype(float), width=0.4, color=AI_COLOR, label="AI IT MW")
        ax.bar(years + 0.2, rows["mining_it_mw"].astype(float), width=0.4, color=MINING_COLOR,
               label="mining IT MW")
        ax.set_xticks(years, [str(y) for y in years], fontsize=7, rotation=45 if len(years) > 8 else 0)
        ax.set_title(names.get(site, site), fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("IT MW")
    for ax in axes[-1, :]:
        ax.set_xlabel("year")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    return fig


def _axis(values: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and numeric.nunique() > 25:  # sampled, not a grid: bin it
        return pd.cut(numeric, 10).map(lambda iv: iv.mid).astype(float)
    return numeric if numeric.notna().all() else values.astype(str)


def with_unit(value: object, unit: str) -> str:
    """``"92.65 USD/kW-month"``; a fraction with unit ``%`` as a percentage (``0.03`` -> ``"3%"``)."""
    if unit == "%" and isinstance(value, float | int | np.floating | np.integer):
        return f"{float(value) * 100:.4g}%"
    return f"{_tick(value)}{' ' + unit if unit else ''}"


def _tick(value: object) -> str:
    if isinstance(value, float | int | np.floating | np.integer):
        return f"{value:,.0f}" if 1e4 <= abs(value) < 1e12 else f"{value:g}"
    return str(value)


def _short_usd(value: float) -> str:
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:,.2f}B"
    if size >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if size >= 1e3:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"


def _usd_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: "$" + _short_usd(v))
