"""What --force removes (only what an earlier run recorded) and what it refuses; leftovers; unwritable --out.

Every test hashes the user's files before and after: a refusal must leave
every byte where it was, and a replacement must remove only the files the old
run's manifest.json listed (result files, and reports under ``reports``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from allocator import staging
from allocator.out_check import os_problem
from conftest import REPO, write_site
from run_check import folder_is_complete
from test_cli import DOC, PRICES, invoke
from test_plan import plan_doc


def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` -> sha256 (folders: "dir")."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        out[str(p.relative_to(folder))] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def run(tmp_path):
    """A site in tmp/sites and a complete earlier run in tmp/o/run."""
    site = write_site(tmp_path / "sites", PRICES, DOC)
    out = tmp_path / "o" / "run"
    code, _, err = invoke(["solve", str(site), "--out", str(out)])
    assert code == 0, err
    return site, out


def test_force_replaces_an_earlier_run_and_removes_only_its_files(run):
    site, out = run
    before = json.loads((out / "manifest.json").read_text())
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force", "--set", "ai.convertible_mw=2"])
    assert code == 0, err
    assert folder_is_complete(out)
    assert json.loads((out / "manifest.json").read_text())["created_utc"] >= before["created_utc"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # nothing left beside it


@pytest.mark.parametrize("extra", ["notes.txt", "charts/", "report.html"])
def test_force_refuses_files_no_run_recorded_and_lists_them(run, extra):
    site, out = run
    if extra.endswith("/"):
        (out / extra).mkdir()
        (out / extra / "a.png").write_bytes(b"png")
    else:
        (out / extra).write_text("the user's own words")
    before = tree(out.parent.parent)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 1, err
    assert "1 file that no earlier run recorded: " + extra in err and "nothing was deleted" in err
    assert tree(out.parent.parent) == before


def test_force_refuses_before_solving(run, monkeypatch):
    site, out = run
    (out / "notes.txt").write_text("x")
    import allocator.run.summary

    def no_solve(*args, **kwargs):
        raise AssertionError("solved before refusing")

    monkeypatch.setattr(allocator.run.summary, "solve_summarized", no_solve)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 1 and "notes.txt" in err


def test_force_refuses_a_run_that_reads_its_own_inputs_from_the_folder(run):
    site, out = run
    # the site and its price file copied into the old run folder, and solved from there
    inner = write_site(out, PRICES, DOC)
    before = tree(out)
    code, _, err = invoke(["solve", str(inner), "--out", str(out), "--force"])
    assert code == 1
    assert "holds 2 input files of this run" in err and "tiny.toml" in err and "tiny_prices.csv" in err
    assert tree(out) == before


def test_force_refuses_an_input_named_like_a_result_file(run, tmp_path):
    # a price file that is the old run's own dispatch.csv name: listed by the manifest, still an input
    site, out = run
    (out / "dispatch.csv").write_text("interval_start,price_usd_per_mwh\n2024-01-01T00:00:00Z,20\n")
    doc = {**DOC, "prices": {"file": str(out / "dispatch.csv")}}
    other = write_site(tmp_path / "elsewhere", PRICES, doc, site_id="other")
    code, _, err = invoke(["solve", str(other), "--out", str(out), "--force"])
    assert code == 1 and "holds 1 input file of this run" in err and "dispatch.csv" in err
    assert (out / "dispatch.csv").exists()


def test_force_refuses_a_folder_of_inputs_with_a_stray_manifest(run, tmp_path):
    site, out = run
    sites = site.parent
    (sites / "manifest.json").write_bytes((out / "manifest.json").read_bytes())
    before = tree(sites)
    code, _, err = invoke(["solve", str(site), "--out", str(sites), "--force"])
    assert code == 1 and "input file" in err and "no earlier run recorded" in err
    assert tree(sites) == before


def test_reports_are_recorded_and_replaced_but_a_users_report_is_kept(run):
    site, out = run
    code, _, err = invoke(["report", str(out), "--format", "html"])
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    html = (out / "report.html").read_bytes()
    assert manifest["reports"]["report.html"]["sha256"] == hashlib.sha256(html).hexdigest()
    # a recorded report is the tool's: --force replaces it
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force", "--report", "xlsx"])
    assert code == 0, err
    assert not (out / "report.html").exists()
    assert set(json.loads((out / "manifest.json").read_text())["reports"]) == {"report.xlsx"}
    # a report.html the user put there is never overwritten by `allocator report`
    (out / "report.html").write_text("mine")
    code, _, err = invoke(["report", str(out), "--format", "html"])
    assert code == 1 and "report.html: exists and the folder's manifest.json does not record it" in err
    assert (out / "report.html").read_text() == "mine"


@pytest.mark.parametrize("command", ["plan", "breakeven", "portfolio"])
def test_every_folder_writing_command_refuses_unknown_files(tmp_path, command):
    if command == "plan":
        site = write_site(tmp_path / "sites", [20.0] * 24, plan_doc())
        args = ["plan", str(site)]
    elif command == "breakeven":
        site = write_site(tmp_path / "sites", PRICES, DOC)
        args = ["breakeven", str(site), "--param", "mining.hashprice_usd_per_ph_day", "--points", "3"]
    else:
        site = write_site(tmp_path / "sites", PRICES, DOC)
        portfolio = tmp_path / "sites" / "portfolio.toml"
        portfolio.write_text("capex_budget_usd = 1e9\n")
        args = ["solve", str(site), "--portfolio", str(portfolio)]
    out = tmp_path / "out"
    code, _, err = invoke([*args, "--out", str(out)])
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["tool"] == "allocator"
    code, _, err = invoke([*args, "--out", str(out), "--force"])  # a run of its own kind is replaced
    assert code == 0, err
    (out / "notes.txt").write_text("keep")
    code, _, err = invoke([*args, "--out", str(out), "--force"])
    assert code == 1 and "notes.txt" in err
    assert (out / "notes.txt").read_text() == "keep"


# ------------------------------------------------------------------ leftovers


def test_a_users_folder_named_like_a_leftover_survives(run):
    site, out = run
    user = out.parent / ".run.old-20240105"
    user.mkdir()
    (user / "budget.xlsx").write_bytes(b"mine")
    legacy = out.parent / ".run.tmp-1-abc"  # the old pattern: a dead "PID" is no proof
    legacy.mkdir()
    (legacy / "x.csv").write_text("1")
    fake = out.parent / f".run.tmp-{'a' * 32}"  # our pattern, but no marker
    fake.mkdir()
    (fake / "y.csv").write_text("2")
    before = tree(out.parent)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 0, err
    after = tree(out.parent)
    assert {k: v for k, v in after.items() if not k.startswith("run")} == \
        {k: v for k, v in before.items() if not k.startswith("run")}


def _dead_staging(parent: Path, target: str, *, pid: int | None = None) -> Path:
    """A marked staging folder whose owner is a process that has exited."""
    stage = staging.Staging(parent, target)
    stage.release()
    marker = json.loads((stage.marker).read_text())
    if pid is None:
        child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                               text=True, check=True)
        pid = int(child.stdout)
    marker["pid"], marker["started"] = pid, staging._started(pid)
    (stage.marker).write_text(json.dumps(marker))
    (stage.path / "run").mkdir()
    (stage.path / "run" / "split.csv").write_text("half")
    return stage.path


def test_only_marked_leftovers_of_dead_processes_are_removed(run):
    site, out = run
    if staging._started(os.getpid()) is None:
        pytest.skip("no process start times here (/proc)")
    dead = _dead_staging(out.parent, "run")
    alive = _dead_staging(out.parent, "run", pid=os.getppid())  # our parent runs
    reused = _dead_staging(out.parent, "run", pid=os.getppid())  # the PID runs, but it is another process
    marker = json.loads(staging.marker_of(reused).read_text())
    staging.marker_of(reused).write_text(json.dumps({**marker, "started": marker["started"] - 1}))
    other_host = _dead_staging(out.parent, "run")
    marker = json.loads(staging.marker_of(other_host).read_text())
    staging.marker_of(other_host).write_text(json.dumps({**marker, "host": "another-machine"}))
    other_target = _dead_staging(out.parent, "results")
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 0, err
    assert not dead.exists() and not reused.exists()
    assert alive.exists() and other_host.exists() and other_target.exists()


def test_a_live_staging_folder_inside_a_run_stops_force(run):
    site, out = run
    stage = staging.Staging(out, "report")  # this process: alive while its token is in use
    try:
        code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
        assert code == 1 and "is being written by another allocator process" in err
    finally:
        stage.remove()
    _dead_staging(out, "report")  # a killed `allocator report`: ours, removed with the old run
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 0, err and folder_is_complete(out)


def test_killed_report_staging_is_cleaned_by_the_next_report(run):
    site, out = run
    dead = _dead_staging(out, "report")
    (out / "notes.txt").write_text("keep")
    code, _, err = invoke(["report", str(out), "--format", "html"])
    assert code == 0, err
    assert not dead.exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert (out / "notes.txt").read_text() == "keep"


def test_without_renameat2_the_old_run_is_moved_aside_then_removed(run, monkeypatch):
    from allocator.reports import run_folder

    site, out = run
    monkeypatch.setattr(run_folder, "_exchange", lambda a, b: False)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force", "--set", "ai.convertible_mw=1"])
    assert code == 0, err
    assert folder_is_complete(out) and sorted(p.name for p in out.parent.iterdir()) == ["run"]


def test_a_run_killed_between_the_two_renames_gets_its_old_folder_back(run):
    site, out = run
    before = tree(out)
    stage = _dead_staging(out.parent, "run")
    os.rename(out, stage / "old")  # what a kill -9 between "old run aside" and "new run in" leaves
    assert not out.exists()
    staging.remove_leftovers(out.parent, "run")
    assert tree(out) == before and not stage.exists()


# ------------------------------------------------------------------ unwritable --out


@pytest.mark.parametrize("name", [".", "..", "o/..", "/"])
def test_out_dot_and_dotdot_are_refused(run, name):
    site, _ = run
    code, _, err = invoke(["solve", str(site), "--out", name, "--force"])
    assert code == 1 and "names the current folder, its parent or the root" in err


def test_out_holding_the_working_folder_is_refused(run, monkeypatch):
    site, out = run
    monkeypatch.chdir(out)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 1 and "holds the current folder" in err
    assert folder_is_complete(out)


def test_parent_that_is_a_file_and_a_name_too_long(run, tmp_path):
    site, _ = run
    (tmp_path / "afile").write_text("x")
    code, _, err = invoke(["solve", str(site), "--out", str(tmp_path / "afile" / "run")])
    assert code == 1 and f"--out {tmp_path / 'afile' / 'run'}: cannot be written: a part of the path is a file" in err
    assert "[ENOTDIR]" in err
    code, _, err = invoke(["solve", str(site), "--out", str(tmp_path / ("n" * 300))])
    assert code == 1 and "the name is too long [ENAMETOOLONG]" in err
    deep = tmp_path / "/".join(["d" * 250] * 20)  # every name fits, the path does not
    code, _, err = invoke(["solve", str(site), "--out", str(deep)])
    assert code == 1 and "[ENAMETOOLONG]" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "o", "sites"]


def test_proc_is_refused_with_the_os_reason(run):
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    site, _ = run
    code, _, err = invoke(["solve", str(site), "--out", "/proc/allocator-run"])
    assert code == 1 and "--out /proc/allocator-run: cannot be written" in err and "[E" in err


def test_os_reasons_are_named():
    for code, words in ((errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
                        (errno.ENOSPC, "no space left"), (errno.EFBIG, "file-size limit"),
                        (errno.ENAMETOOLONG, "too long"), (errno.ENOTDIR, "is a file")):
        problem = os_problem(Path("runs/x"), OSError(code, os.strerror(code)))
        assert problem.where == "--out runs/x" and words in problem.message and errno.errorcode[code] in problem.message


def _root_mount(tmp_path: Path, options: str) -> Path:
    """A tmpfs mounted at tmp_path/mnt with ``options`` (root on Linux only), or skip."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return mnt


def test_read_only_file_system_is_refused_before_solving(run, tmp_path):
    site, _ = run
    mnt = _root_mount(tmp_path, "size=64k,ro")
    try:
        for command in (["solve", str(site)], ["sweep", str(site), "--vary", "ai.convertible_mw=1,2"]):
            code, _, err = invoke([*command, "--out", str(mnt / "run")])
            assert code == 1 and f"--out {mnt / 'run'}: cannot be written: the file system is read-only" in err
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_sweep_into_unwritable_places(run, tmp_path):
    site, _ = run
    (tmp_path / "afile").write_text("x")
    vary = ["--vary", "ai.convertible_mw=1,2", "--workers", "1"]
    for out, words in ((".", "names the current folder"), (str(tmp_path / "afile" / "sw"), "[ENOTDIR]"),
                       (str(tmp_path / ("n" * 300)), "[ENAMETOOLONG]")):
        code, _, err = invoke(["sweep", str(site), *vary, "--out", out])
        assert code == 1 and words in err, err


def test_file_size_limit_mid_write(run, tmp_path):
    """RLIMIT_FSIZE (ulimit -f) stops the write: exit 1 naming the folder and EFBIG; old run intact."""
    import resource

    site, out = run
    before = tree(out.parent)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    big = write_site(tmp_path / "big", [30.0 + (h % 7) for h in range(24 * 60)], DOC)
    done = subprocess.run([sys.executable, "-m", "allocator", "solve", str(big), "--out", str(out), "--force"],
                          cwd=REPO, capture_output=True, text=True, preexec_fn=limit)
    assert done.returncode == 1, done.stderr
    assert f"--out {out}: cannot be written: a file would exceed the file-size limit [EFBIG]" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree(out.parent) == before  # the old run, byte for byte, and nothing beside it


def test_a_failed_second_rename_puts_the_old_run_back(run, monkeypatch):
    from allocator.reports import run_folder

    site, out = run
    before = tree(out.parent)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name == "run" and Path(dst) == out:  # the new run into place
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(run_folder, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", rename)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    assert code == 1 and f"--out {out}: cannot be written" in err
    assert tree(out.parent) == before


@pytest.mark.parametrize("where", ["before_the_with_block", "in_the_clean_up"])
def test_an_interrupt_outside_the_folders_own_clean_up_leaves_nothing_staged(run, monkeypatch, where):
    """Ctrl-C / SIGTERM (a KeyboardInterrupt) where no ``with`` block holds the staging folder: right after it
    is made, or a second one while the first is being cleaned up. The command still ends with exit 130,
    the earlier run intact and no staging folder or marker left beside it."""
    from allocator.reports import run_folder

    site, out = run
    before = tree(out)
    real_mkdir = os.mkdir

    def mkdir_then_interrupt(path, *args, **kwargs):
        real_mkdir(path, *args, **kwargs)
        if Path(path).name == "run" and Path(path).parent.name.startswith(".run.tmp-"):
            raise KeyboardInterrupt

    def interrupted_clean_up(self):
        raise KeyboardInterrupt  # a second signal before the staging folder is removed

    def write_then_interrupt(self, name, text):
        raise KeyboardInterrupt

    if where == "before_the_with_block":
        monkeypatch.setattr(run_folder.os, "mkdir", mkdir_then_interrupt)
    else:
        monkeypatch.setattr(run_folder.RunFolder, "discard", interrupted_clean_up)
        monkeypatch.setattr(run_folder.RunFolder, "write_text", write_then_interrupt)
    code, _, err = invoke(["solve", str(site), "--out", str(out), "--force"])
    monkeypatch.setattr(run_folder.os, "mkdir", real_mkdir)
    assert code == 130, err
    assert "interrupted" in err
    assert tree(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]
    assert not staging._ACTIVE
