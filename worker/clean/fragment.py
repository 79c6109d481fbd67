"""Entries whose metadata is already known (feed items, JSON Lines): body HTML or text -> Article."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from worker.clean.normalize import clean_line, decode, derive_headline
from worker.errors import ParseError
from worker.models import Article, Hints

_TAG = re.compile(r"<(p|br|div|a|b|i|em|strong|span|img|ul|ol|li|h[1-6]|blockquote|figure|table)\b", re.I)
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "figcaption", "br")
_DROP = ("script", "style", "noscript", "iframe", "form", "svg", "button", "object", "embed", "figure")


def fragment_text(content: str | bytes | None) -> str:
    """HTML or plain text to paragraphs separated by blank lines (NFC, spaces collapsed)."""
    if not content:
        return ""
    text = decode(content)
    if _TAG.search(text):
        soup = BeautifulSoup(text, "lxml")
        for tag in soup.find_all(_DROP):
            tag.decompose()
        for tag in soup.find_all(_BLOCKS):
            if tag.name == "br":
                tag.replace_with("\n")
            else:
                tag.insert_before("\n\n")
                tag.insert_after("\n\n")
        text = soup.get_text()
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [clean_line(line) for line in block.split("\n")]
        para = "\n".join(line for line in lines if line)
        if para:
            paragraphs.append(para)
    return "\n\n".join(paragraphs)


def clean_fragment(content: str | bytes | None, hints: Hints, *, source: str | None = None) -> Article:
    """An entry with known metadata: its body cleaned to text, its headline from the hints or,
    failing that, derived from the first sentence (and marked derived)."""
    body = fragment_text(content)
    headline = clean_line(fragment_text(hints.headline)) if hints.headline else ""
    derived = hints.headline_derived
    if not headline:
        if not body:
            raise ParseError("item has neither a headline nor any text")
        headline, derived = derive_headline(body), True
    return Article(
        headline=headline,
        body=body,
        byline=clean_line(hints.byline) if hints.byline else None,
        published_at=hints.published_at,
        dek=clean_line(fragment_text(hints.dek)) or None if hints.dek else None,
        url=hints.url,
        source=source,
        publication=clean_line(hints.publication) if hints.publication else None,
        lang=hints.lang,
        headline_derived=derived,
    )
