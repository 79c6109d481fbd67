"""Sightings of what the archive holds already, in a batch's transaction: every article an
unchanged input produced before, and the archived article an item stands for when its text was
not read again (``store.store_batch`` writes them after the batch's articles)."""

from __future__ import annotations

import sqlite_utils

from worker.identity import story_key
from worker.models import Seen

Run = tuple[str, int | None, str]  # (source, run id, the time of the sighting)


def resight(db: sqlite_utils.Database, run: Run, key: str, locator: str) -> int:
    """A sighting of every article an unchanged input produced before."""
    source, run_id, now = run
    return int(
        db.execute(
            "INSERT INTO sightings (article_id, version, headline_hash, source, url, seen_at, content_hash, run_id) "
            "SELECT a.id, a.version, a.headline_hash, ?, coalesce(a.url, ?), ?, a.content_hash, ? "
            "FROM produced p JOIN articles a ON a.id = p.article_id WHERE p.source = ? AND p.key = ?",
            [source, locator, now, run_id, source, key],
        ).rowcount
    )


def seen_again(db: sqlite_utils.Database, run: Run, seen: Seen, capture_id: int | None) -> int:
    """A sighting of the archived article an item stands for: the one under its headline at its
    URL, else the newest under its headline."""
    source, run_id, now = run
    key = story_key(seen.headline, seen.publication)
    row = db.execute(
        "SELECT id, version, content_hash FROM articles WHERE headline_hash = ? "
        "ORDER BY (url IS ?) DESC, id DESC LIMIT 1",
        [key, seen.url],
    ).fetchone()
    if row is None:
        return 0
    db.execute(
        "INSERT INTO sightings (article_id, version, headline_hash, source, url, seen_at, content_hash, "
        "run_id, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [row[0], row[1], key, source, seen.url or seen.locator, now, row[2], run_id, capture_id],
    )
    return 1
