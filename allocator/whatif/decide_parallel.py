"""Where the futures of ``decide`` live: this process, worker processes, or a Dask cluster.

:class:`Scenarios` splits a site's scenarios into consecutive parts, one
:class:`~allocator.whatif.decide_engine.Shard` each: in this process (``--workers 1``),
in spawned worker processes that answer over a pipe (:class:`ShardProcess`),
or as Dask actors on an existing cluster (``--dask-scheduler``). A shard keeps
its futures' models between the cutting planes' iterations, so only a first
stage goes out and the evaluations come back, always in scenario order.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .decide_engine import MEMORY_BYTES, CandidateNets, Shard
from .decide_program import Evaluation
from .decide_scenarios import PriceSampling, Scenario
from ..errors import InputError, Problem
from ..worker_signals import held, worker_started


#: a worker reports its progress at most this often [s]
PROGRESS_EVERY_S = 0.25


def _ticker(conn) -> Callable[[int], None]:
    """Send ``("progress", done)`` over ``conn``, at most every :data:`PROGRESS_EVERY_S`."""
    last = [0.0]

    def tick(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            conn.send(("progress", done))
    return tick


def _serve(conn, args) -> None:
    """A worker process: load a shard, then answer ``(method, argument)`` requests until ``None``;
    ``("progress", futures done)`` messages come before each answer. A parent that is gone (an
    interrupted run closed the pipe) ends it quietly: nobody is left to read an answer or a traceback."""
    worker_started()  # the parent held the signals back while starting us (ShardProcess)
    try:
        _answer(conn, args)
    except _ParentGone:
        return


class _ParentGone(Exception):
    """The pipe to the parent is closed."""


def _answer(conn, args) -> None:
    def send(message) -> None:
        try:
            conn.send(message)
        except (EOFError, OSError) as err:
            raise _ParentGone from err

    def tick(done: int, _progress=_ticker(conn)) -> None:
        try:
            _progress(done)
        except (EOFError, OSError) as err:
            raise _ParentGone from err

    try:
        shard = Shard(*args, tick=tick)
    except _ParentGone:
        raise
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which raises it
        send(("error", err))
        return
    send(("ok", shard.infos))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError) as err:
            raise _ParentGone from err
        if request is None:
            return
        method, arg = request
        try:
            result = getattr(shard, method)(*arg)
        except _ParentGone:
            raise
        except BaseException as err:  # noqa: BLE001
            send(("error", err))
            continue
        send(("ok", result))


class ShardProcess:
    """A :class:`Shard` in its own (spawned) process, answering over a pipe."""

    def __init__(self, args: tuple) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, args), daemon=True)
        # a Ctrl-C or SIGTERM while the parent hands the new process its start-up data would leave it
        # half-fed, and it would print the interpreter's EOFError traceback: signals wait until it has
        # them (the child inherits the blocked mask and lifts it first thing, in _serve)
        with held():
            self.process.start()
        child.close()
        self.infos = None

    def receive(self, on_progress: Callable[[int], None] | None = None):
        """The answer to the last request (progress messages before it go to ``on_progress``)."""
        while True:
            status, value = self.conn.recv()
            if status == "progress":
                if on_progress is not None:
                    on_progress(value)
                continue
            if status == "error":
                raise value
            return value

    def send(self, method: str, *arg) -> None:
        self.conn.send((method, arg))

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _split(scenarios: list[Scenario], n: int) -> list[list[Scenario]]:
    """``n`` consecutive parts of nearly equal size."""
    bounds = np.linspace(0, len(scenarios), n + 1).round().astype(int)
    return [scenarios[bounds[i]:bounds[i + 1]] for i in range(n)]


class Scenarios:
    """Every scenario of one site spread over shards (in-process or worker processes), in scenario order.

    Parameters
    ----------
    site_path : str
    scenarios : list of Scenario
    workers : int
        1: every scenario in this process; more: that many worker processes.
    dask_scheduler : str, optional
        Address of a Dask scheduler: the scenarios live on its workers instead (as actors).
    progress : callable, optional
        Called with (futures done, futures) during each pass over the futures (loading, evaluating);
        from worker processes every :data:`PROGRESS_EVERY_S`, from a Dask cluster not at all.
    """

    def __init__(self, site_path: str, scenarios: list[Scenario], prices: PriceSampling | None = None,
                 seed: int | None = None, workers: int = 1, time_limit_s: float | None = None,
                 structured: bool = True, memory_bytes: int = MEMORY_BYTES, dask_scheduler: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.progress = progress
        self.total = len(scenarios)
        self.processes: list[ShardProcess] = []
        self.local: Shard | None = None
        self.actors: list = []
        self.actor_futures: list = []
        self.client = None
        args = (prices, seed, time_limit_s, structured, memory_bytes)
        if dask_scheduler is not None:
            self._on_dask(dask_scheduler, site_path, scenarios, workers, args)
            return
        n = max(1, min(workers, len(scenarios)))
        parts = _split(scenarios, n)
        if n == 1:
            self.local = Shard(site_path, scenarios, *args, tick=self._local_tick)
            self.infos = self.local.infos
            return
        try:
            self.processes = [ShardProcess((site_path, part, *args)) for part in parts]
            self.infos = [info for part in self._gather() for info in part]
        except BaseException:
            self.close()
            raise

    def _on_dask(self, address: str, site_path: str, scenarios: list[Scenario], workers: int, args: tuple) -> None:
        """Shards as Dask actors: each lives on a worker of the cluster and keeps its futures between calls."""
        from .dask_scheduler import dask_client

        self.client = dask_client(address)
        try:
            n_workers = max(1, len(self.client.scheduler_info().get("workers", {})))
            n = max(1, min(max(workers, n_workers), len(scenarios)))
            # the futures are kept: Dask releases an actor whose future is dropped
            self.actor_futures = [self.client.submit(Shard, site_path, part, *args, actor=True, pure=False)
                                  for part in _split(scenarios, n)]
            self.actors = [f.result() for f in self.actor_futures]
            calls = [a.scenario_infos() for a in self.actors]
            self.infos = [info for call in calls for info in call.result()]
        except BaseException:
            self.close()
            raise

    def _local_tick(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, self.total)

    def _gather(self) -> list:
        """Every worker's answer, in worker order, passing their progress on as it comes."""
        from multiprocessing.connection import wait

        done = [0] * len(self.processes)
        answers: list = [None] * len(self.processes)
        waiting = {p.conn: i for i, p in enumerate(self.processes)}

        def on_progress(i: int, k: int) -> None:
            done[i] = k
            self._local_tick(sum(done))

        while waiting:
            for conn in wait(list(waiting)):
                i = waiting[conn]
                status, value = conn.recv()
                if status == "progress":
                    on_progress(i, value)
                    continue
                del waiting[conn]
                if status == "error":
                    for p in self.processes:  # read the others' answers: their pipes stay in step
                        if p.conn in waiting:
                            try:
                                p.receive()
                            except BaseException:  # noqa: BLE001 - the first error is the one raised
                                pass
                    raise value
                answers[i] = value
        self._local_tick(self.total)  # the workers' last counts may not have been sent (they are throttled)
        return answers

    def _all(self, method: str, *arg) -> list:
        if self.local is not None:
            return getattr(self.local, method)(*arg)
        if self.actors:
            calls = [getattr(a, method)(*arg) for a in self.actors]
            return [item for call in calls for item in call.result()]
        for p in self.processes:
            p.send(method, *arg)
        return [item for part in self._gather() for item in part]

    def evaluate(self, y: np.ndarray) -> list[Evaluation]:
        """Every scenario's second stage at ``y``, in scenario order."""
        return self._all("evaluate", np.asarray(y, float))

    def own_optima(self, ids: list[str] | None = None) -> list[tuple[float, np.ndarray]]:
        """Scenarios alone (every one, or those of ``ids``): (annualized optimum [USD/year], first stage [IT MW])."""
        return self._all("own_optima", ids)

    def candidates(self, ys: list[np.ndarray]) -> list[CandidateNets]:
        """Every scenario's own optimum and its net under each first stage of ``ys``, in scenario order."""
        return self._all("candidates", [np.asarray(y, float) for y in ys])

    def close(self) -> None:
        for p in self.processes:
            p.close()
        self.processes = []
        self.actors = []
        self.actor_futures = []
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> Scenarios:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
