"""A WARC file read over HTTP as it arrives: never held whole in memory or on disk.

``open_stream`` sends one GET (a ``Range`` request to go on from a saved offset) with the
configured User-Agent and timeouts and hands the body on through the response's raw stream, as
the file's bytes (no content decoding: offsets stay those of the file). ``read_url`` is the
remote twin of ``warc.read_path``: the same reader, checkpoints under ``warc:<url>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Self

import requests
import structlog

from worker.errors import FetchError
from worker.fetchers.files import _resume_at
from worker.fetchers.http_errors import TRANSPORT_ERRORS, transport_reason
from worker.fetchers.warc import NO_FILTER, WarcFilter, WarcReader
from worker.models import Checkpoint, HttpSettings, Known, RawItem, Skipped

log = structlog.get_logger("worker.fetchers.warc")

CHUNK = 64 * 1024


class RemoteWarc:
    """The body of one GET as a binary stream. ``start`` is the file offset of its first byte,
    ``size`` the whole file's length when the server gave it, ``read_bytes`` what was read."""

    def __init__(self, url: str, response: requests.Response, start: int, size: int | None):
        self.url = url
        self.start = start
        self.size = size
        self.read_bytes = 0
        self._response = response

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._response.raw.read(None if size is None or size < 0 else size, decode_content=False)
        except TRANSPORT_ERRORS as exc:
            at = self.start + self.read_bytes
            raise FetchError(self.url, None, f"{transport_reason(exc)} (at byte {at})") from None
        self.read_bytes += len(data)
        return data

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_stream(
    url: str, settings: HttpSettings, *, start: int = 0, session: requests.Session | None = None
) -> RemoteWarc:
    """GET ``url`` streaming, from byte ``start`` (a Range request; a server that ignores it is
    read past the first ``start`` bytes). Raises FetchError for a transport failure or a status
    other than 200/206."""
    headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    session = session or requests.Session()
    session.max_redirects = settings.max_redirects
    try:
        resp = session.get(url, headers=headers, stream=True, timeout=(settings.timeout, settings.timeout))
    except TRANSPORT_ERRORS as exc:
        raise FetchError(url, None, transport_reason(exc)) from None
    if resp.status_code not in (200, 206):
        resp.close()
        raise FetchError(url, resp.status_code, resp.reason or "unexpected status")
    ranged = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", "").strip())
    if resp.status_code == 206 and ranged and int(ranged.group(1)) == start:
        size = int(ranged.group(2)) if ranged.group(2) != "*" else None
        return RemoteWarc(url, resp, start, size)
    length = resp.headers.get("Content-Length", "")
    stream = RemoteWarc(url, resp, 0, int(length) if resp.status_code == 200 and length.isdigit() else None)
    while stream.read_bytes < start:  # the whole file came: pass over what was read before
        if not stream.read(min(CHUNK, start - stream.read_bytes)):
            stream.close()
            raise FetchError(url, None, f"the file ends before byte {start}")
    stream.start, stream.read_bytes = start, 0
    return stream


def read_url(
    url: str,
    source: str,
    ctx,
    settings: HttpSettings,
    filters: WarcFilter = NO_FILTER,
    session: requests.Session | None = None,
) -> Iterator[RawItem | Skipped | Known | Checkpoint]:
    """The pages of a remote WARC file, then its checkpoint (key ``warc:<url>`` plus the filters,
    value the file size; ``size@offset:records`` while read in part). A file read in part goes
    on from its saved offset when its size is unchanged; a finished one is not read again."""
    key = "warc:" + url + filters.suffix()
    saved = ctx.saved(key) or ""
    if saved and "@" not in saved:
        if ctx.trigger == "backfill":
            yield Known(source, url, key)
        return
    stamp = saved.partition("@")[0]
    offset, records = _resume_at(saved, stamp)
    remote = _reopen(url, settings, offset, stamp, session)
    if remote.start != offset:  # another file behind the URL now: read it all
        offset, records = 0, 0
    stamp = _stamp(remote)
    with remote:
        reader = WarcReader(
            remote,
            source=source,
            locator=url,
            filters=filters,
            start=offset,
            records=records,
            checkpoint=lambda at, n: Checkpoint(key, f"{stamp}@{at}:{n}", partial=True),
        )
        yield from reader
    ctx.stats.requests += 1
    ctx.stats.bytes += remote.read_bytes
    log.info(
        "warc_read", source=source, url=url, start=offset, records=reader.records - records, counts=dict(reader.counts)
    )
    yield Checkpoint(key, stamp)


def _reopen(url: str, settings: HttpSettings, offset: int, stamp: str, session: requests.Session | None) -> RemoteWarc:
    """The stream from ``offset`` when the file is the one ``stamp`` (its size) names, else from 0."""
    if offset:
        try:
            remote = open_stream(url, settings, start=offset, session=session)
        except FetchError as exc:
            if exc.status != 416:  # 416: the file is now shorter than the saved offset
                raise
        else:
            if _stamp(remote) == stamp:
                return remote
            remote.close()
    return open_stream(url, settings, session=session)


def _stamp(remote: RemoteWarc) -> str:
    return str(remote.size) if remote.size is not None else "?"
