"""robots.txt for ``fetchers.http``: fetched through the caller's session, cached per host.

Status conventions (as ``urllib.robotparser`` has them): 401/403 disallow everything,
other 4xx (404 included) allow everything. A robots.txt that cannot be fetched at all
(network error, 5xx after retries, too large to matter) allows, is logged, and is
asked again sooner than a good one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import structlog

from worker.errors import FetchError
from worker.models import HttpResponse
from worker.text.decode import decode

log = structlog.get_logger()

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB
FAILURE_TTL = 300.0  # seconds before an unreachable robots.txt is asked again

Verdict = RobotFileParser | bool  # a parsed file, or allow-all (True) / disallow-all (False)


def robots_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """Per-host robots.txt verdicts with a time to live; safe to use from several threads."""

    def __init__(
        self,
        fetch: Callable[[str, bool], HttpResponse],
        user_agent: str,
        ttl: float,
        clock: Callable[[], float],
    ):
        self._fetch = fetch  # (robots_url, trusted) -> HttpResponse, raises FetchError
        self._agent = user_agent
        self._ttl = float(ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Verdict]] = {}
        self._host_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str, *, trusted: bool = True) -> bool:
        """True when the host's robots.txt lets this user agent fetch ``url``."""
        verdict = self._verdict(robots_key(url), trusted)
        if isinstance(verdict, bool):
            return verdict
        return verdict.can_fetch(self._agent, url)

    def _verdict(self, key: str, trusted: bool) -> Verdict:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > self._clock():
                return entry[1]
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        with host_lock:  # one fetch per host at a time; the others wait for its answer
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0] > self._clock():
                    return entry[1]
            verdict, ttl = self._load(key, trusted)
            with self._lock:
                self._entries[key] = (self._clock() + ttl, verdict)
            return verdict

    def _load(self, key: str, trusted: bool) -> tuple[Verdict, float]:
        robots_url = key + "/robots.txt"
        try:
            resp = self._fetch(robots_url, trusted)
        except FetchError as exc:
            if exc.status in (401, 403):
                return False, self._ttl
            if exc.status is not None and 400 <= exc.status < 500:
                return True, self._ttl
            log.warning("robots_unavailable", url=robots_url, host=key, error=str(exc))
            return True, min(self._ttl, FAILURE_TTL)
        parser = RobotFileParser(robots_url)
        parser.parse(decode(resp.content, resp.encoding).splitlines())
        return parser, self._ttl
