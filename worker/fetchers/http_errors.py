"""Transport failures of ``fetchers.http`` as short, stable reasons (e.g. ``read timed out``).

Used by ``fetchers.http`` to build every FetchError it raises for a failed transport, and to
decide whether a failure is worth another attempt (a refused or broken connection, a
timeout) or not (a name that does not resolve, a TLS failure, an invalid URL).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import zlib

import requests
import urllib3.exceptions as u3

DNS_FAILED = "dns lookup failed"  # a name that does not resolve: never retried within a run


def _exception_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return seen


_CATEGORIES: tuple[tuple[str, tuple[type[BaseException], ...], bool, bool], ...] = (
    # (reason, exception types, add detail, worth retrying), first match in this order wins
    (DNS_FAILED, (u3.NameResolutionError, socket.gaierror), False, False),
    ("tls error", (ssl.SSLError, ssl.CertificateError, u3.SSLError, requests.exceptions.SSLError), True, False),
    ("connection refused", (ConnectionRefusedError,), False, True),
    ("read timed out", (requests.exceptions.ReadTimeout, u3.ReadTimeoutError), False, True),
    ("content decoding failed", (u3.DecodeError, requests.exceptions.ContentDecodingError, zlib.error), True, False),
    (
        "invalid url",
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            u3.LocationValueError,
        ),
        True,
        False,
    ),
    ("connection failed", (u3.NewConnectionError,), True, True),
    ("connect timed out", (requests.exceptions.ConnectTimeout, u3.ConnectTimeoutError), False, True),
    (
        "connection broken",
        (u3.ProtocolError, requests.exceptions.ChunkedEncodingError, ConnectionError, http.client.HTTPException),
        True,
        True,
    ),
    ("timed out", (TimeoutError, requests.exceptions.Timeout), False, True),
)


def transport_failure(exc: BaseException) -> tuple[str, bool]:
    """``(reason, worth retrying)`` for a transport failure; the reason is short and stable."""
    chain = _exception_chain(exc)
    for reason, types, detailed, retry in _CATEGORIES:
        matches = [item for item in chain if isinstance(item, types)]
        if matches:  # the detail of the innermost match: the library's wrappers only repeat it
            detail = str(matches[-1]).strip()
            return (f"{reason}: {detail[:200]}" if detailed and detail else reason), retry
    detail = str(exc).strip()
    return (f"request failed: {detail[:200]}" if detail else "request failed"), True


def transport_reason(exc: BaseException) -> str:
    """A short, stable reason for a transport failure (e.g. ``read timed out``)."""
    return transport_failure(exc)[0]


# what a transport call (or a streamed body read) can raise; all of it becomes FetchError
TRANSPORT_ERRORS = (requests.RequestException, u3.HTTPError, http.client.HTTPException, OSError, ValueError)
