"""Integration tests of fetchers.http against a real threaded HTTP server on 127.0.0.0/8."""

from __future__ import annotations

import gzip
import itertools
import logging
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest
import urllib3.util.connection
from structlog.testing import capture_logs

from tests.loopback import LoopbackServer, Reply, stream_forever
from worker.errors import FetchError
from worker.fetchers.http import Http, PrivateAddress, RobotsDisallowed
from worker.models import FetchStats, HttpSettings, Validators

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def connections(monkeypatch):
    """Every address urllib3 opens a connection to, in order."""
    seen: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def spy(address, *args, **kwargs):
        seen.append(address)
        if address[0] == "169.254.169.254":  # never, ever connect to the metadata address
            raise AssertionError("connected to 169.254.169.254")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return seen


def client(**kw) -> Http:
    base = {"per_host_delay": 0.0, "retries": 0, "backoff_factor": 0.01, "timeout": 2.0, "respect_robots": False}
    base.update(kw)
    return Http(HttpSettings(**base))


@pytest.fixture
def http():
    h = client()
    yield h
    h.close()


# -- conditional GET -----------------------------------------------------------------------


def test_etag_round_trip(loopback, http):
    def feed(req):
        if req.header("If-None-Match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'})
        return Reply(200, b"<rss>one</rss>", {"ETag": '"v1"', "Content-Type": "application/rss+xml; charset=utf-8"})

    loopback.route("/feed.xml", handler=feed)
    stats = FetchStats()
    first = http.get(loopback.url("/feed.xml"), stats=stats)
    assert first.content == b"<rss>one</rss>" and first.validators.etag == '"v1"'
    assert first.encoding == "utf-8" and not first.not_modified
    assert (stats.requests, stats.not_modified, stats.http_status) == (1, False, 200)
    again = FetchStats()  # the next run
    second = http.get(loopback.url("/feed.xml"), validators=first.validators, stats=again)
    assert second.not_modified and second.status == 304 and second.content == b""
    assert second.validators == first.validators
    assert (again.requests, again.not_modified, again.http_status) == (1, True, 304)
    # a run is not-modified only when every request was; its status is its first request's
    http.get(loopback.url("/feed.xml"), validators=first.validators, stats=again)
    assert again.not_modified
    http.get(loopback.url("/feed.xml"), stats=again)
    assert (again.requests, again.not_modified, again.http_status) == (3, False, 304)


def test_last_modified_round_trip(loopback, http):
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"

    def page(req):
        if req.header("If-Modified-Since") == stamp:
            return Reply(304)
        return Reply(200, b"body", {"Last-Modified": stamp})

    loopback.route("/page", handler=page)
    first = http.get(loopback.url("/page"))
    assert first.validators == Validators(etag=None, last_modified=stamp)
    second = http.get(loopback.url("/page"), validators=first.validators)
    assert second.not_modified and second.validators.last_modified == stamp
    assert loopback.requests_for("/page")[1].header("If-Modified-Since") == stamp


# -- bodies ---------------------------------------------------------------------------------


def test_gzip_body(loopback, http):
    text = "<p>Zürich, Genève — news</p>\n" * 2000
    loopback.route(
        "/gz",
        body=gzip.compress(text.encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"},
    )
    resp = http.get(loopback.url("/gz"))
    assert resp.content.decode(resp.encoding) == text
    assert loopback.requests_for("/gz")[0].header("Accept-Encoding") == "gzip, deflate"


def test_streamed_chunked_body(loopback, http):
    loopback.route("/chunked", body=(b"part%d;" % i for i in range(50)))
    assert http.get(loopback.url("/chunked")).content == b"".join(b"part%d;" % i for i in range(50))


def test_endless_body_hits_the_cap_and_the_client_stops_reading(loopback):
    loopback.route("/endless", handler=lambda req: Reply(200, stream_forever(limit=1 << 30, stop=loopback.stopping)))
    h = client(max_bytes=1_000_000)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/endless"))
    elapsed = time.monotonic() - started
    h.close()
    assert "over 1000000 bytes" in info.value.reason
    assert elapsed < 5
    time.sleep(0.2)  # let the server notice the closed connection
    assert loopback.bytes_streamed < 64 << 20  # socket buffers at most, nowhere near 1 GiB


def _gzip_bomb(mib: int) -> bytes:
    """One gzip member holding ``mib`` MiB of zeros, made from one compressed MiB repeated."""
    block = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)  # full flush: segments are independent
    tail = c.flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return head + segment * mib + tail + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


def test_gzip_bomb_is_stopped_at_the_cap_without_inflating_it(loopback):
    assert gzip.decompress(_gzip_bomb(3)) == bytes(3 << 20)  # the construction is a valid gzip
    bomb = _gzip_bomb(1024)  # 1 GiB of zeros in about 1 MB
    assert len(bomb) < 2_000_000
    loopback.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})
    h = client(max_bytes=10_000_000)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as info:
            h.get(loopback.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        h.close()
    assert "over 10000000 bytes" in info.value.reason
    assert time.monotonic() - started < 10
    assert peak < 64 << 20  # about the cap plus a chunk, never the gigabyte


# -- redirects --------------------------------------------------------------------------------


def test_redirect_chain_of_three_hops(loopback, http):
    loopback.route("/r1", status=301, headers={"Location": "/r2"})
    loopback.route("/r2", status=302, headers={"Location": loopback.url("/r3")})
    loopback.route("/r3", status=308, headers={"Location": "/final"})
    loopback.route("/final", body=b"arrived")
    resp = http.get(loopback.url("/r1"))
    assert resp.url == loopback.url("/final") and resp.content == b"arrived"
    assert [r.path for r in loopback.requests] == ["/r1", "/r2", "/r3", "/final"]


def test_redirect_loop(loopback):
    loopback.route("/a", status=302, headers={"Location": "/b"})
    loopback.route("/b", status=302, headers={"Location": "/a"})
    h = client(max_redirects=4)
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/a"))
    h.close()
    assert "too many redirects" in info.value.reason
    assert loopback.count() == 5


# -- timeouts and connection failures ------------------------------------------------------------


def test_headers_then_stall_is_a_quick_read_timeout(loopback):
    def stall(req):
        def body():
            yield b"<rss>"
            loopback.stopping.wait(30)

        return Reply(200, body(), {"Content-Length": "100000"})

    loopback.route("/stall", handler=stall)
    h = client(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/stall"))
    h.close()
    assert info.value.reason == "read timed out" and info.value.status is None
    assert time.monotonic() - started < 3


def test_no_response_at_all_is_a_read_timeout_after_retries(loopback):
    loopback.route("/silent", handler=lambda req: (loopback.stopping.wait(30), Reply(200))[1])
    h = client(timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/silent"))
    h.close()
    assert info.value.reason == "read timed out"
    assert loopback.count("/silent") == 2  # the first try and one retry
    assert time.monotonic() - started < 3


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = client(retries=1)
    with pytest.raises(FetchError) as info:
        h.get(f"http://127.0.0.1:{port}/")
    h.close()
    assert info.value.reason == "connection refused"


def test_tls_to_a_plain_http_server_is_a_tls_error(loopback, http):
    loopback.route("/", body=b"plain")
    with pytest.raises(FetchError) as info:
        http.get(f"https://127.0.0.1:{loopback.port}/")
    assert info.value.reason.startswith("tls error")


def test_http_error_status(loopback, http):
    with pytest.raises(FetchError) as info:
        http.get(loopback.url("/missing"))
    assert (info.value.status, info.value.reason) == (404, "Not Found")


# -- retries ------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(loopback):
    loopback.route("/busy", replies=[Reply(429, b"slow down", {"Retry-After": "1"}), Reply(200, b"ok")])
    h = client(retries=2)
    started = time.monotonic()
    resp = h.get(loopback.url("/busy"))
    h.close()
    assert resp.content == b"ok"
    first, second = loopback.requests_for("/busy")
    assert second.at - first.at >= 0.95
    assert time.monotonic() - started < 5


def test_503_storm_then_recovery(loopback):
    loopback.route("/storm", replies=[Reply(503), Reply(503), Reply(200, b"recovered")])
    h = client(retries=3, backoff_factor=0.01)
    assert h.get(loopback.url("/storm")).content == b"recovered"
    h.close()
    assert loopback.count("/storm") == 3


def test_503_storm_longer_than_the_retries(loopback):
    loopback.route("/down", status=503)
    h = client(retries=2, backoff_factor=0.01)
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/down"))
    h.close()
    assert info.value.status == 503 and loopback.count("/down") == 3


def test_absurd_retry_after_is_left_to_the_scheduler(loopback):
    loopback.route("/later", status=503, headers={"Retry-After": "86400"})
    h = client(retries=3)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/later"))
    h.close()
    assert info.value.retry_after == 86400 and loopback.count("/later") == 1
    assert time.monotonic() - started < 2


# -- robots.txt -----------------------------------------------------------------------------------


def test_robots_disallow(loopback):
    loopback.route("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
    loopback.route("/private/page", body=b"secret")
    loopback.route("/public", body=b"hello")
    h = client(respect_robots=True)
    with pytest.raises(RobotsDisallowed):
        h.get(loopback.url("/private/page"))
    assert h.get(loopback.url("/public")).content == b"hello"
    h.close()
    assert loopback.count("/private/page") == 0
    assert loopback.count("/robots.txt") == 1


def test_missing_robots_allows(loopback):
    loopback.route("/a", body=b"ok")
    h = client(respect_robots=True)
    assert h.get(loopback.url("/a")).content == b"ok"
    h.close()
    assert [r.path for r in loopback.requests] == ["/robots.txt", "/a"]


# -- private addresses ----------------------------------------------------------------------------


@pytest.fixture
def second_loopback():
    """A server on 127.0.0.2 (Linux routes all of 127.0.0.0/8 to the loopback interface)."""
    try:
        server = LoopbackServer(host="127.0.0.2").start()
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")
    yield server
    server.stop()


def test_untrusted_link_to_127_0_0_2_is_refused_without_connecting(second_loopback, connections):
    second_loopback.route("/a", body=b"inside")
    h = client()
    with pytest.raises(PrivateAddress):
        h.get(second_loopback.url("/a"), trusted=False)
    h.close()
    assert second_loopback.count() == 0 and connections == []


def test_untrusted_link_to_127_0_0_2_is_allowed_with_allow_private_hosts(second_loopback, connections):
    second_loopback.route("/a", body=b"inside")
    h = client(allow_private_hosts=True)
    assert h.get(second_loopback.url("/a"), trusted=False).content == b"inside"
    h.close()
    assert second_loopback.count("/a") == 1
    assert connections[0][0] == "127.0.0.2"


def test_untrusted_link_to_metadata_address_never_connects(connections):
    h = client(timeout=0.5)
    with pytest.raises(PrivateAddress) as info:
        h.get("http://169.254.169.254/latest/meta-data/", trusted=False)
    h.close()
    assert "169.254.169.254" in info.value.reason
    assert connections == []


def test_trusted_loopback_redirect_to_metadata_address_is_refused(loopback, connections):
    loopback.route("/hop", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    h = client(timeout=0.5)
    with pytest.raises(PrivateAddress):
        h.get(loopback.url("/hop"))
    h.close()
    assert [addr[0] for addr in connections] == ["127.0.0.1"]


def test_untrusted_name_resolving_to_loopback_is_refused(loopback, connections):
    loopback.route("/a", body=b"x")
    h = client()
    with pytest.raises(PrivateAddress):
        h.get(f"http://localhost:{loopback.port}/a", trusted=False)
    h.close()
    assert loopback.count() == 0 and connections == []


# -- pacing with real threads -----------------------------------------------------------------------


def test_per_host_pacing_across_threads(loopback, monkeypatch):
    delay = 0.2
    jitter = 0.05  # thread scheduling between the end of a thread's pacing wait and its send
    loopback.route("/p", body=b"ok")
    loopback.route("/other", body=b"ok")
    h = client(per_host_delay=delay)
    errors: list[BaseException] = []
    sent: list[float] = []
    send = h._session.send

    def timed_send(request, **kw):
        if request.path_url == "/p":
            sent.append(time.monotonic())
        return send(request, **kw)

    monkeypatch.setattr(h._session, "send", timed_send)

    def worker(url):
        try:
            h.get(url)
        except Exception as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(loopback.url("/p"),)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    elapsed = time.monotonic() - started
    assert not errors and loopback.count("/p") == 5 and len(sent) == 5
    gaps = [b - a for a, b in itertools.pairwise(sorted(sent))]
    assert all(gap >= delay - jitter for gap in gaps), gaps
    # on the wire: the server cannot read the last request before pacing let it go, however
    # late a loaded machine delivers the first one (the server's clock reads only later)
    served = sorted(r.at for r in loopback.requests_for("/p"))
    assert served[-1] - min(sent) >= 4 * delay - 0.01
    assert elapsed >= 4 * delay
    # another host (localhost, not 127.0.0.1) is not held back by the first one's queue
    other = f"http://localhost:{loopback.port}/other"
    before = time.monotonic()
    h.get(other)
    assert time.monotonic() - before < delay
    h.close()


def test_concurrent_gets_share_one_robots_fetch(loopback):
    loopback.route(
        "/robots.txt", handler=lambda req: (time.sleep(0.1), Reply(200, b"User-agent: *\nDisallow: /no\n"))[1]
    )
    for i in range(8):
        loopback.route(f"/item{i}", body=b"item%d" % i)
    h = client(respect_robots=True)
    results: dict[int, bytes] = {}

    def worker(i):
        results[i] = h.get(loopback.url(f"/item{i}")).content

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    h.close()
    assert results == {i: b"item%d" % i for i in range(8)}
    assert loopback.count("/robots.txt") == 1


# -- the loopback helper itself -----------------------------------------------------------------------


def test_loopback_helper_routes_sequences_handlers_and_counts():
    import requests

    with LoopbackServer() as server:
        server.route("/static", body="héllo", headers={"Content-Type": "text/plain; charset=utf-8"})
        server.route("/seq", replies=[Reply(503), Reply(200, b"second")])
        server.route("/fn", handler=lambda req: (201, f"{req.query}|{req.header('x-probe')}".encode()))
        server.route("/broken", handler=lambda req: 1 / 0)
        with requests.Session() as s:
            assert s.get(server.url("/static")).text == "héllo"
            assert s.head(server.url("/static")).headers["Content-Length"] == "6"
            assert [s.get(server.url("/seq")).status_code for _ in range(3)] == [503, 200, 200]
            fn = s.get(server.url("/fn?a=1"), headers={"X-Probe": "yes"})
            assert (fn.status_code, fn.text) == (201, "a=1|yes")
            assert s.get(server.url("/nothing")).status_code == 404
            assert s.get(server.url("/broken")).status_code == 500
        assert server.count("/seq") == 3 and server.count("/static") == 2 and server.count() == 8
        assert [r.index for r in server.requests_for("/seq")] == [0, 1, 2]
        server.reset()
        assert server.count() == 0
        port = server.port
    server.stop()  # stopping twice is harmless
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the port is closed


# -- the overall deadline -------------------------------------------------------------------------


def _trickle(stop: threading.Event, every: float = 0.2) -> Iterator[bytes]:
    """One byte every ``every`` seconds, until ``stop``: no read timeout ever trips."""
    while not stop.wait(every):
        yield b"x"


@pytest.mark.parametrize("headers", [{"Content-Length": "100000"}, {}], ids=["content-length", "chunked"])
def test_a_trickling_body_is_stopped_at_the_deadline(loopback, headers):
    loopback.route("/slow", handler=lambda req: Reply(200, _trickle(loopback.stopping), headers))
    h = client(timeout=1.0, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/slow"))
    elapsed = time.monotonic() - started
    h.close()
    assert info.value.reason == "deadline of 1.5s exceeded" and info.value.status is None
    assert 1.4 < elapsed < 3


@pytest.fixture
def trickler():
    """A raw server on 127.0.0.1: ``trickler(head)`` is a URL whose answer is ``head`` at once, then
    one ``x`` every 0.2 s (no line end: a status line or header never finishes either)."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    heads: list[bytes] = []

    def trickle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(heads[-1])
                while not stop.wait(0.2):
                    conn.sendall(b"x")
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def url(head: bytes) -> str:
        heads.append(head)
        return f"http://127.0.0.1:{listener.getsockname()[1]}/"

    yield url
    stop.set()
    thread.join(5)
    listener.close()


@pytest.mark.parametrize(
    "head",
    [b"", b"HTTP/1.1 200 OK\r\nX-Slow: ", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"],
    ids=["status-line", "header", "body-until-close"],
)
def test_a_trickling_answer_is_stopped_at_the_deadline(trickler, head):
    h = client(timeout=1.0, deadline=1.2, retries=3)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(trickler(head))
    h.close()
    assert info.value.reason == "deadline of 1.2s exceeded"  # never a body cut short and taken as whole
    assert time.monotonic() - started < 3


def test_the_deadline_covers_redirects_and_retries(loopback):
    loopback.route("/r0", status=302, headers={"Location": "/r1"})
    loopback.route("/r1", handler=lambda req: (time.sleep(0.4), Reply(302, headers={"Location": "/r2"}))[1])
    loopback.route("/r2", handler=lambda req: (time.sleep(0.4), Reply(503, headers={"Retry-After": "1"}))[1])
    h = client(deadline=1.5, retries=5)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        h.get(loopback.url("/r0"))
    h.close()
    # a retry whose wait would pass the deadline is not made: the last answer stands
    assert info.value.status == 503 and info.value.retry_after == 1
    assert loopback.count("/r2") == 1 and time.monotonic() - started < 1.5


# -- retries in the log, and names that do not resolve ------------------------------------------------


def test_retries_are_structured_debug_events(loopback, caplog):
    loopback.route("/flaky", replies=[Reply(503), Reply(500), Reply(200, b"ok")])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    h = client(retries=2, backoff_factor=0.01)
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        assert h.get(loopback.url("/flaky")).content == b"ok"
        with pytest.raises(FetchError):
            h.get(f"http://127.0.0.1:{closed}/")
    h.close()
    retries = [e for e in logs if e["event"] == "http_retry"]
    assert [(e["attempt"], e.get("status"), e.get("error")) for e in retries] == [
        (1, 503, None),
        (2, 500, None),
        (1, None, "connection refused"),
        (2, None, "connection refused"),
    ]
    assert all(
        e["log_level"] == "debug" and e["wait"] > 0 and e["url"].startswith("http://127.0.0.1:") for e in retries
    )
    assert [r for r in caplog.records if r.name.startswith("urllib3") and r.levelno >= logging.WARNING] == []


def test_a_name_that_does_not_resolve_is_looked_up_once_a_minute(fake_dns, caplog):
    t = FakeClock()
    h = Http(HttpSettings(per_host_delay=0, retries=3, backoff_factor=0.01, respect_robots=True), clock=t)
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(FetchError) as info:
                h.get("http://gone.example/feed.xml")
            assert info.value.reason == "dns lookup failed"
        assert fake_dns.count("gone.example") == 1  # robots.txt and three fetches: one lookup
        t.now += 61
        with pytest.raises(FetchError):
            h.get("http://gone.example/other.xml")
        assert fake_dns.count("gone.example") == 2
    h.close()
    assert [e for e in logs if e["event"] == "http_retry"] == []
    assert [r for r in caplog.records if r.name.startswith("urllib3") and r.levelno >= logging.WARNING] == []


class FakeClock:
    """A monotonic clock that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now
