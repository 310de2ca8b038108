"""Start `allocator` commands as real processes in milliseconds, so tests can kill -9 many of them.

A fresh Python spends most of a short command importing pandas, HiGHS and
pydantic; a kill at a random moment of that would mostly hit the imports.
This server imports allocator once, then forks one child per request; the
child runs the command (``allocator.cli.main``) and ends with its exit code.
The test sends SIGKILL to the child's PID itself: a real process dies in the
middle of real work, with its files half-written wherever it was.

Protocol (one JSON object per line on stdin, one reply per line on stdout):
``{"run": [...argv...], "cwd": DIR, "stderr": FILE}`` -> ``{"pid": PID}``;
``{"wait": PID}`` -> ``{"code": EXIT_CODE}`` (negative: killed by that signal).
"""

from __future__ import annotations

import json
import os
import sys


def _warm() -> None:
    import allocator.cli  # noqa: F401
    import allocator.plan.site_plan  # noqa: F401
    import allocator.reports.excel  # noqa: F401
    import allocator.reports.html  # noqa: F401
    import allocator.reports.report  # noqa: F401
    import allocator.whatif.reuse  # noqa: F401
    import allocator.run.summary  # noqa: F401
    import allocator.whatif.sweep  # noqa: F401


def _child(request: dict) -> None:
    try:
        os.chdir(request["cwd"])
        null = os.open(os.devnull, os.O_RDWR)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        from allocator.cli import main

        code = main(request["run"])
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - the child must never return into the server's loop
        code = 99
    os._exit(code)


def serve() -> None:
    _warm()
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            pid = os.fork()
            if pid == 0:
                _child(request)
            print(json.dumps({"pid": pid}), flush=True)
        elif "wait" in request:
            _, status = os.waitpid(request["wait"], 0)
            print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
