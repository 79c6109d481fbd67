"""Plain-text articles copied from a news page (placeholder; see issue 2)."""

from __future__ import annotations

from worker.errors import ParseError
from worker.models import Article, Hints


def clean_text(text: str | bytes, *, hints: Hints | None = None, source: str | None = None) -> Article:
    raise ParseError("not implemented")
