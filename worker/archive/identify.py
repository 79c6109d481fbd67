"""Finding the archived articles a new one may be the same story as (the SQL side of
``worker.identity``): by headline hash, by URL and by shared MinHash band keys.

A ``Probe`` looks up a whole batch at once (three indexed queries), so the common case, an
article nothing matches, costs no query of its own; only an article with candidates reads their
texts and versions. Articles stored earlier in the same batch are candidates too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlite_utils

from worker.archive import lsh
from worker.identity import Candidate
from worker.models import Article

CHUNK = 500  # values per IN (...) list
MAX_SAME_HEADLINE = 50  # the newest articles under one headline compared by text ("Corrections": many)
# the newest articles at one URL compared by text: a live page's URL, or a site whose every page
# names one canonical URL, holds many distinct articles, and each new one was compared with all
MAX_SAME_URL = 10
MAX_CLUSTER_CANDIDATES = 20  # articles sharing band keys compared by text


class Probe:
    """Candidate ids for the articles of one batch."""

    def __init__(self, db: sqlite_utils.Database, articles: Sequence[Article]):
        self.db = db
        self.by_hash = _lookup(db, _newest("headline_hash", MAX_SAME_HEADLINE), {a.headline_hash for a in articles})
        self.by_url = _lookup(db, _newest("url", MAX_SAME_URL), {a.url for a in articles if a.url})
        self.by_key = _lookup(db, lsh.SELECT_SQL, {k for a in articles for k in a.band_keys}, len(lsh.LEVELS))

    def add(self, article: Article, article_id: int) -> None:
        """An article stored in this batch: later ones are compared with it too."""
        self.by_hash[article.headline_hash].append(article_id)
        if article.url:
            self.by_url[article.url].append(article_id)
        for key in article.band_keys:
            self.by_key[key].append(article_id)

    def rehash(self, old: str, new: str, article_id: int) -> None:
        """An article whose headline was edited is found under its new headline."""
        if article_id in self.by_hash.get(old, ()):
            self.by_hash[old].remove(article_id)
        self.by_hash[new].append(article_id)

    def candidate_ids(self, article: Article) -> list[int]:
        same = sorted(set(self.by_hash.get(article.headline_hash, ())), reverse=True)[:MAX_SAME_HEADLINE]
        url = sorted(set(self.by_url.get(article.url, ())), reverse=True)[:MAX_SAME_URL] if article.url else []
        shared: dict[int, int] = defaultdict(int)
        for key in article.band_keys:
            for aid in self.by_key.get(key, ()):
                shared[aid] += 1
        near = sorted(shared, key=lambda aid: -shared[aid])[:MAX_CLUSTER_CANDIDATES]
        return list(dict.fromkeys([*same, *url, *near]))

    def candidates(self, ids: Iterable[int]) -> list[Candidate]:
        """The candidates' latest texts, where that text was seen (its URL, or the file it came
        from), and every version's content hash."""
        ids = list(ids)
        marks = ",".join("?" * len(ids))
        hashes: dict[int, set[str]] = defaultdict(set)
        for aid, h in self.db.execute(
            f"SELECT article_id, content_hash FROM version_rows WHERE article_id IN ({marks})", ids
        ):
            hashes[aid].add(h)
        rows = self.db.execute(
            f"SELECT a.id, a.headline, a.body, v.url, v.source, a.publication FROM articles a "
            f"JOIN version_rows v ON v.article_id = a.id AND v.version = a.version "
            f"WHERE a.id IN ({marks})",
            ids,
        ).fetchall()
        order = {aid: i for i, aid in enumerate(ids)}
        return [
            Candidate(
                article_id=r[0],
                headline=r[1],
                body=r[2],
                url=r[3],
                source=r[4],
                publication=r[5],
                content_hashes=frozenset(hashes[r[0]]),
            )
            for r in sorted(rows, key=lambda r: order[r[0]])
        ]


def _newest(column: str, n: int) -> str:
    """SQL of (value, id) for the newest ``n`` articles of each value of ``column`` in its IN list
    ``{0}``: a URL or headline that thousands of articles share costs no more than ``n`` rows."""
    return (
        f"SELECT {column}, id FROM (SELECT {column}, id, row_number() OVER "
        f"(PARTITION BY {column} ORDER BY id DESC) AS n FROM articles WHERE {column} IN ({{0}})) WHERE n <= {n}"
    )


def _lookup(db: sqlite_utils.Database, sql: str, values: set, parts: int = 1) -> defaultdict[object, list[int]]:
    """(value, id) pairs of ``sql`` for ``values``, by value; ``sql`` names its IN list ``{0}``,
    ``parts`` times (a union of as many tables, where a pair may be found twice)."""
    found: defaultdict[object, list[int]] = defaultdict(list)
    values_list = list(values)
    pairs = set()
    step = CHUNK // parts
    for i in range(0, len(values_list), step):
        chunk = values_list[i : i + step]
        for value, aid in db.execute(sql.format(",".join("?" * len(chunk))), chunk * parts):
            if (value, aid) not in pairs:
                pairs.add((value, aid))
                found[value].append(aid)
    return found
