"""The backfill progress display of the command line: files, articles/s, new, duplicates,
skipped and an ETA, as a status line at the bottom of a terminal (log lines clear it and draw it
again below themselves), or a quiet ``backfill_progress`` event every few seconds otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import structlog

from worker import log as logsetup

log = structlog.get_logger("worker.backfill")

EVENT_EVERY = 10.0  # seconds between progress events when not on a terminal


class Progress:
    """Called with (what, locator) for every item a backfill stores, skips or passes over."""

    def __init__(self, terminal: bool, total_files: int | None = None, stream: TextIO | None = None):
        self.terminal = terminal
        self.stream = stream or sys.stderr
        self.total = total_files
        self.files = 0
        self.counts = {"new": 0, "duplicate": 0, "skipped": 0, "known": 0}
        self.t0 = time.monotonic()
        self.last = self.t0
        if terminal:
            logsetup.set_status(self.line)

    def __call__(self, what: str, locator: str) -> None:
        if what == "checkpoint":
            self.files += locator.startswith("file:")
        else:
            self.counts[what] = self.counts.get(what, 0) + 1
            self.files += what == "known"
        now = time.monotonic()
        if now - self.last >= (0.25 if self.terminal else EVENT_EVERY):
            self.last = now
            self.show()

    def articles(self) -> int:
        return self.counts["new"] + self.counts["duplicate"]

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        files = f"{self.files}/{self.total} files" if self.total else f"{self.files} files"
        eta = ""
        if self.total and self.files:
            eta = f"  ETA {max(self.total - self.files, 0) * elapsed / self.files:.0f}s"
        return (
            f"{files}  {self.articles() / elapsed:.0f} articles/s  {self.counts['new']} new  "
            f"{self.counts['duplicate'] + self.counts['known']} duplicates  {self.counts['skipped']} skipped{eta}"
        )

    def show(self) -> None:
        if self.terminal:
            self.stream.write(logsetup.CLEAR_LINE + self.line())
            self.stream.flush()
        else:
            elapsed = time.monotonic() - self.t0
            log.info(
                "backfill_progress",
                files=self.files,
                total_files=self.total,
                new=self.counts["new"],
                duplicates=self.counts["duplicate"] + self.counts["known"],
                skipped=self.counts["skipped"],
                articles_per_s=round(self.articles() / max(elapsed, 1e-6), 1),
            )

    def close(self) -> None:
        if self.terminal:
            logsetup.set_status(None)
            self.stream.write(logsetup.CLEAR_LINE + self.line() + "\n")
            self.stream.flush()
