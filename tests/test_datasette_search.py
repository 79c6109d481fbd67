"""Plain ``datasette`` (the worker's plugin registered by entry point, no metadata) on real
archives over HTTP: ``?_search=`` in every language and at archive scale (the newest matches of
a word found in more than 5,000 articles), the ranked ``search`` query, other databases left to
Datasette's own search."""

from __future__ import annotations

import urllib.error
from importlib.metadata import entry_points

import pytest
import sqlite_utils

from tests.language_archive import build_language_archive
from tests.many_archive import MANY, many_articles, source_of
from tests.query_archive import build_archive
from tests.test_datasette import get, live_datasette
from worker.search import WINDOW

pytest.importorskip("datasette")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not any(ep.value == "worker.datasette_plugin" for ep in entry_points(group="datasette")),
        reason="the worker is not installed (pip install -e .): its Datasette plugin is registered on install",
    ),
]


def other_database(path):
    """A database the worker did not make, with a full-text index of its own."""
    db = sqlite_utils.Database(path)
    db["notes"].insert_all([{"id": 1, "text": "alpha notes"}, {"id": 2, "text": "beta notes"}], pk="id")
    db["notes"].enable_fts(["text"], fts_version="FTS5")
    db.close()
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plain")
    files = [
        build_archive(folder / "news.db"),
        build_language_archive(folder / "lang.db"),
        many_articles(folder / "many.db"),
        other_database(folder / "other.db"),
    ]
    with live_datasette(files, folder / "datasette.log") as base:
        yield base


def table(base, path, **params):
    return get(base, path, _shape="objects", **params)


def test_the_plugin_is_registered(server):
    plugins = {p["name"]: p for p in get(server, "/-/plugins.json")}
    ours = plugins["news-archive-worker"]  # listed by its distribution's name
    assert ours["templates"]
    assert {"filters_from_request", "register_routes", "canned_queries", "prepare_connection"} <= set(ours["hooks"])


@pytest.mark.parametrize(
    "query, url",
    [
        ("新幹線", "https://ja.example/shinkansen"),
        ("東京", "https://ja.example/shinkansen"),
        ("เชียงใหม่", "https://th.example/flood"),
        ("서울", "https://ko.example/seoul"),
        ("ferry", "https://en.example/ferries"),
    ],
)
def test_search_box_finds_words_of_any_script(server, query, url):
    data = table(server, "/lang/articles.json", _search=query, source="own")
    assert [r["url"] for r in data["rows"]] == [url]
    assert "escape_fts" not in data["query"]["sql"]  # the worker's search, not Datasette's own


def test_search_box_keeps_its_forms(server):
    assert {r["url"] for r in table(server, "/news/articles.json", _search="taliban")["rows"]} == {
        "https://wire.example/qala-e-naw-siege",
        "https://local.example/doha-talks",
    }
    assert [r["url"] for r in table(server, "/news/articles.json", _search="Qala-e-Naw")["rows"]] == [
        "https://wire.example/qala-e-naw-siege"
    ]
    raw = table(server, "/news/articles.json", _search="frost OR wall", _searchmode="raw")
    assert {r["url"] for r in raw["rows"]} == {"https://wire.example/frost", "https://wire.example/sea-wall"}
    assert table(server, "/news/articles.json", _search='"')["rows"] == []
    assert len(table(server, "/news/articles.json", _search="")["rows"]) == 7  # an empty box: every article
    with pytest.raises(urllib.error.HTTPError) as error:
        table(server, "/news/articles.json", _search="NEAR(", _searchmode="raw")
    assert error.value.code == 400


def test_a_word_in_more_than_the_window_lists_its_newest_matches(server):
    data = table(server, "/many/articles.json", _search="alpha", _facet="source")
    assert data["filtered_table_rows_count"] == WINDOW
    assert f"the newest {WINDOW:,} of {MANY:,} matching articles" in data["human_description_en"]
    assert data["rows"][0]["id"] == MANY - WINDOW + 1  # Datasette's order (by id): the window's first
    facets = {f["value"]: f["count"] for f in data["facet_results"]["source"]["results"]}
    window = [source_of(i) for i in range(MANY - WINDOW + 1, MANY + 1)]
    assert facets == {name: window.count(name) for name in set(window)}
    by_date = table(server, "/many/articles.json", _search="alpha", _sort_desc="id", source="odd")
    assert [r["id"] for r in by_date["rows"][:3]] == [MANY - 1, MANY - 3, MANY - 5]  # as without the window
    assert table(server, "/many/articles.json", _search="alpha", _next=str(MANY - 10))["rows"][-1]["id"] == MANY


def test_the_window_grows_when_other_filters_leave_less_than_a_page(server):
    """A rare source has fewer than a page of articles among the newest matches: all of its are listed."""
    data = table(server, "/many/articles.json", _search="alpha", source="rare")
    assert [r["id"] for r in data["rows"]] == [i for i in range(1, MANY + 1) if source_of(i) == "rare"]
    assert data["human_description_en"] == 'where search matches "alpha" and source = "rare"'  # every match


def test_the_search_query_ranks_best_first(server):
    rows = table(server, "/news/search.json", q="taliban")["rows"]
    assert [r["headline"] for r in rows] == [
        "Taliban talks stall in Doha as fighting spreads",
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege",
    ]
    assert rows[0]["rank"] < rows[1]["rank"] and "[Taliban]" in rows[0]["snippet"]
    assert [r["headline"] for r in table(server, "/lang/search.json", q="新幹線")["rows"]] == [
        "大雨で新幹線が運転見合わせ"
    ]
    assert table(server, "/news/search.json", q="")["rows"] == []


def test_other_databases_keep_datasettes_own_search(server):
    data = table(server, "/other/notes.json", _search="alpha")
    assert [r["text"] for r in data["rows"]] == ["alpha notes"]
    assert "escape_fts" in data["query"]["sql"]
    assert "search" not in {q["name"] for q in get(server, "/other.json")["queries"]}
