"""Prometheus metrics: a real `worker run` scraped over HTTP, its values checked against the archive."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import FIXTURES, ROOT, run_cli
from tests.loopback import serve_static
from tests.test_polling import rss
from worker.config import load_config

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of the endpoint, by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def rows(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_a_running_service_is_scraped_and_agrees_with_the_archive(tmp_path, loopback):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("two-authors-captions.txt", "no-dek-no-dateline-photo.txt"):
        shutil.copy(FIXTURES / "text" / name, inbox)
    now = datetime.now().astimezone()
    feed = rss([("Council votes", now), ("Bridge reopens", now)])
    serve_static(loopback, "/feed.xml", feed)
    loopback.route("/broken.xml", status=500, body=b"down")
    db, port = tmp_path / "a.db", free_port()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {db}\nhttp:\n  per_host_delay: 0\n  retries: 0\nscheduler:\n  jitter: 0s\n  heartbeat: 1s\n"
        f"metrics:\n  port: {port}\n"
        f"sources:\n  - name: inbox\n    kind: files\n    path: {inbox}/\n    every: 1h\n"
        f"  - name: wire\n    kind: feed\n    url: {loopback.url('/feed.xml')}\n    every: 1h\n"
        f"  - name: broken\n    kind: feed\n    url: {loopback.url('/broken.xml')}\n    every: 1h\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "--config", str(cfg), "--log-format", "json", "run"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, metrics = time.monotonic() + 30, {}
        while time.monotonic() < deadline:  # each source ran once, then a heartbeat followed
            try:
                metrics = scrape(port)
            except OSError:
                metrics = {}
            runs = sum(v for (name, _), v in metrics.items() if name == "news_worker_runs_total")
            if runs == 3 and metrics.get(("news_worker_archive_articles", ())) == 4:
                break
            time.sleep(0.2)
        t0 = time.perf_counter()
        metrics = scrape(port)
        scrape_ms = (time.perf_counter() - t0) * 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    print(f"scrape of a running service: {scrape_ms:.1f} ms, {len(metrics)} samples")

    def value(name, **labels):
        return metrics[(name, tuple(sorted(labels.items())))]

    for source, status, count in rows(db, "SELECT source, status, count(*) FROM runs GROUP BY source, status"):
        assert value("news_worker_runs_total", source=source, status=status) == count
    assert value("news_worker_runs_total", source="broken", status="error") == 1
    assert value("news_worker_runs_total", source="broken", status="ok") == 0  # every series from the start
    for source, new, dup, skipped, revised, size in rows(
        db,
        "SELECT source, sum(new), sum(duplicates), sum(skipped), sum(revisions), sum(bytes) FROM runs GROUP BY source",
    ):
        assert value("news_worker_articles_total", source=source, outcome="new") == new
        assert value("news_worker_articles_total", source=source, outcome="duplicate") == dup
        assert value("news_worker_articles_total", source=source, outcome="skipped") == skipped
        assert value("news_worker_articles_total", source=source, outcome="revised") == revised
        assert value("news_worker_fetched_bytes_total", source=source) == size
        assert value("news_worker_fetch_duration_seconds_count", source=source) == 1
    assert value("news_worker_fetched_bytes_total", source="wire") == len(feed)
    for source, last_success, failures, failing_since in rows(
        db, "SELECT source, last_success_at, consecutive_failures, failing_since FROM source_state"
    ):
        assert value("news_worker_consecutive_failures", source=source) == failures
        success = value("news_worker_last_success_timestamp_seconds", source=source)
        assert success == (epoch(last_success) if last_success else 0)
        failing = value("news_worker_failing_since_timestamp_seconds", source=source)
        assert failing == (epoch(failing_since) if failing_since else 0)
    assert value("news_worker_consecutive_failures", source="broken") == 1
    assert value("news_worker_interval_seconds", source="wire") == 3600
    ((articles,),) = rows(db, "SELECT count(*) FROM articles")
    assert value("news_worker_archive_articles") == articles == 4
    ((pages, page_size),) = rows(db, "SELECT * FROM pragma_page_count(), pragma_page_size()")
    assert abs(value("news_worker_archive_size_bytes") - pages * page_size) <= 4 * page_size
    ((heartbeat,),) = rows(db, "SELECT value FROM meta WHERE key = 'heartbeat'")
    assert abs(value("news_worker_heartbeat_timestamp_seconds") - epoch(heartbeat)) < 3
    assert value("process_resident_memory_bytes") > 0


def test_metrics_are_off_by_default_and_a_taken_port_is_one_line(tmp_path):
    cfg = tmp_path / "config.yaml"
    (tmp_path / "in").mkdir()
    cfg.write_text(f"archive: {tmp_path / 'a.db'}\nsources:\n  - name: inbox\n    kind: files\n    path: in/\n")
    assert load_config(cfg).metrics.port is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg.write_text(cfg.read_text() + f"metrics:\n  port: {port}\n")
        r = run_cli("--config", str(cfg), "run", cwd=tmp_path, timeout=30)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"metrics: cannot listen on 127.0.0.1:{port}" in r.stderr.strip().splitlines()[-1]
    cfg.write_text(cfg.read_text().replace(f"port: {port}", "port: 70000"))
    r = run_cli("--config", str(cfg), "check-config", cwd=tmp_path)
    assert r.returncode == 2 and "metrics.port: expected a port from 1 to 65535, got 70000" in r.stderr


def test_the_deployment_guides_rules_and_scrape_config_use_what_is_served():
    import re

    import yaml

    from worker.metrics import Metrics
    from worker.models import MetricsSettings

    guide = (ROOT / "docs" / "deployment.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", guide, re.S)]
    (scrape,) = [b for b in blocks if "scrape_configs" in b]
    (rules,) = [b for b in blocks if "groups" in b]
    assert scrape["scrape_configs"][0]["job_name"] == "news-worker"
    served = {m.name for m in Metrics(MetricsSettings(port=1)).registry.collect()}
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    assert set(alerts) == {"NewsWorkerSourceFailing", "NewsWorkerNoHeartbeat"}
    for expr in alerts.values():
        used = set(re.findall(r"news_worker_[a-z_]+", expr))
        assert used and used <= served, used - served
    assert "6 * 3600" in alerts["NewsWorkerSourceFailing"] and "> 300" in alerts["NewsWorkerNoHeartbeat"]
