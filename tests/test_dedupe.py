"""normalize_headline / headline_hash: one article per headline, whatever the typography."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.dedupe import headline_hash, normalize_headline

SEED = "Taliban Attack a Provincial Capital in Afghanistan\u2019s North, Freeing Prisoners"


def test_seed_variants_hash_alike():
    variants = [
        SEED,
        SEED.replace("\u2019", "'"),
        SEED.upper(),
        "  taliban attack a provincial capital in   afghanistan's north,freeing prisoners ",
        SEED.replace(" ", "\u00a0"),
        SEED.replace("North,", "North \u2014"),
    ]
    assert len({headline_hash(v) for v in variants}) == 1
    assert normalize_headline(SEED) == "taliban attack a provincial capital in afghanistans north freeing prisoners"


def test_typography():
    assert normalize_headline("\u201cQuoted\u201d \u2014 dash\u2013es \uff21") == "quoted dash es a"
    assert normalize_headline("Stra\u00dfe") == normalize_headline("STRASSE")
    assert normalize_headline("caf\u00e9") == normalize_headline("cafe\u0301")
    assert normalize_headline("Qala-e-Naw") == "qala e naw"
    assert normalize_headline("") == ""


def test_different_words_differ():
    assert headline_hash("Taliban attack a capital") != headline_hash("Taliban attacks a capital")
    assert headline_hash("a b") != headline_hash("ab")
    assert len(headline_hash(SEED)) == 64


@settings(max_examples=500)
@given(st.text())
def test_normalization_is_idempotent(text):
    once = normalize_headline(text)
    assert normalize_headline(once) == once


words = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8), min_size=1, max_size=8
)


@settings(max_examples=500)
@given(words, words)
def test_headlines_that_differ_in_words_never_collide(a, b):
    if a != b:
        assert headline_hash(" ".join(a)) != headline_hash(" ".join(b))
    assert headline_hash(" ".join(a)) == headline_hash(", ".join(w.upper() for w in a))
