"""Unit tests of fetchers.http with mocked HTTP (``responses``); no socket is ever opened."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest
import requests
import responses
import urllib3
from structlog.testing import capture_logs
from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError

from worker.errors import FetchError
from worker.fetchers.http import (
    Http,
    PrivateAddress,
    RobotsDisallowed,
    transport_reason,
)
from worker.fetchers.http_body import CHUNK, BodyTooLarge, read_capped
from worker.fetchers.http_netguard import is_public
from worker.fetchers.http_retry import retry_after_seconds
from worker.models import FetchStats, HttpSettings, Validators

SITE = "https://news.example"
PUBLIC = "93.184.216.34"


def settings(**kw) -> HttpSettings:
    base = {"per_host_delay": 0.0, "retries": 0, "backoff_factor": 0.0, "timeout": 2.0, "respect_robots": False}
    base.update(kw)
    return HttpSettings(**base)


class FakeTime:
    """An injected clock whose sleep advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def public_resolver():
    seen: list[str] = []

    def resolve(host: str) -> list[str]:
        seen.append(host)
        return [PUBLIC]

    resolve.seen = seen  # type: ignore[attr-defined]
    return resolve


def make(mocked_settings: HttpSettings | None = None, **kw) -> Http:
    return Http(mocked_settings or settings(), **kw)


# -- session basics ------------------------------------------------------------------------


def test_get_sends_user_agent_accept_encoding_timeouts_and_streams(mocked):
    mocked.get(f"{SITE}/a", body=b"hi", headers={"Content-Type": "text/html; charset=ISO-8859-1", "X-Thing": "1"})
    http = make(settings(user_agent="probe/1.0", timeout=3.5))
    resp = http.get(f"{SITE}/a", accept="text/html")
    sent = mocked.calls[0].request
    assert sent.headers["User-Agent"] == "probe/1.0"
    assert sent.headers["Accept-Encoding"] == "gzip, deflate"
    assert sent.headers["Accept"] == "text/html"
    assert sent.req_kwargs["timeout"] == (3.5, 3.5)
    assert sent.req_kwargs["stream"] is True
    assert resp.status == 200 and resp.content == b"hi" and resp.url == f"{SITE}/a"
    assert resp.encoding == "ISO-8859-1"
    assert resp.headers["x-thing"] == "1" and all(k == k.lower() for k in resp.headers)
    http.close()


def test_the_adapter_does_not_retry_on_its_own():
    http = make(settings(retries=4, backoff_factor=0.25))
    retry = http._session.get_adapter(SITE).max_retries
    assert retry.total == 0 and not retry.read  # retries are Http's, one debug event each
    assert http._session.get_adapter("http://x.example") is http._session.get_adapter(SITE)


def test_library_classes_are_extended_only_through_public_methods():
    """Every method the HTTP layer overrides in a requests/urllib3 class is public and has the
    library's own parameters: a library release that renames or drops one fails here."""
    import importlib
    import inspect
    import pkgutil

    import worker.fetchers

    overrides = []
    for info in pkgutil.iter_modules(worker.fetchers.__path__):
        if not info.name.startswith("http"):
            continue
        module = importlib.import_module(f"worker.fetchers.{info.name}")
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            library = [b for b in cls.__mro__ if b.__module__.split(".")[0] in ("requests", "urllib3")]
            for name, member in vars(cls).items():
                base = next((b for b in library if name in vars(b)), None)
                if base is None or not inspect.isfunction(member) or name.startswith("__"):
                    continue
                overrides.append(f"{cls.__name__}.{name}")
                assert not name.startswith("_"), f"{cls.__name__} overrides private {base.__name__}.{name}"
                ours = list(inspect.signature(member).parameters)
                theirs = list(inspect.signature(getattr(base, name)).parameters)
                assert ours == theirs, f"{cls.__name__}.{name}{ours} vs {base.__name__}.{name}{theirs}"
                assert not any(p.startswith("_") for p in ours), f"{cls.__name__}.{name} takes private arguments"
    assert overrides  # the layer does extend the libraries: this test checks something


def test_the_library_attributes_the_adapter_sets_and_reads_exist():
    from urllib3 import PoolManager
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import HTTPConnectionPool

    from worker.fetchers.http_adapter import GuardedAdapter
    from worker.fetchers.http_deadline import WATCHED_POOLS

    assert set(PoolManager().pool_classes_by_scheme) == {"http", "https"}
    assert HTTPConnectionPool.ConnectionCls is HTTPConnection and HTTPConnection("x.example").sock is None
    adapter = GuardedAdapter()
    assert adapter.poolmanager.pool_classes_by_scheme == WATCHED_POOLS
    assert adapter.proxy_manager_for("http://127.0.0.1:3128").pool_classes_by_scheme == WATCHED_POOLS
    assert (
        adapter.get_connection_with_tls_context(
            requests.Request("GET", f"https://{PUBLIC}/", headers={"Host": "news.example"}).prepare(),
            verify=True,
        ).conn_kw["server_hostname"]
        == "news.example"
    )


def test_stats_are_updated(mocked):
    mocked.get(f"{SITE}/a", body=b"12345")
    stats = FetchStats()
    http = make()
    http.get(f"{SITE}/a", stats=stats)
    http.get(f"{SITE}/a", stats=stats)
    assert (stats.requests, stats.bytes, stats.http_status, stats.not_modified) == (2, 10, 200, False)


# -- retries and Retry-After ---------------------------------------------------------------


def test_503_twice_then_success_with_retries(mocked):
    mocked.get(f"{SITE}/a", status=503)
    mocked.get(f"{SITE}/a", status=503)
    mocked.get(f"{SITE}/a", body=b"ok")
    resp = make(settings(retries=3)).get(f"{SITE}/a")
    assert resp.content == b"ok"
    assert len(mocked.calls) == 3


def test_5xx_after_retries_is_fetch_error_with_status_and_reason(mocked):
    mocked.get(f"{SITE}/a", status=502)
    stats = FetchStats()
    with pytest.raises(FetchError) as info:
        make(settings(retries=2)).get(f"{SITE}/a", stats=stats)
    assert type(info.value) is FetchError
    assert info.value.status == 502 and info.value.reason == "Bad Gateway"
    assert info.value.url == f"{SITE}/a"
    assert len(mocked.calls) == 3
    assert stats.http_status == 502 and stats.requests == 1


def test_429_with_short_retry_after_is_retried(mocked):
    mocked.get(f"{SITE}/a", status=429, headers={"Retry-After": "1"})
    mocked.get(f"{SITE}/a", body=b"ok")
    assert make(settings(retries=2)).get(f"{SITE}/a").content == b"ok"
    assert len(mocked.calls) == 2


def test_absurd_retry_after_is_not_retried_but_reported(mocked):
    mocked.get(f"{SITE}/a", status=429, headers={"Retry-After": "3600"})
    mocked.get(f"{SITE}/a", body=b"ok")
    with pytest.raises(FetchError) as info:
        make(settings(retries=3)).get(f"{SITE}/a")
    assert info.value.status == 429 and info.value.retry_after == 3600
    assert len(mocked.calls) == 1


def test_503_retry_after_is_reported_when_retries_run_out(mocked):
    mocked.get(f"{SITE}/a", status=503, headers={"Retry-After": "7"})
    with pytest.raises(FetchError) as info:
        make(settings(retries=0)).get(f"{SITE}/a")
    assert info.value.status == 503 and info.value.retry_after == 7


def test_retry_waits_go_through_the_injected_sleep(mocked):
    mocked.get(f"{SITE}/a", status=429, headers={"Retry-After": "2"})
    mocked.get(f"{SITE}/a", status=503)  # no Retry-After: exponential backoff
    mocked.get(f"{SITE}/a", status=502, headers={"Retry-After": "soon"})  # unusable: backoff too
    mocked.get(f"{SITE}/a", body=b"ok")
    t = FakeTime()
    assert make(settings(retries=3, backoff_factor=0.5), clock=t.clock, sleep=t.sleep).get(f"{SITE}/a").content == b"ok"
    assert t.sleeps == [2.0, 1.0, 2.0]  # Retry-After, then backoff_factor * 2^(n-1) for retries 2 and 3


def test_a_retry_wait_past_the_deadline_is_not_made(mocked):
    mocked.get(f"{SITE}/a", status=503, headers={"Retry-After": "100"})
    mocked.get(f"{SITE}/a", body=b"ok")
    t = FakeTime()
    with pytest.raises(FetchError) as info:
        make(settings(retries=3, deadline=50), clock=t.clock, sleep=t.sleep).get(f"{SITE}/a")
    assert info.value.status == 503 and info.value.retry_after == 100
    assert t.sleeps == [] and len(mocked.calls) == 1


def test_a_connection_failure_is_retried_but_a_failed_name_is_not(mocked):
    mocked.get(f"{SITE}/a", body=_refused())
    mocked.get(f"{SITE}/a", body=b"ok")
    mocked.get("https://gone.example/a", body=_dns_error())
    t = FakeTime()
    http = make(settings(retries=2, backoff_factor=0.5), clock=t.clock, sleep=t.sleep)
    assert http.get(f"{SITE}/a").content == b"ok" and t.sleeps == [0.5]
    for _ in range(2):
        with pytest.raises(FetchError) as info:
            http.get("https://gone.example/a")
        assert info.value.reason == "dns lookup failed"
    assert [c.request.url for c in mocked.calls].count("https://gone.example/a") == 1
    assert t.sleeps == [0.5]


def test_retry_after_seconds_parses_both_forms():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412480.0 - 30) == 30.0


# -- transport failures map to FetchError -------------------------------------------------


def _dns_error() -> Exception:
    inner = NameResolutionError("news.example", None, OSError("Name or service not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", inner))


def _refused() -> Exception:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as exc:
        try:
            raise urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection") from exc
        except urllib3.exceptions.NewConnectionError as exc2:
            return requests.exceptions.ConnectionError(MaxRetryError(None, "/", exc2))


@pytest.mark.parametrize(
    "exc, reason",
    [
        (requests.exceptions.ReadTimeout("read timeout=2"), "read timed out"),
        (requests.exceptions.ConnectTimeout("connect timeout=2"), "connect timed out"),
        (_dns_error(), "dns lookup failed"),
        (_refused(), "connection refused"),
        (requests.exceptions.SSLError("certificate verify failed"), "tls error: certificate verify failed"),
        (requests.exceptions.ChunkedEncodingError(ProtocolError("Connection broken")), "connection broken"),
        (requests.exceptions.ContentDecodingError("bad gzip"), "content decoding failed: bad gzip"),
        (requests.exceptions.InvalidURL("bad"), "invalid url: bad"),
        (requests.exceptions.RequestException("odd"), "request failed: odd"),
    ],
)
def test_transport_errors_become_fetch_errors(mocked, exc, reason):
    mocked.get(f"{SITE}/a", body=exc)
    stats = FetchStats()
    with pytest.raises(FetchError) as info:
        make().get(f"{SITE}/a", stats=stats)
    assert type(info.value) is FetchError
    assert info.value.status is None
    assert info.value.reason == reason or info.value.reason.startswith(reason + ": ")
    assert info.value.__cause__ is None
    assert stats.requests == 1


def test_transport_reason_orders_specific_over_generic():
    assert transport_reason(requests.exceptions.ReadTimeout()) == "read timed out"
    assert transport_reason(_refused()) == "connection refused"
    assert transport_reason(zlib.error("incorrect header check")).startswith("content decoding failed")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://news.example/a",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "news.example/a",
        "http:///nohost",
        "http://[::1/a",
        "http://news.example:99999/",
    ],
)
def test_unusable_urls_are_fetch_errors_without_a_request(mocked, url):
    with pytest.raises(FetchError) as info:
        make().get(url)
    assert info.value.reason.startswith("invalid url")
    assert len(mocked.calls) == 0


# -- redirects ---------------------------------------------------------------------------


def test_redirect_chain_is_followed_and_final_url_reported(mocked):
    mocked.get(f"{SITE}/1", status=301, headers={"Location": "/2"})
    mocked.get(f"{SITE}/2", status=302, headers={"Location": f"{SITE}/3"})
    mocked.get(f"{SITE}/3", status=307, headers={"Location": "4"})
    mocked.get(f"{SITE}/4", body=b"end")
    resp = make().get(f"{SITE}/1")
    assert resp.url == f"{SITE}/4" and resp.content == b"end"
    assert len(mocked.calls) == 4


def test_redirect_loop_is_a_fetch_error(mocked):
    mocked.get(f"{SITE}/a", status=302, headers={"Location": "/b"})
    mocked.get(f"{SITE}/b", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError) as info:
        make(settings(max_redirects=5)).get(f"{SITE}/a")
    assert "too many redirects" in info.value.reason
    assert len(mocked.calls) == 6  # the first request and at most max_redirects more


def test_redirect_without_location_is_a_fetch_error(mocked):
    mocked.get(f"{SITE}/a", status=302)
    with pytest.raises(FetchError) as info:
        make().get(f"{SITE}/a")
    assert info.value.status == 302


def test_redirect_to_other_scheme_is_refused(mocked):
    mocked.get(f"{SITE}/a", status=302, headers={"Location": "ftp://news.example/x"})
    with pytest.raises(FetchError) as info:
        make().get(f"{SITE}/a")
    assert "invalid url" in info.value.reason


# -- size caps ---------------------------------------------------------------------------


def test_content_length_over_cap_fails_before_reading(mocked):
    mocked.get(f"{SITE}/a", body=b"x" * 100, headers={"Content-Length": "5000"})
    with pytest.raises(FetchError) as info:
        make(settings(max_bytes=1000)).get(f"{SITE}/a")
    assert "content-length 5000" in info.value.reason


class CountingRaw(io.RawIOBase):
    """An endless source of bytes that counts what was read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = len(buffer)
        buffer[:n] = b"x" * n
        self.read_bytes += n
        return n


def test_body_over_cap_stops_reading_while_streaming(mocked):
    raw = CountingRaw()
    mocked.get(f"{SITE}/a", body=io.BufferedReader(raw))
    with pytest.raises(FetchError) as info:
        make(settings(max_bytes=200_000)).get(f"{SITE}/a")
    assert "over 200000 bytes" in info.value.reason
    assert raw.read_bytes <= 200_000 + 2 * CHUNK + io.DEFAULT_BUFFER_SIZE


def test_read_capped_consumes_no_more_than_needed():
    consumed = []

    def chunks():
        for i in range(1000):
            consumed.append(i)
            yield b"y" * 1000

    with pytest.raises(BodyTooLarge):
        read_capped(chunks(), None, 10_500)
    assert len(consumed) == 11
    assert read_capped(iter([b"ab", b"cd"]), None, 3, truncate=True) == b"abc"


def test_gzip_body_is_decompressed(mocked):
    body = "Grüße aus Köln. ".encode() * 500
    mocked.get(f"{SITE}/a", body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert make().get(f"{SITE}/a").content == body


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_zlib_and_raw_are_decompressed(mocked, wbits):
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = b"deflated body " * 300
    mocked.get(f"{SITE}/a", body=c.compress(body) + c.flush(), headers={"Content-Encoding": "deflate"})
    assert make().get(f"{SITE}/a").content == body


def test_multi_member_gzip_is_decompressed(mocked):
    mocked.get(f"{SITE}/a", body=gzip.compress(b"one,") + gzip.compress(b"two"), headers={"Content-Encoding": "gzip"})
    assert make().get(f"{SITE}/a").content == b"one,two"


def test_gzip_bomb_stops_at_the_decompressed_cap(mocked):
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)  # 64 MiB of zeros in ~64 KiB
    mocked.get(f"{SITE}/a", body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as info:
        make(settings(max_bytes=1 << 20)).get(f"{SITE}/a")
    assert "over 1048576 bytes" in info.value.reason


def test_inflater_output_is_bounded_per_feed():
    from worker.fetchers.http_body import _Inflater

    bomb = gzip.compress(bytes(32 << 20))
    out = _Inflater("gzip").feed(bomb[:CHUNK], 1000)
    assert len(out) == 1001  # never the ~32 MiB this chunk would inflate to


@pytest.mark.parametrize(
    "body, encoding",
    [(b"\x1f\x8b\x08\x00garbage-not-gzip", "gzip"), (b"plain", "br"), (b"plain", "gzip, br")],
)
def test_bad_or_unsupported_content_encoding_is_fetch_error(mocked, body, encoding):
    mocked.get(f"{SITE}/a", body=body, headers={"Content-Encoding": encoding})
    with pytest.raises(FetchError) as info:
        make().get(f"{SITE}/a")
    assert "content" in info.value.reason


# -- conditional GET -----------------------------------------------------------------------


def test_conditional_get_sends_validators_and_maps_304(mocked):
    mocked.get(f"{SITE}/feed", status=304, headers={"ETag": '"v1"'})
    sent = Validators(etag='"v1"', last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    stats = FetchStats()
    resp = make().get(f"{SITE}/feed", validators=sent, stats=stats)
    req = mocked.calls[0].request
    assert req.headers["If-None-Match"] == '"v1"'
    assert req.headers["If-Modified-Since"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert resp.not_modified is True and resp.status == 304 and resp.content == b""
    assert resp.validators == sent
    assert stats.not_modified is True and stats.http_status == 304 and stats.bytes == 0


def test_200_returns_the_new_validators_and_no_conditional_headers_without_validators(mocked):
    mocked.get(
        f"{SITE}/feed", body=b"<rss/>", headers={"ETag": '"v2"', "Last-Modified": "Thu, 22 Oct 2015 07:28:00 GMT"}
    )
    resp = make().get(f"{SITE}/feed")
    req = mocked.calls[0].request
    assert "If-None-Match" not in req.headers and "If-Modified-Since" not in req.headers
    assert resp.validators == Validators(etag='"v2"', last_modified="Thu, 22 Oct 2015 07:28:00 GMT")
    assert resp.not_modified is False


# -- robots.txt --------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nDisallow: /private\n"


def test_robots_disallow_raises_is_logged_once_and_not_retried(mocked):
    mocked.get(f"{SITE}/robots.txt", body=ROBOTS)
    mocked.get(f"{SITE}/private/x", body=b"secret")
    mocked.get(f"{SITE}/public", body=b"ok")
    http = make(settings(respect_robots=True, retries=3))
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(RobotsDisallowed) as info:
                http.get(f"{SITE}/private/x")
        assert http.get(f"{SITE}/public").content == b"ok"
    assert info.value.status is None and isinstance(info.value, FetchError)
    events = [e for e in logs if e["event"] == "robots_disallowed"]
    assert len(events) == 1 and events[0]["url"] == f"{SITE}/private/x" and events[0]["host"] == "news.example"
    paths = [c.request.path_url for c in mocked.calls]
    assert paths == ["/robots.txt", "/public"]  # robots fetched once, the private page never


def test_robots_can_be_switched_off_per_call_and_in_settings(mocked):
    mocked.get(f"{SITE}/robots.txt", body=b"User-agent: *\nDisallow: /\n")
    mocked.get(f"{SITE}/a", body=b"ok")
    assert make(settings(respect_robots=True)).get(f"{SITE}/a", respect_robots=False).content == b"ok"
    assert make(settings(respect_robots=False)).get(f"{SITE}/a").content == b"ok"
    assert all(c.request.path_url == "/a" for c in mocked.calls)


def test_robots_user_agent_specific_rules(mocked):
    mocked.get(f"{SITE}/robots.txt", body=b"User-agent: archivebot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    mocked.get(f"{SITE}/a", body=b"ok")
    with pytest.raises(RobotsDisallowed):
        make(settings(respect_robots=True, user_agent="ArchiveBot/2.0")).get(f"{SITE}/a")
    assert make(settings(respect_robots=True, user_agent="other/1")).get(f"{SITE}/a").content == b"ok"


def test_robots_cache_expires_after_ttl(mocked):
    mocked.get(f"{SITE}/robots.txt", body=ROBOTS)
    mocked.get(f"{SITE}/a", body=b"ok")
    t = FakeTime()
    http = make(settings(respect_robots=True, robots_ttl=60), clock=t.clock, sleep=t.sleep)
    http.get(f"{SITE}/a")
    t.now += 59
    http.get(f"{SITE}/a")
    t.now += 2
    http.get(f"{SITE}/a")
    robots = [c for c in mocked.calls if c.request.path_url == "/robots.txt"]
    assert len(robots) == 2


@pytest.mark.parametrize("status, allowed", [(404, True), (410, True), (401, False), (403, False)])
def test_robots_status_conventions(mocked, status, allowed):
    mocked.get(f"{SITE}/robots.txt", status=status)
    mocked.get(f"{SITE}/a", body=b"ok")
    http = make(settings(respect_robots=True))
    if allowed:
        assert http.get(f"{SITE}/a").content == b"ok"
    else:
        with pytest.raises(RobotsDisallowed):
            http.get(f"{SITE}/a")


def test_robots_network_failure_allows_and_is_logged(mocked):
    mocked.get(f"{SITE}/robots.txt", body=requests.exceptions.ConnectTimeout("slow"))
    mocked.get(f"{SITE}/a", body=b"ok")
    with capture_logs() as logs:
        assert make(settings(respect_robots=True)).get(f"{SITE}/a").content == b"ok"
    failed = [e for e in logs if e["event"] == "robots_unavailable"]
    assert len(failed) == 1 and "connect timed out" in failed[0]["error"]


def test_robots_is_checked_for_redirect_targets(mocked):
    mocked.get(f"{SITE}/robots.txt", body=ROBOTS)
    mocked.get(f"{SITE}/go", status=302, headers={"Location": "/private/y"})
    with pytest.raises(RobotsDisallowed):
        make(settings(respect_robots=True)).get(f"{SITE}/go")
    assert [c.request.path_url for c in mocked.calls] == ["/robots.txt", "/go"]


# -- per-host pacing -------------------------------------------------------------------------


def test_per_host_pacing_with_injected_clock(mocked):
    mocked.get(f"{SITE}/a", body=b"ok")
    mocked.get("https://other.example/a", body=b"ok")
    t = FakeTime()
    http = make(settings(per_host_delay=2.0), clock=t.clock, sleep=t.sleep)
    http.get(f"{SITE}/a")
    assert t.sleeps == []
    http.get(f"{SITE}/a")
    http.get(f"{SITE}/a")
    assert t.sleeps == [2.0, 2.0]
    http.get("https://other.example/a")  # another host is not held back
    assert t.sleeps == [2.0, 2.0]
    t.now += 10
    http.get(f"{SITE}/a")  # long enough since the last start
    assert t.sleeps == [2.0, 2.0]


def test_pacing_reserves_slots_so_concurrent_callers_queue_up(mocked):
    mocked.get(f"{SITE}/a", body=b"ok")
    t = FakeTime()
    slept: list[float] = []
    http = make(settings(per_host_delay=1.5), clock=t.clock, sleep=slept.append)  # clock never moves
    for _ in range(4):
        http.get(f"{SITE}/a")
    assert slept == [1.5, 3.0, 4.5]


# -- address guard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",
        "fe80::1%eth0",
    ],
)
def test_non_public_addresses(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert is_public(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:7f00:1]/",
        "http://10.0.0.1:8080/",
    ],
)
def test_untrusted_ip_literals_are_refused_without_a_request(mocked, url, public_resolver):
    with pytest.raises(PrivateAddress) as info:
        make(resolver=public_resolver).get(url, trusted=False)
    assert info.value.status is None and isinstance(info.value, FetchError)
    assert len(mocked.calls) == 0 and public_resolver.seen == []


def test_untrusted_host_with_any_private_address_is_refused(mocked):
    mocked.get("https://mixed.example/a", body=b"no")
    http = make(resolver=lambda host: [PUBLIC, "10.0.0.7"])
    with pytest.raises(PrivateAddress) as info:
        http.get("https://mixed.example/a", trusted=False)
    assert "10.0.0.7" in info.value.reason
    assert len(mocked.calls) == 0


def test_untrusted_public_host_is_fetched_at_the_checked_address(mocked, public_resolver):
    mocked.get(f"https://{PUBLIC}/a", body=b"yes")
    resp = make(resolver=public_resolver).get("https://public.example/a", trusted=False)
    assert resp.content == b"yes" and resp.url == "https://public.example/a"
    assert mocked.calls[0].request.headers["Host"] == "public.example"
    assert public_resolver.seen == ["public.example"]


def test_trusted_urls_are_not_resolved(mocked, public_resolver):
    mocked.get("http://localhost/a", body=b"yes")
    assert make(resolver=public_resolver).get("http://localhost/a").content == b"yes"
    assert public_resolver.seen == []


def test_allow_private_hosts_lets_untrusted_private_urls_through(mocked):
    mocked.get("http://10.0.0.1/a", body=b"lan")
    assert make(settings(allow_private_hosts=True)).get("http://10.0.0.1/a", trusted=False).content == b"lan"


def test_untrusted_redirect_to_private_address_is_refused(mocked, public_resolver):
    mocked.get(f"https://{PUBLIC}/a", status=302, headers={"Location": "http://169.254.169.254/meta"})
    with pytest.raises(PrivateAddress) as info:
        make(resolver=public_resolver).get("https://public.example/a", trusted=False)
    assert "redirect" in info.value.reason and info.value.url == "https://public.example/a"
    assert len(mocked.calls) == 1


def test_trusted_url_redirecting_to_another_host_is_checked(mocked):
    mocked.get(f"{SITE}/a", status=302, headers={"Location": "http://intranet.example/x"})
    mocked.get(f"{SITE}/b", status=302, headers={"Location": "/c"})
    mocked.get(f"{SITE}/c", body=b"same host")
    seen: list[str] = []

    def resolver(host):
        seen.append(host)
        return ["192.168.0.10"]

    http = make(resolver=resolver)
    with pytest.raises(PrivateAddress):
        http.get(f"{SITE}/a")
    assert seen == ["intranet.example"]
    assert http.get(f"{SITE}/b").content == b"same host"  # same-host hops stay trusted
    assert seen == ["intranet.example"]


def test_unresolvable_untrusted_host_is_a_dns_fetch_error(mocked):
    import socket

    def resolver(host):
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(FetchError) as info:
        make(resolver=resolver).get("https://nowhere.example/", trusted=False)
    assert info.value.reason == "dns lookup failed" and not isinstance(info.value, PrivateAddress)


# -- status errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, reason", [(404, "Not Found"), (410, "Gone"), (403, "Forbidden"), (500, "Internal Server Error")]
)
def test_http_errors_carry_status_and_reason_phrase(mocked, status, reason):
    mocked.get(f"{SITE}/a", status=status)
    with pytest.raises(FetchError) as info:
        make().get(f"{SITE}/a")
    assert (info.value.status, info.value.reason) == (status, reason)
    assert str(info.value) == f"{SITE}/a: HTTP {status} {reason}"
