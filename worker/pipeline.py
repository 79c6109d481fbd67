"""ingest(source, ...) -> RunResult: the one code path of scheduled runs, `ingest` and `backfill`.

fetch -> RawItem* -> clean -> Article -> archive.store, in batches; errors are caught here once.
One broken item is skipped and counted; one broken source is a failed run, recorded with its
error and a backoff; neither stops anything else. With ``workers`` > 1 the cleaning runs in a
process pool too while this process fetches, writes and cleans (see ``worker.parallel``); the cleaners
(``worker.clean.items``) are only imported where they run.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import structlog

from worker.archive import Archive
from worker.errors import FetchError, WorkerError
from worker.models import (
    Article, Checkpoint, FetchStats, Known, RawItem, RunResult, Skipped, Source, Validators,
)
from worker.timefmt import iso_z, utcnow

log = structlog.get_logger("worker.pipeline")

BATCH_SIZE = 200
DEFAULT_INTERVAL = 3600  # backoff base for cron sources
OnItem = Callable[[str, str], None]


class Writer:
    """The run's one writer. Threaded (for backfills), it stores batches in order on a thread
    with its own connection while this thread goes on fetching; at most two batches wait, so
    memory stays bounded. Otherwise it stores each batch at once. A failure to store is raised
    from the next ``submit`` or from ``close``: nothing after it is stored."""

    def __init__(self, archive: Archive, store: Callable, threaded: bool):
        self.archive, self.store, self.error = archive, store, None
        self.queue: queue.Queue | None = queue.Queue(maxsize=2) if threaded else None
        if self.queue is not None:
            self.thread = threading.Thread(target=self._loop, name="writer", daemon=True)
            self.thread.start()

    def submit(self, batch: tuple, finish: Callable | None = None) -> None:
        if self.error is not None:
            raise self.error
        if self.queue is None:
            self.store(self.archive, batch, finish)
        else:
            self.queue.put((batch, finish))

    def close(self) -> None:
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error

    def _loop(self) -> None:
        with Archive(self.archive.path) as own:
            while (job := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self.store(own, *job)
                    except BaseException as exc:  # handed to the fetching thread
                        self.error = exc


class Interrupted(Exception):
    """The service is stopping and this run's time is up."""


@dataclasses.dataclass
class RunContext:
    """What a fetcher may ask of the outside world during one run (see ``fetchers.FetchContext``)."""

    source: Source
    archive: Archive
    http: object | None
    trigger: str = "manual"
    stats: FetchStats = dataclasses.field(default_factory=FetchStats)

    def saved(self, key: str) -> str | None:
        """The value a previous run checkpointed under ``key``."""
        return self.archive.fetch_state(self.source.name, key)

    def validators_for(self, url: str) -> Validators | None:
        raw = self.saved("http:" + url)
        if not raw:
            return None
        data = json.loads(raw)
        return Validators(etag=data.get("etag"), last_modified=data.get("last_modified"))

    def is_archived(self, headline: str) -> bool:
        return self.archive.is_archived(headline)


def fetcher_for(kind: str) -> Callable[[Source, RunContext], Iterator[RawItem | Skipped | Known | Checkpoint]]:
    if kind == "files":
        from worker.fetchers.files import fetch
    elif kind == "feed":
        from worker.fetchers.feed import fetch
    elif kind == "page":
        from worker.fetchers.page import fetch
    elif kind == "sitemap":
        from worker.fetchers.sitemap import fetch
    else:  # config validation makes this unreachable
        raise ValueError(f"unknown source kind {kind!r}")
    return fetch


def next_due(source: Source, failures: int, max_backoff: int, retry_after: float | None, now: datetime) -> str:
    """After a failure: now + interval x 2^failures, jittered and capped, never before Retry-After."""
    interval = source.every or DEFAULT_INTERVAL
    delay = min(interval * 2 ** failures * random.uniform(0.9, 1.1), max_backoff)
    if retry_after:
        delay = max(delay, retry_after)
    return iso_z(now + timedelta(seconds=delay))


def ingest(
    source: Source,
    archive: Archive,
    http: object | None = None,
    *,
    trigger: str = "manual",
    stop: threading.Event | None = None,
    max_backoff: int = 86_400,
    batch_size: int = BATCH_SIZE,
    workers: int = 1,
    on_item: OnItem | None = None,
) -> RunResult:
    """Run one source once and record it. Never raises for anything the source does."""
    from worker.parallel import cleaned

    started_at = utcnow()
    t0 = time.monotonic()
    run_id = archive.start_run(source.name, trigger, started_at)
    ctx = RunContext(source=source, archive=archive, http=http, trigger=trigger)
    counts = {"seen": 0, "new": 0, "duplicates": 0, "skipped": 0}
    pending: list[tuple[Article, str]] = []
    known: list[tuple[str, str]] = []
    checkpoints: list[tuple[Checkpoint, list[str]]] = []
    produced: list[str] = []  # headline hashes since the last checkpoint
    status, error, http_status, retry_after = "ok", None, None, None

    def due_after(failures: int) -> str | None:
        """When a failed source is due again, given its consecutive failures (the archive counts them)."""
        if status != "error":
            return None
        return next_due(source, failures, max_backoff, retry_after, datetime.now(timezone.utc))

    def store(db: Archive, batch: tuple, finish: Callable[[], RunResult] | None) -> None:
        """Store one batch (on the writer's connection); count what it held."""
        articles, marks, seen = batch
        is_new, resighted = db.store(run_id, source.name, articles, marks, seen,
                                     finish=finish() if finish else None, next_due=due_after)
        with lock:
            for (_, locator), new in zip(articles, is_new):
                counts["new" if new else "duplicates"] += 1
                if on_item:
                    on_item("new" if new else "duplicate", locator)
            counts["seen"] += resighted
            counts["duplicates"] += resighted
            if on_item:
                for key, locator in seen:
                    on_item("known", locator)
                for checkpoint, _ in marks:
                    if not checkpoint.partial:  # an input done
                        on_item("checkpoint", checkpoint.key)

    lock = threading.Lock()
    writer = Writer(archive, store, threaded=workers > 1)

    def flush(finish=None) -> None:
        writer.submit((list(pending), list(checkpoints), list(known)), finish)
        pending.clear()
        known.clear()
        checkpoints.clear()

    try:
        for out, cleaned_item in cleaned(fetcher_for(source.kind)(source, ctx), source.name, workers):
            if stop is not None and stop.is_set():
                raise Interrupted()
            if isinstance(out, Checkpoint):
                checkpoints.append((out, produced))
                produced = []
                continue
            if isinstance(out, Known):
                known.append((out.key, out.locator))
            elif isinstance(out, Skipped):
                _skip(counts, lock, source.name, out.locator, out.reason, on_item)
            elif isinstance(cleaned_item, str):
                _skip(counts, lock, source.name, out.locator, cleaned_item, on_item)
            else:
                with lock:
                    counts["seen"] += 1
                pending.append((cleaned_item, out.locator))
                produced.append(cleaned_item.headline_hash)
            if len(pending) + len(known) >= batch_size:
                flush()
    except Interrupted:
        status, error = "interrupted", "the worker stopped before the run finished"
    except FetchError as exc:
        status, error, http_status, retry_after = "error", str(exc), exc.status, exc.retry_after
    except WorkerError as exc:
        status, error = "error", str(exc)
    except Exception as exc:  # the last line of defence: a broken source never stops the service
        log.error("source_failed", source=source.name, error=repr(exc), exc_info=True)
        status, error = "error", f"internal error: {exc!r}"

    stats = ctx.stats

    final: list[RunResult] = []

    def finish() -> RunResult:
        """The run row, made once every earlier batch is stored (their counts are in it)."""
        result = RunResult(
            source=source.name, trigger=trigger, started_at=started_at, finished_at=utcnow(), status=status,
            seen=counts["seen"], new=counts["new"], duplicates=counts["duplicates"], skipped=counts["skipped"],
            http_status=http_status or stats.http_status, not_modified=stats.not_modified, bytes=stats.bytes,
            error=error, run_id=run_id,
        )
        final.append(result)
        return result

    flush(finish)  # the last batch, the run row and the source state together
    writer.close()
    result = dataclasses.replace(final[0], seen=counts["seen"], new=counts["new"], duplicates=counts["duplicates"])
    for warning in stats.warnings:
        log.warning("source_warning", source=source.name, error=warning)
    event = log.info if status == "ok" else log.warning
    event(
        "run_finished", source=source.name, trigger=trigger, status=status, seen=result.seen, new=result.new,
        duplicates=result.duplicates, skipped=result.skipped, http_status=result.http_status,
        not_modified=result.not_modified, duration_ms=int((time.monotonic() - t0) * 1000), error=error,
    )
    return result


def _skip(counts: dict, lock: threading.Lock, source: str, locator: str, reason: str,
          on_item: OnItem | None) -> None:
    log.warning("item_skipped", source=source, url=locator, error=reason)
    with lock:
        counts["seen"] += 1
        counts["skipped"] += 1
        if on_item:
            on_item("skipped", locator)
