"""Choosing the article container on a pruned lxml tree, and tidying it.

``choose_container``: paragraphs score their ancestors (readability-style, with
class/id hints), link-heavy candidates lose, candidates inside boilerplate lose; the
winner may climb to a parent that adds only more of the same text, and siblings
that read like article text (a lead, a body split by ads) join it. ``tidy`` drops
link lists, share bars and other boilerplate left inside. ``looks_like_index`` tells
a list of teasers from an article. All walks are iterative.
"""

from __future__ import annotations

import re

from lxml import etree

from worker.clean.html_names import attrs, boilerplate_named, class_weight
from worker.clean.html_prune import BLOCK_TAGS, PARA_TAGS, Stats, drop, text_of


def _is_paragraph(el, stats: Stats) -> bool:
    if el.tag in PARA_TAGS or el.tag == "td":
        return True
    if el.tag in ("div", "section", "article", "span", "font", "center") and stats.text.get(el, 0) >= 25:
        return not any(child.tag in BLOCK_TAGS for child in el)
    return False


_LOOSE_TEXT = frozenset({"div", "section", "article", "td", "main", "center", "font", "span"})


def _tag_bonus(tag: str) -> float:
    if tag in ("div", "article", "section", "main"):
        return 5 + (10 if tag in ("article", "main") else 0)
    if tag in ("pre", "td", "blockquote"):
        return 3
    if tag in ("address", "ol", "ul", "dl", "dd", "dt", "li", "form"):
        return -3
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "th"):
        return -5
    return 0


# The container climb. A runner-up that scores at least NEAR_SHARE of the winner is a strong
# candidate too; two or more of them under one ancestor make that ancestor the article.
NEAR_SHARE = 0.75
# An ancestor is climbed to when its paragraph text exceeds the winner's by a quarter
# (GROWTH) plus about one more real paragraph (GROWTH_MIN characters): a body split in parts.
GROWTH, GROWTH_MIN = 1.25, 80
# An ancestor is also climbed to when all it adds is a lead set apart from the body: it holds
# at most LEAD_GROWTH times the first winner's text (a lead, not a second article), at least
# LEAD_PARA_SHARE of what it adds is paragraph text, at most LEAD_LINK_SHARE of it is link text
# (a lead, not a list of links), and it holds no boilerplate-named block.
LEAD_GROWTH = 1.4
LEAD_PARA_SHARE = 0.7
LEAD_LINK_SHARE = 0.1
# Any ancestor climbed to is mostly paragraph text (over PARA_SHARE of its text), has a link
# density under LINK_DENSITY, and is not inside boilerplate; the climb stops after CLIMB_STEPS
# steps (wrappers that add no text are not counted).
PARA_SHARE, LINK_DENSITY, CLIMB_STEPS = 0.5, 0.3, 6


def choose_container(root, stats: Stats) -> list:
    """The elements that hold the article text (the winner and its article-like siblings),
    or an empty list when no part of the page reads like an article."""
    scores = _scores(root, stats)
    if not scores:
        return []
    final = {e: v * (1 - stats.density(e)) for e, v in scores.items()}
    for e in sorted(final, key=lambda e: final[e], reverse=True)[:10]:
        if _inside_boilerplate(e):
            final[e] *= 0.3
    ranked = sorted(final, key=lambda e: final[e], reverse=True)
    top = _climb(_common_ancestor(ranked, final), stats)
    if stats.text.get(top, 0) - stats.link.get(top, 0) < 100 and stats.paras.get(top, 0) < 1:
        return []
    return _with_siblings(top, final, stats)


def _scores(root, stats: Stats) -> dict:
    """Each paragraph's score given to its ancestors (five levels up, less the further up)."""
    scores: dict = {}
    for el in root.iter(etree.Element):
        if _is_paragraph(el, stats):
            text, node = stats.text[el] - stats.link[el], el.getparent()
            commas = stats.commas[el]
            if el.tag not in PARA_TAGS and text >= 200 and sum(1 for _ in el.iter("br")) >= 2:
                node = el  # several paragraphs split by <br>: a candidate in its own right
        elif el.tag in _LOOSE_TEXT and stats.inline.get(el, 0) >= 50:
            # text written straight into a block (between <br>s): a paragraph of that block
            text, node = stats.inline[el], el
            commas = 1 + text // 150
        else:
            continue
        if text < 25:
            continue
        score = 1 + commas + min(text // 100, 3)
        level = 0
        while node is not None and level < 5:
            if node not in scores:
                scores[node] = _tag_bonus(node.tag) + class_weight(node)
            scores[node] += score / (1 if level == 0 else 2 if level == 1 else level * 3)
            node, level = node.getparent(), level + 1
    return scores


def _common_ancestor(ranked: list, final: dict):
    """The winner, or the ancestor holding two or more strong runners-up (see NEAR_SHARE)."""
    top = ranked[0]
    near = [e for e in ranked[1:6] if final[e] >= NEAR_SHARE * final[top]]
    if len(near) >= 2:
        node = top.getparent()
        while node is not None and node.tag not in ("body", "html"):
            if sum(1 for e in near if _contains(node, e)) >= 2:
                return node
            node = node.getparent()
    return top


def _climb(top, stats: Stats):
    """An ancestor that holds much more paragraph text of the same kind (a body split in parts),
    or whose only addition is clean paragraph text (a lead set apart from the body); else ``top``."""
    node, level, base, first = top.getparent(), 0, stats.para.get(top, 0), top
    while node is not None and node.tag not in ("body", "html") and level < CLIMB_STEPS:
        para = stats.para.get(node, 0)
        extra_text = stats.text.get(node, 0) - stats.text.get(top, 0)
        extra_para = para - stats.para.get(top, 0)
        extra_link = stats.link.get(node, 0) - stats.link.get(top, 0)
        grows = para > GROWTH * base + GROWTH_MIN
        boiler = _boilerplate_para(node, stats) if grows else None  # a walk of the subtree
        if boiler:
            para -= boiler
        if (
            para > PARA_SHARE * stats.text.get(node, 1)
            and stats.density(node) < LINK_DENSITY
            and not _inside_boilerplate(node)
        ):
            if para > GROWTH * base + GROWTH_MIN or (
                extra_text > 0
                and stats.text.get(node, 0) <= LEAD_GROWTH * stats.text.get(first, 0)
                and extra_para >= LEAD_PARA_SHARE * extra_text
                and extra_link <= LEAD_LINK_SHARE * extra_text
                and (boiler if boiler is not None else _boilerplate_para(node, stats)) == 0
            ):
                top, base = node, para
        elif para > base:
            break
        parent = node.getparent()
        if parent is not None and stats.text.get(parent, 0) != stats.text.get(node, 0):
            level += 1  # wrappers that add nothing do not count as steps
        node = parent
    return top


_LEAD = re.compile(
    r"lead|intro|teaser|summary|standfirst|vorspann|(?:^|[-_ ])dek(?:$|[-_ ])|excerpt|abstract|"
    r"chapo|chapeau|entradilla|sapo",
    re.I,
)
_SENTENCE_END = (".", "!", "?", ":", '"', "”", "“", "»", "«", "。", "！", "？")


def _with_siblings(top, final: dict, stats: Stats) -> list:
    """The winner plus the siblings that read like more of the same article (a lead, a split body)."""
    top_score = final.get(top, 0)
    parent = top.getparent()
    while (
        parent is not None
        and parent.tag not in ("body", "html")
        and stats.text.get(parent, 0) == stats.text.get(top, 0)
    ):
        top, parent = parent, parent.getparent()  # a wrapper around the winner only: look around it
    if parent is None or parent.tag == "html":
        return [top]
    threshold = max(10.0, top_score * 0.2)
    top_class = top.get("class")
    parts = []
    for sib in parent:
        if not isinstance(sib.tag, str):
            continue
        if sib is top:
            parts.append(sib)
            continue
        bonus = top_score * 0.2 if top_class and sib.get("class") == top_class else 0
        if (
            final.get(sib, 0) + bonus >= threshold
            and not _inside_boilerplate(sib)
            and stats.para.get(sib, 0) + stats.inline.get(sib, 0) >= min(200, 0.3 * stats.para.get(top, 0))
        ):
            parts.append(sib)
            continue
        if class_weight(sib) < 0:
            continue
        text, dens = stats.text.get(sib, 0), stats.density(sib)
        if sib.tag == "p" and not any(c.tag in BLOCK_TAGS for c in sib):
            if (text > 80 and dens < 0.25) or (
                0 < text <= 80 and dens == 0 and text_of(sib).rstrip().endswith(_SENTENCE_END)
            ):
                parts.append(sib)
        elif (
            sib.tag in ("div", "section")
            and top not in parts
            and text > 80
            and dens < 0.25
            and _LEAD.search(attrs(sib))
        ):
            parts.append(sib)  # the lead paragraph, set apart before the body
    return parts


def looks_like_index(container, stats: Stats) -> bool:
    """A list of teasers (headings that are links, truncated blurbs) rather than one article."""
    headings = linked = 0
    for el in container.iter("h2", "h3", "h4", "h5"):
        if stats.text.get(el, 0):
            headings += 1
            linked += stats.density(el) > 0.8
    if linked >= 4 and linked > 0.5 * headings:
        return True
    blurbs = 0
    for el in container.iter("p", "div", "span"):
        text = (text_of(el) if stats.inline.get(el, 0) >= 60 else "").rstrip()
        blurbs += text.endswith(("…", "...")) and len(text) > 60
    return blurbs >= 3


def _boilerplate_para(node, stats: Stats) -> int:
    """Paragraph text inside boilerplate-named blocks under ``node`` (nested ones counted once)."""
    total, skip_until = 0, None
    for el in node.iter(etree.Element):
        if skip_until is not None:
            if _contains(skip_until, el):
                continue
            skip_until = None
        if el is not node and (el.tag in ("aside", "nav", "footer") or (boilerplate_named(el))):
            total += stats.para.get(el, 0)
            skip_until = el
    return total


def _inside_boilerplate(el) -> bool:
    """Whether the element sits in a sidebar, comment section, footer or the like."""
    node = el
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in ("aside", "footer", "nav") or boilerplate_named(node):
            return True
        node = node.getparent()
    return False


def _contains(ancestor, el) -> bool:
    node = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def tidy(container, stats: Stats) -> None:
    """Drop link lists, empty shells and other non-article blocks left inside the container."""
    total = stats.text.get(container, 0) or 1
    doomed = []
    for el in container.iter(etree.Element):
        if el is container:
            continue
        tag, text = el.tag, stats.text.get(el, 0)
        if tag in ("h1",):
            doomed.append(el)
            continue
        if tag not in ("div", "section", "ul", "ol", "table", "dl", "p", "span", "header", "center", "li"):
            continue
        dens = stats.density(el)
        if tag in {"p", "li"}:
            # a paragraph that is only a link: kept inside the text, dropped in a run of such
            # paragraphs or after the text (where related links go)
            if (
                tag == "p"
                and _link_paragraph(el, stats)
                and (
                    _link_paragraph(el.getprevious(), stats)
                    or _link_paragraph(el.getnext(), stats)
                    or not _text_follows(el, stats)
                )
            ):
                doomed.append(el)
            continue
        weight = class_weight(el)
        if (
            weight < 0
            and text < 0.3 * total
            or dens > 0.5
            and text < 0.3 * total
            or tag in ("ul", "ol")
            and dens > 0.35
            and _link_list(el, stats)
            or dens > 0.25
            and weight < 25
            and stats.paras.get(el, 0) < 2
            and text < 0.2 * total
            and stats.commas.get(el, 0) < 5
            and tag not in ("p", "span", "ul", "ol")
        ):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            drop(el)


def _link_paragraph(el, stats: Stats) -> bool:
    if el is None or el.tag != "p":
        return False
    text = stats.text.get(el, 0)
    return 0 < text < 250 and stats.density(el) > 0.7 and not _is_url(el)


def _text_follows(el, stats: Stats) -> bool:
    """Whether article text (a paragraph with few links) comes after the element in its block."""
    return any(stats.text.get(sib, 0) - stats.link.get(sib, 0) >= 80 for sib in el.itersiblings())


def _link_list(el, stats: Stats) -> bool:
    """Whether most items of a list are nothing but a link."""
    items = [li for li in el if li.tag == "li" and stats.text.get(li, 0)]
    linked = sum(1 for li in items if stats.density(li) > 0.8)
    return bool(items) and linked >= 0.6 * len(items)


def _is_url(el) -> bool:
    """Whether a paragraph shows an address (URL or e-mail): content, not navigation."""
    text = text_of(el)
    return bool(re.match(r"\s*(?:https?://|www\.)", text) or re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text))
