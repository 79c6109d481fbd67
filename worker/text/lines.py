"""One-line fields and plain paragraphs: Unicode normalization, HTML character references in
headlines, deks and bylines, headlines derived from text (pure functions)."""

from __future__ import annotations

import html
import re
import unicodedata

_INVISIBLE_CHARS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS), None)
SURROGATES = re.compile("[\ud800-\udfff]")  # lone surrogates: not text, cannot be UTF-8
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_BLOCKS = [
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "td",
    "th",
    "table",
    "figure",
    "figcaption",
    "section",
    "article",
    "header",
    "footer",
    "dd",
    "dt",
]


def clean_line(text: str) -> str:
    """NFC, invisible characters dropped, runs of spaces (incl. NBSP) collapsed, trimmed."""
    if not text.isascii():  # ASCII is already NFC and has none of the invisible characters
        text = unicodedata.normalize("NFC", text)
        if any(c in text for c in _INVISIBLE_CHARS):  # six scans cost a 30th of translate's dict lookups
            text = text.translate(_INVISIBLE)
    if text.isprintable():  # no control characters, and no spaces but " " (the common line)
        return " ".join(text.split()) if "  " in text else text.strip()
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def unescape_line(text: str) -> str:
    """One clean line with its HTML character references decoded: ``Tom &amp; Jerry`` is
    ``Tom & Jerry``, and text escaped twice (``&amp;#8217;``) is decoded twice; a bare ``&``
    (``AT&T``) stays as it is. Headlines, deks and bylines from feeds, JSON and a page's metadata
    pass through here, so a field reads the same whichever carried it (plain text has no markup)."""
    for _ in range(2):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return clean_line(" ".join(text.split()))


def plain_text(value: str | None) -> str:
    """HTML or text to one clean line: tags dropped (when there is markup), character
    references decoded as ``unescape_line`` does, NFC."""
    if not value:
        return ""
    text = value
    if "<" in text:
        from bs4 import BeautifulSoup  # only markup needs a parser

        soup = BeautifulSoup(text, "lxml")
        for tag in soup(["script", "style"]):
            tag.decompose()
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for block in soup.find_all(_BLOCKS):
            block.append("\n")
        text = soup.get_text("")
    return unescape_line(text)


def plain_paragraphs(text: str) -> str:
    """Plain text to paragraphs separated by blank lines (NFC, spaces collapsed)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        para = "\n".join(line for line in (clean_line(raw) for raw in block.split("\n")) if line)
        if para:
            paragraphs.append(para)
    return "\n\n".join(paragraphs)


_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")
HEADLINE_MAX = 120  # characters of a headline derived from text


def derive_headline(text: str, limit: int = HEADLINE_MAX) -> str | None:
    """A headline for an item that has none: the first sentence of its text (one that ends
    after at least 20 characters, so "Mr." does not end it), cut on a word boundary near
    ``limit`` with an ellipsis. None when there is no text."""
    first = clean_line(text.strip().split("\n", 1)[0]) if text else ""
    if not first:
        return None
    m = next((m for m in _SENTENCE_END.finditer(first) if m.end() >= 20), None)
    sentence = first[: m.end()] if m else first
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit + 1].rsplit(" ", 1)[0] or sentence[:limit]
    return cut.rstrip(" ,;:—–-") + "…"
