"""Scoring for the extraction benchmark: corpus loading and per-page scores.

Body text is scored as in the public article-extraction benchmark: the text is
split into ``\\w+`` tokens, word 4-gram shingles are counted on both sides, and
each page's true/false positives and false negatives are normalized by their
sum so that long pages do not weigh more. Precision and recall are averaged
over pages; F1 is the harmonic mean of the two averages.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

_TOKEN = re.compile(r"\w+")
HOME_PAGES = frozenset({"cnn_main_site", "wired_main_site", "yahoo_main_site"})


# ---------------------------------------------------------------- body text


def shingles(text: str | None, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    grams = [tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))]
    return Counter(g for g in grams if g)


def shingle_counts(true: str | None, pred: str | None) -> tuple[float, float, float]:
    """Normalized (tp, fp, fn) of the 4-gram shingles of ``pred`` against ``true``."""
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def without_dateline(expected: str | None, place: str | None) -> str | None:
    """The expected text without the dateline it opens with, when the extractor stored that same
    dateline apart (the worker keeps "WASHINGTON (AP) —" in ``dateline``, not in the body), so that
    body is compared with body; a dateline the extractor finds where the expected text has none
    still costs it the words it took out."""
    if not expected or not place:
        return expected
    from worker.text.datelines import strip_dateline

    found, rest = strip_dateline(expected.lstrip())
    return rest if found is not None and found.place == place else expected


def prf(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(precision, recall, F1) over pages: averages of per-page scores, F1 of the averages."""
    ps = [_precision(*c) for c in counts if c[0] + c[1] > 0]
    rs = [_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def start_recall(expected_start: str, pred: str | None) -> float:
    """Share of the shingles of a known body start that the prediction contains."""
    t, p = shingles(expected_start), shingles(pred)
    total = sum(t.values())
    return sum((t & p).values()) / total if total else 1.0


def _flat(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def snippet_hits(body: str | None, with_: list[str], without: list[str]) -> tuple[int, int]:
    """(snippets found among ``with_``, snippets absent among ``without``)."""
    flat = _flat(body)
    found = sum(1 for s in with_ if _flat(s) in flat)
    absent = sum(1 for s in without if _flat(s) not in flat)
    return found, absent


# ---------------------------------------------------------------- metadata


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = text.translate(str.maketrans("‘’‚‛“”„‟–—", "''''\"\"\"\"--"))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def headline_ok(expected: str, got: str | None) -> bool:
    """Equal after normalization; a truncated expected title may be a prefix of ours,
    and an expected title that still carries a site name may extend ours after a separator."""
    e, g = _norm(expected), _norm(got)
    if not g:
        return False
    if e == g or (len(e) >= 20 and g.startswith(e)):
        return True
    return bool(re.match(re.escape((got or "").strip()) + r"\s*[-|–—:·•]\s*\S", (expected or "").strip()))


def _names(text: str | None) -> set[str]:
    parts = re.split(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b)\s*", text or "")
    return {_norm(p) for p in parts if _norm(p)}


def byline_ok(expected: str, got: str | None) -> bool:
    return bool(got) and _names(expected) == _names(got)


def date_ok(expected: str, got: str | None) -> bool:
    """Same day; a timestamp given in UTC may fall on the day before or after the page's local date."""
    if not got:
        return False
    if got[:10] == expected[:10]:
        return True
    try:
        delta = abs((date.fromisoformat(got[:10]) - date.fromisoformat(expected[:10])).days)
    except ValueError:
        return False
    return len(got) > 10 and got.endswith(("Z", "+00:00")) and delta == 1


# ---------------------------------------------------------------- corpus


@dataclass
class Page:
    group: str  # trafilatura-cache | goose3 | newspaper4k
    name: str
    path: Path
    url: str | None
    body: str | None = None  # full expected body (newspaper4k)
    body_start: str | None = None  # goose3
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    date: str | None = None
    is_article: bool = True


def load_corpus(root: Path) -> list[Page]:
    pages: list[Page] = []
    tc = root / "trafilatura-cache"
    if (tc / "evaldata.json").exists():
        for url, d in json.loads((tc / "evaldata.json").read_text("utf-8")).items():
            path = tc / d["file"]
            if path.exists():
                pages.append(
                    Page(
                        "trafilatura-cache",
                        d["file"],
                        path,
                        url,
                        with_=d.get("with", []),
                        without=d.get("without", []),
                        title=d.get("title") or None,
                        author=d.get("author") or None,
                        date=d.get("date") or None,
                    )
                )
    for js in sorted((root / "goose3").glob("*.json")):
        d = json.loads(js.read_text("utf-8"))
        exp = d.get("expected", {})
        pages.append(
            Page(
                "goose3",
                js.stem,
                js.with_suffix(".html"),
                d.get("url"),
                body_start=exp.get("cleaned_text") or None,
                title=exp.get("title") or None,
            )
        )
    n4 = root / "newspaper4k"
    for html in sorted(n4.glob("*.html")):
        txt, meta = html.with_suffix(".txt"), html.with_suffix(".meta.json")
        url = json.loads(meta.read_text("utf-8")).get("url") if meta.exists() else None
        if html.stem in HOME_PAGES:
            pages.append(Page("newspaper4k", html.stem, html, url, is_article=False))
        elif txt.exists():
            pages.append(Page("newspaper4k", html.stem, html, url, body=txt.read_text("utf-8")))
    return pages
