"""Backfill progress, its summary events, and the FTS optimize after a large import."""

from __future__ import annotations

import json
import shutil

from tests.conftest import FIXTURES
from worker import backfill
from worker.models import Config


def test_progress_line_on_a_terminal(capsys):
    bar = backfill.Progress(terminal=True, total_files=4)
    for what, loc in [("new", "a"), ("checkpoint", "file:/a"), ("duplicate", "b"), ("checkpoint", "file:/b"),
                      ("skipped", "c"), ("known", "d")]:
        bar(what, loc)
    line = bar.line()
    assert line.startswith("3/4 files")
    assert "articles/s" in line and "1 new" in line and "2 duplicates" in line and "1 skipped" in line
    assert "ETA" in line
    bar.close()
    assert "3/4 files" in capsys.readouterr().err


def test_progress_events_off_a_terminal(monkeypatch, tmp_path):
    events = []
    monkeypatch.setattr(backfill, "EVENT_EVERY", 0.0)
    monkeypatch.setattr(backfill.log, "info", lambda event, **kw: events.append((event, kw)))
    for name in ("two-authors-captions.txt", "no-dek-no-dateline-photo.txt"):
        shutil.copy(FIXTURES / "text" / name, tmp_path / name)
    results = backfill.run_backfill(Config(archive=str(tmp_path / "a.db")), [str(tmp_path)], workers=1)
    assert results[0].new == 2
    progress = [kw for event, kw in events if event == "backfill_progress"]
    assert progress and progress[-1]["new"] == 2 and progress[-1]["files"] >= 1
    assert json.dumps(progress[-1])  # plain values, ready for a JSON log line


def test_large_imports_merge_the_fts_index(monkeypatch, tmp_path):
    merged = []
    monkeypatch.setattr(backfill, "OPTIMIZE_AFTER", 2)
    monkeypatch.setattr(backfill.Archive, "optimize", lambda self: merged.append(self.path))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"title": f"T{i}", "body": "x"}) + "\n" for i in range(3)))
    backfill.run_backfill(Config(archive=str(tmp_path / "a.db")), [str(tmp_path / "a.jsonl")], workers=1)
    assert merged == [str(tmp_path / "a.db")]
    backfill.run_backfill(Config(archive=str(tmp_path / "a.db")), [str(tmp_path / "a.jsonl")], workers=1)
    assert len(merged) == 1  # nothing new: nothing to merge
    backfill.run_backfill(Config(archive=str(tmp_path / "a.db")), [str(tmp_path / "a.jsonl")], workers=1,
                          optimize=True)
    assert len(merged) == 2
