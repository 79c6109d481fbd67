"""Same story or not: shingles, MinHash band keys, the suffix rule and classify()'s outcomes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, ROOT
from worker import similarity
from worker.identity import (
    KINDS,
    MIN_SHINGLES,
    SAME_STORY,
    WIRE_COPY,
    Candidate,
    Decision,
    band_keys,
    classify,
    score,
    story_key,
    strip_publication_suffix,
)
from worker.models import Article
from worker.similarity import shingle_hashes, shingles, signature

HERE = FIXTURES / "identity"
COUNCIL, STORM, MATCH = ((HERE / f"{n}.txt").read_text("utf-8") for n in ("council", "storm", "match"))
CHINESE, JAPANESE = ((HERE / f"{n}.txt").read_text("utf-8") for n in ("chinese", "japanese"))
FOOTER = "\n\nThis story was provided by The Associated Press."
NOTE_A = "An earlier version of this article misstated the name of the council president."
NOTE_B = "An earlier version of this article misstated the name of the library director."


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def cand(
    article_id: int,
    headline: str,
    body: str,
    url: str | None = "https://a.example/1",
    source: str = "a",
    publication: str | None = None,
    earlier: tuple[str, ...] = (),
) -> Candidate:
    hashes = frozenset(Article(headline, b).content_hash for b in (body, *earlier))
    return Candidate(article_id, headline, body, url, source, publication, hashes)


# ---------------------------------------------------------------- shingles and similarity


def test_normalization_ignores_case_punctuation_and_typography():
    a = "Afghanistan’s north — “freed” prisoners,  said the governor's office…"
    b = 'AFGHANISTAN\'S NORTH: "freed" prisoners said the Governor’s office...'
    assert np.array_equal(shingle_hashes(a), shingle_hashes(b))
    assert not np.array_equal(shingle_hashes(a), shingle_hashes(a.replace("north", "south")))


def test_unicode_forms_read_alike():
    nfc = "Café owners in Zürich said the ﬁnal ＶＯＴＥ was close"
    nfd = unicodedata.normalize("NFD", nfc)
    nfkc = unicodedata.normalize("NFKC", nfc)
    assert np.array_equal(shingle_hashes(nfc), shingle_hashes(nfd))
    assert np.array_equal(shingle_hashes(nfc), shingle_hashes(nfkc.lower()))
    assert not np.array_equal(shingle_hashes("cafe owners in zurich"), shingle_hashes("café owners in zürich"))


def test_combining_marks_stay_inside_words():
    # Devanagari vowel signs are marks: dropping them would make these two words one
    assert not np.array_equal(shingle_hashes("हिन्दी भाषा"), shingle_hashes("हन्द भष"))
    assert shingle_hashes("हिन्दी भाषा समाचार पत्र").size == 1  # four words, one 4-word shingle


def test_scripts_without_spaces_shingle_by_character():
    assert shingles(CHINESE).size > 100  # one "word" per sentence would give a handful
    assert shingles(JAPANESE).size > 100
    thai = unicodedata.normalize("NFKC", "รัฐบาลประกาศงบประมาณใหม่สำหรับการซ่อมสะพานในเมือง")
    assert shingle_hashes(thai).size == len(thai) - similarity.SHINGLE + 1
    edited = CHINESE.replace("停车费将上涨百分之十五", "停车费将上涨百分之二十")
    assert similarity.similarity(CHINESE, edited) > 0.9
    assert similarity.similarity(CHINESE, JAPANESE) < 0.05
    assert similarity.similarity(CHINESE, COUNCIL) == 0.0


def test_astral_characters_are_read():
    text = "𠀀𠀁𠀂𠀃 families 😀 gathered 𝐛𝐨𝐥𝐝 at the river"
    assert np.array_equal(shingle_hashes(text), shingle_hashes(text.replace("😀", "!")))
    assert np.array_equal(shingle_hashes(text), shingle_hashes(text.replace("𝐛𝐨𝐥𝐝", "bold")))


def test_similarity_measures_the_smaller_text():
    assert similarity.similarity(COUNCIL, COUNCIL + FOOTER) == 1.0
    trimmed = "\n\n".join(paragraphs(COUNCIL)[:-2])
    assert similarity.similarity(COUNCIL, trimmed) == 1.0
    sentences = re.split(r"(?<=\.)\s+", COUNCIL)
    sentences[2] = "The vote was delayed by a fire alarm."
    assert 0.8 < similarity.similarity(COUNCIL, " ".join(sentences)) < 1.0
    assert similarity.similarity(COUNCIL, STORM) < 0.05
    assert similarity.similarity(COUNCIL, "") == 0.0
    assert similarity.similarity(shingles(COUNCIL), shingles(COUNCIL)) == 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_any_text_is_read(a, b):
    hashes = shingle_hashes(a + " " + b)
    assert hashes.dtype == np.uint64
    assert np.array_equal(hashes, shingle_hashes(a + " " + b))
    assert 0.0 <= similarity.similarity(a, b) <= 1.0
    assert len(band_keys(a + b)) in (0, similarity.BANDS)


def test_a_shingle_hashes_alike_anywhere_in_a_long_body():
    long = " ".join([STORM] * 80) + " the last four words"  # past the kept power tables
    assert len(long) > similarity._KEPT_POWERS
    assert shingle_hashes(long)[-1] == shingle_hashes("the last four words")[0]
    assert set(shingles(STORM)) <= set(shingles(long))


def test_short_text_is_one_shingle():
    assert shingle_hashes("two words").size == 1
    assert shingle_hashes("").size == 0
    assert shingle_hashes(" ,;. ").size == 0
    assert shingle_hashes("one two three four five").size == 2


# ---------------------------------------------------------------- MinHash and band keys


def test_the_written_out_permutations_are_datasketchs():
    a, b = MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED).permutations
    assert list(map(int, a)) == list(similarity.PERMUTATION_A) and list(map(int, b)) == list(similarity.PERMUTATION_B)


def test_hashing_bodies_does_not_import_datasketch():
    import subprocess
    import sys

    code = (
        "import sys; from worker.identity import band_keys; band_keys('a b c d e ' * 40); "
        "print('datasketch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_signature_is_datasketch_minhash():
    hashes = shingle_hashes(COUNCIL + STORM)
    sample = hashes[hashes % similarity.SAMPLE == 0]
    reference = MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED, hashfunc=int)
    reference.update_batch((sample >> np.uint64(32)).tolist())
    assert np.array_equal(signature(hashes), reference.hashvalues)


def test_band_keys_are_sqlite_integers_one_per_band():
    keys = band_keys(COUNCIL)
    assert len(keys) == similarity.BANDS == len(set(keys))
    assert all(isinstance(k, int) and -(2**63) <= k < 2**63 for k in keys)
    assert band_keys(COUNCIL) == band_keys(COUNCIL.upper().replace(",", " ,"))
    assert band_keys(signature(shingle_hashes(COUNCIL))) == keys


def test_band_keys_find_copies_not_strangers():
    reworded = COUNCIL.replace("approved a revised budget", "passed a new budget", 1)
    copy = "WASHINGTON (AP) \u2014 " + "\n\n".join(paragraphs(reworded)[:-1]) + FOOTER
    assert set(band_keys(COUNCIL)) & set(band_keys(copy))
    for other in (STORM, MATCH):
        assert not set(band_keys(COUNCIL)) & set(band_keys(other))


def test_short_bodies_have_no_band_keys():
    assert band_keys(NOTE_A) == []
    assert band_keys("") == []
    assert shingles(NOTE_A).size < MIN_SHINGLES <= shingles(STORM).size


def test_band_keys_are_the_same_in_another_process():
    code = (
        "import json, sys; from worker.identity import band_keys; "
        "print(json.dumps([band_keys(open(p, encoding='utf-8').read()) for p in sys.argv[1:]]))"
    )
    paths = [str(HERE / n) for n in ("council.txt", "chinese.txt")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, *paths], capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout
    assert json.loads(out) == [band_keys(COUNCIL), band_keys(CHINESE)]


def test_band_keys_of_a_fixed_text_never_change():
    """Archives store these keys: a change of hashing, seed or datasketch's permutations would
    silently stop old articles from being found. Change the pinned keys only with a migration."""
    text = " ".join(f"word{i} of the pinned text number {i % 7}" for i in range(40))
    assert band_keys(text)[:3] == [-1118519331234557487, -8835610728710934787, -897237465357576731]


# ---------------------------------------------------------------- headlines


@pytest.mark.parametrize(
    "headline, publication, expected",
    [
        ("Council approves budget - Reuters", "Reuters", "Council approves budget"),
        ("Council approves budget \u2014 reuters.com", "Reuters", "Council approves budget"),
        ("Council approves budget | World news | The Guardian", "The Guardian", "Council approves budget"),
        ("Council approves budget | Cas Mudde", None, "Council approves budget"),
        ("The Guardian | Obituaries", "The Guardian", "Obituaries"),
        ("Mosul residents return home \u2013 to what?", "The Guardian", "Mosul residents return home \u2013 to what?"),
        ("Council approves budget - Reuters", None, "Council approves budget - Reuters"),
        ("Council approves budget - Reuters", "Associated Press", "Council approves budget - Reuters"),
        ("inflation falls to 4%", "Reuters", "inflation falls to 4%"),
    ],
)
def test_strip_publication_suffix(headline, publication, expected):
    assert strip_publication_suffix(headline, publication) == expected


def test_story_key_of_one_story_from_one_publication():
    assert story_key("Council approves budget - Reuters", "Reuters") == story_key("Council approves budget", "Reuters")
    assert story_key("Council approves budget | Politics | The Guardian", "The Guardian") == story_key(
        "Council Approves Budget", "The Guardian"
    )
    assert story_key("Council approves budget", None) != story_key("Council approves budgets", None)


# ---------------------------------------------------------------- classify


def test_same_text_as_any_version_is_a_duplicate():
    old = cand(7, "Council approves budget", COUNCIL + FOOTER, earlier=(COUNCIL,))
    for url, source in (("https://a.example/1", "a"), ("https://b.example/9", "b")):
        d = classify(Article("Council approves budget", COUNCIL, url=url, source=source), [old])
        assert (d.kind, d.article_id) == ("duplicate", 7)


def test_edited_body_from_its_own_url_is_an_edit():
    edited = COUNCIL.replace("seven to two", "six to three") + "\n\nThe mayor welcomed the vote."
    d = classify(
        Article("Council approves budget", edited, url="https://a.example/1", source="a"),
        [cand(7, "Council approves budget", COUNCIL)],
    )
    assert (d.kind, d.article_id) == ("edit", 7)


def test_without_urls_the_source_decides_edit_or_copy():
    edited = COUNCIL + "\n\nThe mayor welcomed the vote."
    old = cand(7, "Council approves budget", COUNCIL, url=None, source="a")
    assert classify(Article("Council approves budget", edited, source="a"), [old]).kind == "edit"
    assert classify(Article("Council approves budget", edited, source="b"), [old]).kind == "copy"


def test_wire_copy_with_a_footer_from_another_feed_is_a_copy():
    d = classify(
        Article("Council approves budget", COUNCIL + FOOTER, url="https://b.example/9", source="b"),
        [cand(7, "Council approves budget", COUNCIL)],
    )
    assert (d.kind, d.article_id) == ("copy", 7)


def test_suffixed_headline_of_the_same_publication_is_the_same_story():
    old = cand(7, "Council approves budget", COUNCIL, publication="Reuters")
    new = Article("Council approves budget - Reuters", COUNCIL, url="https://news.example/x", publication="Reuters")
    assert classify(new, [old]) == Decision("duplicate", 7, "same headline, text of an earlier version")


def test_recurring_headline_with_another_story_is_new():
    d = classify(Article("Corrections", STORM, url="https://a.example/2"), [cand(7, "Corrections", COUNCIL)])
    assert (d.kind, d.article_id) == ("new", None)
    assert "same headline, different body" in d.reason


def test_two_one_line_notes_on_one_template_are_two_stories():
    assert similarity.similarity(NOTE_A, NOTE_B) > 0.5  # overlap alone would merge them
    for url in ("https://a.example/1", "https://a.example/2"):
        assert classify(Article("Corrections", NOTE_B, url=url), [cand(7, "Corrections", NOTE_A)]).kind == "new"
    assert score(NOTE_A, NOTE_B) == 0.0


def test_short_lead_then_full_text_is_an_edit():
    lead = " ".join(COUNCIL.split()[:20])  # a feed's teaser
    assert shingles(lead).size < MIN_SHINGLES
    d = classify(
        Article("Council approves budget", COUNCIL, url="https://a.example/1"),
        [cand(7, "Council approves budget", lead)],
    )
    assert (d.kind, d.article_id) == ("edit", 7)


def test_inflation_headlines_hash_alike_and_the_body_decides():
    old = cand(7, "inflation falls to 4%", COUNCIL)
    assert classify(Article("inflation falls to 4", STORM, url="https://a.example/2"), [old]).kind == "new"
    assert classify(Article("inflation falls to 4", COUNCIL + FOOTER, url="https://a.example/2"), [old]).kind == "copy"


def test_edited_headline_on_the_same_url_is_an_edit():
    old = cand(7, "Council approves budget", COUNCIL)
    d = classify(Article("Council approves budget, mayor says", COUNCIL, url="https://a.example/1"), [old])
    assert (d.kind, d.article_id) == ("edit", 7)
    assert "headline edited" in d.reason
    edited = COUNCIL + "\n\nThe mayor welcomed the vote."
    assert classify(Article("Budget passes", edited, url="https://a.example/1"), [old]).kind == "edit"
    assert classify(Article("Storm hits valley", STORM, url="https://a.example/1"), [old]).kind == "new"


def test_near_identical_body_under_another_headline_joins_the_cluster():
    copy = "WASHINGTON (AP) \u2014 " + "\n\n".join(paragraphs(COUNCIL)[:-1]) + FOOTER
    d = classify(
        Article("Bridges to be fixed after budget vote", copy, url="https://b.example/9", source="b"),
        [cand(7, "Council approves budget", COUNCIL), cand(8, "Storm hits valley", STORM)],
    )
    assert (d.kind, d.article_id) == ("new_in_cluster", 7)
    assert score(COUNCIL, copy) >= WIRE_COPY


def test_unrelated_and_short_bodies_are_never_linked():
    d = classify(
        Article("Late winner", MATCH, url="https://b.example/9"), [cand(7, "Council approves budget", COUNCIL)]
    )
    assert d == Decision("new", None, "no archived article with this headline, URL or body")
    assert (
        classify(Article("Another headline", NOTE_A, url="https://b.example/9"), [cand(7, "Corrections", NOTE_A)]).kind
        == "new"
    )


def test_the_similar_one_of_several_same_headline_stories_is_revised():
    cands = [
        cand(7, "Corrections", STORM, url="https://a.example/7"),
        cand(8, "Corrections", COUNCIL, url="https://a.example/8"),
        cand(9, "Corrections", MATCH, url="https://a.example/9"),
    ]
    edited = COUNCIL.replace("Tuesday", "Wednesday")
    d = classify(Article("Corrections", edited, url="https://a.example/8"), cands)
    assert (d.kind, d.article_id) == ("edit", 8)
    assert classify(Article("Corrections", edited, url="https://c.example/1"), cands).kind == "copy"


def test_decisions_are_frozen_and_of_known_kinds():
    d = classify(Article("x", COUNCIL), [])
    assert d.kind in KINDS
    with pytest.raises(AttributeError):
        d.kind = "edit"  # type: ignore[misc]
    assert 0 < SAME_STORY < WIRE_COPY < 1


def test_the_shingle_cache_gives_what_shingles_gives_once_per_text_within_its_bytes(monkeypatch):
    made: list[str] = []
    real = similarity.shingles
    monkeypatch.setattr(similarity, "shingles", lambda text: made.append(text) or real(text))
    texts = [COUNCIL, STORM, MATCH]
    cache = similarity.ShingleCache()
    for _ in range(3):
        for text in texts:
            assert np.array_equal(cache(text), real(text))
    assert made == texts  # each made once, then found
    with pytest.raises(ValueError):
        cache(COUNCIL)[0] = 0  # read-only: a caller cannot change what the next one gets
    small = similarity.ShingleCache(limit=real(COUNCIL).nbytes + max(real(STORM).nbytes, real(MATCH).nbytes))
    made.clear()
    small(COUNCIL), small(STORM), small(COUNCIL), small(MATCH)  # MATCH pushes out STORM, the least used
    assert made == [COUNCIL, STORM, MATCH] and small.size <= small.limit and len(small) == 2
    small(COUNCIL)
    small(STORM)
    assert made == [COUNCIL, STORM, MATCH, STORM]


def test_the_readme_states_the_rules_numbers():
    from worker.archive.identify import MAX_CLUSTER_CANDIDATES, MAX_SAME_HEADLINE, MAX_SAME_URL

    readme = " ".join((ROOT / "README.md").read_text("utf-8").split())
    assert f"A same-headline body is the same story at {SAME_STORY} or more" in readme
    assert f"a body under another headline is a wire copy at {WIRE_COPY} or more" in readme
    assert f"Bodies under {MIN_SHINGLES} shingles" in readme
    assert (
        f"at most the {MAX_SAME_HEADLINE} newest articles under its headline, the {MAX_SAME_URL} newest at its URL"
        in readme
    )
    assert f"the {MAX_CLUSTER_CANDIDATES} that share the most band keys" in readme
    assert f"({similarity.ShingleCache().limit >> 20} MB at most)" in readme
