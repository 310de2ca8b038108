"""The fault campaign: kill -9 at seeded random moments, two sweeps racing, a disk that fills.

``solve``, ``sweep``, ``plan`` and ``report`` are each killed with SIGKILL at
least KILLS times, at delays drawn (seeded) over the whole life of a run.
The commands run as real processes forked from a server that has already
imported allocator (tests/fork_server.py), so a kill lands in the work, not
in Python's start-up, and the campaign stays short. After every kill:

- the output is absent, the old one intact, or a complete new one (every file
  its manifest lists, byte for byte, and nothing else);
- every user file beside and inside the output is byte for byte as before
  (including a user's ``.run.old-20240105`` folder named like our leftovers);
- what the kill left behind is only our marked staging folders, and the next
  run removes them;
- a sweep resumed after any number of kills holds every (scenario, site) row
  exactly once.

The seeds are fixed (ALLOCATOR_FAULT_SEED changes them), so a failure is
reproducible up to the scheduler's timing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from allocator import staging
from conftest import REPO, write_site
from run_check import folder_is_complete
from test_plan import plan_doc

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux", reason="needs fork and /proc")

KILLS = int(os.environ.get("ALLOCATOR_FAULT_KILLS", "20"))
SEED = int(os.environ.get("ALLOCATOR_FAULT_SEED", "14"))
SITE_DOC = {
    "site": {"interconnect_mw": 100.0, "facility_mw": 120.0},
    "mining": {"pue": 1.05, "hashprice_usd_per_ph_day": 48.0,
               "fleet": [{"model": "S21", "efficiency_j_per_th": 17.5, "mw": 80.0},
                         {"model": "S19", "efficiency_j_per_th": 29.5, "mw": 40.0}]},
    "ai": {"pue": 1.2, "convertible_mw": 40.0, "utilization_frac": 0.8,
           "lease": [{"tenant": "Anchor", "rate_usd_per_kw_month": 120.0, "min_mw": 5.0}]},
}
PRICES = [30.0 + 40.0 * ((h * 7919) % 13) / 13.0 for h in range(24 * 30)]
TALLY: dict[str, dict[str, int]] = {}


class Forker:
    """Client of tests/fork_server.py."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fork_server.py"))], cwd=REPO,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert "ready" in self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        assert line, "the fork server died"
        return json.loads(line)

    def _ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def start(self, argv: list[str], cwd: Path, stderr: Path) -> int:
        return self._ask({"run": argv, "cwd": str(cwd), "stderr": str(stderr)})["pid"]

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})["code"]

    def run(self, argv: list[str], cwd: Path, stderr: Path) -> tuple[int, float]:
        t0 = time.perf_counter()
        code = self.wait(self.start(argv, cwd, stderr))
        return code, time.perf_counter() - t0

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


@pytest.fixture(scope="module", autouse=True)
def _print_tally():
    """After the module: what the campaign ran (shown with pytest -s); each test asserts its own counts."""
    yield
    for name, counts in TALLY.items():
        print(f"{name}: {counts['kills']} kills in {counts['rounds']} rounds ({counts['finished']} finished)")


@pytest.fixture(scope="module")
def forker():
    server = Forker()
    yield server
    server.close()


def snapshot(root: Path, skip: tuple[str, ...]) -> dict[str, str]:
    """sha256 of every file under ``root`` but those under the ``skip`` names (the outputs)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0] in skip or (rel.parts[0].startswith(".") and staging.is_ours(root / rel.parts[0])):
            continue
        out[str(rel)] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def user_files(root: Path) -> None:
    """Files a user keeps beside the outputs, named to tempt a careless clean-up."""
    (root / "notes.txt").write_text("board meeting numbers\n")
    for name in (".run.old-20240105", ".run.tmp-1", f".plan.tmp-{'0' * 32}", ".sw.tmp-2-x"):
        (root / name).mkdir()
        (root / name / "keep.csv").write_text("mine\n")


def unmarked_debris(root: Path, names: tuple[str, ...], user: set[str]) -> list[str]:
    """Hidden entries beside the outputs that are neither the user's nor our marked staging folders."""
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".") and p.name not in user
                  and any(p.name.startswith(f".{n}.") for n in names) and not staging.is_ours(p))


def kill_at(forker: Forker, argv: list[str], cwd: Path, at_s: float) -> int:
    pid = forker.start(argv, cwd, cwd / "stderr.txt")
    time.sleep(at_s)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it is our unreaped child, so it still exists
        pass
    return forker.wait(pid)


def campaign(forker, root: Path, name: str, argv: list[str], check, full_s: float, *, between=None) -> None:
    """Kill ``argv`` KILLS times at seeded moments in [0, 1.15 x full_s]; ``check`` after each round."""
    rng = random.Random(f"{SEED}-{name}")
    user = {p.name for p in root.iterdir()}
    before = snapshot(root, ("stderr.txt", *OUTPUTS))
    kills = rounds = finished = 0
    while kills < KILLS and rounds < 4 * KILLS:
        rounds += 1
        code = kill_at(forker, argv, root, rng.uniform(0.0, 1.15 * full_s))
        err = (root / "stderr.txt").read_text()
        assert "Traceback" not in err and "internal error" not in err, err
        if code == -signal.SIGKILL:
            kills += 1
        else:
            assert code == 0, f"{name} round {rounds}: exit {code}: {err}"
            finished += 1
        check(code)
        assert snapshot(root, ("stderr.txt", *OUTPUTS)) == before, f"{name} round {rounds}: a user file changed"
        assert unmarked_debris(root, OUTPUTS, user) == [], f"{name} round {rounds}"
        if between:
            between(code)
    assert kills >= KILLS, f"{name}: only {kills} kills in {rounds} rounds"
    TALLY[name] = {"rounds": rounds, "kills": kills, "finished": finished}


OUTPUTS = ("run", "plan", "sw", "rep")


def test_kill_9_solve(forker, tmp_path):
    user_files(tmp_path)
    site = write_site(tmp_path / "sites", PRICES, SITE_DOC)
    argv = ["solve", str(site), "--out", "run", "--force"]
    code, full_s = forker.run(argv, tmp_path, tmp_path / "stderr.txt")
    assert code == 0 and folder_is_complete(tmp_path / "run")

    def check(code: int) -> None:  # the old run or the new one, each complete: never a mix, never absent
        assert folder_is_complete(tmp_path / "run"), "run is not a complete run folder"

    campaign(forker, tmp_path, "solve", argv, check, full_s)
    code, _ = forker.run(argv, tmp_path, tmp_path / "stderr.txt")
    assert code == 0 and folder_is_complete(tmp_path / "run")
    assert [p.name for p in tmp_path.iterdir() if staging.is_ours(p)] == []  # the next run cleaned up


def test_kill_9_solve_into_a_new_folder(forker, tmp_path):
    """Without --force into a folder that does not exist yet: absent or complete, never a part."""
    user_files(tmp_path)
    site = write_site(tmp_path / "sites", PRICES, SITE_DOC)
    argv = ["solve", str(site), "--out", "run"]
    code, full_s = forker.run(argv, tmp_path, tmp_path / "stderr.txt")
    assert code == 0

    def check(code: int) -> None:
        out = tmp_path / "run"
        assert not out.exists() or folder_is_complete(out)

    def reset(code: int) -> None:
        out = tmp_path / "run"
        for item in sorted(out.iterdir()) if out.exists() else []:
            item.unlink()
        if out.exists():
            out.rmdir()

    reset(0)
    campaign(forker, tmp_path, "solve (new folder)", argv, check, full_s, between=reset)


def test_kill_9_plan(forker, tmp_path):
    user_files(tmp_path)
    doc = plan_doc(start_year=2026, end_year=2030, price_bins_per_month=4)
    site = write_site(tmp_path / "sites", [20.0 + (h % 24) for h in range(24 * 60)], doc)
    argv = ["plan", str(site), "--out", "plan", "--force"]
    code, full_s = forker.run(argv, tmp_path, tmp_path / "stderr.txt")
    assert code == 0, (tmp_path / "stderr.txt").read_text()
    required = ("plan.csv", "cashflows.csv", "plan_summary.csv", "bau_plan.csv", "manifest.json")
    assert folder_is_complete(tmp_path / "plan", required)

    def check(code: int) -> None:
        assert folder_is_complete(tmp_path / "plan", required)

    campaign(forker, tmp_path, "plan", argv, check, full_s)


def _rows(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        data = fh.read()
    complete = data[:data.rfind("\n") + 1]  # a torn last line is cut off by the next run
    rows = list(csv.DictReader(complete.splitlines()))
    return [(r["scenario_id"], r["site_id"]) for r in rows]


def test_kill_9_sweep_then_resume_holds_every_row_once(forker, tmp_path):
    user_files(tmp_path)
    sites = [write_site(tmp_path / "sites", PRICES, SITE_DOC, site_id=s) for s in ("alpha", "beta")]
    argv = ["sweep", *map(str, sites), "--vary", "mining.hashprice_usd_per_ph_day=30:80:6",
            "--vary", "ai.lease[0].rate_usd_per_kw_month=100,140", "--workers", "1", "--out", "sw"]
    expected = {(f"s{i:05d}", s) for i in range(1, 13) for s in ("alpha", "beta")}
    code, full_s = forker.run(argv, tmp_path, tmp_path / "stderr.txt")
    assert code == 0, (tmp_path / "stderr.txt").read_text()
    rows = _rows(tmp_path / "sw" / "sweep.csv")
    assert sorted(rows) == sorted(expected)
    definition = (tmp_path / "sw" / "sweep.json").read_bytes()
    state = {"completed": 0}

    def check(code: int) -> None:
        out = tmp_path / "sw"
        if not out.exists():
            return  # killed before the claim: nothing there
        assert (out / "sweep.json").read_bytes() == definition  # appears complete with the folder
        if (out / "sweep.csv").exists():
            rows = _rows(out / "sweep.csv")
            assert len(rows) == len(set(rows)) and set(rows) <= expected
            if code == 0:
                assert set(rows) == expected

    def between(code: int) -> None:
        out = tmp_path / "sw"
        if code == 0 and out.exists():  # complete: start the next sweep from nothing
            state["completed"] += 1
            for item in out.iterdir():
                item.unlink()
            out.rmdir()

    between(0)
    campaign(forker, tmp_path, "sweep", argv, check, full_s, between=between)
    code, _ = forker.run(argv, tmp_path, tmp_path / "stderr.txt")  # resume whatever the last kill left
    assert code == 0, (tmp_path / "stderr.txt").read_text()
    rows = _rows(tmp_path / "sw" / "sweep.csv")
    assert sorted(rows) == sorted(expected) and len(rows) == len(expected)
    assert [p.name for p in tmp_path.iterdir() if staging.is_ours(p)] == []


def test_kill_9_report(forker, tmp_path):
    user_files(tmp_path)
    site = write_site(tmp_path / "sites", PRICES[:24 * 7], SITE_DOC)  # a short run: the reports take the time
    code, _ = forker.run(["solve", str(site), "--out", "rep"], tmp_path, tmp_path / "stderr.txt")
    assert code == 0
    run = tmp_path / "rep"
    (run / "my_notes.txt").write_text("kept inside the run folder\n")
    results = {n: hashlib.sha256((run / n).read_bytes()).hexdigest()
               for n in json.loads((run / "manifest.json").read_text())["files"]}
    argv = ["report", "rep", "--format", "html,xlsx"]
    code, full_s = forker.run(argv, tmp_path, tmp_path / "stderr.txt")
    assert code == 0, (tmp_path / "stderr.txt").read_text()

    def check(code: int) -> None:
        manifest = json.loads((run / "manifest.json").read_text())
        assert {n: hashlib.sha256((run / n).read_bytes()).hexdigest() for n in manifest["files"]} == results
        assert (run / "my_notes.txt").read_text() == "kept inside the run folder\n"
        html = (run / "report.html").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>")
        with zipfile.ZipFile(run / "report.xlsx") as book:
            assert book.testzip() is None
        assert set(manifest["reports"]) == {"report.html", "report.xlsx"}
        others = sorted(p.name for p in run.iterdir()
                        if p.name not in {*results, "manifest.json", "report.html", "report.xlsx", "my_notes.txt"})
        assert all(staging.is_ours(run / n) for n in others), others
        if code == 0:
            assert others == []  # a finished report removed what a killed one left

    campaign(forker, tmp_path, "report", argv, check, full_s)
    code, _ = forker.run(argv, tmp_path, tmp_path / "stderr.txt")  # the next report cleans what the kills left
    assert code == 0, (tmp_path / "stderr.txt").read_text()
    check(code)


# ------------------------------------------------------------------ two sweeps racing for one folder


@pytest.mark.parametrize("loser_arrives", ["while the winner writes", "after the winner finished"])
def test_two_different_sweeps_race_for_one_new_folder(tmp_path, monkeypatch, loser_arrives):
    """Both sweeps stage the folder before either claims it; A renames first, then B tries."""
    from allocator.whatif import sweep as sw
    from allocator.whatif import sweep_folder
    from allocator.errors import InputError

    site = write_site(tmp_path / "sites", PRICES[:48], SITE_DOC)
    out = tmp_path / "race"
    a = sw.grid_sweep([site], ["mining.hashprice_usd_per_ph_day=30:80:4"])
    b = sw.grid_sweep([site], ["ai.convertible_mw=10,20,30"])
    both_staged = threading.Barrier(2, timeout=60)
    a_claimed, b_done = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_claim(target: Path) -> None:  # between staging the folder and renaming it into place
        both_staged.wait()
        if threading.current_thread().name == "B":
            assert a_claimed.wait(60)
            if loser_arrives == "after the winner finished":
                assert outcome.get("A") is not None or _wait_for(lambda: "A" in outcome)

    def a_progress(n: int) -> None:
        a_claimed.set()
        if loser_arrives == "while the winner writes":
            assert b_done.wait(60)  # A holds the folder while B tries

    def run(name: str, definition, progress) -> None:
        try:
            outcome[name] = sw.run_sweep(definition, out, workers=1, progress=progress)
        except InputError as err:
            outcome[name] = err
        finally:
            if name == "B":
                b_done.set()

    monkeypatch.setattr(sweep_folder, "_before_claim", slow_claim)
    threads = [threading.Thread(target=run, name="A", args=("A", a, a_progress)),
               threading.Thread(target=run, name="B", args=("B", b, None))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert isinstance(outcome["A"], sw.SweepSummary) and outcome["A"].solved == 4
    err = outcome["B"]
    assert isinstance(err, InputError) and err.exit_code == 1
    words = "another sweep is writing" if loser_arrives == "while the winner writes" else "holds a different sweep"
    assert words in err.render()
    # the folder is A's alone: its definition, its rows once each, nothing left beside it
    definition = json.loads((out / "sweep.json").read_text())
    assert definition["paths"] == ["mining.hashprice_usd_per_ph_day"] and definition["scenarios"] == 4
    assert definition["sites"][0]["sha256"] == json.loads(json.dumps(sw.check_sweep(a)))["sites"][0]["sha256"]
    assert sorted(_rows(out / "sweep.csv")) == [(f"s{i:05d}", "tiny") for i in range(1, 5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race", "sites"]
    monkeypatch.setattr(sweep_folder, "_before_claim", None)
    again = sw.run_sweep(a, out, workers=1)  # the winner resumes: nothing left to do
    assert again.skipped == 4 and again.solved == 0
    with pytest.raises(InputError, match="holds a different sweep"):
        sw.run_sweep(b, out, workers=1)


def _wait_for(condition, timeout_s: float = 60.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


# ------------------------------------------------------------------ a disk that fills


def _full_disk(tmp_path: Path) -> tuple[Path, object]:
    """A 160 KB tmpfs (root on Linux), else None."""
    if os.geteuid() != 0:
        return None, None
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        return None, None
    return mnt, lambda: subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("limit", ["tmpfs", "ulimit -f"])
def test_a_disk_that_fills_leaves_the_old_run(tmp_path, limit):
    """A run that needs more room than there is: exit 1 naming the folder and the reason, old run intact,
    nothing left over. A small tmpfs when the test runs as root and may mount, else RLIMIT_FSIZE."""
    import resource

    small = write_site(tmp_path / "sites", PRICES[:24], SITE_DOC, site_id="small")
    large = write_site(tmp_path / "sites", [30.0 + (h % 11) for h in range(24 * 120)], SITE_DOC, site_id="large")
    preexec, umount, reason = None, None, "no space left on the device [ENOSPC]"
    disk = tmp_path
    if limit == "tmpfs":
        disk, umount = _full_disk(tmp_path)
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (not root?); the ulimit -f case covers a full disk")
    else:
        reason = "a file would exceed the file-size limit [EFBIG]"

        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
    try:
        out = disk / "run"
        (disk / "notes.txt").write_text("mine\n")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "allocator", "solve"]
        first = subprocess.run([*command, str(small), "--out", str(out)], cwd=REPO, env=env, capture_output=True,
                               text=True)
        assert first.returncode == 0, first.stderr
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        full = subprocess.run([*command, str(large), "--out", str(out), "--force"], cwd=REPO, env=env,
                              capture_output=True, text=True, preexec_fn=preexec)
        assert full.returncode == 1, full.stderr
        assert f"--out {out}: cannot be written: {reason}" in full.stderr
        assert "Traceback" not in full.stderr
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert sorted(p.name for p in disk.iterdir() if p.name not in ("sites",)) == ["notes.txt", "run"]
        # a sweep that fills it: the rows written so far are kept whole, and it resumes once there is room
        sweep = [*command[:-1], "sweep", str(small), "--vary", "ai.convertible_mw=1:40:40", "--workers", "1",
                 "--out", str(disk / "sw")]
        stopped = subprocess.run(sweep, cwd=REPO, env=env, capture_output=True, text=True,
                                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000)))
        assert stopped.returncode == 1, stopped.stderr
        assert f"--out {disk / 'sw'}: cannot be written (the rows written so far are kept" in stopped.stderr
        assert "Traceback" not in stopped.stderr
        kept = _rows(disk / "sw" / "sweep.csv")
        assert 0 < len(kept) < 40 and len(kept) == len(set(kept))
        resumed = subprocess.run(sweep, cwd=REPO, env=env, capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert sorted(_rows(disk / "sw" / "sweep.csv")) == [(f"s{i:05d}", "small") for i in range(1, 41)]
    finally:
        if umount:
            umount()
