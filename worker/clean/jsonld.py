"""JSON-LD blocks read leniently: the page's article object, the other objects, and ``@id`` links.

Pages write JSON-LD by hand and by template: trailing commas, comments, HTML entities,
CDATA wrappers, two objects glued together, arrays of ``@graph``s, several scripts. Each
block is read as JSON first and repaired only when that fails.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

ARTICLE_TYPES = frozenset(
    "article newsarticle blogposting reportagenewsarticle analysisnewsarticle opinionnewsarticle "
    "reviewnewsarticle backgroundnewsarticle askpublicnewsarticle socialmediaposting liveblogposting "
    "scholarlyarticle techarticle report posting discussionforumposting satiricalarticle".split()
)
PAGE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "qapage", "medicalwebpage", "collectionpage"})
MEDIA_TYPES = frozenset({"videoobject", "audioobject", "podcastepisode", "mediaobject", "clip", "episode"})
ORG_TYPES = frozenset({"organization", "newsmediaorganization", "corporation", "ngo", "governmentorganization"})
_NESTED = ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "item")
_LISTED = ("itemListElement", "item")  # what lists hold: teasers of other pages


@dataclass
class LinkedData:
    article: dict | None = None  # the page's article object
    others: list[dict] = field(default_factory=list)  # page and media objects not in lists, in page order
    ids: dict[str, dict] = field(default_factory=dict)  # "@id" -> the object it names
    publisher: str | None = None


def ld_types(obj: dict) -> set[str]:
    t = obj.get("@type", "")
    return {str(x).lower().rsplit("/", 1)[-1].rsplit(":", 1)[-1] for x in (t if isinstance(t, list) else [t])}


def ld_name(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = ld_name(value.get("name"))
        if not name and (value.get("givenName") or value.get("familyName")):
            parts = (ld_name(value.get("givenName")), ld_name(value.get("familyName")))
            name = " ".join(p for p in parts if p)
        return name or None
    if isinstance(value, list) and value:
        return ld_name(value[0])
    return None


def resolve(value, ids: dict[str, dict]):
    """An ``{"@id": ...}`` reference replaced by the object it names, when the page holds it."""
    if isinstance(value, dict) and isinstance(value.get("@id"), str) and not (set(value) - {"@id", "@type"}):
        return ids.get(value["@id"], value)
    return value


_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_GLUED = re.compile(r"}\s*{")
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|/\*.*?\*/|//[^\n]*', re.S)


def _without_comments(raw: str) -> str:
    return _STRING_OR_COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", raw)


def _loads(raw: str):
    try:
        return json.loads(raw, strict=False)
    except (ValueError, RecursionError):
        return None


def parse_block(raw: str):
    """One script's JSON, repairing the usual slips; None when it cannot be read."""
    raw = raw.strip()
    raw = re.sub(r"^(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>$", "", raw).strip()
    raw = raw.removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
    if (data := _loads(raw)) is not None:
        return data
    for fix in (html.unescape, _without_comments, lambda s: _TRAILING_COMMA.sub(r"\1", s)):
        raw = fix(raw)
        if (data := _loads(raw)) is not None:
            return data
    return _loads("[" + _GLUED.sub("},{", raw) + "]")


def _walk(data, out: list[tuple[dict, bool]], listed: bool = False, depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(data, list):
        for item in data:
            _walk(item, out, listed, depth + 1)
    elif isinstance(data, dict):
        out.append((data, listed))
        for key in _NESTED:
            if isinstance(data.get(key), (dict, list)):
                _walk(data[key], out, listed or key in _LISTED, depth + 1)


def read_linked_data(scripts: list[str]) -> LinkedData:
    found: list[tuple[dict, bool]] = []
    for raw in scripts:
        if (data := parse_block(raw)) is not None:
            _walk(data, found)
    ld = LinkedData()
    for obj, _ in found:
        if isinstance(obj.get("@id"), str) and len(obj) > 2:
            ld.ids.setdefault(obj["@id"], obj)
    articles = [o for o, listed in found if not listed and ld_types(o) & ARTICLE_TYPES]
    articles = articles or [o for o, _ in found if ld_types(o) & ARTICLE_TYPES]
    # the page's own article: the first with a headline or a date, not a bare reference
    ld.article = next((o for o in articles if o.get("headline") or o.get("datePublished")), None) or next(
        iter(articles), None
    )
    ld.others = [
        o
        for o, listed in found
        if not listed and o is not ld.article and ld_types(o) & (PAGE_TYPES | MEDIA_TYPES | ARTICLE_TYPES)
    ]
    if ld.article is None:
        ld.article = next((o for o in ld.others if ld_types(o) & PAGE_TYPES and o.get("datePublished")), None)
        ld.others = [o for o in ld.others if o is not ld.article]
    if ld.article is not None:
        ld.publisher = ld_name(resolve(ld.article.get("publisher"), ld.ids))
    if ld.publisher is None:
        org = next((o for o, _ in found if ld_types(o) & ORG_TYPES), None)
        ld.publisher = ld_name(org) if org else None
    return ld
