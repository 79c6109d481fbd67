"""Polite, adaptive polling: the floor feeds and servers ask for, ``every: auto``, and the
scheduler that follows them (pure functions, a pipeline run, a real ``worker run``)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.conftest import ROOT
from tests.test_page import FakeCtx, not_modified, ok
from tests.test_service import wait_for
from worker import polling
from worker.fetchers import feed
from worker.fetchers.http import Http
from worker.kinds import make_source
from worker.models import HttpResponse, HttpSettings, PollHints, SourceState
from worker.pipeline import ingest

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = 86400


def rss(items: list[tuple[str, datetime | None]], *, ttl: int | None = None, sy: str = "") -> bytes:
    """An RSS 2.0 feed of (headline, published) items, with an optional <ttl> and sy: elements."""
    entries = "".join(
        f"<item><title>{title}</title><link>https://news.example/{i}</link>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + f"<description>{title}. The council met on Tuesday and voted on item {i} of the agenda.</description></item>"
        for i, (title, when) in enumerate(items)
    )
    extra = (f"<ttl>{ttl}</ttl>" if ttl else "") + sy
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel><title>Wire</title><link>https://news.example/</link>{extra}{entries}</channel></rss>"
    ).encode()


# ---------------------------------------------------------------- what feeds and servers say


@pytest.mark.parametrize(
    ("value", "seconds"), [("60", 3600), (" 15 ", 900), ("0", None), ("soon", None), (None, None), ("-5", None)]
)
def test_ttl_is_minutes(value, seconds):
    assert polling.ttl_seconds(value) == seconds


@pytest.mark.parametrize(
    ("period", "frequency", "seconds"),
    [
        ("hourly", "2", 1800),
        ("daily", None, 86400),
        (None, "4", 21600),  # the period defaults to daily
        ("Weekly", "1", 7 * DAY),
        ("fortnightly", "1", None),
        ("daily", "0", None),
        ("daily", "twice", None),
        (None, None, None),
    ],
)
def test_sy_update_period_divided_by_frequency(period, frequency, seconds):
    assert polling.update_period_seconds(period, frequency) == seconds


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "max-age=600"}, (600, None)),
        ({"cache-control": "public, max-age=600", "age": "100"}, (500, None)),
        ({"cache-control": "max-age=600", "age": "900"}, (None, None)),  # already stale
        ({"cache-control": "no-cache, max-age=600"}, (None, None)),
        ({"cache-control": "no-store"}, (None, None)),
        ({"cache-control": "max-age=60", "expires": http_date(NOW + timedelta(hours=2))}, (60, None)),  # max-age wins
        ({"expires": http_date(NOW + timedelta(minutes=10)), "date": http_date(NOW)}, (None, 600)),
        ({"expires": http_date(NOW + timedelta(minutes=10))}, (None, 600)),  # no Date: from now
        ({"expires": http_date(NOW - timedelta(minutes=10)), "date": http_date(NOW)}, (None, None)),
        ({"expires": "0"}, (None, None)),
        ({"cache-control": "s-maxage=900", "expires": http_date(NOW + timedelta(seconds=30))}, (None, 30)),
        ({}, (None, None)),
    ],
)
def test_cache_control_and_expires(headers, expected):
    assert polling.cache_seconds(headers, NOW) == expected


def test_the_longest_hint_is_the_floor():
    assert polling.floor_of(None) is None and polling.floor_of(PollHints()) is None
    assert polling.floor_of(PollHints(ttl=3600, max_age=600)) == (3600, "the feed's <ttl>")
    assert polling.floor_of(PollHints(update_period=1800, expires=7200)) == (7200, "Expires")
    assert polling.floor_of(PollHints(max_age=60)) == (60, "Cache-Control max-age")


def test_read_feed_reports_ttl_and_sy_and_json_feeds_say_nothing():
    _, _, hints = feed.read_feed(rss([("A", NOW)], ttl=30), "https://news.example/feed")
    assert hints == PollHints(ttl=1800)
    sy = "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
    assert feed.read_feed(rss([("A", NOW)], sy=sy), "https://news.example/feed")[2] == PollHints(update_period=900)
    json_feed = b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}'
    assert feed.read_feed(json_feed, "https://news.example/feed.json")[2] == PollHints()


FEED_URL = "https://news.example/feed.xml"


def test_fetch_reports_the_hints_and_keeps_the_feeds_own_for_a_304():
    response = ok(FEED_URL, rss([("A", NOW)], ttl=60), etag='"v1"')
    ctx = FakeCtx({FEED_URL: HttpResponse(**{**vars(response), "headers": {"cache-control": "max-age=120"}})})
    out = list(feed.fetch(make_source("wire", "feed", url=FEED_URL), ctx))
    assert ctx.stats.poll == PollHints(ttl=3600, max_age=120)
    assert json.loads(out[-1].value)["ttl"] == 3600
    again = FakeCtx({FEED_URL: not_modified(FEED_URL)}, kept={out[-1].key: out[-1].value})
    assert list(feed.fetch(make_source("wire", "feed", url=FEED_URL), again)) == []
    assert again.stats.poll == PollHints(ttl=3600)


# ---------------------------------------------------------------- the interval


def observed(*ages_in_days: float, undated: int = 0) -> polling.Observed:
    return polling.Observed(tuple(NOW - timedelta(days=a) for a in ages_in_days), undated)


def auto(found: polling.Observed, low: int = 300, high: int = DAY) -> int:
    return polling.auto_interval(found, low, high, NOW)[0]


def test_every_auto_follows_the_rate_of_new_articles():
    twice_a_week = auto(observed(1, 4.5))
    assert 6 * 3600 <= twice_a_week <= 12 * 3600  # polled a few times a day
    daily = auto(observed(*range(7)))
    assert 2 * 3600 <= daily <= 4 * 3600
    wire = auto(observed(*(m / 1440 for m in range(0, 120, 6))))  # 20 items in the last two hours
    assert wire == 300  # every few minutes: min_every
    busy = auto(observed(*(h / 48 for h in range(336))))  # one every half hour all week
    assert busy == 300
    assert auto(observed()) == DAY  # nothing in a week: max_every
    assert auto(observed(undated=20)) == round(7 * DAY / 20 / 10)  # no dates: counted over the week
    assert auto(observed(0.5), low=60, high=3600) == 3600  # within its own bounds
    why = polling.auto_interval(observed(1, 4.5), 300, DAY, NOW)[1]
    assert why == "auto: an article every 3d12h in the last 7d"


def test_every_auto_sees_a_speed_up_at_once():
    quiet = [5, 2]  # days ago
    speeding = auto(observed(*quiet, *(m / 1440 for m in range(0, 60, 2))), low=1)  # then one every 2 minutes
    assert speeding == 12  # a tenth of 2 minutes, not of the week's average
    why = polling.auto_interval(observed(*quiet, *(m / 1440 for m in range(0, 60, 2))), 1, DAY, NOW)[1]
    assert why == "auto: an article every 2m4s in the last 1h"
    single = auto(observed(2, 0.01))  # one article a moment ago is not a rate
    assert single == auto(observed(2, 3))


def test_items_stamped_alike_are_no_burst():
    alike = auto(observed(*[0.0] * 30), low=1)  # a feed that stamps all its items with one time
    assert alike == round(7 * DAY / 30 / 10)  # counted over the week


def test_the_floor_raises_the_interval_up_to_max_every():
    assert polling.with_floor(900, "every 15m", (3600, "the feed's <ttl>"), DAY) == (
        3600,
        "the feed's <ttl> asks for 1h",
    )
    assert polling.with_floor(900, "every 15m", (600, "Expires"), DAY) == (900, "every 15m")
    assert polling.with_floor(900, "every 15m", (365 * DAY, "Cache-Control max-age"), DAY) == (
        DAY,
        "Cache-Control max-age asks for 365d (capped at max_every 1d)",
    )
    assert polling.with_floor(2 * DAY, "every 2d", (3 * DAY, "Expires"), DAY) == (2 * DAY, "every 2d")


def test_plan_every_auto_and_cron_sources():
    state = SourceState("s", last_status="ok")
    fixed = make_source("s", "feed", url=FEED_URL, every="15m")
    planned = polling.plan(fixed, PollHints(ttl=3600), state, None, NOW)
    assert (planned.interval, planned.interval_reason) == (3600, "the feed's <ttl> asks for 1h")
    assert (planned.floor, planned.floor_reason) == (3600, "the feed's <ttl>")
    assert polling.plan(fixed, PollHints(), planned, None, NOW).floor is None  # the feed stopped asking
    auto_source = make_source("s", "feed", url=FEED_URL, every="auto", min_every="1m", max_every="2h")
    planned = polling.plan(auto_source, PollHints(max_age=120), state, observed(*[i / 24 for i in range(48)]), NOW)
    assert (planned.interval, planned.interval_reason) == (360, "auto: an article every 1h in the last 1h")
    nightly = make_source("s", "feed", url=FEED_URL, cron="0 3 * * *")
    planned = polling.plan(nightly, PollHints(ttl=60), state, None, NOW)
    assert (planned.interval, planned.interval_reason, planned.floor) == (None, "cron 0 3 * * *", 60)
    one_off = make_source("backfill", "files", path=str(ROOT))  # a backfill's source has no schedule
    assert polling.plan(one_off, None, state, None, NOW).interval is None


def test_resume_and_not_before():
    fixed = make_source("s", "feed", url=FEED_URL, every="15m")
    assert polling.resume(fixed, None) == 900
    assert polling.resume(fixed, SourceState("s", floor=3600)) == 3600
    auto_source = make_source("s", "feed", url=FEED_URL, every="auto", min_every="10m", max_every="1h")
    assert polling.resume(auto_source, None) == 600
    assert polling.resume(auto_source, SourceState("s", interval=7200)) == 3600  # within today's bounds
    assert polling.resume(make_source("s", "feed", url=FEED_URL, cron="0 3 * * *"), None) is None
    assert polling.not_before(SourceState("s", last_run_at="2026-03-02T12:00:00Z")) is None
    state = SourceState("s", last_run_at="2026-03-02T12:00:00Z", floor=600)
    assert polling.not_before(state) == datetime(2026, 3, 2, 12, 10, tzinfo=UTC)


def test_observed_from_archive_rows():
    rows = [
        ("2026-03-01T12:00:00Z", "2026-03-01T12:05:00Z"),  # dated, in the window
        ("2026-01-01T12:00:00Z", "2026-03-02T11:00:00Z"),  # an old article carried today: not counted
        ("2026-03-09T12:00:00Z", "2026-03-02T11:00:00Z"),  # dated in the future: now
        ("2026-03-01", "2026-03-01T08:00:00Z"),  # a day alone: undated
        (None, "2026-02-28T08:00:00Z"),  # no date, first seen in the window
        (None, "2026-02-01T08:00:00Z"),  # no date, first seen long ago
    ]
    assert polling.observed_from(rows, NOW) == polling.Observed((datetime(2026, 3, 1, 12, tzinfo=UTC), NOW), 2)


# ---------------------------------------------------------------- a run records the interval


def test_a_run_stores_the_interval_and_logs_a_changed_floor_once(archive, loopback, capsys):
    from worker import log

    log.setup("json", "info")
    body = {"feed": rss([("Council votes", datetime.now(UTC) - timedelta(hours=3))], ttl=60)}
    loopback.route("/feed.xml", handler=lambda req: (200, body["feed"], {"Cache-Control": "max-age=300"}))
    source = make_source("council", "feed", url=loopback.url("/feed.xml"), every="15m")
    with Http(HttpSettings(per_host_delay=0)) as http:
        for _ in range(2):
            assert ingest(source, archive, http).status == "ok"
        state = archive.source_state("council")
        assert (state.interval, state.interval_reason) == (3600, "the feed's <ttl> asks for 1h")
        assert (state.floor, state.floor_reason) == (3600, "the feed's <ttl>")
        body["feed"] = rss([("Council votes", datetime.now(UTC) - timedelta(hours=3))])  # the ttl is gone
        ingest(source, archive, http)
    state = archive.source_state("council")
    assert (state.interval, state.interval_reason, state.floor) == (900, "every 15m", 300)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    changes = [(e["seconds"], e["reason"]) for e in events if e["event"] == "interval_floor_changed"]
    assert changes == [(3600, "the feed's <ttl>"), (300, "Cache-Control max-age")]


# ---------------------------------------------------------------- the real scheduler


def query(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def gaps(server, path: str) -> list[float]:
    times = [r.at for r in server.requests_for(path)]
    return [round(b - a, 1) for a, b in zip(times, times[1:])]


@pytest.mark.slow
def test_the_service_follows_a_feeds_floor_and_rate(tmp_path, loopback):
    """`worker run` with a feed whose Cache-Control and then <ttl> set its floor, and an
    `every: auto` feed whose publishing speeds up."""
    now = datetime.now(UTC)
    feeds = {
        "/asks.xml": (rss([("Asks", now - timedelta(days=1))]), {"Cache-Control": "max-age=2"}),
        "/wire.xml": (rss([("Quiet one", now - timedelta(days=5)), ("Quiet two", now - timedelta(days=2))]), {}),
    }
    for path in feeds:
        loopback.route(path, handler=lambda req: (200, *feeds[req.path]))
    db = tmp_path / "a.db"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {db}\nhttp:\n  per_host_delay: 0\nscheduler:\n  jitter: 0s\n  heartbeat: 1m\nsources:\n"
        f"  - name: asks\n    kind: feed\n    url: {loopback.url('/asks.xml')}\n    every: 1s\n"
        f"  - name: wire\n    kind: feed\n    url: {loopback.url('/wire.xml')}\n    every: auto\n"
        f"    min_every: 1s\n    max_every: 3s\n"
    )

    def state(name):
        return query(db, f"SELECT interval, interval_reason, floor FROM source_state WHERE source = '{name}'")

    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "--config", str(cfg), "--log-format", "json", "run"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: loopback.count("/asks.xml") >= 3 and loopback.count("/wire.xml") >= 3)
        assert state("asks") == [(2, "Cache-Control max-age asks for 2s", 2)]
        assert state("wire") == [(3, "auto: an article every 3d12h in the last 7d", None)]  # quiet: max_every
        assert all(g >= 1.9 for g in gaps(loopback, "/asks.xml")[1:])  # every 1s asked, 2s honoured
        assert all(g >= 2.9 for g in gaps(loopback, "/wire.xml")[1:])
        # the feed now asks for a <ttl> of one minute, and the wire feed publishes every 10 seconds
        busy = [(f"Wire story {i}", now - timedelta(seconds=10 * i)) for i in range(400)]
        feeds["/asks.xml"] = (rss([("Asks", now - timedelta(days=1))], ttl=1), {})
        feeds["/wire.xml"] = (rss(busy), {})
        assert wait_for(lambda: state("asks")[0][0] == 60 and state("wire")[0][0] == 1)
        assert state("asks") == [(60, "the feed's <ttl> asks for 1m", 60)]
        asked, wired = loopback.count("/asks.xml"), loopback.count("/wire.xml")
        time.sleep(2.5)
        assert loopback.count("/asks.xml") == asked  # nothing before the minute is up
        assert loopback.count("/wire.xml") >= wired + 2  # every second now
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    floors = [(e["seconds"], e["reason"]) for e in events if e["event"] == "interval_floor_changed"]
    assert floors == [(2, "Cache-Control max-age"), (60, "the feed's <ttl>")]  # each change once
    changed = {(e["source"], e["seconds"]) for e in events if e["event"] == "interval_changed"}
    assert {("asks", 2), ("asks", 60), ("wire", 3), ("wire", 1)} <= changed
