"""The findings of a decide run in the words a CFO reads: VSS, EVPI and the tail (the page, the workbook and the
summary block of :mod:`allocator.reports.headline` share them)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _m(x) -> str:
    """USD per year in millions, or n/a."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    return f"${float(x) / 1e6:,.2f}M"


def sentences(site_id: str, summary: pd.DataFrame, candidates: pd.DataFrame) -> list[str]:
    """VSS, EVPI and the tail in words a CFO reads."""
    s = pd.to_numeric(summary[summary.site_id == site_id].set_index("metric")["value"], errors="coerce")  # '' = NaN
    c = candidates[candidates.site_id == site_id].set_index("candidate")
    alpha = float(s["risk_alpha_frac"])
    weight = float(s["risk_weight_frac"])
    vss, evpi = s.get("vss_usd_per_year"), s.get("evpi_usd_per_year")
    sto = c.loc["stochastic"]
    out = [f"The split nets {_m(sto['expected_net_usd_per_year'])} a year in expectation over "
           f"{int(float(s['scenarios']))} futures; in the worst {alpha:.0%} of them it nets "
           f"{_m(sto['cvar_net_usd_per_year'])} a year on average (CVaR), and {_m(sto['worst_net_usd_per_year'])} "
           "in the worst one."]
    if vss is None or pd.isna(vss):
        out.append("The split decided for the site file's own prices alone cannot be run in every future (its AI "
                   "lease is not firm in some future's hours, or a fleet misses its uptime SLA), so only a split "
                   "decided for the range of futures is safe (VSS not defined).")
    elif abs(float(vss)) < 0.5:
        out.append("Deciding for the range of futures gives the same split as deciding for the site file's own "
                   "prices alone: here the range adds nothing (VSS $0 a year).")
    else:
        what = "in expectation" if weight == 0 else "in the risk-weighted objective"
        out.append(f"Deciding for the range of futures instead of for the site file's own prices alone is worth "
                   f"{_m(vss)} a year {what} (VSS).")
    if evpi is None or pd.isna(evpi):
        out.append("EVPI is reported for risk-neutral decisions only (--risk-weight 0).")
    else:
        out.append(f"Knowing in advance which future comes would be worth at most {_m(evpi)} a year (EVPI): "
                   "the most that better forecasts could ever be worth to this decision.")
    return out
