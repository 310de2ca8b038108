"""--set / --scenario: dotted paths validated by the site schema, typos are errors."""

from __future__ import annotations

import pytest

from allocator.cli import main
from allocator.errors import InputError
from allocator.inputs.overrides import (apply_overrides, check_path, load_site_with, parse_assignment, parse_path,
                                 parse_value, read_raw, read_scenario_file, site_config)
from allocator.run.batch import solve

from conftest import REPO
from whatif_sites import campus_month, tiny


def test_parse_path_and_values():
    assert parse_path("ai.lease[0].rate_usd_per_kw_month") == ("ai", "lease", 0, "rate_usd_per_kw_month")
    assert parse_value("38") == 38 and parse_value("1.1e14") == 1.1e14 and parse_value("true") is True
    assert parse_value("ffill") == "ffill"
    assert parse_value("2024-08-20T15:00") == "2024-08-20T15:00"  # times stay text, as in a site file
    assert parse_value('{tenant = "B", rate_usd_per_kw_month = 120}') == {"tenant": "B", "rate_usd_per_kw_month": 120}
    assert parse_assignment("mining.pue = 1.1") == ("mining.pue", 1.1)
    with pytest.raises(InputError):
        parse_assignment("mining.pue")
    with pytest.raises(ValueError):
        parse_path("ai..pue")


def test_typo_names_the_closest_field():
    raw = read_raw(REPO / "sites" / "west_texas.toml")
    [p] = check_path(raw, "mining.hashprice_usd_per_ph_dy", "w.toml")
    assert p.where == "w.toml: mining.hashprice_usd_per_ph_dy"
    assert "Did you mean mining.hashprice_usd_per_ph_day?" in p.fix
    [p] = check_path(raw, "curtailment[0].cap", "w.toml")
    assert "curtailment[0].cap_mw" in p.fix
    [p] = check_path(raw, "ai.lease[3].rate_usd_per_kw_month", "w.toml")
    assert "has 1 item" in p.message
    [p] = check_path(raw, "ai.pue.x", "w.toml")
    assert "is a value, not a table" in p.message
    assert check_path(raw, "ai.lease[0].rate_usd_per_kw_month", "w.toml") == []
    assert check_path(raw, "ai.utilization_frac", "w.toml") == []  # a field, present or not


def test_bad_values_fail_like_the_site_file(tmp_path):
    path = tiny(tmp_path)
    with pytest.raises(InputError) as err:
        site_config(path, {"ai.pue": 9, "mining.hashprice_usd_per_ph_dy": 1, "mining.pool_fee_frac": "x"})
    text = str(err.value)
    assert "ai.pue: = 9" in text and "(set by override ai.pue)" in text and "Use a value <= 3 (check the units)" in text
    assert "Did you mean mining.hashprice_usd_per_ph_day?" in text
    assert "mining.pool_fee_frac" in text
    assert len(err.value.problems) == 3


def test_override_equals_editing_the_file(tmp_path):
    edited = tiny(tmp_path / "a", hashprice=41.0, rate=70.0)
    base = tiny(tmp_path / "b", hashprice=60.0, rate=50.0)
    site = load_site_with(base, {"mining.hashprice_usd_per_ph_day": 41, "ai.lease[0].rate_usd_per_kw_month": 70})
    want = solve([edited]).split.drop(columns="site_id")
    got = solve([site]).split.drop(columns="site_id")
    for column in want.columns:
        assert got[column].iloc[0] == pytest.approx(want[column].iloc[0], rel=1e-12)


def test_flat_hashprice_replaces_a_derived_one(tmp_path):
    path = campus_month(tmp_path)
    raw = read_raw(path)
    assert "hashprice" in raw["mining"]
    doc = apply_overrides(raw, {"mining.hashprice_usd_per_ph_day": 38.0}, "x")
    assert "hashprice" not in doc["mining"] and doc["mining"]["hashprice_usd_per_ph_day"] == 38.0
    assert "hashprice" in raw["mining"]  # the base document is untouched
    site = load_site_with(path, {"mining.hashprice_usd_per_ph_day": 38.0})
    assert (site.hashprice_usd_per_ph_day == 38.0).all()


def test_append_a_lease_as_a_whole_table(tmp_path):
    path = tiny(tmp_path)
    site = load_site_with(path, {"ai.lease[1]": {"tenant": "B", "rate_usd_per_kw_month": 90.0}})
    assert [lease.tenant for lease in site.config.ai.lease] == ["T", "B"]


def test_scenario_file(tmp_path):
    scen = tmp_path / "s.toml"
    scen.write_text('description = "x"\n[mining]\nhashprice_usd_per_ph_day = 38.0\n'
                    '[ai]\n"lease[0].rate_usd_per_kw_month" = 130.0\n', encoding="utf-8")
    assert read_scenario_file(scen) == {"mining.hashprice_usd_per_ph_day": 38.0,
                                        "ai.lease[0].rate_usd_per_kw_month": 130.0}
    bad = tmp_path / "b.toml"
    bad.write_text('[[ai.lease]]\ntenant = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="array of tables"):
        read_scenario_file(bad)
    for name in ("bear.toml",):
        assert read_scenario_file(REPO / "scenarios" / name)


def test_cli_set_and_scenario(tmp_path, capsys):
    path = tiny(tmp_path, hashprice=60.0, rate=50.0)
    # on paper: at $40/PH/day mining earns 40*50/24 - 30 = 53.3 USD/MWh < the lease's 68.5: AI takes all
    assert main(["solve", str(path), "--set", "mining.hashprice_usd_per_ph_day=40", "--out", str(tmp_path / "r")]) == 0
    split = (tmp_path / "r" / "split.csv").read_text().splitlines()[1].split(",")
    assert float(split[3]) == pytest.approx(100.0) and float(split[5]) == pytest.approx(0.0)
    scen = tmp_path / "bear.toml"
    scen.write_text("[mining]\nhashprice_usd_per_ph_day = 40.0\n", encoding="utf-8")
    assert main(["solve", str(path), "--scenario", str(scen), "--set", "mining.hashprice_usd_per_ph_day=80"]) == 0
    assert "tiny" in capsys.readouterr().out
    # the scenario file is an input of the run: its hash is in the manifest
    assert main(["solve", str(path), "--scenario", str(scen), "--out", str(tmp_path / "s")]) == 0
    import hashlib
    import json

    inputs = json.loads((tmp_path / "s" / "manifest.json").read_text())["inputs_sha256"]
    assert inputs[str(scen.resolve())] == hashlib.sha256(scen.read_bytes()).hexdigest()
    assert main(["solve", str(path), "--set", "mining.hashprice_usd_per_ph_dy=40", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "mining.hashprice_usd_per_ph_dy" in err and "Did you mean mining.hashprice_usd_per_ph_day?" in err
    assert not (tmp_path / "x").exists()
