"""Sitemaps (index, urlset, Google News; plain or gzipped): a thin ``fetch()`` around ``parse_sitemap()``.

The XML parser never expands entities, never loads a DTD and never touches the network or
local files, so a billion-laughs or external-entity sitemap yields nothing harmful.
"""

from __future__ import annotations

import re
import zlib
from typing import NamedTuple

from lxml import etree

from worker.errors import FetchError, ParseError
from worker.fetchers import SITEMAP_ACCEPT, FetchContext, FetchIterator, conditional_get, http_checkpoint
from worker.fetchers.entries import http_url
from worker.fetchers.page import fetch_pages
from worker.models import Hints, Skipped, Source
from worker.text.dates import parse_date, utc_instant
from worker.text.lang import lang_code
from worker.text.lines import clean_line, unescape_line

MAX_DECOMPRESSED = 50 * 1024 * 1024  # bytes, as the sitemap protocol allows
MAX_DEPTH = 2  # index -> index -> urlset, no deeper
MAX_SITEMAPS = 50  # child sitemaps fetched in one run
_CHUNK = 1024 * 1024


class SitemapEntry(NamedTuple):
    loc: str
    lastmod: str | None  # ISO 8601 as parse_date writes it: a day, or a time with its offset
    news_title: str | None
    news_date: str | None  # the same
    publication: str | None = None  # Google News: the publication's name and language
    lang: str | None = None


def gunzip(data: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress gzip bytes, refusing output larger than ``limit``."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        for i in range(0, len(data), _CHUNK):
            chunk = data[i : i + _CHUNK]
            while chunk:
                out += d.decompress(chunk, limit + 1 - len(out))
                if len(out) > limit:
                    raise ParseError(f"gzipped sitemap larger than {limit} bytes decompressed")
                chunk = d.unconsumed_tail
                if d.eof:
                    break
            if d.eof:
                break
        out += d.flush()
    except zlib.error as err:
        raise ParseError(f"broken gzip data: {err}") from None
    if len(out) > limit:
        raise ParseError(f"gzipped sitemap larger than {limit} bytes decompressed")
    return bytes(out)


def parse_sitemap(data: bytes, url: str) -> tuple[str, list[SitemapEntry]]:
    """``("index" | "urlset", entries)``; locs resolved against ``url``, non-http(s) locs dropped.

    Raises ``ParseError`` when the document is not a sitemap.
    """
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data)
    data = data.lstrip(b" \t\r\n")
    if not data:
        raise ParseError(f"{url}: empty sitemap")
    if not data.lstrip(b"\xef\xbb\xbf").startswith(b"<"):
        return "urlset", _text_sitemap(data, url)
    root = _xml_root(data, url)
    if root is None:
        raise ParseError(f"{url}: not a sitemap (no XML root element)")
    kind = {"sitemapindex": "index", "urlset": "urlset"}.get(_local(root))
    if kind is None:
        raise ParseError(f"{url}: not a sitemap (root element <{_local(root)}>)")
    entries = []
    for el in root:
        if _local(el) not in ("sitemap", "url"):
            continue
        loc = http_url(_child_text(el, "loc"), url)
        if loc is None:
            continue
        news = _child(el, "news")
        title = date = publication = lang = None
        if news is not None:
            title = unescape_line(_child_text(news, "title") or "") or None
            date = parse_date(_child_text(news, "publication_date"))
            pub = _child(news, "publication")
            if pub is not None:
                publication = clean_line(_child_text(pub, "name") or "") or None
                lang = lang_code(_child_text(pub, "language"))
            lang = lang or lang_code(_child_text(news, "language"))
        entries.append(SitemapEntry(loc, parse_date(_child_text(el, "lastmod")), title, date, publication, lang))
    return kind, entries


_BARE_AMP = re.compile(rb"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][\w.-]*;)")


def _xml_root(data: bytes, url: str):
    """Parse strictly; a merely broken document (bare "&" in URLs, truncation) is repaired
    or read leniently; one that trips an entity or size limit is refused."""
    options = {"resolve_entities": False, "no_network": True, "huge_tree": False, "load_dtd": False}
    fixed = _BARE_AMP.sub(b"&amp;", data)
    for doc, recover in ((data, False), (fixed, False), (fixed, True)):
        try:
            return etree.fromstring(doc, etree.XMLParser(recover=recover, **options))
        except etree.XMLSyntaxError as err:
            if re.search(r"amplification|loop|limit|huge", str(err), re.I):
                raise ParseError(f"{url}: refused sitemap ({err})") from None
            error = err
    raise ParseError(f"{url}: not a sitemap ({error})")


def _text_sitemap(data: bytes, url: str) -> list[SitemapEntry]:
    """The protocol's plain-text form: one URL per line."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    records = []
    for line in text.splitlines():
        loc = http_url(line, url) if line.strip().lower().startswith(("http://", "https://")) else None
        if loc:
            records.append(SitemapEntry(loc, None, None, None))
    if not records and text.strip():
        raise ParseError(f"{url}: not a sitemap (neither XML nor a list of URLs)")
    return records


def _local(el) -> str:
    tag = el.tag
    if not isinstance(tag, str):  # comments, processing instructions, entity references
        return ""
    return tag.rsplit("}", 1)[-1].split(":")[-1]


def _child(el, name: str):
    for child in el:
        if _local(child) == name:
            return child
    return None


def _child_text(el, name: str) -> str | None:
    child = _child(el, name)
    if child is None or len(child):  # entity references or markup inside: not a plain value
        return None
    return child.text.strip() if child.text else None


def _fresh(lastmod: str | None, since: str | None) -> bool:
    """Whether a lastmod (as ``parse_date`` writes it) is on or after ``since`` (a UTC instant or
    a day, as ``utc_instant`` writes it); entries without a (readable) lastmod are kept. A day
    stands for its first moment in UTC, as the protocol's W3C dates do."""
    when = utc_instant(lastmod)
    if since is None or when is None:
        return True
    return _at_start(when) >= _at_start(since)


def _at_start(instant: str) -> str:
    return instant if len(instant) > 10 else instant + "T00:00:00Z"


# ---------------------------------------------------------------- I/O shell


def fetch(source: Source, ctx: FetchContext) -> FetchIterator:
    """Fetch a sitemap (following an index to its children), then every fresh page it lists."""
    url, wanted = source.options["url"], source.options.get("since")
    since = utc_instant(parse_date(wanted)) if wanted else None
    if wanted and since is None:
        ctx.stats.warnings.append(f"{source.name}: since {wanted!r} is not an ISO date; ignored")
    state = {"sitemaps": 0, "seen": {url}, "pages": set()}
    yield from _walk(url, source, ctx, True, 0, since, state)


def _walk(url, source, ctx, trusted, depth, since, state) -> FetchIterator:
    resp = conditional_get(ctx, source, url, trusted=trusted, accept=SITEMAP_ACCEPT)
    if resp.not_modified:
        return
    kind, entries = parse_sitemap(resp.content, resp.url)
    if kind == "index":
        for e in entries:
            child = e.loc
            if child in state["seen"] or not _fresh(e.lastmod, since):
                continue
            if depth + 1 > MAX_DEPTH or state["sitemaps"] >= MAX_SITEMAPS:
                ctx.stats.warnings.append(f"{url}: sitemap index too deep or too large; rest not followed")
                break
            state["seen"].add(child)
            state["sitemaps"] += 1
            try:
                yield from _walk(child, source, ctx, False, depth + 1, since, state)
            except (FetchError, ParseError) as err:
                yield Skipped(source.name, child, str(err))
    else:
        urls, hints = [], {}
        for e in entries:
            if e.loc in state["pages"] or not _fresh(e.lastmod, since):
                continue
            state["pages"].add(e.loc)
            if e.news_title:
                if ctx.is_archived(e.news_title, e.publication):
                    continue
                hints[e.loc] = Hints(
                    headline=e.news_title, published_at=e.news_date, publication=e.publication, lang=e.lang
                )
            urls.append(e.loc)
        yield from fetch_pages(urls, source, ctx, trusted=False, hints_by_url=hints)
    yield http_checkpoint(url, resp.validators)
