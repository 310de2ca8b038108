"""What each power-market extension changes on the bundled campus (sites/west_texas.toml).

Solves the campus as shipped, then once with each snippet below appended to
its site file, and prints the split, net USD and its change, the new items,
and the marginal values of the base case. The snippets' numbers are
illustrative (see docs/power.md); the peak probabilities are the three
highest-priced 15:00-19:00 hours of each summer month in the price file, a
stand-in for ERCOT's published 4CP intervals, which the data does not include.

    .venv/bin/python benchmarks/power_market.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from allocator import load_site  # noqa: E402
from allocator import solve

SNIPPETS = {
    "financial CfD": """
[[power.contract]]
name = "hedge"
mw = 100.0
price_usd_per_mwh = 30.0
settlement = "financial"
""",
    "physical block": """
[[power.contract]]
name = "ppa"
mw = 100.0
price_usd_per_mwh = 30.0
settlement = "physical"
""",
    "4CP": """
[coincident_peak]
charge_usd_per_mw_year = 55000.0
probability = { file = "peaks.csv" }
""",
    "ECRS offer": """
[[demand_response]]
name = "ecrs"
capacity_usd_per_mw_hour = 5.0
""",
    "ERS + deployment": """
[[demand_response]]
name = "ers"
capacity_usd_per_mw_year = 30000.0
deployment = [{ start = "2024-08-20T15:00", end = "2024-08-20T19:00" }]
""",
    "TOU adder": """
[[prices.tou_adder]]
adder_usd_per_mwh = 10.0
hours = [15, 16, 17, 18, 19]
months = [6, 7, 8, 9]
""",
}


def site_text(extra: str, folder: Path) -> Path:
    text = (REPO / "sites" / "west_texas.toml").read_text()
    text = text.replace('file = "data/', f'file = "{REPO}/sites/data/')
    if "[[prices.tou_adder]]" in extra:  # a sub-table of [prices]: place it before [mining]
        text = text.replace("[mining]\n", extra.strip() + "\n\n[mining]\n", 1)
    else:
        text += "\n" + extra
    path = folder / "west_texas.toml"
    path.write_text(text)
    return path


def peak_file(folder: Path) -> None:
    site = load_site(REPO / "sites" / "west_texas.toml")
    local = site.index.tz_convert(site.timezone)
    frame = pd.DataFrame({"t": site.index, "price": site.price_usd_per_mwh, "month": local.month,
                          "hour": local.hour})
    frame["probability_frac"] = 0.0
    summer = frame[frame.month.isin([6, 7, 8, 9]) & frame.hour.between(15, 18)]
    top = summer.groupby("month").price.nlargest(3).index.get_level_values(1)
    frame.loc[top, "probability_frac"] = 1 / 3
    out = frame[["t", "probability_frac"]].copy()
    out["t"] = out.t.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(folder / "peaks.csv", index=False)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        peak_file(folder)
        cases = {"base": ""} | SNIPPETS | {"all of them": "\n".join(SNIPPETS[k] for k in
                                                                     ("financial CfD", "4CP", "ECRS offer",
                                                                      "ERS + deployment"))
                                           + SNIPPETS["TOU adder"]}
        base = None
        for name, extra in cases.items():
            case = folder / name.replace(" ", "_").replace("+", "")
            case.mkdir()
            (case / "peaks.csv").write_bytes((folder / "peaks.csv").read_bytes())
            t0 = time.perf_counter()
            r = solve([load_site(site_text(extra, case))])
            seconds = time.perf_counter() - t0
            s = r.split.iloc[0]
            fin = r.financials.set_index("item").usd
            base = base if base is not None else r.objective_usd
            rows.append({"case": name, "ai_it_mw": s.ai_it_mw, "mining_it_mw": s.mining_it_mw,
                         "mining_mwh": s.mining_energy_mwh, "net_usd": r.objective_usd,
                         "delta_usd": r.objective_usd - base,
                         "contract_usd": fin.get("power_contract_settlement", 0.0),
                         "peak_usd": fin.get("coincident_peak_cost", 0.0),
                         "dr_usd": fin.get("demand_response_revenue", 0.0), "seconds": seconds})
            if name == "base":
                marginal = r.marginal_values
            if name == "financial CfD":
                credit = r.power_contracts.curtailment_credit_usd.iloc[0]
            if name == "4CP":
                peak = r.coincident_peak.iloc[0]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.float_format", "{:,.1f}".format):
        print(table.to_string(index=False))
        print(f"\nfinancial CfD: curtailment credit (block energy released by standing mining down) "
              f"{credit:,.0f} USD")
        print(f"4CP: peak draw {peak.peak_draw_mw:.1f} MW, cost {peak.coincident_peak_cost_usd:,.0f} USD; "
              f"without curtailment {peak.uncurtailed_peak_draw_mw:.1f} MW, "
              f"{peak.uncurtailed_coincident_peak_cost_usd:,.0f} USD")
        print("\nmarginal values of the base case:")
        print(marginal.to_string(index=False))


if __name__ == "__main__":
    main()
