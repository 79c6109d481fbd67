"""One story through the four ways it can arrive (a .txt file, a JSON Lines record, an RSS entry,
an HTML page) gives the same fields: headline, byline, published_at with the publisher's offset,
language code, dateline and body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.clean.items import to_article
from worker.fetchers import files
from worker.fetchers.feed import parse_feed
from worker.kinds import make_source
from worker.models import Article, RawItem

HEADLINE = "Tom & Jerry Ferries Return to the Harbour"
NAMES = ["Ana Ruiz", "John Smith"]
PARAS = [
    "The two ferries that carried passengers across the harbour for forty years sailed again on Thursday, "
    "after a refit that took most of the winter.",
    "Hundreds of people lined the quay to watch them leave, and the harbour master said the crossings "
    "would run every hour until the autumn.",
    "The council paid for the work with money set aside when the old pier was sold.",
]
DATELINE = "PORTSMOUTH, England, Feb. 23 —"
BODY = [f"{DATELINE} {PARAS[0]}", *PARAS[1:]]

TEXT = f"""Tom & Jerry Ferries Return to the Harbour

By Ana Ruiz and John Smith

Feb. 23, 2017 5:18 p.m. PST

{BODY[0]}

{BODY[1]}

{BODY[2]}
"""

RECORD = {
    "title": "Tom &amp; Jerry Ferries Return to the Harbour",  # escaped, as scraped JSON often is
    "authors": [{"name": "Ana Ruiz"}, {"name": "John Smith"}],
    "published": "2017-02-23T17:18:00-08:00",
    "language": "en_US",
    "url": "https://news.example.org/2017/02/23/ferries",
    "text": "\n\n".join(BODY),
}

RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>The Harbour Times</title><link>https://news.example.org/</link><language>en-us</language>
<item>
  <title>Tom &amp; Jerry Ferries Return to the Harbour</title>
  <link>https://news.example.org/2017/02/23/ferries</link>
  <dc:creator>Ana Ruiz</dc:creator>
  <dc:creator>John Smith</dc:creator>
  <pubDate>Thu, 23 Feb 2017 17:18:00 -0800</pubDate>
  <content:encoded><![CDATA[{"".join(f"<p>{p}</p>" for p in BODY)}]]></content:encoded>
</item>
</channel></rss>
"""

LINKED = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Tom &amp; Jerry Ferries Return to the Harbour",  # JSON-LD carries references raw
    "datePublished": "2017-02-23T17:18:00-08:00",
    "author": [{"@type": "Person", "name": n} for n in NAMES],
}
PAGE = f"""<!doctype html>
<html lang="en-us"><head><meta charset="utf-8">
<title>Tom &amp; Jerry Ferries Return to the Harbour | The Harbour Times</title>
<meta property="og:site_name" content="The Harbour Times">
<script type="application/ld+json">{json.dumps(LINKED)}</script>
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article>
<h1>Tom &amp; Jerry Ferries Return to the Harbour</h1>
<p class="byline">By Ana Ruiz and John Smith</p>
{"".join(f"<p>{p}</p>" for p in BODY)}
</article>
<footer>© The Harbour Times</footer>
</body></html>
"""


class _Ctx:
    """What ``files.fetch`` asks of a run: the saved checkpoint of a file (none) and the trigger."""

    trigger = "manual"

    def saved(self, key: str) -> None:
        return None

    def capture_file(self, path: Path, data: bytes, content_type: str) -> None:
        return None


def _from_file(tmp_path: Path, name: str, content: str) -> Article:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    [item] = [
        i
        for i in files.fetch(make_source(name="inbox", kind="files", path=str(path)), _Ctx())
        if isinstance(i, RawItem)
    ]
    return to_article(item, "inbox")


@pytest.fixture
def articles(tmp_path) -> dict[str, Article]:
    items, _ = parse_feed(RSS.encode("utf-8"), "https://news.example.org/feed.xml", source="feed")
    [entry] = items
    assert isinstance(entry, RawItem)
    return {
        "text": _from_file(tmp_path, "story.txt", TEXT),
        "jsonl": _from_file(tmp_path, "story.jsonl", json.dumps(RECORD) + "\n"),
        "feed": to_article(entry, "feed"),
        "html": _from_file(tmp_path, "story.html", PAGE),
    }


@pytest.mark.parametrize("path", ["text", "jsonl", "feed", "html"])
def test_every_path_gives_the_same_fields(articles, path):
    article = articles[path]
    assert article.headline == HEADLINE
    assert article.byline == "Ana Ruiz and John Smith"
    assert article.published_at == "2017-02-23T17:18:00-08:00"
    assert article.dateline == "PORTSMOUTH, England"
    assert article.body == "\n\n".join(PARAS)


def test_language_is_one_spelling_wherever_it_is_given(articles):
    # en_US (JSON), en-us (the feed's <language>, the page's lang): one BCP 47 spelling, region kept
    assert {articles[p].lang for p in ("jsonl", "feed", "html")} == {"en-US"}
    assert articles["text"].lang is None  # a plain-text file names no language


def test_the_fields_agree_across_paths(articles):
    fields = ("headline", "byline", "published_at", "dateline", "body")
    first = articles["text"]
    for article in articles.values():
        assert [getattr(article, f) for f in fields] == [getattr(first, f) for f in fields]
