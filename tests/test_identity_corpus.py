"""The labelled set of benchmarks/labelled.py, in small: at the chosen thresholds no two distinct
stories are merged and none is linked into another's cluster; edits and wire copies are found.

The full tables (every fraction, more pairs) come from ``python benchmarks/similarity.py``.
"""

from __future__ import annotations

import sys

import pytest

from tests.conftest import CORPUS, ROOT, needs_corpus
from worker.identity import MIN_SHINGLES, Candidate, band_keys, classify
from worker.models import Article
from worker.similarity import shingles

sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = needs_corpus


@pytest.fixture(scope="module")
def pairs():
    import labelled

    return labelled.pairs(
        labelled.long_bodies(CORPUS), labelled.feed_bodies(CORPUS), seed=3, others=600, fractions=(0.05, 0.4)
    )


def old(body: str) -> Candidate:
    return Candidate(
        1, "Corrections", body, "https://a.example/1", "a", None, frozenset({Article("x", body).content_hash})
    )


def is_long(p) -> bool:
    return min(shingles(p.a).size, shingles(p.b).size) >= MIN_SHINGLES


def test_distinct_stories_are_never_merged_nor_linked(pairs):
    different = [p for p in pairs if p.label == "different"]
    assert {p.kind for p in different} >= {"same site", "same feed", "other site", "templated notes"}
    different = different[::3]  # every kind, a third of the pairs (the benchmark reads them all)
    assert len(different) > 2500
    for p in different:
        under_one_headline = classify(Article("Corrections", p.b, url="https://b.example/2", source="b"), [old(p.a)])
        assert under_one_headline.kind == "new", (p.kind, p.a[:80], p.b[:80], under_one_headline)
        under_two = classify(Article("Another headline", p.b, url="https://b.example/2", source="b"), [old(p.a)])
        assert under_two.kind == "new", (p.kind, p.a[:80], p.b[:80], under_two)


def test_edits_are_revisions(pairs):
    edits = [p for p in pairs if p.label == "same" and is_long(p)]
    kinds = [
        classify(Article("Corrections", p.b, url="https://a.example/1", source="a"), [old(p.a)]).kind for p in edits
    ]
    assert len(edits) > 1000
    assert sum(k in ("edit", "duplicate") for k in kinds) / len(kinds) >= 0.99


def test_wire_copies_are_found_and_linked(pairs):
    copies = [p for p in pairs if p.label == "copy" and is_long(p)]
    linked = 0
    for p in copies:
        if set(band_keys(p.a)) & set(band_keys(p.b)):
            decision = classify(Article("Another headline", p.b, url="https://b.example/2"), [old(p.a)])
            linked += decision.kind == "new_in_cluster"
    assert len(copies) > 500
    assert linked / len(copies) >= 0.95
