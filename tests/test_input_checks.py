"""Inputs that are allowed but look wrong are warned about; inputs that cannot mean what they say are
refused: unit slips, --vary ranges, portfolios of mixed horizons, 4CP peak counts and off-hour peaks."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from allocator import load_site, solve
from allocator.plan.portfolio import solve_portfolio
from conftest import write_site
from test_cli import invoke

FLEET = {"model": "A", "efficiency_j_per_th": 20.0, "mw": 10.0}
MINING = {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": [dict(FLEET)]}  # 100 USD per running MWh


def site_doc(**extra) -> dict:
    return {"site": {"interconnect_mw": 10.0}, "mining": dict(MINING), **extra}


def warnings_of(path) -> list[str]:
    return [str(w) for w in load_site(path).warnings]


# ---------------------------------------------------------------- unit slips


def test_lease_rate_per_year_is_warned_with_the_per_month_value(tmp_path):
    doc = site_doc(ai={"pue": 1.2, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 1680.0}]})
    (w,) = warnings_of(write_site(tmp_path, [20.0] * 4, doc))
    assert "ai.lease[0].rate_usd_per_kw_month: = 1,680.00 USD/kW-month" in w
    assert "USD per kW-year" in w and "write 140.00" in w
    doc["ai"]["lease"][0]["rate_usd_per_kw_month"] = 140.0
    assert warnings_of(write_site(tmp_path, [20.0] * 4, doc)) == []


def test_hashprice_per_th_is_warned(tmp_path):
    doc = site_doc()
    doc["mining"] = {**MINING, "hashprice_usd_per_ph_day": 0.05}
    (w,) = warnings_of(write_site(tmp_path, [20.0] * 4, doc))
    assert "mining.hashprice_usd_per_ph_day" in w and "0.05 USD/PH/day" in w and "per TH/s" in w and "(50 USD" in w


@pytest.mark.parametrize("prices, words", [([2500.0, 3000.0, 2000.0, 4000.0], "cents per MWh"),
                                           ([2.5, 3.0, 2.0, 4.0], "cents per kWh")])
def test_prices_in_cents_are_warned(tmp_path, prices, words):
    (w,) = warnings_of(write_site(tmp_path, prices, site_doc()))
    assert ": prices:" in w and words in w
    assert warnings_of(write_site(tmp_path, [25.0, 30.0, 20.0, 40.0], site_doc())) == []


def test_prices_in_usd_per_kwh_and_pue_below_one_stay_errors(tmp_path):
    code, _, err = invoke(["validate", str(write_site(tmp_path, [0.025, 0.03, 0.02, 0.04], site_doc()))])
    assert code == 1 and "looks like USD/kWh" in err
    doc = site_doc()
    doc["mining"] = {**MINING, "pue": 0.95}
    code, _, err = invoke(["validate", str(write_site(tmp_path, [20.0] * 4, doc))])
    assert code == 1 and "mining.pue" in err and ">= 1" in err


def test_warnings_are_printed_and_kept_in_the_manifest(tmp_path):
    doc = site_doc(ai={"pue": 1.2, "lease": [{"tenant": "T", "rate_usd_per_kw_month": 1680.0}]})
    out = tmp_path / "run"
    code, _, err = invoke(["solve", str(write_site(tmp_path, [20.0] * 4, doc)), "--out", str(out)])
    assert code == 0 and "warning: " in err and "rate_usd_per_kw_month: = 1,680.00" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["warnings"]) == 1 and "USD per kW-year" in manifest["warnings"][0]


# ---------------------------------------------------------------- --vary


@pytest.mark.parametrize("spec", ["30-80", "30 - 80", "30..80"])
def test_vary_range_slip_is_refused_before_the_sweep(tmp_path, spec):
    site = write_site(tmp_path, [20.0] * 4, site_doc())
    out = tmp_path / "out"
    code, _, err = invoke(["sweep", str(site), "--vary", f"mining.hashprice_usd_per_ph_day={spec}", "--out", str(out)])
    assert code == 1 and not out.exists()
    assert "is neither a number, a list v1,v2,... nor a range lo:hi:n" in err
    assert "mining.hashprice_usd_per_ph_day=30:80:11" in err


def test_vary_bare_word_is_refused_but_numbers_lists_and_quoted_text_pass(tmp_path):
    from allocator.whatif.sweep import parse_vary

    code, _, err = invoke(["sweep", str(write_site(tmp_path, [20.0] * 4, site_doc())), "--vary", "prices.fill=ffill",
                           "--out", str(tmp_path / "o")])
    assert code == 1 and "quote text" in err
    assert parse_vary("a.b=30:80:3") == ("a.b", [30.0, 55.0, 80.0])
    assert parse_vary("a.b=30,40") == ("a.b", [30, 40])
    assert parse_vary('a.b="ffill"') == ("a.b", ["ffill"])
    assert parse_vary("a.b=-5") == ("a.b", [-5])


# ---------------------------------------------------------------- portfolio horizons


def test_portfolio_of_different_horizons_under_a_shared_budget_is_refused(tmp_path):
    ai = {"pue": 1.0, "convertible_mw": 5.0, "fitout_capex_usd_per_mw": 1e6,
          "lease": [{"tenant": "T", "rate_usd_per_kw_month": 100.0}]}
    long = write_site(tmp_path, [20.0] * 48, site_doc(ai=ai), site_id="long")
    short = write_site(tmp_path, [20.0] * 24, site_doc(ai=ai), site_id="short")
    pf = tmp_path / "portfolio.toml"
    pf.write_text("capex_budget_usd = 5e6\n")
    code, _, err = invoke(["solve", str(long), str(short), "--portfolio", str(pf)])
    assert code == 1 and "horizons differ" in err
    assert "long: 48 hours from 2024-01-01 00:00 UTC" in err and "short: 24 hours" in err
    pf.write_text("name = 'no shared rows'\n")  # sites side by side, nothing traded between them
    assert solve_portfolio([long, short], pf).objective_usd > 0
    same = write_site(tmp_path, [20.0] * 48, site_doc(ai=ai), site_id="same")
    pf.write_text("capex_budget_usd = 5e6\n")
    assert solve_portfolio([long, same], pf).objective_usd > 0


# ---------------------------------------------------------------- 4CP


JUL_DEC_HOURS = 4416  # 2024-07-01 00:00 CDT to 2025-01-01 00:00 CST
PEAKS = ["2024-07-15T17:00", "2024-08-20T16:00", "2024-09-05T17:00"]  # three of the year's four 4CP intervals


def jul_dec(tmp_path, charge, **cp):
    doc = site_doc(coincident_peak={"charge_usd_per_mw_year": charge, **cp})
    doc["site"] = {"interconnect_mw": 10.0, "timezone": "America/Chicago"}
    return solve([load_site(write_site(tmp_path, [20.0] * JUL_DEC_HOURS, doc, start="2024-07-01T05:00:00Z"))])


@pytest.mark.parametrize("charge", [240.0, 400.0])
def test_jul_dec_horizon_weighs_each_listed_peak_a_quarter_of_the_annual_charge(tmp_path, charge):
    # mining earns 100 - 20 = 80 USD per MWh; each listed peak costs charge / 4 per MW drawn in it (ERCOT: four
    # peaks a year), so 60 USD/MW at 240 (run through, pay 3 x 10 x 60) and 100 at 400 (stand down)
    r = jul_dec(tmp_path, charge, intervals=PEAKS)
    per_peak = charge / 4
    peak = r.coincident_peak.iloc[0]
    assert peak.peaks_in_horizon == 3.0 and peak.peaks_per_year == 4.0
    fin = r.financials.set_index("item").usd
    if per_peak < 80:
        assert r.split.mining_energy_mwh[0] == pytest.approx(10 * JUL_DEC_HOURS, rel=1e-9)
        assert fin["coincident_peak_cost"] == pytest.approx(-3 * 10 * per_peak, rel=1e-9)
        assert r.objective_usd == pytest.approx(80 * 10 * JUL_DEC_HOURS - 1800.0, rel=1e-9)
        # the old rule (average of the 3 x charge x H/8760) would have charged 1,209.86
        assert -fin["coincident_peak_cost"] != pytest.approx(charge * JUL_DEC_HOURS / 8760 * 10, rel=1e-3)
    else:
        assert r.split.mining_energy_mwh[0] == pytest.approx(10 * (JUL_DEC_HOURS - 3), rel=1e-9)
        assert fin["coincident_peak_cost"] == pytest.approx(0.0, abs=1e-6)
        assert r.objective_usd == pytest.approx(80 * 10 * (JUL_DEC_HOURS - 3), rel=1e-9)
    assert load_site(r.sites[0].site.path).warnings == []  # three listed peaks in half a year: nothing odd


def test_peaks_per_year_sets_each_peak_s_share(tmp_path):
    # a 12CP tariff: each listed peak costs charge / 12 = 60 at 720 USD/MW-year
    r = jul_dec(tmp_path, 720.0, intervals=PEAKS, peaks_per_year=12.0)
    assert r.financials.set_index("item").usd["coincident_peak_cost"] == pytest.approx(-3 * 10 * 60.0, rel=1e-9)


def test_more_listed_peaks_than_the_charge_implies_are_warned(tmp_path):
    doc = site_doc(coincident_peak={"charge_usd_per_mw_year": 1.0,
                                    "intervals": [f"2024-01-01T{h:02d}:00Z" for h in range(6)]})
    (w,) = warnings_of(write_site(tmp_path, [20.0] * 8, doc))
    assert "6 peak intervals are listed" in w and "peaks_per_year" in w and "1.50 annual charges" in w


def test_probabilities_are_scaled_to_the_stated_peak_count(tmp_path):
    # hours 1 and 3 are peaks with probability 0.3: stating peaks_in_horizon = 0.6 keeps them as they are, so
    # hour 1 costs charge / 4 x 0.3 = 30 per MW (< margin 50: runs) and hour 3 also 30 (> margin 20: stands down)
    pd.DataFrame({"t": pd.date_range("2024-01-01T00:00Z", periods=4, freq="h").strftime("%Y-%m-%dT%H:%MZ"),
                  "p": [0.0, 0.3, 0.0, 0.3]}).to_csv(tmp_path / "peaks.csv", index=False)
    doc = site_doc(coincident_peak={"charge_usd_per_mw_year": 400.0, "probability": {"file": "peaks.csv"},
                                    "peaks_in_horizon": 0.6})
    path = write_site(tmp_path, [20.0, 50.0, 150.0, 80.0], doc)
    assert warnings_of(path) == []
    r = solve([load_site(path)])
    assert r.dispatch.mining_it_mw.tolist() == pytest.approx([10, 10, 0, 0], abs=1e-6)
    fin = r.financials.set_index("item").usd
    assert fin["coincident_peak_cost"] == pytest.approx(-10 * 100 * 0.3, rel=1e-9)
    assert r.objective_usd == pytest.approx(80 * 10 + 50 * 10 - 300, rel=1e-9)
    # by default the count is 4 a year x 4/8760 years: far from 0.6, so the scaling is said
    del doc["coincident_peak"]["peaks_in_horizon"]
    (w,) = warnings_of(write_site(tmp_path, [20.0, 50.0, 150.0, 80.0], doc))
    assert "the probabilities sum to 0.6" in w and "0.001826" in w and "peaks_in_horizon = 0.6" in w


def test_peak_interval_off_the_hour_is_moved_to_its_hour_with_a_warning(tmp_path):
    doc = site_doc(coincident_peak={"charge_usd_per_mw_year": 400.0, "intervals": ["2024-01-01T01:45Z"]})
    path = write_site(tmp_path, [20.0, 50.0, 150.0, 80.0], doc)
    (w,) = warnings_of(path)
    assert "coincident_peak.intervals[0]" in w and "not on the hour" in w and "2024-01-01 01:00-02:00 UTC" in w
    assert load_site(path).power.peak_weight_frac.tolist() == [0.0, 1.0, 0.0, 0.0]


def test_plan_and_portfolio_print_and_record_the_warnings(tmp_path):
    from test_portfolio import ai_site

    site = ai_site(tmp_path, "cheap", 1e6)  # a site with a [plan] table
    site.write_text(site.read_text().replace("hashprice_usd_per_ph_day = 48.0", "hashprice_usd_per_ph_day = 0.048"))
    out = tmp_path / "plan"
    code, _, err = invoke(["plan", str(site), "--out", str(out), "--bins-per-month", "0"])
    assert code == 0 and "warning: " in err and "per TH/s" in err
    assert any("per TH/s" in w for w in json.loads((out / "manifest.json").read_text())["warnings"])
    pf = tmp_path / "portfolio.toml"
    pf.write_text("capex_budget_usd = 5e6\n")
    code, _, err = invoke(["solve", str(site), "--portfolio", str(pf), "--out", str(tmp_path / "pf")])
    assert code == 0 and "per TH/s" in err
    assert any("per TH/s" in w for w in json.loads((tmp_path / "pf" / "manifest.json").read_text())["warnings"])
