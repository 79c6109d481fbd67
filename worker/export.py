"""Export articles as JSON Lines or CSV, for moving the data elsewhere.

Rows stream from one SQLite cursor straight to the output, in archive order (oldest stored
first), so an export of the whole archive never holds more than one row in memory. The same
filters as ``worker search``; with a query, only the matching articles (FTS5, not ranked).

A CSV cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) is written with a leading ``'``, as OWASP recommends for CSV
injection; JSON Lines are written as stored. A file is replaced only by a whole export.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from worker.archive.schema import COLUMN_NAMES
from worker.errors import WorkerError
from worker.search import NO_FILTERS, Deadline, Filters, fts_error, plan, where_sql

FORMATS = ("jsonl", "csv")
COLUMNS = COLUMN_NAMES
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ``--versions``: one line per version; ``id`` is the article's
VERSION_COLUMNS = (
    "id",
    "version",
    "reason",
    "headline",
    "byline",
    "published_at",
    "dateline",
    "lang",
    "dek",
    "body",
    "content_hash",
    "seen_at",
    "source",
    "url",
)


def columns_of(versions: bool) -> tuple[str, ...]:
    return VERSION_COLUMNS if versions else COLUMNS


class ExportError(WorkerError):
    """The export's output cannot be written."""


def rows(
    conn: sqlite3.Connection,
    query: str | None = None,
    *,
    filters: Filters = NO_FILTERS,
    raw: bool = False,
    limit: int | None = None,
    versions: bool = False,
) -> Iterator[dict]:
    """Matching articles (or, with ``versions``, every version of them), one dict at a time. The
    query is checked and started here, so a bad filter or query raises before anything is written."""
    where, params = where_sql(filters)
    clauses = [where] if where else []
    columns = columns_of(versions)
    select = ", ".join("v.article_id" if c == "id" and versions else f"{'v' if versions else 'a'}.{c}" for c in columns)
    tables = "articles a"
    if query is not None:  # the query's words, each in the index that finds it (search_plan)
        matches, found = plan(conn, query, raw).rowids()
        clauses.insert(0, f"a.id IN ({matches})")
        params[:0] = found
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
    deadline = Deadline(conn)
    with deadline.limit(), _query_errors(query is not None, raw):
        cursor = conn.execute(sql, params)
    return _stream(cursor, columns, deadline, query is not None, raw)


def _stream(
    cursor: sqlite3.Cursor, columns: tuple[str, ...], deadline: Deadline, matching: bool, raw: bool
) -> Iterator[dict]:
    """The rows; SQLite's time to find each next row is bounded (``search.QUERY_SECONDS``), the
    export's whole time is not."""
    with deadline.limit(), _query_errors(matching, raw):
        while True:
            deadline.renew()
            row = cursor.fetchone()
            if row is None:
                return
            yield dict(zip(columns, row))


@contextlib.contextmanager
def _query_errors(matching: bool, raw: bool) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if matching and (error := fts_error(exc, raw)):
            raise error from None
        raise


def write(
    out: IO[str], fmt: str, records: Iterator[dict], columns: tuple[str, ...] = COLUMNS, *, escape_formulas: bool = True
) -> int:
    """Write ``records`` to ``out`` as JSON Lines or CSV (with a header row); returns the count.
    ``escape_formulas``: CSV cells that start like a formula get a leading ``'``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns)  # CRLF rows: a cell with a CR is quoted
        writer.writeheader()
        for record in records:
            writer.writerow(neutralised(record) if escape_formulas else record)
            n += 1
    else:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def neutralised(record: dict) -> dict:
    """The record with every text that a spreadsheet would read as a formula prefixed by ``'``."""
    return {k: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v for k, v in record.items()}


def write_file(
    path: str, fmt: str, records: Iterator[dict], columns: tuple[str, ...] = COLUMNS, *, escape_formulas: bool = True
) -> int:
    """Write the export to the file ``path``; returns the count. A regular file (new or not) is
    written as a temporary file beside it and renamed over it only when the whole export is
    written, so a failure leaves it as it was; a device or pipe (``/dev/stdout``) is written
    directly. ``ExportError`` ("cannot write PATH: ...") when the file cannot be written."""
    target = Path(os.path.realpath(path))  # through a link, the file it names is replaced
    try:
        if target.exists() and not target.is_file():
            with target.open("w", encoding="utf-8", newline="") as out:
                return write(out, fmt, records, columns, escape_formulas=escape_formulas)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                n = write(out, fmt, records, columns, escape_formulas=escape_formulas)
                out.flush()
                os.fchmod(out.fileno(), _mode_for(target))
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return n


def _mode_for(target: Path) -> int:
    """The replaced file's permissions, or those of a file newly made under the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
