"""The archive's schema: the article columns declared once, and the migrations.

``ARTICLE_COLUMNS`` is the one declaration of what an article row holds: the migrations add
columns from it, the writer builds its rows from it, export writes its columns and search
returns its hit columns. A test checks the archive's columns against it. A migration is never
edited once released: a change is a new migration (``MIGRATIONS``), run in order under
``PRAGMA user_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from worker.archive.migrate_4 import migrate_4
from worker.archive.migrate_7 import migrate_7
from worker.archive.migrate_8 import migrate_8

FTS_COLUMNS = ("headline", "dek", "body", "byline")
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
RANK_WEIGHTS = (10.0, 4.0, 1.0, 2.0)  # bm25 weights in FTS_COLUMNS order: the headline counts most
APPLICATION_ID = 0x4E574B52  # "NWKR": PRAGMA application_id of an archive this worker made


@dataclass(frozen=True)
class Column:
    """One column of ``articles``."""

    name: str
    type: type
    help: str
    hit: bool = False  # returned with each search hit
    not_null: bool = False


# In table order: small columns first, the long text last, so a filter on source, date or
# language reads only the start of a row, never the body's overflow pages. The row shows the
# article's latest text; every text it ever had is in ``versions``.
ARTICLE_COLUMNS: tuple[Column, ...] = (
    Column("id", int, "the article's stable id", hit=True),
    Column(
        "headline_hash",
        str,
        "SHA-256 of the normalized headline (not unique: a recurring headline names many stories)",
        hit=True,
        not_null=True,
    ),
    Column("headline", str, "the headline", hit=True, not_null=True),
    Column("source", str, "the source that first carried it", hit=True),
    Column(
        "published_at", str, "ISO 8601 with the publisher's offset, a day alone, or null (never invented)", hit=True
    ),
    Column("published_utc", str, "published_at as a UTC instant (a day alone stays a day): what date filters use"),
    Column("first_seen_at", str, "when the archive first stored it (UTC)", hit=True, not_null=True),
    Column("updated_at", str, "when its latest edit was stored (UTC), or null"),
    Column("lang", str, "BCP 47 language code", hit=True),
    Column("publication", str, "the publication's name", hit=True),
    Column("byline", str, "the authors: 'A', 'A and B', 'A, B and C'", hit=True),
    Column("dateline", str, "the place the story opens with"),
    Column("url", str, "the article's (canonical) URL", hit=True),
    Column("headline_derived", int, "1 when the headline was made from the text's first sentence"),
    Column("word_count", int, "words in the body"),
    Column("content_hash", str, "SHA-256 of the body"),
    Column("version", int, "the version whose text the row shows"),
    Column("version_count", int, "how many versions the article has", hit=True),
    Column("cluster", int, "the id shared by the article's near-duplicates (wire copies), or null", hit=True),
    Column("dek", str, "the standfirst or summary"),
    Column("body", str, "paragraphs separated by blank lines", not_null=True),
    # added by migration 7, so after the body (read with the row's text, never filtered on)
    Column("spaceless", int, "1 when its text holds Chinese, Japanese, Thai, ... (it is in the trigram index too)"),
)
COLUMN_NAMES = tuple(c.name for c in ARTICLE_COLUMNS)
HIT_COLUMNS = tuple(c.name for c in ARTICLE_COLUMNS if c.hit)


def column(name: str) -> Column:
    return next(c for c in ARTICLE_COLUMNS if c.name == name)


def add_column(db: sqlite_utils.Database, name: str) -> None:
    """Add a declared column to ``articles`` (a migration's way to grow the table)."""
    db.table("articles").add_column(name, column(name).type)


def rebuild_fts(db: sqlite_utils.Database, tokenize: str = FTS_TOKENIZE, table: str = "articles_fts") -> None:
    """Drop and rebuild a full-text index of ``articles`` with ``tokenize`` (e.g. ``trigram``),
    its triggers and the headline-weighted rank; run inside a transaction. The main index keeps
    the trigger names sqlite-utils gives it (``articles_ai`` ...)."""
    prefix = "articles" if table == "articles_fts" else table
    for trigger in ("ai", "ad", "au"):
        db.execute(f"DROP TRIGGER IF EXISTS [{prefix}_{trigger}]")
    db.execute(f"DROP TABLE IF EXISTS [{table}]")
    cols = ", ".join(f"[{c}]" for c in FTS_COLUMNS)
    new = ", ".join(f"new.[{c}]" for c in FTS_COLUMNS)
    old = ", ".join(f"old.[{c}]" for c in FTS_COLUMNS)
    db.execute(f"CREATE VIRTUAL TABLE [{table}] USING FTS5 ({cols}, tokenize='{tokenize}', content=[articles])")
    db.execute(
        f"CREATE TRIGGER [{prefix}_ai] AFTER INSERT ON [articles] BEGIN "
        f"INSERT INTO [{table}] (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )
    db.execute(
        f"CREATE TRIGGER [{prefix}_ad] AFTER DELETE ON [articles] BEGIN "
        f"INSERT INTO [{table}] ([{table}], rowid, {cols}) VALUES('delete', old.rowid, {old}); END"
    )
    db.execute(
        f"CREATE TRIGGER [{prefix}_au] AFTER UPDATE OF {cols} ON [articles] BEGIN "
        f"INSERT INTO [{table}] ([{table}], rowid, {cols}) VALUES('delete', old.rowid, {old}); "
        f"INSERT INTO [{table}] (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )
    db.execute(f"INSERT INTO [{table}]([{table}]) VALUES('rebuild')")
    weights = ", ".join(str(w) for w in RANK_WEIGHTS)
    db.execute(f"INSERT INTO [{table}]([{table}], rank) VALUES ('rank', 'bm25({weights})')")


# ---------------------------------------------------------------- migrations (released: never edit)


def _migrate_1(db: sqlite_utils.Database) -> None:
    _tables_1(db)
    _tables_more_1(db)
    _indexes_1(db)


def _tables_1(db: sqlite_utils.Database) -> None:
    db.table("articles").create(
        {
            "headline_hash": str,
            "headline": str,
            "source": str,
            "published_at": str,
            "first_seen_at": str,
            "lang": str,
            "publication": str,
            "byline": str,
            "dateline": str,
            "url": str,
            "headline_derived": int,
            "word_count": int,
            "content_hash": str,
            "dek": str,
            "body": str,
        },
        pk="headline_hash",
        not_null={"headline", "body", "first_seen_at"},
    )
    db.table("articles").enable_fts(FTS_COLUMNS, fts_version="FTS5", create_triggers=True, tokenize=FTS_TOKENIZE)


def _tables_more_1(db: sqlite_utils.Database) -> None:
    db.table("sightings").create(
        {
            "id": int,
            "headline_hash": str,
            "source": str,
            "url": str,
            "seen_at": str,
            "content_hash": str,
            "run_id": int,
        },
        pk="id",
    )
    db.table("runs").create(
        {
            "id": int,
            "source": str,
            "trigger": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "seen": int,
            "new": int,
            "duplicates": int,
            "skipped": int,
            "http_status": int,
            "not_modified": int,
            "bytes": int,
            "error": str,
            "pid": int,
        },
        pk="id",
    )
    db.table("source_state").create(
        {
            "source": str,
            "last_run_at": str,
            "last_status": str,
            "last_success_at": str,
            "consecutive_failures": int,
            "failing_since": str,
            "next_due_at": str,
            "last_error": str,
            "articles": int,
        },
        pk="source",
    )
    db.table("fetch_state").create({"source": str, "key": str, "value": str, "updated_at": str}, pk=("source", "key"))
    db.table("produced").create(
        {"source": str, "key": str, "headline_hash": str}, pk=("source", "key", "headline_hash")
    )
    db.table("meta").create({"key": str, "value": str}, pk="key")


def _indexes_1(db: sqlite_utils.Database) -> None:
    db.table("articles").create_index(["source"])
    db.table("articles").create_index(["published_at"])
    db.table("articles").create_index(["first_seen_at"])
    db.table("articles").create_index(["publication"])
    db.table("articles").create_index(["lang"])
    db.table("sightings").create_index(["headline_hash"])
    db.table("sightings").create_index(["source", "seen_at"])
    db.table("runs").create_index(["source", "started_at"])
    db.table("runs").create_index(["status"])


def _migrate_2(db: sqlite_utils.Database) -> None:
    """FTS5's persistent rank weights the headline (as ``worker search`` does), so ``ORDER BY rank``
    in sqlite-utils, Datasette and plain SQL ranks alike; date filters use an index."""
    weights = ", ".join(str(w) for w in RANK_WEIGHTS)
    db.execute(f"INSERT INTO articles_fts(articles_fts, rank) VALUES ('rank', 'bm25({weights})')")
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_articles_published_or_seen ON articles (coalesce(published_at, first_seen_at))"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_articles_source_published_or_seen "
        "ON articles (source, coalesce(published_at, first_seen_at))"
    )


def _migrate_3(db: sqlite_utils.Database) -> None:
    """Dates keep the publisher's offset in ``published_at``; ``published_utc`` beside it is the
    UTC instant the date filters compare (rows before this held UTC already). The archive is
    marked as the worker's own (``PRAGMA application_id``)."""
    add_column(db, "published_utc")
    db.execute("UPDATE articles SET published_utc = published_at")
    for name in ("idx_articles_published_or_seen", "idx_articles_source_published_or_seen"):
        db.execute(f"DROP INDEX IF EXISTS {name}")
    db.execute("CREATE INDEX idx_articles_utc_or_seen ON articles (coalesce(published_utc, first_seen_at))")
    db.execute(
        "CREATE INDEX idx_articles_source_utc_or_seen ON articles (source, coalesce(published_utc, first_seen_at))"
    )
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _migrate_5(db: sqlite_utils.Database) -> None:
    """Raw capture: where each fetched response lies in the WARC files (``captures``), and the
    records each version and sighting came from."""
    db.execute(
        "CREATE TABLE captures (id INTEGER PRIMARY KEY, file TEXT NOT NULL, offset INTEGER NOT NULL, "
        "length INTEGER NOT NULL, digest TEXT NOT NULL, fetched_at TEXT NOT NULL, status INTEGER, url TEXT NOT NULL, "
        "record_id TEXT NOT NULL, revisit_of TEXT, source TEXT, UNIQUE (file, offset))"
    )
    db.execute("CREATE INDEX idx_captures_digest ON captures (digest)")
    db.execute("CREATE INDEX idx_captures_record_id ON captures (record_id)")
    db.execute("CREATE INDEX idx_captures_url ON captures (url)")
    db.execute("CREATE INDEX idx_captures_fetched_at ON captures (fetched_at)")
    db.execute(
        "CREATE TABLE version_captures (version_id INTEGER NOT NULL, capture_id INTEGER NOT NULL, "
        "PRIMARY KEY (version_id, capture_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_version_captures_capture ON version_captures (capture_id)")
    db.execute("ALTER TABLE sightings ADD COLUMN capture_id INTEGER")


def _migrate_6(db: sqlite_utils.Database) -> None:
    """Polling: each source's interval now and why (its ``every``, ``every: auto``'s rate, or a
    floor), and the floor its feed or server asked for (seconds, and who asked)."""
    for column, kind in (("interval", "INTEGER"), ("interval_reason", "TEXT"), ("floor", "INTEGER")):
        db.execute(f"ALTER TABLE source_state ADD COLUMN [{column}] {kind}")
    db.execute("ALTER TABLE source_state ADD COLUMN floor_reason TEXT")


def _migrate_9(db: sqlite_utils.Database) -> None:
    """No query reads versions by their content hash alone (an article's are read by its id), and
    the index on it put each new article's random hash on a random page: a page of write-ahead
    log per article, 5% of a 100,000-article backfill's time."""
    db.execute("DROP INDEX IF EXISTS idx_versions_content_hash")


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _migrate_1,
    2: _migrate_2,
    3: _migrate_3,
    4: migrate_4,
    5: _migrate_5,
    6: _migrate_6,
    7: migrate_7,
    8: migrate_8,
    9: _migrate_9,
}
SCHEMA_VERSION = max(MIGRATIONS)
