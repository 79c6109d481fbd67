"""Same story or not: the decision for one new article against the archived candidates.

Candidates are what the archive finds by index: articles with the same normalized headline
(``story_key``), the same canonical URL, or a shared MinHash band key (``band_keys``). This
module only decides (pure functions: no SQL, no I/O); the archive stores what it says.

Rules, in order (DESIGN.md, "Same story or not"):
1. Same headline and the text of any earlier version: ``duplicate`` (a sighting).
2. Same headline, similar body: a revision, ``edit`` when it comes from the article's own URL
   (its source, when either URL is unknown), ``copy`` when from another URL or source.
3. Same URL, edited headline, similar body: ``edit`` (headline included).
4. Different headline, near-identical body: ``new_in_cluster``, linked to that article's cluster.
5. Otherwise ``new``: under a recurring headline ("Corrections") a dissimilar body is a
   different story.
The thresholds were calibrated on the development corpus (``benchmarks/similarity.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from worker.dedupe import headline_hash, normalize_headline
from worker.models import Article
from worker.similarity import EMPTY, bands, shingle_hashes, shingles, signature, similarity

# Same headline (or same URL): a body whose shingle overlap with the article's latest body is at
# least this is a revision or copy of it; below it, a different story under that headline.
# Calibrated: two distinct stories of MIN_SHINGLES+ shingles overlap at most 0.24 (a video page
# and an article on one event, in one feed); edits of up to 40% of a body's sentences stay above.
SAME_STORY = 0.4
# Different headline: a body whose overlap with an archived one is at least this is a wire copy
# of it (the same text with a footer, a trimmed end, a reworded lead), linked into its cluster.
# Higher than SAME_STORY: no shared headline vouches for it.
WIRE_COPY = 0.7
# Fewer shingles than this in either body and overlap is not trusted: distinct stories of 10-24
# shingles overlap up to 0.73 (one feed's formulaic openings; notes on one template), from 25 on
# at most 0.24. A short body is the same text as another only when the other contains it whole
# (a feed's teaser and the full text), and short bodies are never linked into a cluster.
MIN_SHINGLES = 30

KINDS = ("duplicate", "edit", "copy", "new", "new_in_cluster")

_BARS = re.compile(r"\s+[|\uff5c\u00a6]\s+")
_DASHES = re.compile(r"\s+[-\u2013\u2014\u00b7\u2022]\s+")


@dataclass(frozen=True)
class Candidate:
    """An archived article the index found for a new one: its latest text and its versions' hashes."""

    article_id: int
    headline: str
    body: str
    url: str | None = None  # canonical where known
    source: str | None = None
    publication: str | None = None
    content_hashes: frozenset[str] = field(default_factory=frozenset)  # of every version


@dataclass(frozen=True)
class Decision:
    """What to do with a new article: ``kind`` (one of ``KINDS``), the article it belongs or is
    linked to (None for a plain ``new``), and why, in words for logs and tests."""

    kind: str
    article_id: int | None
    reason: str


def strip_publication_suffix(headline: str, publication: str | None = None) -> str:
    """The headline without what a feed or page title adds to it.

    A bar (" | ") never belongs to a headline: the Guardian's own feed writes "X | Cas Mudde",
    its pages "X | World news | The Guardian"; the first piece that does not name the
    publication is the headline (a short one, "Obituaries | Local news", stays itself). A dash
    does belong to headlines ("Mosul residents return home - to what?"), so a piece after the
    last dash goes only when it names ``publication``
    ("X - Reuters"). Nothing else changes: "inflation falls to 4%" keeps its "%".
    """
    pieces = [p.strip() for p in _BARS.split(headline.strip()) if p.strip()]
    # one piece (no bar) is the headline whether or not it names the publication
    named = [p for p in pieces if publication and len(pieces) > 1 and _names(p, publication)]
    text = next((p for p in pieces if p not in named), headline.strip())
    dashes = list(_DASHES.finditer(text)) if publication else []
    if dashes and _names(text[dashes[-1].end() :], publication or ""):
        text = text[: dashes[-1].start()]
    return text


def _names(piece: str, publication: str) -> bool:
    """Whether a headline piece is the publication's name ("Reuters", "reuters.com", "The Guardian")."""
    a, b = (normalize_headline(x).removeprefix("the ").replace(" ", "") for x in (piece, publication))
    a, b = sorted((a, b), key=len)
    return bool(a) and b.startswith(a) and b[len(a) :] in ("", "com", "couk", "org", "net")


def story_key(headline: str, publication: str | None = None) -> str:
    """The headline hash the archive indexes: ``headline_hash`` of the headline without suffix."""
    return headline_hash(strip_publication_suffix(headline, publication))


def band_keys(body_or_signature: str | np.ndarray) -> list[int]:
    """The LSH band keys to store for a body (signed 64-bit, one per band), or of a signature.

    A body of fewer than ``MIN_SHINGLES`` shingles, or whose MinHash sample holds none (its
    signature is all ``EMPTY``), has no keys: short bodies are never linked into clusters.
    """
    if not isinstance(body_or_signature, str):
        return bands(body_or_signature)
    hashes = shingle_hashes(body_or_signature)
    if hashes.size < MIN_SHINGLES:
        return []
    sig = signature(hashes)
    return [] if sig.min() == EMPTY else bands(sig)


def score(a: str | np.ndarray, b: str | np.ndarray) -> float:
    """How much two bodies (or their ``shingles``) are one text, as the decision reads it: their
    ``similarity``, except that when either is under ``MIN_SHINGLES`` shingles only a body the
    other contains whole counts (1.0; else 0.0): a feed's lead paragraph and the full text are one
    story, two one-line notes on one template ("the name of Smith" / "... of Jones") are not."""
    sa = shingles(a) if isinstance(a, str) else a
    sb = shingles(b) if isinstance(b, str) else b
    s = similarity(sa, sb)
    if min(sa.size, sb.size) < MIN_SHINGLES:
        return 1.0 if s == 1.0 else 0.0
    return s


def _own(article: Article, c: Candidate) -> bool:
    if article.url and c.url:
        return article.url == c.url
    return article.source == c.source


def classify(
    article: Article, candidates: Iterable[Candidate], shingled: Callable[[str], np.ndarray] = shingles
) -> Decision:
    """The decision for ``article`` against the candidates the archive found for it; ``shingled``
    makes a body's ``shingles`` (the writer's keeps those of the texts it compared lately)."""
    key = story_key(article.headline, article.publication)
    cands = sorted(candidates, key=lambda c: not _own(article, c))  # the article's own URL first
    same_head = [c for c in cands if story_key(c.headline, c.publication) == key]
    heads = {c.article_id for c in same_head}
    for c in same_head:
        if article.content_hash in c.content_hashes:
            return Decision("duplicate", c.article_id, "same headline, text of an earlier version")
    mine = shingled(article.body)
    theirs = {c.article_id: shingled(c.body) for c in cands}
    scores = {c.article_id: score(mine, theirs[c.article_id]) for c in cands}
    revisions = [c for c in same_head if scores[c.article_id] >= SAME_STORY]
    if revisions:
        c = max(revisions, key=lambda c: (_own(article, c), scores[c.article_id]))
        kind = "edit" if _own(article, c) else "copy"
        where = "its own URL" if kind == "edit" else "another URL or source"
        return Decision(kind, c.article_id, f"same headline, similar body ({scores[c.article_id]:.2f}) from {where}")
    for c in cands:
        if (
            article.url
            and c.url == article.url
            and c.article_id not in heads
            and (article.content_hash in c.content_hashes or scores[c.article_id] >= SAME_STORY)
        ):
            return Decision(
                "edit", c.article_id, f"same URL, headline edited, similar body ({scores[c.article_id]:.2f})"
            )
    copies = [
        c
        for c in cands
        if c.article_id not in heads
        and scores[c.article_id] >= WIRE_COPY
        and min(mine.size, theirs[c.article_id].size) >= MIN_SHINGLES
    ]
    if copies:
        c = max(copies, key=lambda c: scores[c.article_id])
        return Decision(
            "new_in_cluster", c.article_id, f"near-identical body ({scores[c.article_id]:.2f}) under another headline"
        )
    if same_head:
        best = max(scores[c.article_id] for c in same_head)
        return Decision("new", None, f"same headline, different body ({best:.2f})")
    return Decision("new", None, "no archived article with this headline, URL or body")
