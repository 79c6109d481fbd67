"""RSS 0.9/1.0/2.0, Atom and JSON Feed: a thin ``fetch()`` around the pure ``parse_feed()``.

feedparser only ever sees an in-memory stream of bytes that were already decoded and
re-encoded as UTF-8 here, never a URL or a path, so it cannot fetch or read anything itself.
Its dictionaries never leave this module: entries become ``RawItem(kind="fragment")``.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.datetimes import _parse_date
from bs4 import BeautifulSoup

from worker.clean.normalize import clean_line, decode
from worker.errors import FetchError, ParseError
from worker.fetchers import FEED_ACCEPT, PAGE_ACCEPT, FetchContext, FetchIterator, http_checkpoint
from worker.models import Hints, RawItem, Skipped, Source

HEADLINE_MAX = 120  # characters of a headline derived from an untitled entry's summary
CP1252_MARGIN = 0.03  # detection "chaos" by which another guess must beat cp1252
JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")

_XML_DECL = re.compile(r"<\?xml\s[^>]*\?>")
_XML_DECL_ENCODING = re.compile(rb"""<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")
_BLOCKS = ["p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
           "tr", "td", "th", "table", "figure", "figcaption", "section", "article", "header", "footer", "dd", "dt"]
_EMAIL_NAME = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")
_LATIN1 = {"latin_1", "iso8859-1", "ascii"}


# ---------------------------------------------------------------- text helpers


def plain_text(value: str | None) -> str:
    """HTML or text to one clean line: tags dropped, entities (even double-escaped) decoded, NFC."""
    if not value:
        return ""
    text = value
    if "<" in text or "&" in text:
        soup = BeautifulSoup(text, "lxml")
        for tag in soup(["script", "style"]):
            tag.decompose()
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for block in soup.find_all(_BLOCKS):
            block.append("\n")
        text = soup.get_text("")
    for _ in range(2):  # feeds that escape twice leave "&amp;#8217;" behind one round
        if not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return clean_line(" ".join(text.split()))


def derive_headline(summary_text: str, limit: int = HEADLINE_MAX) -> str | None:
    """The first sentence of a plain-text summary, cut at a word boundary near ``limit``."""
    text = clean_line(summary_text)
    if not text:
        return None
    m = _SENTENCE_END.search(text)
    first = text[: m.end()] if m else text
    if len(first) <= limit:
        return first
    cut = first[:limit]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def _lang(value: str | None) -> str | None:
    """``en-US`` -> ``en``."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _http_url(value: str | None, base: str) -> str | None:
    """An absolute http(s) URL resolved against ``base``, or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        url = urljoin(base, value.strip())
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _iso_struct(st: time.struct_time | None) -> str | None:
    if not st:
        return None
    try:
        ts = calendar.timegm(st)
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _iso_rfc3339(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        st = _parse_date(value)  # the same lenient date parser RSS and Atom dates get
        return _iso_struct(st)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- bytes -> UTF-8 XML


def _try_decode(data: bytes, name: str | None) -> str | None:
    import codecs

    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("'\"")).name
    except LookupError:
        return None
    candidates = ("cp1252", codec) if codec in _LATIN1 else (codec,)  # as browsers read latin-1
    for enc in candidates:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


def decode_feed(data: bytes, http_charset: str | None = None) -> str:
    """Feed bytes to text: BOM, valid UTF-8, HTTP charset, declared encoding, then detection."""
    import codecs

    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = _XML_DECL_ENCODING.search(data[:1024])
    declared = m.group(1).decode("ascii") if m else None
    for name in (http_charset, declared):
        text = _try_decode(data, name)
        if text is not None:
            return text
    return _detect(data)


def _detect(data: bytes) -> str:
    """Charset detection for undeclared bytes.

    cp1252, the web's most common legacy charset, wins unless another guess reads clearly
    better: short Western texts otherwise come out as cp1250 or cp1257 ("trčs" for "très").
    """
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(data[:200_000]))
    except Exception:  # detection is best effort
        matches = []
    if matches:
        best = matches[0]
        for m in matches:
            if m.chaos <= best.chaos + CP1252_MARGIN and "cp1252" in (m.encoding, *m.could_be_from_charset):
                text = _try_decode(data, "cp1252")
                if text is not None:
                    return text
        text = _try_decode(data, best.encoding)
        if text is not None:
            return text
    return decode(data)


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
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not data or not data.strip():
        raise ParseError(f"{url}: empty document")
    charset = _charset(headers.get("content-type"))
    text = decode_feed(data, charset)
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return _parse_json_feed(text, url, headers, source)
    return _parse_xml_feed(text, url, headers, source)


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type, re.I)
    return m.group(1) if m else None


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
    lang = _lang(feed.get("language") or headers.get("content-language"))
    entries = []
    for entry in d.entries:
        authors = _feed_authors(entry)
        contents = [c.get("value") or "" for c in entry.get("content") or []]
        base = (entry.get("title_detail") or {}).get("base") or url
        entries.append(
            {
                "title": entry.get("title"),
                "link": _http_url(entry.get("link"), base) or _http_url(entry.get("link"), url),
                "authors": authors,
                "published": _iso_struct(entry.get("published_parsed") or entry.get("updated_parsed")),
                "content": max(contents, key=len) if contents else "",
                "summary": entry.get("summary") or "",
                "lang": _lang((entry.get("title_detail") or {}).get("language")),
            }
        )
    return _items(entries, url, source, publication, lang), warnings


def _feed_authors(entry) -> list[str]:
    """Author names; RSS ``email (Name)`` gives the name, a bare email address gives nothing."""
    raw = entry.get("author") or ""
    m = _EMAIL_NAME.match(raw)
    if m:
        return [m.group(1)]
    names = [a.get("name") for a in entry.get("authors") or [] if isinstance(a, dict) and a.get("name")]
    if not names and raw:
        names = [(entry.get("author_detail") or {}).get("name") or raw]
    return [n for n in names if not re.fullmatch(r"\S+@\S+", n.strip())]


def _parse_json_feed(text: str, url: str, headers: dict[str, str], source: str):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(f"{url}: not a feed (invalid JSON: {err})") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ParseError(f"{url}: not a feed (JSON without a jsonfeed.org version)")
    warnings = []
    if doc["version"].rstrip("/") not in JSON_FEED_VERSIONS:
        warnings.append(f"unknown JSON Feed version {doc['version']}")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(f"{url}: not a feed (JSON Feed without an items list)")
    if not items:
        warnings.append("feed has no entries")
    publication = plain_text(doc.get("title") if isinstance(doc.get("title"), str) else None) or None
    lang = _lang(doc.get("language") if isinstance(doc.get("language"), str) else headers.get("content-language"))
    feed_authors = _json_authors(doc)
    entries = []
    for item in items:
        if not isinstance(item, dict):
            entries.append(None)
            continue
        body = item.get("content_html") or item.get("content_text") or ""
        if not isinstance(body, str):
            body = ""
        summary = item.get("summary") if isinstance(item.get("summary"), str) else ""
        entries.append(
            {
                "title": item.get("title") if isinstance(item.get("title"), str) else None,
                "link": _http_url(item.get("url"), url) or _http_url(item.get("external_url"), url),
                "authors": _json_authors(item) or feed_authors,
                "published": _iso_rfc3339(item.get("date_published")) or _iso_rfc3339(item.get("date_modified")),
                "content": body,
                "summary": summary,
                "lang": _lang(item.get("language") if isinstance(item.get("language"), str) else None),
            }
        )
    return _items(entries, url, source, publication, lang), warnings


def _json_authors(obj: dict) -> list[str]:
    found = obj.get("authors") if isinstance(obj.get("authors"), list) else [obj.get("author")]
    return [a["name"] for a in found if isinstance(a, dict) and isinstance(a.get("name"), str)]


def _items(entries, url, source, publication, lang) -> list[RawItem | Skipped]:
    """Feed-neutral entry dicts to fragment items; repeated link+headline pairs yield once."""
    out: list[RawItem | Skipped] = []
    seen: set[tuple[str | None, str]] = set()
    for n, e in enumerate(entries, start=1):
        locator = f"{url}#{n}"
        if e is None:
            out.append(Skipped(source, locator, "feed entry is not an object"))
            continue
        locator = e["link"] or locator
        content, summary = e["content"] or "", e["summary"] or ""
        content_text, summary_text = plain_text(content), plain_text(summary)
        if len(content_text) > len(summary_text):
            body = content
            dek = summary_text if summary_text and not content_text.startswith(summary_text) else None
        else:
            body, dek = summary, None
        headline = plain_text(e["title"]) or None
        derived = False
        if headline is None:
            headline = derive_headline(summary_text or content_text)
            derived = headline is not None
        if headline is None:
            out.append(Skipped(source, locator, "feed entry has no title and no content"))
            continue
        key = (e["link"], headline)
        if key in seen:
            continue
        seen.add(key)
        names = []
        for name in e["authors"]:
            name = plain_text(name) if isinstance(name, str) else ""
            if name and name not in names:
                names.append(name)
        hints = Hints(
            headline=headline,
            headline_derived=derived,
            byline=", ".join(names) or None,
            published_at=e["published"],
            dek=dek,
            url=e["link"],
            publication=publication,
            lang=e["lang"] or lang,
        )
        out.append(RawItem(source=source, locator=locator, kind="fragment", content=body, hints=hints))
    return out


# ---------------------------------------------------------------- I/O shell


def fetch(source: Source, ctx: FetchContext) -> FetchIterator:
    """Fetch one feed; yield its entries (or their pages with ``follow_links``), then its checkpoint."""
    if not source.url:
        raise ParseError(f"{source.name}: a feed source needs a url")
    resp = ctx.http.get(
        source.url,
        trusted=True,
        validators=ctx.validators_for(source.url),
        respect_robots=source.respect_robots,
        stats=ctx.stats,
        accept=FEED_ACCEPT,
    )
    if resp.not_modified:
        return
    items, warnings = parse_feed(resp.content, resp.url, resp.headers, source=source.name)
    ctx.stats.warnings.extend(f"{source.url}: {w}" for w in warnings)
    for item in items:
        if source.follow_links and isinstance(item, RawItem):
            yield _follow(item, source, ctx)
        else:
            yield item
    yield http_checkpoint(source.url, resp.validators)


def _follow(item: RawItem, source: Source, ctx: FetchContext) -> RawItem:
    """The entry's page as an ``html`` item, or the entry itself when archived or unreachable."""
    link = item.hints.url
    if not link or (item.hints.headline and ctx.is_archived(item.hints.headline)):
        return item
    try:
        page = ctx.http.get(
            link,
            trusted=False,
            validators=None,
            respect_robots=source.respect_robots,
            stats=ctx.stats,
            accept=PAGE_ACCEPT,
        )
    except FetchError as err:
        ctx.stats.warnings.append(f"{link}: page not fetched, feed entry kept: {err}")
        return item
    if page.not_modified or not page.content:
        return item
    hints = replace(item.hints, url=page.url or link, encoding=page.encoding)
    return RawItem(source=item.source, locator=item.locator, kind="html", content=page.content, hints=hints)
