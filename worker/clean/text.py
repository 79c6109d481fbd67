"""Plain-text articles copied from a news page (pure functions).

The shape: a header of short paragraphs (headline, byline, publication, date line, dek), then
photo captions each followed by a credit line (``Credit…``, ``Photo:`` ...), the body (whose
first paragraph may open with a dateline such as ``KABUL, Afghanistan —``), and sometimes a
trailing repeat of the headline. Paragraphs are separated by blank lines or stand on their own
lines; hard-wrapped text is joined back (a block of three or more lines of about the same width,
or a line that starts in lower case after an unfinished line).
"""

from __future__ import annotations

import re
import unicodedata

from worker.errors import ParseError
from worker.models import Article, Hints
from worker.text.bylines import format_byline
from worker.text.datelines import find_dateline, strip_dateline
from worker.text.dates import parse_date_line
from worker.text.decode import decode
from worker.text.lang import lang_code
from worker.text.lines import SURROGATES, clean_line, derive_headline

_CREDIT = re.compile(r"(?:photo\s+)?(?:credit|photo|image|photograph)s?\s*(?:…|\.\.\.|:)", re.I)
_BY = re.compile(r"by\s+", re.I)
_DANGLING = re.compile(r"(?:\s*(?:,|&|\band\b))+\s*$", re.I)
_NAME_SPLIT = re.compile(r"\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+", re.I)
_PARTICLES = frozenset("al bin da das de del della der di dos du el ibn la le ten ter van von y".split())
_NOT_NAMES = frozenset("advertisement analysis breaking live news opinion photos updates video".split())
_OUTLET_ENDS = frozenset(
    "Times Post News Journal Guardian Tribune Herald Reuters Press BBC Chronicle Telegraph Independent "
    "Observer Gazette Globe Mail Express Economist Atlantic Review Standard Mirror Courier Register "
    "Examiner Inquirer Monitor Wire Today Magazine Bloomberg AFP NPR CNN Jazeera Politico Axios Presse "
    "Star Sun Record Bulletin Dispatch Daily Weekly".split()
)
_SMALL_WORDS = frozenset("of the and & on in de la for at".split())
_ENDS = re.compile(r"[.!?:”\"]$")
_SENTENCE_END = re.compile(r"[.!?][”\"’']?(?=\s+[A-Z“\"‘'(]|\s*$)")
_BOILERPLATE = frozenset(
    ["advertisement", "skip advertisement", "supported by", "continue reading the main story",
     "share full article", "listen to this article", "read more"]
)  # fmt: skip
_JUNK_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
_NOT_WORD = re.compile(r"\W+")
_NOT_PLAIN = re.compile(r"[^\x20-\x7e\s]")
_MAX_HEADLINE = 250
_MAX_DEK = 300
_HEADER_SPAN = 12


def clean_text(text: str | bytes, *, hints: Hints | None = None, source: str | None = None) -> Article:
    """One ``Article`` from a plain-text article; ``ParseError`` when the input is not one.

    Hints fill only what the text lacks; ``published_at`` stays None unless the text's header
    or the hints give a date.
    """
    hints = hints or Hints()
    paras = _paragraphs(_to_text(text, hints.encoding))
    if not paras:
        raise ParseError("empty text: no printable content")
    credits = {i for i, p in enumerate(paras) if _CREDIT.match(p)}
    captions = {i - 1 for i in credits if i > 0 and i - 1 not in credits}

    headline: str | None = None
    start = 0
    content = [i for i in range(len(paras)) if i not in credits and i not in captions]
    if _headline_shaped(paras[0]) and len(content) >= 2 and 0 not in credits:
        headline, start = paras[0], 1
        captions.discard(0)
    header, dek, start = _header(paras, start, credits, captions)

    repeat = _key(headline) if headline else None  # the headline repeated at the end is dropped
    body_paras = [
        p for i, p in enumerate(paras[start:], start)
        if i not in credits and i not in captions and not _repeats(p, repeat)
        and p.casefold().rstrip(".:") not in _BOILERPLATE
    ]  # fmt: skip
    dateline = None
    if body_paras:
        dateline, rest = strip_dateline(body_paras[0])
        body_paras = ([rest] if rest else []) + body_paras[1:]
    if not body_paras:
        raise ParseError("no body paragraph: only a header, captions or credits")

    derived = False
    if headline is None and hints.headline and clean_line(hints.headline):
        headline, derived = hints.headline, hints.headline_derived
    elif headline is None:
        headline, derived = derive_headline(body_paras[0]) or body_paras[0], True
    return Article(
        headline=clean_line(headline),
        body="\n\n".join(body_paras),
        byline=format_byline(header.get("byline") or hints.byline),
        published_at=_opt(header.get("date") or hints.published_at),
        dek=_opt(dek or hints.dek),
        url=_opt(hints.url),
        source=_opt(source),
        publication=_opt(header.get("publication") or hints.publication or (dateline.agency if dateline else None)),
        dateline=dateline.place if dateline else None,
        lang=lang_code(hints.lang),
        headline_derived=derived,
    )


def _to_text(data: str | bytes, declared: str | None) -> str:
    """Decoded text; ParseError for empty or binary input."""
    if isinstance(data, bytes) and not data.strip():
        raise ParseError("empty text: no bytes but whitespace")
    text = decode(data, declared)
    if "\x00" in text:
        raise ParseError("binary content: NUL bytes")
    if not text or text.isspace():
        raise ParseError("empty text: whitespace only")
    # only characters outside printable ASCII can be junk: look at those alone (a lone surrogate
    # is one, so text without junk has none to remove); the count of characters but whitespace
    # (str.split's is re's \s) is needed only when there is junk
    junk = sum(1 for c in _NOT_PLAIN.findall(text) if c == "\ufffd" or unicodedata.category(c) in _JUNK_CATEGORIES)
    if not junk:
        return text
    if junk > 0.1 * sum(map(len, text.split())):
        raise ParseError("binary content: mostly non-text characters")
    return SURROGATES.sub("", text)


def _paragraphs(text: str) -> list[str]:
    """Cleaned non-blank lines, one paragraph each, except hard-wrapped text (see ``_blocks``)."""
    paras: list[str] = []
    for block in _blocks(text):
        if _wrapped(block):
            paras.append(" ".join(block))
            continue
        for i, line in enumerate(block):
            prev = block[i - 1] if i else ""
            if (
                prev
                and line[0].islower()
                and not _BY.match(line)
                and not _CREDIT.match(prev)
                and not _ENDS.search(prev)
            ):
                paras[-1] = f"{paras[-1]} {line}"
            else:
                paras.append(line)
    return paras


def _blocks(text: str) -> list[list[str]]:
    """Runs of non-blank cleaned lines between blank lines."""
    blocks: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = clean_line(raw)
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _wrapped(block: list[str]) -> bool:
    """Three or more lines filled to about the same width (at most 100), as hard-wrapped text is."""
    width = max(len(line) for line in block)
    return len(block) >= 3 and width <= 100 and all(len(line) >= 0.75 * width for line in block[:-1])


def _header(
    paras: list[str], start: int, credits: set[int], captions: set[int]
) -> tuple[dict[str, str], str | None, int]:
    """Byline, publication and date found after the headline, the dek, and where the body starts."""
    found: dict[str, str] = {}
    dek: str | None = None
    seen_caption = False
    i = start
    while i < min(len(paras), start + _HEADER_SPAN):
        p = paras[i]
        kind = _header_kind(p)
        if kind is not None and kind[0] not in found:
            found[kind[0]] = kind[1]
            captions.discard(i)  # an image with no caption sits right after a header line
        elif kind is not None and kind[0] == "date":
            captions.discard(i)  # a second date line: "Updated ..."
        elif i in credits or i in captions:
            seen_caption = True
        elif p.casefold().rstrip(".:") in _BOILERPLATE:
            pass
        elif dek is None and not seen_caption and _dek_like(p) and _dek_follows(paras, i + 1, credits, captions):
            dek = p
        else:
            break
        i += 1
    return found, dek, i


def _dek_follows(paras: list[str], j: int, credits: set[int], captions: set[int]) -> bool:
    """A dek is confirmed by what comes next: a caption, a credit, a header line or a dateline."""
    if j >= len(paras):
        return False
    nxt = paras[j]
    return j in credits or j in captions or _header_kind(nxt) is not None or find_dateline(nxt) is not None


def _dek_like(p: str) -> bool:
    if len(p) > _MAX_DEK or not any(c.islower() for c in p) or _CREDIT.match(p) or find_dateline(p) is not None:
        return False
    return len(_SENTENCE_END.findall(p)) <= 2


def _header_kind(p: str) -> tuple[str, str] | None:
    """("date", iso) / ("publication", name) / ("byline", names) for a header-shaped line."""
    if len(p) > 150:
        return None
    if (iso := parse_date_line(p)) is not None:
        return ("date", iso)
    if _publication(p):
        return ("publication", p)
    if (names := _byline(p)) is not None:
        return ("byline", names)
    return None


def _publication(p: str) -> bool:
    """A short Title Case outlet name, e.g. "The New York Times", "Reuters", "Associated Press"."""
    words = p.split()
    if len(p) > 60 or not 1 <= len(words) <= 6 or p.endswith((".", ",", ":")):
        return False
    if any(not (w[0].isupper() or w[0].isdigit()) and w.lower() not in _SMALL_WORDS for w in words):
        return False
    return (words[0] == "The" and len(words) >= 2) or words[-1] in _OUTLET_ENDS or p in {"Associated Press", "AP"}


def _byline(p: str) -> str | None:
    """Author names in the byline format ("A", "A and B", "A, B and C"), without "By" or a dangling "and"."""
    m = _BY.match(p)
    names_text = _DANGLING.sub("", p[m.end() :] if m else p).strip()
    if not names_text or len(names_text) > 120:
        return None
    names = _NAME_SPLIT.split(names_text)
    if len(names) > 8:
        return None
    min_words = 1 if m else 2
    for name in names:
        words = name.split()
        if not min_words <= len(words) <= 5 or not all(_name_word(w) for w in words):
            return None
    return format_byline(names)


def _name_word(w: str) -> bool:
    if w.lower() in _PARTICLES or w.lower().split("-")[0] in {"al", "el"}:
        return True
    return w[0].isupper() and w.lower() not in _NOT_NAMES and all(c.isalpha() or c in ".'’-" for c in w)


def _headline_shaped(p: str) -> bool:
    return len(p) <= _MAX_HEADLINE and not _BY.match(p) and parse_date_line(p) is None and not _CREDIT.match(p)


def _key(s: str) -> str:
    return _NOT_WORD.sub(" ", s.casefold().replace("’", "'")).strip()


def _repeats(paragraph: str, key: str | None) -> bool:
    """The paragraph says what ``key`` (a ``_key``) says. The words of a key are the paragraph's
    own runs of word characters, so a paragraph lacking the first or last word cannot match:
    that cheap test spares building the key of every paragraph."""
    if not key:
        return False
    folded = paragraph.casefold()
    first, _, last = key.partition(" ")
    return first in folded and last.rpartition(" ")[2] in folded and _key(paragraph) == key


def _opt(value: str | None) -> str | None:
    return (clean_line(value) or None) if value else None
