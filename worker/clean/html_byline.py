"""Bylines and datelines: author names from JSON-LD, author meta tags and byline elements.

Names come out joined with ", ": no "By", no dates or update stamps, no job titles,
no agencies or places beside names, no duplicates, and not the outlet itself when a
person is named.
"""

from __future__ import annotations

import re

from worker.clean.metadata import Meta, ld_name, ld_types, text_key
from worker.clean.normalize import clean_line

_AUTHOR_META = ("author", "article:author", "dc.creator", "dcterms.creator", "sailthru.author",
                "parsely-author", "byl", "citation_author", "twitter:creator")

_BY = re.compile(
    r"^\s*(?:(?:(?:written|posted|reported|submitted|text|words|gespeichert|geschrieben|verfasst|eingestellt|"
    r"publié|écrit|publicado|escrito)\s+)?(?:by|von|par|por|di|door|av|af)|"
    r"author(?:s|in)?|autor(?:in|en)?|auteur|text|texte|words|written)\s*[:\s]\s*",
    re.I,
)
_JOB = re.compile(
    r"\s*(?:[,|–—-]|\bis\b|\bfor\b)\s*(?:a\s+|the\s+)?(?:\w+\s+){0,3}(?:correspondent|reporter|editor|writer|"
    r"columnist|contributor|journalist|staff|redakteur\w*|autor\w*|reporter\w*|korrespondent\w*|"
    r"rédact\w*|journaliste|chief|producer|analyst|photographer)\b.*$",
    re.I,
)
_NOT_NAME = re.compile(r"https?:|www\.|@|\d{4}|\d{1,2}:\d{2}|updated|published|min read|facebook|twitter", re.I)


_AGENCIES = frozenset(
    "reuters ap afp dpa epd kna sid apa sda ats upi efe ansa kyodo xinhua bloomberg pa associated press "
    "the associated press press association agence france-presse".split(" ")
) | {"associated press", "the associated press", "press association", "agence france-presse"}
_MONTH_NAMES = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
                r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAYS = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|mon|tue|wed|thu|fri|sat|sun)\.?,?"
_STAMP_START = re.compile(
    r"\s+(?:(?:on|am|um|le|el|il|den|at|the)\s+)?(?=\S*\d)|\s*[|•·]\s*|\s*[–—]\s*|\s+-\s+|"
    r"\b(?:updated|published|posted|aktualisiert|veröffentlicht|mis à jour|actualizado|publicado)\b|"
    rf"\s+(?:on\s+)?(?={_WEEKDAYS}\s+(?:{_MONTH_NAMES}\s+)?\d)|\s+(?:on\s+)?(?={_MONTH_NAMES}\s+\d)",
    re.I,
)


def clean_byline(raw: str | list | None) -> str | None:
    """Author names joined with ", ": no "By", dates, job titles, agencies beside names, or duplicates."""
    if not raw:
        return None
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        text = clean_line(str(item))
        half = len(text) // 2
        if len(text) > 5 and text[:half].strip() == text[half:].strip():
            text = text[:half].strip()  # the same name twice, from nested elements
        text = _BY.sub("", text)
        text = re.sub(r"\s*\([^)]*\)\s*$", "", _STAMP_START.split(text)[0])
        text = _JOB.sub("", text)
        for part in re.split(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b|\be\b)\s*", text):
            part = part.strip(" .:-–—")
            part = _BY.sub("", part)
            if not part or _NOT_NAME.search(part) or len(part) > 60 or len(part.split()) > 5:
                continue
            if part.isupper() and part.isascii() and len(part) > 4 and " " in part:
                part = part.title()  # "JOHN SMITH"
            if part.casefold() not in (n.casefold() for n in names):
                names.append(part)
    people = [n for n in names if n.casefold() not in _AGENCIES and not (
        len(n.split()) == 1 and n.isascii() and n[:1].isupper() and len(names) > 1)]
    return ", ".join(people or names) or None


_DATELINE = re.compile(
    r"^((?:[A-ZÀ-Ý][A-ZÀ-Ý.'’-]+)(?: [A-ZÀ-Ý][A-ZÀ-Ý.'’-]+){0,3}(?:, [A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)?)?)"
    r"(?: \([A-Za-z .&-]{1,30}\))? ?(?:--|[—–-]) "
)


def dateline_of(body: str) -> str | None:
    """The place an article opens with, when it opens like "WASHINGTON (AP) — ..."."""
    m = _DATELINE.match(body)
    return m.group(1) if m and len(m.group(1)) >= 3 else None


def byline_from(meta: Meta, dom_bylines: list[str], site: str | None = None, host: str | None = None) -> str | None:
    """Authors from JSON-LD, then author meta tags, then the page's byline elements; the site's own
    name only when nothing else names an author."""
    candidates = _bylines(meta, dom_bylines)
    byline = next((b for b in candidates if not _is_outlet(b, site, host)), candidates[0] if candidates else None)
    if byline and ", " in byline:  # "Jane Doe, CNN": the outlet after the authors
        outlet = {text_key(site), *(text_key(label) for label in (host or "").split(".")[:-1])} - {""}
        names = [n for n in byline.split(", ") if text_key(n) not in outlet]
        byline = ", ".join(names) or byline
    return byline


def _is_outlet(byline: str, site: str | None, host: str | None) -> bool:
    k = text_key(byline)
    return bool(k) and (k == text_key(site) or k in {text_key(label) for label in (host or "").split(".")[:-1]})


def _bylines(meta: Meta, dom_bylines: list[str]) -> list[str]:
    found: list[str] = []
    ld = meta.ld or {}
    authors = ld.get("author") or ld.get("creator")
    if authors:
        people = authors if isinstance(authors, list) else [authors]
        named = [ld_name(a) for a in people if not (isinstance(a, dict) and "organization" in ld_types(a))]
        if byline := clean_byline([n for n in named if n]):
            found.append(byline)
        orgs = [ld_name(a) for a in people if isinstance(a, dict) and "organization" in ld_types(a)]
        if byline := clean_byline([n for n in orgs if n]):
            found.append(byline)
    for key in _AUTHOR_META:
        value = meta.tags.get(key)
        if value and not value.startswith("@") and (byline := clean_byline(value)):
            found.append(byline)
    for raw in dom_bylines:
        if byline := clean_byline(raw):
            found.append(byline)
    return found
