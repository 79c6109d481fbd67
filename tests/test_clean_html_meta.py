"""Publication dates and bylines: the date forms pages write, where pages state them, how bylines are cleaned.

The golden pages ``tests/fixtures/html/meta_*`` cover the same rules end to end.
"""

from __future__ import annotations

import pytest
from lxml import etree

from worker.clean.html_byline import byline_from, clean_byline
from worker.clean.html_signs import header_dates, microdata_authors
from worker.clean.jsonld import parse_block, read_linked_data
from worker.clean.metadata import Meta, published_from, read_meta


def test_json_ld_repairs():
    assert parse_block('{"a": 1, /* note */ "b": "http://x.example/y", // end\n}') == {
        "a": 1,
        "b": "http://x.example/y",
    }
    assert parse_block("{&quot;a&quot;: 1}") == {"a": 1}
    assert parse_block('//<![CDATA[\n{"a": 1};\n//]]>') == {"a": 1}
    assert parse_block('{"a": [1, 2,],}') == {"a": [1, 2]}


def test_json_ld_article_outside_lists_and_references():
    linked = read_linked_data(
        [
            '{"@type": "ItemList", "itemListElement": [{"@type": "NewsArticle", "headline": "teaser"}]}',
            '[{"@graph": [{"@type": "Person", "@id": "#a", "name": "Ana Ruiz"},'
            ' {"@type": "ReportageNewsArticle", "headline": "main", "author": {"@id": "#a"}}]}]',
        ]
    )
    assert linked.article["headline"] == "main"
    assert linked.ids["#a"]["name"] == "Ana Ruiz"
    assert byline_from(Meta(ld=linked.article, linked=linked), []) == "Ana Ruiz"


@pytest.mark.parametrize(
    "meta, times, url, published",
    [
        # structured publication dates before visible ones, visible before the URL
        (
            Meta(tags={"article:published_time": "2021-03-03T10:00:00Z"}, header_dates=["2021-03-05"]),
            ([], []),
            None,
            "2021-03-03T10:00:00Z",
        ),
        (Meta(header_dates=["2021-03-03"]), ([], []), "https://x.example/2021/03/03/a", "2021-03-03"),
        # a modification date only from structured data, and only when nothing else gives a date
        (Meta(ld={"dateModified": "2021-03-04T10:00:00Z"}), ([], []), None, "2021-03-04T10:00:00Z"),
        (Meta(tags={"og:updated_time": "2021-03-04T10:00:00Z"}), ([], ["3 March 2021"]), None, "2021-03-03"),
        (Meta(tags={"parsely-page": '{"pub_date": "2019-05-06T04:05:06Z"}'}), ([], []), None, "2019-05-06T04:05:06Z"),
        (Meta(), ([], ["Updated 4 March 2021"]), None, None),
    ],
)
def test_published_from_order(meta, times, url, published):
    assert published_from(meta, times, url) == published


def _root(html: str):
    return etree.fromstring(html, etree.HTMLParser())


def test_header_dates_skip_updates_hidden_and_prose():
    root = _root("""<html><body><p>Vor 3 Stunden</p><h1>A headline of some length</h1>
        <div style="display:none">Current 23 Sep 2011</div>
        <span class="updated">4 March 2021</span><span>Updated:</span><span>5 March 2021</span>
        <p>On 1 March 2021 the council met and argued about the bridge for a long time.</p>
        <p>3 March 2021</p></body></html>""")
    assert header_dates(root) == ["2021-03-03"]


def test_microdata_authors_not_from_comments_or_photos():
    root = _root("""<html><body>
        <div itemprop="author" itemscope><meta itemprop="name" content="Ines Carvalho"></div>
        <figure><span itemprop="author">Photo Agency</span></figure>
        <div class="comments"><span itemprop="author">troll99</span></div>
        <a rel="author" href="/p/jo">Jo Lindqvist</a></body></html>""")
    assert microdata_authors(root) == ["Ines Carvalho", "Jo Lindqvist"]


def test_microdata_authors_in_page_order_from_every_kind_of_mark():
    root = _root("""<html><body>
        <span class="artikel-verfasser">Korinna Hennig</span>
        <a rel="nofollow author" href="/p/ana">Ana Ruiz</a>
        <a rel="authority" href="/x">Not A Byline</a>
        <p itemprop="creator">Tom Watkins</p>
        <p itemprop="authorship-note">Written with Chien-Ming Wang</p>
        <div class="auteur-principal">Claire Dupont</div>
        <span class="author-x">English Name</span></body></html>""")
    assert microdata_authors(root) == [
        "Ana Ruiz",
        "Tom Watkins",
        "Written with Chien-Ming Wang",
        "Korinna Hennig",
        "Claire Dupont",
    ]


@pytest.mark.parametrize(
    "raw, byline",
    [
        ("Andrea Stone Senior Washington Correspondent", "Andrea Stone"),
        ("By Jane Doe, Chief Political Correspondent", "Jane Doe"),
        ("Mary Ann Smith Staff Writer", "Mary Ann Smith"),
        ("Staff Writer", None),
        ("Autor/in: Korinna Hennig", "Korinna Hennig"),
        ("/ Cory Doctorow /", "Cory Doctorow"),
        ("Dana Ford, Chien-Ming Wang, and Tom Watkins, CNN", "Dana Ford, Chien-Ming Wang and Tom Watkins"),
        ("By A. B. Jones AND C. Smith", "A. B. Jones and C. Smith"),
        ("Lauren del Valle", "Lauren del Valle"),
        ("share this article", None),
        ("Historischer Verein Horka e.V.", "Historischer Verein Horka e.V"),  # not split at " e "
        ("Autoren", None),
        ("jane_doe42", None),
    ],
)
def test_clean_byline_more(raw, byline):
    assert clean_byline(raw) == byline


def test_people_before_the_outlets_company():
    meta = Meta(authors=[("author", "Valley Media GmbH, Munich, Germany")])
    assert byline_from(meta, ["Von Lena Hartmann"], "Valley Post", "valley.example") == "Lena Hartmann"
    # an agency is a real credit: it stays when it is the page's own
    assert byline_from(Meta(authors=[("author", "AP")]), ["MochaLite"], "Post", "post.example") == "AP"
    assert byline_from(Meta(authors=[("author", "valley.example")]), [], None, "valley.example") == "valley.example"


def test_read_meta_collects_every_author_tag():
    root = _root(
        '<html><head><meta name="author" content="Ana Ruiz"><meta name="author" content="Ben Okafor">'
        "</head><body></body></html>"
    )
    meta = read_meta(root, None)
    assert byline_from(meta, []) == "Ana Ruiz and Ben Okafor"
