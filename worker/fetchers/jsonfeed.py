"""JSON Feed 1 and 1.1 (https://jsonfeed.org), parsed with ``json``: feedparser does not read it."""

from __future__ import annotations

import json
from typing import Any

from worker.errors import ParseError
from worker.fetchers.entries import entry_items, http_url
from worker.models import RawItem, Skipped
from worker.text.dates import parse_date
from worker.text.lang import lang_code
from worker.text.lines import plain_text

JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


def parse_json_feed(
    text: str, url: str, headers: dict[str, str], source: str
) -> tuple[list[RawItem | Skipped], list[str]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(f"{url}: not a feed (invalid JSON: {err})") from None
    except RecursionError:
        raise ParseError(f"{url}: not a feed (JSON nested too deeply)") from None
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
    lang = lang_code(doc.get("language") if isinstance(doc.get("language"), str) else headers.get("content-language"))
    feed_authors = _json_authors(doc)
    entries: list[dict[str, Any] | None] = []
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
                "link": http_url(item.get("url"), url) or http_url(item.get("external_url"), url),
                "authors": _json_authors(item) or feed_authors,
                "published": _date(item.get("date_published")) or _date(item.get("date_modified")),
                "content": body,
                "summary": summary,
                "lang": lang_code(item.get("language") if isinstance(item.get("language"), str) else None),
            }
        )
    return entry_items(entries, url, source, publication, lang), warnings


def _date(value: object) -> str | None:
    """An RFC 3339 date (the form JSON Feed asks for, other forms read as leniently as RSS dates)."""
    return parse_date(value) if isinstance(value, str) else None


def _json_authors(obj: dict) -> list[str]:
    found = obj["authors"] if isinstance(obj.get("authors"), list) else [obj.get("author")]
    return [a["name"] for a in found if isinstance(a, dict) and isinstance(a.get("name"), str)]
