"""When ``fetchers.http`` tries a request again, and how long it waits first.

Retries are decided here and run by ``Http`` itself (urllib3's own retries are off), so
each one is a structured ``http_retry`` debug event, its wait fits the request's deadline,
and the rules are the project's:

- 429 and 5xx answers are retried after their Retry-After (429/503) or an exponential
  backoff; a server asking for a longer pause than ``MAX_RETRY_AFTER`` is not waited for:
  the answer is handed back so the caller raises FetchError with ``retry_after`` set and the
  scheduler backs off instead of a worker thread sleeping for it;
- a refused, broken or timed-out connection is retried after the backoff;
- a name that does not resolve is not retried, and is remembered (``FailedNames``) so the
  next requests to it in the following minute fail at once with the same reason.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable

MAX_RETRY_AFTER = 120.0  # seconds; longer pauses are left to the scheduler
MAX_BACKOFF = 120.0  # seconds; the longest exponential backoff
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
DNS_FAILURE_TTL = 60.0  # seconds a name that did not resolve is not asked again


def retry_after_seconds(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds asked for by a Retry-After header (delay-seconds or an HTTP-date), None if unusable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):
        return float(int(value))
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    try:
        return max(0.0, email.utils.mktime_tz(parsed) - now())
    except (OverflowError, ValueError):
        return None


def backoff(retry: int, factor: float) -> float:
    """The wait before retry number ``retry`` (1, 2, ...): ``factor * 2^(retry-1)``, capped."""
    return min(MAX_BACKOFF, factor * (2 ** (retry - 1)))


def status_wait(status: int, retry_after: str | None, retry: int, factor: float) -> float | None:
    """Seconds to wait before retrying an answer with ``status``; None when it is not to be retried here."""
    if status not in RETRY_STATUSES:
        return None
    asked = retry_after_seconds(retry_after) if status in RETRY_AFTER_STATUSES else None
    if asked is None:
        return backoff(retry, factor)
    return asked if asked <= MAX_RETRY_AFTER else None


class FailedNames:
    """Host names that did not resolve lately, with the reason given; thread-safe."""

    def __init__(self, clock: Callable[[], float], ttl: float = DNS_FAILURE_TTL):
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._until: dict[str, tuple[float, str]] = {}

    def remember(self, host: str, reason: str) -> None:
        with self._lock:
            now = self._clock()
            self._until[host] = (now + self._ttl, reason)
            if len(self._until) > 10_000:
                self._until = {h: v for h, v in self._until.items() if v[0] > now}

    def reason(self, host: str) -> str | None:
        """The reason ``host`` failed, while it is remembered; else None."""
        with self._lock:
            entry = self._until.get(host)
            if entry is None or entry[0] <= self._clock():
                return None
            return entry[1]
