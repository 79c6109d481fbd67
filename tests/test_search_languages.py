"""Search in every language: a word of a script written without spaces between words (Chinese,
Japanese, Thai) or with particles written onto it (Korean) is found through the trigram index,
English stemming keeps working, in worker search, export, --all-versions and sqlite-utils; an
archive made before the trigram index gets it by migration."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT, needs_corpus, run_cli
from tests.language_archive import build_language_archive
from worker.archive import Archive
from worker.archive.schema import MIGRATIONS, RANK_WEIGHTS, SCHEMA_VERSION
from worker.export import rows
from worker.kinds import make_source
from worker.pipeline import ingest
from worker.search import Filters, SearchError, search
from worker.search_plan import compile_query, terms
from worker.text.scripts import SPACELESS, SPACELESS_RANGES, is_spaceless

OWN = Filters(source="own")


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    return build_language_archive(tmp_path_factory.mktemp("lang") / "archive.db")


@pytest.fixture()
def conn(archive_path):
    with Archive(archive_path, readonly=True) as archive:
        yield archive.db.conn


def headlines(hits):
    return [h["headline"] for h in hits]


def text_of(conn, article_id):
    row = conn.execute("SELECT headline, dek, body, byline FROM articles WHERE id = ?", [article_id]).fetchone()
    return " ".join(part or "" for part in row)


@pytest.mark.parametrize(
    "query, headline",
    [
        ("新幹線", "大雨で新幹線が運転見合わせ"),  # a word inside a run of Japanese
        ("名古屋", "大雨で新幹線が運転見合わせ"),
        ("東京", "大雨で新幹線が運転見合わせ"),  # two characters: shorter than a trigram
        ("雨", "大雨で新幹線が運転見合わせ"),  # one character
        ("大阪", "新しい美術館が開館、大阪"),  # only at the very end of a headline
        ("新幹線 JR", "大雨で新幹線が運転見合わせ"),  # two scripts: both words must match
        ("เชียงใหม่", "น้ำท่วมในเชียงใหม่"),  # Thai, with its vowel marks
        ("แม่น้ำปิง", "น้ำท่วมในเชียงใหม่"),
        ("서울", "서울에서 국제 회의 열려"),  # Korean: the particle 에서 is written onto the word
        ("ferry", "Ferries return to the island"),  # English words still match their other forms
        ("sail", "Ferries return to the island"),
    ],
)
def test_a_word_of_any_script_is_found(conn, query, headline):
    assert headlines(search(conn, query, filters=OWN)) == [headline]


def test_every_word_must_match_and_a_missing_one_finds_nothing(conn):
    assert search(conn, "新幹線 大阪", filters=OWN) == []
    assert search(conn, "新幹線 ferry", filters=OWN) == []
    assert search(conn, "鉄", filters=OWN) == []  # a character no text holds


def test_the_word_index_alone_does_not_find_them(conn):
    """What the trigram index is for: a run without spaces is one token of the word index."""
    for word in ("新幹線", "เชียงใหม่", "서울"):
        assert (
            conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [f'"{word}"']).fetchone()[0]
            == 0
        )
    assert conn.execute("SELECT count(*) FROM articles_trigram").fetchone()[0] >= 4  # the spaceless ones only
    english = conn.execute("SELECT id FROM articles WHERE headline = 'Ferries return to the island'").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM articles_trigram_text WHERE id = ?", [english]).fetchone()[0] == 0


def test_snippets_mark_the_match(conn):
    (hit,) = search(conn, "新幹線", filters=OWN)
    assert "[新幹線]" in hit["snippet"]


def test_plan_sends_each_word_to_its_index(conn):
    assert [(t.text, t.spaceless) for t in terms("梁振英 Qala-e-Naw ไทย fight*")] == [
        ("梁振英", True),
        ("Qala-e-Naw", False),
        ("ไทย", True),
        ("fight", False),
    ]
    mixed = compile_query(conn, "新幹線 ferries")  # only the trigram index's articles can match
    assert (mixed.first.words, mixed.first.grams, mixed.substrings) == (None, '"新幹線" AND "ferries"', None)
    latin = compile_query(conn, "ferries")  # the word index, and every word a substring (JR東海)
    assert latin.first.words == '"ferries"' and latin.substrings is not None
    assert (latin.substrings.words, latin.substrings.grams) == (None, '"ferries"')
    raw = compile_query(conn, '"新幹線" OR "名古屋"', raw=True)
    assert (raw.first.words, raw.first.grams, raw.substrings) == (None, '"新幹線" OR "名古屋"', None)
    assert compile_query(conn, "鉄").nothing


def test_raw_queries_in_those_scripts_run_on_the_trigram_index(conn):
    assert set(headlines(search(conn, "新幹線 OR เชียงใหม่", raw=True, filters=OWN))) == {
        "น้ำท่วมในเชียงใหม่",
        "大雨で新幹線が運転見合わせ",
    }
    with pytest.raises(SearchError, match="not a valid FTS5 query"):
        search(conn, "新幹線 AND (", raw=True)


def test_cli_search_and_export(archive_path):
    out = run_cli("--archive", str(archive_path), "search", "新幹線", "--json")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["url"] for line in out.stdout.splitlines()] == ["https://ja.example/shinkansen"]
    out = run_cli("--archive", str(archive_path), "export", "เชียงใหม่")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["url"] for line in out.stdout.splitlines()] == ["https://th.example/flood"]
    with Archive(archive_path, readonly=True) as archive:
        assert [r["url"] for r in rows(archive.db.conn, "서울")] == ["https://ko.example/seoul"]


def test_sqlite_utils_search_finds_them(archive_path):
    for query, url in (("新幹線", "https://ja.example/shinkansen"), ("東京", "https://ja.example/shinkansen")):
        out = subprocess.run(
            [sys.executable, "-m", "sqlite_utils", "search", str(archive_path), "articles", query, "-c", "url"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == [{"url": url}]


@needs_corpus
@pytest.mark.parametrize(
    "source, query",
    [
        ("zh-page", "梁振英"),  # the issue's example: found nothing before
        ("zh-page", "香港"),
        ("zh-page", "道歉"),
        ("ja-page", "金正恩"),
        ("ja-page", "米朝"),
        ("th-page", "สุรชัย"),
        ("ur-feed", "پاکستان"),
        ("ru-feed", "Цитата"),
        ("de-feed", "Rockstar"),
    ],
)
def test_real_articles_in_several_scripts(conn, source, query):
    hits = search(conn, query, filters=Filters(source=source), limit=100)
    assert hits, (source, query)
    for hit in hits:
        assert query.lower() in text_of(conn, hit["id"]).lower(), hit


@needs_corpus
def test_cli_finds_the_issue_example(archive_path):
    out = run_cli("--archive", str(archive_path), "search", "梁振英")
    assert out.returncode == 0, out.stderr
    assert "[梁振英]" in out.stdout
    assert out.stdout.splitlines()[-1] == "1 match"  # the one Chinese page of the corpus


def test_an_earlier_version_in_those_scripts_is_found_with_all_versions(tmp_path):
    path = tmp_path / "archive.db"
    from tests.test_revisions import story

    texts = [story(5) + " Crowds filled 東京駅 all day.", story(5) + " Crowds filled the station all day."]
    with Archive(path) as archive:
        for i, body in enumerate(texts):
            f = tmp_path / f"in{i}" / "a.jsonl"
            f.parent.mkdir()
            f.write_text(json.dumps({"headline": "Trains stop", "url": "https://x.example/t", "body": body}) + "\n")
            assert ingest(make_source(name="paper", kind="files", path=str(f)), archive).status == "ok"
    with Archive(path, readonly=True) as archive:
        conn = archive.db.conn
        assert search(conn, "東京駅") == []
        (hit,) = search(conn, "東京駅", all_versions=True)
        assert (hit["headline"], hit["version"]) == ("Trains stop", 1)


_EDGE_POINTS = sorted({p for low, high in SPACELESS_RANGES for p in (low - 1, low, high, high + 1)} | {0x2019, 0x1F600})


@given(
    st.text(alphabet=st.sampled_from("ab ’é\n"), max_size=40),
    st.lists(st.sampled_from(_EDGE_POINTS), max_size=3),
    st.randoms(),
)
def test_is_spaceless_is_the_regular_expression_on_short_and_long_texts(text, points, rnd):
    for point in points:
        at = rnd.randrange(len(text) + 1)
        text = text[:at] + chr(point) + text[at:]
    expected = int(SPACELESS.search(text) is not None)
    assert is_spaceless(text) == expected
    assert is_spaceless(None, "", "word é " * 50 + text) == expected  # a body: read as code points


def test_the_text_layer_and_the_query_planner_do_not_load_numpy():
    code = "import sys, worker.text.scripts, worker.search_plan; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_the_writer_says_which_articles_the_trigram_index_holds(tmp_path):
    """The writer sets ``spaceless`` (no GLOB over every text as it is stored); the index follows
    the flag through edits from one script to the other and stays whole."""
    path = tmp_path / "archive.db"
    from tests.test_revisions import story

    english = story(5)
    texts = [english + " Crowds filled 東京駅 all day.", english, english + " Then 大阪 too."]
    with Archive(path) as archive:
        for i, body in enumerate(texts):
            f = tmp_path / f"in{i}" / "a.jsonl"
            f.parent.mkdir()
            lines = [{"headline": "Trains stop", "url": "https://x.example/t", "body": body}]
            lines.append({"headline": f"Another story {i}", "url": f"https://x.example/{i}", "body": story(4)})
            f.write_text("".join(json.dumps(line) + "\n" for line in lines))
            assert ingest(make_source(name="paper", kind="files", path=str(f)), archive).status == "ok"
            flags = dict(archive.db.execute("SELECT headline, spaceless FROM articles").fetchall())
            assert flags["Trains stop"] == (i != 1) and flags[f"Another story {i}"] == 0
            trigram = archive.db.execute("SELECT rowid FROM articles_trigram WHERE articles_trigram MATCH '東京駅'")
            assert len(trigram.fetchall()) == (i == 0)
        archive.db.execute("INSERT INTO articles_trigram (articles_trigram, rank) VALUES ('integrity-check', 1)")
    with Archive(path, readonly=True) as archive:
        assert headlines(search(archive.db.conn, "大阪")) == ["Trains stop"]
        assert search(archive.db.conn, "東京駅") == []


def test_an_archive_of_schema_6_gets_the_trigram_index(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    for step in range(1, 7):
        MIGRATIONS[step](db)
    db.execute("PRAGMA user_version = 6")
    body = "香港行政长官梁振英在各方压力下到立法会接受质询。"
    db.execute(
        "INSERT INTO articles (headline_hash, headline, body, first_seen_at, version, version_count) "
        "VALUES ('h', '梁振英道歉', ?, '2024-01-01T00:00:00Z', 2, 2)",
        [body],
    )
    db.execute(
        "INSERT INTO versions (article_id, version, reason, seen_at, content_hash, headline, body) "
        "VALUES (1, 1, 'first', '2024-01-01T00:00:00Z', 'c1', '梁振英道歉', '特首在立法会发言。')"
    )
    db.execute("INSERT INTO versions_fts (rowid, headline, body) VALUES (1, '梁振英道歉', '特首在立法会发言。')")
    db.conn.commit()
    db.close()
    with Archive(path) as archive:
        conn = archive.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert headlines(search(conn, "梁振英")) == ["梁振英道歉"]
        assert headlines(search(conn, "立法会")) == ["梁振英道歉"]
        assert search(conn, "发言") == []
        assert [h["version"] for h in search(conn, "发言", all_versions=True)] == [1]
        conn.execute("INSERT INTO articles_trigram (articles_trigram, rank) VALUES ('integrity-check', 1)")


def test_the_trigram_index_follows_edits_and_deletes(tmp_path):
    with Archive(tmp_path / "a.db") as archive, archive.transaction() as db:
        db.execute(
            "INSERT INTO articles (headline_hash, headline, body, first_seen_at) "
            "VALUES ('h', 'Plain', 'English text', 'x')"
        )
        db.execute("UPDATE articles SET body = '東京の話' WHERE id = 1")
        assert db.execute("SELECT count(*) FROM articles_trigram WHERE articles_trigram MATCH '東京の'").fetchone() == (
            1,
        )
        db.execute("UPDATE articles SET body = 'English again' WHERE id = 1")
        assert db.execute("SELECT count(*) FROM articles_trigram WHERE articles_trigram MATCH '東京の'").fetchone() == (
            0,
        )
        db.execute("UPDATE articles SET body = '大阪の話' WHERE id = 1")
        db.execute("DELETE FROM articles WHERE id = 1")
        db.execute("INSERT INTO articles_trigram (articles_trigram, rank) VALUES ('integrity-check', 1)")
        assert db.execute("SELECT count(*) FROM articles_trigram_docsize").fetchone() == (0,)


def test_a_short_word_standing_for_too_many_trigrams_is_refused(tmp_path, monkeypatch):
    import worker.search_plan

    with Archive(tmp_path / "a.db") as archive, archive.transaction() as db:
        for i, tail in enumerate("一二三四五"):
            db.execute(
                "INSERT INTO articles (headline_hash, headline, body, first_seen_at) VALUES (?, ?, ?, 'x')",
                [f"h{i}", f"story {i}", f"東京{tail}の話"],
            )
    monkeypatch.setattr(worker.search_plan, "MAX_SHORT", 3)
    with Archive(tmp_path / "a.db", readonly=True) as archive:
        with pytest.raises(SearchError, match="stands for too many words"):
            search(archive.db.conn, "東京")
        monkeypatch.setattr(worker.search_plan, "MAX_SHORT", 5)
        assert len(search(archive.db.conn, "東京")) == 5


def test_sqlite3_without_the_worker_reads_the_index(archive_path):
    """Plain SQLite (any client) runs the trigram index: no extension, no custom tokenizer."""
    conn = sqlite3.connect(f"file:{archive_path}?mode=ro", uri=True)
    try:
        (n,) = conn.execute("SELECT count(*) FROM articles_trigram WHERE articles_trigram MATCH '新幹線'").fetchone()
        assert n == 1
    finally:
        conn.close()


def test_a_latin_word_keeps_its_word_index_score_and_the_trigram_index_ranks_only_what_it_misses(tmp_path):
    """``Tokyo`` in English text (the word index), in Japanese once with spaces (both indexes) and
    five times written onto Japanese (``Tokyo駅``: only the trigram index sees those), and in
    Japanese only written on. An article the word index finds keeps its score there; the trigram
    index ranks only the one the word index misses (and nothing when it misses none), so the best
    ``limit`` hits are the first of the best ``limit + 1``."""
    bodies = {
        "A story": "The English story, told in Tokyo, goes on about the rain and the trains and the crowds "
        "at every station for a long while.",
        "Japanese with spaces": "東京の話 Tokyo です。 大雨 の 影響 で 運転 を 見合わせ て いる。 "
        "Tokyo駅 Tokyo駅 Tokyo駅 Tokyo駅 Tokyo駅。",
        "Japanese, written on": "大雨の影響で運転を見合わせている。Tokyo駅には乗客があふれた。",
    }
    rows = [*bodies.items(), *((f"大阪 {i}", f"大阪の話です。雨が降った。{i}") for i in range(8))]
    with Archive(tmp_path / "a.db") as archive, archive.transaction() as db:
        for i, (headline, body) in enumerate(rows):
            db.execute(
                "INSERT INTO articles (headline_hash, headline, body, first_seen_at, spaceless) "
                "VALUES (?, ?, ?, 'x', ?)",
                [f"h{i}", headline, body, int(i > 0)],
            )
    with Archive(tmp_path / "a.db", readonly=True) as archive:
        conn = archive.db.conn
        weights = ", ".join(str(w) for w in RANK_WEIGHTS)
        found = "SELECT rowid, bm25(articles_fts, {0}) FROM articles_fts WHERE articles_fts MATCH 'Tokyo'"
        words = dict(conn.execute(found.format(weights)))
        assert sorted(words) == [1, 2]
        best = [h["id"] for h in search(conn, "Tokyo", limit=3)]
        assert sorted(best) == [1, 2, 3]
        for limit in (1, 2, 3):
            hits = search(conn, "Tokyo", limit=limit)
            assert [h["id"] for h in hits] == best[:limit]
            for hit in hits:
                if hit["id"] in words:
                    assert hit["rank"] == round(words[hit["id"]], 4), (limit, hit)
        ranked_on: list[str] = []
        conn.set_trace_callback(lambda sql: ranked_on.append(sql) if "bm25(articles_trigram" in sql else None)
        try:
            search(conn, "Tokyo")
            assert len(ranked_on) == 1 and "json_each" in ranked_on[0]
            ranked_on.clear()
            assert headlines(search(conn, "English")) == ["A story"]
            assert ranked_on == []
        finally:
            conn.set_trace_callback(None)


def test_a_latin_word_inside_text_without_spaces_follows_the_articles_holding_it_as_a_word(tmp_path):
    """``JR`` is a word of the English story and part of a run of the Japanese one (``JR東海``):
    the word index finds the first, only the trigram index the second, which comes after it; and
    when the word index fills the page, the trigram index is not read at all (on an archive whose
    trigram index holds much Latin text, that reading was most of a rare word's time)."""
    path, f = tmp_path / "archive.db", tmp_path / "in" / "a.jsonl"
    f.parent.mkdir()
    lines = [
        {"headline": "JR trains run again", "body": "The JR line to the coast reopened on Monday after the storm."},
        {"headline": "大雨で新幹線が運転見合わせ", "body": "JR東海によると、運転再開の見通しは立っていない。"},
    ]
    f.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    with Archive(path) as archive:
        assert ingest(make_source(name="paper", kind="files", path=str(f)), archive).new == 2
    with Archive(path, readonly=True) as archive:
        conn = archive.db.conn
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        assert headlines(search(conn, "JR", limit=1)) == ["JR trains run again"]
        assert not [s for s in statements if "articles_trigram MATCH" in s]
        assert headlines(search(conn, "JR", limit=2)) == ["JR trains run again", "大雨で新幹線が運転見合わせ"]
        assert headlines(search(conn, "jr")) == ["JR trains run again", "大雨で新幹線が運転見合わせ"]
        assert [s for s in statements if "articles_trigram MATCH" in s]
        conn.set_trace_callback(None)
