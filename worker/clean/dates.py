"""Publication dates: parse the forms pages use into ISO 8601 (pure functions).

A date with a known zone becomes UTC ``YYYY-MM-DDTHH:MM:SS+00:00``; a date whose
time or zone is unknown becomes ``YYYY-MM-DD``; anything unreadable is None.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_tz

_MIN_YEAR = 1990

_ISO = re.compile(
    r"(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2}))?(?:[.,]\d+)?"
    r"\s*(?P<z>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2}(?!\d))?)?"
)
_SLASHED = re.compile(r"\b(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})\b")
_DOTTED = re.compile(r"\b(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>\d{4})\b")
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            "january jan januar janvier enero gennaio jänner",
            "february feb februar février fevrier febrero febbraio",
            "march mar märz maerz mars marzo",
            "april apr avril abril aprile",
            "may mai mayo maggio",
            "june jun juni juin junio giugno",
            "july jul juli juillet julio luglio",
            "august aug août aout agosto",
            "september sep sept septembre septiembre settembre",
            "october oct oktober octobre octubre ottobre okt",
            "november nov novembre noviembre",
            "december dec dezember décembre decembre diciembre dicembre dez",
        ]
    )
    for name in names.split()
}
_MONTH = r"(?P<mon>[^\W\d_]{3,10})\.?"
_WORDY = [
    re.compile(_MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})", re.I),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th|\.)?\s+(?:de\s+)?" + _MONTH + r"\s+(?:de\s+)?(?P<y>\d{4})", re.I),
]
_URL_DATE = [
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>[01]?\d)/(?P<d>[0-3]?\d)(?:/|$|[-_])"),
    re.compile(r"[/_-](?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?:[/_.-]|$)"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:/|$|[-_])"),
]


def _valid_day(y: int, m: int, d: int) -> date | None:
    try:
        day = date(y, m, d)
    except ValueError:
        return None
    if y < _MIN_YEAR or day > date.today() + timedelta(days=2):
        return None
    return day


def _zone(z: str | None) -> timezone | None:
    if not z:
        return None
    if z in ("Z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if z[0] == "-" else 1
    digits = z[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _utc(y: int, m: int, d: int, hh: int, mm: int, ss: int, tz: timezone | None) -> str | None:
    if _valid_day(y, m, d) is None:
        return None
    if tz is None:
        return f"{y:04d}-{m:02d}-{d:02d}"
    try:
        moment = datetime(y, m, d, hh, mm, ss, tzinfo=tz).astimezone(timezone.utc)
    except ValueError:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_date(text: str | None) -> str | None:
    """ISO 8601 (UTC when a zone is known, else date only) from the date forms pages use."""
    if not text:
        return None
    text = text.strip()[:120]
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):  # a Unix timestamp
        seconds = int(text) // (1000 if len(text) == 13 else 1)
        moment = datetime.fromtimestamp(seconds, timezone.utc)
        if _valid_day(moment.year, moment.month, moment.day) is None:
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    m = _ISO.search(text)
    if m and (m.start() == 0 or not text[m.start() - 1].isdigit()):
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
        if m["H"] is not None:
            hh, mm, ss = int(m["H"]), int(m["M"]), int(m["S"] or 0)
            if hh < 24 and mm < 60 and ss < 60:
                return _utc(y, mo, d, hh, mm, ss, _zone(m["z"]))
        return _utc(y, mo, d, 0, 0, 0, None)
    if re.search(r"\d{1,2}:\d{2}(:\d{2})?\s*([+-]\d{4}|GMT|UTC|Z)\b", text):
        parts = parsedate_tz(text)
        if parts and parts[9] is not None:
            y, mo, d, hh, mm, ss = parts[:6]
            return _utc(y, mo, d, hh, mm, ss, timezone(timedelta(seconds=parts[9])))
    for rx in (_SLASHED, _DOTTED):
        if m := rx.search(text):
            return _utc(int(m["y"]), int(m["m"]), int(m["d"]), 0, 0, 0, None)
    for rx in _WORDY:
        for m in rx.finditer(text):
            month = _MONTHS.get(m["mon"].lower().rstrip("."))
            if month:
                return _utc(int(m["y"]), month, int(m["d"]), 0, 0, 0, None)
    return None


def date_from_url(url: str | None) -> str | None:
    """The date a URL path carries (``/2020/01/20/``, ``-2020-01-20``, ``/20200120/``), date only."""
    if not url:
        return None
    for rx in _URL_DATE:
        if m := rx.search(url):
            day = _valid_day(int(m["y"]), int(m["m"]), int(m["d"]))
            if day is not None:
                return day.isoformat()
    return None
