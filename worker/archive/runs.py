"""A finished run, in the caller's transaction: its row and the source's state.

Plain SQL, in as few pages as it can: the run's row keeps what ``start_run`` wrote (its source,
trigger and start, so their index is not rewritten), and the source's state is one upsert
(sqlite-utils' ``upsert`` first checks that SQLite has upserts by creating and dropping a table:
a change of the schema). A finished run writes four pages instead of eight, its row alone two:
when the disk is full, a failed run is recorded in the room the failed batch left, and every
page counts.
"""

from __future__ import annotations

from dataclasses import asdict

import sqlite_utils

from worker.models import RunResult, SourceState

KEPT = ("run_id", "next_attempt_at", "source", "trigger", "started_at")  # not written by a finished run


def finish_run(db: sqlite_utils.Database, result: RunResult, state: SourceState | None) -> None:
    """The run row and, unless None, the source's state (with its article count)."""
    row = {k: v for k, v in asdict(result).items() if k not in KEPT}
    row["not_modified"] = int(result.not_modified)
    assert result.run_id is not None
    sets = ", ".join(f"[{name}] = ?" for name in row)
    db.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*row.values(), result.run_id])
    if state is None:
        return
    count = db.execute("SELECT count(*) FROM articles WHERE source = ?", [state.source]).fetchone()[0]
    upsert(db, "source_state", "source", {**asdict(state), "articles": count})


def upsert(db: sqlite_utils.Database, table: str, key: str, row: dict) -> None:
    """Insert ``row``, or update the one with its ``key``."""
    names = ", ".join(f"[{name}]" for name in row)
    updates = ", ".join(f"[{name}] = excluded.[{name}]" for name in row if name != key)
    db.execute(
        f"INSERT INTO [{table}] ({names}) VALUES ({', '.join('?' * len(row))}) "
        f"ON CONFLICT ([{key}]) DO UPDATE SET {updates}",
        list(row.values()),
    )
