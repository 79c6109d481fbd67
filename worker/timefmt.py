"""The archive's one timestamp format: ISO 8601 in UTC with a ``Z``, to the second."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any


def iso_z(dt: datetime) -> str:
    """An aware datetime as ``2021-07-07T14:30:00Z``; a naive one is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> str:
    return iso_z(datetime.now(timezone.utc))


def iso_utc(value: Any) -> str | None:
    """A date as found in JSON and sitemaps (ISO 8601, RFC 822 or a Unix timestamp) as
    ISO 8601 UTC, or a plain date when only a date is given; None if unreadable."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            dt = datetime.fromtimestamp(value, timezone.utc)
        elif isinstance(value, str):
            text = value.strip()
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                dt = parsedate_to_datetime(text)
            if dt.tzinfo is None:
                if len(text) <= 10:
                    return dt.date().isoformat()
                return iso_z(dt)  # no zone given: taken as UTC
        else:
            return None
    except (ValueError, TypeError, OverflowError, OSError):
        return None
    return iso_z(dt)
