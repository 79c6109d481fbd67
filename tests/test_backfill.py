"""Backfill progress, its summary events, and the FTS optimize after a large import."""

from __future__ import annotations

import json
import shutil

from tests.conftest import FIXTURES
from worker import backfill, progress
from worker.fetchers import files
from worker.kinds import make_source
from worker.models import Config
from worker.pipeline import ingest


def run(archive, arguments, **kw):
    return backfill.run_backfill(Config(archive=str(archive)), backfill.sources_for(arguments, "backfill", None), **kw)


def test_progress_line_on_a_terminal(capsys):
    bar = progress.Progress(terminal=True, total_files=4)
    for what, loc in [
        ("new", "a"),
        ("checkpoint", "file:/a"),
        ("duplicate", "b"),
        ("checkpoint", "file:/b"),
        ("skipped", "c"),
        ("known", "d"),
    ]:
        bar(what, loc)
    line = bar.line()
    assert line.startswith("3/4 files")
    assert "articles/s" in line and "1 new" in line and "2 duplicates" in line and "1 skipped" in line
    assert "ETA" in line
    bar.close()
    assert "3/4 files" in capsys.readouterr().err


def test_progress_events_off_a_terminal(monkeypatch, tmp_path):
    events = []
    monkeypatch.setattr(progress, "EVENT_EVERY", 0.0)
    monkeypatch.setattr(progress.log, "info", lambda event, **kw: events.append((event, kw)))
    for name in ("two-authors-captions.txt", "no-dek-no-dateline-photo.txt"):
        shutil.copy(FIXTURES / "text" / name, tmp_path / name)
    bar = progress.Progress(terminal=False)
    results = run(tmp_path / "a.db", [str(tmp_path)], workers=1, on_item=bar)
    assert results[0].new == 2
    shown = [kw for event, kw in events if event == "backfill_progress"]
    assert shown and shown[-1]["new"] == 2 and shown[-1]["files"] >= 1
    assert json.dumps(shown[-1])  # plain values, ready for a JSON log line


def test_a_json_lines_file_read_in_parts_counts_as_one_file(monkeypatch, tmp_path, archive):
    monkeypatch.setattr(files, "PARTIAL_EVERY", 10)  # partial checkpoints after lines 10 and 20
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps({"title": f"Story {i}", "body": "Text."}) + "\n" for i in range(25)))
    bar = progress.Progress(terminal=False, total_files=1)
    result = ingest(make_source(name="b", kind="files", path=str(f)), archive, trigger="backfill", on_item=bar)
    assert result.new == 25 and archive.db["fetch_state"].count == 1
    assert bar.files == 1 and bar.line().startswith("1/1 files")


def test_optimize_flags_and_the_event(monkeypatch, tmp_path):
    merged, events = [], []
    monkeypatch.setattr(backfill, "OPTIMIZE_AFTER", 2)
    monkeypatch.setattr(backfill.Archive, "optimize", lambda self: merged.append(self.path))
    monkeypatch.setattr(backfill.log, "info", lambda event, **kw: events.append((event, kw)))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"title": f"T{i}", "body": "x"}) + "\n" for i in range(3)))
    run(tmp_path / "a.db", [str(tmp_path / "a.jsonl")], optimize=False)
    assert merged == [] and not [e for e, _ in events if e == "fts_optimized"]  # --no-optimize, though 3 >= 2 new
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"title": f"U{i}", "body": "x"}) + "\n" for i in range(3)))
    run(tmp_path / "a.db", [str(tmp_path / "b.jsonl")])
    assert merged == [str(tmp_path / "a.db")]
    assert [kw["new"] for e, kw in events if e == "fts_optimized"] == [3]


def test_large_imports_merge_the_fts_index(monkeypatch, tmp_path):
    merged = []
    monkeypatch.setattr(backfill, "OPTIMIZE_AFTER", 2)
    monkeypatch.setattr(backfill.Archive, "optimize", lambda self: merged.append(self.path))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"title": f"T{i}", "body": "x"}) + "\n" for i in range(3)))
    run(tmp_path / "a.db", [str(tmp_path / "a.jsonl")], workers=1)
    assert merged == [str(tmp_path / "a.db")]
    run(tmp_path / "a.db", [str(tmp_path / "a.jsonl")], workers=1)
    assert len(merged) == 1  # nothing new: nothing to merge
    run(tmp_path / "a.db", [str(tmp_path / "a.jsonl")], workers=1, optimize=True)
    assert len(merged) == 2


def test_log_lines_clear_the_progress_line_and_it_comes_back_below(monkeypatch):
    import io

    import structlog

    from worker import log as logsetup

    screen = io.StringIO()
    logsetup.setup("console", "info", stream=screen)
    bar = progress.Progress(terminal=True, total_files=2, stream=screen)
    try:
        bar("new", "a")
        bar.show()
        structlog.get_logger("worker.test").warning("item_skipped", source="s", url="b", error="empty file")
        bar("checkpoint", "file:/a")
    finally:
        bar.close()
    text = screen.getvalue()
    clear = logsetup.CLEAR_LINE
    shown, event_and_rest = text.split(clear)[1], text.split(clear)[2]
    assert shown.startswith("0/2 files") and "\n" not in shown  # the status line, drawn with no newline
    event, _, redrawn = event_and_rest.partition("\n")
    assert "item_skipped" in event and "files" not in event  # the log line is on a line of its own
    assert redrawn.startswith("0/2 files")  # and the status line comes back below it
    assert text.rsplit(clear, 1)[1].startswith("1/2 files") and text.endswith("\n")  # the last state, kept
    logsetup.set_status(None)
