"""What the whole page's markup says about the article's authors and date, read before pruning.

Microdata and link relations name authors (``itemprop="author"`` with a nested
``itemprop="name"``, ``rel="author"``); the lines right below (and just above) the
headline state the publication date in words ("Published 3 March 2021", "March 3, 2021
at 2:05 pm EST", "3. März 2021"). Comment sections, update stamps and relative times
("2 hours ago") are left out.
"""

from __future__ import annotations

import re
from collections import deque

from lxml import etree

from worker.text.dates import parse_date, parse_date_text

# Both walk the page's attributes and step up to their elements (``//@a[...]/..``): the same
# elements in the same order as a test of every element (``//*[@a and ...]``), in half the time
# (about 1 ms of a page's 23 ms of cleaning).
_AUTHORS = etree.XPath(
    "//@itemprop[contains(., 'author') or contains(., 'creator') or contains(., 'contributor')]/.."
    " | //a/@rel[contains(concat(' ', normalize-space(.), ' '), ' author ')]/.."
)
# class names the byline elements of other languages carry (English ones are surveyed with the page)
_CLASSED = etree.XPath(
    "//@class[contains(., 'autor') or contains(., 'verfasser') or contains(., 'auteur')"
    " or contains(., 'contributor')]/.."
)
_NAME = etree.XPath(".//*[@itemprop='name' or @itemprop='givenName' or @itemprop='familyName']")
_ASIDE = re.compile(r"comment|reply|related|recommend|teaser|sidebar|footer|caption|credit|photo|image|gallery", re.I)
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "button", "select", "option", "nav", "figcaption", "iframe"}
)
_UPDATE_NAME = re.compile(r"modif|updat|edited|aktualis", re.I)
_UPDATE_LABEL = re.compile(
    r"^\W*(?:(?:last\s+)?updated?|modified|aktualisiert|mis\s+à\s+jour|actualizad[oa]|"
    r"aggiornat[oa]|bijgewerkt|stand)\W*$",
    re.I,
)
_LONG = 200  # characters: a text this long is the article's body; the header is over
_AFTER, _BEFORE = 60, 12  # elements looked at after and before the headline


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is not None or "display:none" in style or "visibility:hidden" in style


def _in_aside(el, levels: int = 8) -> bool:
    for node in [el, *el.iterancestors()][:levels]:
        names = f"{node.get('class') or ''} {node.get('id') or ''}"
        if names.strip() and _ASIDE.search(names):
            return True
    return False


def microdata_authors(root) -> list[str]:
    """Names marked as the author: ``itemprop="author"`` (its nested name), ``rel="author"`` links."""
    names: list[str] = []
    for el in [*_AUTHORS(root)[:12], *_CLASSED(root)[:6]]:
        if (
            not isinstance(el.tag, str)
            or _in_aside(el)
            or any(a.tag in ("figure", "picture") for a in el.iterancestors())
        ):
            continue
        if el.tag in {"meta", "link"}:
            value = el.get("content") if el.tag == "meta" else None
        else:
            parts = _NAME(el)
            if parts:
                given = [p.get("content") or _text(p) for p in parts if p.get("itemprop") != "name"]
                named = [p.get("content") or _text(p) for p in parts if p.get("itemprop") == "name"]
                value = named[0] if named else " ".join(g for g in given if g)
            else:
                value = el.get("content") or (_text(el) if len(el) < 8 else "")
        if value and 1 < len(value.strip()) < 120 and not value.strip().startswith(("http:", "https:")):
            names.append(value.strip())
    return names


def _headline_element(root, marked):
    if marked is not None and marked.tag in ("h1", "h2"):
        return marked
    return next((h for h in root.iter("h1") if len(_text(h)) >= 8), None)


def _pieces(el):
    """The texts an element holds itself (its datetime attribute first, then text and tail)."""
    if el.tag == "time" and el.get("datetime"):
        yield "datetime", el.get("datetime")
    if el.text and el.text.strip():
        yield "text", el.text
    if el.tail and el.tail.strip():
        yield "tail", el.tail


def header_dates(root, marked=None) -> list[str]:
    """Publication dates written in the lines around the headline, nearest first (at most three)."""
    anchor = _headline_element(root, marked)
    if anchor is None:
        return []
    before: deque = deque(maxlen=_BEFORE)
    elements = root.iter(etree.Element)
    for el in elements:
        if el is anchor:
            break
        before.append(el)
    for _ in anchor.iterdescendants(etree.Element):  # the headline's own markup
        next(elements, None)
    found: list[str] = []
    _collect([anchor, *(el for _, el in zip(range(_AFTER), elements))], found, limit=90, after=True)
    if not found:
        _collect(list(reversed(before)), found, limit=60, after=False)
    return found[:3]


_FILLER = frozenset(
    "on at am um le la el il de del den der by von par por door di and und et y published "
    "updated posted publié publicado pubblicato veröffentlicht aktualisiert uhr".split()
)


def _sentence(text: str) -> bool:
    """Whether a text reads as prose (many lower-case words) rather than a date line."""
    words = [w for w in re.findall(r"[^\W\d_]+", text) if w[0].islower() and w.lower() not in _FILLER]
    return len(words) > 3


def _collect(elements: list, found: list[str], limit: int, after: bool) -> None:
    after_label = False  # the previous text was an "Updated:" label: the date after it is not the publication's
    for el in elements:
        chain = [el, *el.iterancestors()]
        if any(a.tag in _SKIP_TAGS or _hidden(a) for a in chain):
            continue
        named_update = any(_UPDATE_NAME.search(f"{n.get('class') or ''} {n.get('id') or ''}") for n in chain[:3])
        for kind, raw in _pieces(el):
            if kind == "tail" and (el is elements[0] and not after):
                continue
            text = " ".join(raw.split())
            if len(text) > _LONG and after:
                return
            if _UPDATE_LABEL.match(text):
                after_label = True
                continue
            skip = after_label or (named_update and kind != "tail") or len(text) > limit or _sentence(text)
            if re.search(r"\d", text):
                after_label = False
            if skip:
                continue
            value = parse_date(text) if kind == "datetime" else parse_date_text(text)
            if value and value not in found:
                found.append(value)
                if len(found) >= 3:
                    return
