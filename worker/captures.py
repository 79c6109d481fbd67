"""The archive's raw capture: the WARC files beside the archive (``<archive folder>/warc/``) and
the lookups that turn an unchanged payload into a revisit record.

One ``Captures`` per process and archive. It recovers torn records left by a crash when it is
made, writes through one ``capture.WarcCapture`` (thread-safe), and answers the writer's
"was this payload captured before?" from the archive's ``captures`` table, on a short read-only
connection of the calling thread (fetches run on several threads).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import structlog

from worker.capture import WarcCapture
from worker.capture_recover import recover
from worker.models import CaptureRef, CaptureSettings, Exchange

log = structlog.get_logger("worker.capture")

REF_COLUMNS = "file, offset, length, digest, fetched_at, status, record_id, url, revisit_of"


class Captures:
    """Where a run writes the responses it receives."""

    def __init__(self, archive: str, settings: CaptureSettings):
        self.archive = archive
        self.root = Path(archive).parent
        for cut in recover(self.root):
            log.warning("capture_recovered", file=str(cut.file), size=cut.size, kept=cut.kept)
        self.writer = WarcCapture(self.root, "worker", rotate_bytes=settings.rotate_bytes, lookup=self.original)

    def exchange(self, ex: Exchange) -> CaptureRef:
        """Write an HTTP exchange (a revisit when its payload was captured before)."""
        return self.writer.write_exchange(ex)

    def resource(self, path: Path, data: bytes, fetched_at: datetime, content_type: str) -> CaptureRef:
        """Write a local file as a ``resource`` record."""
        return self.writer.write_resource(path, data, fetched_at, content_type)

    def original(self, digest: str) -> CaptureRef | None:
        """The first full capture of a payload with this digest, if the archive knows one."""
        try:
            conn = sqlite3.connect(f"file:{Path(self.archive).resolve()}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            return None
        try:
            row = conn.execute(
                f"SELECT {REF_COLUMNS} FROM captures WHERE digest = ? AND revisit_of IS NULL ORDER BY id LIMIT 1",
                [digest],
            ).fetchone()
        except sqlite3.Error:  # no captures table yet: a new archive
            return None
        finally:
            conn.close()
        return CaptureRef(*row) if row else None

    def close(self) -> None:
        self.writer.close()
