"""``worker reclean``: the current cleaner over the raw records articles came from.

Each captured record that gave a version (``version_captures``) is read back from its WARC
file (a revisit through its original) and cleaned again through the one pipeline, as a run of
the source that captured it (trigger ``reclean``). Where the result differs from what the archive
holds, it is a new version with reason ``reclean`` (the article shows it when it came from the
article's own page); the old text stays in ``versions``. A result equal to a version already
kept changes nothing and records no sighting, so a second reclean changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.archive import Archive
from worker.capture import read_record
from worker.captures import REF_COLUMNS, Captures
from worker.errors import ArchiveError, ParseError
from worker.fetchers import FetchContext, FetchOutput
from worker.fetchers.files import CONTENT_TYPES
from worker.fetchers.http_body import charset_of
from worker.kinds import Fetch
from worker.models import CaptureRef, Config, Hints, RawItem, RunResult, Skipped, Source
from worker.pipeline import ingest
from worker.run import OnItem

FEEDS = ("xml", "rss", "atom", "json")


@dataclass(frozen=True)
class Selection:
    """Which captured records to clean again."""

    source: str | None = None  # captured by this source
    since: str | None = None  # captured on or after this date (UTC)
    ids: tuple[int, ...] = ()  # that gave versions of these articles


def selected(archive: Archive, which: Selection) -> dict[str, list[CaptureRef]]:
    """The records to clean again, by the source that captured them, oldest first."""
    where: list[str] = ["c.id IN (SELECT capture_id FROM version_captures)"]
    params: list[str | int] = []
    if which.source:
        where.append("c.source = ?")
        params.append(which.source)
    if which.since:
        where.append("c.fetched_at >= ?")
        params.append(which.since)
    if which.ids:
        where.append(
            f"c.id IN (SELECT vc.capture_id FROM version_captures vc JOIN versions v ON v.id = vc.version_id "
            f"WHERE v.article_id IN ({','.join('?' * len(which.ids))}))"
        )
        params.extend(which.ids)
    cols = ", ".join("c." + c.strip() for c in REF_COLUMNS.split(","))
    rows = archive.db.execute(f"SELECT c.source, {cols} FROM captures c WHERE {' AND '.join(where)} ORDER BY c.id",
                              params)  # fmt: skip
    out: dict[str, list[CaptureRef]] = {}
    for source, *ref in rows:
        out.setdefault(source or "capture", []).append(CaptureRef(*ref))
    return out


def reclean(config: Config, which: Selection, *, workers: int = 1, on_item: OnItem | None = None) -> list[RunResult]:
    """Clean the selected records again; one RunResult per source they came from."""
    captures = Captures(config.archive, config.capture)
    results = []
    try:
        with Archive(config.archive) as archive:
            for name, refs in selected(archive, which).items():
                results.append(
                    ingest(
                        Source(name=name, kind="reclean"),
                        archive,
                        trigger="reclean",
                        settings=config.scheduler,
                        workers=workers,
                        on_item=on_item,
                        fetcher=_fetcher(refs, captures),
                    )
                )
    finally:
        captures.close()
    return results


def _fetcher(refs: Sequence[CaptureRef], captures: Captures) -> Fetch:
    """The fetch function of a reclean run: the records, read back."""

    def fetch(source: Source, ctx: FetchContext) -> Iterator[FetchOutput]:
        return _items(refs, captures, source)

    return fetch


def _items(refs: Sequence[CaptureRef], captures: Captures, source: Source) -> Iterator[FetchOutput]:
    for ref in refs:
        try:
            record = read_record(captures.root, ref, lookup=captures.original)
        except ArchiveError as exc:
            yield Skipped(source.name, ref.url, str(exc))
            continue
        kind = _kind_of(record.content_type, ref.url)
        if kind == "feed":
            yield from _feed(record.payload, ref, source)
        else:
            hints = Hints(url=ref.url if ref.status is not None else None, encoding=charset_of(record.content_type))
            yield RawItem(source.name, ref.url, kind, record.payload, hints, capture=ref)


def _kind_of(content_type: str | None, url: str) -> str:
    """html, text or feed, by the record's content type (or a local file's name)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in ("text/html", "application/xhtml+xml"):
        return "html"
    if ctype == "text/plain" or url.endswith(".txt"):
        return "text"
    if any(f in ctype for f in FEEDS) or Path(url).suffix in CONTENT_TYPES and "html" not in ctype:
        return "feed"
    return "html"


def _feed(payload: bytes, ref: CaptureRef, source: Source) -> Iterator[FetchOutput]:
    from dataclasses import replace

    from worker.fetchers.feed import parse_feed

    try:
        items, _ = parse_feed(payload, ref.url, source=source.name)
    except ParseError as exc:
        yield Skipped(source.name, ref.url, str(exc))
        return
    for item in items:
        yield replace(item, capture=ref) if isinstance(item, RawItem) else item
