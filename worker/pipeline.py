"""ingest(source, ...) -> RunResult: the one code path of scheduled runs, `ingest` and `backfill`.

fetch -> RawItem* -> clean -> Article -> archive.store, in batches; errors are caught here once.
One broken item is skipped and counted; one broken source is a failed run, recorded with its
error and a backoff; neither stops anything else. With ``workers`` > 1 the cleaning runs in a
process pool while this process fetches and writes (see ``worker.parallel``).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import structlog

from worker.archive import Archive
from worker.clean.fragment import clean_fragment
from worker.clean.html import clean_html
from worker.clean.text import clean_text
from worker.dedupe import headline_hash
from worker.errors import FetchError, ParseError, WorkerError
from worker.models import (
    Article, Checkpoint, FetchStats, Known, RawItem, RunResult, Skipped, Source, Validators,
)
from worker.timefmt import iso_z, utcnow

log = structlog.get_logger("worker.pipeline")

BATCH_SIZE = 200
DEFAULT_INTERVAL = 3600  # backoff base for cron sources
OnItem = Callable[[str, str], None]


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


def to_article(item: RawItem, source: str) -> Article:
    """Clean one fetched item (or its fallback when it holds none); ParseError when it holds no article."""
    try:
        return _to_article(item, source)
    except (ParseError, RecursionError):
        if item.fallback is None:
            raise
        return to_article(item.fallback, source)


def _to_article(item: RawItem, source: str) -> Article:
    if item.kind == "text":
        article = clean_text(item.content, hints=item.hints, source=source)
    elif item.kind == "html":
        article = clean_html(item.content, item.hints.url or item.locator, hints=item.hints)
        if article is None:
            raise ParseError("no article text found in the page")
    elif item.kind == "fragment":
        article = clean_fragment(item.content, item.hints, source=source)
    else:
        raise ParseError(f"unknown item kind {item.kind!r}")
    if not article.headline.strip():
        raise ParseError("no headline")
    return _storable(dataclasses.replace(article, source=source))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(article: Article) -> Article:
    """Lone surrogates (JSON ``\\ud800`` escapes) cannot be written as UTF-8: they become U+FFFD,
    so one odd character never fails the batch its article is stored in."""
    fixed = {
        f.name: _SURROGATE.sub("\ufffd", value)
        for f in dataclasses.fields(article)
        if isinstance(value := getattr(article, f.name), str) and _SURROGATE.search(value)
    }
    return dataclasses.replace(article, **fixed) if fixed else article


def clean_one(item: RawItem, source: str) -> Article | str:
    """``to_article``, with every failure turned into a reason (runs in pool workers too)."""
    try:
        return to_article(item, source)
    except ParseError as exc:
        return str(exc)
    except RecursionError:
        return "document nested too deeply to clean"
    except Exception as exc:  # a cleaner bug must not stop the source
        log.error("item_failed", source=source, url=item.locator, error=repr(exc), exc_info=True)
        return f"internal error: {exc!r}"


def next_due(source: Source, failures: int, max_backoff: int, retry_after: float | None, now: datetime) -> str:
    """After a failure: now + interval x 2^(failures-1), jittered and capped, never before Retry-After."""
    interval = source.every or DEFAULT_INTERVAL
    delay = min(interval * 2 ** max(failures - 1, 0) * random.uniform(0.9, 1.1), max_backoff)
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

    def flush(finish: RunResult | None = None, due: str | None = None) -> None:
        is_new, resighted = archive.store(run_id, source.name, pending, checkpoints, known, finish=finish,
                                          next_due_at=due)
        for (_, locator), new in zip(pending, is_new):
            counts["new" if new else "duplicates"] += 1
            if on_item:
                on_item("new" if new else "duplicate", locator)
        counts["seen"] += resighted
        counts["duplicates"] += resighted
        if on_item:
            for key, locator in known:
                on_item("known", locator)
            for checkpoint, _ in checkpoints:
                on_item("checkpoint", checkpoint.key)
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
                counts["seen"] += 1
                _skip(counts, source.name, out.locator, out.reason, on_item)
            elif isinstance(cleaned_item, str):
                counts["seen"] += 1
                _skip(counts, source.name, out.locator, cleaned_item, on_item)
            else:
                counts["seen"] += 1
                pending.append((cleaned_item, out.locator))
                produced.append(headline_hash(cleaned_item.headline))
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
    result = RunResult(
        source=source.name, trigger=trigger, started_at=started_at, finished_at=utcnow(), status=status,
        seen=counts["seen"], new=counts["new"], duplicates=counts["duplicates"], skipped=counts["skipped"],
        http_status=http_status or stats.http_status, not_modified=stats.not_modified, bytes=stats.bytes,
        error=error, run_id=run_id,
    )
    due = None
    if status == "error":
        prev = archive.source_state(source.name) or {}
        failures = int(prev.get("consecutive_failures") or 0) + 1
        due = next_due(source, failures, max_backoff, retry_after, datetime.now(timezone.utc))
    flush(finish=result, due=due)  # the last batch, the run row and the source state together
    result = dataclasses.replace(result, seen=counts["seen"], new=counts["new"], duplicates=counts["duplicates"])
    for warning in stats.warnings:
        log.warning("source_warning", source=source.name, error=warning)
    event = log.info if status == "ok" else log.warning
    event(
        "run_finished", source=source.name, trigger=trigger, status=status, seen=result.seen, new=result.new,
        duplicates=result.duplicates, skipped=result.skipped, http_status=result.http_status,
        not_modified=result.not_modified, duration_ms=int((time.monotonic() - t0) * 1000), error=error,
    )
    return result


def _skip(counts: dict, source: str, locator: str, reason: str, on_item: OnItem | None) -> None:
    counts["skipped"] += 1
    log.warning("item_skipped", source=source, url=locator, error=reason)
    if on_item:
        on_item("skipped", locator)
