"""The project's exceptions: mapped once where they arise, caught once in the pipeline."""

from __future__ import annotations


class WorkerError(Exception):
    """Base of every error the worker raises on purpose."""


class ConfigError(WorkerError):
    """The configuration is invalid; the message names the key path, e.g. ``sources[2].every: ...``."""


class FetchError(WorkerError):
    """A transport or HTTP status failure, raised only by ``fetchers.http`` (and the files fetcher)."""

    def __init__(self, url: str, status: int | None, reason: str, *, retry_after: float | None = None):
        self.url = url
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(f"{url}: {reason}" if status is None else f"{url}: HTTP {status} {reason}")

    def __reduce__(self):
        """Pickled with its fields (it crosses from a cluster worker to the writer)."""
        return (FetchError, (self.url, self.status, self.reason), {"retry_after": self.retry_after})


class ParseError(WorkerError):
    """Input that cannot be turned into an article (empty, binary, not an article)."""


class ArchiveError(WorkerError):
    """The archive cannot be opened or written (locked, wrong schema version, disk full)."""

    new = 0  # articles the failing command had stored before it


class ArchiveFull(ArchiveError):
    """The archive's disk is full: nothing more can be stored until space is freed."""


class ArchiveDamaged(ArchiveError):
    """The archive file is corrupt (SQLite: database disk image is malformed)."""


class ArchiveReadOnly(ArchiveError):
    """The archive can be read but not written (a read-only mount, no write permission)."""


class Interrupted(WorkerError):
    """Ctrl-C (SIGINT) stopped a run; what was stored before it stays stored. ``new`` counts
    the articles the interrupted command stored."""

    exit_code = 130

    def __init__(self, new: int = 0):
        self.new = new
        super().__init__(f"interrupted: {new} new articles stored; run the same command again to continue")
