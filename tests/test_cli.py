"""The CLI as a new user runs it: real subprocesses, a real SQLite file, the real seed article."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

import pytest

from tests.conftest import ROOT, SEED, needs_corpus, run_cli
from worker import pipeline
from worker.archive import Archive
from worker.errors import FetchError
from worker.kinds import make_source

HEADLINE = "Taliban Attack a Provincial Capital in Afghanistan\u2019s North, Freeing Prisoners"


def rows(db, sql, *params):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


@needs_corpus
def test_backfill_the_seed_twice(tmp_path):
    db = tmp_path / "A.db"
    r = run_cli("--archive", str(db), "backfill", str(SEED.parent) + "/")
    assert r.returncode == 0, r.stderr
    assert "1 seen, 1 new, 0 revised, 0 duplicates, 0 skipped" in r.stdout
    [art] = rows(db, "SELECT * FROM articles")
    assert art["headline"] == HEADLINE
    assert art["byline"] == "Thomas Gibbons-Neff"
    assert art["publication"] == "The New York Times"
    assert art["dateline"] == "KABUL, Afghanistan"
    assert art["dek"].startswith("Continuing their offensive")
    assert art["body"].startswith("The Taliban pushed their way into a provincial capital")
    assert art["body"].split("\n\n")[-1].startswith("Thomas Gibbons-Neff reported from Kabul")
    assert art["published_at"] is None and art["first_seen_at"].endswith("Z")
    r = run_cli("--archive", str(db), "backfill", str(SEED.parent))
    assert r.returncode == 0 and "0 new, 0 revised, 1 duplicates" in r.stdout
    assert len(rows(db, "SELECT * FROM articles")) == 1
    assert len(rows(db, "SELECT * FROM sightings")) == 2

    # the same article with a straight apostrophe, under another name: not a second article, but
    # its text, which differs, is kept as a copy seen there; the article keeps showing its own
    copy = tmp_path / "copy" / "straight.txt"
    copy.parent.mkdir()
    copy.write_text(SEED.read_text(encoding="utf-8").replace("\u2019", "'"), encoding="utf-8")
    r = run_cli("--archive", str(db), "backfill", str(copy))
    assert "1 seen, 0 new, 1 revised, 0 duplicates" in r.stdout
    [art] = rows(db, "SELECT * FROM articles")
    assert "\u2019" in art["body"] and (art["version"], art["version_count"]) == (1, 2)
    assert [(v["version"], v["reason"], v["url"]) for v in rows(db, "SELECT * FROM versions ORDER BY version")] == [
        (1, "first", str(SEED)),
        (2, "copy", str(copy)),
    ]
    assert rows(db, "SELECT url FROM sightings ORDER BY id DESC LIMIT 1")[0]["url"] == str(copy)
    r = run_cli("--archive", str(db), "backfill", str(copy))  # that copy again: a sighting, no flip-flop
    assert "1 seen, 0 new, 0 revised, 1 duplicates" in r.stdout

    # search: ours, and sqlite-utils on the file as it is
    r = run_cli("--archive", str(db), "search", "Qala-e-Naw", "--json")
    assert json.loads(r.stdout.splitlines()[0])["headline"] == HEADLINE
    r = subprocess.run(
        [sys.executable, "-m", "sqlite_utils", "search", str(db), "articles", "taliban"], capture_output=True, text=True
    )
    assert r.returncode == 0 and json.loads(r.stdout)[0]["headline"] == HEADLINE


@needs_corpus
@pytest.mark.skipif(
    not any(e.name == "worker" for e in entry_points(group="sqlite_utils")),
    reason="the package is not installed, so sqlite-utils cannot load its plugin",
)
def test_sqlite_utils_searches_hyphenated_words(tmp_path):
    db = tmp_path / "A.db"
    run_cli("--archive", str(db), "backfill", str(SEED))
    sqlite_utils = shutil.which("sqlite-utils", path=os.path.dirname(sys.executable)) or "sqlite-utils"
    r = subprocess.run(
        [sqlite_utils, "search", str(db), "articles", "Qala-e-Naw", "-c", "headline"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"headline": HEADLINE}]


def test_bad_files_are_skipped_and_good_ones_archived(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 40)
    with open(d / "huge.txt", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    (d / "latin1.txt").write_bytes(
        "Caf\u00e9 Owners Protest New Rules\n\nBy Ren\u00e9e Dubois\n\n"
        "PARIS \u2014 Caf\u00e9 owners in the capital protested on Monday against rules that limit terrace hours.\n\n"
        "The protest drew several hundred people to the Place de la R\u00e9publique.".replace("\u2014", "-").encode(
            "latin-1"
        )
    )
    (d / "x.txt").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "text" / "two-authors-captions.txt", d / "good.txt")
    r = run_cli("--archive", str(tmp_path / "a.db"), "--log-format", "json", "backfill", str(d))
    assert r.returncode == 0, r.stderr
    assert "6 seen, 2 new, 0 revised, 0 duplicates, 4 skipped" in r.stdout
    events = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    reasons = {os.path.basename(e["url"]): e["error"] for e in events if e["event"] == "item_skipped"}
    assert set(reasons) == {"empty.txt", "binary.txt", "huge.txt", "x.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["binary.txt"]
    assert "too large" in reasons["huge.txt"] and "folder" in reasons["x.txt"]
    heads = {a["headline"] for a in rows(tmp_path / "a.db", "SELECT headline FROM articles")}
    assert "Caf\u00e9 Owners Protest New Rules" in heads
    [summary] = [e for e in events if e["event"] == "run_finished"]
    assert {k: summary[k] for k in ("source", "trigger", "new", "duplicates", "skipped")} == {
        "source": "backfill",
        "trigger": "backfill",
        "new": 2,
        "duplicates": 0,
        "skipped": 4,
    }
    assert "duration_ms" in summary and "error" in summary


def test_backfill_missing_path_is_one_line(tmp_path):
    r = run_cli("--archive", str(tmp_path / "a.db"), "backfill", str(tmp_path / "nope"))
    assert r.returncode == 1 and r.stderr.strip().endswith("no such file or folder") and "Traceback" not in r.stderr


def config_with_inbox(tmp_path, inbox) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {tmp_path / 'a.db'}\nsources:\n  - name: inbox\n    kind: files\n    path: {inbox}/\n"
        "  - name: paused\n    kind: feed\n    url: https://example.org/rss\n    enabled: false\n"
    )
    return str(cfg)


def test_ingest_status_sources_and_search(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "text" / "two-authors-captions.txt", inbox)
    cfg = config_with_inbox(tmp_path, inbox)
    assert run_cli("--config", cfg, "ingest").returncode == 2
    r = run_cli("--config", cfg, "ingest", "nope")
    assert r.returncode == 1 and "no such source: nope" in r.stderr
    r = run_cli("--config", cfg, "ingest", "inbox")
    assert r.returncode == 0 and "1 new" in r.stdout, r.stderr
    r = run_cli("--config", cfg, "run", "--once")
    assert r.returncode == 0 and "0 seen" in r.stdout
    r = run_cli("--config", cfg, "sources")
    assert "inbox  files  every 1800s" in r.stdout and "(disabled)" in r.stdout
    r = run_cli("--config", cfg, "status")
    assert r.returncode == 0 and "inbox" in r.stdout and "heartbeat: never" in r.stdout
    data = json.loads(run_cli("--config", cfg, "status", "--json").stdout)
    assert data["sources"][0]["source"] == "inbox" and data["totals"]["articles"] == 1
    assert run_cli("--config", cfg, "status", "--check").returncode == 1  # no heartbeat: no service ran
    r = run_cli("--config", cfg, "search", "dockworkers")
    assert "Port Strike Spreads" in r.stdout and "[dockworkers]" in r.stdout.lower()
    r = run_cli("--config", cfg, "search", "zzzz")
    assert r.stdout.strip() == "no matches"


def test_every_command_has_an_example_and_is_documented():
    from worker.cli import cli

    readme = (ROOT / "README.md").read_text()
    for name, command in cli.commands.items():
        assert "Example:" in (command.help or ""), name
        assert f"`worker {name}" in readme, f"worker {name} is not in README.md"
        r = run_cli(name, "--help")
        assert r.returncode == 0 and "Example:" in r.stdout


def test_every_config_key_is_in_config_yaml():
    import dataclasses

    from worker.config import SECTIONS, TOP_KEYS
    from worker.kinds import all_keys
    from worker.models import Config

    text = (ROOT / "config.yaml").read_text()
    keys = [f.name for f in dataclasses.fields(Config) if f.name not in ("path", "default_every")] + list(TOP_KEYS)
    keys += [k for _, checks in SECTIONS.values() for k in checks] + all_keys()
    missing = [k for k in keys if f"{k}:" not in text]
    assert missing == []


def test_status_check_lets_a_source_fail_for_six_hours_by_default(tmp_path, monkeypatch):
    def failing(source, ctx):
        raise FetchError("http://x.example/feed", 500, "Internal Server Error")
        yield

    def ago(hours: float) -> str:
        return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    db = tmp_path / "a.db"
    monkeypatch.setattr(pipeline, "fetch", failing)
    with Archive(db) as archive:
        assert (
            pipeline.ingest(make_source(name="feed", kind="feed", url="http://x.example/feed"), archive).status
            == "error"
        )
        archive.set_meta("heartbeat", ago(0))
        archive.db["source_state"].update("feed", {"failing_since": ago(5.9)})
    assert run_cli("--archive", str(db), "status", "--check").returncode == 0
    with Archive(db) as archive:
        archive.db["source_state"].update("feed", {"failing_since": ago(6.1)})
    late = run_cli("--archive", str(db), "status", "--check")
    assert late.returncode == 1 and "feed failing since" in late.stdout


@pytest.mark.parametrize(
    "command", [["ingest", "--all"], ["run", "--once"], ["backfill", "."], ["status"], ["search", "x"], ["export"]]
)
def test_an_archive_that_is_not_a_database_is_one_line_for_every_command(tmp_path, command):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    config = tmp_path / "config.yaml"
    (tmp_path / "in").mkdir()
    config.write_text("sources:\n  - name: inbox\n    kind: files\n    path: in/\n")
    r = run_cli("--config", str(config), "--archive", str(junk), *command, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "cannot open archive" in r.stderr or "damaged" in r.stderr
