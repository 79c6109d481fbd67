"""Article text from the chosen container's HTML, with BeautifulSoup.

Paragraphs are separated by blank lines; subheadings are paragraphs of their own;
list items and table rows are lines; ``<br>`` breaks a line and two of them a
paragraph. Lines that are boilerplate (share prompts, "Advertisement", repeated
bylines and dates, the headline again) are dropped. The walk is iterative.
"""

from __future__ import annotations

import re
from collections import Counter

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from worker.clean.html_byline import clean_byline
from worker.clean.metadata import text_key
from worker.text.bylines import byline_names
from worker.text.lines import clean_line

_BLOCKS = frozenset(
    "address article aside blockquote dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr main nav ol p pre section table ul body html center".split()
)
_LINES = frozenset({"li", "tr", "dt", "dd"})
_SKIP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "svg",
        "iframe",
        "form",
        "template",
        "button",
        "select",
        "textarea",
        "figcaption",
        "head",
        "title",
    }
)
_BREAK = "\x00"  # a line break inside a paragraph
_PARA = "\x01"  # a paragraph break
_LINE = "\x02"  # the edge of a list item or table row: one line break however many meet
_HEAD = "\ue000"  # starts a heading's paragraph
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LINE_RUN = re.compile(f"[\\s{_LINE}{_BREAK}]*{_LINE}[\\s{_LINE}{_BREAK}]*")

_BOILER = re.compile(
    r"^(?:advertisement|anzeige|publicité|publicidad|werbung|sponsored|"
    r"(?:share|teilen|partager|compartir)(?: (?:this|on|via|article|story))?\b.{0,40}|"
    r"(?:read|see|click) (?:more|also|here)\b.{0,80}|"
    r"(?:sign up|subscribe|follow us|like us)\b.{0,120}|(?:follow|join) (?:us|the conversation)\b.{0,80}|"
    r"follow [^.]{1,60} on (?:twitter|facebook|instagram|linkedin|x)\W*|(?:learn more|continue reading|weiterlesen|"
    r"lire la suite|seguir leyendo)\W*|[\d.,]+ (?:views|comments|shares|likes|aufrufe|kommentare)|"
    r"(?:devenez fan|suivez-nous|folgen sie uns|síguenos)\b.{0,80}|(?:questions|comments)\?.{0,80}|"
    r"(?:image|photo|picture|foto|bild|beitragsbild|titelbild|bildquelle|fotos?)"
    r"(?: \(cc\))?(?: credits?)?s?\s?:.{0,120}|"
    r"(?:credits?|photo credits?|image credits?|illustration)\s*:.{0,120}|"
    r"(?:getty images|reuters|ap photo|afp)(?:/.{0,60})?|"
    r"(?:image|photo) (?:illustrative|d'illustration|via .{0,60})|"
    r"(?:see also|read also|read more|lesen sie (?:auch|mehr)|mehr dazu|mehr zum thema|weitere artikel|"
    r"you (?:may|might) also (?:like|enjoy)|auch interessant|das (?:thema )?könnte dich auch interessieren|"
    r"more on this(?: topic| story)?|recommended(?: for you)?|related(?: articles| stories| posts| content| coverage)?|"
    r"lire aussi|à lire aussi|voir aussi|leer más|lee también|explore further)(?:\s*:.{0,100}|\W*)|"
    r"(?:updated|published|posted|last (?:updated|modified)|stand|aktualisiert|veröffentlicht|mis à jour)"
    r"(?: on| at| am| le)?:? .{0,60}|"
    r"(?:copyright|©|\(c\)) .{0,160}|all rights reserved.{0,60}|"
    r"(?:email|e-mail|print|tweet|facebook|twitter|whatsapp|linkedin|pinterest|reddit|comments?)"
    r"(?:\s*[|/·•]?\s*(?:email|e-mail|print|tweet|facebook|twitter|whatsapp|linkedin|pinterest|reddit|"
    r"comments?|share))*|"
    r"(?:\d+ )?(?:min(?:ute)?s? read|comments?)|"
    r"(?:skip|jump) to .{0,40}|loading\W*|by|von|par|por|"
    r"(?:mehr anzeigen|show more|mehr lesen|read less|weniger anzeigen)\W*|"
    r"(?:tags?|schlagw(?:orte|örter)|stichw(?:orte|örter)|kategorien?|categories|filed under|mots-clés)\s?:.{0,200})$",
    re.I,
)
# a promotion, a notice or a breadcrumb anywhere in a short line
_BOILER_ANYWHERE = re.compile(
    r"(?:to|in) your inbox|stay (?:up[- ]to[- ]date|informed|in the loop)|bleib(?:en sie)? auf dem laufenden|"
    r"subject to copyright|(?:may|must) not be reproduced|no part may be reproduced|all rights reserved|"
    r"alle rechte vorbehalten|tous droits réservés",
    re.I,
)
_BREADCRUMB = re.compile(r"^(?:[^.!?]{1,40}(?: » | › | > )){2,}[^.!?]{1,80}$")
_DATE_ONLY = re.compile(
    r"^(?:(?:\w+day,? )?(?:\d{1,2}\.? ?\w+\.? \d{4}|\w+\.? \d{1,2},? \d{4}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
    r"(?:,? (?:at |um |à )?\d{1,2}[:.h]\d{2}(?: ?[ap]\.?m\.?)?(?: \w{2,4})?)?(?: uhr)?)$",
    re.I,
)


_STAMP = re.compile(
    r"\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b(?:,?\s*\d{1,2}[:.h]\d{2}(?::\d{2})?)?|\b\d{1,2}:\d{2}(?::\d{2})?\b"
    r"(?:\s*(?:[ap]\.?m\.?|gmt|utc|[+-]\d{2,4}|\(gmt[+-]\d{2,4}\)))?",
    re.I,
)


_SENTENCE_END = (".", "!", "?", "…", '"', "”", "“", "»", "«", "。", "！", "？")


def _walk(root: Tag) -> list[str]:
    """Flatten the tree into text pieces and break markers, without recursion."""
    out: list[str] = []
    stack: list = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            out.append(node)  # a marker pushed for an element's end
            continue
        if isinstance(node, Comment):
            continue
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:
                out.append(node.replace(_HEAD, "") if _HEAD in node else node)
            continue
        name = node.name
        if name in _SKIP:
            continue
        if name == "br":
            out.append(_BREAK)
            continue
        if name == "pre":
            out.append(_PARA)
            out.append(node.get_text().replace("\n", _BREAK))
            out.append(_PARA)
            continue
        marker = _PARA if name in _BLOCKS else _LINE if name in _LINES else (" " if name in ("td", "th") else None)
        if marker:
            out.append(marker + _HEAD + name[1] if name in _HEADINGS else marker)
            stack.append(marker)
        stack.extend(reversed(node.contents))
    return out


def _paragraphs(pieces: list[str]) -> list[str]:
    text = "".join(p if p in (_BREAK, _PARA, _LINE) else re.sub(r"\s+", " ", p) for p in pieces)
    text = _LINE_RUN.sub(_BREAK, text)
    paras: list[str] = []
    for block in text.split(_PARA):
        lines: list[str] = []
        for raw in block.split(_BREAK):
            line = clean_line(raw)
            if line:
                lines.append(line)
            elif lines:  # an empty line: two <br> in a row end a paragraph
                paras.append("\n".join(lines))
                lines = []
        if lines:
            paras.append("\n".join(lines))
    return paras


def render(html: str, *, headline: str | None = None, byline: str | None = None) -> str:
    """The article text of an HTML fragment: paragraphs separated by blank lines."""
    return render_article(html, headline=headline, byline=byline)[0]


def render_article(html: str, *, headline: str | None = None, byline: str | None = None) -> tuple[str, str | None]:
    """The article text of an HTML fragment, and the byline its first lines give when ``byline`` is unknown."""
    soup = BeautifulSoup(html, "lxml")
    paras = _paragraphs(_walk(soup))
    drop = {k for k in (text_key(headline or ""),) if k}
    # short paragraphs repeated three times or more are a gallery's or a widget's, not the article's
    counts = Counter(text_key(p) for p in paras if len(p) < 100)
    drop.update(k for k, n in counts.items() if n >= 3)
    author_keys = [text_key(n) for n in byline_names(byline)]
    kept: list[str] = []
    found = None
    for para in paras:
        lines = [ln for ln in para.split("\n") if not _boiler_line(ln, author_keys)]
        if not lines:
            continue
        para = "\n".join(lines)
        key = text_key(para)
        if not key or key in drop:
            continue
        if not byline and not found and len(kept) < 3 and (found := _byline_line(para)):
            continue
        kept.append(para)
    # a closing line that introduces what is no longer there ("Related links:")
    while kept and kept[-1].endswith(":") and len(kept[-1]) < 100:
        kept.pop()
    # a heading followed by nothing, or by a heading of its own level or above, headed a removed block
    # (a heading that reads as a sentence is a pull quote and stays)
    kept = [
        p
        for i, p in enumerate(kept)
        if not p.startswith(_HEAD)
        or p.endswith(_SENTENCE_END)
        or (i + 1 < len(kept) and not (kept[i + 1].startswith(_HEAD) and kept[i + 1][1:2] <= p[1:2]))
    ]
    return "\n\n".join(p[2:] if p.startswith(_HEAD) else p for p in kept), found


_BYLINE_LINE = re.compile(
    r"^(?i:by|von|par|por|door|di|av|af)\s+(?:[A-ZÀ-Þ][\w'’.-]*\s*){2,}(?:(?:,|and|und|et|y)\s+.*)?$"
)


def _byline_line(para: str) -> str | None:
    """The authors named by a short "By Jane Doe" line."""
    if len(para) > 80 or "\n" in para or para.endswith("."):
        return None
    text = para[2:] if para.startswith(_HEAD) else para
    return clean_byline(text) if _BYLINE_LINE.match(text) else None


def _boiler_line(line: str, author_keys: list[str]) -> bool:
    if len(line) > 200:
        return False
    line = (line[2:] if line.startswith(_HEAD) else line).strip("()[] ")
    if _BOILER.match(line) or _DATE_ONLY.match(line):
        return True
    if len(line) < 160 and _BOILER_ANYWHERE.search(line):
        return True
    if "«" not in line and _BREADCRUMB.match(line):
        return True
    key = text_key(line)
    if not key or not re.search(r"[^\W\d_]", line) and len(line) < 12:  # no letters: a counter, a bullet
        return True
    if len(line) < 80 and _STAMP.search(line) and len(_STAMP.sub(" ", line).split()) <= 5 and not line.endswith("."):
        return True  # a date and time stamp ("Submitted on Mon, 2019-01-21 13:49")
    if author_keys and len(line) < 120:
        stripped = re.sub(r"^(?:by|von|par|por|door|di)\s+", "", key)
        if stripped in author_keys or (
            re.match(r"^(?:by|von|par|por)\s", key) and any(a and a in key for a in author_keys)
        ):
            return True
    return False
