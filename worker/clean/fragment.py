"""Entries whose metadata is already known (feed items, JSON Lines): body HTML or text -> Article."""

from __future__ import annotations

import re

from worker.clean.normalize import clean_line, decode, derive_headline
from worker.errors import ParseError
from worker.models import Article, Hints

_TAG = re.compile(r"<(p|br|div|a|b|i|em|strong|span|img|ul|ol|li|h[1-6]|blockquote|figure|table)\b", re.I)


def plain_paragraphs(text: str) -> str:
    """Plain text to paragraphs separated by blank lines (NFC, spaces collapsed)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        para = "\n".join(line for line in (clean_line(raw) for raw in block.split("\n")) if line)
        if para:
            paragraphs.append(para)
    return "\n\n".join(paragraphs)


def clean_fragment(content: str | bytes | None, hints: Hints, *, source: str | None = None) -> Article:
    """An entry with known metadata: its body (HTML through the HTML cleaner's text rules, or
    plain text) cleaned, its headline from the hints or, failing that, derived from the first
    sentence (and marked derived). ParseError when it has neither headline nor text."""
    text = decode(content or b"", hints.encoding)
    found = None
    if _TAG.search(text):
        from worker.clean.html import fragment_text

        body, found = fragment_text(text, hints)
    else:
        body = plain_paragraphs(text)
    headline = plain_paragraphs(hints.headline).replace("\n", " ") if hints.headline else ""
    derived = hints.headline_derived
    if not headline:
        if not body:
            raise ParseError("item has neither a headline nor any text")
        headline, derived = derive_headline(body) or body[:120], True
    dek = plain_paragraphs(hints.dek).replace("\n", " ") if hints.dek else ""
    return Article(
        headline=headline,
        body=body,
        byline=clean_line(hints.byline or found or "") or None,
        published_at=hints.published_at,
        dek=dek or None,
        url=hints.url,
        source=source,
        publication=clean_line(hints.publication) if hints.publication else None,
        lang=hints.lang,
        headline_derived=derived,
    )
