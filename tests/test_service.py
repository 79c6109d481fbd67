"""`worker run` as a real process: scheduled runs, SIGTERM, the single-instance lock, SIGHUP."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import FIXTURES, ROOT
from worker.kinds import make_source
from worker.models import Config, SchedulerSettings
from worker.scheduler import Service

pytestmark = pytest.mark.slow


def start(cfg, *extra) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "--config", str(cfg), "--log-format", "json", "run", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    return False


def query(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def service_config(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "text" / "two-authors-captions.txt", inbox)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {tmp_path / 'a.db'}\nscheduler:\n  jitter: 0s\n  heartbeat: 1s\n"
        f"sources:\n  - name: inbox\n    kind: files\n    path: {inbox}/\n    every: 1s\n"
    )
    return cfg, tmp_path / "a.db", inbox


def test_run_sigterm_exits_zero_and_records_runs(service_config):
    cfg, db, inbox = service_config
    proc = start(cfg)
    try:
        assert wait_for(lambda: query(db, "SELECT count(*) FROM runs WHERE status = 'ok'")[0][0] >= 2)
        shutil.copy(FIXTURES / "text" / "no-dek-no-dateline-photo.txt", inbox)  # picked up on the next run
        assert wait_for(lambda: query(db, "SELECT count(*) FROM articles")[0][0] == 2)
        assert query(db, "SELECT value FROM meta WHERE key = 'heartbeat'")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert '"event": "service_stopped"' in err
    statuses = {s for (s,) in query(db, "SELECT DISTINCT status FROM runs")}
    assert statuses <= {"ok", "interrupted"} and "running" not in statuses


def test_second_instance_refuses(service_config):
    cfg, db, _ = service_config
    first = start(cfg)
    try:
        assert wait_for(lambda: query(db, "SELECT count(*) FROM runs")[0][0] >= 1)
        second = start(cfg)
        out, err = second.communicate(timeout=30)
        assert second.returncode == 1
        assert "already running on this archive" in err and "Traceback" not in err
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=10)
    assert first.returncode == 0


def test_stale_lock_of_a_killed_service_is_taken_over(service_config):
    cfg, db, _ = service_config
    first = start(cfg)
    assert wait_for(lambda: query(db, "SELECT count(*) FROM runs")[0][0] >= 1)
    first.kill()
    first.communicate(timeout=10)
    second = start(cfg)
    try:
        assert wait_for(lambda: query(db, f"SELECT count(*) FROM runs WHERE pid = {second.pid}")[0][0] >= 1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=10)
    assert second.returncode == 0
    assert query(db, "SELECT count(*) FROM runs WHERE status = 'running'")[0][0] == 0


def test_jobs_coalesce_never_overlap_and_keep_the_misfire_grace(tmp_path):
    settings = SchedulerSettings(max_workers=3, jitter=7, misfire_grace=120)
    sources = (
        make_source(name="every", kind="files", path=str(tmp_path), every=900),
        make_source(name="nightly", kind="files", path=str(tmp_path), cron="0 3 * * *"),
    )
    service = Service(Config(archive=str(tmp_path / "a.db"), scheduler=settings, sources=sources), None)
    service._register()
    service.scheduler.start(paused=True)  # in its own thread; paused: the jobs get their settings but never run
    try:
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
    finally:
        service.scheduler.shutdown(wait=False)
    for name in ("every", "nightly"):
        job = jobs[name]
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 120
    assert jobs["every"].trigger.interval.total_seconds() == 900 and jobs["every"].trigger.jitter == 7
    assert str(jobs["nightly"].trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', minute='0']"
    assert service.scheduler._executors["default"]._pool._max_workers == 3


def test_sighup_removes_and_changes_jobs(service_config, tmp_path):
    cfg, db, inbox = service_config
    other = tmp_path / "other"
    other.mkdir()
    head = cfg.read_text().split("sources:\n")[0]
    cfg.write_text(cfg.read_text() + f"  - name: other\n    kind: files\n    path: {other}/\n    every: 1h\n")
    proc = start(cfg)

    def runs(source):
        return query(db, f"SELECT count(*) FROM runs WHERE source = '{source}'")[0][0]

    try:
        assert wait_for(lambda: runs("inbox") >= 2 and runs("other") == 1)
        cfg.write_text(head + f"sources:\n  - name: other\n    kind: files\n    path: {other}/\n    every: 1s\n")
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: runs("other") >= 3)  # every 1h became every 1s
        removed = runs("inbox")
        time.sleep(2.5)
        assert runs("inbox") == removed  # inbox is no longer scheduled
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_sighup_reloads_and_a_bad_config_keeps_the_old(service_config, tmp_path):
    cfg, db, inbox = service_config
    proc = start(cfg)
    try:
        assert wait_for(lambda: query(db, "SELECT count(*) FROM runs")[0][0] >= 1)
        other = tmp_path / "other"
        other.mkdir()
        shutil.copy(FIXTURES / "text" / "crlf-three-authors-reuters.txt", other)
        cfg.write_text(cfg.read_text() + f"  - name: other\n    kind: files\n    path: {other}/\n    every: 1s\n")
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: query(db, "SELECT count(*) FROM runs WHERE source = 'other'")[0][0] >= 1)
        cfg.write_text(cfg.read_text().replace("every: 1s", "every: soon", 1))
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        n = query(db, "SELECT count(*) FROM runs WHERE source = 'inbox'")[0][0]
        assert wait_for(lambda: query(db, "SELECT count(*) FROM runs WHERE source = 'inbox'")[0][0] > n)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert '"event": "config_reload_failed"' in err and "sources[0].every" in err
