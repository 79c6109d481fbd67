"""Logging: JSON lines off a terminal, the same renderer for the stdlib loggers of libraries."""

from __future__ import annotations

import io
import json
import logging

import structlog

from worker import log


def test_json_lines_with_fixed_keys_and_library_loggers():
    out = io.StringIO()
    log.setup("auto", "info", stream=out)  # a StringIO is not a terminal: JSON
    structlog.get_logger("worker.pipeline").info("run_finished", source="s", new=1, duplicates=0)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job %s was missed", "inbox")
    logging.getLogger("urllib3.connectionpool").info("chatty per-request line")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["event"] == "run_finished" and lines[0]["source"] == "s" and lines[0]["level"] == "info"
    assert "timestamp" in lines[0]
    assert lines[1]["event"] == "Run time of job inbox was missed" and lines[1]["logger"] == "apscheduler.scheduler"
    assert lines[1]["level"] == "warning"
    assert len(lines) == 2  # urllib3's info lines stay quiet at level info


def test_console_format():
    out = io.StringIO()
    log.setup("console", "debug", stream=out)
    structlog.get_logger("worker").warning("item_skipped", url="x.txt", error="empty file")
    text = out.getvalue()
    assert "item_skipped" in text and "error='empty file'" in text or "error=empty file" in text
    assert not text.lstrip().startswith("{")


def test_every_event_the_deployment_guide_says_to_alert_on_is_logged():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    guide = (root / "docs" / "deployment.md").read_text()
    alerts = guide[guide.index("Events worth alerting on") :].split("\n\n")[0]
    settings = set(re.findall(r"^\s*#?\s*([a-z_]+):", (root / "config.yaml").read_text(), re.M))
    events = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", alerts)) - settings  # `shutdown_timeout` is a setting
    assert {"run_finished", "job_failed", "heartbeat_failed", "source_failed"} <= events
    code = "\n".join(p.read_text() for p in (root / "worker").rglob("*.py"))
    logged = set(re.findall(r"log\.(?:debug|info|warning|error|exception)\(\s*\"([a-z_]+)\"", code))
    logged |= set(re.findall(r"event\(\s*\"([a-z_]+)\"", code))
    assert events - logged == set()
