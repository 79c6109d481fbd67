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
