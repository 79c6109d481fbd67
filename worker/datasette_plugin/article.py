"""What an article's page shows, read from the archive (pure reads: a connection in, plain data out).

The page reads like the article: headline, byline, date, publication, a link to the original,
the body in its paragraphs; then its versions (each with a diff against the one before, as
``worker history`` shows them), where it was seen (sightings) and its wire cluster.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from worker.history import Version, diff, versions

MAX_SIGHTINGS = 500
MAX_CLUSTER = 200


@dataclass(frozen=True)
class VersionView:
    """One version: where it came from, and its changes against the version before it."""

    version: int
    reason: str
    seen_at: str
    source: str | None
    url: str | None
    shown: bool  # the text the article shows
    lines: tuple[tuple[str, str], ...]  # (same | add | remove, text); none for the first


@dataclass(frozen=True)
class ArticlePage:
    article: dict
    date: str | None  # the published date, for reading
    paragraphs: tuple[str, ...]
    versions: tuple[VersionView, ...]
    sightings: tuple[dict, ...]
    cluster: tuple[dict, ...]  # the other articles of its wire cluster


def read(conn: sqlite3.Connection, article_id: int) -> ArticlePage | None:
    """The page of article ``article_id``; None when there is no such article."""
    cursor = conn.execute("SELECT * FROM articles WHERE id = ?", [article_id])
    row = cursor.fetchone()
    if row is None:
        return None
    article = dict(zip([c[0] for c in cursor.description], row))
    return ArticlePage(
        article=article,
        date=readable_date(article.get("published_at")),
        paragraphs=tuple(p.strip() for p in (article.get("body") or "").split("\n\n") if p.strip()),
        versions=_versions(conn, article_id, article.get("version")),
        sightings=_dicts(
            conn,
            "SELECT seen_at, source, url, version FROM sightings WHERE article_id = ? ORDER BY seen_at, id LIMIT ?",
            [article_id, MAX_SIGHTINGS],
        ),
        cluster=_dicts(
            conn,
            "SELECT id, headline, publication, source, first_seen_at FROM articles "
            "WHERE cluster = ? AND id != ? ORDER BY first_seen_at, id LIMIT ?",
            [article.get("cluster"), article_id, MAX_CLUSTER],
        )
        if article.get("cluster") is not None
        else (),
    )


def _versions(conn: sqlite3.Connection, article_id: int, shown: int | None) -> tuple[VersionView, ...]:
    history: list[Version] = versions(conn, article_id)
    out = []
    for before, v in zip([None, *history], history):
        changes = tuple(diff(before, v)) if before is not None else ()
        out.append(VersionView(v.version, v.reason, v.seen_at, v.source, v.url, v.version == shown, changes))
    return tuple(out)


def _dicts(conn: sqlite3.Connection, sql: str, params: list) -> tuple[dict, ...]:
    cursor = conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return tuple(dict(zip(names, row)) for row in cursor.fetchall())


def readable_date(value: str | None) -> str | None:
    """``2021-07-07T10:15:00-04:00`` as ``7 July 2021, 10:15 (UTC-04:00)``; a day alone as
    ``7 July 2021``; anything else as it is."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    day = f"{when.day} {when:%B %Y}"
    if len(value) <= 10:
        return day
    offset = when.strftime("%z")
    zone = f" (UTC{offset[:3]}:{offset[3:]})" if offset and offset != "+0000" else " (UTC)" if offset else ""
    return f"{day}, {when:%H:%M}{zone}"
