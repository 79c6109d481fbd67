"""The one date parser (worker.text.dates): the forms sources write, the publisher's offset kept,
the publication-date rules, and the UTC instant beside it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.text.dates import date_from_url, parse_date, parse_date_line, parse_date_text, utc_instant


@pytest.mark.parametrize(
    "raw, iso, instant",
    [
        # the publisher's offset is kept; UTC is written Z; seconds always, fractions dropped
        ("2017-02-23T17:18:13-08:00", "2017-02-23T17:18:13-08:00", "2017-02-24T01:18:13Z"),
        ("2021-03-03T14:05:00+01:00", "2021-03-03T14:05:00+01:00", "2021-03-03T13:05:00Z"),
        ("2021-03-03T14:05:00Z", "2021-03-03T14:05:00Z", "2021-03-03T14:05:00Z"),
        ("2021-03-03T14:05:00+00:00", "2021-03-03T14:05:00Z", "2021-03-03T14:05:00Z"),
        ("2021-03-03T14:05+01:00", "2021-03-03T14:05:00+01:00", "2021-03-03T13:05:00Z"),
        ("2020-01-20T10:30:00.123+01:00", "2020-01-20T10:30:00+01:00", "2020-01-20T09:30:00Z"),
        ("2020-01-20T23:30:00-05:00", "2020-01-20T23:30:00-05:00", "2020-01-21T04:30:00Z"),
        ("20200120T103000+0100", "2020-01-20T10:30:00+01:00", "2020-01-20T09:30:00Z"),
        ("2021-03-03T14:05:00+05:30", "2021-03-03T14:05:00+05:30", "2021-03-03T08:35:00Z"),
        # no zone: the local day, never a guessed zone
        ("2021-03-03T14:05:00", "2021-03-03", "2021-03-03"),
        ("2020-01-20 10:30:00", "2020-01-20", "2020-01-20"),
        ("2020-01-20", "2020-01-20", "2020-01-20"),
        # zones written as names, RFC 822
        ("2021-03-03 14:05 EST", "2021-03-03T14:05:00-05:00", "2021-03-03T19:05:00Z"),
        ("March 3, 2021 at 2:05 pm EST", "2021-03-03T14:05:00-05:00", "2021-03-03T19:05:00Z"),
        ("Mar. 3, 2021 11:00 p.m. PST", "2021-03-03T23:00:00-08:00", "2021-03-04T07:00:00Z"),
        ("Wednesday 3 March 2021 14.05 GMT", "2021-03-03T14:05:00Z", "2021-03-03T14:05:00Z"),
        ("3 March 2021 14:05 CEST", "2021-03-03T14:05:00+02:00", "2021-03-03T12:05:00Z"),
        ("12 Aug 2020 | 09:15 BST", "2020-08-12T09:15:00+01:00", "2020-08-12T08:15:00Z"),
        ("Tue, 14 Sep 2021 16:20:00 -0400", "2021-09-14T16:20:00-04:00", "2021-09-14T20:20:00Z"),
        ("Mon, 20 Jan 2020 10:00:00 GMT", "2020-01-20T10:00:00Z", "2020-01-20T10:00:00Z"),
        ("Mon, 20 Jan 2020 10:00:00 UT", "2020-01-20T10:00:00Z", "2020-01-20T10:00:00Z"),
        ("July 7, 2021, 10:30 a.m. ET", "2021-07-07T10:30:00-04:00", "2021-07-07T14:30:00Z"),  # summer time
        ("January 7, 2021, 10:30 a.m. ET", "2021-01-07T10:30:00-05:00", "2021-01-07T15:30:00Z"),
        # a Unix timestamp is a UTC instant
        ("1579513800", "2020-01-20T09:50:00Z", "2020-01-20T09:50:00Z"),
        ("1579513800000", "2020-01-20T09:50:00Z", "2020-01-20T09:50:00Z"),
        # days in words and numbers, in several languages
        ("Updated: 03.03.2021, 14:05", "2021-03-03", "2021-03-03"),
        ("3. März 2021", "2021-03-03", "2021-03-03"),
        ("le 3 mars 2021 à 14h05", "2021-03-03", "2021-03-03"),
        ("3 de marzo de 2021", "2021-03-03", "2021-03-03"),
        ("3 marzo 2021", "2021-03-03", "2021-03-03"),
        ("3 maart 2021", "2021-03-03", "2021-03-03"),
        ("January 20, 2020", "2020-01-20", "2020-01-20"),
        ("20. Januar 2020", "2020-01-20", "2020-01-20"),
        ("20.01.2020", "2020-01-20", "2020-01-20"),
        ("2021/03/03", "2021-03-03", "2021-03-03"),
        ("2021年3月3日", "2021-03-03", "2021-03-03"),
        ("13/01/2020", "2020-01-13", "2020-01-13"),
        ("01/13/2020", "2020-01-13", "2020-01-13"),
        # refused: ambiguous, relative, impossible, too old, in the future, no day
        ("03/01/2020", None, None),
        ("2 hours ago", None, None),
        ("vor 2 Stunden", None, None),
        ("yesterday", None, None),
        ("2020-02-30", None, None),
        ("1850-01-01", None, None),
        ("2999-01-01", None, None),
        ("2999-01-01T10:00:00Z", None, None),
        ("March 2021", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_date(raw, iso, instant):
    assert parse_date(raw) == iso
    assert utc_instant(iso) == instant


def test_json_values():
    assert parse_date(1579513800) == parse_date(1579513800.9) == parse_date(1579513800000) == "2020-01-20T09:50:00Z"
    assert parse_date(True) is None and parse_date(["2020-01-20"]) is None  # type: ignore[arg-type]


def test_future_dates_are_refused_but_today_is_not():
    today = datetime.now(UTC)
    assert parse_date(today.strftime("%Y-%m-%dT%H:%M:%SZ")) == today.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_date((today + timedelta(days=5)).date().isoformat()) is None


@pytest.mark.parametrize(
    "line, iso",
    [
        ("Published 3 March 2021", "2021-03-03"),
        ("Updated 4 March 2021", None),  # an update is not the publication
        ("Updated 4 March 2021, published 3 March 2021", "2021-03-03"),
        ("3 March 2021, updated 4 March 2021", "2021-03-03"),
        ("Aktualisiert am 04.03.2021 | Erstellt am 03.03.2021", "2021-03-03"),
        ("Veröffentlicht am 03.03.2021, 14:05 Uhr", "2021-03-03"),
        ("By Jane Doe | March 3, 2021", "2021-03-03"),
        ("Published March 3, 2021 2:05 p.m. EST | Updated 4 March", "2021-03-03T14:05:00-05:00"),
        ("Posted 2 hours ago", None),
        ("Current DateTime: 08:48:59 23 Sep 2011", None),
        ("2021-03-03T14:05:00Z", "2021-03-03T14:05:00Z"),
    ],
)
def test_parse_date_text(line, iso):
    assert parse_date_text(line) == iso


@pytest.mark.parametrize(
    "line, iso",
    [
        ("July 7, 2021", "2021-07-07"),
        ("Published July 7, 2021 Updated July 8, 2021", "2021-07-07"),
        ("Wednesday, 7 July 2021", "2021-07-07"),
        ("7 juillet 2021", "2021-07-07"),  # the one month table knows other languages' names
        ("July 7, 2021, 10:30 a.m. ET", "2021-07-07T10:30:00-04:00"),
        ("Jan. 5, 2022 9:15 PM UTC", "2022-01-05T21:15:00Z"),
        ("July 7, 2021 was a Wednesday", None),  # a sentence, not a date line
        ("Senate Passes the Bill", None),
    ],
)
def test_parse_date_line(line, iso):
    assert parse_date_line(line) == iso


def test_dates_in_urls():
    assert date_from_url("https://x.example/2021/03/03/story") == "2021-03-03"
    assert date_from_url("https://x.example/news/story-2021-03-03-final") == "2021-03-03"
    assert date_from_url("https://x.example/news/story-2019-10-22.html") == "2019-10-22"
    assert date_from_url("https://x.example/news/20210303/story") == "2021-03-03"
    assert date_from_url("https://x.example/2021/03/story") is None
    assert date_from_url("https://x.example/news/story") is None
    assert date_from_url(None) is None


def test_utc_instant_of_what_is_not_a_parsed_value():
    assert utc_instant(None) is None and utc_instant("") is None
    assert utc_instant("not a date") is None and utc_instant("2021-13-01") is None
    assert utc_instant("2021-07-07T10:00:00") is None  # a time without a zone has no instant


_MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 2),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from([timezone(timedelta(minutes=m)) for m in range(-720, 841, 15)]),
)


@given(_MOMENTS)
def test_any_offset_keeps_its_local_time_and_its_instant(moment):
    if moment.date() > date.today() + timedelta(days=2):
        return
    iso = parse_date(moment.isoformat())
    assert iso is not None and iso[:19] == moment.strftime("%Y-%m-%dT%H:%M:%S")
    assert utc_instant(iso) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_date(iso) == iso  # a written value reads back as itself
