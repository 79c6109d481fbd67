"""Date lines in a plain-text article's header: ``July 7, 2021``, ``Published 7 July 2021
Updated July 8, 2021``, ``2021-07-07``, ``July 7, 2021, 10:30 a.m. ET`` (pure functions)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo

from worker.timefmt import iso_z

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
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
_TIME_AFTER = re.compile(r"T|,?\s*(?:at\s+)?")
_FILLER = re.compile(
    r"\b(?:published|updated|posted|last|modified|on|at|T|"
    r"(?:mon|tues?|wednes|thu(?:rs)?|fri|satur|sun)(?:day)?|wed|thur|sat)\b\.?|[\s|·•,:;()\-–—/]+",
    re.I,
)
_FIXED = {"Z": 0, "UTC": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
          "MDT": -6, "PST": -8, "PDT": -7, "BST": 1, "CET": 1, "CEST": 2}  # fmt: skip
_REGIONAL = {"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles"}


def _first_date(line: str) -> tuple[date, int] | None:
    best: tuple[int, date, int] | None = None
    for rx in _DATES:
        for m in rx.finditer(line):
            g = m.groupdict()
            month = int(g["m"]) if g.get("m") else _MONTHS[g["mon"][:3].lower()]
            try:
                d = date(int(g["y"]), month, int(g["d"]))
            except ValueError:
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), d, m.end())
            break
    return None if best is None else (best[1], best[2])


def _zone(name: str, day: date) -> tzinfo | None:
    name = name.upper()
    if name in _FIXED:
        return timezone(timedelta(hours=_FIXED[name]))
    if name in _REGIONAL:
        try:
            from zoneinfo import ZoneInfo

            return ZoneInfo(_REGIONAL[name])
        except Exception:  # no tz database: keep the date only
            return None
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if m and int(m[2]) < 24 and int(m[3]) < 60:
        sign = -1 if m[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(m[2]), minutes=int(m[3])))
    return None


def _with_time(day: date, m: re.Match[str]) -> str | None:
    """Full ISO 8601 UTC when the time has a usable zone, else None."""
    hour, minute, second = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ampm"][0].lower() == "p" else 0)
    if not m["tz"] or hour > 23 or minute > 59 or second > 59:
        return None
    tz = _zone(m["tz"], day)
    if tz is None:
        return None
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)
    return iso_z(local)


def parse_date_line(line: str) -> str | None:
    """The published date of a header line made only of dates, times and words like "Published".

    ISO date (``2021-07-07``) when no time is given, ISO 8601 UTC (``2021-07-07T14:30:00Z``)
    when a time with a zone follows the first date; None when the line is anything else.
    """
    if len(line) > 120:
        return None
    found = _first_date(line)
    if found is None:
        return None
    rest = line
    for rx in _DATES:
        rest = rx.sub(" ", rest)
    rest = _FILLER.sub(" ", _TIME.sub(" ", rest))
    if re.search(r"\w", rest):
        return None
    day, end = found
    after = _TIME_AFTER.match(line, end)
    timed = _TIME.match(line, after.end()) if after else None
    if timed and timed.group(0).strip():
        full = _with_time(day, timed)
        if full:
            return full
    return day.isoformat()
