"""Publication dates: parse the forms pages use into ISO 8601 (pure functions).

A date whose time has a known zone becomes UTC ``YYYY-MM-DDTHH:MM:SSZ``; a date whose
time or zone is unknown becomes ``YYYY-MM-DD`` (the page's local day, never a guessed
zone); anything unreadable, relative ("2 hours ago") or in the future is None.

``parse_date`` reads one value (a meta tag, a ``datetime`` attribute, a short text);
``parse_date_text`` reads a visible line and takes the publication date from it, never
the date of an update.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz

from worker.timefmt import iso_z

_MIN_YEAR = 1990

_ISO = re.compile(
    r"(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2}))?(?:[.,]\d+)?"
    r"\s*(?P<z>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2}(?!\d))?)?"
)
_YMD_DASHED = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")
_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})\s?[/.]\s?(?P<m>\d{1,2})\s?[/.]\s?(?P<d>\d{1,2})(?!\d)")
_DMY_DOTTED = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>\d{4})(?!\d)")
_AB_Y = re.compile(r"(?<![\d/-])(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4})(?!\d)")  # day or month first
_CJK = re.compile(r"(?P<y>\d{4})\s*[年년]\s*(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일]")
_MONTHS = {
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
_MONTH = r"(?P<mon>[^\W\d_]{3,10})\.?"
_WORDY = [
    re.compile(r"\b" + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})(?!\d)", re.I),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th|er|\.|º)?\s*(?:de\s+)?" + _MONTH + r",?\s+(?:de\s+)?(?P<y>\d{4})(?!\d)",
               re.I),
]
_ZONE_HOURS = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "BST": 1, "CET": 1, "MEZ": 1, "WEST": 1, "CEST": 2, "MESZ": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
    "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "NZST": 12,
    "NZDT": 13,
}  # fmt: skip
_REGIONAL = {"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles"}
_ZONE = r"(?:[A-Z]{1,4}T|UTC|GMT|UT|Z|MEZ|MESZ|MSK)(?:\s?[+-]\d{1,2}(?::?\d{2})?)?|[+-]\d{2}:?\d{2}"
_TIME = re.compile(
    r"(?<![\d:.])(?P<H>\d{1,2})(?:[:h]|\.(?=\d{2}\s*(?:[ap]\.?m|uhr|h\b|GMT|BST|UTC|CES?T|[ECMP][SD]T)))(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\.\d+)?"
    r"\s*(?P<ampm>[ap]\.?\s?m\b\.?)?\s*(?:uhr|h\b)?\s*\(?(?P<z>" + _ZONE + r")?\)?(?![\w:])",
    re.I,
)
_NEAR = 40  # characters between a date and the time that belongs to it
_URL_DATE = [
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>[01]?\d)/(?P<d>[0-3]?\d)(?:/|$|[-_.])"),
    re.compile(r"[/_-](?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?:[/_.-]|$)"),
    re.compile(r"[/_-](?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:[/_.-]|$)"),
]
_PUBLISHED = re.compile(
    r"\b(?:(?:first\s+)?published|posted|publi(?:é|e|cado|cada|cato|ziert)|pubblicato|veröffentlicht|erschienen|"
    r"erstellt|created|gepubliceerd|geplaatst)\b", re.I)
_UPDATED = re.compile(
    r"\b(?:(?:last\s+)?updated?|modified|aktualisiert|geändert|stand|mis\s+à\s+jour|actualizad[oa]|"
    r"aggiornat[oa]|bijgewerkt|gewijzigd|edited|revised)\b", re.I)
_RELATIVE = re.compile(r"\b(?:current|expir\w*|now|ago|vor|il y a|hace|fa|geleden|yesterday|today|gestern|heute|hier|ayer|hoy|ieri|oggi)\b",
                       re.I)


def _valid_day(y: int, m: int, d: int) -> date | None:
    try:
        day = date(y, m, d)
    except ValueError:
        return None
    if y < _MIN_YEAR or day > date.today() + timedelta(days=2):
        return None
    return day


def zone_of(name: str | None) -> tzinfo | None:
    """A zone from ``Z``, ``+01:00``, ``GMT+2``, ``EST``, ``CEST`` or ``ET``; None when unknown."""
    if not name:
        return None
    name = name.strip().upper()
    m = re.fullmatch(r"([A-Z]*)\s?([+-])(\d{1,2}):?(\d{2})?", name)
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
        try:
            from zoneinfo import ZoneInfo

            return ZoneInfo(_REGIONAL[name])
        except Exception:  # no zone database here: the day only
            return None
    return None


def _iso(day: date, hh: int = 0, mm: int = 0, ss: int = 0, tz: tzinfo | None = None) -> str:
    if tz is None:
        return day.isoformat()
    try:
        return iso_z(datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=tz))
    except ValueError:
        return day.isoformat()


def _timed(day: date, text: str, start: int, end: int) -> str:
    """The day with the zoned time written just after (or just before) it, else the day alone."""
    after = _TIME.search(text, end, min(len(text), end + _NEAR))
    before = None
    if after is None or not after["z"]:
        candidates = list(_TIME.finditer(text, max(0, start - _NEAR), start))
        before = candidates[-1] if candidates else None
    for m in (after, before):
        if m is None or not m["z"]:
            continue
        hh, mm, ss = int(m["H"]), int(m["M"]), int(m["S"] or 0)
        if m["ampm"]:
            if not 1 <= hh <= 12:
                continue
            hh = hh % 12 + (12 if m["ampm"][0].lower() == "p" else 0)
        if hh < 24 and mm < 60 and ss < 60 and (tz := zone_of(m["z"])) is not None:
            return _iso(day, hh, mm, ss, tz)
    return day.isoformat()


def _day_in(text: str) -> tuple[date, int, int] | None:
    """The earliest readable calendar day written in the text, with its span."""
    best: tuple[date, int, int] | None = None

    def offer(day: date | None, m: re.Match) -> None:
        nonlocal best
        if day is not None and (best is None or m.start() < best[1]):
            best = (day, m.start(), m.end())

    for rx in (_YMD_DASHED, _YMD, _DMY_DOTTED, _CJK):
        if m := rx.search(text):
            offer(_valid_day(int(m["y"]), int(m["m"]), int(m["d"])), m)
    if m := _AB_Y.search(text):
        a, b = int(m["a"]), int(m["b"])
        if a == b or a > 12 or b > 12:  # only when day and month cannot be mistaken for each other
            day, month = (a, b) if a > 12 or a == b else (b, a)
            offer(_valid_day(int(m["y"]), month, day), m)
    for rx in _WORDY:
        for m in rx.finditer(text):
            month = _MONTHS.get(m["mon"].lower())
            if month:
                offer(_valid_day(int(m["y"]), month, int(m["d"])), m)
                break
    return best


def parse_date(text: str | None) -> str | None:
    """ISO 8601 (UTC when a zone is known, else the day only) from one date value."""
    if not text or not isinstance(text, str):
        return None
    text = text.strip()[:160]
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):  # a Unix timestamp
        seconds = int(text) // (1000 if len(text) == 13 else 1)
        moment = datetime.fromtimestamp(seconds, timezone.utc)
        return iso_z(moment) if _valid_day(moment.year, moment.month, moment.day) else None
    m = _ISO.search(text)
    if m and (m.start() == 0 or not text[m.start() - 1].isdigit()) and not text[m.end():m.end() + 1].isdigit():
        day = _valid_day(int(m["y"]), int(m["m"]), int(m["d"]))
        if day is None:
            return None
        if m["H"] is not None:
            hh, mm, ss = int(m["H"]), int(m["M"]), int(m["S"] or 0)
            if hh < 24 and mm < 60 and ss < 60:
                if m["z"]:
                    return _iso(day, hh, mm, ss, zone_of(m["z"]))
                return _timed(day, text, m.start(), m.start() + 10)  # "2021-03-03 14:05 EST"
        return day.isoformat()
    if re.search(r"\d{1,2}:\d{2}(:\d{2})?\s*([+-]\d{4}|GMT|UTC|UT|Z)\b", text):
        parts = parsedate_tz(text)
        if parts and parts[9] is not None and (day := _valid_day(*parts[:3])):
            return _iso(day, *parts[3:6], timezone(timedelta(seconds=parts[9])))
    found = _day_in(text)
    if found is None:
        return None
    return _timed(found[0], text, found[1], found[2])


def parse_date_text(text: str | None) -> str | None:
    """The publication date a visible line states ("Published 3 March 2021 | Updated ...").

    A line that only says when something was updated gives None, and so does a relative
    one ("2 hours ago"): neither is a publication date.
    """
    if not text:
        return None
    text = " ".join(text.split())[:200]
    if pub := _PUBLISHED.search(text):
        return parse_date(text[pub.end():])
    upd = _UPDATED.search(text)
    found = _day_in(text)
    if found is None:
        return None if upd or _RELATIVE.search(text) else parse_date(text)
    if upd and upd.start() < found[1]:
        rest = text[found[2]:]  # "Updated 4 March ... 3 March": the other date, when one is left
        nxt = _UPDATED.search(rest)
        return parse_date(rest[:nxt.start()] if nxt else rest) if _day_in(rest) else None
    if _RELATIVE.search(text[:found[1]]):
        return None
    return parse_date(text[:upd.start()] if upd and upd.start() > found[2] else text)


def date_from_url(url: str | None) -> str | None:
    """The date a URL path carries (``/2020/01/20/``, ``-2020-01-20``, ``/20200120/``), date only."""
    if not url:
        return None
    for rx in _URL_DATE:
        for m in rx.finditer(url):
            day = _valid_day(int(m["y"]), int(m["m"]), int(m["d"]))
            if day is not None:
                return day.isoformat()
    return None
