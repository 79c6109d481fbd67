"""WARC files for tests, built with warcio record by record (so single records can be broken).

records = [page("https://example.com/a", b"<html>..."), request("https://example.com/a"), ...]
data = join(records, gz=True)      # gzip per record, or gz=False for an uncompressed file
"""

from __future__ import annotations

import gzip
import io
import re
import zlib

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DATE = "2024-05-01T10:00:00Z"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def html(title: str, words: int = 60) -> bytes:
    body = " ".join(f"word{i}" for i in range(words))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{body}.</p></article></body></html>"
    ).encode()


def _raw(record) -> bytes:
    out = io.BytesIO()
    WARCWriter(out, gzip=False, warc_version="WARC/1.1").write_record(record)
    return out.getvalue()


_BUILD = WARCWriter(io.BytesIO(), gzip=False, warc_version="WARC/1.1")


def response(
    url: str,
    body: bytes,
    *,
    status: str = "200 OK",
    headers: list[tuple[str, str]] | None = None,
    date: str = DATE,
    record_id: str | None = None,
) -> bytes:
    """An uncompressed ``response`` record."""
    if headers is None:
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    extra = {"WARC-Date": date}
    if record_id:
        extra["WARC-Record-ID"] = record_id
    rec = _BUILD.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http, warc_headers_dict=extra
    )
    return _raw(rec)


def page(url: str, body: bytes, date: str = DATE) -> bytes:
    return response(url, body, date=date)


def request(url: str, date: str = DATE) -> bytes:
    host = url.split("/")[2]
    http = StatusAndHeaders("GET / HTTP/1.1", [("Host", host), ("User-Agent", "test")], is_http_request=True)
    return _raw(_BUILD.create_warc_record(url, "request", http_headers=http, warc_headers_dict={"WARC-Date": date}))


def warcinfo() -> bytes:
    return _raw(_BUILD.create_warcinfo_record("test.warc.gz", {"software": "tests"}))


def metadata(url: str) -> bytes:
    data = b"outlinks: https://example.com/x\r\n"
    return _raw(
        _BUILD.create_warc_record(
            url, "metadata", payload=io.BytesIO(data), length=len(data), warc_content_type="application/warc-fields"
        )
    )


def revisit(url: str, original_url: str, body: bytes) -> bytes:
    from worker.capture import payload_digest

    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    return _raw(_BUILD.create_revisit_record(url, payload_digest(body), original_url, DATE, http_headers=http))


def chunked_gzip(url: str, body: bytes) -> bytes:
    """A response stored as it came off the wire: gzip content-encoding inside chunked transfer."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    wire = z.compress(body) + z.flush()
    half = len(wire) // 2
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (wire[:half], wire[half:])) + b"0\r\n\r\n"
    headers = [
        ("Content-Type", "text/html; charset=iso-8859-1"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
    ]
    return response(url, chunked, headers=headers)


def wrong_length(record: bytes, delta: int) -> bytes:
    """``record`` with its WARC Content-Length off by ``delta``."""
    head, sep, rest = record.partition(b"\r\n\r\n")
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    return head.replace(b"Content-Length: %d" % n, b"Content-Length: %d" % (n + delta)) + sep + rest


def join(records: list[bytes], gz: bool) -> bytes:
    """A WARC file: each record its own gzip member, or all of them uncompressed."""
    return b"".join(gzip.compress(r, mtime=0) if gz else r for r in records)
