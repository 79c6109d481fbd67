"""The labelled set for the same-story thresholds, built from the development corpus.

Bodies (real article text):
  long   newspaper4k expected bodies (``<name>.txt``, home pages aside), trafilatura-cache pages
         cleaned by ``worker.clean.clean_html``, goose3 body starts (``expected.cleaned_text``),
         the plain-text seed article; each with its site (URL host, or the name's stem)
  feed   feed item bodies, cleaned as the pipeline cleans them (``parse_feed`` + ``clean_fragment``):
         mostly short, and items of one feed share their boilerplate

Pairs (label, kind, a, b), all drawn with one ``random.Random(seed)``:
  same       one body and an edit of it: 1-40% of its sentences replaced (by sentences of another
             body), inserted or deleted, or a mix (never more than 40% of the text); one paragraph
             added; one word corrected; a feed item edited; a body's lead paragraph, then its full text
  different  two distinct bodies, as two stories under one recurring headline: pairs of long
             bodies (every pair from one site, a sample of the rest), every pair of one feed's
             items, and one-line notes on one template ("misstated the name of ...")
  copy       a body and a wire copy of it: a footer or header line added, paragraphs trimmed from
             the end, the first sentence lightly reworded, and combinations; the corpus's own
             pages that carry one article twice
"""

from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HOME_PAGES = frozenset({"cnn_main_site", "wired_main_site", "yahoo_main_site"})
FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4)
FOOTERS = (
    "This story was provided by The Associated Press.",
    "Copyright 2024 Reuters. All rights reserved.",
    "Additional reporting by Jane Smith; editing by John Doe.",
    "Sign up for our morning newsletter to get the day's top stories in your inbox.",
)
HEADERS = ("WASHINGTON (AP) \u2014", "By Staff Reporter, Wire Service", "Updated 5 minutes ago")
# Pages of the corpus that carry one article twice (read and judged so; every other pair of long
# bodies shares less than a quarter of its shingles): real copies, never "different".
SAME_ARTICLE = frozenset(
    frozenset(p)
    for p in (
        ("arabic_article.txt", "test_cnn_arabic.json"),
        ("chinese_article.txt", "test_bbc_chinese.json"),
        ("cleveland.com1.txt", "video_article_01.txt"),
        ("test_businessWeek1.json", "test_businessWeek4.json"),
        ("test_gizmodo1.json", "test_gizmodo3.json"),
    )
)
_SENTENCE = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|(?<=[\u3002\uff01\uff1f])")


@dataclass(frozen=True)
class Body:
    name: str  # corpus file
    site: str  # host, feed, or name stem: pairs of one site share its boilerplate and topics
    text: str


@dataclass(frozen=True)
class Pair:
    label: str  # same | different | copy
    kind: str  # what was done, for the tables
    a: str
    b: str


def _stem(name: str) -> str:
    m = re.match(r"[a-z]+", name.lower().removeprefix("test_"))
    return m.group(0) if m else name


def long_bodies(corpus: Path) -> list[Body]:
    """Full and partial article bodies of the corpus pages, one per distinct text."""
    from worker.clean import clean_html, clean_text

    pages = corpus / "pages"
    out = [
        Body(p.name, _stem(p.stem), p.read_text("utf-8"))
        for p in sorted((pages / "newspaper4k").glob("*.txt"))
        if p.stem not in HOME_PAGES
    ]
    for p in sorted((pages / "goose3").glob("*.json")):
        expected = json.loads(p.read_text("utf-8")).get("expected", {})
        if expected.get("cleaned_text"):
            out.append(Body(p.name, expected.get("domain") or _stem(p.stem), expected["cleaned_text"]))
    cache = pages / "trafilatura-cache"
    for url, entry in sorted(json.loads((cache / "evaldata.json").read_text("utf-8")).items()):
        article = clean_html((cache / entry["file"]).read_bytes(), url)
        if article is not None and article.body:
            out.append(Body(entry["file"], urlsplit(url).hostname or entry["file"], article.body))
    seed = corpus / "text" / "nyt-taliban-qala-e-naw.txt"
    out.append(Body(seed.name, "nytimes.com", clean_text(seed.read_bytes()).body))
    return _distinct(out)


def feed_bodies(corpus: Path) -> list[Body]:
    """The cleaned bodies of the corpus feeds' items, one per distinct text."""
    from worker.clean.fragment import clean_fragment
    from worker.errors import WorkerError
    from worker.fetchers.feed import parse_feed
    from worker.models import RawItem

    out = []
    for path in sorted((corpus / "feeds").glob("*.xml")):
        try:
            items, _ = parse_feed(path.read_bytes(), f"https://feeds.example/{path.name}")
        except WorkerError:
            continue
        for item in items:
            if isinstance(item, RawItem):
                try:
                    body = clean_fragment(item.content, item.hints).body
                except WorkerError:
                    continue
                if body:
                    out.append(Body(item.locator, path.stem, body))
    return _distinct(out)


def _distinct(bodies: list[Body]) -> list[Body]:
    from worker.similarity import shingle_hashes

    seen, out = set(), []
    for b in bodies:
        key = shingle_hashes(b.text).tobytes()
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


def _paragraphs(text: str) -> list[list[str]]:
    paras = [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    return [[s for s in _SENTENCE.split(p.strip()) if s] for p in paras]


def _join(paras: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paras if p)


def _slots(paras: list[list[str]]) -> list[tuple[int, int]]:
    return [(i, j) for i, p in enumerate(paras) for j in range(len(p))]


def edit(text: str, fraction: float, op: str, donor: str, rng: random.Random) -> str | None:
    """``text`` with ``fraction`` of its sentences (at least one) replaced, inserted or deleted;
    None when one sentence is more than 40% of the text (the edit would be a new text)."""
    paras = _paragraphs(text)
    spare = [s for p in _paragraphs(donor) for s in p]
    slots = _slots(paras)
    m = max(1, round(fraction * len(slots)))
    if m > 0.4 * len(slots):
        return None
    ops = [op] * m if op != "mix" else [("replace", "insert", "delete")[i % 3] for i in range(m)]
    for kind in ops:
        slots = _slots(paras)
        if kind == "delete" and len(slots) < 2:
            kind = "replace"
        i, j = rng.choice(slots)
        if kind == "replace":
            paras[i][j] = rng.choice(spare)
        elif kind == "insert":
            paras[i].insert(j, rng.choice(spare))
        else:
            del paras[i][j]
    return _join(paras)


def add_paragraph(text: str, donor: str, rng: random.Random) -> str:
    paras, extra = _paragraphs(text), _paragraphs(donor)
    paras.insert(rng.randint(0, len(paras)), rng.choice(extra))
    return _join(paras)


def correct_word(text: str, donor: str, rng: random.Random) -> str:
    words, spare = text.split(" "), donor.split()
    i = rng.randrange(len(words))
    words[i] = rng.choice(spare)
    return " ".join(words)


def wire_copy(text: str, kind: str, donor: str, rng: random.Random) -> str:
    """A copy of ``text`` as another outlet runs it: ``kind`` is a "+"-joined list of
    footer, header, trim (the last 10-30% of paragraphs, or of sentences when few), reword."""
    paras = _paragraphs(text)
    for step in kind.split("+"):
        if step == "trim":
            units = len(paras) if len(paras) >= 4 else None
            if units:
                paras = paras[: units - max(1, round(rng.uniform(0.1, 0.3) * units))]
            else:
                flat = [s for p in paras for s in p]
                keep = len(flat) - max(1, round(rng.uniform(0.1, 0.3) * len(flat)))
                paras = [flat[: max(1, keep)]]
        elif step == "reword":
            words = paras[0][0].split(" ")
            spare = donor.split()
            for _ in range(min(3, max(1, len(words) // 5))):
                words[rng.randrange(len(words))] = rng.choice(spare)
            paras[0][0] = " ".join(words)
        elif step == "footer":
            paras.append([rng.choice(FOOTERS)])
        elif step == "header":
            paras.insert(0, [rng.choice(HEADERS)])
    return _join(paras)


COPY_KINDS = ("footer", "header", "trim", "reword", "footer+trim", "header+reword", "header+trim+reword+footer")


def pairs(
    long: list[Body],
    feeds: list[Body],
    seed: int,
    *,
    per_body: int = 1,
    others: int = 4000,
    fractions: tuple[float, ...] = FRACTIONS,
) -> list[Pair]:
    """The labelled pairs: ``per_body`` edits of each kind (each of ``fractions``) and copies of
    each kind per long body, every same-site and same-feed pair, ``others`` pairs of long bodies
    from different sites, templated notes."""
    rng = random.Random(seed)
    out: list[Pair] = []
    for b in long:
        for _ in range(per_body):
            donor = rng.choice([d for d in long if d is not b]).text
            for f, op in itertools.product(fractions, ("replace", "insert", "delete", "mix")):
                if (edited := edit(b.text, f, op, donor, rng)) is not None:
                    out.append(Pair("same", f"{op} {f:.0%}", b.text, edited))
            out.append(Pair("same", "paragraph added", b.text, add_paragraph(b.text, donor, rng)))
            out.append(Pair("same", "word corrected", b.text, correct_word(b.text, donor, rng)))
            for kind in COPY_KINDS:
                out.append(Pair("copy", kind, b.text, wire_copy(b.text, kind, donor, rng)))
    for x, y in itertools.combinations(long, 2):
        if frozenset((x.name, y.name)) in SAME_ARTICLE:
            out.append(Pair("copy", "corpus: one article on two pages", x.text, y.text))
    for group, kind in ((long, "same site"), (feeds, "same feed")):
        for x, y in itertools.combinations(group, 2):
            if x.site == y.site and frozenset((x.name, y.name)) not in SAME_ARTICLE:
                out.append(Pair("different", kind, x.text, y.text))
    cross = [
        (x, y)
        for x, y in itertools.combinations(long, 2)
        if x.site != y.site and frozenset((x.name, y.name)) not in SAME_ARTICLE
    ]
    for x, y in rng.sample(cross, min(others, len(cross))):
        out.append(Pair("different", "other site", x.text, y.text))
    for b in feeds:  # short bodies edited: a corrected word, a sentence added
        donor = rng.choice(feeds).text
        out.append(Pair("same", "feed: word corrected", b.text, correct_word(b.text, donor, rng)))
        out.append(Pair("same", "feed: paragraph added", b.text, add_paragraph(b.text, donor, rng)))
    for b in long:  # a feed's teaser, then the page's full text
        lead = _join(_paragraphs(b.text)[:1])
        if lead != b.text:
            out.append(Pair("same", "lead paragraph, then full text", lead, b.text))
    notes = templated_notes(long, rng)
    for one, other in itertools.combinations(notes, 2):
        out.append(Pair("different", "templated notes", one, other))
    return out


TEMPLATES = (
    "An earlier version of this article misstated the {noun} of {name}.",
    "Correction: the {noun} of {name} was misspelled in an earlier version of this article.",
    "{name}, {number}, of {place}, died on {day}. Services will be held at {place}.",
    "Weather for {place}: {noun} in the morning, {number} degrees.",
)


def templated_notes(long: list[Body], rng: random.Random, per_template: int = 6) -> list[str]:
    """Recurring short items that differ only in their particulars (names, places, numbers from
    the corpus): the one-sentence notes that word overlap cannot tell apart."""
    words = [w.strip(".,;:\"'()") for b in long if b.text.isascii() for w in b.text.split()]
    names = [w for w in words if w[:1].isupper() and w[1:].islower() and len(w) > 3]
    nouns = [w for w in words if w.islower() and w.isalpha() and len(w) > 4]
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    return [
        t.format(
            noun=rng.choice(nouns),
            name=rng.choice(names),
            place=rng.choice(names),
            number=rng.randint(2, 99),
            day=rng.choice(days),
        )
        for t in TEMPLATES
        for _ in range(per_template)
    ]
