"""Value checks for configuration keys: each takes (value, where) and returns the value to keep,
or raises a one-line ``ConfigError`` that names the key path (``where``).

Shared by ``worker.config`` (the top level and sections) and ``worker.kinds`` (each source
kind's own keys), so a new kind declares its keys with these and nothing else changes.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from worker.errors import ConfigError

Check = Callable[[Any, str], Any]

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def parse_duration(value: Any, where: str, *, zero: bool = False) -> int:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m`` or a number of seconds -> seconds (> 0 unless ``zero``)."""
    least = 0 if zero else 1
    expected = "a duration like 15m, 2h or 90s"
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected {expected}, got {short(value)}")
    if isinstance(value, (int, float)) and math.isfinite(value):
        if value >= least:
            return int(value)
        raise ConfigError(f"{where}: must be {'0 or more' if zero else 'more than 0'}, got {short(value)}")
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            seconds = sum(int(n) * _UNITS[u] for n, u in parts)
            if seconds >= least:
                return seconds
            raise ConfigError(f"{where}: must be more than 0, got {short(value)}")
    raise ConfigError(f"{where}: expected {expected}, got {short(value)}")


def duration(zero: bool = False) -> Check:
    return lambda value, where: parse_duration(value, where, zero=zero)


def format_duration(seconds: float) -> str:
    """Seconds as the config writes them: ``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``."""
    seconds = int(seconds)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def short(value: Any, limit: int = 80) -> str:
    """A value for a message: its repr, cut to ``limit`` characters (an expanded YAML value
    can be huge; it is never formatted whole)."""
    if isinstance(value, (list, dict, tuple)):
        text = f"a {type(value).__name__} of {len(value)} items"
        return text
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def typed(kind: type) -> Check:
    """A value of one type (an int is a float too); numbers never negative."""

    def check(value: Any, where: str) -> Any:
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            hint = (
                " (YAML reads on/off/yes/no and bare numbers as values: put it in quotes)"
                if (kind is str and isinstance(value, (bool, int, float)))
                else ""
            )
            raise ConfigError(f"{where}: expected {_TYPE_NAMES[kind]}, got {short(value)}{hint}")
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got {short(value)}")
        if kind in (int, float) and value < 0:
            raise ConfigError(f"{where}: must not be negative, got {short(value)}")
        return value

    return check


def positive(value: Any, where: str) -> float:
    value = typed(float)(value, where)
    if value <= 0:
        raise ConfigError(f"{where}: must be more than 0, got {short(value)}")
    return value


def port(value: Any, where: str) -> int | None:
    """A TCP port (1-65535), or nothing (None: the feature is off)."""
    if value is None:
        return None
    value = typed(int)(value, where)
    if not 1 <= value <= 65535:
        raise ConfigError(f"{where}: expected a port from 1 to 65535, got {short(value)}")
    return value


def choice(options: tuple[str, ...]) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in options:
            raise ConfigError(f"{where}: expected one of {', '.join(options)}, got {short(value)}")
        return value

    return check


def url(value: Any, where: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {short(value)}")
    return value


def urls(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: expected a list of URLs, got {short(value)}")
    return tuple(url(v, f"{where}[{i}]") for i, v in enumerate(value))


def cron(value: Any, where: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a crontab line like '*/15 * * * *', got {short(value)}")
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{where}: not a valid crontab line ({exc}), got {short(value)}") from None
    return value


def iso_date(value: Any, where: str) -> str:
    """A calendar date (YAML may already have made it a date), kept as ``YYYY-MM-DD`` text."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip())
            return value.strip()
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a date like 2024-01-31, got {short(value)}")


def mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(value).__name__}")
    return value


def unknown(key: Any, known: Iterable[str], where: str) -> ConfigError:
    known = list(known)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
    return ConfigError(f"{where}: unknown key{hint}")
