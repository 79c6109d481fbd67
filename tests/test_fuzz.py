"""Property tests: whatever text or bytes come in, the cleaners and the feed parser either give a
result or raise ``ParseError``, and headline normalization is idempotent.

About 300 examples per property by default; ``FUZZ_EXAMPLES=10000`` runs 10,000 each.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.clean import clean_html, clean_text
from worker.clean.fragment import clean_fragment
from worker.clean.items import clean_one
from worker.dedupe import headline_hash, normalize_headline
from worker.errors import ParseError
from worker.fetchers.feed import parse_feed
from worker.models import Article, Hints, RawItem, Skipped

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("FUZZ_EXAMPLES") is None,  # CI: the same examples every run
)
fuzz = settings.get_profile("fuzz")

# ---------------------------------------------------------------- strategies

WORDS = st.sampled_from(
    [
        "Taliban",
        "Qala-e-Naw",
        "Afghanistan’s",
        "café",
        "NAIROBI",
        "“quoted”",
        "—",
        "&amp;",
        "&#xD800;",
        "&#0;",
        "&nbsp;",
        "&lol;",
        "\x00",
        "\ufeff",
        "\u202e",
        "ﬁ",
        "İ",
        "\r\n",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "By Jane Doe",
        "Credit…",
        "July 7, 2021",
    ]
)
TEXTISH = st.one_of(st.text(max_size=80), st.lists(WORDS, max_size=12).map(" ".join))
TAGS = st.sampled_from(
    [
        "p",
        "div",
        "span",
        "a",
        "b",
        "i",
        "article",
        "main",
        "section",
        "h1",
        "h2",
        "li",
        "ul",
        "table",
        "tr",
        "td",
        "script",
        "style",
        "noscript",
        "figure",
        "figcaption",
        "time",
        "br",
        "img",
        "meta",
        "title",
        "head",
        "body",
        "html",
        "svg",
        "iframe",
        "form",
        "template",
    ]
)
ATTRS = st.dictionaries(
    st.sampled_from(
        ["class", "id", "href", "src", "property", "name", "content", "datetime", "itemprop", "lang", "type", "style"]
    ),
    TEXTISH.map(lambda s: s.replace('"', "&quot;")),
    max_size=3,
)


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{v}"' for k, v in attrs.items())


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    closed = st.builds(
        lambda tag, attrs, inner: f"<{tag}{_attrs(attrs)}>{''.join(inner)}</{tag}>",
        TAGS,
        ATTRS,
        st.lists(children, max_size=4),
    )
    unclosed = st.builds(lambda tag, inner: f"<{tag}>{''.join(inner)}", TAGS, st.lists(children, max_size=3))
    stray = st.builds(lambda tag, inner: f"{''.join(inner)}</{tag}>", TAGS, st.lists(children, max_size=2))
    return closed | unclosed | stray


HTML_NODES = st.recursive(TEXTISH, _element, max_leaves=40)
JSON_LD = st.builds(
    lambda head, date, author: (
        f'<script type="application/ld+json">{{"@type": "NewsArticle", "headline": {head}, '
        f'"datePublished": {date}, "author": {{"name": {author}}}}}</script>'
    ),
    st.one_of(TEXTISH.map(repr), st.just("null"), st.just("[1, 2]")),
    st.one_of(st.just('"2021-07-07T10:00:00Z"'), st.just('"yesterday"'), TEXTISH.map(repr)),
    st.one_of(TEXTISH.map(repr), st.just("{}")),
)
HTML_DOCS = st.builds(
    lambda head, body, ld: f"<!DOCTYPE html><html><head><title>{head}</title>{ld}</head><body>{body}</body></html>",
    TEXTISH,
    HTML_NODES,
    st.one_of(st.just(""), JSON_LD),
)
HTML = st.one_of(HTML_DOCS, HTML_NODES, st.text(max_size=300), st.binary(max_size=300))
HTML_INPUT = st.one_of(
    HTML,
    HTML_DOCS.map(lambda s: s.encode("utf-8")),
    HTML_DOCS.map(lambda s: s.encode("utf-16")),
    HTML_DOCS.map(lambda s: s.encode("cp1252", "replace")),
)

TEXT_ARTICLES = st.builds(
    lambda parts, sep: sep.join(parts),
    st.lists(
        st.one_of(
            TEXTISH,
            st.sampled_from(
                [
                    "By Maria Lopez and Daniel Okafor",
                    "The New York Times",
                    "Published July 7, 2021 Updated July 8, 2021",
                    "Reuters",
                    "KABUL, Afghanistan — The fighting spread.",
                    "Credit…Jane Smith",
                    "Photograph: Luc Bernard/AFP",
                    "Advertisement",
                ]
            ),
        ),
        max_size=12,
    ),
    st.sampled_from(["\n\n", "\n", "\r\n\r\n", " "]),
)
TEXT_INPUT = st.one_of(
    TEXT_ARTICLES,
    TEXT_ARTICLES.map(lambda s: s.encode("utf-8", "surrogatepass")),
    TEXT_ARTICLES.map(lambda s: s.encode("utf-16", "surrogatepass")),
    st.text(),
    st.binary(),
)

XMLISH = st.one_of(
    TEXTISH, HTML_NODES.map(lambda s: s.replace("&", "&amp;")), HTML_NODES, HTML_NODES.map(lambda s: f"<![CDATA[{s}]]>")
)


def _entry(fields: dict[str, str], atom: bool) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f"<entry>{inner}</entry>" if atom else f"<item>{inner}</item>"


RSS_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "title",
            "link",
            "description",
            "pubDate",
            "author",
            "guid",
            "content:encoded",
            "dc:creator",
            "category",
            "enclosure",
        ]
    ),
    XMLISH,
    max_size=6,
)
ATOM_FIELDS = st.dictionaries(
    st.sampled_from(["title", "link", "content", "summary", "updated", "published", "author", "id"]), XMLISH, max_size=6
)
PROLOGS = st.sampled_from(
    [
        "",
        '<?xml version="1.0"?>\n',
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        "\ufeff",
        "  \n",
        '<!DOCTYPE rss [<!ENTITY x "y">]>',
        '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE rss [<!ENTITY a "&b;&b;"><!ENTITY b "&a;">]>',
        "<!-- comment -->",
    ]
)
RSS_DOCS = st.builds(
    lambda prolog, title, entries, version, cut: (
        prolog + f'<rss version="{version}" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>{title}</title>'
        + "".join(_entry(e, False) for e in entries)
        + "</channel></rss>"
    )[: cut or None],
    PROLOGS,
    XMLISH,
    st.lists(RSS_FIELDS, max_size=5),
    st.sampled_from(["2.0", "0.91", "x"]),
    st.one_of(st.none(), st.integers(1, 400)),
)
ATOM_DOCS = st.builds(
    lambda prolog, title, entries, cut: (
        prolog
        + f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
        + "".join(_entry(e, True) for e in entries)
        + "</feed>"
    )[: cut or None],
    PROLOGS,
    XMLISH,
    st.lists(ATOM_FIELDS, max_size=5),
    st.one_of(st.none(), st.integers(1, 400)),
)
RDF_DOCS = st.builds(
    lambda entries: (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
        "<channel><title>r</title></channel>" + "".join(_entry(e, False) for e in entries) + "</rdf:RDF>"
    ),
    st.lists(RSS_FIELDS, max_size=4),
)
JSON_FEEDS = st.builds(
    lambda items: __import__("json").dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": items}
    ),
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "title",
                    "content_html",
                    "content_text",
                    "summary",
                    "url",
                    "date_published",
                    "authors",
                    "language",
                ]
            ),
            st.one_of(
                TEXTISH,
                st.integers(),
                st.none(),
                st.lists(TEXTISH, max_size=2),
                st.dictionaries(st.just("name"), TEXTISH, max_size=1),
            ),
        ),
        max_size=4,
    ),
)
FEED_TEXT = st.one_of(RSS_DOCS, ATOM_DOCS, RDF_DOCS, JSON_FEEDS)
FEED_INPUT = st.one_of(
    FEED_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
    FEED_TEXT.map(lambda s: s.encode("utf-16", "surrogatepass")),
    FEED_TEXT.map(lambda s: s.encode("latin-1", "replace")),
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda s: ("<rss><channel><item>" + s).encode("utf-8", "surrogatepass")),
)
HEADERS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "Content-Type": st.sampled_from(
                [
                    "application/rss+xml",
                    "text/xml; charset=iso-8859-1",
                    "application/json; charset=utf-16",
                    "text/html; charset=bogus",
                    "application/xml; charset=",
                ]
            )
        }
    ),
)


# ---------------------------------------------------------------- properties


@fuzz
@given(HTML_INPUT, st.one_of(st.none(), st.just("https://fuzz.example/a"), st.text(max_size=20)))
def test_clean_html_returns_an_article_none_or_parse_error(doc, url):
    try:
        result = clean_html(doc, url)
    except ParseError:
        return
    assert result is None or isinstance(result, Article)


@fuzz
@given(TEXT_INPUT)
def test_clean_text_returns_an_article_or_parse_error(data):
    try:
        article = clean_text(data)
    except ParseError:
        return
    assert isinstance(article, Article) and article.headline.strip() and article.body.strip()


@fuzz
@given(st.one_of(HTML, TEXT_INPUT), TEXTISH)
def test_clean_fragment_returns_an_article_or_parse_error(content, headline):
    try:
        article = clean_fragment(content, Hints(headline=headline or None))
    except ParseError:
        return
    assert isinstance(article, Article)


@fuzz
@given(FEED_INPUT, HEADERS)
def test_parse_feed_returns_items_or_parse_error(data, headers):
    try:
        items, warnings = parse_feed(data, "https://fuzz.example/feed", headers)
    except ParseError:
        return
    assert all(isinstance(i, (RawItem, Skipped)) for i in items)
    assert all(isinstance(w, str) for w in warnings)
    for item in items:  # and every item they give is cleaned or skipped with a reason, never raises
        if isinstance(item, RawItem):
            result = clean_one(item, "fuzz")
            if isinstance(result, Article):
                result.headline.encode("utf-8")  # storable: no lone surrogates
                result.body.encode("utf-8")


@fuzz
@given(
    st.one_of(
        st.text(),
        TEXTISH,
        st.text(alphabet=st.characters(categories=["Mn", "Mc", "Pd", "Pi", "Pf", "Zs", "Cf", "Lo", "Nd"])),
    )
)
def test_normalize_headline_is_idempotent(headline):
    once = normalize_headline(headline)
    assert normalize_headline(once) == once
    assert once == once.strip() and "  " not in once
    assert headline_hash(headline) == headline_hash(once)


@fuzz
@given(TEXTISH)
def test_typographic_variants_hash_alike(headline):
    curly = headline.replace("'", "’").replace('"', "“").replace("-", "–")
    assert headline_hash(curly) == headline_hash(headline)
