"""Fuzz the portfolio file: every case ends in a checked plan or a clear message, never a traceback.

Hypothesis mutates a valid ``portfolio.toml`` (wrong types, missing and extra
keys, NaN / inf / negative / huge values, sites that are not given, duplicate
tenants, broken TOML) and runs ``allocator solve SITES --portfolio FILE --out
DIR`` in-process on two or three small valid sites, with each
``--portfolio-method``. It must end in:

- exit 0: a complete run folder whose shared rows hold, re-derived from the
  CSVs (capex of every converted MW within the budget, each tenant between its
  minimum and maximum, installed hashrate at least the floor);
- exit 1: a message naming the portfolio file, nothing written;
- exit 2: an infeasibility, nothing written.

``ALLOCATOR_FUZZ_SCALE`` multiplies the number of cases (1 in CI: 300).
"""

from __future__ import annotations

import copy
import os

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.inputs.hashprice import ph_per_mw
from conftest import to_toml, write_site
from run_check import folder_is_complete
from test_fuzz import NUMBERS, WRONG, apply, assert_refused, fuzz_settings, run_cli

CASES = int(300 * float(os.environ.get("ALLOCATOR_FUZZ_SCALE", "1")))
OUTCOMES: dict[int, int] = {}
PRICES = [25.0, 18.0, 12.0, 15.0, 30.0, 55.0, 80.0, 140.0, 95.0, 60.0, 40.0, 35.0] * 2
FITOUT_USD_PER_MW = {"a": 8.0e6, "b": 10.0e6, "c": 9.0e6}
EFFICIENCY_J_PER_TH = 17.5
BASE = {
    "name": "Fuzz portfolio",
    "capex_budget_usd": 2.0e8,
    "min_hashrate_ph": 500.0,
    "tenant": [{"tenant": "Hyper", "rate_usd_per_kw_month": 160.0, "max_mw": 30.0, "min_mw": 5.0,
                "sites": ["a", "b"]}],
}
FIELDS = [
    ("name",), ("capex_budget_usd",), ("min_hashrate_ph",), ("tenant",), ("tenant", 0, "tenant"),
    ("tenant", 0, "rate_usd_per_kw_month"), ("tenant", 0, "max_mw"), ("tenant", 0, "min_mw"), ("tenant", 0, "sites"),
    ("tenant", 0, "start_year"), ("tenant", 0, "term_years"),
]
PLAUSIBLE = st.one_of(
    st.tuples(st.just("set"), st.sampled_from([("capex_budget_usd",), ("tenant", 0, "max_mw"),
                                               ("tenant", 0, "min_mw"), ("min_hashrate_ph",)]),
              st.one_of(st.floats(0.0, 60.0), st.floats(0.0, 5e8), st.sampled_from([0.0, 1.0, 40.0]))),
    st.tuples(st.just("delete"), st.sampled_from([("capex_budget_usd",), ("min_hashrate_ph",), ("tenant",),
                                                  ("tenant", 0, "min_mw")]), st.none()),
    st.tuples(st.just("set"), st.just(("tenant", 0, "sites")),
              st.sampled_from([["a"], ["a", "b", "c"], ["b", "a"], ["a", "a"], ["nowhere"], [], "a"])),
)
MUTATIONS = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(FIELDS), st.one_of(WRONG, NUMBERS)),
    st.tuples(st.just("delete"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("extra"), st.sampled_from([("tenant",)]),
              st.tuples(st.sampled_from(["max_MW", "site", "budget"]), WRONG)),
    PLAUSIBLE, PLAUSIBLE, PLAUSIBLE,
)


def sites(folder, n: int) -> list:
    """Two or three small valid campuses (24 hours; each with mining and AI)."""
    out = []
    for sid in "abc"[:n]:
        doc = {"site": {"interconnect_mw": 60.0},
               "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 50.0,
                          "fleet": [{"model": "S21", "efficiency_j_per_th": EFFICIENCY_J_PER_TH, "mw": 40.0}]},
               "ai": {"pue": 1.2, "convertible_mw": 30.0, "fitout_capex_usd_per_mw": FITOUT_USD_PER_MW[sid],
                      "lease": [{"tenant": f"own_{sid}", "rate_usd_per_kw_month": 140.0, "max_mw": 10.0}]}}
        out.append(write_site(folder, PRICES, doc, site_id=sid))
    return out


def check_shared_rows(out, doc: dict) -> None:
    """Re-derive the portfolio's rows from the run folder's CSVs."""
    leases = pd.read_csv(out / "leases.csv")
    fleets = pd.read_csv(out / "fleets.csv")
    tol = 1e-6
    budget = doc.get("capex_budget_usd")
    if budget is not None:
        capex = sum(r.it_mw * FITOUT_USD_PER_MW[r.site_id] for r in leases.itertuples())
        assert capex <= budget * (1 + tol) + 1e-3, (capex, budget)
    for t in doc.get("tenant", []):
        placed = leases.loc[leases["tenant"] == t["tenant"], "it_mw"].sum()
        assert t.get("min_mw", 0.0) - tol <= placed <= t["max_mw"] + tol, (placed, t)
    floor = doc.get("min_hashrate_ph", 0.0)
    if floor:
        installed = fleets["it_mw"].sum() * ph_per_mw(EFFICIENCY_J_PER_TH)
        assert installed >= floor * (1 - tol) - 1e-6, (installed, floor)
    assert (out / "tenants.csv").is_file() and (out / "coupling_prices.csv").is_file()


@fuzz_settings(CASES)
@given(mutations=st.lists(MUTATIONS, max_size=3), n_sites=st.sampled_from([2, 3]),
       method=st.sampled_from(["auto", "one_lp", "decomposition"]),
       form=st.sampled_from(["toml"] * 8 + ["broken", "empty"]))
def test_fuzzed_portfolio_files(tmp_path_factory, mutations, n_sites, method, form):
    folder = tmp_path_factory.mktemp("pf")
    doc = copy.deepcopy(BASE)
    for m in mutations:
        apply(doc, m)
    pf = folder / "portfolio.toml"
    try:
        text = to_toml(doc)
    except (TypeError, ValueError):  # a value TOML cannot hold (NaN in a list, a dict key)
        text = "name = [1, 2"
    if form == "broken":
        text = text[: len(text) // 2] + "\n[[tenant]\n"
    elif form == "empty":
        text, doc = "", {}  # an empty portfolio is valid: no shared rows
    pf.write_text(text, encoding="utf-8")
    out = folder / "run"
    code, err = run_cli(["solve", *map(str, sites(folder, n_sites)), "--portfolio", str(pf), "--out", str(out),
                         "--portfolio-method", method], OUTCOMES)
    if code == 0:
        assert folder_is_complete(out)
        check_shared_rows(out, doc)
        return
    assert_refused(out, code, err)
    if code == 1:
        assert str(pf) in err or "--portfolio" in err, err


def test_zz_fuzz_reached_every_outcome():
    """The cases above reached accepted, bad and infeasible portfolios (when they ran in this session)."""
    if sum(OUTCOMES.values()) < CASES:
        pytest.skip("the fuzz test did not run in this session")
    assert OUTCOMES.get(0, 0) > 0 and OUTCOMES.get(1, 0) > 0 and OUTCOMES.get(2, 0) > 0, OUTCOMES
