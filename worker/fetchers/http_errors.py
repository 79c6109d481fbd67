"""Transport failures of ``fetchers.http`` as short, stable reasons (e.g. ``read timed out``).

Used by ``fetchers.http`` to build every FetchError it raises for a failed transport.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import zlib

import requests
import urllib3.exceptions as u3


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


_CATEGORIES: tuple[tuple[str, tuple[type[BaseException], ...], bool], ...] = (
    # (reason, exception types, add detail), first match in this order wins
    ("dns lookup failed", (u3.NameResolutionError, socket.gaierror), False),
    ("tls error", (ssl.SSLError, ssl.CertificateError, u3.SSLError, requests.exceptions.SSLError), True),
    ("connection refused", (ConnectionRefusedError,), False),
    ("read timed out", (requests.exceptions.ReadTimeout, u3.ReadTimeoutError), False),
    ("content decoding failed", (u3.DecodeError, requests.exceptions.ContentDecodingError, zlib.error), True),
    (
        "invalid url",
        (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
         u3.LocationValueError),
        True,
    ),
    ("connection failed", (u3.NewConnectionError,), True),
    ("connect timed out", (requests.exceptions.ConnectTimeout, u3.ConnectTimeoutError), False),
    (
        "connection broken",
        (u3.ProtocolError, requests.exceptions.ChunkedEncodingError, ConnectionError, http.client.HTTPException),
        True,
    ),
    ("timed out", (TimeoutError, requests.exceptions.Timeout), False),
)


def transport_reason(exc: BaseException) -> str:
    """A short, stable reason for a transport failure (e.g. ``read timed out``)."""
    chain = _exception_chain(exc)
    for reason, types, detailed in _CATEGORIES:
        for item in chain:
            if isinstance(item, types):
                detail = str(item).strip()
                return f"{reason}: {detail[:200]}" if detailed and detail else reason
    detail = str(exc).strip()
    return f"request failed: {detail[:200]}" if detail else "request failed"


# what a transport call (or a streamed body read) can raise; all of it becomes FetchError
TRANSPORT_ERRORS = (requests.RequestException, u3.HTTPError, http.client.HTTPException, OSError, ValueError)
