"""What class and id names say about a block (worker.clean.html_names)."""

import random

from worker.clean import html_names
from worker.clean.html_names import LAYOUT, NEG, POS, STRONG, _any_of, name_kinds

LISTS = (html_names._NEGATIVE, html_names._WEAK_NEGATIVE, html_names._POSITIVE, html_names._STRONG, html_names._LAYOUT)


def test_a_prefix_tree_of_words_finds_exactly_what_a_test_of_each_word_finds():
    rng = random.Random(7)
    pieces = [w for words in LISTS for w in words] + ["-", "_", " ", "x", "co", "sha", "sign", "post"]
    for words in [*LISTS, ("share", "sharing", "sign", "sign-up", "a.b")]:
        found = _any_of(words)
        texts = ["", "a.b", "axb", "sharin", "sign_up"] + [
            "".join(rng.choice(pieces)[: rng.randint(1, 9)] for _ in range(rng.randint(1, 6))) for _ in range(3000)
        ]
        for text in texts:
            assert bool(found.search(text)) == any(w in text for w in words), (words[:3], text)


def test_class_names_read_as_before():
    assert name_kinds("") == 0
    assert name_kinds("entry-content clearfix") & STRONG
    assert name_kinds("share-buttons") & NEG and not name_kinds("share-buttons") & STRONG
    assert name_kinds("page-wrapper sidebar") == NEG | LAYOUT
    assert name_kinds("main-nav") & NEG  # a token: "nav" between "-" and the end
    assert not name_kinds("canvas") & NEG  # "nav" inside a word is not a token
    assert name_kinds("story_body") & POS
