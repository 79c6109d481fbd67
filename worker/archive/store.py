"""The writer's SQL: one batch of a run, as plain data in and out (a finished run: ``runs``).

Each article of a batch is matched to the archive (``identify.Probe`` finds candidates,
``identity.classify`` decides) and stored as what it is: a sighting of a text the archive has,
a new version of an article (``edit`` from its own URL, ``copy`` from another), or a new article
(linked into a near-duplicate cluster when it is one). Nothing is rewritten without its previous
text kept in ``versions``. Everything a batch holds (articles, versions, sightings, the checkpoints
of the inputs it completes with what they produced, the sightings of what it holds already:
``sightings``) is written in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sqlite_utils

from worker.archive import lsh
from worker.archive.identify import Probe
from worker.archive.schema import COLUMN_NAMES
from worker.archive.sightings import resight, seen_again
from worker.identity import Decision, classify
from worker.models import Article, CaptureRef, Checkpoint, Seen
from worker.similarity import shingles
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
    "shown",
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


def store_batch(
    db: sqlite_utils.Database, batch: Batch, now: str, shingled: Callable[[str], np.ndarray] = shingles
) -> Stored:
    """Match and store every article, record the known inputs' sightings and the checkpoints;
    ``shingled`` makes the shingles of the bodies compared (``classify``)."""
    writes = BatchWrites(db, batch, now, shingled)
    for captured in batch.captures:
        writes.capture_id(captured)
    outcomes, ids = [], []
    for article, locator, ref in batch.articles:
        outcome, aid = writes.article(article, locator, writes.capture_id(ref))
        outcomes.append(outcome)
        ids.append(aid)
    writes.flush()
    lsh.settle(db)
    run = (batch.source, batch.run_id, now)
    resighted = sum(resight(db, run, key, locator) for key, locator in batch.known)
    resighted += sum(seen_again(db, run, seen, writes.capture_id(seen.capture)) for seen in batch.seen)
    produced, start = [*batch.carried, *ids], 0
    states: list[tuple] = []
    made: list[tuple] = []
    for checkpoint, position in batch.checkpoints:
        end = len(batch.carried) + position
        states.append((batch.source, checkpoint.key, checkpoint.value, now))
        made.extend((batch.source, checkpoint.key, aid) for aid in produced[start:end])
        start = end
    insert_rows(db, "INSERT OR REPLACE INTO fetch_state (source, key, value, updated_at)", states)
    insert_rows(db, "INSERT OR IGNORE INTO produced (source, key, article_id)", made)
    return Stored(tuple(outcomes), tuple(ids), resighted, tuple(produced[start:]))


MAX_VARIABLES = 999  # per statement: SQLite's limit before 3.32, the lowest a build may have


def insert_rows(db: sqlite_utils.Database, head: str, rows: list[tuple]) -> None:
    """``head`` (an INSERT naming its columns) with ``rows``, as few multi-row statements as the
    variable limit allows. SQLite is entered once per statement, not once per row: the writer
    thread gives up the interpreter's lock on each entry and may wait to get it back while the
    thread that cleans holds it, so per-row statements cost a backfill far more than their work."""
    if not rows:
        return
    width = len(rows[0])
    per = max(1, MAX_VARIABLES // width)
    one = "(" + ", ".join("?" * width) + ")"
    for i in range(0, len(rows), per):
        chunk = rows[i : i + per]
        db.execute(f"{head} VALUES {', '.join([one] * len(chunk))}", [v for row in chunk for v in row])


def article_row(article: Article, now: str) -> dict[str, Any]:
    """A new ``articles`` row, with exactly the declared columns (``id`` given by the writer)."""
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
        "spaceless": article.spaceless,
        "dek": article.dek,
        "body": article.body,
    }
    return {name: values[name] for name in COLUMN_NAMES}


class BatchWrites:
    """The writes of one batch, article by article (in the caller's transaction).

    A new article's rows (the article, its first version, its sighting, its band keys) wait in
    ``pending`` and go in together (``flush``), with ids given here: the transaction holds the
    write lock, so the next ids are the tables' largest plus one, as SQLite would give them. An
    article compared with one that waits (its candidate, stored earlier in the batch) reads that
    one's rows, so what waits is written first; so does a revision, whose statements read the
    version it adds. ``store_batch`` flushes before the batch's other writes.
    """

    def __init__(self, db: sqlite_utils.Database, batch: Batch, now: str, shingled: Callable[[str], np.ndarray]):
        self.db, self.batch, self.now, self.shingled = db, batch, now, shingled
        self.probe = Probe(db, [a for a, _, _ in batch.articles])
        self._captures: dict[tuple[str, int], int] = {}
        self.pending: dict[str, list[tuple]] = {name: [] for name in _PENDING}
        self._next: dict[str, int] = {}

    def flush(self) -> None:
        """Write the rows that wait, table by table, in the order their rows refer to each other."""
        for table, head in _PENDING.items():
            insert_rows(self.db, head, self.pending[table])
            self.pending[table].clear()

    def _waiting(self, ids: list[int]) -> bool:
        """Whether one of the articles ``ids`` waits in ``pending`` (ids grow: the articles written
        have smaller ids than the first that waits)."""
        waiting = self.pending["articles"]
        return bool(waiting) and max(ids, default=0) >= waiting[0][0]

    def _new_id(self, table: str) -> int:
        if table not in self._next:
            (largest,) = self.db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
            self._next[table] = int(largest) + 1
        self._next[table] += 1
        return self._next[table] - 1

    def article(self, article: Article, locator: str, capture_id: int | None) -> tuple[str, int]:
        """Store one article as what it is; (outcome, article id)."""
        ids = self.probe.candidate_ids(article)
        if self._waiting(ids):
            self.flush()  # a candidate stored earlier in this batch: what follows reads its rows
        where = replace(article, url=article.url or locator)  # a file without a URL is known by its path
        if ids:
            decision = classify(where, self.probe.candidates(ids), self.shingled)
        else:
            decision = Decision("new", None, "nothing like it")
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
        row["id"] = aid = self._new_id("articles")
        self.pending["articles"].append(tuple(row[n] for n in COLUMN_NAMES))
        self._add_version(aid, 1, "first", article, locator, capture_id, shown=True)
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
        if decision.kind != "copy":  # the text the article shows becomes an earlier version's: kept there
            self.db.execute(
                "UPDATE version_rows SET (dek, body, shown) = (SELECT dek, body, 0 FROM articles WHERE id = ?) "
                "WHERE article_id = ? AND shown = 1",
                [aid, aid],
            )
        vid = self._add_version(aid, version, reason, article, locator, capture_id, shown=decision.kind != "copy")
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
            "SELECT id FROM version_rows WHERE article_id = ? AND version = ?", [aid, current]
        ).fetchone()
        _index_version(self.db, previous)
        self._keys(aid, article)
        if article.headline_hash != old_hash:
            self.probe.rehash(old_hash, article.headline_hash, aid)
        return version

    def _keys(self, aid: int, article: Article) -> None:
        self.pending["lsh"].extend((key, aid) for key in article.band_keys)

    def _add_version(
        self, aid: int, version: int, reason: str, article: Article, locator: str, capture_id: int | None, shown: bool
    ) -> int:
        """A ``version_rows`` row; ``shown``: the text the article shows (read from the article's
        row through the ``versions`` view, not stored twice: migration 8)."""
        text = (None, "") if shown else (article.dek, article.body)
        values = (
            aid, version, reason, article.fetched_at or self.now, self.batch.source, article.url or locator,
            self.batch.run_id,
            article.content_hash, article.headline, article.byline, article.published_at, article.dateline,
            article.lang, *text, int(shown),
        )  # fmt: skip
        vid = self._new_id("version_rows")
        self.pending["version_rows"].append((vid, *values))
        if capture_id is not None:
            self.pending["version_captures"].append((vid, capture_id))
        if version != 1:  # a revision: the statements that follow read it
            self.flush()
        return vid

    def _sighting(self, aid: int, version: int | None, article: Article, locator: str, capture_id: int | None) -> None:
        if self.batch.reason == "reclean":  # cleaning a record again is not seeing it again
            return
        self.pending["sightings"].append(
            (aid, version, article.headline_hash, self.batch.source, article.url or locator,
             article.fetched_at or self.now, article.content_hash, self.batch.run_id, capture_id)
        )  # fmt: skip


_PENDING = {  # the tables whose rows wait for ``flush``, in the order they are written
    "articles": f"INSERT INTO articles ({', '.join(COLUMN_NAMES)})",
    "version_rows": f"INSERT INTO version_rows (id, {', '.join(VERSION_COLUMNS)})",
    "version_captures": "INSERT INTO version_captures (version_id, capture_id)",
    "lsh": lsh.INSERT_SQL,
    "sightings": "INSERT INTO sightings (article_id, version, headline_hash, source, url, seen_at, content_hash, "
    "run_id, capture_id)",
}


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
        "SELECT min(version) FROM version_rows WHERE article_id = ? AND content_hash = ?", [aid, content_hash]
    ).fetchone()
    return row[0] if row else None
