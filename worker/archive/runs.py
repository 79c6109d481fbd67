"""A finished run, in the caller's transaction: its row and the source's state."""

from __future__ import annotations

from dataclasses import asdict

import sqlite_utils

from worker.models import RunResult, SourceState


def finish_run(db: sqlite_utils.Database, result: RunResult, state: SourceState) -> None:
    """The run row and the source's state (with its article count)."""
    row = {k: v for k, v in asdict(result).items() if k not in ("run_id", "next_attempt_at")}
    row["not_modified"] = int(result.not_modified)
    assert result.run_id is not None
    db.table("runs").update(result.run_id, row)
    count = db.execute("SELECT count(*) FROM articles WHERE source = ?", [state.source]).fetchone()[0]
    db.table("source_state").upsert({**asdict(state), "articles": count}, pk="source")
