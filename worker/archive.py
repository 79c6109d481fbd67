"""The SQLite archive: schema and migrations, the one writer's transactions, and the reads.

This is the only module that speaks SQL. Articles are append-only: the worker never updates or
deletes a row of ``articles``. Everything one batch of a run produces (articles, sightings,
fetch state such as ETags and file states, and at the end the run row and source state) is
written in one transaction, so a crash never advances state past articles that were not saved.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import sqlite_utils

from worker.dedupe import headline_hash
from worker.errors import ArchiveError
from worker.models import Article, Checkpoint, RunResult
from worker.timefmt import utcnow

SCHEMA_VERSION = 2
FTS_COLUMNS = ("headline", "dek", "body", "byline")
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
RANK_WEIGHTS = (10.0, 4.0, 1.0, 2.0)  # bm25 weights in FTS_COLUMNS order: the headline counts most
BUSY_TIMEOUT_MS = 30_000




def _migrate_1(db: sqlite_utils.Database) -> None:
    # small columns first, the long text last: a filter on source, date or language reads only
    # the start of a row, never the body's overflow pages (and Datasette shows them first)
    db["articles"].create(
        {
            "headline_hash": str, "headline": str, "source": str, "published_at": str, "first_seen_at": str,
            "lang": str, "publication": str, "byline": str, "dateline": str, "url": str,
            "headline_derived": int, "word_count": int, "content_hash": str, "dek": str, "body": str,
        },
        pk="headline_hash",
        not_null={"headline", "body", "first_seen_at"},
    )
    db["articles"].enable_fts(FTS_COLUMNS, fts_version="FTS5", create_triggers=True, tokenize=FTS_TOKENIZE)
    db["sightings"].create(
        {"id": int, "headline_hash": str, "source": str, "url": str, "seen_at": str,
         "content_hash": str, "run_id": int},
        pk="id",
    )
    db["runs"].create(
        {"id": int, "source": str, "trigger": str, "started_at": str, "finished_at": str, "status": str,
         "seen": int, "new": int, "duplicates": int, "skipped": int, "http_status": int,
         "not_modified": int, "bytes": int, "error": str, "pid": int},
        pk="id",
    )
    db["source_state"].create(
        {"source": str, "last_run_at": str, "last_status": str, "last_success_at": str,
         "consecutive_failures": int, "failing_since": str, "next_due_at": str, "last_error": str,
         "articles": int},
        pk="source",
    )
    db["fetch_state"].create(
        {"source": str, "key": str, "value": str, "updated_at": str}, pk=("source", "key")
    )
    # what each input (a checkpoint key) produced: lets a re-run record sightings without re-reading
    db["produced"].create({"source": str, "key": str, "headline_hash": str}, pk=("source", "key", "headline_hash"))
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["articles"].create_index(["source"])
    db["articles"].create_index(["published_at"])
    db["articles"].create_index(["first_seen_at"])
    db["articles"].create_index(["publication"])
    db["articles"].create_index(["lang"])
    db["sightings"].create_index(["headline_hash"])
    db["sightings"].create_index(["source", "seen_at"])
    db["runs"].create_index(["source", "started_at"])
    db["runs"].create_index(["status"])


def _migrate_2(db: sqlite_utils.Database) -> None:
    """FTS5's persistent rank weights the headline (as ``worker search`` does), so ``ORDER BY rank``
    in sqlite-utils, Datasette and plain SQL ranks alike; date filters use an index."""
    weights = ", ".join(str(w) for w in RANK_WEIGHTS)
    db.execute(f"INSERT INTO articles_fts(articles_fts, rank) VALUES ('rank', 'bm25({weights})')")
    db.execute("CREATE INDEX IF NOT EXISTS idx_articles_published_or_seen "
               "ON articles (coalesce(published_at, first_seen_at))")
    db.execute("CREATE INDEX IF NOT EXISTS idx_articles_source_published_or_seen "
               "ON articles (source, coalesce(published_at, first_seen_at))")


MIGRATIONS = {1: _migrate_1, 2: _migrate_2}


class Archive:
    """One connection to the archive file. Not shared between threads: open one per thread."""

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = str(path)
        try:
            if readonly:
                if not Path(self.path).exists():
                    raise ArchiveError(f"{self.path}: no archive here yet (run an ingest or backfill first)")
                conn = sqlite3.connect(f"file:{Path(self.path).resolve()}?mode=ro", uri=True, check_same_thread=False)
            else:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db = sqlite_utils.Database(conn)
            if not readonly:
                if self.db.journal_mode != "wal":
                    self.db.enable_wal()
                self.db.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            elif (version := self._version()) != SCHEMA_VERSION:
                raise ArchiveError(
                    f"{self.path}: archive schema version {version}, this worker reads {SCHEMA_VERSION}"
                    + (" (any ingest or backfill migrates it)" if 0 < version < SCHEMA_VERSION else "")
                )
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"{self.path}: cannot open archive ({exc})") from None

    def _version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, under the write lock (another connection may be
        migrating the same new file at the same moment)."""
        if self._version() == SCHEMA_VERSION:
            return
        with self._write():
            version = self._version()
            if version > SCHEMA_VERSION:
                raise ArchiveError(
                    f"{self.path}: schema version {version} is newer than this worker ({SCHEMA_VERSION})"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](self.db)
                self.db.execute(f"PRAGMA user_version = {target}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """One short write transaction. Within a process, writers take turns on a lock per
        archive file (the one writer); across processes (a backfill beside the service),
        BEGIN IMMEDIATE takes SQLite's write lock up front, so the busy timeout applies."""
        with _writer_lock(self.path):
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.conn.rollback()
                raise
            self.db.conn.commit()

    # -- reads used while ingesting --------------------------------------------------------

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Which of these headline hashes are archived already (in chunks of 500)."""
        hashes = list(dict.fromkeys(hashes))
        found: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT headline_hash FROM articles WHERE headline_hash IN ({marks})", chunk)
            found.update(r[0] for r in rows)
        return found

    def is_archived(self, headline: str) -> bool:
        return bool(self.known_hashes([headline_hash(headline)]))

    def fetch_state(self, source: str, key: str) -> str | None:
        """The value last checkpointed under ``key``, or None."""
        row = self.db.execute("SELECT value FROM fetch_state WHERE source = ? AND key = ?", [source, key]).fetchone()
        return row[0] if row else None

    # -- the writer ----------------------------------------------------------------------------

    def start_run(self, source: str, trigger: str, started_at: str) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO runs (source, trigger, started_at, status, pid) VALUES (?, ?, ?, 'running', ?)",
                [source, trigger, started_at, os.getpid()],
            )
            return cur.lastrowid

    def store(
        self,
        run_id: int,
        source: str,
        articles: Sequence[tuple[Article, str | None]],
        checkpoints: Sequence[tuple[Checkpoint, Sequence[str]]] = (),
        known: Sequence[tuple[str, str]] = (),
        finish: RunResult | None = None,
        next_due: Callable[[int], str | None] | None = None,
    ) -> tuple[list[bool], int]:
        """One transaction: new articles; a sighting for every article, and for every article
        that each ``known`` (checkpoint key, locator) input produced before; checkpoints with the
        headline hashes their input produced; and, when ``finish`` is given, the run row and the
        source's state (due again at ``next_due(consecutive failures)``). Returns, per article, whether it was new, and the number of known
        sightings. The run row's new/duplicates are ``finish``'s counts plus this batch's."""
        now = utcnow()
        with self._write() as db:
            hashes = [a.headline_hash for a, _ in articles]
            stored = self.known_hashes(hashes)
            fresh, is_new = [], []
            for (article, locator), h in zip(articles, hashes):
                new = h not in stored
                stored.add(h)
                is_new.append(new)
                if new:
                    fresh.append(_article_row(article, h, now))
            if fresh:
                db["articles"].insert_all(fresh, ignore=True)
            db.conn.executemany(
                "INSERT INTO sightings (headline_hash, source, url, seen_at, content_hash, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(h, source, a.url or locator, now, a.content_hash, run_id) for (a, locator), h in zip(articles, hashes)],
            )
            resighted = 0
            for key, locator in known:
                resighted += db.execute(
                    "INSERT INTO sightings (headline_hash, source, url, seen_at, content_hash, run_id) "
                    "SELECT a.headline_hash, ?, coalesce(a.url, ?), ?, a.content_hash, ? "
                    "FROM produced p JOIN articles a ON a.headline_hash = p.headline_hash "
                    "WHERE p.source = ? AND p.key = ?",
                    [source, locator, now, run_id, source, key],
                ).rowcount
            if checkpoints:
                db.conn.executemany(
                    "INSERT OR REPLACE INTO fetch_state (source, key, value, updated_at) VALUES (?, ?, ?, ?)",
                    [(source, c.key, c.value, now) for c, _ in checkpoints],
                )
                db.conn.executemany(
                    "INSERT OR IGNORE INTO produced (source, key, headline_hash) VALUES (?, ?, ?)",
                    [(source, c.key, h) for c, hs in checkpoints for h in hs],
                )
            if finish is not None:
                added = sum(is_new)
                finish = replace(finish, new=finish.new + added,
                                 duplicates=finish.duplicates + len(is_new) - added + resighted,
                                 seen=finish.seen + resighted)
                self._finish(run_id, finish, next_due)
        return is_new, resighted

    def _finish(self, run_id: int, r: RunResult, next_due: Callable[[int], str | None] | None) -> None:
        row = {k: v for k, v in asdict(r).items() if k not in ("run_id",)}
        row["not_modified"] = int(r.not_modified)
        self.db["runs"].update(run_id, row)
        prev = self.source_state(r.source) or {}
        failures = 0 if r.status == "ok" else int(prev.get("consecutive_failures") or 0) + (r.status == "error")
        failing_since = None if r.status == "ok" else (prev.get("failing_since") or r.started_at)
        count = self.db.execute("SELECT count(*) FROM articles WHERE source = ?", [r.source]).fetchone()[0]
        self.db["source_state"].upsert(
            {
                "source": r.source, "last_run_at": r.finished_at, "last_status": r.status,
                "last_success_at": r.finished_at if r.status == "ok" else prev.get("last_success_at"),
                "consecutive_failures": failures,
                "failing_since": failing_since if failures else None,
                "next_due_at": next_due(failures) if next_due else None, "last_error": r.error, "articles": count,
            },
            pk="source",
        )

    def mark_interrupted(self, pid: int | None = None) -> int:
        """Runs left 'running' by a process that is gone (or by ``pid``, a process about to exit)
        become 'interrupted'. Returns how many."""
        rows = self.db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
        stale = [rid for rid, p in rows if (p == pid if pid is not None else not _alive(p))]
        if stale:
            now = utcnow()
            with self._write() as db:
                for rid in stale:
                    db.execute(
                        "UPDATE runs SET status = 'interrupted', finished_at = ?, "
                        "error = coalesce(error, 'the worker stopped before the run finished') WHERE id = ?",
                        [now, rid],
                    )
        return len(stale)

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db["meta"].upsert({"key": key, "value": value}, pk="key")

    # -- reads for status --------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def source_state(self, source: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM source_state WHERE source = ?", [source]))
        return rows[0] if rows else None

    def status_rows(self) -> list[dict]:
        """Per source: its state, its last run and its totals."""
        return list(
            self.db.query(
                """
                SELECT s.source, s.last_status, s.last_run_at, s.last_success_at, s.next_due_at,
                       s.consecutive_failures, s.failing_since, s.last_error, s.articles,
                       r.new AS last_new, r.duplicates AS last_duplicates, r.skipped AS last_skipped,
                       r.not_modified AS last_not_modified, r.http_status AS last_http_status,
                       (SELECT count(*) FROM runs WHERE runs.source = s.source) AS runs
                FROM source_state s
                LEFT JOIN runs r ON r.id = (SELECT max(id) FROM runs WHERE runs.source = s.source
                                            AND status != 'running')
                ORDER BY s.source
                """
            )
        )

    def counts(self) -> dict[str, int]:
        return {
            t: self.db.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]
            for t in ("articles", "sightings", "runs")
        }

    # -- maintenance ------------------------------------------------------------------------

    def optimize(self) -> None:
        """Merge the full-text index into one b-tree (after a large backfill: faster searches),
        then refresh the query planner's statistics."""
        with self._write() as db:
            db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
        self.db.execute("PRAGMA optimize")


_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: str) -> threading.Lock:
    key = os.path.realpath(path)
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


def _article_row(article: Article, h: str, now: str) -> dict:
    return {
        "headline_hash": h, "headline": article.headline, "byline": article.byline,
        "published_at": article.published_at, "dek": article.dek, "body": article.body,
        "url": article.url, "source": article.source, "publication": article.publication,
        "dateline": article.dateline, "lang": article.lang, "word_count": article.word_count,
        "content_hash": article.content_hash, "headline_derived": int(article.headline_derived),
        "first_seen_at": now,
    }


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
