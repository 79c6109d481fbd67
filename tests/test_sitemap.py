"""Sitemap parsing (pure, secure) and the sitemap fetch shell."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_page import FakeCtx, not_modified, ok
from worker.errors import FetchError, ParseError
from worker.fetchers import sitemap
from worker.fetchers.sitemap import SitemapEntry, gunzip, parse_sitemap
from worker.kinds import make_source
from worker.models import Checkpoint, Hints, RawItem, Skipped

FIXTURES = Path(__file__).parent / "fixtures" / "sitemaps"
BASE = "https://www.example.com/sitemap.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_index():
    kind, entries = parse_sitemap(fixture("index.xml"), BASE)
    assert kind == "index"
    assert entries == [
        SitemapEntry("https://www.example.com/sitemap-news.xml", "2024-05-07T10:00:00+02:00", None, None),
        SitemapEntry("https://www.example.com/sitemap-pages.xml.gz", "2024-05-01", None, None),
        SitemapEntry("https://www.example.com/sitemap-2019.xml", "2019-01-01", None, None),
    ]


def test_urlset_relative_padded_and_bad_locs():
    kind, entries = parse_sitemap(fixture("urlset.xml"), BASE)
    assert kind == "urlset"
    assert [e.loc for e in entries] == [
        "https://www.example.com/articles/one",
        "https://www.example.com/articles/two",
        "https://www.example.com/articles/three",
        "https://www.example.com/articles/four",
    ]  # whitespace trimmed, relative resolved, javascript: dropped
    assert [e.lastmod for e in entries] == ["2024-05-02T08:00:00Z", "2023-12-31", None, None]


def test_gzipped_urlset_equals_plain():
    assert fixture("urlset.xml.gz")[:2] == b"\x1f\x8b"
    assert parse_sitemap(fixture("urlset.xml.gz"), BASE) == parse_sitemap(fixture("urlset.xml"), BASE)


def test_news_sitemap():
    kind, entries = parse_sitemap(fixture("news.xml"), BASE)
    assert entries[0] == SitemapEntry(
        "https://www.example.com/news/council-budget",
        None,
        "Council approves budget & taxes",
        "2024-05-07T09:30:00+02:00",
        "The Example Times",
        "en",
    )
    assert entries[1].news_date == "2024-05-06"


def test_gzip_bomb_is_capped():
    bomb = gzip.compress(b"\0" * (2 * 1024 * 1024))
    with pytest.raises(ParseError, match="larger than"):
        gunzip(bomb, limit=1024 * 1024)
    assert gunzip(gzip.compress(b"abc")) == b"abc"
    with pytest.raises(ParseError):
        gunzip(b"\x1f\x8b not really gzip")


def test_billion_laughs_does_not_expand():
    start = time.monotonic()
    try:
        _, entries = parse_sitemap(fixture("billion-laughs.xml"), BASE)
    except ParseError as err:
        assert "refused" in str(err) or "not a sitemap" in str(err)
    else:
        assert all("lol" not in e.loc and len(e.loc) < 200 for e in entries)
    assert time.monotonic() - start < 5


def test_external_entities_are_not_read():
    _, entries = parse_sitemap(fixture("xxe.xml"), BASE)
    assert entries == [SitemapEntry("https://www.example.com/safe", None, None, None)]
    assert not any("root:" in e.loc for e in entries)


def test_bare_ampersands_and_text_sitemaps():
    _, entries = parse_sitemap(b"<urlset><url><loc>https://a.example/?a=1&b=2</loc></url></urlset>", BASE)
    assert entries[0].loc == "https://a.example/?a=1&b=2"
    kind, entries = parse_sitemap(b"https://a.example/1\n\nhttps://a.example/2\n", BASE)
    assert kind == "urlset" and [e.loc for e in entries] == ["https://a.example/1", "https://a.example/2"]


@pytest.mark.parametrize("data", [b"", b"<html><body>hi</body></html>", b"just words"])
def test_not_a_sitemap(data):
    with pytest.raises(ParseError):
        parse_sitemap(data, BASE)


# ---------------------------------------------------------------- fetch()

INDEX = "https://www.example.com/sitemap_index.xml"
NEWS = "https://www.example.com/sitemap-news.xml"
PAGES = "https://www.example.com/sitemap-pages.xml.gz"
OLD = "https://www.example.com/sitemap-2019.xml"
ART = "https://www.example.com/articles/"


def routes(**over):
    r = {
        INDEX: ok(INDEX, fixture("index.xml"), etag='"idx"'),
        NEWS: ok(NEWS, fixture("news.xml"), etag='"news"'),
        PAGES: ok(PAGES, fixture("urlset.xml.gz"), etag='"pages"'),
        "https://www.example.com/news/council-budget": ok(
            "https://www.example.com/news/council-budget", b"<html>c</html>"
        ),
        "https://www.example.com/news/storm": ok("https://www.example.com/news/storm", b"<html>s</html>"),
        ART + "one": ok(ART + "one", b"<html>1</html>"),
        ART + "two": FetchError(ART + "two", 500, "Server Error"),
        ART + "three": not_modified(ART + "three"),
        ART + "four": ok(ART + "four", b"<html>4</html>"),
    }
    r.update(over)
    return r


def test_fetch_index_follows_children_filters_and_checkpoints():
    ctx = FakeCtx(routes(), archived={"Storm closes harbour"})
    src = make_source(name="sm", kind="sitemap", url=INDEX, since="2024-01-01")
    out = list(sitemap.fetch(src, ctx))
    assert OLD not in ctx.http.urls  # lastmod before since: not followed
    assert "https://www.example.com/news/storm" not in ctx.http.urls  # archived headline: not fetched
    assert ART + "two" not in ctx.http.urls  # lastmod before since
    kinds = [(type(o).__name__, getattr(o, "locator", getattr(o, "key", None))) for o in out]
    assert kinds == [
        ("RawItem", "https://www.example.com/news/council-budget"),
        ("Checkpoint", "http:https://www.example.com/news/council-budget"),
        ("Checkpoint", "http:" + NEWS),
        ("RawItem", ART + "one"),
        ("Checkpoint", "http:" + ART + "one"),
        # two: lastmod 2023-12-31 < since, not fetched; three: 304; four: unreadable lastmod kept
        ("RawItem", ART + "four"),
        ("Checkpoint", "http:" + ART + "four"),
        ("Checkpoint", "http:" + PAGES),
        ("Checkpoint", "http:" + INDEX),
    ]
    news_item = out[0]
    assert news_item.kind == "html"
    assert news_item.hints == Hints(
        headline="Council approves budget & taxes",
        published_at="2024-05-07T09:30:00+02:00",
        publication="The Example Times",
        lang="en",
        url="https://www.example.com/news/council-budget",
    )
    trust = {u: kw["trusted"] for u, kw in ctx.http.calls}
    assert trust[INDEX] is True and trust[NEWS] is False and trust[ART + "one"] is False


def test_fetch_page_and_child_failures_are_skipped():
    ctx = FakeCtx(routes(**{NEWS: FetchError(NEWS, 503, "Unavailable")}))
    out = list(sitemap.fetch(make_source(name="sm", kind="sitemap", url=INDEX), ctx))
    skipped = {o.locator: o.reason for o in out if isinstance(o, Skipped)}
    assert NEWS in skipped and ART + "two" in skipped
    assert isinstance(out[-1], Checkpoint) and out[-1].key == "http:" + INDEX
    assert OLD in ctx.http.urls  # no since: every child followed (and this one 404s in the fake)


def test_fetch_304_sitemap_yields_nothing():
    ctx = FakeCtx({INDEX: not_modified(INDEX)})
    assert list(sitemap.fetch(make_source(name="sm", kind="sitemap", url=INDEX), ctx)) == []


def test_fetch_root_failure_raises():
    ctx = FakeCtx({INDEX: ok(INDEX, b"<html>not a sitemap</html>")})
    with pytest.raises(ParseError):
        list(sitemap.fetch(make_source(name="sm", kind="sitemap", url=INDEX), ctx))


def test_fetch_depth_is_bounded():
    def index_to(child):
        return f"<sitemapindex><sitemap><loc>{child}</loc></sitemap></sitemapindex>".encode()

    chain = [f"https://www.example.com/idx{i}.xml" for i in range(5)]
    r = {u: ok(u, index_to(chain[i + 1] if i + 1 < len(chain) else chain[0])) for i, u in enumerate(chain)}
    ctx = FakeCtx(r)
    out = list(sitemap.fetch(make_source(name="sm", kind="sitemap", url=chain[0]), ctx))
    assert ctx.http.urls == chain[: sitemap.MAX_DEPTH + 1]
    assert [o.key for o in out] == ["http:" + u for u in reversed(chain[: sitemap.MAX_DEPTH + 1])]
    assert ctx.stats.warnings
    assert not any(isinstance(o, RawItem) for o in out)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda s: ("<urlset><url><loc>" + s).encode())))
def test_parse_sitemap_fails_only_with_parse_error(data):
    try:
        kind, entries = parse_sitemap(data, BASE)
    except ParseError:
        return
    assert kind in ("index", "urlset")
    assert all(e.loc.startswith(("http://", "https://")) for e in entries)


def test_freshness_compares_instants_and_a_day_is_its_first_moment():
    assert sitemap._fresh("2024-01-01T01:00:00+02:00", "2024-01-01") is False  # 2023-12-31T23:00Z
    assert sitemap._fresh("2023-12-31T20:00:00-05:00", "2024-01-01") is True  # 2024-01-01T01:00Z
    assert sitemap._fresh("2024-01-01", "2024-01-01T00:00:00Z") is True
    assert sitemap._fresh("2024-01-01", "2024-01-01T12:00:00Z") is False
    assert sitemap._fresh(None, "2024-01-01") is True and sitemap._fresh("2020-01-01", None) is True
