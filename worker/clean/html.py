"""HTML article pages (placeholder; see issues 2 and 4)."""

from __future__ import annotations

from worker.models import Article, Hints


def clean_html(html: str | bytes, url: str | None = None, *, hints: Hints | None = None) -> Article | None:
    return None
