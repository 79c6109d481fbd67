"""Prometheus metrics of ``worker run`` (prometheus-client), served when ``metrics.port`` is set.

Fed from two places only: ``observe`` gets every finished run (the run's ``on_finish``, after
its ``run_finished`` event) and ``heartbeat`` runs with the service's heartbeat, which also
refreshes the archive's size and article count. ``restore`` sets the per-source gauges from
the archive at start, so a restart does not forget a source that is failing. The module is
imported only when metrics are on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.process_collector import ProcessCollector

from worker.errors import WorkerError
from worker.models import MetricsSettings, RunResult, SourceState

if TYPE_CHECKING:
    from worker.archive import Archive

PREFIX = "news_worker"
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def _timestamp(iso: str | None) -> float:
    """An archive timestamp as Unix seconds (0 for none, Prometheus' way of saying never)."""
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


class Metrics:
    """The service's metrics in a registry of their own, and the HTTP server that serves them."""

    def __init__(self, settings: MetricsSettings):
        self.settings = settings
        disable_created_metrics()  # no *_created series: counters start with the process anyway
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self._server: Any = None
        per = ["source"]
        self.runs = self._counter("runs", "Runs of each source by status (ok, error, interrupted).", [*per, "status"])
        self.articles = self._counter(
            "articles", "Articles the runs found, by outcome (new, duplicate, revised, skipped).", [*per, "outcome"]
        )
        self.duration = Histogram(
            f"{PREFIX}_fetch_duration_seconds",
            "How long one run of a source took, fetch to store.",
            per,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.bytes = self._counter("fetched_bytes", "Bytes of HTTP bodies each source fetched.", per)
        self.failures = self._gauge("consecutive_failures", "Failed runs in a row (0 after a success).", per)
        self.last_success = self._gauge(
            "last_success_timestamp_seconds", "When the source last ran without error (Unix time; 0: never).", per
        )
        self.failing_since = self._gauge(
            "failing_since_timestamp_seconds", "When the source began failing (Unix time; 0: not failing).", per
        )
        self.interval = self._gauge(
            "interval_seconds",
            "The source's interval now (every, every: auto or a floor; 0: cron or not yet known).",
            per,
        )
        self.heartbeat_time = self._gauge(
            "heartbeat_timestamp_seconds", "When the service last wrote its heartbeat (Unix time).", []
        )
        self.archive_bytes = self._gauge(
            "archive_size_bytes", "Size of the archive database (pages in use x page size).", []
        )
        self.archive_articles = self._gauge("archive_articles", "Articles in the archive.", [])

    def _counter(self, name: str, documentation: str, labels: list[str]) -> Counter:
        return Counter(f"{PREFIX}_{name}", documentation, labels, registry=self.registry)

    def _gauge(self, name: str, documentation: str, labels: list[str]) -> Gauge:
        return Gauge(f"{PREFIX}_{name}", documentation, labels, registry=self.registry)

    # -- the server -------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on ``host:port``; a port that cannot be had is a one-line WorkerError."""
        host, port = self.settings.host, self.settings.port
        try:
            self._server, _ = start_http_server(port or 0, addr=host, registry=self.registry)
        except OSError as exc:
            raise WorkerError(f"metrics: cannot listen on {host}:{port} ({exc.strerror or exc})") from None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- what feeds them ----------------------------------------------------------------------

    def restore(self, sources: Iterable[str], states: Mapping[str, SourceState]) -> None:
        """At start: every configured source's series, its gauges from its state in the archive."""
        for name in sources:
            for status in ("ok", "error"):
                self.runs.labels(name, status)
            for outcome in ("new", "duplicate", "revised", "skipped"):
                self.articles.labels(name, outcome)
            self.bytes.labels(name)
            self._gauges(name, states.get(name) or SourceState(name))

    def observe(self, result: RunResult, state: SourceState | None, seconds: float) -> None:
        """One finished run."""
        name = result.source
        self.runs.labels(name, result.status).inc()
        for outcome, count in (
            ("new", result.new),
            ("duplicate", result.duplicates),
            ("revised", result.revisions),
            ("skipped", result.skipped),
        ):
            self.articles.labels(name, outcome).inc(count)
        self.duration.labels(name).observe(seconds)
        self.bytes.labels(name).inc(result.bytes)
        if state is not None:
            self._gauges(name, state)

    def heartbeat(self, archive: Archive) -> None:
        """The heartbeat was written: its time, and the archive's size and article count."""
        self.heartbeat_time.set(time.time())
        pages, page_size, articles = archive.db.execute(
            "SELECT *, (SELECT count(*) FROM articles) FROM pragma_page_count(), pragma_page_size()"
        ).fetchone()
        self.archive_bytes.set(pages * page_size)
        self.archive_articles.set(articles)

    def _gauges(self, name: str, state: SourceState) -> None:
        self.failures.labels(name).set(state.consecutive_failures)
        self.last_success.labels(name).set(_timestamp(state.last_success_at))
        self.failing_since.labels(name).set(_timestamp(state.failing_since))
        self.interval.labels(name).set(state.interval or 0)
