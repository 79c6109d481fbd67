"""Migration 8 (released: never edit): an article's shown text is stored once, and the band keys
get their newer levels (``worker.archive.lsh``).

Every version kept its whole text, the one its article shows included, so every new article's
text was written twice (a third of what a backfill wrote). The rows are now ``version_rows``:
a row whose ``shown`` is 1 is the version its article shows, and its ``dek`` and ``body`` are
read from ``articles`` (it stores none); before an edit replaces what the article shows, the
writer copies that text into the row and clears ``shown``. ``versions`` is a view with every
version's whole text, as the table was: the export, ``worker history``, ``--all-versions``,
Datasette and any script read it unchanged. Rows written before this migration keep their text.
"""

from __future__ import annotations

import sqlite_utils

from worker.archive.lsh import create_levels

KEPT = ("id", "article_id", "version", "reason", "seen_at", "source", "url", "run_id", "content_hash", "headline",
        "byline", "published_at", "dateline", "lang")  # fmt: skip
VERSIONS_VIEW = (
    "CREATE VIEW versions AS SELECT "
    + ", ".join(f"v.{c}" for c in KEPT)
    + ", CASE WHEN v.shown THEN a.dek ELSE v.dek END AS dek, CASE WHEN v.shown THEN a.body ELSE v.body END AS body "
    "FROM version_rows v LEFT JOIN articles a ON v.shown AND a.id = v.article_id"
)


def migrate_8(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE versions RENAME TO version_rows")
    db.execute("ALTER TABLE version_rows ADD COLUMN shown INTEGER")
    db.execute(VERSIONS_VIEW)
    create_levels(db)
