"""Fetchers: thin I/O shells (``fetch(source, ctx)``) around pure ``parse_*`` functions.

Every fetcher is ``fetch(source: Source, ctx: FetchContext) -> Iterator[FetchOutput]``; the
kinds that use each one are declared in ``worker.kinds``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from worker.models import (
    CaptureRef,
    Checkpoint,
    FetchStats,
    HttpResponse,
    HttpSettings,
    Known,
    RawItem,
    Seen,
    Skipped,
    Validators,
)

FetchOutput = RawItem | Skipped | Known | Seen | Checkpoint
FetchIterator = Iterator[FetchOutput]

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.8"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"


class HttpClient(Protocol):
    """What ``fetchers.http`` offers: one GET that maps every failure to ``FetchError``."""

    settings: HttpSettings  # the ``http:`` section it was made with

    def get(
        self,
        url: str,
        *,
        trusted: bool = True,
        validators: Validators | None = None,
        respect_robots: bool = True,
        stats: FetchStats | None = None,
        accept: str | None = None,
        capture: bool = False,
    ) -> HttpResponse: ...


class FetchContext(Protocol):
    """What a fetcher may use during one source run (``worker.run.RunContext`` is the one made
    by the pipeline; tests may pass their own)."""

    @property
    def http(self) -> HttpClient:
        """The one HTTP client (a WorkerError when the run has none: a files-only run)."""
        ...

    @property
    def stats(self) -> FetchStats:
        """The run's counters: HTTP status, bytes, not-modified, warnings."""
        ...

    @property
    def trigger(self) -> str:
        """scheduled | manual | backfill: a backfill records sightings of unchanged inputs."""
        ...

    def saved(self, key: str) -> str | None:
        """The value a previous run checkpointed under ``key`` (see ``models.Checkpoint``)."""
        ...

    def validators_for(self, url: str) -> Validators | None:
        """The ETag / Last-Modified saved for ``url`` by the last successful run, if any."""
        ...

    def is_archived(self, headline: str, publication: str | None = None) -> bool:
        """True when an article with this headline is already in the archive."""
        ...

    @property
    def capturing(self) -> bool:
        """Whether this run keeps its raw responses (then ``conditional_get`` writes them)."""
        ...

    def capture(self, resp: HttpResponse) -> HttpResponse:
        """The response with ``capture`` set once its exchange is written (WARC), if capturing."""
        ...

    def capture_file(self, path: Path, data: bytes, content_type: str) -> CaptureRef | None:
        """Keep a local file as a WARC resource record when the run captures; its reference."""
        ...


def conditional_get(
    ctx: FetchContext, source, url: str, *, trusted: bool, accept: str, validators: bool = True
) -> HttpResponse:
    """GET ``url`` for ``source`` with the validators saved for it (when ``validators``), its
    robots.txt setting and the run's stats: the one way fetchers call the HTTP client."""
    resp = ctx.http.get(
        url,
        trusted=trusted,
        validators=ctx.validators_for(url) if validators else None,
        respect_robots=source.respect_robots,
        stats=ctx.stats,
        accept=accept,
        capture=ctx.capturing,
    )
    return ctx.capture(resp)


def http_checkpoint(url: str, validators: Validators, **kept: int | None) -> Checkpoint:
    """The checkpoint that stores ``url``'s new cache validators (key ``http:<url>``), and what
    else the fetcher keeps for the next run (``kept``: a feed's ttl and update period)."""
    kept = {k: v for k, v in kept.items() if v is not None}
    value = json.dumps({"etag": validators.etag, "last_modified": validators.last_modified, **kept})
    return Checkpoint("http:" + url, value)
