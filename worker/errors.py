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


class ParseError(WorkerError):
    """Input that cannot be turned into an article (empty, binary, not an article)."""


class ArchiveError(WorkerError):
    """The archive cannot be opened or written (locked, wrong schema version, disk full)."""
