"""Feed entries, whatever the format, to fragment items: shared by the RSS/Atom and JSON Feed
parsers (pure functions)."""

from __future__ import annotations

import calendar
import html
import re
import time
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from worker.clean.normalize import clean_line, derive_headline
from worker.models import Hints, RawItem, Skipped
from worker.timefmt import iso_z

_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_BLOCKS = ["p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
           "tr", "td", "th", "table", "figure", "figcaption", "section", "article", "header", "footer", "dd", "dt"]


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


def lang_code(value: str | None) -> str | None:
    """``en-US`` -> ``en``."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def http_url(value: str | None, base: str) -> str | None:
    """An absolute http(s) URL resolved against ``base``, or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        url = urljoin(base, value.strip())
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def iso_struct(st: time.struct_time | None) -> str | None:
    if not st:
        return None
    try:
        ts = calendar.timegm(st)
        return iso_z(datetime.fromtimestamp(ts, timezone.utc))
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def entry_items(entries, url, source, publication, lang) -> list[RawItem | Skipped]:
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
