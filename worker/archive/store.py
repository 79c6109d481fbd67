"""The writer's SQL: one batch of a run, and a finished run, as plain data in and out.

Everything one batch holds (articles, sightings, the checkpoints of the inputs it completes
with what they produced) is written in the caller's transaction; the archive calls nothing
back. ``articles`` rows are append-only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from worker.archive.schema import COLUMN_NAMES, utc_instant
from worker.models import Article, Checkpoint, RunResult, SourceState


@dataclass
class Batch:
    """What a run hands the archive at once."""

    run_id: int
    source: str
    articles: list[tuple[Article, str]] = field(default_factory=list)  # (article, locator)
    checkpoints: list[tuple[Checkpoint, list[str]]] = field(default_factory=list)  # with the hashes it produced
    known: list[tuple[str, str]] = field(default_factory=list)  # (checkpoint key, locator) of unchanged inputs


@dataclass(frozen=True)
class Stored:
    """What the archive made of a batch: per article ``new`` or ``duplicate``, and how many
    sightings the batch's known inputs recorded."""

    outcomes: tuple[str, ...] = ()
    resighted: int = 0


def article_row(article: Article, headline_hash: str, now: str) -> dict[str, Any]:
    """An ``articles`` row, with exactly the declared columns."""
    values = {
        "headline_hash": headline_hash, "headline": article.headline, "source": article.source,
        "published_at": article.published_at, "first_seen_at": now, "lang": article.lang,
        "publication": article.publication, "byline": article.byline, "dateline": article.dateline,
        "url": article.url, "headline_derived": int(article.headline_derived), "word_count": article.word_count,
        "content_hash": article.content_hash, "dek": article.dek, "body": article.body,
        "published_utc": utc_instant(article.published_at),
    }
    return {name: values[name] for name in COLUMN_NAMES}


def known_hashes(db: sqlite_utils.Database, hashes: list[str]) -> set[str]:
    """Which of these headline hashes are archived already (in chunks of 500)."""
    hashes = list(dict.fromkeys(hashes))
    found: set[str] = set()
    for i in range(0, len(hashes), 500):
        chunk = hashes[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT headline_hash FROM articles WHERE headline_hash IN ({marks})", chunk)
        found.update(r[0] for r in rows)
    return found


def store_batch(db: sqlite_utils.Database, batch: Batch, now: str) -> Stored:
    """New articles; a sighting of every article, and of every article each known input
    produced before; the checkpoints with the headline hashes their input produced."""
    hashes = [a.headline_hash for a, _ in batch.articles]
    stored = known_hashes(db, hashes)
    fresh, outcomes = [], []
    for (article, _), h in zip(batch.articles, hashes):
        outcomes.append("duplicate" if h in stored else "new")
        if h not in stored:
            fresh.append(article_row(article, h, now))
        stored.add(h)
    if fresh:
        db["articles"].insert_all(fresh, ignore=True)
    db.conn.executemany(
        "INSERT INTO sightings (headline_hash, source, url, seen_at, content_hash, run_id) VALUES (?, ?, ?, ?, ?, ?)",
        [(h, batch.source, a.url or locator, now, a.content_hash, batch.run_id)
         for (a, locator), h in zip(batch.articles, hashes)],
    )
    resighted = 0
    for key, locator in batch.known:
        resighted += db.execute(
            "INSERT INTO sightings (headline_hash, source, url, seen_at, content_hash, run_id) "
            "SELECT a.headline_hash, ?, coalesce(a.url, ?), ?, a.content_hash, ? "
            "FROM produced p JOIN articles a ON a.headline_hash = p.headline_hash "
            "WHERE p.source = ? AND p.key = ?",
            [batch.source, locator, now, batch.run_id, batch.source, key],
        ).rowcount
    if batch.checkpoints:
        db.conn.executemany(
            "INSERT OR REPLACE INTO fetch_state (source, key, value, updated_at) VALUES (?, ?, ?, ?)",
            [(batch.source, c.key, c.value, now) for c, _ in batch.checkpoints],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO produced (source, key, headline_hash) VALUES (?, ?, ?)",
            [(batch.source, c.key, h) for c, hs in batch.checkpoints for h in hs],
        )
    return Stored(tuple(outcomes), resighted)


def finish_run(db: sqlite_utils.Database, result: RunResult, state: SourceState) -> None:
    """The run row and the source's state (with its article count)."""
    row = {k: v for k, v in asdict(result).items() if k not in ("run_id", "next_attempt_at")}
    row["not_modified"] = int(result.not_modified)
    db["runs"].update(result.run_id, row)
    count = db.execute("SELECT count(*) FROM articles WHERE source = ?", [state.source]).fetchone()[0]
    db["source_state"].upsert({**asdict(state), "articles": count}, pk="source")
