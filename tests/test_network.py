"""Network sources end to end: real feeds served from a loopback HTTP server, `worker run --once`."""

from __future__ import annotations

import sqlite3

from tests.conftest import CORPUS, needs_corpus, run_cli
from tests.loopback import LoopbackServer, serve_static
from worker.fetchers.feed import parse_feed
from worker.identity import story_key
from worker.models import RawItem

FEEDS = sorted((CORPUS / "feeds").glob("*.xml")) if CORPUS.is_dir() else []
FAST_HTTP = (
    "http:\n  per_host_delay: 0\n  retries: 1\n  backoff_factor: 0.01\n  timeout: 5\n  allow_private_hosts: true\n"
)


def write_config(tmp_path, sources: str, http: str = FAST_HTTP) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"archive: {tmp_path / 'a.db'}\n{http}scheduler:\n  max_workers: 4\nsources:\n{sources}")
    return str(cfg)


def query(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@needs_corpus
def test_corpus_feeds_archived_once_then_not_modified_then_backoff(tmp_path):
    server = LoopbackServer().start()
    try:
        sources, expected = "", set()
        for i, feed in enumerate(FEEDS):
            data = feed.read_bytes()
            # half the feeds validate with ETag, half with Last-Modified only
            serve_static(server, f"/{feed.name}", data, "application/rss+xml", etag=i % 2 == 0)
            sources += f"  - name: {feed.stem[:40]}\n    kind: feed\n    url: {server.url('/' + feed.name)}\n"
            items, _ = parse_feed(data, server.url("/" + feed.name), source="x")
            expected |= {story_key(i.hints.headline, i.hints.publication) for i in items if isinstance(i, RawItem)}
        cfg = write_config(tmp_path, sources)
        db = tmp_path / "a.db"

        r = run_cli("--config", cfg, "run", "--once", timeout=300)
        assert r.returncode == 0, r.stderr
        assert "failed" not in r.stdout
        stored = {h for (h,) in query(db, "SELECT headline_hash FROM articles")}
        assert stored == expected
        assert query(db, "SELECT count(*) FROM runs WHERE status != 'ok'") == [(0,)]
        first_requests = server.count()

        r = run_cli("--config", cfg, "run", "--once", timeout=300)
        assert r.returncode == 0 and " 0 new" in r.stdout, r.stdout
        second = query(db, "SELECT not_modified, http_status FROM runs WHERE id > ?", len(FEEDS))
        assert second == [(1, 304)] * len(FEEDS)
        assert server.count() == 2 * first_requests
        assert run_cli("--config", cfg, "status").stdout.count("ok (304)") == len(FEEDS)
    finally:
        server.stop()

    r = run_cli("--config", cfg, "run", "--once", timeout=300)
    assert r.returncode == 0
    assert f"{len(FEEDS)} failed" in r.stdout
    state = query(db, "SELECT consecutive_failures, next_due_at FROM source_state")
    assert all(f == 1 and due for f, due in state)
    assert {h for (h,) in query(db, "SELECT headline_hash FROM articles")} == expected
    status = run_cli("--config", cfg, "status")
    assert "connection refused" in status.stdout
