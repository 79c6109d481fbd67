"""When a failing source runs next: its own interval (``every:``, or the gap between two fires of
its ``cron:`` line) x 2^failures, plus up to ``scheduler.jitter`` seconds, capped at
``scheduler.max_backoff`` and never before a server's Retry-After. The first success resets it.

The one home of backoff: the pipeline asks ``next_attempt`` when a run fails, the scheduler asks
``backing_off_until`` before it starts a run.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from worker.models import SchedulerSettings, Source, SourceState

FALLBACK_INTERVAL = 3600  # seconds, for a source with neither every nor a readable cron line


def interval_of(source: Source, now: datetime) -> int:
    """The source's scheduled interval in seconds: ``every``, or the gap between the next two
    fires of its cron line (``*/20 * * * *``: 1,200 s)."""
    if source.every:
        return source.every
    if source.cron:
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(source.cron, timezone="UTC")
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
        if first and second:
            return max(int((second - first).total_seconds()), 1)
    return FALLBACK_INTERVAL


def next_attempt(
    source: Source,
    failures: int,
    settings: SchedulerSettings,
    *,
    retry_after: float | None = None,
    now: datetime | None = None,
    rand: random.Random | None = None,
    interval: int | None = None,
) -> datetime:
    """The earliest time a source that has now failed ``failures`` times in a row runs again;
    ``interval``: the one it runs at now, when it has one (``every: auto``, a feed's floor)."""
    now = now or datetime.now(UTC)
    delay = float(interval or interval_of(source, now)) * 2 ** max(failures, 0)
    delay += (rand or random).uniform(0, settings.jitter) if settings.jitter else 0
    delay = min(delay, settings.max_backoff)
    if retry_after:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


def backing_off_until(state: SourceState | None, now: datetime | None = None) -> str | None:
    """The time a failing source is skipped until, if that is still in the future."""
    due = state.next_due_at if state else None
    if due and state and state.consecutive_failures and datetime.fromisoformat(due) > (now or datetime.now(UTC)):
        return due
    return None
