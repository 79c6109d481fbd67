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

A reply body may be bytes, str (UTF-8) or an iterable of bytes (streamed as it is produced:
chunked, unless the reply sets Content-Length). Streaming generators can wait on
``server.stopping`` so that a stalled reply ends when the server stops. Paths that have
no route get 404. Query strings are ignored for matching (``Request.query`` has them).
"""

from __future__ import annotations

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
        except Exception as exc:  # noqa: BLE001 - a broken handler is a 500, not a hung client
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
    """A threaded HTTP/1.1 server bound to ``host`` (default 127.0.0.1) on a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._port = port
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
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
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
        return f"http://{self.host}:{self.port}"

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


def stream_forever(piece: bytes = b"x" * 65536, *, limit: int = 1 << 30, stop: threading.Event | None = None) -> Iterator[bytes]:
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


def serve_static(server: LoopbackServer, path: str, body: bytes, content_type: str = "application/xml",
                 *, etag: bool = True, last_modified: str | None = "Wed, 01 May 2024 10:00:00 GMT") -> None:
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
