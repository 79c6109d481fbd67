"""Pruning an lxml page tree before the article container is chosen.

``strip_junk`` removes script-like elements, hidden blocks, forms and the blocks whose
tag, role or class/id names mark them as navigation, sharing, related links, comments,
newsletters, ads and the like, unless they hold much of the page's text. On the way
it notes the page's bylines and dates (``Survey``) and counts text per element
(``Stats``), which the container choice reuses. All walks are iterative.
"""

from __future__ import annotations

import re

from lxml import etree

from worker.clean.html_names import LAYOUT, NEG, STRONG, WEAK, attrs, name_kinds

DROP_TAGS = frozenset(
    "script style noscript svg iframe template object embed canvas button input select textarea "
    "video audio map math dialog link meta head title base picture source".split()
)
BOILER_TAGS = frozenset({"nav", "aside", "footer", "header", "menu", "figure", "figcaption"})
BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tbody thead tfoot tr td th ul body".split()
)
PARA_TAGS = frozenset({"p", "pre", "blockquote"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
_COMMAS = re.compile(r"[,，、。;；]")


def text_of(el) -> str:
    """All text inside an element."""
    return "".join(el.itertext())


def _hidden(el) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _text_len(s: str | None) -> int:
    return 0 if not s or s.isspace() else len(" ".join(s.split()))


def _commas(s: str | None) -> int:
    return 0 if not s or s.isspace() else len(_COMMAS.findall(s))


class Stats:
    """Per-element text lengths, computed bottom-up in one pass."""

    def __init__(self, root):
        self.text: dict = {}
        self.link: dict = {}
        self.para: dict = {}
        self.commas: dict = {}
        self.paras: dict = {}
        self.inline: dict = {}  # text outside block children
        # the hot loop of the cleaner: names bound locally, each value computed once per element
        text_of_, link_of, para_of, commas_of, paras_of, inline_of = (
            self.text,
            self.link,
            self.para,
            self.commas,
            self.paras,
            self.inline,
        )
        text_len, count_commas, blocks, para_tags = _text_len, _commas, BLOCK_TAGS, PARA_TAGS
        for el in reversed(list(root.iter(etree.Element))):
            own = text_len(el.text)
            text, link, para, commas, paras = own, 0, 0, count_commas(el.text), 0
            inline = own
            for child in el:
                tail = child.tail
                tail_len = text_len(tail) if tail else 0
                text += text_of_.get(child, 0) + tail_len
                inline += tail_len if child.tag in blocks else tail_len + inline_of.get(child, 0)
                link += link_of.get(child, 0)
                para += para_of.get(child, 0)
                paras += paras_of.get(child, 0)
                commas += commas_of.get(child, 0) + (count_commas(tail) if tail else 0)
            tag = el.tag
            if tag == "a" and el.get("href") is not None:
                link = text
            if tag in para_tags and text >= 20:
                para, paras = text, paras + 1
            text_of_[el], link_of[el], para_of[el] = text, link, para
            commas_of[el], paras_of[el] = commas, paras
            inline_of[el] = inline

    def remove(self, el) -> None:
        """Take a removed element's text out of its ancestors' counts (call before detaching it)."""
        t, lk, p = self.text.get(el, 0), self.link.get(el, 0), self.para.get(el, 0)
        c, n = self.commas.get(el, 0), self.paras.get(el, 0)
        parent = el.getparent()
        if parent is not None and el.tag not in BLOCK_TAGS:
            self.inline[parent] = self.inline.get(parent, 0) - self.inline.get(el, 0)
        node = parent
        while node is not None:
            self.text[node] = self.text.get(node, 0) - t
            self.link[node] = max(0, self.link.get(node, 0) - lk)
            self.para[node] = max(0, self.para.get(node, 0) - p)
            self.commas[node] = self.commas.get(node, 0) - c
            self.paras[node] = self.paras.get(node, 0) - n
            node = node.getparent()

    def density(self, el) -> float:
        t = self.text.get(el, 0)
        return self.link.get(el, 0) / t if t else 0.0


_KEEP_NAMED = frozenset({"article", "main", "h2", "h3", "h4", "h5", "h6"})
_BOILER_ROLES = frozenset({"navigation", "complementary", "banner", "contentinfo", "dialog"})


def strip_junk(root) -> tuple[Stats, Survey]:
    """Remove script-like elements, hidden blocks and boilerplate containers that are not the article.

    Returns the text statistics of what is left, and the bylines and dates seen on the way.
    """
    for el in list(root.iter(etree.Comment, etree.ProcessingInstruction, *DROP_TAGS)):
        drop(el)
    stats = Stats(root)
    total_text = stats.text.get(root, 0) or 1
    total_para = stats.para.get(root, 0) or 1
    doomed = []
    survey = Survey()
    for el in root.iter(etree.Element):
        tag = el.tag
        if tag in ("html", "body"):
            continue
        names = attrs(el)
        survey.look(el)
        if _hidden(el) or tag == "form":
            limit = 0.5
        elif tag in BOILER_TAGS or el.get("role") in _BOILER_ROLES:
            limit = 0.3
        elif names and tag not in _KEEP_NAMED and (kinds := name_kinds(names)) & (NEG | WEAK):
            if kinds & STRONG or el.get("itemprop") == "articleBody":
                continue
            if kinds & NEG:
                # a sidebar or comment section may outweigh a short article; a page wrapper may not
                limit = 0.3 if kinds & LAYOUT else 0.5
            elif stats.para.get(el, 0) < 300 and stats.text.get(el, 0) - stats.link.get(el, 0) < 300:
                limit = 0.3
            else:
                continue
        else:
            continue
        # the share of the page's text this element holds, counting paragraph text and all text
        share = max(stats.para.get(el, 0) / total_para, stats.text.get(el, 0) / total_text)
        if share < limit:
            doomed.append(el)
    gone: set = set()
    for el in doomed:
        node = el.getparent()
        while node is not None and node not in gone:
            node = node.getparent()
        gone.add(el)
        if node is None:  # not inside an element already removed
            stats.remove(el)
            drop(el)
    return stats, survey


def drop(el) -> None:
    """Remove an element but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        prev = el.getprevious()
        # the parser keeps characters that lxml refuses in assigned text
        if prev is not None:
            prev.tail = _NOT_XML.sub("", (prev.tail or "") + el.tail)
        else:
            parent.text = _NOT_XML.sub("", (parent.text or "") + el.tail)
    parent.remove(el)


_AUTHOR_NAME = re.compile(r"byline|submitted|author(?!-?(?:bio|info|image|avatar|photo|pic|description|social|box))")


def _byline_text(el, low: str) -> str | None:
    """The text of an element that names the author (rel=author, itemprop=author, byline classes)."""
    if not (el.get("rel") == "author" or el.get("itemprop") == "author" or _AUTHOR_NAME.search(low)):
        return None
    if re.search(r"comment|caption|credit|related|footer|sidebar", low) or len(el) >= 12:
        return None
    text = " ".join(text_of(el).split())
    if 2 < len(text) < 120 and not re.match(r"(?:photo|image|picture|foto|bild)", text, re.I):
        return text
    return None


_DATE_NAME = re.compile(r"publish|posted|created|submitted|entry-date|pubdate|post-date|article-date")
_DATEISH_NAME = re.compile(r"(?:^|[-_ ])(?:date|time|meta|dateline|datum|fecha)(?:$|[-_ ])|timestamp")
_ANY_DATE_NAME = re.compile(f"{_DATE_NAME.pattern}|{_DATEISH_NAME.pattern}")


def _date_value(el, low: str) -> tuple[str, bool] | None:
    """The date an element carries, and whether it is named as the publication date."""
    by_name = el.get("pubdate") is not None or el.get("itemprop") == "datePublished" or bool(_DATE_NAME.search(low))
    if not by_name and el.tag != "time" and not (_DATEISH_NAME.search(low) and len(el) < 6):
        return None
    if "modif" in low or "updated" in low or el.get("itemprop") == "dateModified":
        return None
    value = el.get("datetime") or el.get("content") or el.get("title") or (text_of(el) if len(el) < 4 else "")
    value = value.strip()[:100] if value else ""
    return (value, by_name) if value else None


class Survey:
    """What the page's elements say about the article before any is removed: bylines and dates."""

    def __init__(self):
        self._bylines: list[tuple[str, bool, list]] = []  # (text, starts with "By", ancestors)
        self._dates: list[tuple[str, bool, list]] = []  # (value, named as the publication date, ancestors)

    def look(self, el) -> None:
        cls, ident = el.get("class"), el.get("id")
        low = f"{cls or ''} {ident or ''}".lower() if cls or ident else ""
        if (
            (
                (low and ("uthor" in low or "yline" in low or "submitted" in low))
                or el.get("rel") == "author"
                or el.get("itemprop") == "author"
            )
            and len(self._bylines) < 12
            and (text := _byline_text(el, low))
        ):
            telling = bool(re.match(r"(?:by|von|par|por)\s", text, re.I))
            self._bylines.append((text, telling, [el, *el.iterancestors()]))
        dated = el.tag == "time" or el.get("itemprop") == "datePublished" or (low and _ANY_DATE_NAME.search(low))
        if dated and len(self._dates) < 20 and (found := _date_value(el, low)):
            self._dates.append((found[0], found[1], [el, *el.iterancestors()]))

    def bylines(self, near=None) -> list[str]:
        """Byline texts, those closest to ``near`` (the article container) first, then "By ..." ones."""
        return _nearest_first(self._bylines, near)

    def dates(self, near=None) -> tuple[list[str], list[str]]:
        """Date values named as publication dates, and those of other dated elements, nearest ``near`` first."""
        named = [(v, True, chain) for v, is_named, chain in self._dates if is_named]
        other = [(v, True, chain) for v, is_named, chain in self._dates if not is_named]
        return _nearest_first(named, near), _nearest_first(other, near)


def _nearest_first(items: list[tuple[str, bool, list]], near) -> list[str]:
    """Item texts ordered by their distance in the tree from ``near``, then preferred ones, then page order."""
    if near is None:
        return [t for t, preferred, _ in items if preferred] + [t for t, preferred, _ in items if not preferred]
    depth = {a: i for i, a in enumerate([near, *near.iterancestors()])}

    def distance(chain: list) -> int:
        return next((i + depth[a] for i, a in enumerate(chain) if a in depth), 1_000)

    ranked = sorted(range(len(items)), key=lambda i: (distance(items[i][2]), not items[i][1], i))
    return [items[i][0] for i in ranked]
