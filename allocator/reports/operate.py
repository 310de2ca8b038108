"""``report.html`` of ``allocator operate``: the operating day's chart and its summary.

One self-contained page (chart as a ``data:`` PNG, inline style, all text escaped), drawn
from the run's own tables: ``schedule.csv`` (day-ahead price, planned IT MW and stand-down
price per fleet) and, with ``--peak-load``, ``peak_risk.csv`` (the 4CP risk hours, shaded).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import charts
from .html import STYLE, _e, _table


def day_chart(schedule: pd.DataFrame, peak_risk: pd.DataFrame | None, timezone: str, title: str):
    """Price and stand-down prices (top, USD/MWh) and planned IT MW per fleet (bottom), in site time.

    Risk hours of ``peak_risk`` (``peak_risk_hour`` true) are shaded on both axes.
    """
    plt = charts._plt()
    start = pd.to_datetime(schedule["interval_start_utc"], utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
    frame = schedule.assign(local=start)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.6), sharex=True, height_ratios=[3, 2])
    first = frame[frame["fleet"] == frame["fleet"].iloc[0]]
    step = (first["local"].diff().median() if len(first) > 1 else pd.Timedelta(hours=1))
    top.step(first["local"], first["day_ahead_price_usd_per_mwh"], where="post", color="black", lw=1.4,
             label="day-ahead price")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    bottom_mw = None
    for k, (fleet, rows) in enumerate(frame.groupby("fleet", sort=False)):
        color = colors[k % len(colors)]
        top.step(rows["local"], rows["stand_down_price_usd_per_mwh"], where="post", color=color, ls="--", lw=1.1,
                 label=f"stand down above: {fleet}")
        mw = rows["planned_it_mw"].to_numpy(float)
        base = 0.0 if bottom_mw is None else bottom_mw
        bottom.bar(rows["local"], mw, width=step / pd.Timedelta(days=1), align="edge", bottom=base, color=color,
                   label=fleet)
        bottom_mw = base + mw
    if peak_risk is not None and len(peak_risk):
        risk = pd.to_datetime(peak_risk.loc[peak_risk["peak_risk_hour"].astype(bool), "interval_start_utc"],
                              utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
        for k, t in enumerate(risk):
            for ax in (top, bottom):
                ax.axvspan(t, t + pd.Timedelta(hours=1), color="#f4b183", alpha=0.45, lw=0,
                           label="4CP risk hour" if (k == 0 and ax is top) else None)
    top.set_ylabel("USD/MWh")
    top.set_title(title, fontsize=10)
    top.legend(fontsize=7, loc="upper left")
    bottom.set_ylabel("planned IT MW")
    bottom.set_xlabel(f"site time ({timezone})")
    bottom.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    return fig


def render(schedule: pd.DataFrame, peak_risk: pd.DataFrame | None, timezone: str, summary: str,
           manifest: dict, name: str) -> str:
    """The whole page as a string."""
    data = base64.b64encode(charts.png(day_chart(schedule, peak_risk, timezone, name))).decode("ascii")
    meta = [f"site {_e(name)}", f"tool version {_e(manifest.get('tool_version', ''))}",
            f"report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    caption = ("Day-ahead price and each fleet's stand-down price (stop when the real-time price is above it); "
               "planned running IT MW per fleet" + ("; 4CP risk hours shaded" if peak_risk is not None else ""))
    fleets = (schedule.groupby("fleet", sort=False)
              .agg(installed_it_mw=("installed_it_mw", "first"), planned_it_mwh=("planned_it_mw", "sum"),
                   min_stand_down_usd_per_mwh=("stand_down_price_usd_per_mwh", "min"),
                   max_stand_down_usd_per_mwh=("stand_down_price_usd_per_mwh", "max")).reset_index())
    return "\n".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">",
        f"<title>allocator operate: {_e(name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        f"<h1>Operating plan</h1>\n<p class=\"meta\">{' &middot; '.join(meta)}</p>",
        f"<pre>{_e(summary)}</pre>",
        f"<figure><img alt=\"{_e(caption)}\" src=\"data:image/png;base64,{data}\">"
        f"<figcaption>{_e(caption)}</figcaption></figure>",
        "<h2>Fleets</h2>", _table(fleets, None),
        "</body>\n</html>\n"])


def write_operate_html(path: Path, schedule: pd.DataFrame, peak_risk: pd.DataFrame | None, timezone: str,
                       summary: str, manifest: dict, name: str) -> None:
    """Write the page to ``path``."""
    Path(path).write_text(render(schedule, peak_risk, timezone, summary, manifest, name), encoding="utf-8")


# ------------------------------------------------------------------ backtest


def capture_chart(capture: pd.DataFrame, title: str):
    """Each policy's net as a share of ``perfect`` and its share of the curtailment value (capture.csv), as bars."""
    plt = charts._plt()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    policies = capture["policy"].astype(str).tolist()
    x = range(len(policies))
    width = 0.38
    net = capture["capture_frac"].astype(float).to_numpy() * 100
    curt = capture["curtailment_capture_frac"].astype(float).to_numpy() * 100
    bars = ax.bar([i - width / 2 for i in x], net, width, label="net, % of perfect")
    bars2 = ax.bar([i + width / 2 for i in x], curt, width, label="curtailment value kept, %")
    for group in (bars, bars2):
        for bar in group:
            h = bar.get_height()
            if h == h:  # NaN: no curtailment value to keep
                ax.annotate(f"{h:.1f}%", (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x), policies)
    ax.set_ylabel("% of perfect hindsight")
    ax.set_ylim(0, 110)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def render_backtest(table: pd.DataFrame, capture: pd.DataFrame, summary: str, manifest: dict, name: str) -> str:
    """The backtest's page: the capture chart, the summary and both tables."""
    data = base64.b64encode(charts.png(capture_chart(capture, name))).decode("ascii")
    meta = [f"site {_e(name)}", f"tool version {_e(manifest.get('tool_version', ''))}",
            f"report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    caption = ("Each policy's mining net as a share of perfect hindsight at the same resolution, and the share of "
               "the value perfect hindsight gains by curtailing (over running every interval) that it kept")
    return "\n".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">",
        f"<title>allocator backtest: {_e(name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        f"<h1>Backtest</h1>\n<p class=\"meta\">{' &middot; '.join(meta)}</p>",
        f"<pre>{_e(summary)}</pre>",
        f"<figure><img alt=\"{_e(caption)}\" src=\"data:image/png;base64,{data}\">"
        f"<figcaption>{_e(caption)}</figcaption></figure>",
        "<h2>capture.csv</h2>", _table(capture, None), "<h2>backtest.csv</h2>", _table(table, None),
        "</body>\n</html>\n"])


def write_backtest_html(path: Path, table: pd.DataFrame, capture: pd.DataFrame, summary: str, manifest: dict,
                        name: str) -> None:
    """Write the backtest's page to ``path``."""
    Path(path).write_text(render_backtest(table, capture, summary, manifest, name), encoding="utf-8")
