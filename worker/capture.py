"""Raw capture: every HTTP exchange a source makes, kept as WARC/1.1 records (ISO 28500).

Files live under ``<root>/warc/YYYY/MM/DD/<name>-<timestamp>-<n>.warc.gz`` (the UTC date of the
write), gzip per record, each starting with a ``warcinfo`` record and rotated once past
``rotate_bytes``. A payload already captured (same WARC-Payload-Digest, learnt through the
caller's ``lookup``, which the archive answers from its ``captures`` table) becomes a ``revisit``
record instead of a second copy. Records are built with warcio, the reference implementation.

Crash safety: each exchange is written with ``os.write`` at the end of the file and fsynced
(and a new file's folder with it) before ``write_exchange`` returns, so the transaction that
references the record can commit afterwards. A file being written is held under an exclusive
``flock``; ``capture_recover.recover`` (run at start) cuts a torn last record off any file
nobody holds.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from worker.errors import ArchiveError
from worker.models import CaptureRef, Exchange
from worker.timefmt import iso_z

ROTATE_BYTES = 1_000_000_000
SOFTWARE = "news-archive-worker"


@dataclass(frozen=True)
class CapturedResponse:
    """A record read back by ``read_record``: the HTTP headers and the decoded payload."""

    url: str
    fetched_at: str
    status: int | None
    headers: tuple[tuple[str, str], ...]  # HTTP headers as captured; () for a resource
    content_type: str | None  # HTTP Content-Type (a resource's WARC Content-Type)
    payload: bytes  # content coding removed (gzip, deflate; br when brotli is installed)


def payload_digest(data: bytes) -> str:
    """WARC-Payload-Digest as warcio writes it: ``sha1:`` and the base32 SHA-1."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


class WarcCapture:
    """Writes exchanges and local files as WARC records; one instance per process, thread-safe.

    ``lookup(digest)`` returns an earlier capture with that payload digest (an original
    response, not a revisit), or None; without it every payload is written in full.
    """

    def __init__(
        self,
        root: Path,
        name: str,
        *,
        rotate_bytes: int = ROTATE_BYTES,
        lookup: Callable[[str], CaptureRef | None] | None = None,
    ):
        self.root = Path(root)
        self.name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "capture"
        self.rotate_bytes = rotate_bytes
        self.lookup = lookup
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._day = ""
        self._size = 0
        self._serial = 0
        self._writer = RecordBuilder(warc_version="WARC/1.1")

    def write_exchange(self, ex: Exchange) -> CaptureRef:
        """Write the request and the response (or a revisit) records; returns the response's
        reference once both are on disk."""
        date = iso_z(ex.fetched_at)
        digest = payload_digest(ex.body)
        prior = self.lookup(digest) if self.lookup is not None and ex.body else None
        if prior is not None and (prior.revisit_of is not None or prior.status is None):
            prior = None  # only an original response can be referred to
        extra = {"WARC-Type": "revisit" if prior else "response", "WARC-Date": date}
        if ex.remote_ip:
            extra["WARC-IP-Address"] = ex.remote_ip
        http = StatusAndHeaders(
            f"{ex.status} {ex.reason}".strip(), _wire_headers(ex.response_headers), protocol=ex.http_version
        )
        if prior is not None:
            extra["WARC-Refers-To"] = prior.record_id
            response = self._writer.create_revisit_record(
                ex.url, digest, prior.url, prior.fetched_at, http_headers=http, warc_headers_dict=extra
            )
        else:
            if ex.truncated:
                extra["WARC-Truncated"] = "length"
            response = self._writer.create_warc_record(
                ex.url,
                "response",
                payload=io.BytesIO(ex.body),
                length=len(ex.body),
                http_headers=http,
                warc_headers_dict=extra,
            )
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        request = self._writer.create_warc_record(
            ex.url,
            "request",
            http_headers=_request_line(ex),
            warc_headers_dict={"WARC-Type": "request", "WARC-Date": date, "WARC-Concurrent-To": record_id},
        )
        records = [_record_bytes(response), _record_bytes(request)]
        path, offset = self._append(records)
        return CaptureRef(
            self._relative(path),
            offset,
            len(records[0]),
            digest,
            date,
            ex.status,
            record_id,
            ex.url,
            prior.record_id if prior else None,
        )

    def write_resource(self, path: Path, data: bytes, fetched_at: datetime, content_type: str) -> CaptureRef:
        """Write a local file's bytes as a ``resource`` record (target URI: its file: URI)."""
        url = Path(path).absolute().as_uri()
        date = iso_z(fetched_at)
        record = self._writer.create_warc_record(
            url,
            "resource",
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Type": "resource", "WARC-Date": date},
        )
        raw = _record_bytes(record)
        file, offset = self._append([raw])
        return CaptureRef(
            self._relative(file),
            offset,
            len(raw),
            payload_digest(data),
            date,
            None,
            record.rec_headers.get_header("WARC-Record-ID"),
            url,
        )

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- files ------------------------------------------------------------------------------

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _append(self, records: list[bytes]) -> tuple[Path, int]:
        """Append ``records`` to the current file (a new one when due) and fsync; returns the
        file and the offset of the first record."""
        data = b"".join(records)
        with self._lock:
            now = datetime.now(UTC)
            if self._fd is None or self._day != now.strftime("%Y/%m/%d") or self._size >= self.rotate_bytes:
                self._close()
                self._open(now)
            assert self._fd is not None and self._path is not None
            offset = self._size
            try:
                _write_all(self._fd, data)
                os.fsync(self._fd)
            except OSError as exc:  # never leave a torn record in a file that goes on
                self._abandon(offset)
                raise ArchiveError(f"cannot write WARC capture {self._path}: {exc.strerror or exc}") from exc
            self._size += len(data)
            return self._path, offset

    def _open(self, now: datetime) -> None:
        day = now.strftime("%Y/%m/%d")
        folder = self.root / "warc" / day
        try:
            _make_dirs(folder)
            while True:
                path = folder / f"{self.name}-{now.strftime('%Y%m%dT%H%M%SZ')}-{self._serial}.warc.gz"
                self._serial += 1
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                    break
                except FileExistsError:
                    continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            fsync_dir(folder)
        except OSError as exc:
            raise ArchiveError(f"cannot create WARC file in {folder}: {exc.strerror or exc}") from exc
        self._fd, self._path, self._day, self._size = fd, path, day, 0
        info = self._writer.create_warcinfo_record(
            path.name,
            {
                "software": f"{SOFTWARE} (warcio)",
                "format": "WARC File Format 1.1",
                "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "isPartOf": self.name,
            },
        )
        raw = _record_bytes(info)
        try:
            _write_all(fd, raw)
        except OSError as exc:
            self._abandon(0)
            raise ArchiveError(f"cannot write WARC capture {path}: {exc.strerror or exc}") from exc
        self._size = len(raw)

    def _abandon(self, size: int) -> None:
        """Cut the current file back to ``size`` and close it: the next write starts a new file."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, size)
            os.fsync(self._fd)
        except OSError:
            pass  # recover() cuts the torn record at the next start
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the flock
            self._fd, self._path = None, None


def _record_bytes(record) -> bytes:
    """One record as its own gzip member (a writer per call: threads build records at once)."""
    out = io.BytesIO()
    WARCWriter(out, gzip=True, warc_version="WARC/1.1").write_record(record)
    return out.getvalue()


def _wire_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Response headers as stored: a Transfer-Encoding is kept under another name, since the body
    is stored with the transfer coding already removed (readers would try to de-chunk it)."""
    return [("X-Archive-Orig-Transfer-Encoding", v) if k.lower() == "transfer-encoding" else (k, v) for k, v in headers]


def _request_line(ex: Exchange) -> StatusAndHeaders:
    parts = urlsplit(ex.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = list(ex.request_headers)
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    return StatusAndHeaders(f"{ex.method} {target} {ex.http_version}", headers, is_http_request=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, fsyncing each parent that gained an entry."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)


# -- reading back -------------------------------------------------------------------------------


def read_record(
    root: Path, ref: CaptureRef, lookup: Callable[[str], CaptureRef | None] | None = None
) -> CapturedResponse:
    """The record ``ref`` points at, read directly at its offset. A revisit's payload is read
    from the original ``lookup(ref.digest)`` names (ArchiveError without it)."""
    path = Path(root) / ref.file
    try:
        with path.open("rb") as fh:
            fh.seek(ref.offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_headers.get_header("WARC-Record-ID") != ref.record_id:
                raise ArchiveError(f"{ref.file}: no record {ref.record_id} at offset {ref.offset}")
            http = record.http_headers
            headers = tuple(http.headers) if http else ()
            status = int(http.get_statuscode()) if http else None
            if record.rec_type == "revisit":
                original = lookup(ref.digest) if lookup is not None else None
                if original is None or original.revisit_of is not None:
                    raise ArchiveError(f"{ref.file}: revisit {ref.record_id} without its original capture")
                payload = read_record(root, original).payload
            else:
                payload = record.content_stream().read()
            if http:
                content_type = http.get_header("Content-Type")
            else:
                content_type = record.rec_headers.get_header("Content-Type")
            return CapturedResponse(ref.url, ref.fetched_at, status, headers, content_type, payload)
    except OSError as exc:
        raise ArchiveError(f"cannot read WARC capture {ref.file}: {exc.strerror or exc}") from exc
