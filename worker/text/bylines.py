"""The byline format, one for every source: names joined as English prose (pure functions).

``Ana Ruiz``, ``Ana Ruiz and John Smith``, ``Anna Weber, Tomasz Nowak and Ilse Brandt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from worker.text.lines import clean_line

_SEPARATORS = re.compile(r"\s*[,;]\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+", re.I)


def split_names(text: str) -> list[str]:
    """The names of a byline written as a list ("A, B and C", "A & B", "A; B, and C"), each of
    them a full name (two words or more); otherwise the text as one name, so that "Smith, John"
    or "Simon & Schuster" stay whole."""
    text = clean_line(text)
    parts = [p for p in _SEPARATORS.split(text) if p]
    if len(parts) > 1 and all(len(p.split()) >= 2 for p in parts):
        return parts
    return [text] if text else []


def format_byline(names: str | Iterable[str] | None) -> str | None:
    """Names as English prose ("A", "A and B", "A, B and C"); None when there is none.

    Each name is cleaned (``clean_line``); a name that is itself a list of names is split
    (``split_names``), and a name given twice (in any case) is written once, so a byline
    formatted here reads the same when it is formatted again.
    """
    if not names:
        return None
    found: list[str] = []
    seen: set[str] = set()
    for name in [names] if isinstance(names, str) else names:
        for part in split_names(name) if isinstance(name, str) else []:
            if part.casefold() not in seen:
                seen.add(part.casefold())
                found.append(part)
    if len(found) <= 1:
        return found[0] if found else None
    return ", ".join(found[:-1]) + " and " + found[-1]


_JOINERS = re.compile(r", | and ")


def byline_names(byline: str | None) -> list[str]:
    """The names a byline in ``format_byline``'s form joins: the parts between ", " and " and "."""
    return [n for n in _JOINERS.split(byline or "") if n.strip()]
