"""Raw capture through real runs: every response a network source receives is a WARC record
beside the archive, linked to the versions and sightings it gave; an unchanged payload is a
revisit; a torn record left by a crash is cut off at the next start; local files only when asked."""

from __future__ import annotations

import gzip
import sqlite3
import subprocess
import sys
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.conftest import run_cli
from tests.loopback import LoopbackServer, serve_static
from tests.test_network_pages import article

FEED = (
    "<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour</title>"
    "<item><title>Pier Rebuild Approved</title><link>{url}</link><description>Short teaser.</description>"
    "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item></channel></rss>"
)


def rows(db: Path, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def warc_files(folder: Path) -> list[Path]:
    return sorted((folder / "warc").rglob("*.warc.gz"))


def records(path: Path) -> list[tuple[str, str | None]]:
    """(WARC-Type, target URI) of every record, read in full (digests checked) by warcio."""
    out = []
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh, check_digests="raise"):
            record.content_stream().read()
            out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI")))
    return out


def write_config(tmp_path: Path, site: LoopbackServer, extra: str = "") -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {tmp_path / 'a.db'}\nhttp:\n  per_host_delay: 0\n  retries: 0\n  timeout: 5\n"
        f"  allow_private_hosts: true\n  respect_robots: false\nsources:\n"
        f"  - name: harbour\n    kind: feed\n    url: {site.url('/feed.xml')}\n    follow_links: true\n{extra}"
    )
    return str(cfg)


def test_responses_are_captured_linked_and_revisited(tmp_path):
    with LoopbackServer() as site:
        serve_static(site, "/story.html", article("Pier Rebuild Approved"), "text/html")
        feed = FEED.format(url=site.url("/story.html")).encode()
        serve_static(site, "/feed.xml", feed, etag=False, last_modified=None)  # no validators: fetched whole
        cfg = write_config(tmp_path, site)
        first = run_cli("--config", cfg, "ingest", "harbour")
        assert first.returncode == 0 and "1 new" in first.stdout, first.stderr
        second = run_cli("--config", cfg, "ingest", "harbour")
        assert second.returncode == 0, second.stderr
        feed_url, story_url = site.url("/feed.xml"), site.url("/story.html")
    db = tmp_path / "a.db"
    files = warc_files(tmp_path)  # one file per process that wrote (a run starts its own)
    assert len(files) == 2 and all(f.relative_to(tmp_path / "warc").parts[0].isdigit() for f in files)
    found = [record for f in files for record in records(f)]
    assert found[0] == ("warcinfo", None)
    responses = [uri for kind, uri in found if kind == "response"]
    assert sorted(responses) == sorted([feed_url, story_url])
    assert [uri for kind, uri in found if kind == "revisit"] == [feed_url]  # the unchanged feed
    assert len([k for k, _ in found if k == "request"]) == 3
    captured = rows(db, "SELECT url, status, revisit_of IS NOT NULL, file FROM captures ORDER BY id")
    assert [(u, s, r) for u, s, r, _ in captured] == [
        (feed_url, 200, 0), (story_url, 200, 0), (feed_url, 200, 1)
    ]  # fmt: skip
    assert {f for *_, f in captured} == {str(f.relative_to(tmp_path)) for f in files}
    # the article's first version came from the page's record; its sightings name their records
    linked = rows(db, "SELECT c.url FROM version_captures vc JOIN captures c ON c.id = vc.capture_id")
    assert linked == [(story_url,)]
    sighted = rows(db, "SELECT c.url FROM sightings s JOIN captures c ON c.id = s.capture_id ORDER BY s.id")
    assert sighted == [(story_url,), (feed_url,)]  # then seen again in the feed
    # every record reads back at its offset
    from worker.capture import read_record
    from worker.captures import Captures
    from worker.models import CaptureRef, CaptureSettings

    captures = Captures(str(db), CaptureSettings())
    for row in rows(db, f"SELECT {'file, offset, length, digest, fetched_at, status, record_id, url, revisit_of'} "
                        "FROM captures"):  # fmt: skip
        back = read_record(tmp_path, CaptureRef(*row), lookup=captures.original)
        assert back.status == 200 and (b"<rss" in back.payload or b"<article>" in back.payload)
    captures.close()


def test_capture_is_off_for_a_source_that_says_so_and_for_local_files(tmp_path):
    with LoopbackServer() as site:
        serve_static(site, "/story.html", article("Pier Rebuild Approved"), "text/html")
        serve_static(site, "/feed.xml", FEED.format(url=site.url("/story.html")).encode())
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        (inbox / "a.txt").write_text("A Headline\n\nA body of text that is long enough to be an article here.\n")
        cfg = write_config(tmp_path, site, "    capture: false\n  - name: inbox\n    kind: files\n    path: inbox/\n")
        r = run_cli("--config", cfg, "run", "--once")
        assert r.returncode == 0, r.stderr
    assert warc_files(tmp_path) == [] and rows(tmp_path / "a.db", "SELECT count(*) FROM captures") == [(0,)]


def test_a_files_source_may_keep_its_files_as_resource_records(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text("A Headline\n\nA body of text that is long enough to be an article here.\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"archive: {tmp_path / 'a.db'}\nsources:\n  - name: inbox\n    kind: files\n    path: inbox/\n"
                   "    capture: true\n")  # fmt: skip
    assert run_cli("--config", str(cfg), "ingest", "inbox").returncode == 0
    (path,) = warc_files(tmp_path)
    assert [k for k, _ in records(path)] == ["warcinfo", "resource"]
    assert rows(tmp_path / "a.db", "SELECT count(*) FROM version_captures") == [(1,)]


def test_a_torn_last_record_is_cut_off_at_the_next_start(tmp_path):
    with LoopbackServer() as site:
        serve_static(site, "/story.html", article("Pier Rebuild Approved"), "text/html")
        serve_static(site, "/feed.xml", FEED.format(url=site.url("/story.html")).encode(), etag=False,
                     last_modified=None)  # fmt: skip
        cfg = write_config(tmp_path, site)
        assert run_cli("--config", cfg, "ingest", "harbour").returncode == 0
        (path,) = warc_files(tmp_path)
        whole = path.read_bytes()
        torn = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 100000\r\n\r\npartial")
        path.write_bytes(whole + torn[: len(torn) // 2])  # what a kill -9 in mid-write leaves
        r = run_cli("--config", cfg, "--log-format", "json", "ingest", "harbour")
        assert r.returncode == 0 and "capture_recovered" in r.stderr, r.stderr
    for file in warc_files(tmp_path):
        check = subprocess.run(
            [Path(sys.executable).parent / "warcio", "check", str(file)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        records(file)  # reads to the end, every digest checked
    assert path.read_bytes()[: len(whole)] == whole


def test_reclean_gives_a_new_version_where_the_cleaner_now_differs_then_changes_nothing(tmp_path):
    import hashlib

    with LoopbackServer() as site:
        serve_static(site, "/story.html", article("Pier Rebuild Approved"), "text/html")
        serve_static(site, "/feed.xml", FEED.format(url=site.url("/story.html")).encode())
        cfg = write_config(tmp_path, site)
        assert run_cli("--config", cfg, "ingest", "harbour").returncode == 0
    db = tmp_path / "a.db"
    ((aid, body),) = rows(db, "SELECT id, body FROM articles")
    # what an older cleaner made of the page: its last paragraph missing
    older = "\n\n".join(body.split("\n\n")[:-1])
    digest = hashlib.sha256(older.encode()).hexdigest()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE articles SET body = ?, content_hash = ? WHERE id = ?", [older, digest, aid])
    # (its one version is the text the article shows: the row keeps the hash, the text is the article's)
    conn.execute("UPDATE version_rows SET content_hash = ? WHERE article_id = ?", [digest, aid])
    conn.commit()
    conn.close()
    sightings = rows(db, "SELECT count(*) FROM sightings")
    assert run_cli("--archive", str(db), "reclean", "--ids", "999").stdout.startswith("reclean: 0 run(s)")
    r = run_cli("--archive", str(db), "reclean", "--source", "harbour")
    assert r.returncode == 0 and "1 revised" in r.stdout, r.stdout + r.stderr
    assert rows(db, "SELECT version, reason, body = ? FROM versions ORDER BY version", body) == [
        (1, "first", 0), (2, "reclean", 1)]  # fmt: skip
    assert rows(db, "SELECT body FROM articles") == [(body,)]  # the article shows the text of its own page
    assert rows(db, "SELECT count(*) FROM version_captures") == [(2,)]
    again = run_cli("--archive", str(db), "reclean")
    assert again.returncode == 0 and "0 new, 0 revised, 1 duplicates" in again.stdout, again.stdout
    assert (
        rows(db, "SELECT count(*) FROM versions") == [(2,)] and rows(db, "SELECT count(*) FROM sightings") == sightings
    )
