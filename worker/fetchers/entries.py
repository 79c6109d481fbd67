"""Feed entries, whatever the format, to fragment items: shared by the RSS/Atom and JSON Feed
parsers (pure functions)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from worker.models import Hints, RawItem, Skipped
from worker.text.bylines import format_byline
from worker.text.lines import derive_headline, plain_text


def http_url(value: str | None, base: str) -> str | None:
    """An absolute http(s) URL resolved against ``base``, or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        url = urljoin(base, value.strip())
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


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
        names = [plain_text(name) for name in e["authors"] if isinstance(name, str)]
        hints = Hints(
            headline=headline,
            headline_derived=derived,
            byline=format_byline(names),
            published_at=e["published"],
            dek=dek,
            url=e["link"],
            publication=publication,
            lang=e["lang"] or lang,
        )
        out.append(RawItem(source=source, locator=locator, kind="fragment", content=body, hints=hints))
    return out
