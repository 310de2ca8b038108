"""A long plan says how it is going and obeys Ctrl-C at once, leaving nothing behind.

`allocator plan --bins-per-month 0` solves every hour of 15 years (430k rows): tens of seconds
per LP. It used to print nothing until the end and to take the signal only when HiGHS was done.
Here a real SIGINT goes to the real command in a subprocess once its first progress line is out;
the test measures how long the process takes to end (the bound is generous for a loaded machine;
the team measures about 0.3 s) and checks that --out was never created.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from conftest import REPO

#: the process must be gone this long after SIGINT [s] (the promise is 2 s; a shared 2-core machine)
STOP_BOUND_S = 10.0
#: the first progress line comes after 5 s of solving, after ~2 s of loading [s]
FIRST_LINE_WITHIN_S = 90.0


def test_every_hour_plan_shows_progress_and_stops_on_sigint(tmp_path):
    out = tmp_path / "plan"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "allocator", "plan", "sites/west_texas.toml",
                             "--bins-per-month", "0", "--out", str(out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    first = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        shown = first.wait(FIRST_LINE_WITHIN_S)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        stop_s = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    stdout = proc.stdout.read()
    proc.stdout.close()
    proc.stderr.close()
    print(f"stopped {stop_s:.2f} s after SIGINT")  # the figure, with pytest -s
    assert shown, "no progress line on stderr while the plan solved"
    assert lines[0].startswith("plan: solving the plan LP of west_texas (")
    assert "rows x" in lines[0] and " s, " in lines[0]
    assert stop_s < STOP_BOUND_S, f"took {stop_s:.1f} s to stop after SIGINT"
    assert proc.returncode == 130
    assert "interrupted" in "".join(lines) and "Traceback" not in "".join(lines)
    assert "NPV" not in stdout  # stopped before any result
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary folder left either


def test_short_plan_prints_no_progress(tmp_path):
    from test_cli import invoke
    from test_plan import plan_doc

    from conftest import write_site

    code, _, err = invoke(["plan", str(write_site(tmp_path, [20.0] * 24, plan_doc()))])
    assert code == 0 and err == ""
