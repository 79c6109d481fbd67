"""The overall deadline of one request of ``fetchers.http``, and the connections that keep it.

A socket timeout restarts on every byte received, so a server that sends one byte every
few seconds never trips it. A ``Deadline`` is a time budget for one request (connect,
redirects, retries, headers and body); while it is active in a thread, every connection
that thread opens or waits on registers with it, and when the budget runs out one
watchdog thread shuts those sockets down, which ends any read in progress at once.

The connection pools here (``WatchedHTTPPool``, ``WatchedHTTPSPool``) are urllib3's with a
connection class that registers itself; ``http_adapter`` installs them.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Self

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_active = threading.local()


class _Watchdog:
    """One daemon thread that runs out deadlines at their time (started on first use, and anew
    in a forked child, which inherits no threads)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (in a forked child: the parent's thread and lock state are not ours)."""
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._running = False

    def schedule(self, seconds: float, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), deadline))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="http-deadline", daemon=True).start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.reset)


class Deadline:
    """A time budget (``seconds`` from now on ``clock``); ``with deadline:`` makes it the thread's."""

    def __init__(self, seconds: float, clock: Callable[[], float]):
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds
        self._lock = threading.Lock()
        self._watched: list[HTTPConnection | socket.socket] = []
        self._scheduled = False
        self._cut = False
        self._closed = False
        self._outer: Deadline | None = None

    @property
    def reason(self) -> str:
        return f"deadline of {self.seconds:g}s exceeded"

    def remaining(self) -> float:
        return self._at - self._clock()

    @property
    def fired(self) -> bool:
        """True once the watchdog has shut the watched connections down."""
        return self._cut

    def passed(self) -> bool:
        """True once the budget is spent (or the watchdog cut the connections)."""
        return self._cut or self.remaining() <= 0

    def watch(self, item: HTTPConnection | socket.socket) -> None:
        """Shut a socket (or a connection's socket) down when the budget runs out (at once if it has)."""
        with self._lock:
            if self._closed:
                return
            if not self._cut:
                self._watched.append(item)
                schedule, self._scheduled = not self._scheduled, True
                if schedule:
                    _WATCHDOG.schedule(max(self.remaining(), 0.0), self)
                return
        _shut(item)

    def expire(self) -> None:
        """Shut every watched socket down now (the watchdog calls this at the deadline)."""
        with self._lock:
            if self._closed:
                return
            self._cut = True
            watched, self._watched = self._watched, []
        for item in watched:
            _shut(item)

    def __enter__(self) -> Self:
        self._outer = getattr(_active, "deadline", None)
        _active.deadline = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        _active.deadline = self._outer
        with self._lock:
            self._watched = []
            self._closed = True


def _shut(item: HTTPConnection | socket.socket | None) -> None:
    sock = item.sock if isinstance(item, HTTPConnection) else item
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _watch(item: HTTPConnection | socket.socket | None) -> None:
    deadline: Deadline | None = getattr(_active, "deadline", None)
    if deadline is not None and item is not None:
        deadline.watch(item)


class WatchedHTTPConnection(HTTPConnection):
    """An urllib3 connection that registers with its thread's deadline on connect and on each response.

    On connect the connection itself is watched (its socket while it is being set up, the TLS
    handshake included); on a response its socket is, since a response that closes the
    connection takes the socket over and leaves ``sock`` empty.
    """

    def connect(self) -> None:
        _watch(self)
        super().connect()

    def getresponse(self) -> Any:
        _watch(self.sock)
        return super().getresponse()


class WatchedHTTPSConnection(HTTPSConnection):
    """The TLS twin of ``WatchedHTTPConnection``."""

    def connect(self) -> None:
        _watch(self)
        super().connect()

    def getresponse(self) -> Any:
        _watch(self.sock)
        return super().getresponse()


class WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


WATCHED_POOLS = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}
