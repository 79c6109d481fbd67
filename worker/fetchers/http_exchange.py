"""The raw exchange of ``fetchers.http``, for capture: the request as sent and the response as
received (headers in order, duplicates kept, the body still content-encoded)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus

import requests

from worker.models import Exchange


def kept(chunks: Iterator[bytes], into: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        into.append(chunk)
        yield chunk


def exchange_of(url: str, resp: requests.Response, body: bytes) -> Exchange:
    """The request as sent and the response as received (headers in order, duplicates kept,
    the body still content-encoded), for raw capture."""
    version = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(getattr(resp.raw, "version", 11), "HTTP/1.1")
    return Exchange(
        url=url,
        status=resp.status_code,
        reason=resp.reason or phrase(resp.status_code),
        response_headers=tuple((str(k), str(v)) for k, v in resp.raw.headers.items()),
        body=body,
        fetched_at=datetime.now(UTC),
        request_headers=tuple((str(k), str(v)) for k, v in resp.request.headers.items()),
        http_version=version,
    )


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"
