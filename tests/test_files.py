"""The files fetcher: paths, folders and globs; .txt, .html, .jsonl/.json, feed files."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import FIXTURES
from worker.fetchers.files import expand, read_path
from worker.kinds import make_source
from worker.models import Checkpoint, Known, RawItem, Skipped, Source
from worker.pipeline import ingest
from worker.run import RunContext


def outputs(path, archive, trigger="scheduled"):
    ctx = RunContext(source=make_source(name="f", kind="files", path=str(path)), archive=archive, trigger=trigger)
    return list(read_path(path, "f", ctx))


def test_expand_folder_glob_and_missing_inbox(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("x")
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "two.html").write_text("x")
    (tmp_path / "a" / ".hidden.txt").write_text("x")
    (tmp_path / "a" / "odd.txt").mkdir()
    got = [p.relative_to(tmp_path).as_posix() for p in expand(str(tmp_path / "a"))]
    assert got == ["a/odd.txt", "a/one.txt", "a/sub/two.html"]
    assert [p.name for p in expand(str(tmp_path / "a" / "**" / "*.html"))] == ["two.html"]
    inbox = tmp_path / "new" / "inbox"
    assert list(expand(str(inbox) + "/")) == [] and inbox.is_dir()


def test_expand_walks_as_os_walk_does_in_sorted_order(tmp_path):
    for rel in ["b.txt", "a.html", ".hidden.txt", "z/1.txt", "z/y/2.txt", "d.txt/inner.txt", ".git/x.txt",
                "m/\u00e9.txt", "m/B.txt", "c"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "z")  # not followed
    (tmp_path / "link.txt").symlink_to(tmp_path / "z")  # reported as a folder
    (tmp_path / "broken.txt").symlink_to(tmp_path / "nowhere")
    got = [p.relative_to(tmp_path).as_posix() for p in expand(str(tmp_path))]
    assert got == ["d.txt", "link.txt", "a.html", "b.txt", "broken.txt", "c", "m/B.txt", "m/\u00e9.txt",
                   "z/1.txt", "z/y/2.txt"]


def test_jsonl_key_mapping(tmp_path, archive):
    rows = [
        {"headline": "First", "body": "Body one.", "url": "https://x.example/1", "byline": "A. Writer",
         "published_at": "2024-03-01T10:00:00+01:00", "lang": "en"},
        {"title": "Second", "text": "<p>Para one.</p><p>Para two.</p>", "link": "https://x.example/2",
         "authors": [{"name": "B"}, "C"], "date": "Fri, 01 Mar 2024 09:00:00 GMT"},
        {"title": "Third", "content": "Body three.", "author": "D", "published": 1709283600},
        ["not", "an", "object"],
    ]
    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n\n")
    out = outputs(f, archive)
    items = [o for o in out if isinstance(o, RawItem)]
    assert [i.hints.headline for i in items] == ["First", "Second", "Third"]
    assert items[0].hints.published_at == "2024-03-01T10:00:00+01:00"  # the publisher's offset kept
    assert items[1].hints.byline == "B and C" and items[1].hints.url == "https://x.example/2"
    assert items[1].hints.published_at == "2024-03-01T09:00:00Z"
    assert items[2].hints.published_at == "2024-03-01T09:00:00Z"  # a Unix timestamp: UTC
    assert [s.reason.split(":")[0] for s in out if isinstance(s, Skipped)] == [
        "expected a JSON object, got list", "not a JSON object"]
    assert isinstance(out[-1], Checkpoint)


def test_jsonl_fields_read_as_feeds_read_theirs(tmp_path, archive):
    row = {"title": "Tom &amp; Jerry <b>return</b>", "summary": "AT&T &amp; friends", "lang": "en_us",
           "byline": "Ana Ruiz, John Smith", "published_at": "2021-07-07T10:00:00", "body": "x"}
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps(row) + "\n")
    [item] = [o for o in outputs(f, archive) if isinstance(o, RawItem)]
    assert (item.hints.headline, item.hints.dek) == ("Tom & Jerry return", "AT&T & friends")
    assert (item.hints.byline, item.hints.lang) == ("Ana Ruiz and John Smith", "en-US")
    assert item.hints.published_at == "2021-07-07"  # a time without a zone keeps only its day


def test_json_document_list(tmp_path, archive):
    f = tmp_path / "a.json"
    f.write_text(json.dumps([{"title": "One", "body": "x"}, {"title": "Two", "body": "y"}]))
    r = ingest(make_source(name="f", kind="files", path=str(f)), archive)
    assert (r.new, r.skipped) == (2, 0)
    assert [r["body"] for r in archive.db.query("SELECT body FROM articles WHERE headline = 'Two'")] == ["y"]


def test_feed_file(tmp_path, archive):
    shutil.copy(FIXTURES / "feeds" / "rss2.xml", tmp_path / "saved.rss")
    r = ingest(make_source(name="f", kind="files", path=str(tmp_path / "saved.rss")), archive)
    assert r.status == "ok" and r.new >= 2 and r.skipped == 0


def test_unchanged_files_in_a_backfill_become_known(tmp_path, archive):
    shutil.copy(FIXTURES / "text" / "two-authors-captions.txt", tmp_path / "a.txt")
    ingest(make_source(name="f", kind="files", path=str(tmp_path)), archive, trigger="backfill")
    assert outputs(tmp_path / "a.txt", archive) == []
    known = outputs(tmp_path / "a.txt", archive, trigger="backfill")
    assert len(known) == 1 and isinstance(known[0], Known) and known[0].key.startswith("file:")


def test_file_changing_while_read_is_not_checkpointed(tmp_path, archive, monkeypatch):
    f = tmp_path / "a.txt"
    shutil.copy(FIXTURES / "text" / "two-authors-captions.txt", f)
    real = type(f).read_bytes

    def read_and_append(self):
        data = real(self)
        with open(self, "ab") as fh:
            fh.write(b"\nmore text arrives\n")
        return data

    monkeypatch.setattr(type(f), "read_bytes", read_and_append)
    out = outputs(f, archive)
    assert len(out) == 1 and isinstance(out[0], Skipped) and "changed while it was read" in out[0].reason
def test_html_file(tmp_path, archive):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Council Votes To Close Pier</title></head><body><article><h1>Council "
                    "Votes To Close Pier</h1>" + "<p>The council voted on Tuesday to close the old pier for "
                    "repairs, citing safety concerns raised by engineers last year.</p>" * 5 + "</article></body></html>")
    r = ingest(make_source(name="f", kind="files", path=str(page)), archive)
    assert (r.status, r.new) == ("ok", 1)
    assert next(archive.db["articles"].rows)["headline"] == "Council Votes To Close Pier"




def test_an_interrupted_jsonl_backfill_goes_on_where_it_stopped(tmp_path, archive, monkeypatch):
    from worker import pipeline
    from worker.clean import items as items_module

    f = tmp_path / "big.jsonl"
    f.write_text("".join(json.dumps({"title": f"Story {i}", "body": f"Text {i}."}) + "\n" for i in range(2500)))
    source = make_source(name="b", kind="files", path=str(f))
    real, seen = items_module.to_article, []

    def stop_at_1700(item, src):
        seen.append(item.locator)
        if item.locator.endswith("#1700"):
            raise SystemExit("killed")  # as a kill would, mid-file: nothing after it is stored
        return real(item, src)

    monkeypatch.setattr(items_module, "to_article", stop_at_1700)
    with pytest.raises(SystemExit):
        pipeline.ingest(source, archive, trigger="backfill", batch_size=100)
    stored = archive.db["articles"].count
    assert 1000 <= stored < 1700
    assert archive.fetch_state("b", "file:" + str(f.resolve())).endswith(":1000")
    monkeypatch.setattr(items_module, "to_article", real)
    seen.clear()
    r = pipeline.ingest(source, archive, trigger="backfill")
    assert archive.db["articles"].count == 2500
    assert r.seen == 1500 and r.new == 2500 - stored  # lines 1001.. read again, nothing before them
    assert archive.fetch_state("b", "file:" + str(f.resolve())).count("@") == 0  # complete now
    r = pipeline.ingest(source, archive, trigger="backfill")
    assert (r.new, r.duplicates) == (0, 2500)  # unchanged: each article it produced is sighted again
