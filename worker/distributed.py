"""Backfills on a Dask cluster: fetch and clean on the cluster's workers, one writer here.

``connect(spec)`` starts a LocalCluster (``local``, ``local:N``) or joins a running scheduler
(``tcp://HOST:PORT``); Dask is imported only then (the ``[distributed]`` extra). A
``Dispatcher`` sends the partitions of every source (``worker.partitions``) to the cluster as
tasks (``worker.cluster_tasks.run_partition``), at most ``window`` at once, and hands each
source's run (``pipeline.ingest``, through its ``stream``) the outcomes of that source's
partitions in partition order. So the one writer stores what a local backfill of the same inputs
stores, in the same order and the same batches: the same article ids, versions and clusters.

Faults: a worker that dies mid-task has its tasks run again elsewhere by Dask; results are kept
by partition and each is stored once. A partition that kills workers again and again
(``KilledWorker``) is reported as one skipped item per input, by name, and the rest goes on.
A run stopped any way passes over, on the next run, every partition whose inputs were stored.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from worker.archive import Archive
from worker.cluster_tasks import Outcome, Task, run_partition
from worker.errors import ConfigError, WorkerError
from worker.models import Config, HttpSettings, RunResult, Skipped, Source
from worker.parallel import Cleaned, default_workers
from worker.partitions import BYTES, FILES, Partition, passed_over, plan
from worker.run import OnItem, RunContext

log = structlog.get_logger("worker.cluster")

WINDOW_PER_THREAD = 2  # tasks in flight per worker thread: the next one waits while one runs
WINDOW_MIN = 4
CONNECT_TIMEOUT = "20s"


def parse_cluster(spec: str) -> tuple[str, int | None]:
    """``local``, ``local:N`` or a scheduler address (``tcp://HOST:PORT``) -> (address or
    "local", N)."""
    if m := re.fullmatch(r"local(?::(\d+))?", spec.strip()):
        n = int(m.group(1)) if m.group(1) else None
        if n is not None and not 1 <= n <= 1024:
            raise ConfigError(f"--cluster: local:N takes 1 to 1024 workers, got {n}")
        return "local", n
    if re.fullmatch(r"(tcp|tls|ucx|ws|wss)://[^\s/]+:\d+/?", spec.strip()):
        return spec.strip().rstrip("/"), None
    raise ConfigError(f"--cluster: expected local, local:N or tcp://HOST:PORT, got {spec!r}")


@contextmanager
def connect(spec: str) -> Iterator[Any]:
    """A Dask client: of a LocalCluster of N single-threaded worker processes (default: one per
    core) started here and stopped on the way out, or of the scheduler at the address given."""
    address, n = parse_cluster(spec)
    try:
        import distributed
    except ImportError:
        raise WorkerError(
            "--cluster needs Dask: pip install 'news-archive-worker[distributed]' (here and on every worker)"
        ) from None
    cluster = None
    try:
        if address == "local":
            cluster = distributed.LocalCluster(
                n_workers=n or default_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:8787",
            )
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise WorkerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dashboard(client) -> str | None:
    """The link to the cluster's dashboard, when one runs (it needs bokeh on the scheduler)."""
    try:
        services = client.scheduler_info()["services"]
    except (OSError, KeyError, TimeoutError):
        return None
    return client.dashboard_link if "dashboard" in services else None


@dataclass
class _Entry:
    """A partition on its way: sent to the cluster (``future``), or passed over (``outputs``)."""

    partition: Partition
    future: Any = None
    outputs: tuple | None = None


@dataclass
class Totals:
    """What the cluster did: tasks sent, partitions passed over, seconds the tasks took on their
    workers (and on a core), pages they cleaned, partitions lost to workers that died."""

    tasks: int = 0
    passed_over: int = 0
    task_seconds: float = 0.0
    task_cpu_seconds: float = 0.0
    pages: int = 0
    lost: int = 0


class Dispatcher:
    """Sends the partitions of a backfill's sources to the cluster and hands each source's run
    its outcomes in order (``stream`` is ``pipeline.ingest``'s ``stream``; the sources must run in
    the order given). At most ``window`` tasks are in flight, and what they return waits on the
    workers until its turn: a fast cluster never fills this process's memory."""

    def __init__(
        self,
        client,
        sources: Sequence[Source],
        *,
        http: HttpSettings,
        files: int = FILES,
        size: int = BYTES,
        log_level: str = "info",
        window: int | None = None,
    ):
        self.client, self.sources, self.http, self.log_level = client, list(sources), http, log_level
        self.fixed_window = window
        self.totals = Totals()
        self.token = uuid.uuid4().hex[:12]
        self._plan = plan(self.sources, files=files, size=size)
        self._next: Partition | None = None
        self._pending: deque[_Entry] = deque()
        self._keys: dict[int, set[str]] = {}  # per run: the checkpoint keys its partitions store
        self._current = -1
        self._archive: Archive | None = None
        self._window, self._window_at = WINDOW_MIN, 0.0

    def stream(self, source: Source, ctx: RunContext) -> Iterator[tuple[object, Cleaned]]:
        """Every output of ``source``'s partitions with its cleaned article, in order."""
        self._current += 1
        if self.sources[self._current] is not source:
            raise WorkerError("the sources of a cluster backfill run in the order they were given")
        self._archive = ctx.archive
        self._drop(self._current - 1)  # what an earlier run left when it failed is not read
        for run in [r for r in self._keys if r < self._current]:
            del self._keys[run]  # stored: its run has finished
        while True:
            self._fill()
            if not self._pending or self._pending[0].partition.run != self._current:
                return
            yield from self._outcome(self._pending.popleft(), ctx)

    def _fill(self) -> None:
        """Send partitions until the window is full. A partition of a later source that stores
        a checkpoint an earlier, unfinished one also stores waits (it must see what that stored)."""
        window = self._size()
        while sum(e.future is not None for e in self._pending) < window and len(self._pending) < 4 * window:
            p = self._peek()
            if p is None:
                return
            if self._waits(p):
                return
            self._next = None
            self._keys.setdefault(p.run, set()).update(p.checkpoint_keys())
            self._pending.append(self._send(p))

    def _waits(self, p: Partition) -> bool:
        earlier = set().union(*(self._keys.get(r, ()) for r in range(p.run)))
        return p.run != self._current and bool(p.checkpoint_keys() & earlier)

    def _send(self, p: Partition) -> _Entry:
        assert self._archive is not None
        saved = {k: v for k in p.checkpoint_keys() if (v := self._archive.fetch_state(p.source.name, k)) is not None}
        done = passed_over(p, saved.get)
        if done is not None:
            self.totals.passed_over += not p.local
            return _Entry(p, outputs=done)
        self.totals.tasks += 1
        task = Task(p, saved, self.http, self.log_level)
        return _Entry(p, future=self.client.submit(run_partition, task, key=f"backfill-{self.token}-{p.index}"))

    def _outcome(self, entry: _Entry, ctx: RunContext) -> Iterator[tuple[object, Cleaned]]:
        p = entry.partition
        if entry.outputs is not None:
            for out in entry.outputs:
                yield out, None
            return
        outcome = self._result(entry)
        if outcome is None:  # lost: each input reported by name
            for part in p.parts:
                where = part.where + (f"@{part.start}" if part.kind == "warc_range" else "")
                yield Skipped(p.source.name, where, "a cluster worker died each time it read this; run again"), None
            return
        self.totals.task_seconds += outcome.seconds
        self.totals.task_cpu_seconds += outcome.cpu_seconds
        self.totals.pages += outcome.pages
        _add_stats(ctx, outcome)
        yield from outcome.pairs
        if outcome.error is not None:
            self._drop(self._current)
            raise outcome.error

    def _result(self, entry: _Entry) -> Outcome | None:
        """The task's outcome, or None when the workers running it died too often."""
        from distributed import KilledWorker

        try:
            outcome: Outcome = entry.future.result()
            return outcome
        except KilledWorker as exc:
            self.totals.lost += 1
            log.error("partition_lost", source=entry.partition.source.name, url=entry.partition.name(), error=str(exc))
            return None
        except (CancelledError, OSError, TimeoutError) as exc:
            raise WorkerError(f"lost the Dask cluster: {exc!r}") from None
        except Exception as exc:  # the task itself failed on the cluster: its source's run fails
            raise WorkerError(f"{entry.partition.name()}: the task failed on the cluster: {exc!r}") from None
        finally:
            entry.future.release()

    def _drop(self, upto: int) -> None:
        """The runs up to ``upto`` are over (one failed): the rest of their partitions are not read."""
        while self._pending and self._pending[0].partition.run <= upto:
            entry = self._pending.popleft()
            if entry.future is not None:
                entry.future.cancel()
        while (p := self._peek()) is not None and p.run <= upto:
            self._next = None

    def _peek(self) -> Partition | None:
        if self._next is None:
            self._next = next(self._plan, None)
        return self._next

    def _size(self) -> int:
        """Tasks in flight: a few per worker thread (the cluster may grow or shrink meanwhile)."""
        if self.fixed_window:
            return self.fixed_window
        if time.monotonic() - self._window_at > 1.0:
            threads = sum(self.client.nthreads().values())
            self._window, self._window_at = max(WINDOW_MIN, WINDOW_PER_THREAD * threads), time.monotonic()
        return self._window

    def close(self) -> None:
        """Cancel what is still in flight (after an interruption)."""
        for entry in self._pending:
            if entry.future is not None:
                entry.future.cancel()
        self._pending.clear()


def _add_stats(ctx: RunContext, outcome: Outcome) -> None:
    got, stats = outcome.stats, ctx.stats
    stats.bytes += got.bytes
    stats.requests += got.requests
    stats.warnings.extend(got.warnings)
    stats.http_status = got.http_status or stats.http_status
    stats.not_modified = stats.not_modified or got.not_modified


def backfill_on_cluster(
    config: Config,
    sources: Sequence[Source],
    spec: str,
    *,
    on_item: OnItem | None = None,
    optimize: bool | None = None,
    files: int = FILES,
    size: int = BYTES,
    log_level: str = "info",
    tell: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """``worker backfill --cluster``: the sources fetched and cleaned on the cluster, stored here
    (``backfill.run_backfill`` with the dispatcher's stream). ``tell`` gets the dashboard link."""
    from worker.backfill import run_backfill

    with connect(spec) as client:
        if tell and (link := dashboard(client)):
            tell(link)
        dispatcher = Dispatcher(client, sources, http=config.http, files=files, size=size, log_level=log_level)
        t0 = time.monotonic()
        try:
            results = run_backfill(config, sources, on_item=on_item, optimize=optimize, stream=dispatcher.stream)
        finally:
            dispatcher.close()
            t = dispatcher.totals
            log.info(
                "cluster_finished",
                tasks=t.tasks,
                passed_over=t.passed_over,
                lost=t.lost,
                pages=t.pages,
                task_seconds=round(t.task_seconds, 3),
                task_cpu_seconds=round(t.task_cpu_seconds, 3),
                threads=sum(client.nthreads().values()),
                duration_ms=int((time.monotonic() - t0) * 1000),
            )
    return results
