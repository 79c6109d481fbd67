"""Streaming body reads for ``fetchers.http``: a size cap on the wire and after decompression,
and the charset a Content-Type header names.

The body is read in chunks and inflated with bounded output, so neither an endless
body nor a gzip bomb is ever held in memory beyond the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from email.message import Message

CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The body (raw or decompressed) is over the cap."""


class BodyDecodeError(Exception):
    """The Content-Encoding is unsupported or the compressed body is corrupt."""


class _Inflater:
    """gzip (multi-member) or deflate (zlib-wrapped or raw) with a bound on each output."""

    def __init__(self, coding: str):
        self._gzip = coding in ("gzip", "x-gzip")
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS) if self._gzip else None
        self._done = False

    def _start_deflate(self, data: bytes) -> None:
        # RFC 9110 "deflate" is zlib-wrapped, but some servers send raw deflate
        wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Inflate ``data``; returns at most ``limit + 1`` bytes (more than ``limit`` means over)."""
        if self._obj is None:
            self._start_deflate(data)
        assert self._obj is not None
        out: list[bytes] = []
        produced = 0
        while data and not self._done and produced <= limit:
            try:
                piece = self._obj.decompress(data, limit + 1 - produced)
            except zlib.error as exc:
                raise BodyDecodeError(f"content decoding failed: {exc}") from exc
            out.append(piece)
            produced += len(piece)
            if self._obj.eof:
                rest = self._obj.unused_data
                if self._gzip and rest.startswith(b"\x1f\x8b"):
                    self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                else:  # trailing bytes after the stream are ignored, as urllib3 does
                    self._done = True
            else:
                tail = self._obj.unconsumed_tail
                if not piece and tail == data:
                    break
                data = tail
        return b"".join(out)

    def flush(self) -> bytes:
        if self._obj is None or self._done:
            return b""
        try:
            return self._obj.flush()
        except zlib.error as exc:
            raise BodyDecodeError(f"content decoding failed: {exc}") from exc


def _inflater(content_encoding: str | None) -> _Inflater | None:
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflater(codings[0])
    raise BodyDecodeError(f"unsupported content-encoding {content_encoding!r}")


def check_length(content_length: str | None, cap: int) -> None:
    """Fail early when the announced Content-Length is already over the cap."""
    try:
        length = int((content_length or "").strip())
    except ValueError:
        return
    if length > cap:
        raise BodyTooLarge(f"body over {cap} bytes (content-length {length})")


def read_capped(chunks: Iterable[bytes], content_encoding: str | None, cap: int, *, truncate: bool = False) -> bytes:
    """Join raw ``chunks`` (decompressed per ``content_encoding``), stopping as soon as over ``cap``.

    Over the cap raises BodyTooLarge, or with ``truncate`` returns the first ``cap`` bytes.
    The caller closes the response (and so the connection) after an early stop.
    """
    inflater = _inflater(content_encoding)
    parts: list[bytes] = []
    raw_total = 0
    total = 0
    for chunk in chunks:
        raw_total += len(chunk)
        out = inflater.feed(chunk, cap - total) if inflater is not None else chunk
        total += len(out)
        parts.append(out)
        if total > cap or raw_total > cap:
            if truncate:
                return b"".join(parts)[:cap]
            raise BodyTooLarge(f"body over {cap} bytes")
    if inflater is not None:
        tail = inflater.flush()
        total += len(tail)
        parts.append(tail)
        if total > cap:
            if truncate:
                return b"".join(parts)[:cap]
            raise BodyTooLarge(f"body over {cap} bytes")
    return b"".join(parts)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, or None."""
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    charset = msg.get_param("charset")
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    if not charset:
        return None
    return charset.strip().strip("'\"") or None
