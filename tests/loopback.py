"""A threaded HTTP server on 127.0.0.1 for tests: routes, canned replies, request counts.

Usage::

    from tests.loopback import LoopbackServer, Reply

    with LoopbackServer() as server:                       # port 0: a free port is picked
        server.route("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
        server.route("/flaky", replies=[Reply(503), Reply(503), Reply(200, body=b"ok")])
        server.route("/echo", handler=lambda req: Reply(200, body=req.headers.get("User-Agent", "")))
        url = server.url("/feed.xml")
        ...
        assert server.count("/feed.xml") == 1

or with the ``loopback`` pytest fixture (import it into the test module, or list
``tests.loopback`` in ``pytest_plugins``), which stops the server after the test.

``LoopbackServer(ssl_context=...)`` serves HTTPS. The ``fake_dns`` fixture lets a loopback
server play a named host (``fake_dns.answer("news.example", ["127.0.0.2"])``) without a real
DNS query, and ``loopback_connects`` records every address a client connects to, failing
the test on any address that is not loopback.

A reply body may be bytes, str (UTF-8) or an iterable of bytes (streamed as it is produced:
chunked, unless the reply sets Content-Length). Streaming generators can wait on
``server.stopping`` so that a stalled reply ends when the server stops. Paths that have
no route get 404. Query strings are ignored for matching (``Request.query`` has them).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

import pytest

Headers = dict[str, str] | list[tuple[str, str]]


@dataclass
class Reply:
    """One canned HTTP reply."""

    status: int = 200
    body: bytes | str | Iterable[bytes] = b""
    headers: Headers = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # as sent (case preserved; look up with the sent case or use .header())
    at: float  # time.monotonic() when the request line was read
    index: int  # 0 for the first request to this path, 1 for the second, ...

    def header(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return default


Handler = Callable[[Request], "Reply | tuple | bytes | str"]


class _Route:
    def __init__(self, reply: Reply | None, replies: list[Reply] | None, handler: Handler | None):
        self.reply = reply
        self.replies = replies
        self.handler = handler

    def respond(self, req: Request) -> Reply:
        if self.handler is not None:
            return _as_reply(self.handler(req))
        if self.replies:
            return self.replies[min(req.index, len(self.replies) - 1)]
        return self.reply or Reply()


def _as_reply(value: object) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, (bytes, str)):
        return Reply(200, value)
    if isinstance(value, tuple):
        return Reply(*value)
    raise TypeError(f"a loopback handler returned {type(value).__name__}, expected Reply/tuple/bytes/str")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        context = self.owner.ssl_context
        if context is not None:  # the handshake runs in the request's thread, on its first read
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address) -> None:  # a client hanging up is normal here
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        req, route = owner._record(self.command, parts.path, parts.query, dict(self.headers.items()))
        try:
            reply = route.respond(req) if route is not None else Reply(404, b"not found")
        except Exception as exc:
            reply = Reply(500, f"loopback handler failed: {exc!r}".encode())
        self._write(reply, head)

    def _write(self, reply: Reply, head: bool) -> None:
        items = list(reply.headers.items()) if isinstance(reply.headers, dict) else list(reply.headers)
        names = {k.lower() for k, _ in items}
        body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        self.send_response(reply.status)
        for key, value in items:
            self.send_header(key, value)
        if isinstance(body, (bytes, bytearray)):
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and reply.status not in (204, 304):
                self.wfile.write(body)
            return
        chunked = "content-length" not in names
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if head:
            return
        self.close_connection = True  # a streamed reply may be cut short; never reuse it
        try:
            for piece in body:
                if not piece:
                    continue
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
                self.wfile.flush()
                self.server.owner._sent(len(piece))
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading and closed the connection
            pass
        finally:
            if hasattr(body, "close"):
                body.close()


class LoopbackServer:
    """A threaded HTTP/1.1 server bound to ``host`` (default 127.0.0.1) on a free port;
    HTTPS when given a server-side ``ssl_context``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: ssl.SSLContext | None = None):
        self.host = host
        self._port = port
        self.ssl_context = ssl_context
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._counts: dict[str, int] = {}
        self.requests: list[Request] = []
        self.bytes_streamed = 0  # bytes written by streamed (iterable) bodies
        self.stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._httpd = _Server((self.host, self._port), _RequestHandler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"loopback-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        self.stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the loopback server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- routes ------------------------------------------------------------------------

    def route(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes | str | Iterable[bytes] = b"",
        headers: Headers | None = None,
        replies: list[Reply] | None = None,
        handler: Handler | None = None,
    ) -> None:
        """Serve ``path`` (GET/HEAD) with a fixed reply, a sequence of replies (the last one
        repeats), or ``handler(request) -> Reply | (status, body[, headers]) | bytes | str``.
        Registering a path again replaces its route (its request count is kept)."""
        reply = None if (replies or handler) else Reply(status, body, dict(headers or {}))
        with self._lock:
            self._routes[path] = _Route(reply, list(replies) if replies else None, handler)

    def count(self, path: str | None = None) -> int:
        """Requests received for ``path`` (all paths when None)."""
        with self._lock:
            return len(self.requests) if path is None else self._counts.get(path, 0)

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reset(self) -> None:
        """Forget the requests received so far (routes stay)."""
        with self._lock:
            self.requests.clear()
            self._counts.clear()
            self.bytes_streamed = 0

    # -- used by the handler threads -----------------------------------------------------

    def _record(self, method: str, path: str, query: str, headers: dict[str, str]) -> tuple[Request, _Route | None]:
        with self._lock:
            index = self._counts.get(path, 0)
            self._counts[path] = index + 1
            req = Request(method, path, query, headers, time.monotonic(), index)
            self.requests.append(req)
            return req, self._routes.get(path)

    def _sent(self, n: int) -> None:
        with self._lock:
            self.bytes_streamed += n


def stream_forever(
    piece: bytes = b"x" * 65536, *, limit: int = 1 << 30, stop: threading.Event | None = None
) -> Iterator[bytes]:
    """An (almost) endless body: ``piece`` repeated until ``limit`` bytes or ``stop`` is set."""
    sent = 0
    while sent < limit and not (stop is not None and stop.is_set()):
        yield piece
        sent += len(piece)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A running LoopbackServer on 127.0.0.1, stopped after the test."""
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()


def serve_static(
    server: LoopbackServer,
    path: str,
    body: bytes,
    content_type: str = "application/xml",
    *,
    etag: bool = True,
    last_modified: str | None = "Wed, 01 May 2024 10:00:00 GMT",
) -> None:
    """Serve ``body`` at ``path`` as a static file server does: ETag and Last-Modified, 304 on a
    matching If-None-Match or If-Modified-Since."""
    tag = '"%x"' % (hash(body) & 0xFFFFFFFF)

    def handler(req: Request) -> Reply:
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = tag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if (etag and req.header("If-None-Match") == tag) or (
            not etag and last_modified and req.header("If-Modified-Since") == last_modified
        ):
            return Reply(304, b"", headers)
        return Reply(200, body, headers)

    server.route(path, handler=handler)


class FakeDns:
    """A stand-in for ``socket.getaddrinfo`` so that loopback servers can play named hosts.

    ``answer(name, [addresses], [addresses], ...)``: successive lookups of ``name`` get
    successive answers (the last one repeats). IP literals and ``localhost`` go to the real
    resolver; any other name fails as an unknown name, so a test never asks a real DNS server.
    ``lookups`` lists every name asked for, in order.
    """

    def __init__(self, real: Callable[..., list]):
        self._real = real
        self._answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def answer(self, name: str, *answers: list[str]) -> None:
        self._answers[name.lower()] = [list(a) for a in answers]

    def count(self, name: str) -> int:
        return sum(1 for n in self.lookups if n == name.lower())

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):  # getaddrinfo's own parameters
        name = (host.decode() if isinstance(host, bytes) else str(host)).lower()
        if name == "localhost" or _is_literal(name):
            return self._real(host, port, family, type, proto, flags)
        self.lookups.append(name)
        answers = self._answers.get(name)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        index = min(self.count(name) - 1, len(answers) - 1)
        port_number = int(port) if isinstance(port, (int, str)) and str(port).isdigit() else 0
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, port_number, 0, 0) if ":" in a else (a, port_number),
            )
            for a in answers[index]
        ]


def _is_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


@pytest.fixture
def fake_dns(monkeypatch) -> FakeDns:
    """``socket.getaddrinfo`` replaced by a FakeDns for the test."""
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def loopback_connects(monkeypatch) -> list[tuple]:
    """Every address a client socket connects to, in order; any address but loopback fails the test."""
    seen: list[tuple] = []
    real = socket.socket.connect

    def connect(sock, address):
        seen.append(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a test tried to connect to {address[0]}")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen
