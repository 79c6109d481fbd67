"""Export articles as JSON Lines or CSV, for moving the data elsewhere.

Rows stream from one SQLite cursor straight to the output, in archive order (oldest stored
first), so an export of the whole archive never holds more than one row in memory. The same
filters as ``worker search``; with a query, only the matching articles (FTS5, not ranked).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from typing import IO, Iterator

from worker.archive.schema import COLUMN_NAMES
from worker.search import Filters, fts_error, match_expression, where_sql

FORMATS = ("jsonl", "csv")
COLUMNS = COLUMN_NAMES
# ``--versions``: one line per version; ``id`` is the article's
VERSION_COLUMNS = ("id", "version", "reason", "headline", "byline", "published_at", "dateline", "lang", "dek",
                   "body", "content_hash", "seen_at", "source", "url")


def columns_of(versions: bool) -> tuple[str, ...]:
    return VERSION_COLUMNS if versions else COLUMNS


def rows(conn: sqlite3.Connection, query: str | None = None, *, filters: Filters = Filters(), raw: bool = False,
         limit: int | None = None, versions: bool = False) -> Iterator[dict]:
    """Matching articles (or, with ``versions``, every version of them), one dict at a time."""
    where, params = where_sql(filters)
    clauses = [where] if where else []
    columns = columns_of(versions)
    select = ", ".join("v.article_id" if c == "id" and versions else f"{'v' if versions else 'a'}.{c}"
                       for c in columns)
    tables = "articles a"
    if query is not None:
        tables = "articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        clauses.insert(0, "articles_fts MATCH ?")
        params.insert(0, match_expression(query, raw))
    if versions:
        tables += " JOIN versions v ON v.article_id = a.id"
    sql = f"SELECT {select} FROM {tables}"
    order = "v.id" if versions else "a.id"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    try:
        cur = conn.execute(sql, params)
        for row in cur:
            yield dict(zip(columns, row))
    except sqlite3.OperationalError as exc:
        if query is not None and (error := fts_error(exc, raw)):
            raise error from None
        raise


def write(out: IO[str], fmt: str, records: Iterator[dict], columns: tuple[str, ...] = COLUMNS) -> int:
    """Write ``records`` to ``out`` as JSON Lines or CSV (with a header row); returns the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for n, record in enumerate(records, 1):
            writer.writerow(record)
    else:
        for n, record in enumerate(records, 1):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n
