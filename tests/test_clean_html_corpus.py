"""clean_html on the shared development corpus of real pages: scores held at the level reached.

The corpus lives outside the repository (../shared/corpus); these tests skip when it is absent.
Scores come from benchmarks/scoring.py, the same code the benchmark prints; no timings are asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PAGES = CORPUS / "pages"

pytestmark = pytest.mark.skipif(not PAGES.is_dir(), reason="development corpus not found at ../shared/corpus")

sys.path.insert(0, str(ROOT / "benchmarks"))
import scoring  # noqa: E402

from worker.clean.html import clean_html  # noqa: E402

MARGIN = 0.01


@pytest.fixture(scope="module")
def results():
    out = []
    for page in scoring.load_corpus(PAGES):
        out.append((page, clean_html(page.path.read_bytes(), page.url)))
    return out


def _body(article):
    return article.body if article is not None else None


def _expected(text, article):
    """The expected text, without the dateline the article keeps apart from its body."""
    return scoring.without_dateline(text, article.dateline if article is not None else None)


def test_corpus_is_complete(results):
    groups = {page.group for page, _ in results}
    assert groups == {"trafilatura-cache", "goose3", "newspaper4k"}
    assert len(results) >= 170


def test_full_body_shingle_f1(results):
    counts = [scoring.shingle_counts(_expected(p.body, a), _body(a)) for p, a in results if p.body is not None]
    precision, recall, f1 = scoring.prf(counts)
    assert f1 >= 0.976 - MARGIN
    assert precision >= 0.962 - MARGIN
    assert recall >= 0.991 - MARGIN


def test_body_start_recall(results):
    recalls = [scoring.start_recall(_expected(p.body_start, a), _body(a)) for p, a in results if p.body_start]
    assert sum(recalls) / len(recalls) >= 0.978 - MARGIN


def test_snippets(results):
    found = absent = n_with = n_without = 0
    for page, article in results:
        if page.with_ or page.without:
            f, a = scoring.snippet_hits(_body(article), page.with_, page.without)
            found, absent = found + f, absent + a
            n_with, n_without = n_with + len(page.with_), n_without + len(page.without)
    assert found / n_with >= 0.930 - MARGIN
    assert absent / n_without >= 0.941 - MARGIN


def test_home_pages_have_no_article(results):
    homes = [a for p, a in results if not p.is_article]
    assert len(homes) == 3 and all(a is None for a in homes)


def test_every_article_page_gives_an_article(results):
    missing = [p.name for p, a in results if p.is_article and (p.body or p.body_start) and a is None]
    assert missing == []


def _hits(results, attr, field, ok):
    pairs = [(getattr(p, attr), getattr(a, field) if a else None) for p, a in results if getattr(p, attr)]
    return sum(ok(exp, got) for exp, got in pairs), len(pairs)


def test_headlines(results):
    hits, total = _hits(results, "title", "headline", scoring.headline_ok)
    assert total == 30 and hits >= 29  # reached: 30


def test_bylines(results):
    hits, total = _hits(results, "author", "byline", scoring.byline_ok)
    assert total == 20 and hits >= 17  # reached: 18


def test_dates(results):
    hits, total = _hits(results, "date", "published_at", scoring.date_ok)
    assert total == 22 and hits >= 18  # reached: 19


def test_datelines_are_ones_the_expected_text_opens_with(results):
    """Every dateline taken out of a body is one the expected text opens with: no words lost."""
    from worker.text.datelines import strip_dateline

    found = 0
    for page, article in results:
        expected = page.body or page.body_start
        if article is None or not article.dateline or not expected:
            continue
        opening, _ = strip_dateline(expected.lstrip())
        assert opening is not None and opening.place == article.dateline, page.name
        assert not article.body.startswith(article.dateline), page.name
        found += 1
    assert found >= 5  # "WASHINGTON (Aug. 13) --", "MONTGOMERY, Ala. --", "SEOUL, Aug. 20 (Yonhap) --" ...


def test_dates_are_iso_and_never_invented(results):
    import re

    iso = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))?$")
    for page, article in results:
        if article is not None and article.published_at is not None:
            assert iso.match(article.published_at), (page.name, article.published_at)
