"""HTML article pages: metadata and main text, as one normalized ``Article``.

The whole page is parsed once with lxml; metadata (``metadata``, ``worker.text.dates``), pruning
(``html_prune``) and the choice of the article container (``html_select``) happen on
that tree. Only the chosen, pruned container is serialized and handed to
BeautifulSoup, which produces the text (``html_text``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import structlog
from lxml import etree

from worker.clean import html_byline, html_prune, html_select, html_text, metadata
from worker.errors import ParseError
from worker.models import Article, Hints
from worker.text.bylines import format_byline
from worker.text.datelines import strip_dateline
from worker.text.dates import date_from_url
from worker.text.decode import decode, utf8
from worker.text.lang import lang_code
from worker.text.lines import SURROGATES, clean_line, derive_headline

log = structlog.get_logger("worker.clean")

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False)
# UTF-8 bytes as they are: the encoding given here wins over any the document declares
_UTF8_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, default_doctype=False)
_TOO_DEEP = etree.XPath("boolean(" + "/*" * 200 + ")")
_BLOCK_TAG = re.compile(
    r"</?(?:div|section|article|main|blockquote|ul|ol|li|dl|dd|dt|table|tbody|tr|td|th|center|form|fieldset)\b[^>]*>",
    re.I,
)
_OTHER_TAG = re.compile(
    r"</?(?!(?:p|br|h[1-6]|title|meta|link|script|style|head|body|html|a|time|pre)\b)[a-z][\w:-]*\b[^>]*>", re.I
)
_MIN_BODY = 150  # characters: less than this is not an article
_TRUNCATED = re.compile(r"(?:\.\.\.|…|\[\.\.\.\]|read more)\s*$", re.I)


def _parse(text: str | bytes):
    """The page's lxml tree, or None. ``bytes`` must be valid UTF-8: parsed as they are, so a
    large page is never also held as a str (up to 4 bytes a character)."""
    if isinstance(text, bytes):
        root = _tree(text.replace(b"\x00", b""), _UTF8_PARSER)
        if root is None or not _TOO_DEEP(root):
            return root
        text = _readable(text.decode("utf-8"))  # rare: flattened below
    else:
        text = _readable(text)
        root = _tree(text, _PARSER)
        if root is None or not _TOO_DEEP(root):
            return root
    # the parser stops descending at 256 levels and drops what lies deeper: flatten, parse again
    return _tree(_OTHER_TAG.sub("", _BLOCK_TAG.sub("<p>", text)), _PARSER)


def _readable(text: str) -> str:
    """What lxml reads in full from a str: no XML declaration, NUL or lone surrogate (at which
    the parser silently stops)."""
    text = _XML_DECL.sub("", text.replace("\x00", ""), count=1)
    return SURROGATES.sub("\ufffd", text) if SURROGATES.search(text) else text


def _tree(text: str | bytes, parser):
    if not text.strip():
        return None
    try:
        root = etree.fromstring(text, parser=parser)
    except (etree.ParserError, ValueError, TypeError):
        return None
    return root if root is not None and isinstance(root.tag, str) else None


def _ld_body(ld: dict | None) -> str | None:
    value = (ld or {}).get("articleBody")
    if isinstance(value, list):
        value = "\n\n".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str) or len(value) < 400 or _TRUNCATED.search(value):
        return None
    if "<" in value and re.search(r"</?(?:p|div|br|h\d)\b", value, re.I):
        return html_text.render(value)
    paras = [clean_line(p) for p in re.split(r"\n\s*\n|\r\n|\n", value)]
    return "\n\n".join(p for p in paras if p) or None


def _is_site_root(url: str | None) -> bool:
    if not url:
        return False
    path = urlsplit(url).path
    return path in ("", "/") or bool(re.fullmatch(r"/(?:index\.\w+|home|[a-z]{2}(?:-[a-z]{2})?)/?", path, re.I))


def _container(root, stats, is_article: bool) -> list:
    parts = html_select.choose_container(root, stats)
    if not parts or (not is_article and any(html_select.looks_like_index(p, stats) for p in parts)):
        return []
    for part in parts:
        html_select.tidy(part, stats)
    return parts


def _text(parts: list, headline: str | None, byline: str | None) -> tuple[str | None, str | None]:
    """The article text, and a byline found at its top when the page named none elsewhere."""
    if not parts:
        return None, None
    fragment = "".join(etree.tostring(p, encoding="unicode", method="html", with_tail=False) for p in parts)
    text, found = html_text.render_article(fragment, headline=headline, byline=byline)
    return text or None, found


def _coverage(reference: str, text: str) -> float:
    """Share of the reference's distinct words that the text contains."""
    ref = set(reference.split())
    return len(ref & set(text.split())) / len(ref) if ref else 1.0


def _extract(text: str | bytes, url: str | None, hints: Hints) -> Article | None:
    root = _parse(text)
    if root is None:
        return None
    meta = metadata.read_meta(root, url)
    canonical = metadata.canonical_url(meta, url or hints.url)
    typed = bool(meta.ld) or meta.tags.get("og:type", "").lower() in ("article", "news", "blog", "post")
    if not typed and _is_site_root(canonical):
        return None  # a site's front page
    publication = metadata.publication(meta) or hints.publication
    host = (urlsplit(canonical or "").hostname or "").removeprefix("www.")
    headline = metadata.choose_headline(meta, publication, host)
    stats, survey = html_prune.strip_junk(root)
    parts = _container(root, stats, typed)
    byline = html_byline.byline_from(meta, survey.bylines(parts[0] if parts else None), publication, host)
    body, byline_in_text = _text(parts, headline, byline)
    byline = byline or byline_in_text
    ld_body = _ld_body(meta.ld)
    if ld_body and (not body or len(body) < 0.6 * len(ld_body) or _coverage(ld_body, body) < 0.6):
        body = ld_body  # the page's own statement of its text, where the chosen block misses much of it
    if not body or len(body) < _MIN_BODY:
        return None
    dateline, body = strip_dateline(body)
    derived = False
    if not headline:
        headline = hints.headline
        derived = hints.headline_derived
    if not headline:
        headline, derived = derive_headline(body) or body[:120], True
    url_for_date = url if date_from_url(url) else canonical
    return Article(
        headline=headline,
        body=body,
        byline=byline or format_byline(hints.byline),
        published_at=metadata.published_from(meta, survey.dates(parts[0] if parts else None), url_for_date)
        or hints.published_at,
        dek=metadata.description(meta) or hints.dek,
        url=canonical,
        source=None,
        publication=publication,
        dateline=dateline.place if dateline else None,
        lang=metadata.language(meta) or lang_code(hints.lang),
        headline_derived=derived,
    )


def clean_html(html: str | bytes, url: str | None = None, *, hints: Hints | None = None) -> Article | None:
    """The article of an HTML page, or None when the page has no article text.

    Raises ``ParseError`` (and nothing else) for input that is neither text nor bytes, or that
    cannot be read at all.
    """
    hints = hints or Hints()
    text: str | bytes
    if isinstance(html, (bytes, bytearray, memoryview)):
        data = bytes(html)
        valid = utf8(data)
        text = valid if valid is not None else decode(data, hints.encoding)
    elif isinstance(html, str):
        text = html
    else:
        raise ParseError(f"expected HTML text or bytes, got {type(html).__name__}")
    try:
        return _extract(text, url, hints)
    except RecursionError:
        raise ParseError("HTML nested too deeply to read") from None
    except Exception as exc:  # a page no rule foresaw is an unreadable item, not a crash
        # bad input is caught where the page is parsed: what arrives here is a cleaner bug, whose
        # traceback is logged (at debug level) so that it can be found
        log.debug("clean_failed", url=url, error=repr(exc), exc_info=exc)
        raise ParseError(f"HTML could not be read: {exc!r}") from exc


def fragment_text(html: str | bytes, hints: Hints) -> tuple[str, str | None]:
    """The text of an HTML fragment (a feed entry's content) taken whole as the article's text
    (no container is chosen; the same text filters apply), and a byline found in it, if any.
    Raises only ``ParseError``."""
    if isinstance(html, (bytes, bytearray, memoryview)):
        html = decode(bytes(html), hints.encoding)
    elif not isinstance(html, str):
        raise ParseError(f"expected HTML text or bytes, got {type(html).__name__}")
    try:
        root = _parse(f"<html><body><div>{html}</div></body></html>")
        if root is None:
            return "", None
        html_prune.strip_junk(root)
        body = root.find("body")
        fragment = etree.tostring(body, encoding="unicode", method="html") if body is not None else ""
        return html_text.render_article(fragment, headline=hints.headline, byline=hints.byline)
    except RecursionError:
        raise ParseError("HTML nested too deeply to read") from None
    except Exception as exc:  # a fragment no rule foresaw is an unreadable item, not a crash
        log.debug("clean_failed", url=hints.url, error=repr(exc), exc_info=exc)
        raise ParseError(f"HTML could not be read: {exc!r}") from exc
