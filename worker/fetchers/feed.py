"""RSS 0.9/1.0/2.0, Atom and JSON Feed: a thin ``fetch()`` around the pure ``parse_feed()``.

feedparser only ever sees an in-memory stream of bytes that were already decoded and
re-encoded as UTF-8 here, never a URL or a path, so it cannot fetch or read anything itself.
Its dictionaries never leave this module: entries become ``RawItem(kind="fragment")``.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import feedparser

from worker.errors import FetchError, ParseError
from worker.fetchers import FEED_ACCEPT, PAGE_ACCEPT, FetchContext, FetchIterator, conditional_get, http_checkpoint
from worker.fetchers.entries import entry_items, http_url
from worker.fetchers.http_body import charset_of
from worker.fetchers.jsonfeed import parse_json_feed
from worker.fetchers.page import page_item
from worker.models import PollHints, RawItem, Seen, Skipped, Source
from worker.polling import cache_seconds, ttl_seconds, update_period_seconds
from worker.text.dates import parse_date
from worker.text.decode import decode
from worker.text.lang import lang_code
from worker.text.lines import plain_text

_XML_DECL = re.compile(r"<\?xml\s[^>]*\?>")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EMAIL_NAME = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")


_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")


# ---------------------------------------------------------------- bytes -> UTF-8 XML


def _allowed_ref(m: re.Match) -> str:
    """A numeric character reference as it is when XML allows its character, else nothing."""
    digits = m.group(1) or m.group(2)
    if len(digits.lstrip("0")) > 7:
        return ""
    code = int(digits, 16) if m.group(1) else int(digits)
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF:
        return m.group(0)
    return ""


def _normalize_xml(text: str) -> tuple[bytes, list[str]]:
    """UTF-8 bytes with one correct XML declaration at the very start."""
    warnings: list[str] = []
    text = text.lstrip("\ufeff \t\r\n")
    m = _XML_DECL.search(text[:2048])
    if m:
        if m.start() != 0:
            warnings.append("XML declaration not at the start of the document")
        text = text[: m.start()] + text[m.end() :]
    if _XML_INVALID.search(text):
        warnings.append("characters not allowed in XML removed")
        text = _XML_INVALID.sub("", text)
    fixed = _CHAR_REF.sub(_allowed_ref, text)
    if fixed != text:  # feedparser's lenient parser would fail on them (chr() of a surrogate, of 2**40)
        warnings.append("references to characters not allowed in XML removed")
        text = fixed
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text.lstrip()).encode("utf-8"), warnings


# ---------------------------------------------------------------- parsing


def parse_feed(
    data: bytes, url: str, headers: dict[str, str] | None = None, *, source: str = ""
) -> tuple[list[RawItem | Skipped], list[str]]:
    """Parse RSS/RDF/Atom/JSON Feed bytes into fragment items, plus warnings for a messy feed.

    ``url`` is the feed's (final) URL: the base for relative links and the locator of
    link-less entries (``url#n``). ``headers`` are the HTTP response headers (lower-case).
    Raises ``ParseError`` when the document is not a feed at all.
    """
    items, warnings, _ = read_feed(data, url, headers, source=source)
    return items, warnings


def read_feed(
    data: bytes, url: str, headers: dict[str, str] | None = None, *, source: str = ""
) -> tuple[list[RawItem | Skipped], list[str], PollHints]:
    """``parse_feed``, plus what the document says about how often to read it: its RSS
    ``<ttl>`` and ``sy:updatePeriod``/``sy:updateFrequency`` (a JSON Feed says neither)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not data or not data.strip():
        raise ParseError(f"{url}: empty document")
    charset = charset_of(headers.get("content-type"))
    text = decode(data, charset)
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return (*parse_json_feed(text, url, headers, source), PollHints())
    return _parse_xml_feed(text, url, headers, source)


def _parse_xml_feed(text: str, url: str, headers: dict[str, str], source: str):
    xml, warnings = _normalize_xml(text)
    response_headers = {"content-type": "application/xml; charset=utf-8", "content-location": url}
    if headers.get("content-language"):
        response_headers["content-language"] = headers["content-language"]
    d = feedparser.parse(io.BytesIO(xml), response_headers=response_headers)
    if not d.get("version") and not d.entries:
        reason = d.get("bozo_exception") or "no RSS, RDF or Atom root element"
        raise ParseError(f"{url}: not a feed ({reason})")
    if d.get("bozo"):
        warnings.append(f"feed not well-formed, read leniently: {d.get('bozo_exception')}")
    if not d.entries:
        warnings.append("feed has no entries")
    feed = d.feed
    publication = plain_text(feed.get("title")) or None
    lang = lang_code(feed.get("language") or headers.get("content-language"))
    entries = []
    for entry in d.entries:
        authors = _feed_authors(entry)
        contents = [c.get("value") or "" for c in entry.get("content") or []]
        base = (entry.get("title_detail") or {}).get("base") or url
        entries.append(
            {
                "title": entry.get("title"),
                "link": http_url(entry.get("link"), base) or http_url(entry.get("link"), url),
                "authors": authors,
                "published": _published(entry),
                "content": max(contents, key=len) if contents else "",
                "summary": entry.get("summary") or "",
                "lang": lang_code((entry.get("title_detail") or {}).get("language")),
            }
        )
    hints = PollHints(
        ttl=ttl_seconds(feed.get("ttl")),
        update_period=update_period_seconds(feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")),
    )
    return entry_items(entries, url, source, publication, lang), warnings, hints


def _published(entry) -> str | None:
    """The entry's date read from its own text by the project's parser: feedparser's parsed
    struct_time drops the publisher's offset."""
    for key in ("published", "updated"):
        if (value := parse_date(entry.get(key))) is not None:
            return value
    return None


def _feed_authors(entry) -> list[str]:
    """Author names; RSS ``email (Name)`` gives the name, a bare email address gives nothing."""
    raw = entry.get("author") or ""
    m = _EMAIL_NAME.match(raw)
    if m:
        return [m.group(1)]
    names = [str(a["name"]) for a in entry.get("authors") or [] if isinstance(a, dict) and a.get("name")]
    if not names and raw:
        names = [(entry.get("author_detail") or {}).get("name") or raw]
    return [n for n in names if not re.fullmatch(r"\S+@\S+", n.strip())]


# ---------------------------------------------------------------- I/O shell


def fetch(source: Source, ctx: FetchContext) -> FetchIterator:
    """Fetch one feed; yield its entries (or their pages with ``follow_links``), then its
    checkpoint. What the feed and the response ask about polling goes to ``ctx.stats.poll``;
    the feed's own part is kept with the checkpoint, for the runs that get a 304."""
    url = source.options["url"]
    resp = conditional_get(ctx, source, url, trusted=True, accept=FEED_ACCEPT)
    max_age, expires = cache_seconds(resp.headers, datetime.now(UTC))
    if resp.not_modified:
        saved = json.loads(ctx.saved("http:" + url) or "{}")
        ctx.stats.poll = PollHints(saved.get("ttl"), saved.get("update_period"), max_age, expires)
        return
    items, warnings, hints = read_feed(resp.content, resp.url, resp.headers, source=source.name)
    ctx.stats.poll = PollHints(hints.ttl, hints.update_period, max_age, expires)
    ctx.stats.warnings.extend(f"{url}: {w}" for w in warnings)
    for item in items:
        if isinstance(item, RawItem) and resp.capture is not None:
            item = replace(item, capture=resp.capture)
        if source.options.get("follow_links") and isinstance(item, RawItem):
            yield _follow(item, source, ctx)
        else:
            yield item
    yield http_checkpoint(url, resp.validators, ttl=hints.ttl, update_period=hints.update_period)


def _follow(item: RawItem, source: Source, ctx: FetchContext) -> RawItem | Seen:
    """The entry's page as an ``html`` item (the entry its fallback when the page holds no article
    the cleaner finds), the entry itself when unreachable, or a sighting when archived."""
    link = item.hints.url
    if not link:
        return item
    if item.hints.headline and ctx.is_archived(item.hints.headline, item.hints.publication):
        return Seen(item.source, item.locator, item.hints.headline, link, item.hints.publication, item.capture)
    try:
        page = conditional_get(ctx, source, link, trusted=False, accept=PAGE_ACCEPT, validators=False)
    except FetchError as err:
        ctx.stats.warnings.append(f"{link}: page not fetched, feed entry kept: {err}")
        return item
    if page.not_modified or not page.content:
        return item
    return page_item(item.source, item.locator, page, item.hints, fallback=item)
