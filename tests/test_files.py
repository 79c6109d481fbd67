"""The files fetcher: paths, folders and globs; .txt, .html, .jsonl/.json, feed files."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import FIXTURES
from worker.fetchers.files import expand, read_path
from worker.kinds import make_source
from worker.models import Checkpoint, Known, RawItem, Skipped
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
    for rel in [
        "b.txt",
        "a.html",
        ".hidden.txt",
        "z/1.txt",
        "z/y/2.txt",
        "d.txt/inner.txt",
        ".git/x.txt",
        "m/\u00e9.txt",
        "m/B.txt",
        "c",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "z")  # not followed
    (tmp_path / "link.txt").symlink_to(tmp_path / "z")  # reported as a folder
    (tmp_path / "broken.txt").symlink_to(tmp_path / "nowhere")
    got = [p.relative_to(tmp_path).as_posix() for p in expand(str(tmp_path))]
    assert got == [
        "d.txt",
        "link.txt",
        "a.html",
        "b.txt",
        "broken.txt",
        "c",
        "m/B.txt",
        "m/\u00e9.txt",
        "z/1.txt",
        "z/y/2.txt",
    ]


def test_jsonl_key_mapping(tmp_path, archive):
    rows = [
        {
            "headline": "First",
            "body": "Body one.",
            "url": "https://x.example/1",
            "byline": "A. Writer",
            "published_at": "2024-03-01T10:00:00+01:00",
            "lang": "en",
        },
        {
            "title": "Second",
            "text": "<p>Para one.</p><p>Para two.</p>",
            "link": "https://x.example/2",
            "authors": [{"name": "B"}, "C"],
            "date": "Fri, 01 Mar 2024 09:00:00 GMT",
        },
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
        "expected a JSON object, got list",
        "not a JSON object",
    ]
    assert isinstance(out[-1], Checkpoint)


def test_jsonl_fields_read_as_feeds_read_theirs(tmp_path, archive):
    row = {
        "title": "Tom &amp; Jerry <b>return</b>",
        "summary": "AT&T &amp; friends",
        "lang": "en_us",
        "byline": "Ana Ruiz, John Smith",
        "published_at": "2021-07-07T10:00:00",
        "body": "x",
    }
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
    page.write_text(
        "<html><head><title>Council Votes To Close Pier</title></head><body><article><h1>Council "
        "Votes To Close Pier</h1>" + "<p>The council voted on Tuesday to close the old pier for "
        "repairs, citing safety concerns raised by engineers last year.</p>" * 5 + "</article></body></html>"
    )
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


# ---------------------------------------------------------------- hostile files (issue 13)

DEEP = 100_000  # far past Python's recursion limit


def article_line(title: str) -> str:
    return json.dumps({"title": title, "body": f"{title}: the council met on Tuesday to vote on the pier."})


def test_deeply_nested_json_costs_only_its_file_or_line(tmp_path, archive):
    """A RecursionError from one file aborted the whole source, forever (item 8): a real folder,
    the bad files in the middle, through the pipeline."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "text" / "two-authors-captions.txt", inbox / "a-first.txt")
    (inbox / "b-deep.json").write_text("[" * DEEP + "]" * DEEP)
    (inbox / "c-lines.jsonl").write_text(
        "\n".join(
            [
                article_line("Line One Story"),
                '{"title": "Deep", "body": ' + "[" * DEEP + "]" * DEEP + "}",
                json.dumps({"title": "Deep Authors", "body": "x", "author": json.loads("[" * 900 + "]" * 900)}),
                article_line("Line Four Story"),
            ]
        )
        + "\n"
    )
    (inbox / "d-deep-object.json").write_text('{"a":' * DEEP + "1" + "}" * DEEP)
    (inbox / "e-last.jsonl").write_text(article_line("Last File Story") + "\n")
    source = make_source(name="inbox", kind="files", path=str(inbox))
    r = ingest(source, archive, trigger="scheduled")
    assert (r.status, r.error, r.new, r.skipped) == ("ok", None, 4, 4)
    headlines = {row["headline"] for row in archive.db["articles"].rows}
    assert {"Line One Story", "Line Four Story", "Last File Story"} <= headlines
    again = ingest(source, archive, trigger="scheduled")  # checkpointed: the next run passes them over
    assert (again.status, again.seen, again.skipped) == ("ok", 0, 0)


def test_deep_json_reasons(tmp_path, archive):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * DEEP + "]" * DEEP)
    out = outputs(deep, archive)
    assert [(type(o).__name__, getattr(o, "reason", None)) for o in out] == [
        ("Skipped", "JSON nested too deeply"),
        ("Checkpoint", None),
    ]


def test_a_huge_jsonl_line_is_skipped_in_bounded_memory(tmp_path, archive, monkeypatch):
    """A 600 MB line was held whole (1.28 GB) before being skipped as too long (item 10); here a
    50 MB line against a 1 MB cap: memory stays near the cap, the lines after it are read."""
    import tracemalloc

    from worker.fetchers import files

    monkeypatch.setattr(files, "MAX_LINE_BYTES", 1_000_000)
    f = tmp_path / "huge.jsonl"
    with f.open("w") as fh:
        fh.write(article_line("Before The Huge Line") + "\n")
        fh.write('{"title": "Huge", "body": "')
        chunk = "x" * 1_000_000
        for _ in range(50):
            fh.write(chunk)
        fh.write('"}\n')
        fh.write(article_line("After The Huge Line") + "\n")
    tracemalloc.start()
    try:
        out = outputs(f, archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(type(o).__name__, getattr(o, "reason", None)) for o in out] == [
        ("RawItem", None),
        ("Skipped", "line too long (more than 1000000 bytes)"),
        ("RawItem", None),
        ("Checkpoint", None),
    ]
    assert [o.locator.rsplit("#")[1] for o in out if not isinstance(o, Checkpoint)] == ["1", "2", "3"]
    assert peak < 4_000_000, peak  # four times the cap (the 50 MB line itself took 100 MB)


def test_a_line_at_the_cap_is_read(tmp_path, archive, monkeypatch):
    from worker.fetchers import files

    line = article_line("Exactly At The Cap").encode() + b"\n"
    monkeypatch.setattr(files, "MAX_LINE_BYTES", len(line))
    f = tmp_path / "cap.jsonl"
    f.write_bytes(line + b'{"title": "One Byte Longer", "body": "xx' + b"y" * len(line) + b'"}\n' + line)
    out = outputs(f, archive)
    assert [type(o).__name__ for o in out] == ["RawItem", "Skipped", "RawItem", "Checkpoint"]


@pytest.mark.parametrize("name", ["garbage.jsonl", "garbage.json", "garbage.ndjson"])
def test_a_binary_file_named_json_is_one_skipped_item(tmp_path, archive, name):
    """50 KB of random bytes named .jsonl logged 195 item_skipped lines (item 19): one now."""
    import random

    (tmp_path / "in").mkdir()
    f = tmp_path / "in" / name
    f.write_bytes(random.Random(19).randbytes(50_000))
    assert f.read_bytes().count(b"\n") > 100
    out = outputs(f, archive)
    assert [(type(o).__name__, getattr(o, "reason", None)) for o in out] == [
        ("Skipped", "not a text file (binary content: NUL bytes)"),
        ("Checkpoint", None),
    ]
    source = make_source(name="g", kind="files", path=str(tmp_path / "in"))
    assert ingest(source, archive).skipped == 1
    assert ingest(source, archive).skipped == 0  # checkpointed with the file: not read again


def test_mostly_undecodable_json_lines_are_one_skipped_item(tmp_path, archive):
    f = tmp_path / "latin.jsonl"
    f.write_bytes(bytes(range(0x80, 0x100)) * 40 + b"\n" + b"\xe9\xe8\n" * 100)
    out = outputs(f, archive)
    assert [getattr(o, "reason", None) for o in out] == ["not a text file (binary content: mostly not UTF-8)", None]
    text = tmp_path / "accents.jsonl"  # a few bytes that are not UTF-8 cost only their line
    text.write_bytes((article_line("Caf\u00e9 Story") + "\n").encode() * 20 + b'{"title": "Caf\xe9"}\n')
    assert [type(o).__name__ for o in outputs(text, archive)].count("RawItem") == 20
