"""clean_html: golden page/expected pairs, robustness on any input, metadata helpers."""

from __future__ import annotations

import codecs
import json
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import scoring

from worker.clean.fragment import clean_fragment
from worker.clean.html import clean_html
from worker.clean.html_byline import clean_byline
from worker.clean.jsonld import read_linked_data
from worker.clean.metadata import Meta, choose_headline, language, published_from
from worker.errors import ParseError
from worker.models import Article, Hints
from worker.text.decode import utf8

FIXTURES = Path(__file__).parent / "fixtures" / "html"
CASES = sorted(p.name.removesuffix(".expected.json") for p in FIXTURES.glob("*.expected.json"))
ARTICLE_FIELDS = {f.name for f in fields(Article)}


def _run(name: str) -> tuple[Article | None, dict]:
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text("utf-8"))
    hints = Hints(**expected["hints"]) if "hints" in expected else None
    data = (FIXTURES / f"{name}.html").read_bytes()
    return clean_html(data, expected.get("given_url"), hints=hints), expected


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    article, expected = _run(name)
    if expected.get("none"):
        assert article is None
        return
    assert article is not None
    for key, value in expected.items():
        if key in ARTICLE_FIELDS:
            assert getattr(article, key) == value, key
    for snippet in expected.get("body_contains", []):
        assert snippet in article.body
    for snippet in expected.get("body_excludes", []):
        assert snippet not in article.body


def test_golden_cases_exist():
    assert len(CASES) >= 10


def test_boilerplate_never_reaches_the_body():
    article, _ = _run("jsonld_graph")
    for junk in (
        "cookies",
        "Home",
        "Share on Facebook",
        "Photo:",
        "Advertisement",
        "injected",
        "JavaScript",
        "svg label",
        "Related",
        "Ferry fares",
        "Sign up",
        "Subscribe",
        "comments",
        "It took them",
        "Most read",
        "All rights reserved",
        "Do not read me",
        "By Maria",
        "14 June 2021",
    ):
        assert junk not in article.body, junk


def test_body_text_is_normalized():
    article, _ = _run("opengraph_meta")
    assert "\u00ad" not in article.body and "\u200b" not in article.body and "\u00a0" not in article.body
    assert "&amp;" not in article.body and "& private donors" in article.body
    assert "\n\n\n" not in article.body


def test_bytes_and_str_agree():
    data = (FIXTURES / "jsonld_graph.html").read_bytes()
    assert clean_html(data) == clean_html(data.decode("utf-8"))
    sentence = "Caf\u00e9 \u2019quotes\u2019 and \U0001f600 words of the article, one after another. " * 8
    deep = "<html><body>" + "<div>" * 300 + f"<p>{sentence}</p>" + "</div>" * 300 + "</body></html>"
    for html in (
        deep,
        f"<html><body><div><p>\x00{sentence}</p><p>{sentence}</p></div></body></html>",
        f"\ufeff<?xml version='1.0' encoding='iso-8859-1'?><html><body><p>{sentence}</p></body></html>",
        f"\x00<?xml version='1.0' encoding='iso-8859-1'?><html><body><p>{sentence}</p></body></html>",
    ):
        assert clean_html(html.encode("utf-8")) == clean_html(html.lstrip("\ufeff")) is not None


def test_utf8_bytes_are_checked_without_a_copy():
    assert utf8(b"plain ascii") == b"plain ascii"
    assert utf8(codecs.BOM_UTF8 + "caf\u00e9".encode()) == "caf\u00e9".encode()
    across = b"a" * ((1 << 16) - 1) + "\u20ac".encode() * 3  # a character split by the slices
    assert utf8(across) == across
    assert utf8(across[:-1]) is None  # cut in the middle of a character
    assert utf8("caf\u00e9".encode("cp1252")) is None
    assert utf8(codecs.BOM_UTF16_LE + "hi".encode("utf-16-le")) is None


def test_http_charset_hint_decides_the_encoding():
    data = (FIXTURES / "cp1252.html").read_bytes().replace(b"windows-1252", b"utf-8")
    article = clean_html(data, hints=Hints(encoding="cp1252"))
    assert article is not None and "café" in article.body and "€2,000" in article.body


def test_utf8_page_that_still_declares_a_single_byte_charset():
    html = (
        '<html><head><meta charset="iso-8859-15"><title>Caf\u00e9 del Mar</title></head><body><div>'
        + "".join(
            f"<p>El caf\u00e9 abri\u00f3 sus puertas a {n} kil\u00f3metros de Lyon, con m\u00fasica.</p>"
            for n in range(70, 74)
        )
        + "</div></body></html>"
    )
    for declared in (None, "ISO-8859-1"):
        article = clean_html(html.encode("utf-8"), hints=Hints(encoding=declared))
        assert "kil\u00f3metros" in article.body and article.headline == "Caf\u00e9 del Mar"
    latin = clean_html(html.encode("iso-8859-15"))
    assert "kil\u00f3metros" in latin.body


def test_page_metadata_wins_over_hints():
    data = (FIXTURES / "jsonld_graph.html").read_bytes()
    article = clean_html(data, hints=Hints(headline="Feed title", byline="Feed Author", publication="Feed"))
    assert article.headline == "Harbour bridge reopens after two years of repairs"
    assert article.byline == "Maria Lopez and Tom Becker"
    assert article.publication == "The Coastal Times"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html></html>",
        "<html><body><p>Too short.</p></body></html>",
        b"",
        b"\x00\x00",
        "<?xml version='1.0' encoding='utf-8'?><html/>",
    ],
)
def test_no_article(html):
    assert clean_html(html) is None


def test_wrong_type_is_a_parse_error():
    with pytest.raises(ParseError):
        clean_html(12345)  # type: ignore[arg-type]


def test_a_cleaner_bug_is_a_parse_error_logged_with_its_traceback(monkeypatch):
    import io
    import logging

    import structlog

    from worker import log
    from worker.clean import html_select

    def broken(root, stats):
        return 1 / 0

    out, root, config = io.StringIO(), logging.getLogger(), structlog.get_config()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(html_select, "choose_container", broken)
    log.setup("json", "debug", stream=out)
    try:
        with pytest.raises(ParseError, match="ZeroDivisionError"):
            clean_html((FIXTURES / "jsonld_graph.html").read_bytes(), "https://x.example/a")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)
    [line] = [json.loads(x) for x in out.getvalue().splitlines() if '"clean_failed"' in x]
    assert line["level"] == "debug" and line["url"] == "https://x.example/a"
    assert "ZeroDivisionError" in line["error"]
    assert "Traceback" in line["exception"] and "in broken" in line["exception"]


def test_headline_from_the_body_when_nothing_names_it():
    article, _ = _run("hints_fill")
    bare = clean_html((FIXTURES / "hints_fill.html").read_bytes())
    assert article.headline_derived is False
    assert bare.headline_derived is True and bare.headline.startswith("The regional court ruled")


def test_control_characters_and_lone_surrogates_keep_the_text():
    sentence = "Words of the article, one after another. " * 8
    for junk in ("\ud800", "\x00", "\x07", "\x0b", "\ufffe"):
        article = clean_html(f"<html><body><div><p>{junk}{sentence}</p><script>x</script>{junk} {sentence}</div>")
        assert article is not None and article.body.count("Words of the article") == 16, repr(junk)


def test_deeply_nested_document_does_not_crash():
    depth = 10_000
    html = (
        "<html><head><title>Deep</title></head><body>"
        + "<div>" * depth
        + "<p>"
        + "Words in a sentence, " * 30
        + "end.</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    limit = sys.getrecursionlimit()
    article = clean_html(html)
    assert sys.getrecursionlimit() == limit
    assert article is not None and article.body.startswith("Words in a sentence")


def test_deeply_nested_inline_markup_is_read():
    text = "The river rose through the night, and by morning the old bridge was closed to traffic. " * 4
    html = (
        "<html><body><h1>River closes the old bridge</h1><p>"
        + "<span><b><i><font>" * 3000
        + text
        + "</p></body></html>"
    )
    article = clean_html(html)
    assert article is not None and article.headline == "River closes the old bridge"
    assert article.body == text.strip()
    assert clean_html(html.encode("utf-8")) == article
    # loose words nested that deep, with no paragraph or headline, are no article (and no crash)
    assert clean_html("<html><body>" + "<span><b><i><font>" * 3000 + "Text, " * 100 + "</body></html>") is None


_TAGS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='article-body'>",
        "</div>",
        "<br>",
        "<script>",
        "</script>",
        "<h1>",
        "</h1>",
        "<a href='x'>",
        "</a>",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<li>",
        "<ul>",
        "<meta charset='utf-16'>",
        "<?xml version='1.0' encoding='latin-1'?>",
        "&amp;",
        "&#0;",
        '<script type=\'application/ld+json\'>{"@type":"NewsArticle","headline":',
        "<time datetime='2020-13-45T99:99'>",
        "<table><tr><td>",
        "\x00",
        "\ufeff",
        "<title>",
    ]
)
_HTML = st.lists(st.one_of(_TAGS, st.text(max_size=80)), max_size=60).map("".join)


def _check(value):
    try:
        result = clean_html(value)
    except ParseError as exc:
        assert exc.__cause__ is None, f"an unforeseen failure: {exc.__cause__!r}"
        return
    assert result is None or isinstance(result, Article)
    if result is not None:
        assert result.headline and result.body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HTML)
def test_any_markup_never_raises(html):
    _check(html)
    _check(html.encode("utf-8", "surrogatepass"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HTML)
def test_any_fragment_never_raises(html):
    try:
        result = clean_fragment(html, Hints())
    except ParseError as exc:
        assert exc.__cause__ is None, f"an unforeseen failure: {exc.__cause__!r}"
        return
    assert result.headline and result.body


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_never_raise(data):
    _check(data)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500))
def test_any_text_never_raises(text):
    _check(text)


# ---------------------------------------------------------------- dates and bylines


@pytest.mark.parametrize(
    "raw, byline",
    [
        ("By Jane Doe", "Jane Doe"),
        ("By Jane Doe, Staff Writer", "Jane Doe"),
        ("By Jane Doe and John Roe", "Jane Doe and John Roe"),
        ("Von Anna Schmidt und Peter Müller", "Anna Schmidt and Peter Müller"),
        ("John Walk - January 10, 2020", "John Walk"),
        ("Jane Doe | Updated 3:45 PM", "Jane Doe"),
        (["Jane Doe", "jane doe", "https://facebook.com/jane"], "Jane Doe"),
        ("By Jane Doe Updated 5:00 PM EST, Mon March 3, 2020", "Jane Doe"),
        ("Jane Doe on Monday, May 4, 2020", "Jane Doe"),
        ("By Theresa May", "Theresa May"),
        ("Claire Martin", "Claire Martin"),
        ("Jane Doe Jane Doe", "Jane Doe"),
        ("John Smith, Reuters", "John Smith"),
        ("Jane Doe and John Roe, CNN", "Jane Doe and John Roe"),
        ("Por María García | EL PAÍS", "María García"),
        ("By The Associated Press", "The Associated Press"),
        ("严玉洁", "严玉洁"),
        ("", None),
    ],
)
def test_clean_byline(raw, byline):
    assert clean_byline(raw) == byline


# ---------------------------------------------------------------- the benchmark scorer


def test_scorer_basics():
    text = "one two three four five six seven eight"
    assert scoring.shingle_counts(text, text) == (1.0, 0.0, 0.0)
    assert scoring.prf([scoring.shingle_counts(text, text)]) == (1.0, 1.0, 1.0)
    tp, fp, fn = scoring.shingle_counts(text, text + " nine ten")
    assert fn == 0 and fp > 0
    assert scoring.start_recall("one two three four five", text) == 1.0
    assert scoring.snippet_hits("a  b\nc", ["a b c"], ["zzz"]) == (1, 1)
    assert scoring.headline_ok("Title of the story", "Title of the Story")
    assert scoring.headline_ok("Title of the story - Site", "Title of the story")
    assert scoring.byline_ok("Anna und Ben", "Ben, Anna")
    assert scoring.date_ok("2020-01-02", "2020-01-02T10:00:00Z")
    assert scoring.date_ok("2018-06-19", "2018-06-18T20:50:00Z")  # 05:50 in Tokyo
    assert not scoring.date_ok("2018-06-19", "2018-06-18")


@pytest.mark.parametrize(
    "meta, site, host, headline",
    [
        # the social title disagrees; <h1> and <title> agree
        (
            Meta(
                tags={"og:title": "You will not believe this"}, title="Bridge reopens | Daily", h1s=["Bridge reopens"]
            ),
            "Daily",
            "daily.example",
            "Bridge reopens",
        ),
        # a logo in <h1> is the site, not the headline
        (
            Meta(title="Diverse contributors wanted \u2014 The Example Blog", h1s=["Example.com"]),
            "The Example Blog",
            "example.com",
            "Diverse contributors wanted",
        ),
        # no site name known: the longest piece of the title
        (
            Meta(title="Jane's Digital Home | A Journey to Python 3 and Back"),
            None,
            "jane.example",
            "A Journey to Python 3 and Back",
        ),
        # a full-width colon sets off the site name only
        (
            Meta(title="\u52d5\u753b\uff1a\u30cb\u30e5\u30fc\u30b9\uff1a\u65e5\u672c\u7d4c\u6e08\u65b0\u805e"),
            "\u65e5\u672c\u7d4c\u6e08\u65b0\u805e",
            None,
            "\u52d5\u753b\uff1a\u30cb\u30e5\u30fc\u30b9",
        ),
        # JSON-LD and <h1> agree against a rewritten <title>
        (
            Meta(
                ld={"headline": "Gates: being friendly is not being friends"},
                title="Gates: you can be friendly without being friends | CNN",
                h1s=["Gates: being friendly is not being friends"],
            ),
            "CNN",
            "cnn.com",
            "Gates: being friendly is not being friends",
        ),
        # a dash inside the headline is not a separator; the site name after a bar is
        (
            Meta(title="Covid-19 - what you need to know | BBC News"),
            "BBC News",
            "bbc.co.uk",
            "Covid-19 - what you need to know",
        ),
        (Meta(title="Covid-19 - what you need to know"), None, "bbc.co.uk", "Covid-19 - what you need to know"),
        (Meta(title="Headline words here | Politics | The Times"), "The Times", None, "Headline words here"),
        # a site name before the headline, and the microdata headline agreeing with <h1>
        (
            Meta(title="Valley Weekly - Orchard harvest starts early", h1s=["Orchard harvest starts early"]),
            None,
            None,
            "Orchard harvest starts early",
        ),
        (Meta(), None, None, None),
    ],
)
def test_choose_headline(meta, site, host, headline):
    assert choose_headline(meta, site, host) == headline


def test_json_ld_graph_and_lists():
    graph = (
        '{"@graph": [{"@type": "WebPage"}, {"@type": ["NewsArticle"], "headline": "H", '
        '"publisher": {"@type": "Organization", "name": "P"}}]}'
    )
    linked = read_linked_data(["<!-- " + graph + " -->", "not json", "[1, 2]"])
    assert linked.article["headline"] == "H" and linked.publisher == "P"
    recipe = read_linked_data(['{"@type": "Recipe"}'])
    assert (recipe.article, recipe.publisher) == (None, None)
    # hand-written slips: a trailing comma, two objects glued together
    assert read_linked_data(['{"@type": "NewsArticle", "headline": "T",}']).article["headline"] == "T"
    glued = read_linked_data(['{"@type": "Organization", "name": "P"}{"@type": "BlogPosting", "headline": "G"}'])
    assert (glued.article, glued.publisher) == ({"@type": "BlogPosting", "headline": "G"}, "P")


@pytest.mark.parametrize(
    "raw, lang",
    [("en-gb", "en-GB"), ("de_DE", "de-DE"), ("fr", "fr"), ("zh-Hant", "zh-Hant"), ("", None), ("12", None)],
)
def test_language(raw, lang):
    assert language(Meta(lang=raw)) == lang


_MORE = "<p>" + "The committee heard witnesses for most of the day, and the vote came late at night. " * 3 + "</p>"


@pytest.mark.parametrize(
    "opening, dateline, first",
    [
        ("WASHINGTON (AP) \u2014 The Senate voted.", "WASHINGTON", "The Senate voted."),
        ("NEW YORK, N.Y. -- Stocks fell.", "NEW YORK, N.Y.", "Stocks fell."),
        ("WASHINGTON, March 3 (AP) \u2014 The Senate voted.", "WASHINGTON", "The Senate voted."),
        ("PORTSMOUTH, England, March 3 \u2014 The navy sailed.", "PORTSMOUTH, England", "The navy sailed."),
        ("The Senate voted \u2014 finally.", None, "The Senate voted \u2014 finally."),
    ],
)
def test_dateline_is_taken_out_of_the_body(opening, dateline, first):
    article = clean_html(
        f"<html><body><article><h1>Senate votes on the bill</h1><p>{opening}</p>{_MORE}</article></body></html>"
    )
    assert article.dateline == dateline
    assert article.body.split("\n\n")[0] == first


@pytest.mark.parametrize(
    "meta, times, url, published",
    [
        (
            Meta(ld={"datePublished": "2020-01-03T09:48:24Z"}, tags={"date": "2020-01-06"}),
            ([], []),
            None,
            "2020-01-03T09:48:24Z",
        ),
        # a day is completed by a source that gives the time and zone of it
        (
            Meta(ld={"datePublished": "2023-11-17"}, tags={"article:published_time": "2023-11-17T08:00:00+08:00"}),
            ([], []),
            None,
            "2023-11-17T08:00:00+08:00",
        ),
        # a URL's full date wins over tags that disagree by more than a day
        (
            Meta(ld={"datePublished": "2019-06-17T18:28:00+0200"}),
            ([], []),
            "https://x.example/home/2017/7/12/story",
            "2017-07-12",
        ),
        (
            Meta(ld={"datePublished": "2019-06-17T23:28:00-0200"}),
            ([], []),
            "https://x.example/2019/06/17/story",
            "2019-06-17T23:28:00-02:00",
        ),
        (Meta(), (["Posted on 2 May 2017"], ["2020-01-01"]), None, "2017-05-02"),
        (Meta(), ([], ["2020-01-01"]), "https://x.example/2018/04/09/story", "2018-04-09"),
        (Meta(), ([], []), None, None),
    ],
)
def test_published_from(meta, times, url, published):
    assert published_from(meta, times, url) == published


def test_clean_fragment_takes_metadata_from_hints():
    hints = Hints(
        headline="Ferry fares rise",
        byline="Feed Author",
        published_at="2022-01-02T03:04:05Z",
        url="https://x.example/ferry",
        publication="Coast News",
        lang="en",
    )
    html = (
        "<p>Ferry fares will rise by 4% in March.</p><div class='share'><a href='#'>Share</a></div>"
        "<p>The operator blamed fuel costs.</p><script>x()</script>"
    )
    article = clean_fragment(html, hints)
    assert article.body == "Ferry fares will rise by 4% in March.\n\nThe operator blamed fuel costs."
    assert (article.headline, article.byline, article.url, article.lang) == (
        "Ferry fares rise",
        "Feed Author",
        "https://x.example/ferry",
        "en",
    )
    assert clean_fragment("   ", hints).body == ""  # a title-only feed item is still an article
    with pytest.raises(ParseError):
        clean_fragment("   ", Hints())
    assert clean_fragment(b"<p>Only text here.</p>", Hints()).headline_derived is True
