"""Choosing the article container on an ``lxml.html`` tree, and pruning what is not article.

Stages: ``strip_junk`` (script, style, forms, hidden and boilerplate-named blocks),
``choose_container`` (paragraphs score their ancestors, link-heavy candidates lose,
sibling blocks of the winner that read like article text join it), ``tidy`` (link
lists, share bars and other boilerplate left inside the container). Everything here
walks the tree iteratively, so deeply nested pages cannot exhaust the stack.
"""

from __future__ import annotations

import re

from lxml import etree

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
_NEGATIVE = re.compile(
    r"comment|share|sharing|social|related|recommend|newsletter|subscri|signup|sign-up|advert|"
    r"adsense|cookie|consent|gdpr|sidebar|footer|masthead|outbrain|taboola|disqus|"
    r"navigation|(?:^|[-_ ])nav(?:$|[-_ ]|bar)|menu|breadcrumb|popular|most-?read|trending|"
    r"author-?bio|toolbar|pagination|pager|(?:^|[-_ ])skip|modal|popup|overlay|survey|(?:^|[-_ ])poll|"
    r"teaser-list|more-?stories|read-?more|read-?next|up-?next|sr-only|screen-?reader|visually-?hidden|"
    r"copyright|disclaimer|login|regist|paywall-?prompt|inline-?cta|(?:^|[-_ ])cta(?:$|[-_ ])",
    re.I,
)
# names that also appear on blocks holding article text: pruned only when they hold little of it
_WEAK_NEGATIVE = re.compile(
    r"(?:^|[-_ ])ads?(?:$|[-_ ])|dfp|banner|promo|widget|(?:^|[-_ ])tags?(?:$|[-_ ])|taglist|"
    r"(?:^|[-_ ])bio(?:$|[-_ ])|byline|dateline|caption|credit|follow|print-?only|rating|"
    r"meta(?:$|[-_ ])|(?:^|[-_ ])info(?:box)?(?:$|[-_ ])|timestamp|author-?info|contributor|explore|"
    r"(?:^|[-_ ])(?:img|image|photo|picture)(?:$|[-_ ])",
    re.I,
)
_MODIFIER = re.compile(r"--[\w-]+")
_POSITIVE = re.compile(
    r"article|(?:^|[-_ ])body|content|entry|main|post|text|story|hentry|prose|rich-?text|blog|"
    r"(?:^|[-_ ])copy(?:$|[-_ ])|paragraph|maintext|news-?detail",
    re.I,
)
_STRONG = re.compile(
    r"article-?body|articlebody|story-?body|entry-?content|post-?content|article-?content|article-?text|"
    r"story-?content|content-?body|post-?body|body-?text|article__body|article-?main|main-?text|"
    r"td-post-content|single-?content|itemfulltext|news-?text",
    re.I,
)
_COMMAS = re.compile(r"[,，、。;；]")


def _attrs(el) -> str:
    """Class and id, without BEM modifiers (``block--ads`` says what is near, not what it is)."""
    names = f"{el.get('class') or ''} {el.get('id') or ''}".strip()
    return _MODIFIER.sub("", names) if "--" in names else names


def class_weight(el) -> int:
    names = _attrs(el)
    if not names:
        return 0
    weight = 0
    if _NEGATIVE.search(names) or _WEAK_NEGATIVE.search(names):
        weight -= 25
    if _POSITIVE.search(names):
        weight += 25
    if _STRONG.search(names):
        weight += 25
    if el.get("itemprop") == "articleBody":
        weight += 50
    return weight


def _hidden(el) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _text_len(s: str | None) -> int:
    return len(" ".join(s.split())) if s else 0


class Stats:
    """Per-element text lengths, computed bottom-up in one pass."""

    def __init__(self, root):
        self.text: dict = {}
        self.link: dict = {}
        self.para: dict = {}
        self.commas: dict = {}
        self.paras: dict = {}
        self.inline: dict = {}  # text outside block children
        for el in reversed(list(root.iter(etree.Element))):
            own = _text_len(el.text)
            text, link, para, commas, paras = own, 0, 0, len(_COMMAS.findall(el.text or "")), 0
            inline = own
            for child in el:
                tail = _text_len(child.tail) if child.tail else 0
                text += self.text.get(child, 0) + tail
                inline += tail + (0 if child.tag in BLOCK_TAGS else self.inline.get(child, 0))
                link += self.link.get(child, 0)
                para += self.para.get(child, 0)
                paras += self.paras.get(child, 0)
                commas += self.commas.get(child, 0) + (len(_COMMAS.findall(child.tail)) if child.tail else 0)
            tag = el.tag
            if tag == "a" and el.get("href") is not None:
                link = text
            if tag in PARA_TAGS and text >= 20:
                para, paras = text, paras + 1
            self.text[el], self.link[el], self.para[el] = text, link, para
            self.commas[el], self.paras[el] = commas, paras
            self.inline[el] = inline

    def density(self, el) -> float:
        t = self.text.get(el, 0)
        return self.link.get(el, 0) / t if t else 0.0


_LAYOUT = re.compile(r"layout|wrap|container|page|(?:^|[-_ ])(?:has|with|show|no)[-_]|single|template", re.I)
_KEEP_NAMED = frozenset({"article", "main", "p", "h2", "h3", "h4", "h5", "h6"})


def strip_junk(root) -> None:
    """Remove script-like elements, hidden blocks and boilerplate containers that are not the article."""
    for el in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(el)
    for el in list(root.iter(*DROP_TAGS)):
        _drop(el)
    stats = Stats(root)
    total_text = stats.text.get(root, 0) or 1
    total_para = stats.para.get(root, 0) or 1
    doomed = []
    for el in root.iter(etree.Element):
        if el.tag in ("html", "body"):
            continue
        # the share of the page's text this element holds, counting paragraph text and all text
        share = max(stats.para.get(el, 0) / total_para, stats.text.get(el, 0) / total_text)
        measure_small = stats.para.get(el, 0) < 300 and stats.text.get(el, 0) - stats.link.get(el, 0) < 300
        if _hidden(el) and share < 0.5:
            doomed.append(el)
        elif el.tag == "form" and share < 0.5:
            doomed.append(el)
        elif el.tag in BOILER_TAGS and share < 0.3:
            doomed.append(el)
        elif _attrs(el) and share < 0.3 and el.tag not in _KEEP_NAMED:
            names = _attrs(el)
            if _STRONG.search(names) or el.get("itemprop") == "articleBody":
                continue
            if _NEGATIVE.search(names) or (_WEAK_NEGATIVE.search(names) and measure_small):
                doomed.append(el)
        elif _attrs(el) and share < 0.5 and el.tag not in _KEEP_NAMED and _NEGATIVE.search(_attrs(el)) \
                and not _STRONG.search(_attrs(el)) and not _LAYOUT.search(_attrs(el)):
            doomed.append(el)  # a sidebar or comment section that outweighs a short article
        elif (el.get("role") or "") in ("navigation", "complementary", "banner", "contentinfo", "dialog"):
            if share < 0.3:
                doomed.append(el)
    for el in doomed:
        _drop(el)


def _drop(el) -> None:
    """Remove an element but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


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


def choose_container(root):
    """The elements that hold the article text (the winner and its article-like siblings),
    or an empty list when no part of the page reads like an article."""
    stats = Stats(root)
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
    if not scores:
        return [], stats
    final = {e: v * (1 - stats.density(e)) for e, v in scores.items()}
    for e in sorted(final, key=final.get, reverse=True)[:10]:
        if _inside_boilerplate(e):
            final[e] *= 0.3
    ranked = sorted(final, key=final.get, reverse=True)
    top = ranked[0]
    top_score = final[top]
    # several strong candidates under one ancestor: the article is that ancestor
    near = [e for e in ranked[1:6] if final[e] >= 0.75 * top_score]
    if len(near) >= 2:
        node = top.getparent()
        while node is not None and node.tag not in ("body", "html"):
            if sum(1 for e in near if _contains(node, e)) >= 2:
                top = node
                break
            node = node.getparent()
    # climb to an ancestor that holds much more paragraph text of the same kind (a body split in parts)
    node, level, base = top.getparent(), 0, stats.para.get(top, 0)
    while node is not None and node.tag not in ("body", "html") and level < 6:
        para = stats.para.get(node, 0)
        if para > 1.25 * base + 80:
            para -= _boilerplate_para(node, stats)
        if para > 0.5 * stats.text.get(node, 1) and stats.density(node) < 0.3 and not _inside_boilerplate(node):
            if para > 1.25 * base + 80:
                top, base = node, para
        elif para > base:
            break
        node, level = node.getparent(), level + 1
    if stats.text.get(top, 0) - stats.link.get(top, 0) < 100 and stats.paras.get(top, 0) < 1:
        return [], stats
    return _with_siblings(top, final, stats), stats


_LEAD = re.compile(r"lead|intro|teaser|summary|standfirst|vorspann|(?:^|[-_ ])dek(?:$|[-_ ])|excerpt|abstract|"
                   r"chapo|chapeau|entradilla|sapo", re.I)
_SENTENCE_END = (".", "!", "?", ":", '"', "”", "“", "»", "«", "。", "！", "？")


def _with_siblings(top, final: dict, stats: Stats) -> list:
    """The winner plus the siblings that read like more of the same article (a lead, a split body)."""
    parent = top.getparent()
    if parent is None or parent.tag == "html":
        return [top]
    top_score = final.get(top, 0)
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
        if final.get(sib, 0) + bonus >= threshold and not _inside_boilerplate(sib) and \
                stats.para.get(sib, 0) + stats.inline.get(sib, 0) >= min(200, 0.3 * stats.para.get(top, 0)):
            parts.append(sib)
            continue
        if class_weight(sib) < 0:
            continue
        text, dens = stats.text.get(sib, 0), stats.density(sib)
        if sib.tag == "p" and not any(c.tag in BLOCK_TAGS for c in sib):
            if (text > 80 and dens < 0.25) or (0 < text <= 80 and dens == 0 and
                                                sib.text_content().rstrip().endswith(_SENTENCE_END)):
                parts.append(sib)
        elif sib.tag in ("div", "section") and top not in parts and text > 80 and dens < 0.25 \
                and _LEAD.search(_attrs(sib)):
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
        text = (el.text_content() if stats.inline.get(el, 0) >= 60 else "").rstrip()
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
        if el is not node and (el.tag in ("aside", "nav", "footer") or (
                _attrs(el) and _NEGATIVE.search(_attrs(el)) and not _STRONG.search(_attrs(el)))):
            total += stats.para.get(el, 0)
            skip_until = el
    return total


def _inside_boilerplate(el) -> bool:
    """Whether the element sits in a sidebar, comment section, footer or the like."""
    node = el
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in ("aside", "footer", "nav") or (_attrs(node) and _NEGATIVE.search(_attrs(node))
                                                      and not _STRONG.search(_attrs(node))):
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
        if tag == "p" or tag == "li":
            if text and dens > 0.7 and text < 250 and tag == "p" and not _is_url(el):
                doomed.append(el)
            continue
        weight = class_weight(el)
        if weight < 0 and text < 0.3 * total:
            doomed.append(el)
        elif dens > 0.5 and text < 0.3 * total:
            doomed.append(el)
        elif tag in ("ul", "ol") and dens > 0.35 and stats.commas.get(el, 0) < 3:
            doomed.append(el)
        elif dens > 0.25 and weight < 25 and stats.paras.get(el, 0) < 2 and text < 0.2 * total \
                and stats.commas.get(el, 0) < 5 and tag not in ("p", "span"):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            _drop(el)


def _is_url(el) -> bool:
    return bool(re.match(r"\s*(?:https?://|www\.)", el.text_content()))


def dom_bylines(root) -> list[str]:
    """Texts of elements that name the author (rel=author, itemprop=author, byline classes)."""
    found, telling = [], []
    for el in root.iter(etree.Element):
        names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if el.get("rel") == "author" or el.get("itemprop") == "author" or re.search(
            r"byline|author(?!-?(?:bio|info|image|avatar|photo|pic|description|social|box))", names
        ):
            if re.search(r"comment|caption|credit|related|footer|sidebar", names):
                continue
            text = " ".join(el.text_content().split())
            if 2 < len(text) < 120 and not re.match(r"(?:photo|image|picture|foto|bild)", text, re.I):
                (telling if re.match(r"(?:by|von|par|por)\s", text, re.I) else found).append(text)
        if len(found) + len(telling) >= 8:
            break
    return telling + found


def time_values(root) -> list[str]:
    """Datetime values of ``<time>`` and itemprop datePublished elements, most telling first."""
    first, rest = [], []
    for el in root.iter("time", "span", "div", "p", "abbr"):
        value = el.get("datetime") or (el.get("content") if el.get("itemprop") == "datePublished" else None)
        if el.tag != "time" and el.get("itemprop") != "datePublished":
            continue
        value = value or (el.get("title") if el.tag == "abbr" else None) or el.text_content()
        if not value:
            continue
        telling = el.get("pubdate") is not None or el.get("itemprop") == "datePublished" or re.search(
            r"publish|posted|created", _attrs(el), re.I)
        (first if telling else rest).append(value.strip())
    return first + rest
