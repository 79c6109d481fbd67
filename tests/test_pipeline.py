"""ingest(): the one path of every run; broken items are skipped, broken sources recorded."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import FIXTURES
from worker import pipeline
from worker.backoff import interval_of, next_attempt
from worker.clean import items as items_module
from worker.errors import FetchError
from worker.kinds import make_source
from worker.models import Checkpoint, Config, Hints, RawItem, SchedulerSettings, Skipped, Source
from worker.pipeline import ingest
from worker.scheduler import run_source

TEXT = FIXTURES / "text"


def files_source(path, name="inbox") -> Source:
    return make_source(name=name, kind="files", path=str(path), every=300)


@pytest.fixture
def inbox(tmp_path):
    d = tmp_path / "inbox"
    d.mkdir()
    for name in ("two-authors-captions.txt", "no-dek-no-dateline-photo.txt"):
        shutil.copy(TEXT / name, d / name)
    return d


def test_files_run_then_only_new_files(archive, inbox):
    r = ingest(files_source(inbox), archive, trigger="scheduled")
    assert (r.status, r.seen, r.new, r.duplicates, r.skipped) == ("ok", 2, 2, 0, 0)
    r = ingest(files_source(inbox), archive, trigger="scheduled")
    assert (r.seen, r.new) == (0, 0)  # unchanged files are not read again
    shutil.copy(TEXT / "crlf-three-authors-reuters.txt", inbox / "new.txt")
    r = ingest(files_source(inbox), archive, trigger="scheduled")
    assert (r.seen, r.new) == (1, 1)
    assert archive.db["articles"].count == 3
    assert {a["source"] for a in archive.db["articles"].rows} == {"inbox"}
    assert archive.db["runs"].count == 3


def test_backfill_rerun_records_sightings_without_reparsing(archive, inbox, monkeypatch):
    ingest(files_source(inbox, "backfill"), archive, trigger="backfill")
    monkeypatch.setattr(items_module, "to_article", lambda *a: pytest.fail("re-parsed an unchanged file"))
    r = ingest(files_source(inbox, "backfill"), archive, trigger="backfill")
    assert (r.seen, r.new, r.duplicates) == (2, 0, 2)
    assert archive.db["sightings"].count == 4


def test_changed_file_is_read_again(archive, inbox):
    ingest(files_source(inbox), archive)
    f = inbox / "two-authors-captions.txt"
    f.write_text(f.read_text() + "\n\nA correction was appended to this article.\n")
    r = ingest(files_source(inbox), archive)
    assert (r.seen, r.new, r.revisions, r.duplicates) == (1, 0, 1, 0)  # an edit of the same file: a new version
    (row,) = archive.db.query("SELECT * FROM articles WHERE body LIKE '%A correction was appended%'")
    assert (row["version"], row["version_count"]) == (2, 2) and row["updated_at"]
    reasons = [
        v["reason"]
        for v in archive.db.query("SELECT reason FROM versions WHERE article_id = ? ORDER BY version", [row["id"]])
    ]
    assert reasons == ["first", "edit"]


def fake_fetcher(items):
    def fetch(source, ctx):
        for item in items:
            if isinstance(item, Exception):
                raise item
            yield item

    return fetch


def raw(headline, body="Body text.", **kw):
    return RawItem("s", f"https://x.example/{headline}", "fragment", body, Hints(headline=headline, **kw))


def test_broken_items_are_skipped_and_the_run_goes_on(archive, monkeypatch):
    items = [
        raw("One"),
        RawItem("s", "u2", "fragment", "", Hints()),
        Skipped("s", "u3", "bad line"),
        RawItem("s", "u4", "text", b"\x00\x01binary"),
        raw("Two"),
        Checkpoint("http:feed", "{}"),
    ]
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher(items))
    r = ingest(make_source(name="s", kind="feed", url="http://x.example/f"), archive)
    assert (r.status, r.seen, r.new, r.skipped) == ("ok", 5, 2, 3)
    assert archive.fetch_state("s", "http:feed") == "{}"


def test_a_cleaner_bug_skips_the_item_only(archive, monkeypatch):
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher([raw("One"), raw("Two")]))
    real = items_module.to_article

    def flaky(item, source):
        if "One" in item.locator:
            raise RuntimeError("bug")
        return real(item, source)

    monkeypatch.setattr(items_module, "to_article", flaky)
    r = ingest(make_source(name="s", kind="feed", url="http://x.example/f"), archive)
    assert (r.status, r.new, r.skipped) == ("ok", 1, 1)


def test_fetch_error_is_recorded_with_backoff_and_keeps_what_came_before(archive, monkeypatch):
    items = [
        raw("Kept"),
        Checkpoint("http:page1", '{"etag": "a"}'),
        FetchError("http://x.example/f", 503, "Service Unavailable", retry_after=7200),
    ]
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher(items))
    source = make_source(name="s", kind="feed", url="http://x.example/f", every=60)
    r = ingest(source, archive, trigger="scheduled")
    assert (r.status, r.http_status, r.new) == ("error", 503, 1)
    assert "503" in r.error
    state = archive.source_state("s")
    assert state.consecutive_failures == 1
    due = datetime.fromisoformat(state.next_due_at)
    assert due >= datetime.now(UTC) + timedelta(seconds=7100)  # never before Retry-After
    assert archive.fetch_state("s", "http:page1") == '{"etag": "a"}'
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher([raw("Again")]))
    assert ingest(source, archive).status == "ok"
    assert archive.source_state("s").consecutive_failures == 0


def test_a_failing_source_is_skipped_until_it_is_due_again(archive, archive_path, monkeypatch):
    config = Config(archive=str(archive_path))
    source = make_source(name="s", kind="feed", url="http://x.example/f", every=3600)
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher([FetchError("http://x.example/f", 500, "boom")]))
    first = run_source(config, source, None, "scheduled")
    assert first.status == "error" and archive.source_state("s").consecutive_failures == 1
    assert run_source(config, source, None, "scheduled") is None  # backing off: no run at all
    assert archive.db["runs"].count == 1
    manual = run_source(config, source, None, "manual", respect_backoff=False)  # `worker ingest` runs it anyway
    assert manual.status == "error" and archive.db["runs"].count == 2


def test_unexpected_exception_in_a_fetcher_is_a_failed_run(archive, monkeypatch):
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher([raw("A"), KeyError("oops")]))
    r = ingest(make_source(name="s", kind="feed", url="http://x.example/f"), archive)
    assert r.status == "error" and "KeyError" in r.error and r.new == 1


def test_stop_event_interrupts_and_keeps_stored_items(archive, monkeypatch):
    stop = threading.Event()

    def fetch(source, ctx):
        yield raw("First")
        stop.set()
        yield raw("Second")

    monkeypatch.setattr(pipeline, "fetch", fetch)
    r = ingest(make_source(name="s", kind="feed", url="http://x.example/f"), archive, stop=stop)
    assert r.status == "interrupted" and r.new == 1
    assert archive.db["runs"].get(r.run_id)["status"] == "interrupted"


def test_batches_commit_as_they_go(archive, monkeypatch):
    seen_counts = []

    def fetch(source, ctx):
        for i in range(7):
            seen_counts.append(ctx.archive.db.execute("SELECT count(*) FROM articles").fetchone()[0])
            yield raw(f"Headline number {i}")

    monkeypatch.setattr(pipeline, "fetch", fetch)
    r = ingest(make_source(name="s", kind="feed", url="http://x.example/f"), archive, batch_size=3)
    assert r.new == 7
    assert seen_counts == [0, 0, 0, 3, 3, 3, 6]


def test_backoff_doubles_is_jittered_by_the_scheduler_setting_and_capped():
    s = make_source(name="s", kind="feed", url="http://x", every=900)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    settings = SchedulerSettings(jitter=30, max_backoff=86400)
    delays = [(next_attempt(s, n, settings, now=now) - now).total_seconds() for n in (1, 2, 3, 10)]
    assert 1800 <= delays[0] <= 1830 and 3600 <= delays[1] <= 3630 and 7200 <= delays[2] <= 7230
    assert delays[3] == 86400
    assert (next_attempt(s, 1, SchedulerSettings(jitter=0), now=now) - now).total_seconds() == 1800
    assert (next_attempt(s, 1, settings, retry_after=5000, now=now) - now).total_seconds() == 5000


def test_a_cron_source_backs_off_from_its_own_interval():
    s = make_source(name="s", kind="feed", url="http://x", cron="*/20 * * * *")
    now = datetime(2024, 1, 1, 10, 7, tzinfo=UTC)
    assert interval_of(s, now) == 1200
    assert (next_attempt(s, 1, SchedulerSettings(jitter=0), now=now) - now).total_seconds() == 2400
    nightly = make_source(name="n", kind="feed", url="http://x", cron="0 3 * * *")
    assert interval_of(nightly, now) == 86400


def test_a_failed_run_logs_its_next_attempt(archive, monkeypatch, capsys):
    from worker import log as logsetup

    logsetup.setup("json", "info")
    monkeypatch.setattr(pipeline, "fetch", fake_fetcher([FetchError("http://x.example/f", 500, "boom")]))
    r = ingest(make_source(name="s", kind="feed", url="http://x.example/f", every=60), archive)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["event"] == "run_finished"]
    assert len(finished) == 1 and finished[0]["next_attempt_at"] == r.next_attempt_at
    assert r.next_attempt_at == archive.source_state("s").next_due_at
    assert datetime.fromisoformat(r.next_attempt_at) > datetime.now(UTC)
