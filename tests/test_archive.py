"""The archive: schema, WAL, migrations, one transaction per batch, append-only articles."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from worker.archive import SCHEMA_VERSION, Archive
from worker.dedupe import headline_hash
from worker.errors import ArchiveError
from worker.models import Article, Checkpoint, RunResult


def art(headline: str, body: str = "Some body text about the Taliban.", **kw) -> Article:
    return Article(headline=headline, body=body, source="s", **kw)


def finish(run_id: int, status: str = "ok", **kw) -> RunResult:
    return RunResult(source="s", trigger="manual", started_at="2024-01-01T00:00:00Z",
                     finished_at="2024-01-01T00:00:01Z", status=status, run_id=run_id, **kw)


def test_schema(archive, archive_path):
    db = archive.db
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.journal_mode == "wal"
    assert {"articles", "articles_fts", "sightings", "runs", "source_state", "fetch_state", "meta"} <= set(
        db.table_names()
    )
    assert db["articles"].detect_fts() == "articles_fts"
    assert db["articles"].pks == ["headline_hash"]
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    indexed = {tuple(i.columns) for i in db["articles"].indexes}
    assert {("source",), ("published_at",)} <= indexed


def test_store_new_duplicates_and_sightings(archive):
    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    first = art("Taliban Attack a Provincial Capital in Afghanistan\u2019s North", url="https://a.example/1")
    again = art("taliban attack a provincial capital in afghanistan's north", body="Other text", url="https://b.example/2")
    other = art("Another headline entirely", body="Nothing to see here.")
    is_new, resighted = archive.store(run, "s", [(first, "loc1"), (again, "loc2"), (other, "loc3")],
                                      [(Checkpoint("file:/x", "1:2"), [headline_hash(first.headline)])],
                                      finish=finish(run))
    assert (is_new, resighted) == ([True, False, True], 0)
    rows = list(archive.db["articles"].rows)
    assert len(rows) == 2
    kept = archive.db["articles"].get(headline_hash(first.headline))
    assert kept["body"] == first.body and kept["url"] == "https://a.example/1"  # never overwritten
    assert kept["word_count"] == 6 and kept["first_seen_at"].endswith("Z")
    sightings = list(archive.db.query("SELECT url FROM sightings ORDER BY id"))
    assert [s["url"] for s in sightings][:3] == ["https://a.example/1", "https://b.example/2", "loc3"]
    assert archive.fetch_state("s", "file:/x") == "1:2"
    assert archive.db.execute("SELECT headline_hash FROM produced WHERE key = 'file:/x'").fetchall() == [
        (headline_hash(first.headline),)]
    # a later run that knows the input unchanged records sightings of what it produced
    later = archive.start_run("s", "backfill", "2024-01-01T00:00:00Z")
    assert archive.store(later, "s", [], known=[("file:/x", "/x")], finish=finish(later)) == ([], 1)
    assert archive.db["runs"].get(later)["duplicates"] == 1
    run_row = archive.db["runs"].get(run)
    assert (run_row["status"], run_row["new"], run_row["duplicates"]) == ("ok", 2, 1)
    assert archive.source_state("s")["articles"] == 2
    assert [h["headline"] for h in archive.db["articles"].search("taliban")] == [first.headline]


def test_a_failed_batch_writes_nothing(archive, monkeypatch):
    run = archive.start_run("s", "manual", "2024-01-01T00:00:00Z")
    table = archive.db["sightings"]

    def boom(*a, **kw):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(type(table), "insert_all", boom)
    with pytest.raises(sqlite3.OperationalError):
        archive.store(run, "s", [(art("A headline"), "x")], [(Checkpoint("http:u", "{}"), [])])
    monkeypatch.undo()
    assert archive.db["articles"].count == 0
    assert archive.fetch_state("s", "http:u") is None
    assert archive.db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 0


def test_failures_count_up_and_reset(archive):
    for status in ("error", "error"):
        run = archive.start_run("s", "scheduled", "2024-01-01T00:00:00Z")
        archive.store(run, "s", [], finish=finish(run, status, error="boom"), next_due=lambda failures: "2030-01-01T00:00:00Z")
    state = archive.source_state("s")
    assert state["consecutive_failures"] == 2 and state["failing_since"] and state["next_due_at"]
    run = archive.start_run("s", "scheduled", "2024-01-01T00:00:00Z")
    archive.store(run, "s", [], finish=finish(run))
    state = archive.source_state("s")
    assert state["consecutive_failures"] == 0 and state["failing_since"] is None and state["next_due_at"] is None


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
