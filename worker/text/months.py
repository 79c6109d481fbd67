"""Month names and time-zone names, once for the whole project (pure functions).

``MONTHS`` is the one month-name table (English, German, French, Spanish, Italian, Dutch,
Portuguese and Scandinavian names and their abbreviations); ``MONTH_NAME`` is a regular
expression for any of them. ``zone_of`` reads the zone written after a time.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo

from dateutil import tz

MONTHS: dict[str, int] = {
    name: i + 1
    for i, names in enumerate(
        [
            "january jan januar janv janvier enero ene gennaio gen jänner januari janeiro",
            "february feb febr februar février févr fevrier febrero febbraio februari fevereiro",
            "march mar märz maerz mrz mars marzo maart março marco",
            "april apr avril avr abril aprile",
            "may mai mayo maggio mag mei maio maj",
            "june jun juni juin junio giugno giu junho",
            "july jul juli juillet juil julio luglio lug julho",
            "august aug august août aout agosto ago augustus augusti",
            "september sep sept septembre septiembre settembre set setembro",
            "october oct oktober okt octobre octubre ottobre ott outubro",
            "november nov novembre noviembre novembro",
            "december dec dezember dez décembre déc decembre diciembre dic dicembre dezembro",
        ]
    )
    for name in names.split()
}
# any month name, longest first so that "sept" is not read as "sep" (match with re.I)
MONTH_NAME = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

_ZONE_HOURS = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "BST": 1, "CET": 1, "MEZ": 1, "WEST": 1, "CEST": 2, "MESZ": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
    "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "NZST": 12,
    "NZDT": 13,
}  # fmt: skip
# US zones written without standard/daylight ("10:30 a.m. ET"): the offset depends on the date
_REGIONAL = {"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles"}
_OFFSET = re.compile(r"([A-Z]*)\s?([+-])(\d{1,2}):?(\d{2})?")


def month_number(name: str) -> int | None:
    """1-12 for a month name or abbreviation of ``MONTHS`` (any case, a final dot allowed)."""
    return MONTHS.get(name.lower().rstrip("."))


def zone_of(name: str | None) -> tzinfo | None:
    """A zone from ``Z``, ``+01:00``, ``GMT+2``, ``EST``, ``CEST`` or ``ET``; None when unknown."""
    if not name:
        return None
    name = name.strip().upper()
    m = _OFFSET.fullmatch(name)
    if m:
        if m[1] not in ("", "UTC", "GMT", "UT"):
            return None
        hours, minutes = int(m[3]), int(m[4] or 0)
        if hours > 14 or minutes > 59:
            return None
        return timezone((-1 if m[2] == "-" else 1) * timedelta(hours=hours, minutes=minutes))
    if name in _ZONE_HOURS:
        return timezone(timedelta(hours=_ZONE_HOURS[name]))
    if name in _REGIONAL:
        return tz.gettz(_REGIONAL[name])  # the system's zone database, else the one tzdata ships
    return None
