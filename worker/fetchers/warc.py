"""WARC input: the HTML pages in WARC files (a file, folder or glob, or one streamed over HTTP).

``WarcReader`` is the core: a pass over one binary stream of WARC records (gzip per record or
uncompressed) that yields a ``RawItem`` for each ``response`` record holding an HTML page
with status 200, its URL and WARC-Date as the page's URL and fetch date. Everything else is
counted in ``counts`` by what it was; only broken records (truncated, a wrong Content-Length,
an unreadable stretch) are reported as ``Skipped``. The host and date filters read the WARC
headers only, before the HTTP headers or the payload are parsed. Every ``PARTIAL_EVERY``
records it yields a partial checkpoint holding the byte offset of the next record, so an
interrupted backfill of a large file goes on from there. warcio reads the records
(see benchmarks/warc_read.py for why warcio and not FastWARC).
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import structlog
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParser, StatusAndHeadersParserException

from worker.fetchers import paths
from worker.fetchers.files import _changed, _resume_at, display
from worker.fetchers.http_body import BodyDecodeError, BodyTooLarge, charset_of, read_capped
from worker.fetchers.paths import NotRead
from worker.models import Checkpoint, Hints, Known, RawItem, Skipped, Source
from worker.search import _next_day
from worker.text.dates import parse_date

log = structlog.get_logger("worker.fetchers.warc")

SUFFIXES = (".warc", ".warc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_PAYLOAD = 10_000_000  # bytes of one page, after content decoding
PARTIAL_EVERY = 1000  # records between partial checkpoints
CHUNK = 64 * 1024
_HTTP = StatusAndHeadersParser(["HTTP/1.0", "HTTP/1.1"], verify=False)


@dataclass(frozen=True)
class WarcFilter:
    """Which responses to read: ``host`` a suffix match on the URL's host (``example.com``
    matches ``www.example.com``, not ``badexample.com``), ``since``/``until`` ISO dates or
    datetimes on WARC-Date (``until`` a date includes that whole day, as in ``worker search``)."""

    host: str | None = None
    since: str | None = None
    until: str | None = None

    def suffix(self) -> str:
        """What a checkpoint key adds for these filters: the same file read with other filters
        is another input."""
        given = {k: v for k, v in (("host", self.host), ("since", self.since), ("until", self.until)) if v}
        return "?" + urlencode(given) if given else ""

    def matches_host(self, uri: str) -> bool:
        if not self._host:
            return True
        try:
            host = (urlsplit(uri).hostname or "").rstrip(".")
        except ValueError:
            return False
        return host == self._host or host.endswith("." + self._host)

    def matches_date(self, fetched: str | None) -> bool:
        since, until = self._bounds
        if not (since or until):
            return True
        return fetched is not None and (not since or fetched >= since) and (not until or fetched < until)

    @cached_property
    def _host(self) -> str:
        return (self.host or "").strip().strip(".").lower()

    @cached_property
    def _bounds(self) -> tuple[str | None, str | None]:
        """(first, after last) as strings that compare with ISO 8601 UTC dates."""
        since = self.since.strip().replace(" ", "T") if self.since else None
        until = _next_day(self.until.strip().replace(" ", "T")) if self.until else None
        return since, until


NO_FILTER = WarcFilter()


class _Records(ArchiveIterator):
    """warcio's iterator without its stderr notice for a record not followed by blank lines
    (a wrong Content-Length): ``err_count`` counts those, and the reader reports them."""

    INC_RECORD = ""


class Readable(Protocol):
    """A binary stream: a file, or ``warc_remote.RemoteWarc``."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Counted:
    """A stream that knows its absolute offset (``start`` + bytes read) and whether it ended."""

    def __init__(self, stream: Readable, start: int):
        self._stream = stream
        self.position = start
        self.ended = False

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.position += len(data)
        self.ended = self.ended or (not data and size != 0)
        return data

    def tell(self) -> int:
        return self.position


class WarcReader:
    """One pass over a WARC stream positioned at byte ``start`` (a record boundary).

    Iterating yields RawItem, Skipped (broken records only) and, when ``checkpoint`` is given,
    ``checkpoint(offset, records)`` every ``every`` (``PARTIAL_EVERY``) records. ``offset`` is
    where the next record starts, ``records`` how many were read (counting on from ``records``,
    the number before ``start``). ``counts`` says what each record was: its WARC-Type when not a
    response (request, metadata, warcinfo, resource, revisit, ...), else html (a page yielded),
    filtered, redirect, not_ok, not_html, or, reported as Skipped too, bad_http, too_large,
    undecodable, truncated, bad_length, unreadable (the rest of the stream, after a record
    boundary was lost).
    """

    def __init__(
        self,
        stream: Readable,
        *,
        source: str = "warc",
        locator: str = "",
        filters: WarcFilter = NO_FILTER,
        start: int = 0,
        records: int = 0,
        checkpoint: Callable[[int, int], Checkpoint] | None = None,
        every: int | None = None,
    ):
        self._input = _Counted(stream, start)
        self.source = source
        self.locator = locator
        self.filters = filters
        self.offset = start
        self.records = records
        self.counts: Counter[str] = Counter()
        self._checkpoint = checkpoint
        self._every = every or PARTIAL_EVERY

    def __iter__(self) -> Iterator[RawItem | Skipped | Checkpoint]:
        it = _Records(self._input, no_record_parse=True)
        try:
            for record in it:
                kind, out = self._take(record)
                errors = it.err_count
                it.read_to_end()  # the rest of the record, and the blank lines after it
                self.offset = it.offset
                self.records += 1
                if it.err_count > errors:
                    kind, out = self._broken("bad_length", record, "Content-Length does not match the record")
                elif record.length is None or getattr(record.raw_stream, "limit", 0) > 0:  # ended before it
                    at_end = self._input.ended and self.offset == self._input.position
                    kind, out = self._broken(
                        "truncated" if at_end else "bad_length", record, "the record ends before its Content-Length"
                    )
                self.counts[kind] += 1
                if out is not None:
                    yield out
                if self._checkpoint is not None and self.records % self._every == 0:
                    yield self._checkpoint(self.offset, self.records)
        except ArchiveLoadFailed as exc:  # not a WARC record where one should start: give up the rest
            line = str(getattr(exc.__context__, "statusline", "") or "").strip()
            if self._input.ended and line and "WARC/1.1".startswith(line):  # cut in its first line
                self.counts["truncated"] += 1
                yield Skipped(self.source, f"{self.locator}@{self.offset}", f"truncated record at byte {self.offset}")
                return
            self.counts["unreadable"] += 1
            if "non-chunked gzip" in str(exc):  # offsets mean nothing in one gzip stream of many records
                yield Skipped(
                    self.source,
                    self.locator,
                    "one gzip stream, not gzip per record: read up to the "
                    "second record; `warcio recompress` makes the file readable",
                )
                return
            reason = (str(exc).strip().splitlines() or ["not a WARC record"])[0]
            yield Skipped(self.source, f"{self.locator}@{self.offset}", f"unreadable from byte {self.offset}: {reason}")
            return
        if self._input.position > self.offset:  # a gzip member cut short: warcio stops without a word
            self.counts["truncated"] += 1
            yield Skipped(self.source, f"{self.locator}@{self.offset}", f"truncated record at byte {self.offset}")

    def _take(self, record) -> tuple[str, RawItem | Skipped | None]:
        """What one record is, and the page when it is one. The WARC headers decide first;
        the HTTP headers are parsed and the payload read only for the responses kept."""
        if record.rec_type != "response":
            return record.rec_type or "unknown", None
        uri = record.rec_headers.get_header("WARC-Target-URI") or ""
        fetched = parse_date(record.rec_headers.get_header("WARC-Date"))
        if not (self.filters.matches_host(uri) and self.filters.matches_date(fetched)):
            return "filtered", None
        if not uri.startswith(("http:", "https:")):
            return "not_html", None
        try:
            http = _HTTP.parse(record.raw_stream)
            status = int(http.get_statuscode())
        except (StatusAndHeadersParserException, EOFError, ValueError):
            return self._broken("bad_http", record, "no readable HTTP status line and headers")
        if 300 <= status < 400:
            return "redirect", None
        if status != 200:
            return "not_ok", None
        content_type = http.get_header("Content-Type") or record.rec_headers.get_header("WARC-Identified-Payload-Type")
        if (content_type or "").split(";")[0].strip().lower() not in HTML_TYPES:
            return "not_html", None
        stream = record.raw_stream
        if (http.get_header("Transfer-Encoding") or "").lower() == "chunked":
            stream = ChunkedDataReader(stream)
        try:
            payload = read_capped(
                iter(lambda: stream.read(CHUNK), b""), http.get_header("Content-Encoding"), MAX_PAYLOAD
            )
        except BodyTooLarge:
            return self._broken("too_large", record, f"page over {MAX_PAYLOAD} bytes")
        except BodyDecodeError as exc:
            return self._broken("undecodable", record, str(exc))
        hints = Hints(url=uri, encoding=charset_of(content_type), fetched_at=fetched)
        return "html", RawItem(self.source, uri, "html", payload, hints)

    def _broken(self, kind: str, record, reason: str) -> tuple[str, Skipped]:
        uri = record.rec_headers.get_header("WARC-Target-URI")
        return kind, Skipped(self.source, uri or f"{self.locator}@{self.offset}", f"{reason} ({kind})")


# -- local files ------------------------------------------------------------------------------


def fetch(source: Source, ctx) -> Iterator[RawItem | Skipped | Known | Checkpoint]:
    """The pages of a ``warc`` source: the .warc / .warc.gz files under its ``path`` (a file,
    folder or glob), or the one file at an http(s) URL, read as it arrives; filtered by its
    ``host``, ``since`` and ``until`` before any payload is read."""
    o = source.options
    filters = WarcFilter(host=o.get("host"), since=o.get("since"), until=o.get("until"))
    if urlsplit(o["path"]).scheme in ("http", "https"):
        from worker.fetchers.warc_remote import read_url

        yield from read_url(o["path"], source.name, ctx, ctx.http.settings, filters)
        return
    for p in paths.expand(o["path"], SUFFIXES):
        if isinstance(p, NotRead):
            yield Skipped(source.name, display(p.path), p.reason)
        else:
            yield from read_path(p, source.name, ctx, filters)


def read_path(
    p: Path, source: str, ctx, filters: WarcFilter = NO_FILTER
) -> Iterator[RawItem | Skipped | Known | Checkpoint]:
    """The pages of one WARC file, then its checkpoint (key ``file:<abs path>`` plus the
    filters, value ``size:mtime_ns``). A file read in part goes on from its last partial
    checkpoint (``size:mtime_ns@offset:records``); a finished one is not read again."""
    loc = display(p)
    if not p.name.lower().endswith(SUFFIXES):
        yield Skipped(source, loc, "not a .warc or .warc.gz file")
        return
    try:
        st = p.stat()
    except OSError as exc:
        yield Skipped(source, loc, f"cannot read: {exc.strerror or exc}")
        return
    if stat.S_ISDIR(st.st_mode):
        yield Skipped(source, loc, "is a folder, not a WARC file")
        return
    key = "file:" + display(Path(os.path.abspath(p))) + filters.suffix()
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    saved = ctx.saved(key)
    if saved == stamp:
        if ctx.trigger == "backfill":
            yield Known(source, loc, key)
        return
    offset, records = _resume_at(saved, stamp)
    try:
        with p.open("rb") as fh:
            fh.seek(offset)
            reader = WarcReader(
                fh,
                source=source,
                locator=loc,
                filters=filters,
                start=offset,
                records=records,
                checkpoint=lambda at, n: Checkpoint(key, f"{stamp}@{at}:{n}", partial=True),
            )
            yield from reader
    except OSError as exc:
        yield Skipped(source, loc, f"cannot read: {exc.strerror or exc}")
        return
    log.info(
        "warc_read", source=source, path=loc, start=offset, records=reader.records - records, counts=dict(reader.counts)
    )
    if not _changed(p, st):
        yield Checkpoint(key, stamp)
