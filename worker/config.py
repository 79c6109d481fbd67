"""load_config(path) -> Config: every key validated, every error one line naming its key path.

Defaults live once, in the dataclasses of ``models.py``; this module only knows how to read
and check each key. Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import math
import re
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

from worker.errors import ConfigError
from worker.models import Config, HttpSettings, SchedulerSettings, Source

KINDS = ("feed", "page", "sitemap", "files")
LOG_FORMATS = ("auto", "console", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_EVERY = "30m"
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, where: str, *, zero: bool = False) -> int:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m`` or a number of seconds -> seconds (> 0 unless ``zero``)."""
    least = 0 if zero else 1
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration like 15m, 2h or 90s, got {value!r}")
    if isinstance(value, (int, float)) and math.isfinite(value) and value >= least:
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            seconds = sum(int(n) * _UNITS[u] for n, u in parts)
            if seconds >= least:
                return seconds
    raise ConfigError(f"{where}: expected a duration like 15m, 2h or 90s, got {value!r}")


def _typed(kind: type) -> Callable[[Any, str], Any]:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}

    def check(value: Any, where: str) -> Any:
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            hint = " (YAML reads on/off/yes/no and bare numbers as values: put it in quotes)" if (
                kind is str and isinstance(value, (bool, int, float))) else ""
            raise ConfigError(f"{where}: expected {names[kind]}, got {value!r}{hint}")
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        if kind in (int, float) and value < 0:
            raise ConfigError(f"{where}: must not be negative, got {value!r}")
        return value

    return check


def _positive(value: Any, where: str) -> float:
    value = _typed(float)(value, where)
    if value <= 0:
        raise ConfigError(f"{where}: must be more than 0, got {value!r}")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, where: str) -> str:
        if value not in options:
            raise ConfigError(f"{where}: expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    return value


def _urls(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a list of URLs, got {value!r}")
    return tuple(_url(v, f"{where}[{i}]") for i, v in enumerate(value))


def _cron(value: Any, where: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a crontab line like '*/15 * * * *', got {value!r}")
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{where}: not a valid crontab line ({exc}), got {value!r}") from None
    return value


def _date(value: Any, where: str) -> str:
    from datetime import date, datetime

    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip())
            return value.strip()
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a date like 2024-01-31, got {value!r}")


_SECTION_CHECKS: dict[str, dict[str, Callable[[Any, str], Any]]] = {
    "http": {
        "user_agent": _typed(str), "timeout": _positive, "max_bytes": _typed(int),
        "per_host_delay": _typed(float), "respect_robots": _typed(bool),
        "allow_private_hosts": _typed(bool), "retries": _typed(int), "max_redirects": _typed(int),
        "backoff_factor": _typed(float), "robots_ttl": parse_duration,
        "deadline": parse_duration,
    },
    "scheduler": {
        "max_workers": _typed(int), "jitter": lambda v, w: parse_duration(v, w, zero=True),
        "shutdown_timeout": lambda v, w: parse_duration(v, w, zero=True),
        "misfire_grace": parse_duration, "max_backoff": parse_duration, "heartbeat": parse_duration,
    },
}
_SOURCE_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "name": _typed(str), "kind": _choice(KINDS), "url": _url, "urls": _urls, "urls_file": _typed(str),
    "path": _typed(str), "every": parse_duration, "cron": _cron, "enabled": _typed(bool),
    "follow_links": _typed(bool), "respect_robots": _typed(bool), "since": _date,
}
_TOP_KEYS = ("archive", "log_format", "log_level", "http", "scheduler", "defaults", "sources")
_REQUIRED = {"feed": ("url",), "sitemap": ("url",), "files": ("path",), "page": ()}
_ONLY_FOR = {"url": ("feed", "sitemap"), "urls": ("page",), "urls_file": ("page",), "path": ("files",),
             "follow_links": ("feed",), "since": ("sitemap",)}


def _unknown(key: Any, known: tuple[str, ...] | list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
    return ConfigError(f"{where}: unknown key{hint}")


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(value).__name__}")
    return value


def _section(raw: Any, name: str, cls: type) -> Any:
    values = {}
    checks = _SECTION_CHECKS[name]
    for key, value in _mapping(raw, name).items():
        if key not in checks:
            raise _unknown(key, list(checks), f"{name}.{key}")
        values[key] = checks[key](value, f"{name}.{key}")
    return cls(**values)


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    resolved = str(p if p.is_absolute() else base / p)
    return resolved + "/" if path.endswith("/") and not resolved.endswith("/") else resolved


def _source(raw: Any, i: int, default_every: int, base: Path) -> Source:
    where = f"sources[{i}]"
    raw = _mapping(raw, where)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _SOURCE_CHECKS:
            raise _unknown(key, list(_SOURCE_CHECKS), f"{where}.{key}")
        values[key] = _SOURCE_CHECKS[key](value, f"{where}.{key}")
    for key in ("name", "kind"):
        if key not in values:
            raise ConfigError(f"{where}.{key}: required")
    kind, name = values["kind"], values["name"]
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ConfigError(f"{where}.name: use letters, digits, '.', '_' or '-', got {name!r}")
    for key in _REQUIRED[kind]:
        if key not in values:
            raise ConfigError(f"{where}.{key}: required for kind '{kind}'")
    for key, kinds in _ONLY_FOR.items():
        if key in values and kind not in kinds:
            raise ConfigError(f"{where}.{key}: only for kind {' or '.join(kinds)}, not '{kind}'")
    if kind == "page" and not ("urls" in values or "urls_file" in values):
        raise ConfigError(f"{where}.urls: kind 'page' needs urls or urls_file")
    if "every" in values and "cron" in values:
        raise ConfigError(f"{where}.cron: give either every or cron, not both")
    for key in ("path", "urls_file"):
        if key in values:
            values[key] = _resolve(values[key], base)
    path = values.get("path")
    if path and not path.endswith("/") and not glob.has_magic(path) and not Path(path).exists():
        raise ConfigError(
            f"{where}.path: no such file or folder: {path} (end a folder path with '/' to create it when missing)"
        )
    if values.get("urls_file") and not Path(values["urls_file"]).is_file():
        raise ConfigError(f"{where}.urls_file: no such file: {values['urls_file']}")
    if "cron" not in values:
        values.setdefault("every", default_every)
    values["urls"] = values.get("urls", ())
    return Source(**values)


def parse_config(data: Any, base: Path, path: str | None = None) -> Config:
    """Validate an already-parsed YAML document (pure; ``base`` resolves relative paths)."""
    data = _mapping(data, "config")
    for key in data:
        if key not in _TOP_KEYS:
            raise _unknown(key, _TOP_KEYS, str(key))
    top: dict[str, Any] = {}
    if "archive" in data:
        top["archive"] = _typed(str)(data["archive"], "archive")
    top["archive"] = _resolve(top.get("archive", Config.archive), base)
    if "log_format" in data:
        top["log_format"] = _choice(LOG_FORMATS)(data["log_format"], "log_format")
    if "log_level" in data:
        top["log_level"] = _choice(LOG_LEVELS)(data["log_level"], "log_level")
    top["http"] = _section(data.get("http"), "http", HttpSettings)
    top["scheduler"] = _section(data.get("scheduler"), "scheduler", SchedulerSettings)
    if top["scheduler"].max_workers < 1:
        raise ConfigError("scheduler.max_workers: must be at least 1")
    defaults = _mapping(data.get("defaults"), "defaults")
    for key in defaults:
        if key != "every":
            raise _unknown(key, ["every"], f"defaults.{key}")
    default_every = parse_duration(defaults.get("every", DEFAULT_EVERY), "defaults.every")
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError(f"sources: expected a list of sources, got {type(raw_sources).__name__}")
    sources = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_sources):
        source = _source(raw, i, default_every, base)
        if source.name in seen:
            raise ConfigError(f"sources[{i}].name: duplicate source name {source.name!r} (also sources[{seen[source.name]}])")
        seen[source.name] = i
        sources.append(source)
    return Config(**top, sources=tuple(sources), path=path)


def load_config(path: str | Path) -> Config:
    """Read and validate config.yaml; any problem is a one-line ``ConfigError``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}: invalid YAML at {where}: {problem}") from None
    except (ValueError, OverflowError) as exc:  # a date or time YAML cannot build, e.g. 2024-02-30
        raise ConfigError(f"{p}: invalid YAML value: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{p}: invalid YAML: nested too deeply") from None
    return parse_config(data, p.resolve().parent, str(p))


def config_dict(config: Config) -> dict[str, Any]:
    """The validated config as plain data (for ``worker check-config``)."""
    out = dataclasses.asdict(config)
    out["sources"] = [
        {k: v for k, v in dataclasses.asdict(s).items() if v not in (None, ())}
        for s in config.sources
    ]
    out.pop("path", None)
    return out
