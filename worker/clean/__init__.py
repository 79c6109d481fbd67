"""The cleaner: bytes or text in, one normalized ``Article`` out (pure functions)."""

from worker.clean.html import clean_html
from worker.clean.text import clean_text

__all__ = ["clean_html", "clean_text"]
