"""structlog set-up: readable console lines on a terminal, JSON lines otherwise.

The stdlib loggers of APScheduler and urllib3 go through the same processors, so a service
manager's journal gets one format.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def setup(fmt: str = "auto", level: str = "info", stream=None) -> None:
    """Configure logging once per process. ``fmt`` is auto | console | json."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=getattr(stream, "isatty", lambda: False)())
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = _Handler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
    # chatty libraries: their warnings matter, their per-request info lines do not
    for name in ("apscheduler", "urllib3"):
        logging.getLogger(name).setLevel(max(LEVELS.get(level, logging.INFO), logging.WARNING))


_status: Callable[[], str] | None = None  # the status line shown under the log lines, if any


def set_status(render: Callable[[], str] | None) -> None:
    """Keep a status line (a backfill's progress) at the bottom of a terminal: each log line
    clears it first and draws it again after itself. None removes it."""
    global _status
    _status = render


class _Handler(logging.StreamHandler):
    def emit(self, record: logging.LogRecord) -> None:
        status = _status
        if status is None:
            super().emit(record)
            return
        self.stream.write(CLEAR_LINE)
        super().emit(record)
        self.stream.write(status())
        self.flush()


CLEAR_LINE = "\r\x1b[K"  # back to the line's start, erase to its end


def flush() -> None:
    """Write out what the log handlers hold (before a process ends without unwinding)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
