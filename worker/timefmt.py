"""The archive's own timestamps (first seen, runs, state): ISO 8601 in UTC with a ``Z``, to the
second. Dates read from articles come from ``worker.text.dates``."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(dt: datetime) -> str:
    """An aware datetime as ``2021-07-07T14:30:00Z``; a naive one is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> str:
    return iso_z(datetime.now(UTC))
