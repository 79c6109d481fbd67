"""The writer's SQL: one batch of a run, and a finished run, as plain data in and out.

Each article of a batch is matched to the archive (``identify.Probe`` finds candidates,
``identity.classify`` decides) and stored as what it is: a sighting of a text the archive has,
a new version of an article (``edit`` from its own URL, ``copy`` from another), or a new article
(linked into a near-duplicate cluster when it is one). Nothing is rewritten without its previous
text kept in ``versions``. Everything a batch holds (articles, versions, sightings, the checkpoints
of the inputs it completes with what they produced) is written in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import sqlite_utils

from worker.archive.identify import Probe
from worker.archive.schema import COLUMN_NAMES
from worker.identity import Decision, classify, story_key
from worker.models import Article, Checkpoint, RunResult, Seen, SourceState
from worker.text.dates import utc_instant

VERSION_COLUMNS = (
    "article_id",
    "version",
    "reason",
    "seen_at",
    "source",
    "url",
    "run_id",
    "content_hash",
    "headline",
    "byline",
    "published_at",
    "dateline",
    "lang",
    "dek",
    "body",
)
EDITED = (
    "headline_hash",
    "headline",
    "byline",
    "dateline",
    "lang",
    "dek",
    "body",
    "url",
    "word_count",
    "content_hash",
    "headline_derived",
)  # what an edit changes in the article's row


@dataclass
class Batch:
    """What a run hands the archive at once."""

    run_id: int
    source: str
    articles: list[tuple[Article, str]] = field(default_factory=list)  # (article, locator)
    # each checkpoint with how many of this batch's articles came before it
    checkpoints: list[tuple[Checkpoint, int]] = field(default_factory=list)
    known: list[tuple[str, str]] = field(default_factory=list)  # (checkpoint key, locator) of unchanged inputs
    seen: list[Seen] = field(default_factory=list)  # items of archived articles passed over without their text
    carried: list[int] = field(default_factory=list)  # article ids produced since the last checkpoint, earlier


@dataclass(frozen=True)
class Stored:
    """What the archive made of a batch: per article its outcome (new, duplicate, edit, copy)
    and article id, how many sightings the known inputs recorded, and the ids produced after the
    batch's last checkpoint (carried into the next batch)."""

    outcomes: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()
    resighted: int = 0
    carried: tuple[int, ...] = ()


def store_batch(db: sqlite_utils.Database, batch: Batch, now: str) -> Stored:
    """Match and store every article, record the known inputs' sightings and the checkpoints."""
    probe = Probe(db, [a for a, _ in batch.articles])
    outcomes, ids = [], []
    for article, locator in batch.articles:
        outcome, aid = _store_one(db, probe, article, locator, batch, now)
        outcomes.append(outcome)
        ids.append(aid)
    resighted = sum(_resight(db, batch, key, locator, now) for key, locator in batch.known)
    resighted += sum(_seen_again(db, batch, seen, now) for seen in batch.seen)
    produced, start = [*batch.carried, *ids], 0
    for checkpoint, position in batch.checkpoints:
        end = len(batch.carried) + position
        db.execute(
            "INSERT OR REPLACE INTO fetch_state (source, key, value, updated_at) VALUES (?, ?, ?, ?)",
            [batch.source, checkpoint.key, checkpoint.value, now],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO produced (source, key, article_id) VALUES (?, ?, ?)",
            [(batch.source, checkpoint.key, aid) for aid in produced[start:end]],
        )
        start = end
    return Stored(tuple(outcomes), tuple(ids), resighted, tuple(produced[start:]))


def _store_one(
    db: sqlite_utils.Database, probe: Probe, article: Article, locator: str, batch: Batch, now: str
) -> tuple[str, int]:
    ids = probe.candidate_ids(article)
    where = replace(article, url=article.url or locator)  # a file without a URL is known by its path
    decision = classify(where, probe.candidates(ids)) if ids else Decision("new", None, "nothing like it")
    if decision.kind == "duplicate":
        assert decision.article_id is not None
        version = _version_of(db, decision.article_id, article.content_hash)
        _sighting(db, batch, decision.article_id, version, article, locator, now)
        return "duplicate", decision.article_id
    if decision.kind in ("edit", "copy"):
        assert decision.article_id is not None
        version = _revise(db, probe, decision, article, locator, batch, now)
        _sighting(db, batch, decision.article_id, version, article, locator, now)
        return decision.kind, decision.article_id
    aid = _insert(db, article, batch, locator, now, _cluster_of(db, decision))
    probe.add(article, aid)
    _sighting(db, batch, aid, 1, article, locator, now)
    return "new", aid


def article_row(article: Article, now: str) -> dict[str, Any]:
    """A new ``articles`` row, with exactly the declared columns (``id`` left to SQLite)."""
    values = {
        "id": None,
        "headline_hash": article.headline_hash,
        "headline": article.headline,
        "source": article.source,
        "published_at": article.published_at,
        "published_utc": utc_instant(article.published_at),
        "first_seen_at": now,
        "updated_at": None,
        "lang": article.lang,
        "publication": article.publication,
        "byline": article.byline,
        "dateline": article.dateline,
        "url": article.url,
        "headline_derived": int(article.headline_derived),
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "version": 1,
        "version_count": 1,
        "cluster": None,
        "dek": article.dek,
        "body": article.body,
    }
    return {name: values[name] for name in COLUMN_NAMES}


def _insert(
    db: sqlite_utils.Database, article: Article, batch: Batch, locator: str, now: str, cluster: int | None
) -> int:
    row = article_row(article, now)
    row["cluster"] = cluster
    names = [n for n in COLUMN_NAMES if n != "id"]
    cur = db.execute(
        f"INSERT INTO articles ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", [row[n] for n in names]
    )
    aid = int(cur.lastrowid or 0)
    _add_version(db, aid, 1, "first", article, batch, locator, now)
    db.conn.executemany(
        "INSERT OR IGNORE INTO lsh (key, article_id) VALUES (?, ?)", [(key, aid) for key in article.band_keys]
    )
    return aid


def _cluster_of(db: sqlite_utils.Database, decision: Decision) -> int | None:
    """The cluster a new near-duplicate joins: its match's, which starts one if it had none."""
    if decision.kind != "new_in_cluster" or decision.article_id is None:
        return None
    (cluster,) = db.execute("SELECT cluster FROM articles WHERE id = ?", [decision.article_id]).fetchone()
    if cluster is None:
        cluster = decision.article_id
        db.execute("UPDATE articles SET cluster = ? WHERE id = ?", [cluster, cluster])
    return int(cluster)


def _revise(
    db: sqlite_utils.Database, probe: Probe, decision: Decision, article: Article, locator: str, batch: Batch, now: str
) -> int:
    """A new version of an archived article; an ``edit`` also becomes the text the article shows,
    the text it showed is then kept searchable among the earlier versions."""
    aid = decision.article_id
    current, count, old_hash = db.execute(
        "SELECT version, version_count, headline_hash FROM articles WHERE id = ?", [aid]
    ).fetchone()
    version = count + 1
    vid = _add_version(db, aid, version, decision.kind, article, batch, locator, now)
    if decision.kind == "copy":
        db.execute("UPDATE articles SET version_count = ? WHERE id = ?", [version, aid])
        _index_version(db, vid)
        return version
    row = {name: value for name, value in article_row(article, now).items() if name in EDITED}
    sets = ", ".join(f"{name} = ?" for name in row)
    db.execute(
        f"UPDATE articles SET {sets}, version = ?, version_count = ?, updated_at = ? WHERE id = ?",
        [*row.values(), version, version, now, aid],
    )
    (previous,) = db.execute("SELECT id FROM versions WHERE article_id = ? AND version = ?", [aid, current]).fetchone()
    _index_version(db, previous)
    db.conn.executemany(
        "INSERT OR IGNORE INTO lsh (key, article_id) VALUES (?, ?)", [(key, aid) for key in article.band_keys]
    )
    if article.headline_hash != old_hash:
        probe.rehash(old_hash, article.headline_hash, aid)
    return version


def _add_version(
    db: sqlite_utils.Database,
    aid: int,
    version: int,
    reason: str,
    article: Article,
    batch: Batch,
    locator: str,
    now: str,
) -> int:
    values = (
        aid,
        version,
        reason,
        now,
        batch.source,
        article.url or locator,
        batch.run_id,
        article.content_hash,
        article.headline,
        article.byline,
        article.published_at,
        article.dateline,
        article.lang,
        article.dek,
        article.body,
    )
    cur = db.execute(
        f"INSERT INTO versions ({', '.join(VERSION_COLUMNS)}) VALUES ({', '.join('?' * len(VERSION_COLUMNS))})", values
    )
    return int(cur.lastrowid or 0)


def _index_version(db: sqlite_utils.Database, version_id: int) -> None:
    """Make a text the article does not show searchable with ``--all-versions`` (in the trigram
    index too when it is written in a script without spaces: its view holds only those)."""
    for fts, content in (("versions_fts", "versions"), ("versions_trigram", "versions_trigram_text")):
        db.execute(
            f"INSERT INTO {fts} (rowid, headline, dek, body, byline) "
            f"SELECT id, headline, dek, body, byline FROM {content} WHERE id = ?",
            [version_id],
        )


def _version_of(db: sqlite_utils.Database, aid: int, content_hash: str) -> int | None:
    row = db.execute(
        "SELECT min(version) FROM versions WHERE article_id = ? AND content_hash = ?", [aid, content_hash]
    ).fetchone()
    return row[0] if row else None


def _sighting(
    db: sqlite_utils.Database, batch: Batch, aid: int, version: int | None, article: Article, locator: str, now: str
) -> None:
    db.execute(
        "INSERT INTO sightings (article_id, version, headline_hash, source, url, seen_at, content_hash, "
        "run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            aid,
            version,
            article.headline_hash,
            batch.source,
            article.url or locator,
            now,
            article.content_hash,
            batch.run_id,
        ],
    )


def _resight(db: sqlite_utils.Database, batch: Batch, key: str, locator: str, now: str) -> int:
    """A sighting of every article an unchanged input produced before."""
    return int(
        db.execute(
            "INSERT INTO sightings (article_id, version, headline_hash, source, url, seen_at, content_hash, run_id) "
            "SELECT a.id, a.version, a.headline_hash, ?, coalesce(a.url, ?), ?, a.content_hash, ? "
            "FROM produced p JOIN articles a ON a.id = p.article_id WHERE p.source = ? AND p.key = ?",
            [batch.source, locator, now, batch.run_id, batch.source, key],
        ).rowcount
    )


def _seen_again(db: sqlite_utils.Database, batch: Batch, seen: Seen, now: str) -> int:
    """A sighting of the archived article an item stands for: the one under its headline at its
    URL, else the newest under its headline."""
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
        "run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [row[0], row[1], key, batch.source, seen.url or seen.locator, now, row[2], batch.run_id],
    )
    return 1


def finish_run(db: sqlite_utils.Database, result: RunResult, state: SourceState) -> None:
    """The run row and the source's state (with its article count)."""
    row = {k: v for k, v in asdict(result).items() if k not in ("run_id", "next_attempt_at")}
    row["not_modified"] = int(result.not_modified)
    db["runs"].update(result.run_id, row)
    count = db.execute("SELECT count(*) FROM articles WHERE source = ?", [state.source]).fetchone()[0]
    db["source_state"].upsert({**asdict(state), "articles": count}, pk="source")
