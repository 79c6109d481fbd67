"""The typed hand-offs between stages (frozen dataclasses, plus the run's mutable FetchStats).

Source (config) -> RawItem (fetched bytes + hints) -> Article (normalized) -> RunResult.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any


class Options(Mapping[str, Any]):
    """A source kind's own config keys and values (read-only, hashable): ``source.options["url"]``.
    Which keys a kind has is declared once, in ``worker.kinds``."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None, **more: Any):
        self._values = {**(values or {}), **more}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        return f"Options({self._values!r})"


@dataclass(frozen=True)
class Source:
    """One configured source: the keys every kind has, and its kind's own ``options``."""

    name: str
    kind: str  # a name in worker.kinds.REGISTRY
    options: Options = field(default_factory=Options)
    every: int | None = None  # seconds between runs (None when cron is set or every is auto)
    cron: str | None = None  # crontab line, alternative to every
    auto: bool = False  # ``every: auto``: the interval follows the source's rate of new articles
    enabled: bool = True
    respect_robots: bool = True
    capture: bool | None = None  # keep its raw responses (WARC); None: network sources do, local files not

    def where(self) -> str:
        """What it reads, for lists and logs: its URL, path or URLs."""
        o = self.options
        return str(o.get("url") or o.get("path") or o.get("urls_file") or ", ".join(o.get("urls") or ()))


@dataclass(frozen=True)
class Hints:
    """What a fetcher already knows about an item (feed entry fields, JSON keys, HTTP headers).

    The cleaner fills only what the content itself lacks from these.
    """

    headline: str | None = None
    headline_derived: bool = False  # headline made from the summary's first sentence
    byline: str | None = None
    published_at: str | None = None  # ISO 8601 with the publisher's offset, or a day (worker.text.dates)
    dek: str | None = None
    url: str | None = None
    publication: str | None = None
    lang: str | None = None
    encoding: str | None = None  # charset from HTTP headers, if any
    fetched_at: str | None = None  # ISO 8601 UTC: when the page was fetched (a WARC record's WARC-Date)


@dataclass(frozen=True)
class RawItem:
    """One fetched item, not yet cleaned.

    ``kind`` tells the cleaner how to read ``content``:
    - ``text``: a plain-text article (bytes or str)
    - ``html``: a whole article page (bytes or str)
    - ``fragment``: an HTML or text body whose metadata is all in ``hints`` (feed entries, JSON Lines)
    """

    source: str
    locator: str  # URL or path (plus "#n" for the n-th item of a file), for logs and sightings
    kind: str
    content: bytes | str
    hints: Hints = field(default_factory=Hints)
    # what to clean instead when this item holds no article: the feed entry of a followed page
    fallback: RawItem | None = None
    capture: CaptureRef | None = None  # the raw record it came from (WARC), if captured


@dataclass(frozen=True)
class Article:
    """One normalized article, as stored in ``articles``."""

    headline: str
    body: str
    byline: str | None = None
    published_at: str | None = None  # ISO 8601 with the publisher's offset, or a day; never invented
    dek: str | None = None
    url: str | None = None
    source: str | None = None
    publication: str | None = None
    dateline: str | None = None
    lang: str | None = None
    headline_derived: bool = False
    fetched_at: str | None = None  # when its page was fetched, if not now (a WARC record's date)

    # computed once, where the article is made (a pool worker), and pickled along with it
    @cached_property
    def word_count(self) -> int:
        return len(self.body.split())

    @cached_property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()

    @cached_property
    def headline_hash(self) -> str:
        """The hash the archive matches stories by: the normalized headline without a
        publication's suffix (``identity.story_key``)."""
        from worker.identity import story_key

        return story_key(self.headline, self.publication)

    @cached_property
    def band_keys(self) -> tuple[int, ...]:
        """MinHash LSH band keys of the body: how near-duplicates under other headlines are found."""
        from worker.identity import band_keys

        return tuple(band_keys(self.body))

    @cached_property
    def spaceless(self) -> int:
        """1 when its text holds a character of a script written without spaces (the archive
        keeps it in the trigram index too): ``worker.text.scripts``."""
        from worker.text.scripts import is_spaceless

        return is_spaceless(self.headline, self.dek, self.body, self.byline)

    def computed(self) -> Article:
        """The same article with its derived values computed (before it crosses processes)."""
        self.word_count, self.content_hash, self.headline_hash, self.band_keys, self.spaceless  # noqa: B018 - fills the caches
        return self


@dataclass(frozen=True)
class Skipped:
    """A fetcher's report that one item could not be read (counted as skipped, logged with reason)."""

    source: str
    locator: str
    reason: str


@dataclass(frozen=True)
class Checkpoint:
    """State to persist once everything a fetcher yielded before it is stored.

    Keys are namespaced: ``file:<abs path>`` (value ``size:mtime_ns``, or for a JSON Lines file
    read in part ``size:mtime_ns@offset:lines`` with ``partial``), ``http:<url>`` (value JSON
    ``{"etag": ..., "last_modified": ...}``).
    The pipeline writes it in the same transaction as the articles that came before it, together
    with the headline hashes of those articles (what this input produced).
    """

    key: str
    value: str
    partial: bool = False  # the input goes on after it: not yet done


@dataclass(frozen=True)
class Known:
    """An input an earlier run already stored (an unchanged file in a backfill), which the
    fetcher did not read again. The archive records a sighting of each article it produced."""

    source: str
    locator: str
    key: str  # the input's checkpoint key


@dataclass(frozen=True)
class Seen:
    """An item whose article is archived already, passed over without its text (a feed entry
    whose page is not fetched again): the archive records a sighting of that article."""

    source: str
    locator: str
    headline: str
    url: str | None = None
    publication: str | None = None
    capture: CaptureRef | None = None  # the raw record it was seen in


@dataclass(frozen=True)
class CaptureRef:
    """Where one record lies: enough to read it back directly (``read_record``) and to answer a
    later ``lookup`` by payload digest."""

    file: str  # relative to the capture root, with "/" separators
    offset: int  # of the record's gzip member in the file
    length: int  # of that member, in bytes
    digest: str  # WARC-Payload-Digest, "sha1:<base32>" of the payload as received on the wire
    fetched_at: str  # the record's WARC-Date, ISO 8601 UTC to the second ("...Z")
    status: int | None  # HTTP status; None for a resource record
    record_id: str  # WARC-Record-ID, "<urn:uuid:...>"
    url: str  # WARC-Target-URI
    revisit_of: str | None = None  # WARC-Refers-To of a revisit record: the original's record id


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, as the client sent and received them.

    ``body`` is the body as it came off the wire with the transfer coding removed (what
    urllib3 hands on) but the content coding kept: still gzip when the server gzipped it.
    ``request_headers`` are the headers actually sent; ``Host`` is added when missing, as
    http.client sends it.
    """

    url: str
    status: int
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime  # when the request was sent (aware, or naive UTC)
    method: str = "GET"
    request_headers: tuple[tuple[str, str], ...] = ()
    http_version: str = "HTTP/1.1"
    remote_ip: str | None = None
    truncated: bool = False  # the body was cut at the size cap (WARC-Truncated: length)


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class HttpSettings:
    """The ``http:`` section of config.yaml."""

    user_agent: str = "news-archive-worker/0.1 (+https://example.org/contact)"
    timeout: float = 20.0  # seconds, connect and read
    deadline: float = 120.0  # seconds one request may take in all: redirects, retries and body included
    max_bytes: int = 10_000_000  # body cap, also after decompression
    per_host_delay: float = 1.0  # seconds between two requests to one host
    respect_robots: bool = True
    allow_private_hosts: bool = False
    retries: int = 3
    max_redirects: int = 5
    backoff_factor: float = 0.5
    robots_ttl: int = 3600  # seconds a host's robots.txt is cached


@dataclass(frozen=True)
class SchedulerSettings:
    """The ``scheduler:`` section of config.yaml."""

    max_workers: int = 4  # sources fetched at once
    jitter: int = 30  # seconds of random delay added to each run
    shutdown_timeout: int = 30  # seconds running sources get to finish on SIGTERM
    misfire_grace: int = 300  # seconds a late run may still start
    max_backoff: int = 86_400  # cap of a failing source's backoff, seconds
    heartbeat: int = 60  # seconds between heartbeat writes


@dataclass(frozen=True)
class CaptureSettings:
    """The ``capture:`` section of config.yaml: raw responses kept in WARC files beside the archive."""

    enabled: bool = True  # network sources capture unless they say ``capture: false``
    rotate_bytes: int = 1_000_000_000  # a WARC file is closed and a new one begun past this size


@dataclass(frozen=True)
class MetricsSettings:
    """The ``metrics:`` section of config.yaml."""

    port: int | None = None  # serve Prometheus metrics on this port (None: off)
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class Config:
    """A validated config.yaml."""

    archive: str = "archive/archive.db"
    log_format: str = "auto"  # auto | console | json
    log_level: str = "info"
    http: HttpSettings = field(default_factory=HttpSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    default_every: int = 1800  # seconds: the interval of sources that give neither every nor cron
    sources: tuple[Source, ...] = ()
    path: str | None = None  # the file it was read from

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)


@dataclass(frozen=True)
class HttpResponse:
    """A fetched HTTP body (or a 304), as ``fetchers.http`` hands it on."""

    url: str  # final URL after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes
    encoding: str | None = None  # charset from Content-Type, if any
    not_modified: bool = False
    validators: Validators = field(default_factory=Validators)
    exchange: Exchange | None = None  # the request and the response as on the wire (when asked to capture)
    capture: CaptureRef | None = None  # where the exchange was written (fetchers.conditional_get)


@dataclass(frozen=True)
class PollHints:
    """What a feed and its server said about how often to fetch it, each in seconds from now
    (None: not said). The longest is the source's floor: it is never polled sooner."""

    ttl: int | None = None  # the feed's <ttl> (minutes in the feed)
    update_period: int | None = None  # the feed's sy:updatePeriod / sy:updateFrequency
    max_age: int | None = None  # Cache-Control: max-age, less the response's Age
    expires: int | None = None  # Expires, less the response's Date


@dataclass
class FetchStats:
    """Mutable counters a fetcher fills during one run (the one non-frozen model)."""

    http_status: int | None = None
    not_modified: bool = False
    bytes: int = 0
    requests: int = 0
    warnings: list[str] = field(default_factory=list)
    poll: PollHints | None = None  # what the feed and its server asked for (feed sources)


@dataclass(frozen=True)
class RunResult:
    """The outcome of one source run, as stored in ``runs``."""

    source: str
    trigger: str  # scheduled | manual | backfill
    started_at: str
    finished_at: str
    status: str  # ok | error | interrupted
    seen: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    revisions: int = 0  # new versions of archived articles (edits and copies)
    http_status: int | None = None
    not_modified: bool = False
    bytes: int = 0
    error: str | None = None
    run_id: int | None = None
    next_attempt_at: str | None = None  # a failed run: when the source runs again (backoff)


@dataclass(frozen=True)
class SourceState:
    """A source's state after its last run, as stored in ``source_state``."""

    source: str
    last_run_at: str | None = None
    last_status: str | None = None
    last_success_at: str | None = None
    consecutive_failures: int = 0
    failing_since: str | None = None
    next_due_at: str | None = None  # a failing source is skipped until then
    last_error: str | None = None
    interval: int | None = None  # seconds between runs now (None: a cron source)
    interval_reason: str | None = None  # why: "every 15m", "auto: 12 articles in 7 days", a floor
    floor: int | None = None  # seconds the feed or its server asked to wait at least (None: nothing asked)
    floor_reason: str | None = None  # who asked: "<ttl>", "sy:updatePeriod", "Cache-Control max-age", "Expires"
