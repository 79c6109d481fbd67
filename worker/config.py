"""load_config(path) -> Config: every key validated, every error one line naming its key path.

Defaults live once, in the dataclasses of ``models.py``; the keys of each source kind live in
``worker.kinds``; this module reads the file and checks the top level and the sections.
Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from worker import checks
from worker.errors import ConfigError
from worker.kinds import build_source, kind_named
from worker.models import CaptureSettings, Config, HttpSettings, MetricsSettings, SchedulerSettings

LOG_FORMATS = ("auto", "console", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_NODES = 100_000  # YAML nodes a config may expand to through aliases (an alias bomb is refused)

SECTIONS: dict[str, tuple[type, dict[str, checks.Check]]] = {
    "http": (
        HttpSettings,
        {
            "user_agent": checks.typed(str),
            "timeout": checks.positive,
            "max_bytes": checks.typed(int),
            "per_host_delay": checks.typed(float),
            "respect_robots": checks.typed(bool),
            "allow_private_hosts": checks.typed(bool),
            "retries": checks.typed(int),
            "max_redirects": checks.typed(int),
            "backoff_factor": checks.typed(float),
            "robots_ttl": checks.duration(),
            "deadline": checks.duration(),
        },
    ),
    "capture": (
        CaptureSettings,
        {"enabled": checks.typed(bool), "rotate_bytes": checks.typed(int)},
    ),
    "scheduler": (
        SchedulerSettings,
        {
            "max_workers": checks.typed(int),
            "jitter": checks.duration(zero=True),
            "shutdown_timeout": checks.duration(zero=True),
            "misfire_grace": checks.duration(),
            "max_backoff": checks.duration(),
            "heartbeat": checks.duration(),
        },
    ),
    "metrics": (
        MetricsSettings,
        {
            "port": checks.port,
            "host": checks.typed(str),
        },
    ),
}
DURATIONS = frozenset(
    {"robots_ttl", "deadline", "jitter", "shutdown_timeout", "misfire_grace", "max_backoff", "heartbeat", "every"}
)
TOP_KEYS = ("archive", "log_format", "log_level", "http", "scheduler", "capture", "metrics", "defaults", "sources")


def _section(raw: Any, name: str) -> Any:
    cls, checkers = SECTIONS[name]
    values = {}
    for key, value in checks.mapping(raw, name).items():
        if key not in checkers:
            raise checks.unknown(key, checkers, f"{name}.{key}")
        values[key] = checkers[key](value, f"{name}.{key}")
    return cls(**values)


def parse_config(data: Any, base: Path, path: str | None = None) -> Config:
    """Validate an already-parsed YAML document (pure; ``base`` resolves relative paths)."""
    data = checks.mapping(data, "config")
    for key in data:
        if key not in TOP_KEYS:
            raise checks.unknown(key, TOP_KEYS, str(key))
    top: dict[str, Any] = {}
    archive = checks.typed(str)(data["archive"], "archive") if "archive" in data else Config.archive
    top["archive"] = str(Path(archive).expanduser() if Path(archive).expanduser().is_absolute() else base / archive)
    if "log_format" in data:
        top["log_format"] = checks.choice(LOG_FORMATS)(data["log_format"], "log_format")
    if "log_level" in data:
        top["log_level"] = checks.choice(LOG_LEVELS)(data["log_level"], "log_level")
    top["http"] = _section(data.get("http"), "http")
    top["scheduler"] = _section(data.get("scheduler"), "scheduler")
    top["capture"] = _section(data.get("capture"), "capture")
    if top["capture"].rotate_bytes < 1_000_000:
        raise ConfigError("capture.rotate_bytes: must be at least 1000000 (1 MB)")
    top["metrics"] = _section(data.get("metrics"), "metrics")
    if top["scheduler"].max_workers < 1:
        raise ConfigError("scheduler.max_workers: must be at least 1")
    defaults = checks.mapping(data.get("defaults"), "defaults")
    for key in defaults:
        if key != "every":
            raise checks.unknown(key, ["every"], f"defaults.{key}")
    top["default_every"] = checks.parse_duration(defaults.get("every", Config.default_every), "defaults.every")
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError(f"sources: expected a list of sources, got {type(raw_sources).__name__}")
    sources = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_sources):
        where = f"sources[{i}]"
        source = build_source(checks.mapping(raw, where), where, default_every=top["default_every"], base=base)
        if source.name in seen:
            raise ConfigError(
                f"{where}.name: duplicate source name {source.name!r} (also sources[{seen[source.name]}])"
            )
        seen[source.name] = i
        sources.append(source)
    return Config(**top, sources=tuple(sources), path=path)


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, with dates left as text (``since: 2024-13-01`` is then reported with
    its key, by the key's own check) and aliases that expand past ``MAX_NODES`` refused."""

    def compose_document(self) -> Any:
        node = super().compose_document()
        if _expanded_size(node, {}) > MAX_NODES:
            raise ConfigError(f"YAML aliases expand to more than {MAX_NODES} values (an alias bomb?)")
        return node


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """How many nodes the document has with every alias expanded (each shared node counted once
    per reference, computed once)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a node that refers back to itself counts once
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(min(_expanded_size(child, sizes), MAX_NODES + 1) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(min(_expanded_size(k, sizes) + _expanded_size(v, sizes), MAX_NODES + 1) for k, v in node.value)
    else:
        size = 1
    sizes[id(node)] = min(size, MAX_NODES + 1)
    return sizes[id(node)]


def read_yaml(text: str, where: str) -> Any:
    """One YAML document, or a one-line ConfigError naming ``where`` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML at {line}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid YAML: nested too deeply") from None
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate config.yaml; any problem is a one-line ``ConfigError``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file ({exc})") from None
    return parse_config(read_yaml(text, str(p)), p.resolve().parent, str(p))


def config_dict(config: Config) -> dict[str, Any]:
    """The validated config as a config file would say it (for ``worker check-config``): every
    default filled in, durations as durations, each source with only its kind's keys. Loading
    it again gives the same Config."""

    def section(settings: Any) -> dict[str, Any]:
        return {k: checks.format_duration(v) if k in DURATIONS else v for k, v in dataclasses.asdict(settings).items()}

    out: dict[str, Any] = {
        "archive": config.archive,
        "log_format": config.log_format,
        "log_level": config.log_level,
        "http": section(config.http),
        "scheduler": section(config.scheduler),
        "capture": section(config.capture),
        "metrics": section(config.metrics),
        "defaults": {"every": checks.format_duration(config.default_every)},
    }
    sources = []
    for s in config.sources:
        kind = kind_named(s.kind)
        entry: dict[str, Any] = {"name": s.name, "kind": s.kind}
        entry.update({k.name: _written(k, s.options[k.name]) for k in kind.keys if k.name in s.options})
        if s.cron:
            entry["cron"] = s.cron
        else:
            entry["every"] = "auto" if s.auto else checks.format_duration(s.every or config.default_every)
        entry.update(enabled=s.enabled, respect_robots=s.respect_robots)
        if s.capture is not None:
            entry["capture"] = s.capture
        sources.append(entry)
    out["sources"] = sources
    return out


def _written(key: Any, value: Any) -> Any:
    """A kind's key as a config file says it: a list for a tuple, a duration for seconds."""
    if isinstance(value, tuple):
        return list(value)
    return checks.format_duration(value) if key.duration else value
