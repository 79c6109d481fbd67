"""The plain-text article cleaner: golden fixtures, the development corpus, edge cases, properties."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.clean.text import clean_text
from worker.errors import ParseError
from worker.models import Article, Hints

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "text"
CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
NYT = CORPUS / "text" / "nyt-taliban-qala-e-naw.txt"
GOLDEN = sorted(p.stem for p in FIXTURES.glob("*.txt"))


def _hints(name: str) -> Hints | None:
    path = FIXTURES / f"{name}.hints.json"
    return Hints(**json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


# --- golden input/expected pairs ---------------------------------------------------------


def test_golden_fixtures_cover_the_variants():
    assert len(GOLDEN) >= 8
    raw = {name: (FIXTURES / f"{name}.txt").read_bytes() for name in GOLDEN}
    assert any(b"\r\n" in data for data in raw.values()), "one fixture has CRLF line ends"
    assert any(b"\x92" in data for data in raw.values()), "one fixture is Windows-1252 bytes"


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(name: str):
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    article = clean_text((FIXTURES / f"{name}.txt").read_bytes(), hints=_hints(name), source="fixtures")
    assert dataclasses.asdict(article) == expected


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_body_shape(name: str):
    article = clean_text((FIXTURES / f"{name}.txt").read_bytes(), hints=_hints(name))
    paras = article.body.split("\n\n")
    assert all(p and p == p.strip() and "\n" not in p for p in paras)
    assert not any(p.startswith(("Credit", "Photo:", "Image:", "Photograph:")) for p in paras)
    assert article.headline not in paras


# --- the development corpus --------------------------------------------------------------


@pytest.fixture(scope="module")
def nyt() -> Article:
    if not NYT.is_file():
        pytest.skip("development corpus not found at ../shared/corpus")
    return clean_text(NYT.read_bytes(), source="corpus")


def test_corpus_header(nyt: Article):
    assert nyt.headline == "Taliban Attack a Provincial Capital in Afghanistan’s North, Freeing Prisoners"
    assert nyt.byline == "Thomas Gibbons-Neff"
    assert nyt.publication == "The New York Times"
    assert nyt.dek == (
        "Continuing their offensive, the Taliban forces seemed poised to overrun the city, "
        "though Afghan airstrikes slowed the assault."
    )
    assert nyt.dateline == "KABUL, Afghanistan"
    assert nyt.published_at is None
    assert nyt.headline_derived is False
    assert nyt.source == "corpus"


def test_corpus_body(nyt: Article):
    paras = nyt.body.split("\n\n")
    assert nyt.body.startswith("The Taliban pushed their way into a provincial capital")
    assert paras[-1].startswith("Thomas Gibbons-Neff reported from Kabul")
    assert not any(p.startswith("Credit") for p in paras)
    assert "Afghan soldiers at the front line" not in nyt.body
    assert "An Afghan civilian carring a wounded child" not in nyt.body
    assert nyt.headline not in nyt.body
    assert "\n\n\n" not in nyt.body and "\u00a0" not in nyt.body
    assert all(p.strip() == p and p for p in paras)


def test_corpus_as_text_and_crlf_agree(nyt: Article):
    text = NYT.read_text(encoding="utf-8")
    assert clean_text(text, source="corpus") == nyt
    assert clean_text(text.replace("\n", "\r\n").encode("utf-8"), source="corpus") == nyt


# --- header variants ---------------------------------------------------------------------

BODY = "WASHINGTON — The Senate passed the bill on Tuesday after a long debate.\n\nIt now goes to the House."


@pytest.mark.parametrize(
    ("line", "byline"),
    [
        ("By Ana Ruiz", "Ana Ruiz"),
        ("by Ana Ruiz and Bo Chen", "Ana Ruiz and Bo Chen"),
        ("Ana Ruiz, Bo Chen and Cy Dale", "Ana Ruiz, Bo Chen and Cy Dale"),
        ("Ana Ruiz, Bo Chen, and Cy Dale", "Ana Ruiz, Bo Chen and Cy Dale"),
        ("By Ana Ruiz & Bo Chen", "Ana Ruiz and Bo Chen"),
        ("Ana Ruiz and Bo Chen", "Ana Ruiz and Bo Chen"),
        ("Ana Ruiz\u00a0and\u00a0", "Ana Ruiz"),
        ("By Ana Ruiz,", "Ana Ruiz"),
        ("By Ludwig van Beethoven", "Ludwig van Beethoven"),
    ],
)
def test_bylines(line: str, byline: str):
    article = clean_text(f"Senate Passes the Bill\n\n{line}\n\n{BODY}")
    assert article.byline == byline
    assert article.body.startswith("The Senate passed")


@pytest.mark.parametrize(
    ("first", "dateline", "publication"),
    [
        ("WASHINGTON — The Senate", "WASHINGTON", None),
        ("LONDON (Reuters) - The Senate", "LONDON", "Reuters"),
        ("PARIS, France —  The Senate", "PARIS, France", None),
        ("NEW YORK – The Senate", "NEW YORK", None),
        ("WASHINGTON, March 3 (AP) — The Senate", "WASHINGTON", "AP"),
        ("PORTSMOUTH, England, March 3 — The Senate", "PORTSMOUTH, England", None),
        ("The Senate", None, None),
    ],
)
def test_datelines(first: str, dateline: str | None, publication: str | None):
    article = clean_text(f"Senate Passes the Bill\n\nBy Ana Ruiz\n\n{first} passed the bill on Tuesday.\n\nMore.")
    assert article.dateline == dateline
    assert article.publication == publication
    assert article.body.startswith("The Senate passed the bill")


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("July 7, 2021", "2021-07-07"),
        ("Published July 7, 2021 Updated July 8, 2021", "2021-07-07"),
        ("2021-07-07", "2021-07-07"),
        ("Wednesday, 7 July 2021", "2021-07-07"),
        ("July 7, 2021, 10:30 a.m. ET", "2021-07-07T10:30:00-04:00"),
        ("2021-07-07T16:30:00+02:00", "2021-07-07T16:30:00+02:00"),
        ("Jan. 5, 2022 9:15 PM UTC", "2022-01-05T21:15:00Z"),
        ("July 7, 2021 10:30", "2021-07-07"),
    ],
)
def test_date_lines(line: str, iso: str):
    article = clean_text(f"Senate Passes the Bill\n\nBy Ana Ruiz\n\n{line}\n\n{BODY}")
    assert article.published_at == iso
    assert article.byline == "Ana Ruiz"
    assert line not in article.body


def test_no_date_is_never_invented():
    assert clean_text(f"Senate Passes the Bill\n\n{BODY}").published_at is None
    assert clean_text(f"Senate Passes the Bill\n\nJuly 32, 2021\n\n{BODY}").published_at is None


def test_lede_without_signal_stays_body():
    text = "Senate Passes the Bill\n\nBy Ana Ruiz\n\nThe Senate passed the bill on Tuesday.\n\nIt goes to the House."
    article = clean_text(text)
    assert article.dek is None
    assert article.body == "The Senate passed the bill on Tuesday.\n\nIt goes to the House."


def test_dek_before_byline():
    text = "Senate Passes the Bill\n\nA vote that took months.\n\nBy Ana Ruiz\n\nThe Senate passed it."
    article = clean_text(text)
    assert (article.dek, article.byline, article.body) == (
        "A vote that took months.",
        "Ana Ruiz",
        "The Senate passed it.",
    )


def test_credit_after_header_line_keeps_the_header():
    article = clean_text("Senate Passes the Bill\n\nBy Ana Ruiz\nCredit…Pool photo\n\nThe Senate passed it.\n\nMore.")
    assert article.byline == "Ana Ruiz"
    assert article.body == "The Senate passed it.\n\nMore."


# --- headline derivation and hints -------------------------------------------------------

LONG = "The council voted " + "again and again " * 20 + "to approve the plan. Work starts soon."


def test_derived_headline_from_long_first_line():
    article = clean_text(LONG + "\n\nA second paragraph.")
    assert article.headline_derived is True
    assert len(article.headline) <= 121 and article.headline.endswith("…")
    assert LONG.startswith(article.headline[:-1])
    assert article.body.startswith("The council voted")


def test_single_paragraph_derives_headline():
    article = clean_text("Rain is expected on Sunday. Bring an umbrella.")
    assert (article.headline, article.headline_derived) == ("Rain is expected on Sunday.", True)
    assert article.body == "Rain is expected on Sunday. Bring an umbrella."


def test_hint_headline_when_text_has_none():
    hints = Hints(headline="Council Approves Plan", headline_derived=False, url=" https://example.org/a ", lang="en")
    article = clean_text(LONG, hints=hints, source="inbox")
    assert (article.headline, article.headline_derived) == ("Council Approves Plan", False)
    assert (article.url, article.lang, article.source) == ("https://example.org/a", "en", "inbox")


def test_text_wins_over_hints():
    hints = Hints(headline="Other", byline="Someone Else", publication="Other Paper", published_at="2020-01-01")
    article = clean_text(
        f"Senate Passes the Bill\n\nBy Ana Ruiz\n\nThe Guardian\n\nJuly 7, 2021\n\n{BODY}", hints=hints
    )
    assert (article.headline, article.byline, article.publication, article.published_at) == (
        "Senate Passes the Bill", "Ana Ruiz", "The Guardian", "2021-07-07",
    )  # fmt: skip


def test_cp1252_bytes():
    text = (
        "Officials\u2019 \u201cplan\u201d Fails\n\nBy Chlo\u00e9 Martin\n\n"
        "The mayor\u2019s office \u2014 again \u2014 said no."
    )
    article = clean_text(text.encode("cp1252"))
    assert article.headline == "Officials’ “plan” Fails"
    assert article.byline == "Chloé Martin"
    assert article.body == "The mayor’s office — again — said no."


def test_output_is_nfc_without_invisibles():
    article = clean_text("Cafe\u0301 Opens\u200b\n\nThe cafe\u0301\u00a0\u00a0opened\u00ad today.")
    assert article.headline == "Café Opens"
    assert article.body == "The café opened today."


def test_a_little_junk_is_dropped_and_the_text_kept():
    article = clean_text("Senate Passes the Bill\n\nThe bill \ud800passed\x07 on a vote of 60 to 40 today.")
    assert article.body == "The bill passed on a vote of 60 to 40 today."


# --- not an article ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("", "empty"),
        (b"", "empty"),
        (" \n\t\r\n \u00a0\u200b", "empty"),
        (b"  \r\n\r\n ", "empty"),
        (b"GIF89a\x01\x00\x01\x00\x00\xff\x00,", "binary"),
        (bytes(range(256)) * 4, "binary"),
        ("Headline\x00 with NUL", "binary"),
        ("Senate Passes the Bill\n\n" + "\x01\x02\x03\x7f" * 40 + " The bill passed.", "mostly non-text"),
        ("Senate Passes the Bill\n\nBy Ana Ruiz\n\nThe New York Times", "no body"),
        ("Credit…Jane Smith\n\nPhoto: Sam Lee", "no body"),
    ],
)
def test_not_an_article(data: str | bytes, reason: str):
    with pytest.raises(ParseError, match=reason):
        clean_text(data)


# --- properties --------------------------------------------------------------------------

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(data: str | bytes) -> None:
    try:
        article = clean_text(data)
    except ParseError:
        return
    assert isinstance(article, Article)
    assert article.headline and article.body
    assert "\n\n\n" not in article.body and article.body == article.body.strip()


@FAST
@given(st.text())
def test_any_text_is_an_article_or_a_parse_error(text: str):
    _check(text)


@FAST
@given(st.binary())
def test_any_bytes_are_an_article_or_a_parse_error(data: bytes):
    _check(data)


LINES = st.sampled_from(
    ["Senate Passes the Bill", "By Ana Ruiz and", "The New York Times", "July 7, 2021", "Credit…Jane Smith",
     "Photo: X", "WASHINGTON — Votes were cast.", "A caption.", "", "", "and more text", "\u00a0", "Advertisement"]
)  # fmt: skip


@FAST
@given(st.lists(st.one_of(LINES, st.text(max_size=40)), max_size=25), st.sampled_from(["\n", "\r\n", "\r"]))
def test_article_shaped_noise(lines: list[str], newline: str):
    _check(newline.join(lines))
