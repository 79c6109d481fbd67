"""Date lines in a plain-text article's header: ``July 7, 2021``, ``Published 7 July 2021
Updated July 8, 2021``, ``2021-07-07``, ``July 7, 2021, 10:30 a.m. ET`` (pure functions):
which lines are date lines; their values come from ``worker.clean.dates``."""

from __future__ import annotations

import re

from worker.clean.dates import parse_date

_MON = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATES = (
    re.compile(rf"\b(?P<mon>{_MON})\s+(?P<d>\d{{1,2}}){_ORD},?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}}){_ORD}\s+(?P<mon>{_MON}),?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?=T|\b)"),
)
_TIME = re.compile(
    r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\.\d+)?\s*"
    r"(?P<ampm>[ap]\.?\s?m\b\.?)?\s*\(?(?P<tz>Z\b|UTC\b|GMT\b|[ECMP][SD]?T\b|BST\b|CES?T\b|[+-]\d{2}:?\d{2}\b)?\)?",
    re.I,
)
_FILLER = re.compile(
    r"\b(?:published|updated|posted|last|modified|on|at|T|"
    r"(?:mon|tues?|wednes|thu(?:rs)?|fri|satur|sun)(?:day)?|wed|thur|sat)\b\.?|[\s|·•,:;()\-–—/]+",
    re.I,
)


def parse_date_line(line: str) -> str | None:
    """The published date of a header line made only of dates, times and words like "Published".

    ISO date (``2021-07-07``) when no time is given, ISO 8601 UTC (``2021-07-07T14:30:00Z``)
    when a time with a zone follows the first date (read by the HTML cleaner's date parser, the
    one for the whole project); None when the line is anything else.
    """
    if len(line) > 120 or not any(rx.search(line) for rx in _DATES):
        return None
    rest = line
    for rx in _DATES:
        rest = rx.sub(" ", rest)
    if re.search(r"\w", _FILLER.sub(" ", _TIME.sub(" ", rest))):
        return None
    return parse_date(line)
