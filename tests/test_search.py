"""worker.search and `worker search`: ranking, filters, snippets, and queries FTS5 cannot parse."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.query_archive import ROOT, build_archive
from worker.archive import Archive
from worker.export import rows
from worker.search import Filters, SearchError, quote_query, search


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("search") / "archive.db")


@pytest.fixture()
def conn(archive_path):
    with Archive(archive_path, readonly=True) as archive:
        yield archive.db.conn


def cli(archive_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "worker", "--archive", str(archive_path), "search", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def headlines(hits):
    return [h["headline"] for h in hits]


def test_hyphenated_name_finds_the_article(conn):
    hits = search(conn, "Qala-e-Naw")
    assert headlines(hits) == ["Fighters enter Qala-e-Naw as the provincial capital comes under siege"]
    assert "[Qala-e-Naw]" in hits[0]["snippet"]


def test_headline_match_ranks_above_body_match(conn):
    hits = search(conn, "taliban")
    assert headlines(hits) == [
        "Taliban talks stall in Doha as fighting spreads",
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege",
    ]
    assert hits[0]["rank"] < hits[1]["rank"]


def test_all_words_must_match_and_prefix_star_works(conn):
    assert headlines(search(conn, "sea wall")) == ["Harbour town votes to rebuild its old sea wall"]
    assert search(conn, "sea frost") == []
    assert len(search(conn, "fight*")) == 2


def test_filters(conn):
    assert headlines(search(conn, "taliban", filters=Filters(source="wire"))) == [
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege"
    ]
    assert headlines(search(conn, "taliban", filters=Filters(since="2021-07-08"))) == [
        "Taliban talks stall in Doha as fighting spreads"
    ]
    assert headlines(search(conn, "taliban", filters=Filters(until="2021-07-07"))) == [
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege"
    ]
    assert headlines(search(conn, "fluss", filters=Filters(lang="de"))) == ["Neue Brücke über den Fluss eröffnet"]
    assert search(conn, "fluss", filters=Filters(lang="en")) == []
    with pytest.raises(SearchError, match="ISO date"):
        search(conn, "taliban", filters=Filters(since="last tuesday"))


def test_date_filters_use_first_seen_when_the_published_date_is_unknown(conn):
    market = "Farmers Market Moves to the Old Station Yard"
    row = conn.execute("SELECT published_at, first_seen_at FROM articles WHERE headline = ?", [market]).fetchone()
    assert row[0] is None and row[1]  # undated, first seen when the archive was built
    day = row[1][:10]
    assert headlines(search(conn, "market station", filters=Filters(since=day, until=day))) == [market]
    assert search(conn, "market station", filters=Filters(until="2021-12-31")) == []


def test_a_small_window_gives_the_same_hits(conn):
    """The two-stage ranking: a window smaller than the match count grows until it holds enough."""
    for query, filters in [("the", Filters()), ("the", Filters(source="local")), ("taliban", Filters(lang="en"))]:
        full = search(conn, query, filters=filters, window=None)
        assert full
        assert search(conn, query, filters=filters, window=1) == full


def test_window_ranks_the_newest_matches(conn):
    """With more matches than the window, only the newest ones are scored (bm25 as in a full ranking)."""
    full = {h["headline"]: h["rank"] for h in search(conn, "the", window=None, limit=100)}
    windowed = search(conn, "the", window=2, limit=2)
    assert len(windowed) == 2
    for hit in windowed:
        assert hit["rank"] == full[hit["headline"]]


def test_quote_query():
    assert quote_query("Qala-e-Naw taliban") == '"Qala-e-Naw" "taliban"'
    assert quote_query('say "hi') == '"say" "hi"'
    assert quote_query("fight* AND OR") == '"fight"* "AND" "OR"'
    assert quote_query('* ( ) "') == ""


def test_raw_passes_fts5_syntax_through(conn):
    assert headlines(search(conn, "NEAR(fighters capital, 10)", raw=True)) == [
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege"
    ]
    assert headlines(search(conn, "headline:taliban", raw=True)) == ["Taliban talks stall in Doha as fighting spreads"]
    assert len(search(conn, "frost OR wall", raw=True)) == 2
    with pytest.raises(SearchError, match="not a valid FTS5 query"):
        search(conn, "NEAR(", raw=True)


def test_cli_table(archive_path):
    out = cli(archive_path, "taliban")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["1", "2021-07-09", "local"]
    assert "Taliban talks stall in Doha" in lines[0]
    assert "[Taliban]" in lines[1]
    assert lines[-1] == "2 matches"


def test_cli_json_one_object_per_hit(archive_path):
    out = cli(
        archive_path,
        "Qala-e-Naw",
        "--json",
        "--source",
        "wire",
        "--since",
        "2021-01-01",
        "--until",
        "2021-12-31",
        "--lang",
        "en",
    )
    assert out.returncode == 0, out.stderr
    hits = [json.loads(line) for line in out.stdout.splitlines()]
    assert [h["url"] for h in hits] == ["https://wire.example/qala-e-naw-siege"]
    assert {"headline", "snippet", "rank", "source", "published_at"} <= hits[0].keys()


@pytest.mark.parametrize("query", ['"', "AND OR", "*", "NEAR(", "Qala-e-Naw)", "(", "-", "NOT", "a:b", "^"])
def test_cli_never_shows_a_traceback(archive_path, query):
    for extra in ([], ["--raw"]):
        out = cli(archive_path, query, *extra)
        assert "Traceback" not in out.stderr
        if out.returncode == 0:
            assert out.stdout.strip()
        else:
            assert out.returncode == 1
            assert out.stderr.startswith("Error: ")
            assert len(out.stderr.strip().splitlines()) == 1


def test_cli_messages(archive_path):
    assert cli(archive_path, "AND OR").stdout == "no matches\n"
    out = cli(archive_path, '"')
    assert out.returncode == 1 and "nothing to search for" in out.stderr
    out = cli(archive_path, "*")
    assert out.returncode == 1 and "nothing to search for" in out.stderr
    out = cli(archive_path, "NEAR(", "--raw")
    assert out.returncode == 1 and "not a valid FTS5 query" in out.stderr and "leave out --raw" in out.stderr
    out = cli(archive_path, "Qala-e-Naw", "--raw")
    assert out.returncode == 1 and "not a valid FTS5 query" in out.stderr
    out = cli(archive_path, "NEAR(")  # without --raw: the word NEAR
    assert out.returncode == 0 and out.stdout == "no matches\n"


def test_cli_missing_archive(tmp_path):
    out = cli(tmp_path / "nothing.db", "taliban")
    assert out.returncode == 1 and "no archive here yet" in out.stderr


def test_rank_is_configured_for_sqlite_utils_and_datasette(conn):
    """ORDER BY rank (what sqlite-utils search uses) weights the headline as worker search does."""
    rows = conn.execute(
        "SELECT a.headline FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH 'taliban' ORDER BY rank"
    ).fetchall()
    assert rows[0][0] == "Taliban talks stall in Doha as fighting spreads"
    assert (
        conn.execute("SELECT v FROM articles_fts_config WHERE k = 'rank'").fetchone()[0] == "bm25(10.0, 4.0, 1.0, 2.0)"
    )


@pytest.mark.parametrize("until", ["9999-12-31", "9999-12", "9999", "9999-12-31T23:59:59Z"])
def test_until_the_last_day_there_is(conn, until):
    """--until 9999-12-31 has no next day: it bounds nothing rather than overflow (issue 13, item 17)."""
    assert len(search(conn, "taliban", filters=Filters(until=until))) == 2
    assert len(search(conn, "taliban", filters=Filters(since="0001-01-01", until=until))) == 2


def test_cli_until_the_last_day_there_is(archive_path):
    out = cli(archive_path, "taliban", "--until", "9999-12-31")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "2 matches"


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory):
    """3,000 generated articles of 150 words from a vocabulary of eight, 'alpha' among them."""
    import random

    from worker.archive.schema import COLUMN_NAMES

    path = tmp_path_factory.mktemp("big") / "archive.db"
    rnd = random.Random(13)
    words = ["alpha", "beta", "gamma", "delta", "river", "town", "council", "vote"]
    rows = []
    for i in range(3000):
        row = dict.fromkeys(COLUMN_NAMES)
        row.update(
            headline_hash=f"h{i}",
            headline=f"Story {i} alpha",
            source="gen",
            first_seen_at="2024-01-01",
            body=" ".join(rnd.choice(words) for _ in range(150)),
        )
        rows.append([row[c] for c in COLUMN_NAMES])
    with Archive(path) as archive, archive.db.conn:
        archive.db.conn.executemany(
            f"INSERT INTO articles ({', '.join(COLUMN_NAMES)}) VALUES ({', '.join('?' * len(COLUMN_NAMES))})", rows
        )
    return path


def test_a_costly_near_query_is_refused_at_once(big_archive):
    """NEAR(alpha x400, 10) ran for minutes (issue 13, item 11): its size is bounded."""
    near = "NEAR(" + " ".join(["alpha"] * 400) + ", 10)"
    started = time.monotonic()
    out = cli(big_archive, near, "--raw")
    assert out.returncode == 1, out.stdout
    assert out.stderr == "Error: query too costly: NEAR() with 400 terms, at most 10 in one NEAR group\n"
    out = export(big_archive, near, "--raw")
    assert out.returncode == 1 and out.stderr.startswith("Error: query too costly") and out.stdout == ""
    assert time.monotonic() - started < 20
    out = cli(big_archive, " ".join(["alpha"] * 101))
    assert out.returncode == 1 and out.stderr == "Error: query too long: 101 terms, at most 100\n"


def test_near_within_bounds_still_works(big_archive):
    with Archive(big_archive, readonly=True) as archive:
        hits = search(archive.db.conn, "NEAR(" + " ".join(["alpha"] * 10) + ", 10)", raw=True, limit=5)
    assert len(hits) == 5


def test_a_query_past_its_time_is_stopped(big_archive, monkeypatch):
    """Any query shape: SQLite's time is bounded by a deadline (search.QUERY_SECONDS)."""
    import worker.search

    slow = " ".join(["a*"] * 99)  # within the term bound, a tenth of a second or more here
    monkeypatch.setattr(worker.search, "QUERY_SECONDS", 0.005)
    with Archive(big_archive, readonly=True) as archive:
        conn = archive.db.conn
        with pytest.raises(SearchError, match=r"^query took too long: stopped after 0.005 s"):
            search(conn, slow, raw=True)
        with pytest.raises(SearchError, match=r"^query took too long"):
            list(rows(conn, slow, raw=True))
        monkeypatch.setattr(worker.search, "QUERY_SECONDS", 10.0)
        assert len(search(conn, slow, raw=True, limit=3)) == 3
        assert sum(1 for _ in rows(conn, "alpha")) == 3000  # an export's time is bounded per row only
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (3000,)  # no handler left behind


def export(archive_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "worker", "--archive", str(archive_path), "export", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
