"""Dates: the one parser for every date the worker reads, with the publication-date rules on top
(pure functions).

Every date comes out as ISO 8601 in the publisher's own terms, the day the paper printed:

- a time with a known zone keeps its offset: ``2017-02-23T17:18:13-08:00``; UTC (``Z``,
  ``+00:00``, ``GMT``, ``UT``) is written ``2017-02-23T17:18:13Z``; seconds are always written,
  fractions of a second dropped;
- a time without a known zone keeps only its day, ``2021-07-07`` (never a guessed zone);
- a Unix timestamp is a UTC instant;
- anything unreadable, relative ("2 hours ago"), before 1990 or in the future is None.

``parse_date`` reads one value (a meta tag, a ``datetime`` attribute, a feed's or JSON's date,
a short text); ``parse_date_text`` takes the publication date from a visible line, never the
date of an update; ``parse_date_line`` reads a plain-text header line made only of a date;
``date_from_url`` reads the date a URL path carries; ``utc_instant`` gives the UTC instant of a
parsed value, for comparisons and filters. Whole ISO 8601 values are read by the standard
library's reader (dateutil's ``isoparse`` for the few forms it refuses), RFC 822 dates by
``email.utils``, zone names such as ``ET`` by dateutil's zone database (``months.zone_of``); the
rest are the forms pages write in words.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz

from dateutil.parser import isoparse

from worker.text.months import MONTH_NAME, month_number, zone_of

_MIN_YEAR = 1990
_AHEAD = timedelta(days=2)  # a day further ahead than this is a typo or an embargo, not a publication

_ISO_VALUE = re.compile(r"\d{4}-?\d{2}-?\d{2}(?:[T ]\S+)?")  # a value that is one ISO 8601 stamp
_RFC822 = re.compile(r"\d{1,2}:\d{2}(:\d{2})?\s*([+-]\d{4}|GMT|UTC|UT|Z)\b")
_YMD_DASHED = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")
_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})\s?[/.]\s?(?P<m>\d{1,2})\s?[/.]\s?(?P<d>\d{1,2})(?!\d)")
_DMY_DOTTED = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>\d{4})(?!\d)")
_AB_Y = re.compile(r"(?<![\d/-])(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4})(?!\d)")  # day or month first
_CJK = re.compile(r"(?P<y>\d{4})\s*[年년]\s*(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일]")
_MONTH = r"(?P<mon>[^\W\d_]{3,10})\.?"
_WORDY = [
    re.compile(r"\b" + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})(?!\d)", re.I),
    re.compile(
        r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th|er|\.|º)?\s*(?:de\s+)?" + _MONTH + r",?\s+(?:de\s+)?(?P<y>\d{4})(?!\d)",
        re.I,
    ),
]
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
    r"erstellt|created|gepubliceerd|geplaatst)\b",
    re.I,
)
_UPDATED = re.compile(
    r"\b(?:(?:last\s+)?updated?|modified|aktualisiert|geändert|stand|mis\s+à\s+jour|actualizad[oa]|"
    r"aggiornat[oa]|bijgewerkt|gewijzigd|edited|revised)\b",
    re.I,
)
_RELATIVE = re.compile(
    r"\b(?:current|expir\w*|now|ago|vor|il y a|hace|fa|geleden|yesterday|today|gestern|heute|hier|ayer|hoy|"
    r"ieri|oggi)\b",
    re.I,
)
# a plain-text header line that is only a date: its dates, times and these words
_LINE_DATES = (
    re.compile(rf"\b(?P<mon>{MONTH_NAME})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{MONTH_NAME}),?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?=T|\b)"),
)
_YEAR = re.compile(r"\d{4}")  # in every one of _LINE_DATES: a line without is read no further (most lines)
_LINE_TIME = re.compile(
    r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\.\d+)?\s*"
    r"(?P<ampm>[ap]\.?\s?m\b\.?)?\s*\(?(?P<tz>Z\b|UTC\b|GMT\b|[ECMP][SD]?T\b|BST\b|CES?T\b|[+-]\d{2}:?\d{2}\b)?\)?",
    re.I,
)
_LINE_FILLER = re.compile(
    r"\b(?:published|updated|posted|last|modified|on|at|T|"
    r"(?:mon|tues?|wednes|thu(?:rs)?|fri|satur|sun)(?:day)?|wed|thur|sat)\b\.?|[\s|·•,:;()\-–—/]+",
    re.I,
)


def _valid_day(y: int, m: int, d: int) -> date | None:
    try:
        day = date(y, m, d)
    except ValueError:
        return None
    if y < _MIN_YEAR or day > date.today() + _AHEAD:
        return None
    return day


def _written(moment: datetime) -> str:
    """An aware datetime as ISO 8601 with its own offset (``Z`` for UTC), to the second."""
    offset = moment.utcoffset()
    if offset is None:
        return moment.date().isoformat()
    local = moment.replace(microsecond=0, tzinfo=None).isoformat()
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return local + "Z"
    return f"{local}{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _iso(day: date, hh: int = 0, mm: int = 0, ss: int = 0, tz: tzinfo | None = None) -> str:
    if tz is None:
        return day.isoformat()
    try:
        return _written(datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=tz))
    except ValueError:
        return day.isoformat()


def _timestamp(seconds: float) -> str | None:
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return _written(moment) if _valid_day(moment.year, moment.month, moment.day) else None


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
            named = month_number(m["mon"])
            if named:
                offer(_valid_day(int(m["y"]), named, int(m["d"])), m)
                break
    return best


def _whole_iso(text: str) -> tuple[bool, str | None]:
    """(True, result) when the text is one ISO 8601 stamp; (False, None) when it is not."""
    if not _ISO_VALUE.fullmatch(text):
        return False, None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = isoparse(text)  # the forms the standard library refuses: "...z", "T24:00"
        except (ValueError, OverflowError):
            return False, None
    if _valid_day(moment.year, moment.month, moment.day) is None:
        return True, None
    return True, _written(moment) if moment.tzinfo is not None else moment.date().isoformat()


def parse_date(value: str | int | float | None) -> str | None:
    """ISO 8601 from one date value (see the module's rules); a number is a Unix timestamp."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _timestamp(value / 1000 if abs(value) >= 1e11 else value)  # 1e11 s is the year 5138: milliseconds
    if not isinstance(value, str):
        return None
    text = value.strip()[:160]
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):  # a Unix timestamp, in seconds or milliseconds
        return _timestamp(int(text) // (1000 if len(text) == 13 else 1))
    whole, result = _whole_iso(text)
    if whole:
        return result
    if _RFC822.search(text):
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
        return parse_date(text[pub.end() :])
    upd = _UPDATED.search(text)
    found = _day_in(text)
    if found is None:
        return None if upd or _RELATIVE.search(text) else parse_date(text)
    if upd and upd.start() < found[1]:
        rest = text[found[2] :]  # "Updated 4 March ... 3 March": the other date, when one is left
        nxt = _UPDATED.search(rest)
        return parse_date(rest[: nxt.start()] if nxt else rest) if _day_in(rest) else None
    if _RELATIVE.search(text[: found[1]]):
        return None
    return parse_date(text[: upd.start()] if upd and upd.start() > found[2] else text)


def parse_date_line(line: str) -> str | None:
    """The published date of a plain-text header line made only of dates, times and words like
    "Published" (``July 7, 2021``, ``Published 7 July 2021 Updated July 8, 2021``,
    ``July 7, 2021, 10:30 a.m. ET``); None when the line is anything else."""
    if len(line) > 120 or not _YEAR.search(line) or not any(rx.search(line) for rx in _LINE_DATES):
        return None
    rest = line
    for rx in _LINE_DATES:
        rest = rx.sub(" ", rest)
    if re.search(r"\w", _LINE_FILLER.sub(" ", _LINE_TIME.sub(" ", rest))):
        return None
    return parse_date(line)


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


def utc_instant(iso: str | None) -> str | None:
    """The UTC instant ``YYYY-MM-DDTHH:MM:SSZ`` of a value with an offset (as ``parse_date``
    writes it), the day itself for a day-only value, None for None or an unreadable value (a
    time without a zone has no instant)."""
    if not iso or not isinstance(iso, str):
        return None
    try:
        if len(iso) == 10:
            return date.fromisoformat(iso).isoformat()
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
