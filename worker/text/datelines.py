"""Datelines: the place (and agency, and day) an article's text opens with (pure functions).

``WASHINGTON —``, ``KABUL, Afghanistan —``, ``NEW YORK (Reuters) -``,
``WASHINGTON, March 3 (AP) —``, ``PORTSMOUTH, England, March 3 —``: the place is the city in
capitals with an optional region after a comma; a day (month name and number, perhaps a year)
and the agency in parentheses may follow before the dash. The plain-text cleaner, the HTML
cleaner and feed or JSON fragments all read datelines here and remove them from the body.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from worker.text.months import month_number

_CAPS = r"[A-ZÀ-Ý][A-ZÀ-Ý.'’-]*"
_WORD = r"[A-ZÀ-Ý][\w.'’-]*"
_DAY = r"[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?"  # "March 3", "Aug. 13, 2010"
_DATELINE = re.compile(
    rf"(?P<place>(?P<city>{_CAPS}(?:\s{_CAPS}){{0,3}})(?:,\s*{_WORD}(?:\s{_WORD}){{0,2}})?)"
    rf"(?:,\s*(?P<day>{_DAY}))?"
    r"\s*(?:\((?P<paren>[^()]{1,40})\)\s*)?[—–-]{1,2}(?:\s+|$)"
)
_SCAN = 160  # characters at the start of a text where a dateline may end
# words in capitals that open a text before a dash without being a place: labels, and outlets
# that stand where a place would ("CNN — ...")
_NOT_PLACES = frozenset(
    "ANALYSIS BREAKING CORRECTION EDITOR'S EXCLUSIVE LIVE NOTE OPINION PHOTOS REVIEW UPDATE UPDATED VIDEO WATCH "
    "ABC AFP BBC CBS CNN DPA NBC NPR REUTERS UPI".split()
)


class Dateline(NamedTuple):
    place: str  # "WASHINGTON", "PORTSMOUTH, England"
    agency: str | None  # "AP", "Reuters"
    end: int  # where the text after the dateline starts


def find_dateline(text: str) -> Dateline | None:
    """The dateline the text opens with, or None."""
    m = _DATELINE.match(text[:_SCAN])
    if m is None or not _is_place(m["city"]) or (m["day"] and not _is_day(m["day"])):
        return None
    agency = m["paren"] if m["paren"] and not _is_day(m["paren"]) else None  # "(Aug. 13)" is a day
    return Dateline(m["place"].strip(), agency, m.end())


def strip_dateline(text: str) -> tuple[Dateline | None, str]:
    """The text's dateline and the text without it (None and the text when it opens with none)."""
    found = find_dateline(text)
    if found is None:
        return None, text
    return found, text[found.end :].lstrip()


def _is_day(text: str) -> bool:
    """A month's name and a day of it ("March 3", "Aug. 13, 2010")."""
    if not re.fullmatch(_DAY, text.strip()):
        return False
    month, day = text.split()[:2]
    return month_number(month) is not None and 1 <= int(day.rstrip(",")) <= 31


def _is_place(city: str) -> bool:
    """A city in capitals ("KABUL", "NEW YORK") of three letters or more, not a label ("UPDATE")."""
    return sum(c.isalpha() for c in city) >= 3 and city.upper() == city and city not in _NOT_PLACES
