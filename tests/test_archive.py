"""The archive: schema, WAL, migrations, one transaction per batch, append-only articles."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from worker.archive import SCHEMA_VERSION, Archive, Batch
from worker.archive.schema import ARTICLE_COLUMNS
from worker.dedupe import headline_hash
from worker.errors import ArchiveError
from worker.models import Article, Checkpoint, RunResult, SourceState


def art(headline: str, body: str = "Some body text about the Taliban.", **kw) -> Article:
    return Article(headline=headline, body=body, source="s", **kw)


def finish(run_id: int, status: str = "ok", **kw) -> RunResult:
    return RunResult(
        source="s",
        trigger="manual",
        started_at="2024-01-01T00:00:00Z",
        finished_at="2024-01-01T00:00:01Z",
        status=status,
        run_id=run_id,
        **kw,
    )


def store(archive, run_id, articles=(), checkpoints=(), known=(), result=None, state=None):
    """One batch in one transaction, as the run's writer does; with ``result``, the run's last."""
    with archive.transaction():
        items = [(a, loc, None) for a, loc in articles]
        stored = archive.store(Batch(run_id, "s", items, list(checkpoints), list(known)))
        if result is not None:
            archive.finish_run(result, state or SourceState("s", last_status=result.status))
    return list(stored.outcomes), stored.resighted


def test_schema(archive, archive_path):
    db = archive.db
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.journal_mode == "wal"
    assert {"articles", "articles_fts", "sightings", "runs", "source_state", "fetch_state", "meta"} <= set(
        db.table_names()
    )
    assert db["articles"].detect_fts() == "articles_fts"
    assert db["articles"].pks == ["id"]
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    indexed = {tuple(i.columns) for i in db["articles"].indexes}
    assert {("source",), ("published_at",), ("headline_hash",), ("url",)} <= indexed
    assert {"version_rows", "versions_fts", "lsh", "lsh_latest", "lsh_recent", "produced"} <= set(db.table_names())
    assert "versions" in db.view_names()  # every version's whole text (migration 8)


def test_store_new_duplicates_and_sightings(archive):
    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    first = art("Taliban Attack a Provincial Capital in Afghanistan\u2019s North", url="https://a.example/1")
    again = art("taliban attack a provincial capital in afghanistan's north", url="https://b.example/2")
    other = art("Another headline entirely", body="Nothing to see here.")
    outcomes, resighted = store(
        archive,
        run,
        [(first, "loc1"), (again, "loc2"), (other, "loc3")],
        [(Checkpoint("file:/x", "1:2"), 1)],
        result=finish(run, new=2, duplicates=1),
    )
    assert (outcomes, resighted) == (["new", "duplicate", "new"], 0)
    rows = list(archive.db["articles"].rows)
    assert len(rows) == 2
    kept = archive.db["articles"].get(1)
    assert kept["headline_hash"] == headline_hash(first.headline)
    assert kept["body"] == first.body and kept["url"] == "https://a.example/1"  # never overwritten
    assert kept["word_count"] == 6 and kept["first_seen_at"].endswith("Z") and kept["version_count"] == 1
    sightings = list(archive.db.query("SELECT url, article_id, version FROM sightings ORDER BY id"))
    assert [(s["url"], s["article_id"], s["version"]) for s in sightings][:3] == [
        ("https://a.example/1", 1, 1),
        ("https://b.example/2", 1, 1),
        ("loc3", 2, 1),
    ]
    assert archive.fetch_state("s", "file:/x") == "1:2"
    assert archive.db.execute("SELECT article_id FROM produced WHERE key = 'file:/x'").fetchall() == [(1,)]
    # a later run that knows the input unchanged records sightings of what it produced
    later = archive.start_run("s", "backfill", "2024-01-01T00:00:00Z")
    assert store(archive, later, known=[("file:/x", "/x")], result=finish(later, duplicates=1)) == ([], 1)
    assert archive.db["runs"].get(later)["duplicates"] == 1
    run_row = archive.db["runs"].get(run)
    assert (run_row["status"], run_row["new"], run_row["duplicates"]) == ("ok", 2, 1)
    assert archive.db["source_state"].get("s")["articles"] == 2
    assert [h["headline"] for h in archive.db["articles"].search("taliban")] == [first.headline]


def test_a_failed_batch_writes_nothing(archive, monkeypatch):
    from worker.archive import store as store_module

    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")

    def boom(*a, **kw):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store_module.BatchWrites, "_sighting", boom)  # after the article and its version are written
    with pytest.raises(sqlite3.OperationalError):
        store(archive, run, [(art("A headline"), "x")], [(Checkpoint("http:u", "{}"), 1)])
    monkeypatch.undo()
    assert archive.db["articles"].count == 0
    assert archive.fetch_state("s", "http:u") is None
    assert archive.db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 0


def test_the_source_state_is_stored_as_given_and_read_back(archive):
    run = archive.start_run("s", "scheduled", "2024-01-01T00:00:00Z")
    state = SourceState(
        "s", "2024-01-01T00:00:01Z", "error", None, 2, "2023-12-31T00:00:00Z", "2030-01-01T00:00:00Z", "boom"
    )
    store(archive, run, result=finish(run, "error", error="boom"), state=state)
    assert archive.source_state("s") == state
    assert archive.source_state("other") is None


def test_writes_only_inside_a_transaction(archive):
    run = archive.start_run("s", "scheduled", "2024-01-01T00:00:00Z")
    with pytest.raises(RuntimeError, match="inside transaction"):
        archive.store(Batch(run, "s"))


def test_the_archive_columns_are_the_declared_ones(archive):
    assert [c.name for c in archive.db["articles"].columns] == [c.name for c in ARTICLE_COLUMNS]
    types = {c.name: c.type for c in archive.db["articles"].columns}
    assert all(types[c.name] == {str: "TEXT", int: "INTEGER"}[c.type] for c in ARTICLE_COLUMNS)


def test_runs_of_dead_processes_become_interrupted(archive):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run = archive.start_run("s", "backfill", "2024-01-01T00:00:00Z")
    archive.db.execute("UPDATE runs SET pid = ? WHERE id = ?", [int(dead.stdout), run])
    archive.db.conn.commit()
    mine = archive.start_run("s", "backfill", "2024-01-01T00:00:00Z")
    assert archive.mark_interrupted() == 1
    assert archive.db["runs"].get(run)["status"] == "interrupted"
    assert archive.db["runs"].get(mine)["status"] == "running"
    assert archive.mark_interrupted(pid=os.getpid()) == 1


def test_migrations(tmp_path):
    path = tmp_path / "a.db"
    sqlite3.connect(path).close()  # an empty file at version 0 is migrated
    with Archive(path) as a:
        assert a.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ArchiveError, match="newer than this worker"):
        Archive(path)


def test_readonly_and_not_a_database(tmp_path):
    with pytest.raises(ArchiveError, match="no archive here yet"):
        Archive(tmp_path / "missing.db", readonly=True)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchiveError, match="cannot open archive"):
        Archive(junk)


def test_an_archive_of_schema_2_migrates_with_nothing_lost(tmp_path):
    import sqlite_utils

    from worker.archive.schema import MIGRATIONS, rebuild_fts  # noqa: F401

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    for step in (1, 2):
        MIGRATIONS[step](db)
    db.execute("PRAGMA user_version = 2")
    db["articles"].insert(
        {
            "headline_hash": "h1",
            "headline": "Old story",
            "body": "Kept text about ferries.",
            "first_seen_at": "2024-01-01T00:00:00Z",
            "published_at": "2023-12-31T23:00:00Z",
            "source": "s",
            "content_hash": "c1",
        }
    )
    db["sightings"].insert(
        {
            "headline_hash": "h1",
            "source": "s",
            "url": "u",
            "seen_at": "2024-01-01T00:00:00Z",
            "content_hash": "c1",
            "run_id": 1,
        }
    )
    db.conn.commit()
    db.close()
    with Archive(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        (row,) = archive.db.query("SELECT * FROM articles")
        assert row["body"] == "Kept text about ferries." and row["published_utc"] == "2023-12-31T23:00:00Z"
        assert (row["id"], row["version"], row["version_count"], row["headline_hash"]) == (
            1,
            1,
            1,
            headline_hash("Old story"),
        )  # the hash as the archive takes headlines now
        (sighting,) = archive.db.query("SELECT * FROM sightings")
        assert (sighting["article_id"], sighting["version"], sighting["content_hash"]) == (1, 1, "c1")
        (version,) = archive.db.query("SELECT * FROM versions")
        assert (version["article_id"], version["version"], version["reason"], version["body"]) == (
            1,
            1,
            "first",
            "Kept text about ferries.",
        )
        assert [r["headline"] for r in archive.db["articles"].search("ferries")] == ["Old story"]


def test_rebuild_fts_with_another_tokenizer(archive):
    from worker.archive.schema import rebuild_fts

    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    store(
        archive,
        run,
        [
            (art("梁振英宣布不競選連任", body="香港特首梁振英宣布不會競選連任。"), "x"),
            (art("Ferries run again", body="The ferries are running."), "y"),
        ],
    )
    assert archive.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '梁振英'").fetchone()[0] == 0
    with archive.transaction() as db:
        rebuild_fts(db, "trigram", table="articles_trigram")
    hits = archive.db.execute("SELECT rowid FROM articles_trigram WHERE articles_trigram MATCH '梁振英'").fetchall()
    assert len(hits) == 1
    store(archive, run, [(art("Another 梁振英 report", body="梁振英 again."), "z")])  # triggers keep it in step
    assert (
        archive.db.execute("SELECT count(*) FROM articles_trigram WHERE articles_trigram MATCH '梁振英'").fetchone()[0]
        == 2
    )
    assert archive.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'ferries'").fetchone()[0] == 1
    with archive.transaction() as db:
        rebuild_fts(db)  # the main index, rebuilt as it was
    assert archive.db["articles"].detect_fts() in ("articles_fts", "articles_trigram")
    assert archive.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'ferry'").fetchone()[0] == 1


def test_backup_is_a_consistent_copy_while_writes_go_on(archive, tmp_path):
    from worker.errors import ArchiveError

    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    store(archive, run, [(art(f"Headline {i}", body=f"Body {i} text."), f"l{i}") for i in range(300)])
    with Archive(archive.path, readonly=True) as reader:
        reader.backup(tmp_path / "copy.db", pages=1)  # one page a step: the writer below runs between steps
        store(archive, run, [(art("Written during the backup"), "x")])
    with Archive(tmp_path / "copy.db", readonly=True) as copy:
        assert copy.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.db["articles"].count in (300, 301)
    assert not (tmp_path / "copy.db.partial").exists()
    with pytest.raises(ArchiveError, match="already exists"):
        archive.backup(tmp_path / "copy.db")


def test_band_keys_move_down_their_levels_and_are_found_in_every_one(archive, monkeypatch):
    """New band keys go into lsh_latest; a full level moves into the next (here after 30 and
    120 keys); the keys stay where a near-duplicate under another headline finds them."""
    from tests.test_revisions import story
    from worker.archive import lsh

    monkeypatch.setattr(lsh, "LEVELS", (("lsh_latest", 30), ("lsh_recent", 120), ("lsh", None)))
    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    bodies = [story(500 + i, sentences=10) for i in range(20)]
    stored = []
    for i, body in enumerate(bodies):  # one article a batch: a level fills between two batches
        stored.append(art(f"Story number {i}", body, url=f"https://a.example/{i}"))
        store(archive, run, [(stored[-1], f"https://a.example/{i}")])
    keys = {(k, aid) for aid, a in enumerate(stored, start=1) for k in a.band_keys}
    assert len(keys) == 12 * len(bodies)

    def level(table):
        return set(archive.db.execute(f"SELECT key, article_id FROM {table}").fetchall())

    latest, recent, oldest = level("lsh_latest"), level("lsh_recent"), level("lsh")
    assert latest | recent | oldest == keys  # every key kept, each in one level
    assert len(latest) + len(recent) + len(oldest) == len(keys)
    assert 0 < len(latest) < 30 and 0 < len(recent) < 120 and oldest
    levels = {aid: t for t, found in (("latest", latest), ("recent", recent), ("lsh", oldest)) for _, aid in found}
    assert [levels[aid] for aid in (1, 15, 20)] == ["lsh", "recent", "latest"]
    for aid in (1, 15, 20):  # one article whose keys are in each level
        url = f"https://b.example/{aid}"
        copy = art(f"Another paper's headline {aid}", "By a correspondent.\n\n" + bodies[aid - 1], url=url)
        assert store(archive, run, [(copy, url)])[0] == ["new"]
        (cluster,) = archive.db.execute("SELECT cluster FROM articles WHERE url = ?", [url]).fetchone()
        assert cluster == aid, levels[aid]


def test_an_archive_of_schema_7_migrates_and_its_texts_and_keys_are_kept(tmp_path):
    """Migration 8: versions become version_rows behind a view of the same name and columns;
    rows written before keep their text, the band keys stay in lsh and are still found."""
    import sqlite_utils

    from tests.test_revisions import story
    from worker.archive.schema import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    for step in range(1, 8):
        MIGRATIONS[step](db)
    db.execute("PRAGMA user_version = 7")
    old = art("Ferry timetable changes", story(700, sentences=10), url="https://a.example/ferry")
    db.execute(
        "INSERT INTO articles (headline_hash, headline, body, first_seen_at, url, content_hash, version, "
        "version_count) VALUES (?, ?, ?, '2024-01-01T00:00:00Z', ?, ?, 1, 1)",
        [old.headline_hash, old.headline, old.body, old.url, old.content_hash],
    )
    db.execute(
        "INSERT INTO versions (article_id, version, reason, seen_at, url, content_hash, headline, body) "
        "VALUES (1, 1, 'first', '2024-01-01T00:00:00Z', ?, ?, ?, ?)",
        [old.url, old.content_hash, old.headline, old.body],
    )
    db.conn.executemany("INSERT INTO lsh (key, article_id) VALUES (?, 1)", [(k,) for k in old.band_keys])
    db.conn.commit()
    db.close()
    with Archive(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        (version,) = archive.db.query("SELECT * FROM versions")
        assert (version["version"], version["reason"], version["body"]) == (1, "first", old.body)
        run = archive.start_run("s", "manual", "2024-01-02T00:00:00Z")
        edited = art(old.headline, old.body + "\n\nA late sailing was added.", url=old.url)
        copy = art("Ferries to sail at new times", "From the wire.\n\n" + old.body, url="https://b.example/f")
        assert store(archive, run, [(edited, old.url), (copy, copy.url)])[0] == ["edit", "new"]
        texts = archive.db.execute("SELECT version, body FROM versions WHERE article_id = 1 ORDER BY version")
        assert texts.fetchall() == [(1, old.body), (2, edited.body)]
        (cluster,) = archive.db.execute("SELECT cluster FROM articles WHERE url = ?", [copy.url]).fetchone()
        assert cluster == 1  # found through the keys lsh held before the migration


def test_the_text_an_article_shows_is_stored_once_and_kept_when_it_changes(archive):
    """A version's row holds its text unless it is the one its article shows (``shown``); an edit
    moves the shown text into its row first; a copy keeps its own text; the view shows them all."""
    from tests.test_revisions import story

    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    first = art("Bridge to close for repairs", story(800, sentences=10), url="https://a.example/bridge")
    store(archive, run, [(first, first.url)])

    def stored():
        return archive.db.execute("SELECT version, reason, shown, body FROM version_rows ORDER BY version").fetchall()

    assert stored() == [(1, "first", 1, "")]  # the text is the article's, not stored again
    edit = art(first.headline, first.body + "\n\nThe work will take a month.", url=first.url)
    copy = art(first.headline, first.body + "\n\nCopyright Example Wire.", url="https://wire.example/b")
    assert store(archive, run, [(edit, edit.url)])[0] == ["edit"]
    assert store(archive, run, [(copy, copy.url)])[0] == ["copy"]
    assert stored() == [(1, "first", 0, first.body), (2, "edit", 1, ""), (3, "copy", 0, copy.body)]
    view = archive.db.execute("SELECT version, body FROM versions ORDER BY version").fetchall()
    assert view == [(1, first.body), (2, edit.body), (3, copy.body)]
    (shown,) = archive.db.execute("SELECT body FROM articles").fetchone()
    assert shown == edit.body


def test_a_batch_of_new_articles_goes_in_as_few_statements_with_the_ids_sqlite_would_give(archive, monkeypatch):
    """New articles wait and go in together (a few multi-row statements, not one per row), with
    ids the writer gives: consecutive after the largest, as SQLite's own would be."""
    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    store(archive, run, [(art("Earlier story", "An earlier text about ferries."), "f0")])
    statements: list[str] = []
    execute = archive.db.execute

    def recorded(sql, *args):
        statements.append(sql)
        return execute(sql, *args)

    monkeypatch.setattr(archive.db, "execute", recorded)
    batch = [(art(f"Story {i}", f"Text {i} about bridges and roads."), f"f{i}") for i in range(1, 101)]
    outcomes, _ = store(archive, run, batch)
    assert outcomes == ["new"] * 100
    inserts = [s for s in statements if s.startswith(("INSERT INTO articles (", "INSERT INTO version_rows ("))]
    assert 2 <= len(inserts) <= 10  # 200 rows
    assert sum(s.startswith("INSERT INTO sightings (") for s in statements) == 1
    ids = [r[0] for r in execute("SELECT id FROM articles ORDER BY id")]
    assert ids == list(range(1, 102))
    last = execute("SELECT article_id, version, body FROM versions ORDER BY id DESC LIMIT 1").fetchone()
    assert last == (101, 1, "Text 100 about bridges and roads.")


def test_the_writer_keeps_more_pages_in_memory_than_sqlites_default(archive, archive_path):
    from worker.archive import WRITER_CACHE_KB

    assert archive.db.execute("PRAGMA cache_size").fetchone() == (-WRITER_CACHE_KB,)
    assert WRITER_CACHE_KB > 2000  # SQLite's default: 2,000 KiB
    with Archive(archive_path, readonly=True) as reader:  # readers keep SQLite's own setting
        assert reader.db.execute("PRAGMA cache_size").fetchone() == (-2000,)


def test_an_archive_of_schema_8_migrates_and_drops_only_the_index_no_query_used(tmp_path):
    """Migration 9 drops the index of versions by content hash (written for every new article,
    read by nothing); the versions and their hashes stay, and a text seen again is a duplicate."""
    import sqlite_utils

    from worker.archive.schema import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    for step in range(1, 9):
        MIGRATIONS[step](db)
    db.execute("PRAGMA user_version = 8")
    db.conn.commit()
    assert "idx_versions_content_hash" in {i.name for i in db.table("version_rows").indexes}
    db.close()
    with Archive(path) as archive:
        run = archive.start_run("s", "manual", "2024-01-02T00:00:00Z")
        first = art("Ferry timetable changes", "The ferry sails at nine from the north pier.", url="https://a/f")
        assert store(archive, run, [(first, first.url), (first, first.url)])[0] == ["new", "duplicate"]
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {i.name for i in archive.db.table("version_rows").indexes}
        assert "idx_versions_content_hash" not in names and "idx_versions_seen_at" in names
        assert [r["content_hash"] for r in archive.db.query("SELECT content_hash FROM versions")] == [
            first.content_hash
        ]


def test_articles_compared_only_with_archived_ones_are_written_in_one_statement(tmp_path):
    """Twelve new stories, each under the headline of an archived one (a candidate to compare
    with, already written): the batch writes its new articles together, as when nothing
    matches, instead of once per article. An article compared with one waiting in the same
    batch still finds it (the second "Corrections" of a batch: test_revisions)."""
    from tests.test_revisions import story

    with Archive(tmp_path / "a.db") as archive:
        run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
        heads = [f"Corrections and clarifications {i}" for i in range(12)]
        old = [(art(h, story(i), url=f"https://p.example/old/{i}"), f"old/{i}") for i, h in enumerate(heads)]
        assert store(archive, run, old)[0] == ["new"] * 12
        statements: list[str] = []
        archive.db.conn.set_trace_callback(statements.append)
        new = [(art(h, story(100 + i), url=f"https://p.example/new/{i}"), f"new/{i}") for i, h in enumerate(heads)]
        outcomes = store(archive, run, new)[0]
        archive.db.conn.set_trace_callback(None)
        assert outcomes == ["new"] * 12
        # (each row's triggers report the articles' statement again: its versions' has none)
        assert sum(s.startswith("INSERT INTO version_rows ") for s in statements) == 1
        same = archive.db.execute("SELECT headline, count(*) FROM articles GROUP BY headline_hash").fetchall()
        assert sorted(same) == sorted((h, 2) for h in heads)


def test_a_finished_run_writes_its_row_and_state_without_changing_the_schema(tmp_path):
    """Finishing a run is an UPDATE and an upsert: no table made and dropped on the way (as
    sqlite-utils' upsert does to learn whether SQLite has upserts), so the schema stays as it
    is for every reader, and a run finished twice leaves one state row with the latest."""
    with Archive(tmp_path / "a.db") as archive:
        run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
        (before,) = archive.db.execute("PRAGMA schema_version").fetchone()
        store(archive, run, [(art("Ferry times"), "f")], result=finish(run, new=1))
        store(archive, run, [], result=finish(run, status="error", error="boom"))
        assert archive.db.execute("PRAGMA schema_version").fetchone() == (before,)
        row = archive.db.execute("SELECT source, trigger, started_at, status, error FROM runs").fetchall()
        assert row == [("s", "manual", "2024-01-01T00:00:00Z", "error", "boom")]
        states = archive.db.execute("SELECT source, last_status, articles FROM source_state").fetchall()
        assert states == [("s", "error", 1)]
