"""Feed parsing (pure) on fixtures and on the development corpus, and the feed fetch shell."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_page import FakeCtx, not_modified, ok
from worker.errors import FetchError, ParseError
from worker.fetchers import feed
from worker.fetchers.feed import parse_feed
from worker.kinds import make_source
from worker.models import Checkpoint, RawItem, Seen, Skipped
from worker.text.dates import parse_date, utc_instant
from worker.text.lines import derive_headline, plain_text

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FEEDS = CORPUS / "feeds"
needs_corpus = pytest.mark.skipif(not FEEDS.is_dir(), reason="development corpus not found at ../shared/corpus")
CORPUS_FEEDS = sorted(FEEDS.glob("*.xml")) if FEEDS.is_dir() else []

TAG = re.compile(r"<[A-Za-z/!]")
ISO = re.compile(r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d))?")
RAW_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")


def parse_fixture(name: str, url: str = "https://host.example/feed.xml", **kw):
    return parse_feed((FIXTURES / name).read_bytes(), url, source="test", **kw)


def raw_items(items):
    return [i for i in items if isinstance(i, RawItem)]


# ---------------------------------------------------------------- fixtures, one rule each


def test_rss2_entries_hints_and_content():
    items, warnings = parse_fixture("rss2.xml")
    assert warnings == []
    first, second = raw_items(items)
    assert first.kind == "fragment" and first.source == "test"
    assert first.locator == "https://news.example.org/2024/05/council-budget"
    h = first.hints
    assert h.headline == "Council approves budget & taxes"  # tags dropped, double escaping undone
    assert h.byline == "Ana Lima and Bo Chen"
    assert h.published_at == "2024-05-07T09:30:00+02:00"  # the publisher's offset kept
    assert h.dek == "The council approved the budget."  # summary becomes the dek next to full content
    assert h.publication == "The Daily & Example" and h.lang == "en-US"  # <language>en-us</language>
    assert "<p>The council approved the budget on Tuesday" in first.content
    # relative link resolved against the feed URL; "email (Name)" author; no date stays None
    assert second.hints.url == "https://host.example/2024/05/storm"
    assert second.hints.byline == "News Desk"
    assert second.hints.published_at is None
    assert second.hints.dek is None and "storm closed the harbour" in second.content


def test_rdf_feed():
    [item] = raw_items(parse_fixture("rdf.xml")[0])
    assert item.hints.headline == "Erste Meldung über Größen"
    assert item.hints.byline == "Jörg Müller"
    assert item.hints.published_at == "2024-03-01T12:00:00+01:00"
    assert item.hints.lang == "de-DE"


def test_atom_feed_xml_base_and_content():
    first, second = raw_items(parse_fixture("atom.xml")[0])
    assert first.hints.url == "https://atom.example.org/blog/posts/premiere"  # xml:base
    assert first.hints.publication == "Le Journal"
    assert first.hints.lang == "fr-FR" and first.hints.byline == "Claire Dubois"  # xml:lang, region kept
    assert first.hints.dek == "Un résumé court."
    assert 'href="https://atom.example.org/img/x.png"' in first.content  # links in content resolved
    assert second.content == "Seulement du texte." and second.hints.published_at is None


def test_json_feed_1_1():
    items, _ = parse_fixture("jsonfeed11.json", url="https://json.example.org/feed.json")
    one, two, three, bad = items
    assert one.hints.headline == "First & foremost"
    assert one.hints.published_at == "2024-02-03T04:05:06-05:00"
    assert one.hints.byline == "Item Author" and one.hints.lang == "en-GB"
    assert one.hints.dek == "The first item." and "<b>bold</b>" in one.content
    assert two.hints.url == "https://json.example.org/two"
    assert two.hints.headline == "An untitled note about the weather today." and two.hints.headline_derived
    assert two.hints.byline == "Feed Author"  # the feed's authors when the item has none
    assert three.locator == "https://json.example.org/feed.json#3" and three.hints.url is None
    assert isinstance(bad, Skipped) and bad.locator.endswith("#4")


def test_json_feed_1_0_author():
    [item] = parse_fixture("jsonfeed1.json")[0]
    assert item.hints.byline == "Solo Writer" and item.hints.headline == "Version one item"


def test_json_without_version_is_not_a_feed():
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(b'{"items": []}', "https://x.example/f.json")


def test_truncated_feed_keeps_what_it_has_with_a_warning():
    items, warnings = parse_fixture("truncated.xml")
    assert [i.hints.headline for i in raw_items(items)][0] == "Complete item"
    assert any("not well-formed" in w for w in warnings)


def test_bom():
    [item] = raw_items(parse_fixture("bom.xml")[0])
    assert item.hints.headline == "Café opens"


def test_leading_whitespace_before_declaration():
    items, _ = parse_fixture("leading-whitespace.xml")
    assert [i.hints.headline for i in items] == ["Still parsed", "Second"]


def test_undeclared_latin1():
    [item] = raw_items(parse_fixture("latin1-undeclared.xml")[0])
    assert item.hints.headline == "L'été brûlant à Montréal"
    assert item.hints.publication == "Journal français"
    assert "Très chaud, déjà « record »" in item.content


def test_http_charset_is_used_for_undeclared_bytes():
    data = "<rss version='2.0'><channel><title>t</title><item><title>Цитата дня</title></item></channel></rss>"
    items, _ = parse_feed(data.encode("koi8-r"), "https://x.example/f", {"Content-Type": "text/xml; charset=KOI8-R"})
    assert items[0].hints.headline == "Цитата дня"


def test_duplicates_yield_once():
    items, _ = parse_fixture("duplicates.xml")
    assert [(i.hints.url, i.hints.headline) for i in items] == [
        ("https://dup.example.org/s", "Same story"),
        ("https://dup.example.org/other", "Same story"),
    ]


def test_untitled_items_get_derived_headlines():
    first, second, empty = parse_fixture("untitled.xml")[0]
    assert first.hints.headline == "Good morning readers!" and first.hints.headline_derived
    assert second.hints.headline_derived and len(second.hints.headline) <= 121
    assert second.hints.headline.endswith("and…")  # cut on a word boundary
    assert isinstance(empty, Skipped) and empty.locator == "https://host.example/feed.xml#3"


def test_not_a_feed_and_empty_documents():
    with pytest.raises(ParseError, match="not a feed"):
        parse_fixture("not-a-feed.html")
    with pytest.raises(ParseError, match="empty"):
        parse_feed(b"  \n", "https://x.example/f")


def test_bytes_that_look_like_a_path_are_never_opened():
    # feedparser.parse(bytes) would open() a local file of that name; parse_feed never lets it
    with pytest.raises(ParseError):
        parse_feed(b"/etc/passwd", "https://x.example/f")
    with pytest.raises(ParseError):
        parse_feed(str(FIXTURES / "rss2.xml").encode(), "https://x.example/f")


def test_plain_text_and_derive_headline():
    assert plain_text("<p>A &amp;amp; B</p><p>C</p>") == "A & B C"
    assert plain_text("Tom&#8217;s <b>big</b> day") == "Tom’s big day"
    assert derive_headline("The council voted on Tuesday to close the pier. More later.") == (
        "The council voted on Tuesday to close the pier."
    )
    assert derive_headline("Mr. Smith went to Washington today. Then home.") == "Mr. Smith went to Washington today."
    assert derive_headline("") is None


# ---------------------------------------------------------------- the development corpus


def _fp_entries(data: bytes):
    return feedparser.parse(io.BytesIO(data)).entries


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FEEDS, ids=lambda p: p.name)
def test_corpus_feed(path):
    data = path.read_bytes()
    url = "https://feeds.example.net/" + path.name
    items, warnings = parse_feed(data, url, source="corpus")
    assert all(isinstance(w, str) for w in warnings)
    usable = [e for e in _fp_entries(data) if e.get("title", "").strip() or e.get("summary", "").strip()]
    keys = {(e.get("link"), plain_text(e.get("title")) or None) for e in usable}
    got = raw_items(items)
    assert len(got) == len(keys) or len(got) == len(usable)
    assert len(items) <= len(_fp_entries(data))
    for item in got:
        h = item.hints
        assert item.kind == "fragment" and h.headline
        assert not TAG.search(h.headline) and not RAW_ENTITY.search(h.headline), h.headline
        assert h.url is None or re.match(r"https?://[^/]+", h.url), h.url
        assert item.locator == (h.url or item.locator)
        assert h.published_at is None or ISO.fullmatch(h.published_at), h.published_at


@needs_corpus
def test_corpus_dates_are_the_instants_feedparser_reads():
    """Entry dates are read from their text by the project's parser, offset kept: the instant is
    the one feedparser's own parser gives, and a date without a time stays a day."""
    checked = days = 0
    for path in CORPUS_FEEDS:
        for entry in _fp_entries(path.read_bytes()):
            key = next((k for k in ("published", "updated") if entry.get(k + "_parsed")), None)
            if key is None:
                continue
            theirs = time.strftime("%Y-%m-%dT%H:%M:%SZ", entry[key + "_parsed"])
            ours = parse_date(entry[key])
            assert ours is not None, (path.name, entry[key])
            if len(ours) == 10:
                assert ours == theirs[:10], (path.name, entry[key])
                days += 1
            else:
                assert utc_instant(ours) == theirs, (path.name, entry[key])
            checked += 1
    assert checked > 400 and days < 5


def _expected(path: Path):
    """(titles, links) from the reference parsers' output."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if "entries" in doc:  # feed-rs
        entries = doc["entries"]
        return [e["title"]["content"] for e in entries], [e["links"][0]["href"] for e in entries]
    entries = doc["feed"]["items"]  # rss-parser
    return [e["title"] for e in entries], [e["link"] for e in entries]


@needs_corpus
@pytest.mark.parametrize(
    "expected", sorted((FEEDS / "expected").glob("*.json")) if FEEDS.is_dir() else [], ids=lambda p: p.name
)
def test_corpus_feed_matches_reference(expected):
    name = re.sub(r"\.(feed-rs-serde|rss-parser-output)\.json$", ".xml", expected.name)
    items, _ = parse_feed((FEEDS / name).read_bytes(), "https://feeds.example.net/" + name)
    got = raw_items(items)
    titles, links = _expected(expected)
    assert len(got) == len(titles)
    assert [i.hints.headline for i in got] == [plain_text(t) for t in titles]
    assert [i.hints.url for i in got] == links


def _corpus(name):
    items, warnings = parse_feed((FEEDS / name).read_bytes(), "https://feeds.example.net/" + name)
    return raw_items(items), warnings


@needs_corpus
def test_corpus_untitled_items_have_derived_headlines():
    name = "scripting-news_rss2_untitled-items.xml"
    items, _ = _corpus(name)
    derived = [i for i in items if i.hints.headline_derived]
    untitled = [e for e in _fp_entries((FEEDS / name).read_bytes()) if not e.get("title")]
    assert len(derived) == len(untitled) > 30
    assert derived[0].hints.headline == "Good morning students and teachers!"
    assert all(len(i.hints.headline) <= 121 for i in derived)


@needs_corpus
@pytest.mark.parametrize(
    "name, word",
    [
        ("golem-de_rss2_iso-8859-1.xml", "für"),
        ("le-cercle-psy_rss2_undeclared-latin1.xml", "très"),
        ("le-cercle-psy_rss2_undeclared-latin1.xml", "criminalité"),
        ("ibash-org-ru_rss2_windows-1251.xml", "Цитата"),
        ("heise-online_rss0.9-rdf.xml", "übernimmt"),
        ("donthitsave_rss2_utf8-bom.xml", "Skipping Around"),
    ],
)
def test_corpus_encodings(name, word):
    items, _ = _corpus(name)
    text = " ".join(f"{i.hints.headline} {i.content}" for i in items)
    assert word in text
    assert "\ufffd" not in text


@needs_corpus
def test_corpus_messy_documents():
    items, warnings = _corpus("techcrunch_rss2_leading-whitespace.xml")
    assert len(items) == 20
    items, warnings = _corpus("incomplete-cdata_rss2_MALFORMED.xml")
    assert items == [] and warnings  # a feed, but nothing usable: warned, not raised
    items, _ = _corpus("insanity-industries_rss2_relative-links.xml")
    assert items[0].hints.byline == "Jonas Große Sundrup"
    assert all(i.hints.url.startswith("https://insanity.industries/post/") for i in items)


# ---------------------------------------------------------------- fetch()

FEED_URL = "https://news.example.org/feed.xml"
ACCEPTED = "application/rss+xml"


def feed_ctx(extra=None, **kw):
    routes = {FEED_URL: ok(FEED_URL, (FIXTURES / "rss2.xml").read_bytes(), etag='"v2"')}
    routes.update(extra or {})
    return FakeCtx(routes, **kw)


def test_fetch_yields_items_then_checkpoint():
    ctx = feed_ctx()
    out = list(feed.fetch(make_source(name="n", kind="feed", url=FEED_URL), ctx))
    assert [type(o) for o in out] == [RawItem, RawItem, Checkpoint]
    assert out[-1].key == "http:" + FEED_URL
    assert json.loads(out[-1].value) == {"etag": '"v2"', "last_modified": "Tue, 07 May 2024 10:00:00 GMT"}
    url, kw = ctx.http.calls[0]
    assert url == FEED_URL and kw["trusted"] is True and ACCEPTED in kw["accept"]
    assert out[1].hints.url == "https://news.example.org/2024/05/storm"  # resolved against the feed URL


def test_fetch_304_yields_nothing():
    ctx = FakeCtx({FEED_URL: not_modified(FEED_URL)})
    assert list(feed.fetch(make_source(name="n", kind="feed", url=FEED_URL), ctx)) == []


def test_fetch_warnings_go_to_stats():
    routes = {FEED_URL: ok(FEED_URL, (FIXTURES / "truncated.xml").read_bytes())}
    ctx = FakeCtx(routes)
    list(feed.fetch(make_source(name="n", kind="feed", url=FEED_URL), ctx))
    assert any("not well-formed" in w for w in ctx.stats.warnings)


def test_fetch_not_a_feed_raises():
    ctx = FakeCtx({FEED_URL: ok(FEED_URL, b"<html><body>moved</body></html>")})
    with pytest.raises(ParseError):
        list(feed.fetch(make_source(name="n", kind="feed", url=FEED_URL), ctx))


def test_follow_links_checks_archive_before_fetching():
    council = "https://news.example.org/2024/05/council-budget"
    ctx = feed_ctx({council: ok(council, b"<html>page</html>", encoding="utf-8")}, archived={"Storm closes harbour"})
    out = list(feed.fetch(make_source(name="n", kind="feed", url=FEED_URL, follow_links=True), ctx))
    page_item, archived_item, cp = out
    assert page_item.kind == "html" and page_item.content == b"<html>page</html>"
    assert page_item.hints.headline == "Council approves budget & taxes"  # feed hints kept
    assert page_item.hints.encoding == "utf-8" and page_item.hints.byline == "Ana Lima and Bo Chen"
    assert isinstance(archived_item, Seen) and archived_item.headline == "Storm closes harbour"  # a sighting
    assert archived_item.url == "https://news.example.org/2024/05/storm"
    assert "https://news.example.org/2024/05/storm" not in ctx.http.urls
    assert isinstance(cp, Checkpoint)
    assert ctx.http.calls[1][1]["trusted"] is False  # links found in a feed are untrusted


def test_follow_links_failure_keeps_the_entry():
    council = "https://news.example.org/2024/05/council-budget"
    ctx = feed_ctx({council: FetchError(council, None, "private address")})
    out = list(feed.fetch(make_source(name="n", kind="feed", url=FEED_URL, follow_links=True), ctx))
    assert [o.kind for o in out[:2]] == ["fragment", "fragment"]  # the storm page 404s in the fake
    assert any("private address" in w for w in ctx.stats.warnings)


def test_json_feed_dates_bom_and_bad_values():
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": "1",
                "title": "RFC 822 date",
                "content_text": "x",
                "date_published": "Tue, 07 May 2024 09:30:00 +0200",
            },
            {"id": "2", "title": "Broken date", "content_text": "x", "date_published": "yesterday-ish"},
            {"id": "3", "title": ["not", "a", "string"], "content_html": 42, "summary": "Fallback summary."},
        ],
    }
    data = b"\xef\xbb\xbf" + json.dumps(doc).encode()
    one, two, three = parse_feed(data, "https://j.example/feed.json")[0]
    assert one.hints.published_at == "2024-05-07T09:30:00+02:00"
    assert two.hints.published_at is None
    assert three.hints.headline == "Fallback summary." and three.hints.headline_derived


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda s: ("<rss><channel><item>" + s).encode())))
def test_parse_feed_fails_only_with_parse_error(data):
    try:
        items, warnings = parse_feed(data, "https://x.example/f")
    except ParseError:
        return
    assert all(isinstance(i, (RawItem, Skipped)) for i in items)


DEEP_FEED = (
    '{"version": "https://jsonfeed.org/version/1.1", "title": "Deep", "items": [' + "[" * 100_000 + "]" * 100_000 + "]}"
).encode()


def test_a_deeply_nested_json_feed_is_a_parse_error():
    """A RecursionError escaped parse_json_feed (issue 13, item 8): now a ParseError with a reason."""
    with pytest.raises(ParseError, match=r"not a feed \(JSON nested too deeply\)"):
        parse_feed(DEEP_FEED, "https://x.example/feed.json")


def test_a_deeply_nested_json_feed_over_http_fails_only_its_run(loopback, archive):
    from worker.fetchers.http import Http
    from worker.models import HttpSettings
    from worker.pipeline import ingest

    loopback.route("/deep.json", body=DEEP_FEED, headers={"Content-Type": "application/feed+json"})
    loopback.route(
        "/good.json", body=(FIXTURES / "jsonfeed1.json").read_bytes(), headers={"Content-Type": "application/feed+json"}
    )
    http = Http(HttpSettings(per_host_delay=0.0, retries=0, respect_robots=False))
    try:
        bad = ingest(make_source(name="deep", kind="feed", url=loopback.url("/deep.json")), archive, http)
        good = ingest(make_source(name="good", kind="feed", url=loopback.url("/good.json")), archive, http)
    finally:
        http.close()
    assert bad.status == "error" and bad.error.endswith("not a feed (JSON nested too deeply)"), bad.error
    assert (good.status, good.new) == ("ok", 1)
