"""Retries for ``fetchers.http``: urllib3's Retry with an injectable sleep and a Retry-After cap.

A server asking for a longer pause than ``MAX_RETRY_AFTER`` is not retried here: the
response is handed back so the caller raises FetchError with ``retry_after`` set and the
scheduler backs off instead of a worker thread sleeping for it.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

MAX_RETRY_AFTER = 120.0  # seconds; longer pauses are left to the scheduler
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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


class CappedRetry(Retry):
    """Retry whose sleeps go through ``sleeper`` and which refuses a Retry-After over the cap.

    ``Retry.new`` copies with ``type(self)``, so a subclass made by ``retry_class`` keeps its sleeper.
    """

    sleeper: Callable[[float], None] = staticmethod(time.sleep)
    max_retry_after: float = MAX_RETRY_AFTER

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and error is None:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.max_retry_after:
                raise MaxRetryError(_pool, url, ResponseError("retry-after over the cap"))
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response) -> float | None:
        return retry_after_seconds(response.headers.get("Retry-After"))  # None where urllib3 would raise

    def sleep_for_retry(self, response) -> bool:
        wait = self.get_retry_after(response)
        if wait:
            self.sleeper(min(wait, self.max_retry_after))
            return True
        return False

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleeper(backoff)


def make_retry(retries: int, backoff_factor: float, sleeper: Callable[[float], None]) -> CappedRetry:
    """The adapter's Retry: connection errors, 429 and 5xx on GET/HEAD, no redirects, no raise on status."""
    cls = type("BoundRetry", (CappedRetry,), {"sleeper": staticmethod(sleeper)})
    return cls(
        total=retries,
        redirect=0,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
