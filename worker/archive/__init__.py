"""The SQLite archive: one connection to the file, its transactions, and the reads the run,
the scheduler and ``worker status`` make.

The schema is declared in ``worker.archive.schema``, the writer's SQL is in
``worker.archive.store``; search and export read the archive with their own queries. One
writer per archive file: within a process writers take turns on a lock, across processes
``BEGIN IMMEDIATE`` and the busy timeout order them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from worker.archive.runs import finish_run, upsert
from worker.archive.schema import APPLICATION_ID, MIGRATIONS, RANK_WEIGHTS, SCHEMA_VERSION
from worker.archive.store import Batch, Stored, store_batch
from worker.errors import ArchiveDamaged, ArchiveError, ArchiveFull, ArchiveReadOnly
from worker.models import RunResult, SourceState
from worker.similarity import ShingleCache
from worker.timefmt import utcnow

WRITER_CACHE_KB = 16384  # SQLite's page cache of a writing connection (5% more text articles a second at 100,000)

__all__ = ["RANK_WEIGHTS", "SCHEMA_VERSION", "Archive", "Batch", "Stored", "archive_error", "is_worker_archive"]

BUSY_TIMEOUT_MS = 30_000


class Archive:
    """One connection to the archive file. Not shared between threads: open one per thread."""

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = str(path)
        self._shingled = ShingleCache()  # of the bodies the writer compared lately
        self.immutable = False  # opened without locks: a read-only file whose WAL index cannot be made
        try:
            self.db = sqlite_utils.Database(self._reader() if readonly else self._writer())
            if not readonly:
                if self.db.journal_mode != "wal":
                    self.db.enable_wal()
                self.db.execute("PRAGMA synchronous = NORMAL")
                # the writer's pages (indexes, band keys) in memory: SQLite's default is 2 MB
                self.db.execute(f"PRAGMA cache_size = {-WRITER_CACHE_KB}")
                self._migrate()
            elif (version := self._version()) != SCHEMA_VERSION:
                raise ArchiveError(
                    f"{self.path}: archive schema version {version}, this worker reads {SCHEMA_VERSION}"
                    + (" (any ingest or backfill migrates it)" if 0 < version < SCHEMA_VERSION else "")
                )
        except sqlite3.DatabaseError as exc:
            if not readonly and Path(self.path).exists() and not _writable(Path(self.path)):
                raise ArchiveReadOnly(
                    f"cannot write the archive {self.path}: it is read-only (the file or its "
                    f"folder cannot be written; reading works)"
                ) from None
            raise archive_error(exc, self.path, opening=True) from None

    def _writer(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection; where SQLite cannot make the WAL index beside a read-only
        file (a read-only mount, a folder the user may not write), an immutable one."""
        if not Path(self.path).exists():
            raise ArchiveError(f"{self.path}: no archive here yet (run an ingest or backfill first)")
        uri = f"file:{Path(self.path).resolve()}"
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc) and "readonly" not in str(exc):
                raise
            conn.close()
            conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self.immutable = True
        return conn

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, under the write lock (another connection may be
        migrating the same new file at the same moment)."""
        if self._version() == SCHEMA_VERSION:
            return
        with self.transaction():
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

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
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

    # -- the writer (inside a transaction) ----------------------------------------------------

    def store(self, batch: Batch) -> Stored:
        """Store one batch of a run (call inside ``transaction()``)."""
        self._in_transaction()
        return store_batch(self.db, batch, utcnow(), self._shingled)

    def finish_run(self, result: RunResult, state: SourceState | None) -> None:
        """Write the run row and the source's state, unless None (call inside ``transaction()``,
        with the run's last batch)."""
        self._in_transaction()
        finish_run(self.db, result, state)

    def _in_transaction(self) -> None:
        if not self.db.conn.in_transaction:
            raise RuntimeError("the archive writes batches inside transaction() only")

    def start_run(self, source: str, trigger: str, started_at: str) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (source, trigger, started_at, status, pid) VALUES (?, ?, ?, 'running', ?)",
                [source, trigger, started_at, os.getpid()],
            )
            return int(cur.lastrowid or 0)

    def mark_interrupted(self, pid: int | None = None) -> int:
        """Runs left 'running' by a process that is gone (or by ``pid``, a process about to exit)
        become 'interrupted'. Returns how many."""
        rows = self.db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
        stale = [rid for rid, p in rows if (p == pid if pid is not None else not _alive(p))]
        if stale:
            now = utcnow()
            with self.transaction() as db:
                for rid in stale:
                    db.execute(
                        "UPDATE runs SET status = 'interrupted', finished_at = ?, "
                        "error = coalesce(error, 'the worker stopped before the run finished') WHERE id = ?",
                        [now, rid],
                    )
        return len(stale)

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            upsert(db, "meta", "key", {"key": key, "value": value})

    # -- reads used while ingesting --------------------------------------------------------

    def is_archived(self, headline: str, publication: str | None = None) -> bool:
        """Whether an article with this headline (taken as the archive matches stories) is stored."""
        from worker.identity import story_key

        key = story_key(headline, publication)
        return self.db.execute("SELECT 1 FROM articles WHERE headline_hash = ? LIMIT 1", [key]).fetchone() is not None

    def fetch_state(self, source: str, key: str) -> str | None:
        """The value last checkpointed under ``key``, or None."""
        row = self.db.execute("SELECT value FROM fetch_state WHERE source = ? AND key = ?", [source, key]).fetchone()
        return row[0] if row else None

    def source_state(self, source: str) -> SourceState | None:
        row = self.db.execute(
            "SELECT source, last_run_at, last_status, last_success_at, consecutive_failures, failing_since, "
            "next_due_at, last_error, interval, interval_reason, floor, floor_reason "
            "FROM source_state WHERE source = ?",
            [source],
        ).fetchone()
        if row is None:
            return None
        source, last_run, status, last_success, failures, *rest = row
        return SourceState(source, last_run, status, last_success, failures or 0, *rest)

    def carried_since(self, source: str, since: str) -> list[tuple[str | None, str]]:
        """(published_utc, first_seen_at) of each article ``source`` carried since ``since``
        (its sightings: new articles and repeats alike), for the rate of ``every: auto``."""
        return self.db.execute(
            "SELECT a.published_utc, a.first_seen_at FROM articles a WHERE a.id IN "
            "(SELECT article_id FROM sightings WHERE source = ? AND seen_at >= ?)",
            [source, since],
        ).fetchall()

    # -- reads for status --------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def status_rows(self) -> list[dict[str, Any]]:
        """Per source: its state, its last run and its totals."""
        return list(
            self.db.query(
                """
                SELECT s.source, s.last_status, s.last_run_at, s.last_success_at, s.next_due_at,
                       s.consecutive_failures, s.failing_since, s.last_error, s.articles,
                       s.interval, s.interval_reason, s.floor, s.floor_reason,
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
            t: self.db.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in ("articles", "sightings", "runs")
        }

    # -- maintenance ------------------------------------------------------------------------

    def backup(self, target: str | Path, pages: int = 1024) -> None:
        """A consistent copy of the archive at ``target`` (SQLite's online backup: the service may
        go on writing meanwhile), written beside it and renamed into place when complete."""
        target = Path(target)
        if target.exists():
            raise ArchiveError(f"{target}: already exists (a backup never overwrites a file)")
        partial = target.with_name(target.name + ".partial")
        try:
            dest = sqlite3.connect(partial)
            try:
                self.db.conn.backup(dest, pages=pages)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
            partial.rename(target)
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise archive_error(exc, str(target)) from None
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ArchiveError(f"cannot write the backup {target}: {exc.strerror or exc}") from None

    def quick_check(self, seconds: float = 2.0) -> None:
        """SQLite's structural check for at most ``seconds`` (a damaged page near the start of the
        file is found at once; a large archive is checked as far as the time allows).
        ArchiveDamaged when it finds damage."""
        deadline = time.monotonic() + seconds
        self.db.conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            row = self.db.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return
            raise archive_error(exc, self.path) from None
        except sqlite3.DatabaseError as exc:
            raise archive_error(exc, self.path) from None
        finally:
            self.db.conn.set_progress_handler(None, 0)
        if row and row[0] != "ok":
            raise ArchiveDamaged("the archive is damaged (database disk image is malformed); see README: recovering")

    def optimize(self) -> None:
        """Merge the full-text indexes into one b-tree each (after a large backfill: faster
        searches), then refresh the query planner's statistics."""
        with self.transaction() as db:
            for fts in ("articles_fts", "articles_trigram"):
                db.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")
        self.db.execute("PRAGMA optimize")


def is_worker_archive(path: Any) -> bool:
    """True when ``path`` is a SQLite file this worker made (``PRAGMA application_id``; a
    read-only check, the file is never created)."""
    try:
        if not Path(str(path)).is_file():
            return False
        conn = sqlite3.connect(f"file:{Path(str(path)).resolve()}?mode=ro", uri=True)
        try:
            return bool(conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID)
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError):
        return False


def archive_error(exc: sqlite3.Error, path: str, *, opening: bool = False) -> ArchiveError:
    """What a SQLite failure means for the user, in one line (the one mapping of archive errors)."""
    text = " ".join(str(exc).split())
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in text:
        return ArchiveFull(f"archive disk is full ({path}): free space and run again")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        if opening and "not a database" in text:
            return ArchiveDamaged(f"{path}: cannot open archive ({text}): is it a SQLite file?")
        return ArchiveDamaged(f"the archive is damaged ({text}); see README: recovering")
    if code == sqlite3.SQLITE_READONLY or "readonly database" in text or "read-only" in text:
        return ArchiveReadOnly(f"cannot write the archive {path}: it is read-only ({text})")
    if "unable to open database file" in text:
        return ArchiveError(f"{path}: cannot open archive ({text}: is its folder there and writable?)")
    return ArchiveError(f"{path}: archive error ({text})")


_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: str) -> threading.Lock:
    key = os.path.realpath(path)
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


def _writable(path: Path) -> bool:
    """Whether the archive file and its folder (where SQLite keeps the WAL) can be written."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


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
