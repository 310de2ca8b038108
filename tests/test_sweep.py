"""Sweeps: grid values equal single solves, resume, failures recorded, pool and Dask equal local."""

from __future__ import annotations

import csv
import shutil
import socket

import numpy as np
import pytest

from allocator.cli import main
from allocator.errors import InputError
from allocator.inputs.overrides import load_site_with
from allocator.run.batch import solve
from allocator.whatif.sweep import grid_sweep, locality_order, monte_carlo_sweep, read_sweep, run_sweep

from conftest import REPO
from whatif_sites import tiny

HP = "mining.hashprice_usd_per_ph_day"
RATE = "ai.lease[0].rate_usd_per_kw_month"


def rows_by_key(out):
    frame = read_sweep(out)
    return {(r["scenario_id"], r["site_id"]): r for r in frame.to_dict("records")}


def assert_same_rows(a, b):
    assert set(a) == set(b)
    for key in a:
        for column, value in a[key].items():
            other = b[key][column]
            if isinstance(value, float) and isinstance(other, float):
                assert value == pytest.approx(other, rel=1e-9, abs=1e-6, nan_ok=True), (key, column)
            else:
                assert value == other, (key, column)


@pytest.fixture
def two_sites(tmp_path):
    a = tiny(tmp_path / "sites", site_id="alpha")
    b = tiny(tmp_path / "sites", site_id="beta", mining={"pue": 1.1}, ai={"pue": 1.25})
    return [a, b]


def test_grid_values_equal_individual_solves(tmp_path, two_sites):
    sweep = grid_sweep(two_sites, [f"{HP}=30:70:5", f"{RATE}=40,60"])
    summary = run_sweep(sweep, tmp_path / "out", workers=1)
    assert summary.statuses == {"optimal": 20}
    frame = read_sweep(tmp_path / "out")
    assert list(frame.columns[:4]) == ["scenario_id", HP, RATE, "site_id"]
    assert list(frame.columns[-2:]) == ["status", "error"]
    assert len(frame) == 20 and frame.duplicated(["scenario_id", "site_id"]).sum() == 0
    # the last path varies fastest
    first = frame[frame.site_id == "alpha"].sort_values("scenario_id")
    assert first[HP].tolist()[:4] == [30.0, 30.0, 40.0, 40.0] and first[RATE].tolist()[:2] == [40, 60]
    for row in frame.to_dict("records"):
        path = next(p for p in two_sites if p.stem == row["site_id"])
        want = solve([load_site_with(path, {HP: row[HP], RATE: row[RATE]})]).split.iloc[0]
        for column in ("ai_it_mw", "mining_it_mw", "mining_energy_mwh", "mining_uptime_frac", "net_usd"):
            assert row[column] == pytest.approx(want[column], rel=1e-9, abs=1e-6)
    # and a spot check on paper: at $30/PH/day mining earns 30*50/24 - 30 = 32.5 USD/MWh, below
    # the $40 lease's 54.8 USD/MWh: AI takes all 100 MW
    assert first.iloc[0]["ai_it_mw"] == pytest.approx(100.0)


def test_resume_after_interruption_has_no_duplicates_and_no_gaps(tmp_path, two_sites):
    sweep = grid_sweep(two_sites, [f"{HP}=30:70:5", f"{RATE}=40,60"])
    run_sweep(sweep, tmp_path / "full", workers=1)
    shutil.copytree(tmp_path / "full", tmp_path / "cut")
    csv_path = tmp_path / "cut" / "sweep.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    # a crash: header + 7 finished rows + half of the 8th written
    csv_path.write_text("".join(lines[:8]) + lines[8][: len(lines[8]) // 2])
    summary = run_sweep(sweep, tmp_path / "cut", workers=1)
    assert summary.skipped == 7 and summary.solved == 13
    frame = read_sweep(tmp_path / "cut")
    assert len(frame) == 20 and frame.duplicated(["scenario_id", "site_id"]).sum() == 0
    assert_same_rows(rows_by_key(tmp_path / "cut"), rows_by_key(tmp_path / "full"))
    again = run_sweep(sweep, tmp_path / "cut", workers=1)  # nothing left to do
    assert again.solved == 0 and len(read_sweep(tmp_path / "cut")) == 20


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path, two_sites):
    run_sweep(grid_sweep(two_sites, [f"{HP}=30:70:3"]), tmp_path / "out", workers=1)
    with pytest.raises(InputError, match="holds a different sweep"):
        run_sweep(grid_sweep(two_sites, [f"{HP}=30:70:4"]), tmp_path / "out", workers=1)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="holds no sweep.json"):
        run_sweep(grid_sweep(two_sites, [f"{HP}=30:70:3"]), tmp_path / "other", workers=1)


def test_failed_scenarios_are_recorded_and_the_rest_complete(tmp_path):
    path = tiny(tmp_path / "s", curtailment=[{"start": "2024-01-01T05:00", "end": "2024-01-01T06:00",
                                              "cap_mw": 40.0}])
    sweep = grid_sweep([path], ["ai.lease[0].min_mw=0,30,50,-5,=1+2"])
    summary = run_sweep(sweep, tmp_path / "out", workers=1)
    assert summary.statuses == {"optimal": 2, "infeasible": 1, "input_error": 2}
    frame = read_sweep(tmp_path / "out").set_index("scenario_id")
    assert frame.loc["s00003", "status"] == "infeasible" and "caps the site at 40 MW" in frame.loc["s00003", "error"]
    assert frame.loc["s00004", "status"] == "input_error" and ">= 0" in frame.loc["s00004", "error"]
    # a text cell a spreadsheet would run is escaped
    with (tmp_path / "out" / "sweep.csv").open() as fh:
        raw = list(csv.reader(fh))
    assert raw[5][1] == "'=1+2"
    # on paper: mining's 60*50/24 - 30 = 95 USD/MWh beats the lease's 68.5: AI only at its signed 30 MW
    assert frame.loc["s00002", "ai_it_mw"] == pytest.approx(30.0)
    assert frame.loc["s00002", "mining_it_mw"] == pytest.approx(70.0)


def test_a_typo_stops_the_sweep_before_it_starts(tmp_path, two_sites):
    with pytest.raises(InputError, match="Did you mean mining.hashprice_usd_per_ph_day"):
        run_sweep(grid_sweep(two_sites, ["mining.hashprice_usd_per_phday=30:70:3"]), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_process_pool_and_dask_equal_the_local_run(tmp_path, two_sites):
    distributed = pytest.importorskip("dask.distributed")
    sweep = grid_sweep(two_sites, [f"{HP}=30:70:5", f"{RATE}=40,60"])
    run_sweep(sweep, tmp_path / "local", workers=1)
    run_sweep(sweep, tmp_path / "pool", workers=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
        run_sweep(sweep, tmp_path / "dask", dask_scheduler=cl.scheduler_address)
    local = rows_by_key(tmp_path / "local")
    assert_same_rows(local, rows_by_key(tmp_path / "pool"))
    assert_same_rows(local, rows_by_key(tmp_path / "dask"))


def test_unreachable_dask_scheduler_is_reported_at_once(tmp_path, two_sites):
    pytest.importorskip("dask.distributed")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sweep = grid_sweep(two_sites, [f"{HP}=30:70:5"])
    # our own check's message ("host:port: reason"), not Dask's after its 20 s of retries
    with pytest.raises(InputError, match=f"cannot reach the scheduler \\(127.0.0.1:{port}: "):
        run_sweep(sweep, tmp_path / "out", dask_scheduler=f"tcp://127.0.0.1:{port}")
    with pytest.raises(InputError, match="give it as tcp://host:port"):
        run_sweep(sweep, tmp_path / "out", dask_scheduler="tcp://127.0.0.1")


def test_monte_carlo_is_reproducible(tmp_path, two_sites):
    dist = tmp_path / "d.toml"
    dist.write_text(f'seed = 7\n[[param]]\npath = "{HP}"\ndist = "lognormal"\nmedian = 50.0\nsigma = 0.3\n'
                    f'[[param]]\npath = "{RATE}"\ndist = "triangular"\nlow = 30.0\nmode = 50.0\nhigh = 70.0\n'
                    f'[[correlation]]\nparams = ["{HP}", "{RATE}"]\nrho = 0.5\n', encoding="utf-8")
    a = monte_carlo_sweep(two_sites, dist, 6)
    b = monte_carlo_sweep(two_sites, dist, 6)
    assert a.values == b.values and a.paths == [HP, RATE]
    assert monte_carlo_sweep(two_sites, dist, 6, seed=8).values != a.values
    run_sweep(a, tmp_path / "mc", workers=1)
    frame = read_sweep(tmp_path / "mc")
    assert len(frame) == 12 and (frame.status == "optimal").all()
    # solved in locality order, keyed by scenario_id: s00001 holds the first draw
    alpha = frame[frame.site_id == "alpha"].sort_values("scenario_id")
    assert alpha[HP].tolist() == [v[0] for v in a.values]
    assert alpha[RATE].tolist() == [v[1] for v in a.values]


def test_locality_order_is_a_permutation_with_short_steps():
    rng = np.random.default_rng(3)
    values = [tuple(v) for v in rng.uniform(0, 1, (400, 2))]
    order = locality_order(values)
    assert sorted(order) == list(range(400))
    path = np.array([values[i] for i in order])
    # a snake through 20 bins moves far less than a random order
    assert np.abs(np.diff(path, axis=0)).sum() < 0.3 * np.abs(np.diff(np.array(values), axis=0)).sum()


def test_cli_sweep_is_quiet_off_a_terminal_and_resumes(tmp_path, capsys):
    path = tiny(tmp_path / "s")
    args = ["sweep", str(path), "--vary", f"{HP}=30:70:3", "--out", str(tmp_path / "out"), "--workers", "1"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert out.out.startswith("sweep: 3 scenario rows: 3 optimal") and out.err == ""
    assert main(args) == 0
    assert "(3 already done): nothing to do" in capsys.readouterr().out
    assert main(["sweep", str(path), "--out", str(tmp_path / "o2")]) == 1
    assert "give either --vary" in capsys.readouterr().err


def test_example_distributions_file_reads():
    from allocator.whatif.distributions import read_distributions

    d = read_distributions(REPO / "scenarios" / "btc_2027.toml")
    assert d.paths[:2] == ["mining.hashprice.btc_price_usd", "mining.hashprice.difficulty"]
    assert d.correlation[0, 1] == 0.7


def test_ctrl_c_keeps_finished_rows_and_the_rerun_completes(tmp_path, two_sites):
    sweep = grid_sweep(two_sites, [f"{HP}=30:70:5", f"{RATE}=40,60"])
    seen = []

    def interrupt_after_three(n):
        seen.append(n)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path / "out", workers=1, progress=interrupt_after_three)
    assert len(read_sweep(tmp_path / "out")) == 3  # each row was written before the next solve
    summary = run_sweep(sweep, tmp_path / "out", workers=1)
    assert summary.skipped == 3 and summary.solved == 17
    frame = read_sweep(tmp_path / "out")
    assert len(frame) == 20 and frame.duplicated(["scenario_id", "site_id"]).sum() == 0


def test_two_sweeps_never_write_one_folder_at_once(tmp_path, two_sites):
    from allocator.whatif.sweep_folder import lock_folder as _lock

    sweep = grid_sweep(two_sites, [f"{HP}=30:70:2"])
    run_sweep(sweep, tmp_path / "out", workers=1)
    held = _lock(tmp_path / "out")
    try:
        with pytest.raises(InputError, match="another sweep is writing"):
            run_sweep(sweep, tmp_path / "out", workers=1)
    finally:
        held.close()
    assert run_sweep(sweep, tmp_path / "out", workers=1).solved == 0


def test_sweep_json_has_versions_and_the_folder_a_manifest(tmp_path, two_sites):
    import hashlib
    import json

    dists = REPO / "scenarios" / "btc_2027.toml"
    out = tmp_path / "mc"
    sweep = monte_carlo_sweep(two_sites, dists, 4, seed=1)
    run_sweep(sweep, out, workers=1)
    definition = json.loads((out / "sweep.json").read_text())
    assert definition["tool_version"] and definition["solver"].startswith("structured + HiGHS ")
    digest = hashlib.sha256(dists.read_bytes()).hexdigest()
    assert definition["inputs_sha256"] == {str(dists.resolve()): digest}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "sweep" and manifest["solver"] == definition["solver"]
    assert manifest["inputs_sha256"][str(dists.resolve())] == digest
    assert manifest["inputs_sha256"][str(two_sites[0].resolve())] == hashlib.sha256(two_sites[0].read_bytes()).hexdigest()
    assert manifest["statuses"] == {"optimal": 8} and manifest["warnings"] == []
    assert manifest["methods_this_run"] == {"structured": 8}  # the bundled campuses are base-model sites
    assert manifest["files"]["sweep.csv"]["sha256"] == hashlib.sha256((out / "sweep.csv").read_bytes()).hexdigest()
    # a resumed run with nothing left to do keeps the same sweep and rewrites its manifest
    assert run_sweep(sweep, out, workers=1).solved == 0
    assert json.loads((out / "manifest.json").read_text())["rows_this_run"] == 0
