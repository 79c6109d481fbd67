"""The one HTTP layer: every fetch of the worker goes through ``Http.get``.

One ``requests.Session`` with connect/read timeouts and an overall deadline per request, a
User-Agent, retries with exponential backoff and Retry-After, conditional GET, a body size
cap enforced while streaming (also after decompression), robots.txt, per-host pacing, and
a public-address guard for untrusted links: each URL is read once as the client reads it,
every redirect hop is checked again, and a checked host is connected to at the address
that was checked. Every transport or status failure becomes ``FetchError`` here and only
here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Self
from urllib.parse import urljoin, urlsplit

import requests
import structlog
from requests.utils import requote_uri

from worker.errors import FetchError
from worker.fetchers.http_adapter import GuardedAdapter
from worker.fetchers.http_body import (
    CHUNK,
    BodyDecodeError,
    BodyTooLarge,
    charset_of,
    check_length,
    read_capped,
)
from worker.fetchers.http_deadline import Deadline
from worker.fetchers.http_errors import DNS_FAILED, TRANSPORT_ERRORS, transport_failure, transport_reason
from worker.fetchers.http_exchange import exchange_of, kept, phrase
from worker.fetchers.http_netguard import (
    Resolver,
    Target,
    checked_addresses,
    literal_address,
    parse_target,
    pinned_url,
    system_resolver,
)
from worker.fetchers.http_retry import FailedNames, backoff, retry_after_seconds, status_wait
from worker.fetchers.http_robots import MAX_ROBOTS_BYTES, RobotsCache
from worker.models import FetchStats, HttpResponse, HttpSettings, Validators

__all__ = ["Http", "PrivateAddress", "RobotsDisallowed", "transport_reason"]

log = structlog.get_logger()

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_LOGGED_MAX = 10_000  # distinct disallowed URLs remembered for logging once


class RobotsDisallowed(FetchError):
    """robots.txt forbids this URL for our user agent (never retried)."""

    def __init__(self, url: str, reason: str = "disallowed by robots.txt"):
        super().__init__(url, None, reason)


class PrivateAddress(FetchError):
    """An untrusted URL (or a redirect hop) resolves to a non-public address."""

    def __init__(self, url: str, reason: str):
        super().__init__(url, None, reason)


@dataclass
class _Call:
    """Per-call state (``get`` runs in several threads at once)."""

    origin: str
    attempted: bool = False


class Http:
    """The worker's HTTP client; thread-safe, one per process."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver | None = None,
    ):
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._resolver: Resolver = resolver or system_resolver
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"})
        adapter = GuardedAdapter(pool_connections=16, pool_maxsize=16)  # no retries of its own: see _attempts
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._failed_names = FailedNames(clock)
        self._lock = threading.Lock()
        self._next_start: dict[str, float] = {}
        self._logged: OrderedDict[str, None] = OrderedDict()
        self._robots = RobotsCache(self._fetch_robots, settings.user_agent, settings.robots_ttl, clock)

    # -- public ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        trusted: bool = True,
        validators: Validators | None = None,
        respect_robots: bool = True,
        stats: FetchStats | None = None,
        accept: str | None = None,
        capture: bool = False,
    ) -> HttpResponse:
        """GET ``url`` (following redirects); FetchError on any failure, with ``status`` when HTTP.
        With ``capture``, a successful response carries its ``exchange`` as sent and received."""
        headers: dict[str, str] = {}
        if accept:
            headers["Accept"] = accept
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        call = _Call(origin=url)
        robots = respect_robots and self.settings.respect_robots
        try:
            resp = self._fetch(call, url, trusted, headers, robots=robots, cap=self.settings.max_bytes, capture=capture)
        except FetchError as exc:
            if stats is not None and call.attempted:
                with self._lock:
                    stats.requests += 1
                    if exc.status is not None and stats.http_status is None:
                        stats.http_status = exc.status
            raise
        if resp.not_modified:  # the validators sent stand (a 304 need not repeat them)
            resp = replace(resp, validators=validators or resp.validators)
        if stats is not None:
            with self._lock:  # a run's status is its first request's; not modified if all were
                stats.requests += 1
                stats.bytes += len(resp.content)
                first = stats.http_status is None
                stats.http_status = resp.status if first else stats.http_status
                stats.not_modified = resp.not_modified and (first or stats.not_modified)
        return resp

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _fetch_robots(self, robots_url: str, trusted: bool) -> HttpResponse:
        call = _Call(origin=robots_url)
        return self._fetch(call, robots_url, trusted, {}, robots=False, cap=MAX_ROBOTS_BYTES, truncate=True)

    def _fetch(
        self,
        call: _Call,
        url: str,
        trusted: bool,
        headers: dict[str, str],
        *,
        robots: bool,
        cap: int,
        truncate: bool = False,
        capture: bool = False,
    ) -> HttpResponse:
        with Deadline(self.settings.deadline, self._clock) as deadline:
            current = url
            start_host: str | None = None
            for hop in range(self.settings.max_redirects + 1):
                target = self._target(call, current)
                start_host = start_host or target.host
                address = self._admit(call, target, hop, trusted and target.host == start_host, robots)
                sent = datetime.now(UTC)
                resp = self._attempts(call, target, address, headers, deadline)
                try:
                    location = self._session.get_redirect_target(resp)
                    if resp.status_code in REDIRECT_STATUSES and location:
                        current = requote_uri(urljoin(target.url, location))
                        log.debug("http_redirect", url=call.origin, location=current, status=resp.status_code)
                        continue
                    answer = self._finish(call, target, resp, cap, truncate, deadline, capture)
                    if answer.exchange is not None:
                        answer = replace(answer, exchange=replace(answer.exchange, fetched_at=sent, remote_ip=address))
                    return answer
                finally:
                    resp.close()
        raise FetchError(call.origin, None, f"too many redirects (more than {self.settings.max_redirects})")

    def _target(self, call: _Call, url: str) -> Target:
        try:
            return parse_target(url)
        except ValueError as exc:
            raise FetchError(call.origin, None, f"invalid url {url!r}: {exc}") from None

    def _admit(self, call: _Call, target: Target, hop: int, trusted: bool, robots: bool) -> str | None:
        """The checks before a hop is sent: the address guard, robots.txt, pacing.

        Returns the checked address to connect to, or None when the client may resolve the name.
        """
        address = None
        if not trusted and not self.settings.allow_private_hosts:
            address = self._guard(call, target, hop)
        if robots and not self._robots.allowed(target.url, trusted=trusted):
            self._log_disallowed(target.url, target.host)
            raise RobotsDisallowed(
                call.origin,
                "disallowed by robots.txt" if hop == 0 else f"redirect to {target.url} disallowed by robots.txt",
            )
        self._pace(target.host)
        return address

    def _fail_fast(self, call: _Call, host: str) -> None:
        """A name that did not resolve a moment ago fails again at once, without another lookup."""
        reason = self._failed_names.reason(host)
        if reason is not None:
            raise FetchError(call.origin, None, reason)

    def _guard(self, call: _Call, target: Target, hop: int) -> str:
        self._fail_fast(call, target.host)
        try:
            addresses, bad = checked_addresses(target.host, self._resolver)
        except (OSError, UnicodeError, ValueError) as exc:
            reason = transport_reason(exc)
            if reason == DNS_FAILED:
                self._failed_names.remember(target.host, reason)
            raise FetchError(call.origin, None, reason) from None
        if bad is not None:
            where = "" if hop == 0 else f" (redirect to {target.url})"
            raise PrivateAddress(call.origin, f"refused non-public address {bad} for host {target.host}{where}")
        return addresses[0]

    def _pace(self, host: str) -> None:
        delay = self.settings.per_host_delay
        if delay <= 0:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + delay
            if len(self._next_start) > 10_000:
                self._next_start = {h: t for h, t in self._next_start.items() if t > now}
        if start > now:
            self._sleep(start - now)

    def _attempts(
        self, call: _Call, target: Target, address: str | None, headers: dict[str, str], deadline: Deadline
    ) -> requests.Response:
        """Send one hop, retrying what is worth it while retries and the deadline allow; the last answer."""
        self._fail_fast(call, target.host)
        factor = self.settings.backoff_factor
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._send(call, target, address, headers, deadline)
            except TRANSPORT_ERRORS as exc:
                if deadline.passed():
                    raise FetchError(call.origin, None, deadline.reason) from None
                reason, worth = transport_failure(exc)
                if reason == DNS_FAILED:
                    self._failed_names.remember(target.host, reason)
                wait = backoff(attempt, factor) if worth else None
                if not self._may_retry(attempt, wait, deadline):
                    raise FetchError(call.origin, None, reason) from None
                log.debug("http_retry", url=target.url, attempt=attempt, error=reason, wait=wait)
            else:
                wait = status_wait(resp.status_code, resp.headers.get("Retry-After"), attempt, factor)
                if not self._may_retry(attempt, wait, deadline):
                    return resp
                log.debug("http_retry", url=target.url, attempt=attempt, status=resp.status_code, wait=wait)
                resp.close()
            if wait:
                self._sleep(wait)

    def _may_retry(self, attempt: int, wait: float | None, deadline: Deadline) -> bool:
        return wait is not None and attempt <= self.settings.retries and wait < deadline.remaining()

    def _send(
        self, call: _Call, target: Target, address: str | None, headers: dict[str, str], deadline: Deadline
    ) -> requests.Response:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise FetchError(call.origin, None, deadline.reason)
        request = self._prepare(call, target, address, headers)
        call.attempted = True
        timeout = min(self.settings.timeout, remaining)
        env = self._session.merge_environment_settings(request.url or "", {}, True, None, None)
        return self._session.send(request, allow_redirects=False, timeout=(timeout, timeout), **env)

    def _prepare(
        self, call: _Call, target: Target, address: str | None, headers: dict[str, str]
    ) -> requests.PreparedRequest:
        """The request as sent: to the checked ``address``, with the name in the Host header, when one is given."""
        url, expected = target.url, target.host
        if address is not None and literal_address(target.host) is None:
            url, expected = pinned_url(target, address), address
            headers = {**headers, "Host": target.host_header}
        request = self._session.prepare_request(requests.Request("GET", url, headers=headers))
        connects_to = (urlsplit(str(request.url)).hostname or "").rstrip(".")  # the adapter's reading
        if connects_to != expected.lower():
            raise FetchError(call.origin, None, f"invalid url {target.url!r}: its host changes when prepared")
        return request

    def _finish(
        self,
        call: _Call,
        target: Target,
        resp: requests.Response,
        cap: int,
        truncate: bool,
        deadline: Deadline,
        capture: bool = False,
    ) -> HttpResponse:
        status = resp.status_code
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if status >= 400 or (300 <= status < 400 and status != 304):
            reason = resp.reason or phrase(status)
            if 300 <= status < 400:
                reason = f"{reason} (redirect without a usable location)"
            retry_after = retry_after_seconds(headers.get("retry-after")) if status in (429, 503) else None
            raise FetchError(call.origin, status, reason, retry_after=retry_after)
        content = b""
        wire: list[bytes] | None = [] if capture and status != 304 else None
        if status != 304:
            content = self._read(call, resp, headers, cap, truncate, deadline, wire)
        return HttpResponse(
            exchange=None if wire is None else exchange_of(target.url, resp, b"".join(wire)),
            url=target.url,
            status=status,
            headers=headers,
            content=content,
            encoding=charset_of(headers.get("content-type")),
            not_modified=status == 304,
            validators=Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified")),
        )

    def _read(
        self,
        call: _Call,
        resp: requests.Response,
        headers: dict[str, str],
        cap: int,
        truncate: bool,
        deadline: Deadline,
        wire: list[bytes] | None = None,
    ) -> bytes:
        """The body, decoded and capped; ``wire`` (when given) receives it as it came off the wire."""
        try:
            if not truncate:
                check_length(headers.get("content-length"), cap)
            chunks = resp.raw.stream(CHUNK, decode_content=False)
            if wire is not None:
                chunks = kept(chunks, wire)
            content = read_capped(chunks, headers.get("content-encoding"), cap, truncate=truncate)
        except (BodyTooLarge, BodyDecodeError) as exc:
            raise FetchError(call.origin, None, str(exc)) from None
        except TRANSPORT_ERRORS as exc:
            reason = deadline.reason if deadline.passed() else transport_reason(exc)
            raise FetchError(call.origin, None, reason) from None
        if deadline.fired:  # the socket was shut at the deadline: what was read may be cut short
            raise FetchError(call.origin, None, deadline.reason)
        return content

    def _log_disallowed(self, url: str, host: str) -> None:
        with self._lock:
            if url in self._logged:
                return
            self._logged[url] = None
            if len(self._logged) > _LOGGED_MAX:
                self._logged.popitem(last=False)
        log.info("robots_disallowed", url=url, host=host)
