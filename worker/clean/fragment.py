"""Entries whose metadata is already known (feed items, JSON Lines): body HTML or text -> Article."""

from __future__ import annotations

import re

from worker.errors import ParseError
from worker.models import Article, Hints
from worker.text.bylines import format_byline
from worker.text.datelines import strip_dateline
from worker.text.decode import decode
from worker.text.lang import lang_code
from worker.text.lines import clean_line, derive_headline, plain_paragraphs

_TAG = re.compile(r"<(p|br|div|a|b|i|em|strong|span|img|ul|ol|li|h[1-6]|blockquote|figure|table)\b", re.I)


def clean_fragment(content: str | bytes | None, hints: Hints, *, source: str | None = None) -> Article:
    """An entry with known metadata: its body (HTML through the HTML cleaner's text rules, or
    plain text) cleaned, the dateline it opens with taken out, its headline from the hints or,
    failing that, derived from the first sentence (and marked derived). ParseError when it has
    neither headline nor text."""
    text = decode(content or b"", hints.encoding)
    found = None
    if _TAG.search(text):
        from worker.clean.html import fragment_text

        body, found = fragment_text(text, hints)
    else:
        body = plain_paragraphs(text)
    dateline, body = strip_dateline(body)
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
        byline=format_byline(hints.byline or found),
        published_at=hints.published_at,
        dek=dek or None,
        url=hints.url,
        source=source,
        publication=clean_line(hints.publication) if hints.publication else None,
        dateline=dateline.place if dateline else None,
        lang=lang_code(hints.lang),
        headline_derived=derived,
    )
