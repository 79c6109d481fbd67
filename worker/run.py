"""One run of one source: its counts, its batches, its context and its result.

``pipeline.ingest`` drives a ``Run``: each fetched-and-cleaned output is taken into the pending
batch, full batches go to the ``Writer`` (``worker.writer``), and the last batch lands in one transaction with the
run row and the source's state. Counts are kept here and only here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from worker import backoff, polling
from worker.errors import FetchError, WorkerError
from worker.models import (
    Article,
    CaptureRef,
    Checkpoint,
    FetchStats,
    HttpResponse,
    Known,
    RunResult,
    SchedulerSettings,
    Seen,
    Skipped,
    Source,
    SourceState,
    Validators,
)
from worker.timefmt import iso_z, utcnow

if TYPE_CHECKING:
    from worker.archive import Archive, Batch, Stored
    from worker.captures import Captures
    from worker.fetchers import HttpClient

log = structlog.get_logger("worker.pipeline")

OnItem = Callable[[str, str], None]  # (what: new | duplicate | skipped | known | checkpoint, locator)
# called once a run is recorded, after its run_finished event: (result, the source's state, seconds)
OnFinish = Callable[[RunResult, SourceState | None, float], None]


class Stopping(Exception):
    """The service is stopping and this run's time is up (or Ctrl-C stopped the command)."""


@dataclass
class RunContext:
    """What a fetcher may ask of the outside world during one run (``fetchers.FetchContext``)."""

    source: Source
    archive: Archive
    client: HttpClient | None = None
    trigger: str = "manual"
    stats: FetchStats = field(default_factory=FetchStats)
    captures: Captures | None = None  # set when this run keeps its raw responses
    captured: list[CaptureRef] = field(default_factory=list)  # written since the last batch

    @property
    def capturing(self) -> bool:
        return self.captures is not None

    def capture(self, resp: HttpResponse) -> HttpResponse:
        if self.captures is None or resp.exchange is None:
            return resp
        ref = self.captures.exchange(resp.exchange)
        self.captured.append(ref)
        return replace(resp, capture=ref, exchange=None)

    def capture_file(self, path: Path, data: bytes, content_type: str) -> CaptureRef | None:
        """Keep a local file read by this run as a WARC ``resource`` record, if capturing."""
        if self.captures is None:
            return None
        ref = self.captures.resource(path, data, datetime.now(UTC), content_type)
        self.captured.append(ref)
        return ref

    @property
    def http(self) -> HttpClient:
        if self.client is None:
            raise WorkerError(f"{self.source.name}: a {self.source.kind} source needs the HTTP client")
        return self.client

    def saved(self, key: str) -> str | None:
        return self.archive.fetch_state(self.source.name, key)

    def validators_for(self, url: str) -> Validators | None:
        raw = self.saved("http:" + url)
        if not raw:
            return None
        data = json.loads(raw)
        return Validators(etag=data.get("etag"), last_modified=data.get("last_modified"))

    def is_archived(self, headline: str, publication: str | None = None) -> bool:
        return self.archive.is_archived(headline, publication)


@dataclass
class Counts:
    seen: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    revisions: int = 0


def _add(counts: Counts, stored: Stored) -> None:
    """Add what the archive made of a batch to ``counts`` (the one place outcomes are counted)."""
    for outcome in stored.outcomes:
        if outcome == "new":
            counts.new += 1
        elif outcome in ("edit", "copy"):
            counts.revisions += 1
        else:
            counts.duplicates += 1
    counts.seen += stored.resighted
    counts.duplicates += stored.resighted


class Run:
    """The state of one source run while it goes on; ``result()`` is its RunResult."""

    def __init__(
        self,
        source: Source,
        archive: Archive,
        *,
        trigger: str,
        on_item: OnItem | None = None,
        on_finish: OnFinish | None = None,
    ):
        from worker.archive import Batch

        self.source, self.trigger, self.on_item, self.on_finish = source, trigger, on_item, on_finish
        self.started_at = utcnow()
        self.t0 = time.monotonic()
        self.run_id = archive.start_run(source.name, trigger, self.started_at)
        self.counts = Counts()
        self.stats = FetchStats()
        self.status: str = "ok"
        self.error: str | None = None
        self.http_status: int | None = None
        self.retry_after: float | None = None
        self.next_attempt_at: str | None = None
        self.final: RunResult | None = None  # the result stored in the run row
        self.state: SourceState | None = None  # the source's state stored with it
        self._lock = threading.Lock()
        self._batch = Batch(self.run_id, source.name)

    # -- fetch and clean: outputs into the pending batch ------------------------------------

    def take(self, out: object, cleaned: Article | str | None) -> int:
        """Take one output of the fetcher (with its cleaned article or skip reason); returns the
        size of the pending batch."""
        batch = self._batch
        if isinstance(out, Checkpoint):
            batch.checkpoints.append((out, len(batch.articles)))
        elif isinstance(out, Known):
            batch.known.append((out.key, out.locator))
        elif isinstance(out, Seen):
            batch.seen.append(out)
        elif isinstance(out, Skipped):
            self.skip(out.locator, out.reason)
        elif isinstance(cleaned, str):
            self.skip(getattr(out, "locator", "?"), cleaned)
        elif isinstance(cleaned, Article):
            with self._lock:
                self.counts.seen += 1
            batch.articles.append((cleaned, getattr(out, "locator", "?"), getattr(out, "capture", None)))
        return len(batch.articles) + len(batch.known) + len(batch.seen)

    def skip(self, locator: str, reason: str) -> None:
        log.warning("item_skipped", source=self.source.name, url=locator, error=reason)
        with self._lock:
            self.counts.seen += 1
            self.counts.skipped += 1
        self._tell("skipped", locator)

    def batch(self, ctx: RunContext | None = None) -> Batch:
        """The pending batch, handed over with what ``ctx`` captured meanwhile; a new one starts."""
        from worker.archive import Batch

        batch, self._batch = self._batch, Batch(self.run_id, self.source.name)
        batch.reason = "reclean" if self.trigger == "reclean" else None
        if ctx is not None:
            batch.captures, ctx.captured = ctx.captured, []
        return batch

    # -- store: what the archive decided, counted (on the writer's thread) -------------------

    def tally(self, batch: Batch, stored: Stored) -> None:
        """Count a stored batch (once its transaction committed)."""
        with self._lock:
            _add(self.counts, stored)
        if self.on_item:
            for (_, locator, _), outcome in zip(batch.articles, stored.outcomes):
                self.on_item(outcome, locator)
            for _, locator in batch.known:
                self.on_item("known", locator)
            for seen in batch.seen:
                self.on_item("known", seen.locator)
            for checkpoint, _ in batch.checkpoints:
                if not checkpoint.partial:  # an input done
                    self.on_item("checkpoint", checkpoint.key)

    # -- finish -------------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """Record why the run stopped early (the one place a run's errors are mapped)."""
        if isinstance(exc, Stopping):
            self.status, self.error = "interrupted", "the worker stopped before the run finished"
        elif isinstance(exc, FetchError):
            self.status, self.error = "error", str(exc)
            self.http_status, self.retry_after = exc.status, exc.retry_after
        elif isinstance(exc, WorkerError):
            self.status, self.error = "error", str(exc)
        else:  # the last line of defence: a broken source never stops the service
            log.error("source_failed", source=self.source.name, error=repr(exc), exc_info=exc)
            self.status, self.error = "error", f"internal error: {exc!r}"

    def closing_state(self, previous: SourceState | None, settings: SchedulerSettings) -> SourceState:
        """The source's state after this run (``previous``: before it), with the next attempt
        of a failed run."""
        now = utcnow()
        failures = (
            0 if self.status == "ok" else (previous.consecutive_failures if previous else 0) + (self.status == "error")
        )
        if self.status == "error":
            when = backoff.next_attempt(
                self.source,
                failures,
                settings,
                retry_after=self.retry_after,
                now=datetime.now(UTC),
                interval=previous.interval if previous else None,
            )
            self.next_attempt_at = iso_z(when)
        kept = previous or SourceState(self.source.name)  # a failed run keeps the interval it had
        return SourceState(
            source=self.source.name,
            last_run_at=now,
            last_status=self.status,
            last_success_at=now if self.status == "ok" else (previous.last_success_at if previous else None),
            consecutive_failures=failures,
            failing_since=None
            if not failures
            else (previous.failing_since if previous and previous.failing_since else self.started_at),
            next_due_at=self.next_attempt_at,
            last_error=self.error,
            interval=kept.interval,
            interval_reason=kept.interval_reason,
            floor=kept.floor,
            floor_reason=kept.floor_reason,
        )

    def planned(self, archive: Archive, state: SourceState) -> SourceState:
        """After a successful run (its articles stored, in the same transaction): the state with
        the source's interval and floor (``worker.polling``); a changed floor is logged once."""
        if self.status != "ok":
            return state
        now = datetime.now(UTC)
        observed = None
        if self.source.auto:
            since = iso_z(now - timedelta(seconds=polling.WINDOW))
            observed = polling.observed_from(archive.carried_since(self.source.name, since), now)
        new = polling.plan(self.source, self.stats.poll, state, observed, now)
        if (new.floor, new.floor_reason) != (state.floor, state.floor_reason):
            log.info("interval_floor_changed", source=self.source.name, seconds=new.floor, reason=new.floor_reason)
        return new

    def result(self, pending: Stored | None = None) -> RunResult:
        """The run's result; with ``pending``, counting a batch whose transaction is open."""
        with self._lock:
            counts = replace(self.counts)
        if pending is not None:
            _add(counts, pending)
        return RunResult(
            source=self.source.name,
            trigger=self.trigger,
            started_at=self.started_at,
            finished_at=utcnow(),
            status=self.status,
            seen=counts.seen,
            new=counts.new,
            duplicates=counts.duplicates,
            skipped=counts.skipped,
            revisions=counts.revisions,
            http_status=self.http_status or self.stats.http_status,
            not_modified=self.stats.not_modified,
            bytes=self.stats.bytes,
            error=self.error,
            run_id=self.run_id,
            next_attempt_at=self.next_attempt_at,
        )

    def record_failure(self, archive: Archive, settings: SchedulerSettings) -> None:
        """After the archive failed (its disk full, say): record the run as failed if it still can,
        with the source's state (its next attempt), or else its row alone (half the pages)."""
        try:
            state = self.closing_state(archive.source_state(self.source.name), settings)
            with archive.transaction():
                archive.finish_run(self.result(), state)
            self.state = state
            return
        except Exception as exc:
            error = exc
        try:
            with archive.transaction():
                archive.finish_run(self.result(), None)
            log.error("source_state_not_recorded", source=self.source.name, error=repr(error))
        except Exception as exc:  # the archive is what failed: the next start marks the run interrupted
            log.error("run_not_recorded", source=self.source.name, error=repr(exc))

    def report(self, result: RunResult) -> None:
        """The run's warnings and its one ``run_finished`` event, then ``on_finish``."""
        for warning in self.stats.warnings:
            log.warning("source_warning", source=self.source.name, error=warning)
        seconds = time.monotonic() - self.t0
        event = log.info if result.status == "ok" else log.warning
        event(
            "run_finished",
            source=result.source,
            trigger=result.trigger,
            status=result.status,
            seen=result.seen,
            new=result.new,
            duplicates=result.duplicates,
            skipped=result.skipped,
            http_status=result.http_status,
            not_modified=result.not_modified,
            duration_ms=int(seconds * 1000),
            error=result.error,
            next_attempt_at=result.next_attempt_at,
        )
        if self.on_finish is not None:
            self.on_finish(result, self.state, seconds)

    def _tell(self, what: str, locator: str) -> None:
        if self.on_item:
            self.on_item(what, locator)
