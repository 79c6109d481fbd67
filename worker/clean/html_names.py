"""What the class and id names of a block say about it: navigation, sharing, related links,
comments, ads and the like (negative), article text (positive), page layout. Shared by the
pruning (``html_prune``) and the container choice (``html_select``)."""

from __future__ import annotations

import re
from functools import lru_cache

# What class and id names say about a block. Substrings match anywhere in the lower-cased names;
# tokens match whole words between spaces, "-" and "_".
_NEGATIVE = (
    "comment",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "newsletter",
    "subscri",
    "signup",
    "sign-up",
    "advert",
    "adsense",
    "cookie",
    "consent",
    "gdpr",
    "sidebar",
    "footer",
    "masthead",
    "outbrain",
    "taboola",
    "disqus",
    "navigation",
    "menu",
    "breadcrumb",
    "popular",
    "mostread",
    "most-read",
    "trending",
    "authorbio",
    "authorbox",
    "author-box",
    "about-author",
    "about-the-author",
    "author-card",
    "author-bio",
    "toolbar",
    "pagination",
    "pager",
    "modal",
    "popup",
    "overlay",
    "survey",
    "teaser-list",
    "morestories",
    "more-stories",
    "readmore",
    "read-more",
    "readnext",
    "read-next",
    "upnext",
    "up-next",
    "sr-only",
    "screenreader",
    "screen-reader",
    "visuallyhidden",
    "visually-hidden",
    "copyright",
    "disclaimer",
    "login",
    "regist",
    "paywallprompt",
    "paywall-prompt",
    "inlinecta",
    "inline-cta",
    "navbar",
    "respond",
    "replies",
    "recirc",
    "more-from",
    "morefrom",
    "zergnet",
    "revcontent",
    "also-read",
    "alsoread",
)
_NEGATIVE_TOKENS = frozenset({"nav", "cta", "skip", "skiplink", "skiplinks", "poll", "polls"})
# names that also appear on blocks holding article text: pruned only when they hold little of it
_WEAK_NEGATIVE = (
    "dfp",
    "banner",
    "promo",
    "widget",
    "taglist",
    "byline",
    "dateline",
    "caption",
    "credit",
    "follow",
    "printonly",
    "print-only",
    "rating",
    "timestamp",
    "authorinfo",
    "author-info",
    "contributor",
    "explore",
    "sponsor",
)
_WEAK_TOKENS = frozenset(
    {
        "ad",
        "ads",
        "tag",
        "tags",
        "bio",
        "info",
        "infobox",
        "meta",
        "img",
        "image",
        "photo",
        "picture",
        "postmeta",
        "entrymeta",
    }
)
_POSITIVE = (
    "article",
    "content",
    "entry",
    "main",
    "post",
    "text",
    "story",
    "hentry",
    "prose",
    "blog",
    "paragraph",
    "news-detail",
    "newsdetail",
)
_POSITIVE_TOKENS = frozenset({"body", "copy", "bodytext", "richtext"})
_STRONG = (
    "articlebody",
    "article-body",
    "article_body",
    "storybody",
    "story-body",
    "entry-content",
    "entrycontent",
    "post-content",
    "postcontent",
    "article-content",
    "articlecontent",
    "article-text",
    "articletext",
    "story-content",
    "storycontent",
    "content-body",
    "contentbody",
    "post-body",
    "postbody",
    "body-text",
    "bodytext",
    "article__body",
    "article-main",
    "articlemain",
    "main-text",
    "maintext",
    "td-post-content",
    "single-content",
    "itemfulltext",
    "news-text",
    "newstext",
)
_LAYOUT = ("layout", "wrap", "container", "page", "single", "template")
_LAYOUT_TOKENS = frozenset({"has", "with", "show", "no"})
NEG, WEAK, POS, STRONG, LAYOUT = 1, 2, 4, 8, 16
_MODIFIER = re.compile(r"--[\w-]+")


def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    """One expression finding any of ``words`` as a substring, written as their prefix tree
    (``co(?:mment|okie)``): a position is left at its first letter that no word goes on with,
    where a plain alternation tries every word (a third of the time over class names)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(ch) + pattern(node[ch]) for ch in sorted(node) if ch]
        if not branches:
            return ""
        either = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{either})?" if "" in node else either

    return re.compile(pattern(trie))


_STRONG_IN, _POSITIVE_IN, _NEGATIVE_IN, _WEAK_IN, _LAYOUT_IN = map(
    _any_of, (_STRONG, _POSITIVE, _NEGATIVE, _WEAK_NEGATIVE, _LAYOUT)
)


def attrs(el) -> str:
    """Class and id, without BEM modifiers (``block--ads`` says what is near, not what it is)."""
    names = f"{el.get('class') or ''} {el.get('id') or ''}".strip()
    return _MODIFIER.sub("", names) if "--" in names else names


@lru_cache(maxsize=16384)
def name_kinds(names: str) -> int:
    """What a class/id string says about its element, as NEG | WEAK | POS | STRONG | LAYOUT bits."""
    if not names:
        return 0
    low = names.lower()
    tokens = set(low.replace("_", " ").replace("-", " ").split())
    kinds = 0
    if _STRONG_IN.search(low):
        kinds |= STRONG | POS
    elif _POSITIVE_IN.search(low) or tokens & _POSITIVE_TOKENS:
        kinds |= POS
    if _NEGATIVE_IN.search(low) or tokens & _NEGATIVE_TOKENS:
        kinds |= NEG
    elif _WEAK_IN.search(low) or tokens & _WEAK_TOKENS:
        kinds |= WEAK
    if _LAYOUT_IN.search(low) or tokens & _LAYOUT_TOKENS:
        kinds |= LAYOUT
    return kinds


def boilerplate_named(el) -> bool:
    kinds = name_kinds(attrs(el))
    return bool(kinds & NEG) and not kinds & STRONG


def class_weight(el) -> int:
    kinds = name_kinds(attrs(el))
    weight = 0
    if kinds & (NEG | WEAK):
        weight -= 25
    if kinds & POS:
        weight += 25
    if kinds & STRONG:
        weight += 25
    if el.get("itemprop") == "articleBody":
        weight += 50
    return weight
