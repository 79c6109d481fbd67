"""`worker backfill` of WARC files end to end: a file, a folder, a glob and a URL; only HTML
responses archived, everything else counted; --host and --since/--until; resumable; a finished
file not read again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.test_revisions import story
from tests.warc_files import PNG, join, metadata, page, request, response, revisit, warcinfo, wrong_length


def html_page(title: str, seed: int) -> bytes:
    paras = "".join(f"<p>{p}</p>" for p in story(seed, sentences=10).split("\n\n"))
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{paras}</article></body></html>".encode()


def sample(gz: bool = True) -> bytes:
    """Three pages (two hosts, three days) among every other kind of record, the last one torn."""
    a, b, c = "https://www.example.com/a", "https://example.com/b", "https://other.org/c"
    records = [
        warcinfo(),
        request(a), page(a, html_page("Harbour reopens", 1), date="2024-05-01T10:00:00Z"), metadata(a),
        request(b), page(b, html_page("Ferry fares frozen", 2), date="2024-05-02T10:00:00Z"),
        page(c, html_page("Bridge to close", 3), date="2024-05-03T10:00:00Z"),
        revisit("https://example.com/a2", a, html_page("Harbour reopens", 1)),
        response("https://example.com/logo.png", PNG, headers=[("Content-Type", "image/png")]),
        response("https://example.com/gone", b"<html>gone</html>", status="404 Not Found"),
        response("https://example.com/old", b"", status="301 Moved Permanently",
                 headers=[("Location", "https://example.com/b"), ("Content-Length", "0")]),
        wrong_length(page("https://example.com/broken", html_page("Broken", 4)), 7),
    ]  # fmt: skip
    data = join(records, gz)
    torn = join([page("https://example.com/torn", html_page("Torn", 5))], gz)
    return data + torn[: len(torn) // 2]


def rows(db: Path, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def events(stderr: str, name: str) -> list[dict]:
    return [e for line in stderr.splitlines() if line.startswith("{") and (e := json.loads(line))["event"] == name]


@pytest.mark.parametrize("gz", [True, False])
def test_a_warc_file_gives_its_html_pages_and_counts_the_rest(tmp_path, gz):
    f = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    f.write_bytes(sample(gz))
    db = tmp_path / "a.db"
    r = run_cli("--archive", str(db), "--log-format", "json", "backfill", str(f))
    assert r.returncode == 0, r.stderr
    assert "3 new" in r.stdout
    headlines = {h for (h,) in rows(db, "SELECT headline FROM articles")}
    assert headlines == {"Harbour reopens", "Ferry fares frozen", "Bridge to close"}
    (read,) = events(r.stderr, "warc_read")
    counts = read["counts"]
    assert counts["html"] == 3 and counts["request"] == 2 and counts["metadata"] == 1 and counts["revisit"] == 1
    assert counts["not_html"] == 1 and counts["not_ok"] == 1 and counts["redirect"] == 1 and counts["warcinfo"] == 1
    # the record's URL and WARC-Date are the page's URL and fetch date
    first = rows(db, "SELECT s.url, s.seen_at FROM sightings s JOIN articles a ON a.id = s.article_id "
                     "WHERE a.headline = 'Harbour reopens'")  # fmt: skip
    assert first == [("https://www.example.com/a", "2024-05-01T10:00:00Z")]
    again = run_cli("--archive", str(db), "backfill", str(f))  # a finished file is not read again
    assert again.returncode == 0 and "0 new" in again.stdout and "3 duplicates" in again.stdout


def test_host_and_date_filters(tmp_path):
    f = tmp_path / "crawl.warc.gz"
    f.write_bytes(sample())
    db = tmp_path / "a.db"
    r = run_cli("--archive", str(db), "backfill", "--host", "example.com", str(f))
    assert r.returncode == 0 and "2 new" in r.stdout, r.stderr
    r = run_cli("--archive", str(db), "backfill", "--since", "2024-05-03", str(f))
    assert "1 new" in r.stdout
    assert {h for (h,) in rows(db, "SELECT headline FROM articles")} == {
        "Harbour reopens", "Ferry fares frozen", "Bridge to close"}  # fmt: skip
    other = tmp_path / "b.db"
    r = run_cli("--archive", str(other), "backfill", "--since", "2024-05-02", "--until", "2024-05-02", str(f))
    assert "1 new" in r.stdout and rows(other, "SELECT headline FROM articles") == [("Ferry fares frozen",)]
    bad = run_cli("--archive", str(other), "backfill", "--host", "example.com", str(tmp_path))
    assert bad.returncode == 1 and "--host, --since and --until filter WARC inputs only" in bad.stderr


def test_a_folder_a_glob_and_a_url(tmp_path, loopback):
    folder = tmp_path / "warcs"
    folder.mkdir()
    for i in range(2):
        (folder / f"part-{i}.warc.gz").write_bytes(
            join([page(f"https://p{i}.example/x", html_page(f"Story {i} of the folder", 10 + i))], True)
        )
    db = tmp_path / "a.db"
    r = run_cli("--archive", str(db), "backfill", str(folder))
    assert r.returncode == 0 and "2 new" in r.stdout, r.stdout + r.stderr
    r = run_cli("--archive", str(tmp_path / "g.db"), "backfill", str(folder / "*.warc.gz"))
    assert r.returncode == 0 and "2 new" in r.stdout
    data = sample()
    loopback.route("/crawl.warc.gz", body=[data[i : i + 4096] for i in range(0, len(data), 4096)],
                   headers={"Content-Type": "application/warc"})  # fmt: skip
    r = run_cli("--archive", str(tmp_path / "u.db"), "backfill", loopback.url("/crawl.warc.gz"))
    assert r.returncode == 0 and "3 new" in r.stdout, r.stderr
    r = run_cli("--archive", str(tmp_path / "u.db"), "backfill", loopback.url("/crawl.warc.gz"))
    assert "0 new" in r.stdout  # read again over the network, every page a duplicate


@pytest.mark.slow
def test_a_killed_warc_backfill_goes_on_from_its_last_checkpoint(tmp_path):
    big = tmp_path / "big.warc.gz"
    big.write_bytes(join([page(f"https://n.example/{i}", html_page(f"Story number {i}", 1000 + i))
                          for i in range(2600)], True))  # fmt: skip
    db = tmp_path / "a.db"
    cmd = [sys.executable, "-m", "worker", "--archive", str(db), "--log-format", "json", "backfill",
           "--workers", "1", str(big)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            saved = rows(db, "SELECT value FROM fetch_state")
        except sqlite3.Error:
            continue
        if saved and "@" in saved[0][0]:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    stored = rows(db, "SELECT count(*) FROM articles")[0][0]
    offset = int(rows(db, "SELECT value FROM fetch_state")[0][0].split("@")[1].split(":")[0])
    assert 1000 <= stored < 2600 and offset > 0
    done = run_cli("--archive", str(db), "--log-format", "json", "backfill", "--workers", "1", str(big), timeout=600)
    assert done.returncode == 0, done.stderr
    (read,) = events(done.stderr, "warc_read")
    assert read["start"] == offset  # went on from the checkpoint, not from the start
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 2600
    assert rows(db, "SELECT count(*) FROM (SELECT headline FROM articles GROUP BY headline HAVING count(*) > 1)") == [
        (0,)]  # fmt: skip
