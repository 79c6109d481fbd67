"""The MinHash band keys in SQLite, kept in three levels so that storing them stays cheap.

A band key is a random 64-bit number: each article's twelve land on twelve random pages of an
index ordered by key, and a batch of 200 articles rewrote 2,400 pages of it (10 MB of WAL at
100,000 articles, more than the articles' own text). New keys go into ``lsh_latest``, a few
thousand articles' worth, whose pages a batch shares; when it fills, its keys move, in key order
and so each page written once, into ``lsh_recent``, ten times larger, and that in turn into
``lsh``. Keys are looked up in all three (``SELECT_SQL``). Each move (copy, then delete) is part
of the batch's transaction, so no reader ever sees a key in none of the levels.
"""

from __future__ import annotations

import sqlite_utils

# (table, how many keys it holds before they move to the next), newest first; the last holds the rest
LEVELS: tuple[tuple[str, int | None], ...] = (("lsh_latest", 24_000), ("lsh_recent", 240_000), ("lsh", None))
INSERT_SQL = "INSERT OR IGNORE INTO lsh_latest (key, article_id)"
SELECT_SQL = " UNION ALL ".join(f"SELECT key, article_id FROM {table} WHERE key IN ({{0}})" for table, _ in LEVELS)


def create_levels(db: sqlite_utils.Database) -> None:
    for table, _ in LEVELS[:-1]:
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (key INTEGER NOT NULL, article_id INTEGER NOT NULL, "
            "PRIMARY KEY (key, article_id)) WITHOUT ROWID"
        )


def settle(db: sqlite_utils.Database) -> None:
    """Move a full level's keys into the next (call in the transaction that added keys)."""
    for (table, limit), (below, _) in zip(LEVELS, LEVELS[1:], strict=False):
        assert limit is not None
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        if count < limit:
            return
        db.execute(f"INSERT OR IGNORE INTO {below} (key, article_id) SELECT key, article_id FROM {table}")
        db.execute(f"DELETE FROM {table}")
