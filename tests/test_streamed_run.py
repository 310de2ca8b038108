"""`allocator solve --out` writes each site's hourly rows as it is solved and keeps only a summary.

The folder must equal, file for file, what the Python API writes from a full
Result held in memory; sites with different dispatch columns (a power
contract or a demand-response program adds some) must share one header with
empty cells where a site has no such column; and a bad file anywhere in the
list still means exit 1 with every bad file listed and nothing written.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from allocator import InputError
from allocator import solve
from allocator.cli import main
from allocator.reports.run_folder import write_result
from conftest import write_site

PRICES = [20.0, 50.0, 150.0, 80.0]
FLEET = {"model": "Test20", "efficiency_j_per_th": 20.0, "mw": 10.0}
PLAIN = {"site": {"interconnect_mw": 10.0},
         "mining": {"pue": 1.0, "hashprice_usd_per_ph_day": 48.0, "fleet": [dict(FLEET)]}}
CONTRACT = {**PLAIN, "power": {"contract": [{"name": "ppa", "mw": 5.0, "price_usd_per_mwh": 10.0,
                                             "settlement": "physical"}]}}
RESULT_FILES = ("split.csv", "financials.csv", "leases.csv", "fleets.csv", "marginal_values.csv",
                "assumptions.csv", "dispatch.csv", "shadow_prices.csv", "power_contracts.csv")


def _sites(tmp_path, order):
    docs = {"plain": PLAIN, "contract": CONTRACT}
    return [write_site(tmp_path, PRICES, docs[name], site_id=name) for name in order]


@pytest.mark.parametrize("order", [("plain", "contract"), ("contract", "plain")])
def test_streamed_folder_equals_the_in_memory_result(tmp_path, order, capsys):
    paths = _sites(tmp_path, order)
    assert main(["solve", *map(str, paths), "--out", str(tmp_path / "streamed")]) == 0
    capsys.readouterr()
    result = solve(paths)
    write_result(result, tmp_path / "in_memory")
    for name in RESULT_FILES:
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "in_memory" / name).read_bytes(), name


@pytest.mark.parametrize("order", [("plain", "contract"), ("contract", "plain")])
def test_dispatch_header_is_the_union_of_the_sites_columns(tmp_path, order, capsys):
    paths = _sites(tmp_path, order)
    out = tmp_path / "run"
    assert main(["solve", *map(str, paths), "--out", str(out)]) == 0
    capsys.readouterr()
    with open(out / "dispatch.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert len(body) == 2 * len(PRICES)
    assert all(len(row) == len(header) for row in body)
    assert {"contract_mw", "physical_contract_mw", "hub_price_usd_per_mwh"} <= set(header)
    table = pd.read_csv(out / "dispatch.csv")
    plain, contract = table[table.site_id == "plain"], table[table.site_id == "contract"]
    assert plain["contract_mw"].isna().all() and plain["physical_contract_mw"].isna().all()
    assert contract["contract_mw"].tolist() == [5.0] * len(PRICES)
    # the contracted 5 MW at 10 USD/MWh run through the 150 USD/MWh hour: margin 100 - 10 > 0
    assert contract["mining_it_mw"].tolist() == [10.0, 10.0, 5.0, 10.0]
    assert plain["mining_it_mw"].tolist() == [10.0, 10.0, 0.0, 10.0]
    # the API's table in memory says the same, cell for cell
    expected = solve(paths).dispatch
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_bad_file_is_listed_even_after_sites_were_solved(tmp_path, workers, capsys):
    good = write_site(tmp_path, PRICES, PLAIN, site_id="good")
    bad_a = write_site(tmp_path, PRICES, {**PLAIN, "site": {"interconnect_mw": -1.0}}, site_id="bad_a")
    bad_b = write_site(tmp_path, PRICES, {**PLAIN, "mining": {**PLAIN["mining"], "pue": 0.5}}, site_id="bad_b")
    out = tmp_path / "run"
    code = main(["solve", str(good), str(bad_a), str(bad_b), "--out", str(out), "--workers", workers])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 of 3 site files" in err
    assert "bad_a.toml" in err and "site.interconnect_mw" in err
    assert "bad_b.toml" in err and "mining.pue" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")] == []


def test_api_lists_every_bad_file(tmp_path):
    bad_a = write_site(tmp_path, PRICES, {**PLAIN, "site": {"interconnect_mw": -1.0}}, site_id="bad_a")
    good = write_site(tmp_path, PRICES, PLAIN, site_id="good")
    bad_b = write_site(tmp_path, PRICES, {**PLAIN, "mining": {**PLAIN["mining"], "pue": 0.5}}, site_id="bad_b")
    with pytest.raises(InputError) as caught:
        solve([bad_a, good, bad_b])
    wheres = " ".join(p.where for p in caught.value.problems)
    assert "bad_a.toml" in wheres and "bad_b.toml" in wheres


def test_summary_result_has_no_hourly_tables_in_memory(tmp_path, capsys):
    from allocator.run.summary import solve_summarized

    path = write_site(tmp_path, PRICES, PLAIN, site_id="plain")
    result = solve_summarized([path])
    assert result.split.mining_it_mw.tolist() == [10.0]
    assert result.objective_usd == pytest.approx(1500.0)  # hours 0, 1, 3 at margins 80, 50, 20 per MW
    with pytest.raises(AttributeError, match="dispatch.csv"):
        result.dispatch


def test_kept_summary_tables_equal_the_full_result_tables(tmp_path):
    """The summaries keep their tables pickled: joined back, they equal the full Result's."""
    from allocator.run.summary import TABLES, solve_summarized

    paths = _sites(tmp_path, ("plain", "contract"))
    kept, full = solve_summarized(paths), solve(paths)
    assert all(isinstance(b, bytes) for s in kept.sites for b in s.pickled_tables.values())
    for name in (*TABLES, "assumptions"):
        pd.testing.assert_frame_equal(getattr(kept, name), getattr(full, name), obj=name)
