"""A fetched item to an article: the one dispatch from ``RawItem.kind`` to the cleaners.

Kept apart from the pipeline so that a pool worker imports the cleaners and nothing else.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog

from worker.clean.fragment import clean_fragment
from worker.clean.html import clean_html
from worker.clean.text import clean_text
from worker.errors import ParseError
from worker.models import Article, RawItem
from worker.text.lines import SURROGATES

log = structlog.get_logger("worker.clean")


def to_article(item: RawItem, source: str) -> Article:
    """Clean one fetched item (or its fallback when it holds none); ParseError when it holds no article."""
    try:
        return _to_article(item, source)
    except (ParseError, RecursionError):
        if item.fallback is None:
            raise
        return to_article(item.fallback, source)


def _to_article(item: RawItem, source: str) -> Article:
    article: Article | None
    if item.kind == "text":
        article = clean_text(item.content, hints=item.hints, source=source)
    elif item.kind == "html":
        article = clean_html(item.content, item.hints.url or item.locator, hints=item.hints)
    elif item.kind == "fragment":
        article = clean_fragment(item.content, item.hints, source=source)
    else:
        raise ParseError(f"unknown item kind {item.kind!r}")
    if article is None:
        raise ParseError("no article text found in the page")
    if not article.headline.strip():
        raise ParseError("no headline")
    return _storable(dataclasses.replace(article, source=source, fetched_at=item.hints.fetched_at))


def _has_surrogates(value: str) -> bool:
    """Whether UTF-8 cannot write ``value``: only lone surrogates make it fail (and encoding is
    five times faster than searching a body for them)."""
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _storable(article: Article) -> Article:
    """Lone surrogates (JSON ``\\ud800`` escapes) cannot be written as UTF-8: they become U+FFFD,
    so one odd character never fails the batch its article is stored in."""
    fixed: dict[str, Any] = {
        f.name: SURROGATES.sub("\ufffd", value)
        for f in dataclasses.fields(article)
        if isinstance(value := getattr(article, f.name), str) and _has_surrogates(value)
    }
    return dataclasses.replace(article, **fixed) if fixed else article


def clean_one(item: RawItem, source: str) -> Article | str:
    """``to_article``, with every failure turned into a reason (runs in pool workers too); the
    article's derived values (hashes, word count) are computed here, where it is made."""
    try:
        return to_article(item, source).computed()
    except ParseError as exc:
        return str(exc)
    except RecursionError:
        return "document nested too deeply to clean"
    except Exception as exc:  # a cleaner bug must not stop the source
        log.error("item_failed", source=source, url=item.locator, error=repr(exc), exc_info=True)
        return f"internal error: {exc!r}"
