"""What `worker status` says: the per-source table and the problems `--check` fails on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.checks import format_duration

HEADER = ("source", "last run", "status", "new", "dup", "skip", "fails", "next due", "articles", "interval", "why")


def status_table(rows: list[dict], configured: set[str]) -> list[str]:
    """One aligned line per source (its last run's counts, its interval now and why), with a
    header line."""
    table = [HEADER] + [
        (
            r["source"] + ("" if r["source"] in configured or not configured else " (not configured)"),
            (r["last_run_at"] or "")[:19],
            r["last_status"] + (" (304)" if r["last_not_modified"] else ""),
            str(r["last_new"] or 0),
            str(r["last_duplicates"] or 0),
            str(r["last_skipped"] or 0),
            str(r["consecutive_failures"] or 0),
            (r["next_due_at"] or "-")[:19],
            str(r["articles"] or 0),
            format_duration(r["interval"]) if r.get("interval") else "-",
            r.get("interval_reason") or "",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table]


def health_problems(
    rows: list[dict], heartbeat: str | None, heartbeat_every: int, max_failing: int, now: datetime | None = None
) -> list[str]:
    """A stale heartbeat (older than 3 beats + 60 s) and sources failing longer than ``max_failing``."""
    now = now or datetime.now(UTC)
    problems = []
    if not heartbeat:
        problems.append("no heartbeat: the service has never run on this archive")
    elif now - datetime.fromisoformat(heartbeat) > timedelta(seconds=3 * heartbeat_every + 60):
        problems.append(f"heartbeat stale since {heartbeat}: is `worker run` running?")
    for r in rows:
        since = r.get("failing_since")
        if since and now - datetime.fromisoformat(since) > timedelta(seconds=max_failing):
            problems.append(f"{r['source']} failing since {since}: {r['last_error']}")
    return problems
