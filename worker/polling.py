"""How often a source runs: the floor a feed and its server ask for, and ``every: auto``.

A pure core: hints and observations in, an interval with its reason out. ``run.Run`` applies
``plan`` to the source's state after each successful run (in the transaction that stores the
run), and the scheduler moves the source's job to the new interval when it changes.

- The floor: RSS ``<ttl>`` (minutes), ``sy:updatePeriod``/``sy:updateFrequency``,
  ``Cache-Control: max-age`` (less ``Age``) and ``Expires`` (less ``Date``). The longest one
  wins and the source never runs sooner, up to its ``max_every``: a feed that asks to be read
  once a year is still read daily.
- ``every: auto``, as miniflux's entry_frequency scheduler: the interval is a tenth of the
  average gap between the articles the source carried in the last 7 days (by their publication
  time), clamped to ``min_every``..``max_every``. A feed that publishes twice a week is read
  every 8 hours or so, a wire feed every few minutes; a source with nothing in 7 days waits
  ``max_every``. The last hour, 6 hours and day are looked at too, counting the distinct times
  of publication less one (one article alone, or a feed that stamps all its items alike, says
  nothing of a rate), so a feed that speeds up (breaking news, a new wire feed's first run) is
  read faster at once rather than when the week's average catches up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from worker.checks import format_duration
from worker.models import PollHints, Source, SourceState

WINDOW = 7 * 86400  # seconds of history the rate of ``every: auto`` is measured over
POLLS_PER_GAP = 10  # runs per average gap between two articles
RECENT = (3600, 6 * 3600, 86400)  # shorter spans in which a faster rate is seen at once
MIN_EVERY = 300  # defaults of the feed keys min_every and max_every
MAX_EVERY = 86400

SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}
REASONS = {
    "ttl": "the feed's <ttl>",
    "update_period": "the feed's sy:updatePeriod",
    "max_age": "Cache-Control max-age",
    "expires": "Expires",
}


@dataclass(frozen=True)
class Observed:
    """What the archive saw of a source in the last ``WINDOW`` seconds: the publication times
    of the articles it carried, and how many more it carried without a time of publication."""

    dated: tuple[datetime, ...] = ()
    undated: int = 0


# ---------------------------------------------------------------- what feeds and servers say


def ttl_seconds(value: str | None) -> int | None:
    """RSS ``<ttl>`` (minutes) in seconds; None when absent, zero or not a number."""
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes * 60 if minutes > 0 else None


def update_period_seconds(period: str | None, frequency: str | None) -> int | None:
    """The syndication module's ``updatePeriod`` (default daily) divided by ``updateFrequency``
    (default 1) in seconds; None when the feed says neither, or something unreadable."""
    if not period and not frequency:
        return None
    seconds = SY_PERIODS.get(str(period or "daily").strip().lower())
    try:
        times = int(str(frequency or 1).strip())
    except ValueError:
        return None
    return seconds // times if seconds and times > 0 else None


def cache_seconds(headers: Mapping[str, str], now: datetime) -> tuple[int | None, int | None]:
    """(max-age less Age, Expires less Date) in seconds from a response's headers (lower-case
    names). ``no-cache``/``no-store`` ask for nothing; max-age, when given, overrides Expires
    (RFC 9111 5.3); an unreadable or past Expires asks for nothing."""
    directives = {}
    for part in (headers.get("cache-control") or "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-cache" in directives or "no-store" in directives:
        return None, None
    if "max-age" in directives:
        try:
            age = int(headers.get("age") or 0)
            fresh = int(directives["max-age"]) - max(age, 0)
        except ValueError:
            return None, None
        return (fresh if fresh > 0 else None), None
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None, None
    sent = _http_date(headers.get("date")) or now
    left = int((expires - sent).total_seconds())
    return None, (left if left > 0 else None)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def floor_of(hints: PollHints | None) -> tuple[int, str] | None:
    """The longest wait the hints ask for, with who asked; None when none asks."""
    if hints is None:
        return None
    asked = [(seconds, REASONS[name]) for name, seconds in vars(hints).items() if seconds]
    return max(asked, key=lambda a: a[0], default=None)


# ---------------------------------------------------------------- the interval


def auto_interval(observed: Observed, min_every: int, max_every: int, now: datetime) -> tuple[int, str]:
    """``every: auto``: a tenth of the average gap between articles, within min..max."""
    count = len(observed.dated) + observed.undated
    if count == 0:
        return max_every, f"auto: no articles in the last {format_duration(WINDOW)}"
    rate, span = count / WINDOW, WINDOW  # articles per second
    for window in RECENT:  # distinct times: items stamped all alike are no burst
        recent = len({when for when in observed.dated if (now - when).total_seconds() <= window})
        if (recent - 1) / window > rate:
            rate, span = (recent - 1) / window, window
    gap = 1 / rate
    seconds = min(max(round(gap / POLLS_PER_GAP), min_every), max_every)
    return seconds, f"auto: an article every {format_duration(gap)} in the last {format_duration(span)}"


def with_floor(interval: int, reason: str, floor: tuple[int, str] | None, max_every: int) -> tuple[int, str]:
    """The interval raised to the floor (capped at ``max_every``, or the interval when longer)."""
    if floor is None or floor[0] <= interval:
        return interval, reason
    capped = min(floor[0], max(max_every, interval))
    if capped <= interval:
        return interval, reason
    why = f"{floor[1]} asks for {format_duration(floor[0])}"
    return capped, why + (f" (capped at max_every {format_duration(capped)})" if capped < floor[0] else "")


def plan(
    source: Source, hints: PollHints | None, state: SourceState, observed: Observed | None, now: datetime
) -> SourceState:
    """The state after a successful run, with the source's interval, its reason and its floor.
    A cron source keeps its cron line (its floor is shown, not applied)."""
    floor = floor_of(hints)
    state = replace(state, floor=floor[0] if floor else None, floor_reason=floor[1] if floor else None)
    if source.cron:
        return replace(state, interval=None, interval_reason=f"cron {source.cron}")
    if not source.every and not source.auto:  # a one-off source (a backfill): no interval
        return replace(state, interval=None, interval_reason=None)
    max_every = int(source.options.get("max_every", MAX_EVERY))
    if source.auto:
        base = auto_interval(observed or Observed(), int(source.options.get("min_every", MIN_EVERY)), max_every, now)
    else:
        assert source.every
        base = source.every, f"every {format_duration(source.every)}"
    interval, reason = with_floor(*base, floor, max_every)
    return replace(state, interval=interval, interval_reason=reason)


def resume(source: Source, state: SourceState | None) -> int | None:
    """The interval a source's job starts with: its last one (``every: auto``, within its
    current min..max) or its ``every``, never below its last floor; None for a cron source."""
    if source.cron:
        return None
    max_every = int(source.options.get("max_every", MAX_EVERY))
    if source.auto:
        low = int(source.options.get("min_every", MIN_EVERY))
        base = min(max((state.interval if state else None) or low, low), max_every)
    else:
        base = source.every or MAX_EVERY
    floor = (state.floor, "") if state and state.floor else None
    return with_floor(base, "", floor, max_every)[0]


def not_before(state: SourceState | None) -> datetime | None:
    """When a source whose feed asked for a floor may run again (across a restart)."""
    if state is None or not state.floor or not state.last_run_at:
        return None
    return datetime.fromisoformat(state.last_run_at) + timedelta(seconds=state.floor)


def observed_from(rows: list[tuple[str | None, str]], now: datetime) -> Observed:
    """Observed from (published_utc, first_seen_at) rows of the articles a source carried: a
    publication time within the window counts as dated, a missing time or a day alone as
    undated when first seen within the window; older articles do not count."""
    since = now - timedelta(seconds=WINDOW)
    dated, undated = [], 0
    for published, first_seen in rows:
        if published and len(published) > 10:
            when = min(datetime.fromisoformat(published), now)  # a date in the future is now
            if when >= since:
                dated.append(when)
        elif datetime.fromisoformat(first_seen) >= since:
            undated += 1
    return Observed(tuple(dated), undated)
