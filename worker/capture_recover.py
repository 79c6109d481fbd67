"""Repair after a crash: cut the torn last record off WARC files ``worker.capture`` wrote.

Every record is one gzip member written whole, so a file's complete records are exactly its
complete gzip members. A file a live writer holds (its ``flock``) is passed over, and only files
changed since the last pass began are read: a year of captures is not read at every start.
"""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import structlog

from worker.capture import fsync_dir
from worker.errors import ArchiveError

log = structlog.get_logger("worker.capture")

MARKER = ".recovered"  # in <root>/warc: its mtime is when the last recover pass started
SLACK_NS = 60 * 10**9  # files touched up to a minute before that pass are checked again
CHUNK = 1 << 20


@dataclass(frozen=True)
class Recovered:
    """One WARC file ``recover`` repaired."""

    file: str  # relative to the capture root
    size: int  # bytes before
    kept: int  # bytes of complete records kept (0: the file held none and was removed)


def recover(root: Path) -> list[Recovered]:
    """Cut a torn last record (a kill -9 or power loss in mid-write) off every WARC file under
    ``<root>/warc`` that no live writer holds and that changed since the last pass began.

    Every record is one gzip member written whole, so a file's complete records are exactly its
    complete members: the file is cut after the last one (removed when none is left).
    """
    top = Path(root) / "warc"
    if not top.is_dir():
        return []
    marker = top / MARKER
    started = time.time_ns()
    since = marker.stat().st_mtime_ns - SLACK_NS if marker.exists() else 0
    done = []
    for path in sorted(top.rglob("*.warc.gz")):
        try:
            if path.stat().st_mtime_ns < since:
                continue
            fixed = _recover_file(path)
        except OSError as exc:
            raise ArchiveError(f"cannot check WARC file {path}: {exc.strerror or exc}") from exc
        if fixed is not None:
            done.append(Recovered(path.relative_to(root).as_posix(), *fixed))
            log.warning("warc_recovered", path=done[-1].file, size=fixed[0], kept=fixed[1])
    marker.touch()
    os.utime(marker, ns=(started, started))
    return done


def _recover_file(path: Path) -> tuple[int, int] | None:
    """(size, kept) when ``path`` was cut, None when it was whole or is being written."""
    with path.open("r+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a live writer holds it
        size = os.fstat(fh.fileno()).st_size
        kept = complete_members(fh)
        if kept == size:
            return None
        fh.truncate(kept)
        fh.flush()
        os.fsync(fh.fileno())
    if kept == 0:
        path.unlink()
        fsync_dir(path.parent)
    return size, kept


def complete_members(fh) -> int:
    """The byte length of the run of complete gzip members at the start of ``fh``."""
    end = pos = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = b""
    while True:
        if not data:
            data = fh.read(CHUNK)
            if not data:
                return end
        try:
            inflater.decompress(data, CHUNK)  # output is dropped: only the boundaries matter
        except zlib.error:
            return end
        rest = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
        pos += len(data) - len(rest)
        data = rest
        if inflater.eof:
            end = pos
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
