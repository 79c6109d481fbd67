"""The SQL of ``worker merge``: a shard archive read back as the articles it stored, and the
checkpoints of its inputs written into the archive it is merged into.

A shard is a normal archive written by one cluster task (``cluster_tasks.run_shard``). Each of
its sightings is one article as the task's writer received it (new, an edit, a copy or a
duplicate), in storing order; read back with the text of the version it saw, it is that article
again, to be stored through the same rules (``store.store_batch``) in the archive it joins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import sqlite_utils

from worker.models import Article

SHARD_META = "shard"  # the shard's meta key (written by cluster_tasks.run_shard when its task ended)
MERGED = "shard:"  # checkpoint key prefix in the target archive: the last sighting of a shard merged


def shard_info(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """What a shard holds (digest, source, kind, inputs, status, sightings: the last sighting id
    when its task ended), or None for an archive no shard task finished."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [SHARD_META]).fetchone()
    return json.loads(row[0]) if row else None


def shard_articles(db: sqlite_utils.Database, after: int, upto: int) -> Iterator[tuple[Article, str, int, int]]:
    """(article, locator, shard article id, sighting id) for each sighting after ``after`` up to
    ``upto``, in storing order: the text is that of the version the sighting saw, the URL where
    it was seen (a sighting keeps ``url or locator``: an article stored without a URL has none)."""
    rows = db.execute(
        "SELECT s.id, s.article_id, s.url, s.source, v.headline, v.body, v.byline, v.published_at, v.dek, "
        "v.dateline, v.lang, a.publication, a.headline_derived, a.url "
        "FROM sightings s JOIN versions v ON v.article_id = s.article_id AND v.version = s.version "
        "JOIN articles a ON a.id = s.article_id WHERE s.id > ? AND s.id <= ? ORDER BY s.id",
        [after, upto],
    )
    for sid, aid, locator, source, headline, body, byline, published, dek, dateline, lang, pub, derived, url in rows:
        article = Article(
            headline=headline,
            body=body,
            byline=byline,
            published_at=published,
            dek=dek,
            url=None if url is None else locator,  # a story with no URL (a text file) is known by its path
            source=source,
            publication=pub,
            dateline=dateline,
            lang=lang,
            headline_derived=bool(derived),
        )
        yield article.computed(), locator, aid, sid


def shard_checkpoints(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    """(source, key, value) of every input the shard stored."""
    return [tuple(r) for r in db.execute("SELECT source, key, value FROM fetch_state ORDER BY rowid")]


def shard_produced(db: sqlite_utils.Database) -> list[tuple[str, str, int]]:
    """(source, checkpoint key, shard article id): what each of the shard's inputs produced."""
    return [tuple(r) for r in db.execute("SELECT source, key, article_id FROM produced")]


def write_checkpoints(
    db: sqlite_utils.Database,
    checkpoints: Iterable[tuple[str, str, str]],
    produced: Iterable[tuple[str, str, int]],
    now: str,
) -> None:
    """The shard's checkpoints and what their inputs produced (article ids of this archive), in
    the caller's transaction: an input merged is passed over by a later backfill, as if stored here."""
    db.conn.executemany(
        "INSERT OR REPLACE INTO fetch_state (source, key, value, updated_at) VALUES (?, ?, ?, ?)",
        [(source, key, value, now) for source, key, value in checkpoints],
    )
    db.conn.executemany("INSERT OR IGNORE INTO produced (source, key, article_id) VALUES (?, ?, ?)", list(produced))
