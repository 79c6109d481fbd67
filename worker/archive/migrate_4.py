"""Migration 4 (released: never edit): every distinct article and every revision kept.

- ``articles`` gets a stable integer ``id`` (its old rowid, so the full-text index stays valid),
  a headline hash that is no longer unique (a recurring headline names many stories), the
  version it shows, its version count, its near-duplicate cluster and when it was last edited;
- ``versions`` holds every text an article ever had (each article's text today is its version 1);
- ``sightings`` and ``produced`` point at article ids (sightings keep their content hashes);
- ``lsh`` holds each article's MinHash band keys, ``versions_fts`` indexes texts an article no
  longer shows (for ``worker search --all-versions``);
- headline hashes are taken without a publication's suffix (``identity.story_key``).
"""

from __future__ import annotations

import sqlite_utils

ARTICLES_V4 = """
CREATE TABLE articles_v4 (
    id INTEGER PRIMARY KEY,
    headline_hash TEXT NOT NULL,
    headline TEXT NOT NULL,
    source TEXT,
    published_at TEXT,
    published_utc TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT,
    lang TEXT,
    publication TEXT,
    byline TEXT,
    dateline TEXT,
    url TEXT,
    headline_derived INTEGER,
    word_count INTEGER,
    content_hash TEXT,
    version INTEGER,
    version_count INTEGER,
    cluster INTEGER,
    dek TEXT,
    body TEXT NOT NULL
)"""
COPIED = (
    "headline_hash, headline, source, published_at, published_utc, first_seen_at, lang, publication, "
    "byline, dateline, url, headline_derived, word_count, content_hash, dek, body"
)
VERSIONS = """
CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    version INTEGER NOT NULL,
    reason TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    source TEXT,
    url TEXT,
    run_id INTEGER,
    content_hash TEXT NOT NULL,
    headline TEXT NOT NULL,
    byline TEXT,
    published_at TEXT,
    dateline TEXT,
    lang TEXT,
    dek TEXT,
    body TEXT NOT NULL,
    UNIQUE (article_id, version)
)"""
FTS = ("headline", "dek", "body", "byline")
TOKENIZE = "porter unicode61 remove_diacritics 2"


def migrate_4(db: sqlite_utils.Database) -> None:
    db.execute(ARTICLES_V4)
    db.execute(
        f"INSERT INTO articles_v4 (id, {COPIED}, version, version_count) SELECT rowid, {COPIED}, 1, 1 FROM articles"
    )
    db.execute("ALTER TABLE sightings ADD COLUMN article_id INTEGER")
    db.execute("ALTER TABLE sightings ADD COLUMN version INTEGER")
    db.execute(
        "UPDATE sightings SET version = 1, article_id = "
        "(SELECT a.rowid FROM articles a WHERE a.headline_hash = sightings.headline_hash)"
    )
    db.execute(
        "CREATE TABLE produced_v4 (source TEXT, key TEXT, article_id INTEGER, "
        "PRIMARY KEY (source, key, article_id)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT OR IGNORE INTO produced_v4 SELECT p.source, p.key, a.rowid FROM produced p "
        "JOIN articles a ON a.headline_hash = p.headline_hash"
    )
    db.execute("DROP TABLE produced")
    db.execute("ALTER TABLE produced_v4 RENAME TO produced")
    db.execute("DROP TABLE articles")  # its triggers go with it; the full-text index stays (same rowids)
    db.execute("ALTER TABLE articles_v4 RENAME TO articles")
    for columns in (
        ("headline_hash",),
        ("url",),
        ("source",),
        ("published_at",),
        ("first_seen_at",),
        ("publication",),
        ("lang",),
        ("cluster",),
        ("updated_at",),
    ):
        db.table("articles").create_index(list(columns))
    db.execute("CREATE INDEX idx_articles_utc_or_seen ON articles (coalesce(published_utc, first_seen_at))")
    db.execute(
        "CREATE INDEX idx_articles_source_utc_or_seen ON articles (source, coalesce(published_utc, first_seen_at))"
    )
    db.execute("CREATE INDEX idx_sightings_article_id ON sightings (article_id)")
    _fts_triggers(db)
    db.execute(VERSIONS)
    db.execute(
        "INSERT INTO versions (article_id, version, reason, seen_at, source, url, content_hash, headline, "
        "byline, published_at, dateline, lang, dek, body) SELECT id, 1, 'first', first_seen_at, source, url, "
        "content_hash, headline, byline, published_at, dateline, lang, dek, body FROM articles"
    )
    db.execute("CREATE INDEX idx_versions_content_hash ON versions (content_hash)")
    db.execute("CREATE INDEX idx_versions_seen_at ON versions (seen_at)")
    cols = ", ".join(FTS)
    db.execute(
        f"CREATE VIRTUAL TABLE versions_fts USING FTS5 ({cols}, tokenize='{TOKENIZE}', "
        "content='versions', content_rowid='id')"
    )
    db.execute("ALTER TABLE runs ADD COLUMN revisions INTEGER")
    db.execute(
        "CREATE TABLE lsh (key INTEGER NOT NULL, article_id INTEGER NOT NULL, "
        "PRIMARY KEY (key, article_id)) WITHOUT ROWID"
    )
    _fingerprint(db)


def _fts_triggers(db: sqlite_utils.Database) -> None:
    """Keep ``articles_fts`` in step with ``articles``: on insert, delete, and an update of the
    text it indexes (updating a version count or a cluster does not touch the index)."""
    cols = ", ".join(FTS)
    new = ", ".join(f"new.{c}" for c in FTS)
    old = ", ".join(f"old.{c}" for c in FTS)
    delete = f"INSERT INTO articles_fts (articles_fts, rowid, {cols}) VALUES ('delete', old.rowid, {old});"
    insert = f"INSERT INTO articles_fts (rowid, {cols}) VALUES (new.rowid, {new});"
    for name in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    db.execute(f"CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN {insert} END")
    db.execute(f"CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN {delete} END")
    db.execute(f"CREATE TRIGGER articles_au AFTER UPDATE OF {cols} ON articles BEGIN {delete} {insert} END")


def _fingerprint(db: sqlite_utils.Database) -> None:
    """Band keys of every archived article, and headline hashes without a publication's suffix."""
    from worker.identity import band_keys, story_key

    last = 0
    while True:
        rows = db.execute(
            "SELECT id, headline, publication, headline_hash, body FROM articles WHERE id > ? ORDER BY id LIMIT 1000",
            [last],
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        db.conn.executemany(
            "INSERT OR IGNORE INTO lsh (key, article_id) VALUES (?, ?)",
            [(key, aid) for aid, *_, body in rows for key in band_keys(body)],
        )
        changed = [
            (key, aid)
            for aid, headline, publication, old, _ in rows
            if (key := story_key(headline, publication)) != old
        ]
        db.conn.executemany("UPDATE articles SET headline_hash = ? WHERE id = ?", changed)
