"""Full-text search over the archive: bm25 with the headline weighted above the body.

User queries are plain words by default: each word is quoted, so hyphens, quotes and FTS
operators in them can never be a syntax error. ``raw=True`` passes FTS5 syntax through
(NEAR, prefix*, column filters) and turns a syntax error into a clear ``SearchError``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from worker.errors import WorkerError

# bm25 weights in articles_fts column order: headline, dek, body, byline
WEIGHTS = (10.0, 4.0, 1.0, 2.0)
MARK = ("[", "]")


class SearchError(WorkerError):
    """A query SQLite's FTS5 cannot run."""


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    since: str | None = None  # ISO date or datetime, on published_at (first_seen_at when unknown)
    until: str | None = None
    lang: str | None = None


def quote_query(query: str) -> str:
    """Plain words -> an FTS5 query of quoted tokens (implicit AND); '' when nothing is searchable."""
    words = re.findall(r"[\w][\w'’.\-]*", query)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _where(filters: Filters) -> tuple[str, list]:
    clauses, params = [], []
    if filters.source:
        clauses.append("a.source = ?")
        params.append(filters.source)
    if filters.lang:
        clauses.append("(a.lang = ? OR a.lang LIKE ? || '-%')")
        params += [filters.lang, filters.lang]
    if filters.since:
        clauses.append("coalesce(a.published_at, a.first_seen_at) >= ?")
        params.append(filters.since)
    if filters.until:
        clauses.append("coalesce(a.published_at, a.first_seen_at) < ?")
        params.append(_next_day(filters.until))
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def _next_day(value: str) -> str:
    """--until 2024-01-31 includes that whole day."""
    from datetime import date, timedelta

    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return (date.fromisoformat(value) + timedelta(days=1)).isoformat()
    return value


def search(conn: sqlite3.Connection, query: str, *, limit: int = 20, filters: Filters = Filters(),
           raw: bool = False) -> list[dict]:
    """Ranked hits: headline, byline, source, publication, published_at, url, snippet, rank."""
    match = query.strip() if raw else quote_query(query)
    if not match:
        return []
    where, params = _where(filters)
    weights = ", ".join(str(w) for w in WEIGHTS)
    sql = f"""
        SELECT a.headline, a.byline, a.source, a.publication, a.published_at, a.first_seen_at,
               a.url, a.lang, a.headline_hash,
               snippet(articles_fts, -1, '{MARK[0]}', '{MARK[1]}', '…', 24) AS snippet,
               bm25(articles_fts, {weights}) AS rank
        FROM articles_fts
        JOIN articles a ON a.rowid = articles_fts.rowid
        WHERE articles_fts MATCH ?{where}
        ORDER BY rank
        LIMIT ?
    """
    try:
        cur = conn.execute(sql, [match, *params, limit])
    except sqlite3.OperationalError as exc:
        if raw and ("fts5" in str(exc) or "syntax" in str(exc) or "no such column" in str(exc)):
            raise SearchError(f"not a valid FTS5 query ({exc}); leave out --raw to search the words") from None
        raise
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
