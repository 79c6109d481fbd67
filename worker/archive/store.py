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
from worker.archive.migrate_7 import is_spaceless
from worker.archive.schema import COLUMN_NAMES
from worker.identity import Decision, classify, story_key
from worker.models import Article, CaptureRef, Checkpoint, RunResult, Seen, SourceState
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
    "spaceless",
)  # what an edit changes in the article's row


@dataclass
class Batch:
    """What a run hands the archive at once."""

    run_id: int
    source: str
    articles: list[tuple[Article, str, CaptureRef | None]] = field(default_factory=list)  # (article, locator, raw)
    # each checkpoint with how many of this batch's articles came before it
    checkpoints: list[tuple[Checkpoint, int]] = field(default_factory=list)
    known: list[tuple[str, str]] = field(default_factory=list)  # (checkpoint key, locator) of unchanged inputs
    seen: list[Seen] = field(default_factory=list)  # items of archived articles passed over without their text
    carried: list[int] = field(default_factory=list)  # article ids produced since the last checkpoint, earlier
    captures: list[CaptureRef] = field(default_factory=list)  # raw records written (WARC) since the last batch
    reason: str | None = None  # the reason every revision of this batch gets ("reclean"); else edit or copy


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
    writes = BatchWrites(db, batch, now)
    for captured in batch.captures:
        writes.capture_id(captured)
    outcomes, ids = [], []
    for article, locator, ref in batch.articles:
        outcome, aid = writes.article(article, locator, writes.capture_id(ref))
        outcomes.append(outcome)
        ids.append(aid)
    resighted = sum(_resight(db, batch, key, locator, now) for key, locator in batch.known)
    resighted += sum(_seen_again(db, batch, seen, now, writes.capture_id(seen.capture)) for seen in batch.seen)
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
        "spaceless": is_spaceless(article.headline, article.dek, article.body, article.byline),
        "dek": article.dek,
        "body": article.body,
    }
    return {name: values[name] for name in COLUMN_NAMES}


class BatchWrites:
    """The writes of one batch, article by article (in the caller's transaction)."""

    def __init__(self, db: sqlite_utils.Database, batch: Batch, now: str):
        self.db, self.batch, self.now = db, batch, now
        self.probe = Probe(db, [a for a, _, _ in batch.articles])
        self._captures: dict[tuple[str, int], int] = {}

    def article(self, article: Article, locator: str, capture_id: int | None) -> tuple[str, int]:
        """Store one article as what it is; (outcome, article id)."""
        ids = self.probe.candidate_ids(article)
        where = replace(article, url=article.url or locator)  # a file without a URL is known by its path
        decision = classify(where, self.probe.candidates(ids)) if ids else Decision("new", None, "nothing like it")
        if decision.kind == "duplicate":
            assert decision.article_id is not None
            version = _version_of(self.db, decision.article_id, article.content_hash)
            self._sighting(decision.article_id, version, article, locator, capture_id)
            return "duplicate", decision.article_id
        if decision.kind in ("edit", "copy"):
            assert decision.article_id is not None
            version = self._revise(decision, article, locator, capture_id)
            self._sighting(decision.article_id, version, article, locator, capture_id)
            return decision.kind, decision.article_id
        aid = self._insert(article, locator, self._cluster_of(decision), capture_id)
        self.probe.add(article, aid)
        self._sighting(aid, 1, article, locator, capture_id)
        return "new", aid

    def capture_id(self, ref: CaptureRef | None) -> int | None:
        """The ``captures`` row of a raw record (written once, when first met)."""
        if ref is None:
            return None
        key = (ref.file, ref.offset)
        if key not in self._captures:
            self.db.execute(
                "INSERT OR IGNORE INTO captures (file, offset, length, digest, fetched_at, status, url, record_id, "
                "revisit_of, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ref.file,
                    ref.offset,
                    ref.length,
                    ref.digest,
                    ref.fetched_at,
                    ref.status,
                    ref.url,
                    ref.record_id,
                    ref.revisit_of,
                    self.batch.source,
                ],
            )
            (self._captures[key],) = self.db.execute(
                "SELECT id FROM captures WHERE file = ? AND offset = ?", [ref.file, ref.offset]
            ).fetchone()
        return self._captures[key]

    def _insert(self, article: Article, locator: str, cluster: int | None, capture_id: int | None) -> int:
        row = article_row(article, self.now)
        row["cluster"] = cluster
        names = [n for n in COLUMN_NAMES if n != "id"]
        cur = self.db.execute(
            f"INSERT INTO articles ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", [row[n] for n in names]
        )
        aid = int(cur.lastrowid or 0)
        self._add_version(aid, 1, "first", article, locator, capture_id)
        self._keys(aid, article)
        return aid

    def _cluster_of(self, decision: Decision) -> int | None:
        """The cluster a new near-duplicate joins: its match's, which starts one if it had none."""
        if decision.kind != "new_in_cluster" or decision.article_id is None:
            return None
        (cluster,) = self.db.execute("SELECT cluster FROM articles WHERE id = ?", [decision.article_id]).fetchone()
        if cluster is None:
            cluster = decision.article_id
            self.db.execute("UPDATE articles SET cluster = ? WHERE id = ?", [cluster, cluster])
        return int(cluster)

    def _revise(self, decision: Decision, article: Article, locator: str, capture_id: int | None) -> int:
        """A new version of an archived article; an ``edit`` (or a ``reclean`` of its own page)
        also becomes the text the article shows, and the text it showed is kept searchable among
        the earlier versions."""
        aid = decision.article_id
        assert aid is not None
        current, count, old_hash = self.db.execute(
            "SELECT version, version_count, headline_hash FROM articles WHERE id = ?", [aid]
        ).fetchone()
        version = count + 1
        reason = self.batch.reason or decision.kind
        vid = self._add_version(aid, version, reason, article, locator, capture_id)
        if decision.kind == "copy":
            self.db.execute("UPDATE articles SET version_count = ? WHERE id = ?", [version, aid])
            _index_version(self.db, vid)
            return version
        row = {name: value for name, value in article_row(article, self.now).items() if name in EDITED}
        sets = ", ".join(f"{name} = ?" for name in row)
        self.db.execute(
            f"UPDATE articles SET {sets}, version = ?, version_count = ?, updated_at = ? WHERE id = ?",
            [*row.values(), version, version, self.now, aid],
        )
        (previous,) = self.db.execute(
            "SELECT id FROM versions WHERE article_id = ? AND version = ?", [aid, current]
        ).fetchone()
        _index_version(self.db, previous)
        self._keys(aid, article)
        if article.headline_hash != old_hash:
            self.probe.rehash(old_hash, article.headline_hash, aid)
        return version

    def _keys(self, aid: int, article: Article) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO lsh (key, article_id) VALUES (?, ?)", [(key, aid) for key in article.band_keys]
        )

    def _add_version(
        self, aid: int, version: int, reason: str, article: Article, locator: str, capture_id: int | None
    ) -> int:
        values = (
            aid, version, reason, article.fetched_at or self.now, self.batch.source, article.url or locator,
            self.batch.run_id,
            article.content_hash, article.headline, article.byline, article.published_at, article.dateline,
            article.lang, article.dek, article.body,
        )  # fmt: skip
        cur = self.db.execute(
            f"INSERT INTO versions ({', '.join(VERSION_COLUMNS)}) VALUES ({', '.join('?' * len(VERSION_COLUMNS))})",
            values,
        )
        vid = int(cur.lastrowid or 0)
        if capture_id is not None:
            self.db.execute("INSERT INTO version_captures (version_id, capture_id) VALUES (?, ?)", [vid, capture_id])
        return vid

    def _sighting(self, aid: int, version: int | None, article: Article, locator: str, capture_id: int | None) -> None:
        if self.batch.reason == "reclean":  # cleaning a record again is not seeing it again
            return
        self.db.execute(
            "INSERT INTO sightings (article_id, version, headline_hash, source, url, seen_at, content_hash, "
            "run_id, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [aid, version, article.headline_hash, self.batch.source, article.url or locator,
             article.fetched_at or self.now, article.content_hash, self.batch.run_id, capture_id],
        )  # fmt: skip


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


def _seen_again(db: sqlite_utils.Database, batch: Batch, seen: Seen, now: str, capture_id: int | None) -> int:
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
        "run_id, capture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [row[0], row[1], key, batch.source, seen.url or seen.locator, now, row[2], batch.run_id, capture_id],
    )
    return 1


def finish_run(db: sqlite_utils.Database, result: RunResult, state: SourceState) -> None:
    """The run row and the source's state (with its article count)."""
    row = {k: v for k, v in asdict(result).items() if k not in ("run_id", "next_attempt_at")}
    row["not_modified"] = int(result.not_modified)
    assert result.run_id is not None
    db.table("runs").update(result.run_id, row)
    count = db.execute("SELECT count(*) FROM articles WHERE source = ?", [state.source]).fetchone()[0]
    db.table("source_state").upsert({**asdict(state), "articles": count}, pk="source")
