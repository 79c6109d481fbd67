"""Article metadata from a parsed page: JSON-LD, OpenGraph and meta tags, microdata, <time>.

Works on an lxml tree; returns plain strings. The headline is chosen by
agreement between its sources; the byline is cleaned of "By", dates and job titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urljoin

from lxml import etree

from worker.clean import html_signs
from worker.clean.jsonld import LinkedData, ld_name, parse_block, read_linked_data
from worker.text.dates import date_from_url, parse_date, parse_date_text
from worker.text.lang import lang_code
from worker.text.lines import clean_line, unescape_line

_DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "article:published",
    "datepublished",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "pub_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dc.date.created",
    "dcterms.created",
    "date",
    "article.published",
    "published-date",
    "og:pubdate",
    "cxenseparse:recs:publishtime",
    "article_date_original",
    "originalpublicationdate",
    "displaydate",
    "date_published",
    "rnews:datepublished",
    "dc:date",
    "dc:date.issued",
    "dcterms:issued",
    "dcterms:created",
    "citation_publication_date",
    "citation_date",
    "bepress_citation_date",
    "citation_online_date",
    "prism.publicationdate",
    "uploaddate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
    "og:updated_time",
    "parsely-updated",
)
AUTHOR_META = (
    "author",
    "article:author",
    "og:article:author",
    "dc.creator",
    "dcterms.creator",
    "dc:creator",
    "sailthru.author",
    "parsely-author",
    "byl",
    "citation_author",
    "author_name",
    "twitter:creator",
)


@dataclass
class Meta:
    """What the page says about itself (raw strings, cleaned later)."""

    tags: dict[str, str] = field(default_factory=dict)  # lower-case name/property -> content
    ld: dict | None = None  # the page's article object from JSON-LD
    ld_publisher: str | None = None
    title: str | None = None
    h1s: list[str] = field(default_factory=list)
    lang: str | None = None
    canonical: str | None = None
    linked: LinkedData = field(default_factory=LinkedData)  # all JSON-LD objects outside lists, and @ids
    authors: list[tuple[str, str]] = field(default_factory=list)  # (meta name, content) of every author tag
    microdata_authors: list[str] = field(default_factory=list)  # itemprop=author names, rel=author links
    header_dates: list[str] = field(default_factory=list)  # visible dates around the headline, nearest first


_ITEMPROP_HEADLINE = etree.XPath("//*[@itemprop='headline' and not(self::meta)]")


def read_meta(root, url: str | None) -> Meta:
    meta = Meta()
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and content.strip():
            if key not in meta.tags:
                meta.tags[key] = content.strip()
            if key in AUTHOR_META and len(meta.authors) < 20:
                meta.authors.append((key, content.strip()))
        if (el.get("http-equiv") or "").lower() == "content-language" and content:
            meta.tags.setdefault("content-language", content.strip())
    scripts = [s.text or "" for s in root.iter("script") if "ld+json" in (s.get("type") or "").lower()]
    meta.linked = read_linked_data(scripts)
    meta.ld, meta.ld_publisher = meta.linked.article, meta.linked.publisher
    title = root.find(".//title")
    if title is not None:
        meta.title = clean_line("".join(title.itertext()))
    meta.h1s = [t for h in root.iter("h1") if (t := clean_line("".join(h.itertext())))][:5]
    marked = _ITEMPROP_HEADLINE(root)
    if marked and (text := clean_line("".join(marked[0].itertext()))) and len(marked[0]) < 20:
        meta.tags.setdefault("microdata:headline", text)
    meta.lang = root.get("lang") or root.get("xml:lang") or meta.tags.get("content-language")
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            meta.canonical = link.get("href").strip()
            break
    meta.microdata_authors = html_signs.microdata_authors(root)
    meta.header_dates = html_signs.header_dates(root, marked[0] if marked else None)
    return meta


# ---------------------------------------------------------------- headline

_BARS = re.compile(r"\s*[|｜]\s*|\s::\s|\s[»•·]\s")
_NOT_WORD = re.compile(r"\W+")
_WEAK_SEPARATORS = re.compile(r"\s*[：｜]\s*|\s+:\s+")
_SEPARATORS = re.compile(r"\s+[|–—•·»«/\\-]\s+|\s+-{2}\s+|\s*\|\s*|\s::\s")


def text_key(text: str | None) -> str:
    """Text compared by its words: case-folded, anything but word characters one space."""
    return _NOT_WORD.sub(" ", (text or "").casefold()).strip()


def _one_line(text: str | None) -> str:
    """A metadata value as one line, character references decoded (JSON-LD strings carry them raw)."""
    return unescape_line(text or "")


def _title_core(title: str, site: str | None, host: str | None) -> str:
    """The title without the site's name where a separator sets it off at either end.

    When no piece is recognisably the site, a bar (never part of a headline) still sets off
    the site or section: the longest piece is the headline. Dashes and colons are left alone.
    """
    for separators in (_SEPARATORS, _WEAK_SEPARATORS):
        cuts = [m.span() for m in separators.finditer(title)]
        if not cuts:
            continue
        bounds = [0] + [c for span in cuts for c in span] + [len(title)]
        pieces = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
        first, last = 0, len(pieces) - 1
        while last > first and _is_site(title[pieces[last][0] : pieces[last][1]], site, host):
            last -= 1
        while first < last and _is_site(title[pieces[first][0] : pieces[first][1]], site, host):
            first += 1
        if (first, last) != (0, len(pieces) - 1):
            title = _one_line(title[pieces[first][0] : pieces[last][1]])
            break
    bars = [p for p in (_one_line(x) for x in _BARS.split(title)) if p]
    return max(bars, key=len) if len(bars) > 1 else title


def _is_site(text: str, site: str | None, host: str | None) -> bool:
    """Whether a title piece is the site's name (or its host name)."""
    k = text_key(text)
    if not k:
        return True
    for other in (text_key(site), text_key(host)):
        if other and (k == other or (k in other and len(k) > 3) or (other in k and len(k) - len(other) < 6)):
            return True
    compact = k.replace(" ", "")
    for label in (host or "").lower().split(".")[:-1]:
        if (
            len(label) >= 5
            and (compact.startswith(label) or compact.endswith(label))
            and len(compact) <= len(label) + 15
        ):
            return True  # "Gregory Szorc's Digital Home" on gregoryszorc.com
    return False


def _extends(short: str, long: str) -> bool:
    """Whether ``long`` is ``short`` with something added (a site name before or after, a truncation's rest)."""
    return len(short) >= 8 and len(short) >= 0.5 * len(long) and (long.startswith(short) or long.endswith(short))


def choose_headline(meta: Meta, site: str | None, host: str | None = None) -> str | None:
    """The headline its sources agree on: JSON-LD, og:title, twitter:title, <h1>, <title>."""
    ld = meta.ld or {}
    named: list[tuple[str, str]] = []  # (source, text) in order of trust when nothing agrees
    for source, value in (
        ("ld", ld_name(ld.get("headline"))),
        ("og", meta.tags.get("og:title")),
        ("tw", meta.tags.get("twitter:title")),
        ("dc", meta.tags.get("dc.title")),
        ("md", meta.tags.get("microdata:headline") or meta.tags.get("headline")),
        ("ld-name", ld_name(ld.get("name"))),
    ):
        if value and (v := _one_line(value)):
            named.append((source, _title_core(v, site, host)))
    title = _one_line(meta.title)
    if title:
        named.append(("title", _title_core(title, site, host)))
    named.extend(("h1", h) for h in meta.h1s[:3])
    named = [(src, text) for src, text in named if not _is_site(text, site, host)]
    if not named:
        return None
    keys = [(src, text_key(text)) for src, text in named]

    def support(i: int) -> int:
        src, k = keys[i]
        votes = set()
        for j, (other_src, other) in enumerate(keys):
            if j != i and other_src != src and other and (other == k or _extends(k, other) or _extends(other, k)):
                votes.add(other_src)
        return len(votes)

    scores = [support(i) for i in range(len(named))]
    best = max(range(len(named)), key=lambda i: (scores[i], named[i][0] == "h1" and scores[i] > 0, -i))
    return named[best][1] or None


# ---------------------------------------------------------------- dates, lang, url


def parsely(meta: Meta) -> dict:
    """The ``parsely-page`` meta tag's JSON (``pub_date``, ``author``, ``authors``), or {}."""
    raw = meta.tags.get("parsely-page")
    if not raw:
        return {}
    data = parse_block(raw)
    return data if isinstance(data, dict) else {}


def _ld_dates(objects: list[dict], keys: tuple[str, ...]) -> list:
    return [o.get(k) for o in objects for k in keys]


def published_from(meta: Meta, times: tuple[list[str], list[str]], url: str | None) -> str | None:
    """The publication date, from the first of these that gives one:

    JSON-LD (the article, then the page holding it), meta tags, elements named as the
    publication date, dates written around the headline; then the URL; then other dated
    elements; last, a modification date from structured data (never from visible text).
    A day without a time is completed by a later source that gives the same day with its
    zone. A full date in the URL wins over sources that disagree with it by more than a day.
    """
    ld = meta.ld or {}
    telling, other = times
    structured = _ld_dates([ld], ("datePublished", "dateCreated", "uploadDate"))
    structured += _ld_dates(meta.linked.others, ("datePublished", "uploadDate", "dateCreated"))
    structured += [meta.tags.get(key) for key in _DATE_META] + [parsely(meta).get("pub_date")]
    found = [d for v in structured if isinstance(v, str) and (d := parse_date(v))]
    found += [d for v in telling if (d := parse_date_text(v))]
    found += meta.header_dates
    day_in_url = date_from_url(url)
    if found:
        if day_in_url:
            agreeing = [d for d in found if _days_apart(d, day_in_url) <= 1]
            if not agreeing:
                return day_in_url  # a URL's date is set once; tags may carry a later re-publication
            found = agreeing
        first = found[0]
        if len(first) == 10:
            for full in found[1:]:
                if len(full) > 10 and _days_apart(full, first) <= 1:
                    return full
        return first
    if day_in_url:
        return day_in_url
    for value in other[:3]:
        if result := parse_date_text(value):
            return result
    modified = _ld_dates([ld, *meta.linked.others], ("dateModified",)) + [meta.tags.get(k) for k in _MODIFIED_META]
    return next((d for v in modified if isinstance(v, str) and (d := parse_date(v))), None)


def _days_apart(a: str, b: str) -> int:
    return abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days)


def language(meta: Meta) -> str | None:
    """The page's language tag (``<html lang>``, Content-Language, og:locale, JSON-LD), BCP 47 case."""
    raw = meta.lang or meta.tags.get("og:locale") or (meta.ld or {}).get("inLanguage")
    return lang_code(raw) if isinstance(raw, str) else None


def canonical_url(meta: Meta, url: str | None) -> str | None:
    for raw in (meta.canonical, meta.tags.get("og:url")):
        if raw:
            absolute = urljoin(url or "", raw.strip())
            if absolute.startswith(("http://", "https://")):
                return absolute
    return url


def description(meta: Meta) -> str | None:
    ld = meta.ld or {}
    for value in (
        ld.get("description"),
        meta.tags.get("og:description"),
        meta.tags.get("description"),
        meta.tags.get("twitter:description"),
        meta.tags.get("dc.description"),
    ):
        if isinstance(value, str) and (text := unescape_line(value)):
            return text
    return None


def publication(meta: Meta) -> str | None:
    for value in (meta.tags.get("og:site_name"), meta.ld_publisher, meta.tags.get("application-name")):
        if isinstance(value, str) and (text := unescape_line(value)):
            return text
    return None
