"""The one HTTP layer: every fetch of the worker goes through ``Http.get``.

One ``requests.Session`` with connect/read timeouts, a User-Agent, retries with
exponential backoff and Retry-After, conditional GET, a body size cap enforced while
streaming (also after decompression), robots.txt, per-host pacing, and a public-address
guard for untrusted links (checked again on every redirect hop). Every transport or
status failure becomes ``FetchError`` here and only here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Self
from urllib.parse import urljoin

import requests
import structlog
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri

from worker.text.decode import decode
from worker.errors import FetchError
from worker.fetchers.http_body import (
    CHUNK,
    BodyDecodeError,
    BodyTooLarge,
    charset_of,
    check_length,
    read_capped,
)
from worker.fetchers.http_errors import TRANSPORT_ERRORS, transport_reason
from worker.fetchers.http_netguard import (
    Resolver,
    non_public_address,
    split_host,
    system_resolver,
)
from worker.fetchers.http_retry import make_retry, retry_after_seconds
from worker.fetchers.http_robots import MAX_ROBOTS_BYTES, RobotsCache
from worker.models import FetchStats, HttpResponse, HttpSettings, Validators

__all__ = ["Http", "PrivateAddress", "RobotsDisallowed", "response_text", "transport_reason"]

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
        self._timeout = (settings.timeout, settings.timeout)
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"})
        adapter = HTTPAdapter(
            max_retries=make_retry(settings.retries, settings.backoff_factor, sleep),
            pool_connections=16,
            pool_maxsize=16,
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
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
    ) -> HttpResponse:
        """GET ``url`` (following redirects); FetchError on any failure, with ``status`` when HTTP."""
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
            resp = self._fetch(call, url, trusted, headers, robots=robots, cap=self.settings.max_bytes)
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
        self, call: _Call, url: str, trusted: bool, headers: dict[str, str], *,
        robots: bool, cap: int, truncate: bool = False,
    ) -> HttpResponse:
        current = url
        start_host: str | None = None
        for hop in range(self.settings.max_redirects + 1):
            try:
                _scheme, host, _port = split_host(current)
            except ValueError as exc:
                raise FetchError(call.origin, None, f"invalid url {current!r}: {exc}") from None
            if start_host is None:
                start_host = host
            hop_trusted = trusted and host == start_host
            if not hop_trusted and not self.settings.allow_private_hosts:
                self._guard(call, current, host)
            if robots and not self._robots.allowed(current, trusted=hop_trusted):
                self._log_disallowed(current, host)
                raise RobotsDisallowed(call.origin, "disallowed by robots.txt" if hop == 0
                                       else f"redirect to {current} disallowed by robots.txt")
            self._pace(host)
            resp = self._send(call, current, headers)
            try:
                target = self._session.get_redirect_target(resp)
                if resp.status_code in REDIRECT_STATUSES and target:
                    current = requote_uri(urljoin(resp.url, target))
                    log.debug("http_redirect", url=call.origin, location=current, status=resp.status_code)
                    continue
                return self._finish(call, resp, cap, truncate)
            finally:
                resp.close()
        raise FetchError(call.origin, None, f"too many redirects (more than {self.settings.max_redirects})")

    def _guard(self, call: _Call, url: str, host: str) -> None:
        try:
            bad = non_public_address(host, self._resolver)
        except (OSError, UnicodeError, ValueError) as exc:
            raise FetchError(call.origin, None, transport_reason(exc)) from None
        if bad is not None:
            where = "" if url == call.origin else f" (redirect to {url})"
            raise PrivateAddress(call.origin, f"refused non-public address {bad} for host {host}{where}")

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

    def _send(self, call: _Call, url: str, headers: dict[str, str]) -> requests.Response:
        call.attempted = True
        try:
            return self._session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=self._timeout)
        except TRANSPORT_ERRORS as exc:
            raise FetchError(call.origin, None, transport_reason(exc)) from None

    def _finish(self, call: _Call, resp: requests.Response, cap: int, truncate: bool) -> HttpResponse:
        status = resp.status_code
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if status >= 400 or (300 <= status < 400 and status != 304):
            reason = resp.reason or _phrase(status)
            if 300 <= status < 400:
                reason = f"{reason} (redirect without a usable location)"
            retry_after = retry_after_seconds(headers.get("retry-after")) if status in (429, 503) else None
            raise FetchError(call.origin, status, reason, retry_after=retry_after)
        content = b""
        if status != 304:
            content = self._read(call, resp, headers, cap, truncate)
        return HttpResponse(
            url=resp.url,
            status=status,
            headers=headers,
            content=content,
            encoding=charset_of(headers.get("content-type")),
            not_modified=status == 304,
            validators=Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified")),
        )

    def _read(self, call: _Call, resp: requests.Response, headers: dict[str, str], cap: int, truncate: bool) -> bytes:
        try:
            if not truncate:
                check_length(headers.get("content-length"), cap)
            chunks = resp.raw.stream(CHUNK, decode_content=False)
            return read_capped(chunks, headers.get("content-encoding"), cap, truncate=truncate)
        except (BodyTooLarge, BodyDecodeError) as exc:
            raise FetchError(call.origin, None, str(exc)) from None
        except TRANSPORT_ERRORS as exc:
            raise FetchError(call.origin, None, transport_reason(exc)) from None

    def _log_disallowed(self, url: str, host: str) -> None:
        with self._lock:
            if url in self._logged:
                return
            self._logged[url] = None
            if len(self._logged) > _LOGGED_MAX:
                self._logged.popitem(last=False)
        log.info("robots_disallowed", url=url, host=host)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def response_text(resp: HttpResponse) -> str:
    """The body as text: HTTP charset, then BOM / XML declaration / meta charset, then detection.

    Never raises; undecodable bytes become U+FFFD.
    """
    try:
        return decode(resp.content, resp.encoding)
    except Exception:  # noqa: BLE001 - decoding is best effort by contract
        return resp.content.decode("utf-8", errors="replace")
