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


def rows(conn: sqlite3.Connection, query: str | None = None, *, filters: Filters = Filters(), raw: bool = False,
         limit: int | None = None) -> Iterator[dict]:
    """Matching articles, one dict at a time."""
    where, params = where_sql(filters)
    clauses = [where] if where else []
    select = ", ".join(f"a.{c}" for c in COLUMNS)
    if query is not None:
        sql = f"SELECT {select} FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
        clauses.insert(0, "articles_fts MATCH ?")
        params.insert(0, match_expression(query, raw))
        order = "articles_fts.rowid"
    else:
        sql = f"SELECT {select} FROM articles a"
        order = "a.rowid"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    try:
        cur = conn.execute(sql, params)
        for row in cur:
            yield dict(zip(COLUMNS, row))
    except sqlite3.OperationalError as exc:
        if query is not None and (error := fts_error(exc, raw)):
            raise error from None
        raise


def write(out: IO[str], fmt: str, records: Iterator[dict]) -> int:
    """Write ``records`` to ``out`` as JSON Lines or CSV (with a header row); returns the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for n, record in enumerate(records, 1):
            writer.writerow(record)
    else:
        for n, record in enumerate(records, 1):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n
