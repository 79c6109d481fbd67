"""Bylines: author names from JSON-LD, author meta tags and byline elements.

Names come out in the one byline format (``worker.text.bylines``: "A, B and C"): no "By", no
dates or update stamps, no job titles, no agencies or places beside names, no duplicates, and
not the outlet itself when a person is named.
"""

from __future__ import annotations

import re

from worker.clean.jsonld import ORG_TYPES, ld_name, ld_types, resolve
from worker.clean.metadata import AUTHOR_META, Meta, parsely, text_key
from worker.text.bylines import format_byline
from worker.text.lines import unescape_line
from worker.text.months import MONTH_NAME

_BY = re.compile(
    r"^\s*(?:(?:(?:written|posted|reported|submitted|text|words|gespeichert|geschrieben|verfasst|eingestellt|"
    r"publié|écrit|publicado|escrito)\s+)?(?:by|von|par|por|di|door|av|af)|"
    r"author(?:s|in)?|autor(?:in|en|/in|\*in|_in)?|auteur|text|texte|texto|testo|tekst|words|written)\s*[:\s]\s*",
    re.I,
)
_JOB = re.compile(
    r"\s*(?:[,|–—-]|\bis\b|\bfor\b)\s*(?:a\s+|the\s+)?(?:\w+\s+){0,3}(?:correspondent|reporter|editor|writer|"
    r"columnist|contributor|journalist|staff|redakteur\w*|autor\w*|reporter\w*|korrespondent\w*|"
    r"rédact\w*|journaliste|chief|producer|analyst|photographer)\b.*$",
    re.I,
)
_NOT_NAME = re.compile(r"https?:|www\.|@|\d|_|\d{1,2}:\d{2}|updated|published|min read|facebook|twitter", re.I)

_AND = re.compile(r"\s*[,;&]\s*(?:(?:and|AND|And|und|UND|et|y|e|en)\s+)?|\s+(?:and|AND|And|und|UND|et|y|e|en|with)\s+")
_TITLE_WORDS = frozenset(
    "correspondent reporter editor writer columnist contributor journalist staff producer analyst photographer "
    "redakteur redakteurin korrespondent korrespondentin autor autorin rédacteur rédactrice journaliste "
    "redactor redactora corresponsal periodista giornalista inviato redacteur verslaggever".split()
)
_TITLE_MODIFIERS = frozenset(
    "senior chief staff contributing associate deputy managing executive special national international political "
    "foreign science sports business tech technology health investigative freelance guest local bureau news "
    "economics economy white house global digital data features opinion politics culture".split()
)
_PARTICLES = frozenset(
    "von van der den de da del della di du la le los las dos das ter ten bin ibn al el zu y e d' mc".split()
)


def _without_title(part: str) -> str:
    """A name without the job title written after it ("Jane Doe Senior Washington Correspondent")."""
    words = part.split()
    low = [w.lower().strip(".,") for w in words]
    job = next((i for i, w in enumerate(low) if w in _TITLE_WORDS), None)
    if job is None:
        return part
    cut = job
    i = job - 1
    while i >= 1:
        if low[i] in _TITLE_MODIFIERS:
            cut = i
        elif i - 1 >= 1 and low[i - 1] in _TITLE_MODIFIERS:
            cut = i - 1
            i -= 1
        else:
            break
        i -= 1
    while cut and low[cut - 1] in ("the", "to", "of", "for", "at", "a"):
        cut -= 1
    return " ".join(words[:cut]) if cut >= 1 and low[cut - 1] not in _TITLE_MODIFIERS else ""


def _name_like(part: str) -> bool:
    """Capitalised words, particles and initials (or one handle): not a phrase like "share this article"."""
    words = part.split()
    if len(words) > 5:
        return False
    if len(words) == 1:
        return len(part.strip(".")) > 1 and not _BY.match(part + " ")  # not a label ("Autoren") standing alone
    lower = [w for w in words if w[:1].islower() and w.lower() not in _PARTICLES and "." not in w]
    return not lower


_AGENCIES = frozenset(
    "reuters ap afp dpa epd kna sid apa sda ats upi efe ansa kyodo xinhua bloomberg pa associated press "
    "the associated press press association agence france-presse".split(" ")
) | {"associated press", "the associated press", "press association", "agence france-presse"}
_WEEKDAYS = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|mon|tue|wed|thu|fri|sat|sun)\.?,?"
_STAMP_START = re.compile(
    r"\s+(?:(?:on|am|um|le|el|il|den|at|the)\s+)?(?=\S*\d)|\s*[|•·]\s*|\s*[–—]\s*|\s+-\s+|"
    r"\b(?:updated|published|posted|aktualisiert|veröffentlicht|mis à jour|actualizado|publicado)\b|"
    rf"\s+(?:on\s+)?(?={_WEEKDAYS}\s+(?:{MONTH_NAME}\s+)?\d)|\s+(?:on\s+)?(?={MONTH_NAME}\s+\d)",
    re.I,
)


def clean_byline(raw: str | list | None) -> str | None:
    """The byline of author names (``format_byline``): no "By", dates, job titles, agencies
    beside names, or duplicates."""
    return format_byline(clean_names(raw))


def clean_names(raw: str | list | None) -> list[str]:
    """The author names a byline text (or a list of them) gives, as ``clean_byline`` keeps them."""
    if not raw:
        return []
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        text = unescape_line(str(item))
        half = len(text) // 2
        if len(text) > 5 and text[:half].strip() == text[half:].strip():
            text = text[:half].strip()  # the same name twice, from nested elements
        text = _BY.sub("", text.strip(" /|·•:-–—"))
        text = re.sub(r"\s*\([^)]*\)\s*$", "", _STAMP_START.split(text)[0])
        text = _JOB.sub("", text)
        for part in _AND.split(text):
            part = _without_title(_BY.sub("", part.strip(" .:-–—/|")).strip(" .:-–—/|"))
            if not part or _NOT_NAME.search(part) or len(part) > 60 or not _name_like(part):
                continue
            if part.isupper() and part.isascii() and len(part) > 4 and " " in part:
                part = part.title()  # "JOHN SMITH"
            if part.casefold() not in (n.casefold() for n in names):
                names.append(part)
    people = [
        n
        for n in names
        if n.casefold() not in _AGENCIES
        and not (len(n.split()) == 1 and n.isascii() and n[:1].isupper() and len(names) > 1)
    ]
    return people or names


def byline_from(meta: Meta, dom_bylines: list[str], site: str | None = None, host: str | None = None) -> str | None:
    """Authors from JSON-LD, author meta tags, microdata, then the page's byline elements.

    The first credit that names people wins; an organisation, a desk or the site itself
    ("Staff", "Reuters", "Example News GmbH") only when no source names a person.
    """
    labels = (host or "").split(".")[:-1]
    outlet = {text_key(site), text_key(meta.ld_publisher), *(text_key(label) for label in labels)} - {""}
    outlet |= {k.replace(" ", "") for k in outlet}
    candidates = []
    for names in _bylines(meta, dom_bylines):
        candidates.append([n for n in names if not _is_outlet(n, outlet)] or names)
    people = [c for c in candidates if not _is_outlet(", ".join(c), outlet) and not _ORG.search(", ".join(c))]
    return format_byline((people or candidates or [[]])[0])


_ORG = re.compile(
    r"\b(?:gmbh|inc|ltd|llc|plc|ag|corp|s\.a|verlag|online|redaktion|r[ée]daction|redacci[óo]n|redazione|desk|"
    r"staff|newsroom|editors|editorial|team)\b|\.(?:com|de|fr|net|org|at|ch|co\.uk|es|it|nl)\b",
    re.I,
)  # the outlet's own company, domain or desk: a credit, but not a person's


def _is_outlet(byline: str, outlet: set[str]) -> bool:
    k = text_key(byline)
    return bool(k) and (k in outlet or k.replace(" ", "") in outlet)


def _ld_people(meta: Meta) -> list[list[str]]:
    """The JSON-LD article's authors (references resolved), people before organisations."""
    ids = meta.linked.ids
    found: list[list[str]] = []
    for obj in [meta.ld or {}, *meta.linked.others]:
        authors = obj.get("author") or obj.get("creator")
        if not authors:
            continue
        people = [resolve(a, ids) for a in (authors if isinstance(authors, list) else [authors])]
        named = [ld_name(a) for a in people if not (isinstance(a, dict) and ld_types(a) & ORG_TYPES)]
        if names := clean_names([n for n in named if n and not n.startswith(("http:", "https:"))]):
            found.append(names)
        orgs = [ld_name(a) for a in people if isinstance(a, dict) and ld_types(a) & ORG_TYPES]
        if names := clean_names([n for n in orgs if n]):
            found.append(names)
        if found:
            break
    return found


def _bylines(meta: Meta, dom_bylines: list[str]) -> list[list[str]]:
    """The names each credit on the page gives, in order of trust."""
    found = _ld_people(meta)
    data = parsely(meta)
    authors = data.get("authors") or data.get("author")
    if authors and (names := clean_names(authors if isinstance(authors, list) else [authors])):
        found.append(names)
    for key in AUTHOR_META:
        values = [v for k, v in meta.authors if k == key and not v.startswith(("@", "http:", "https:", "www."))]
        if values and (names := clean_names(values)):
            found.append(names)
    for raw in [*meta.microdata_authors, *dom_bylines]:
        if names := clean_names(raw):
            found.append(names)
    return found
