"""The registry of source kinds: each kind is declared once, here.

A kind names its fetch function, its own config keys (which are required, their checks and
defaults) and how a ``worker backfill`` argument is recognised as it. Config validation, the
pipeline, ``--kind`` and backfill read this registry, so a new kind is one ``register`` call
(and its fetcher module). Fetch functions are named as ``"module:function"`` and imported only
when a source of that kind runs.
"""

from __future__ import annotations

import glob
import importlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from worker import checks, polling
from worker.errors import ConfigError, WorkerError
from worker.models import CaptureSettings, Options, Source

if TYPE_CHECKING:
    from worker.fetchers import FetchContext, FetchOutput

Fetch = Callable[[Source, "FetchContext"], Iterator["FetchOutput"]]

NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # what a source's name may be


def _every(value: Any, where: str) -> int | str:
    return "auto" if value == "auto" else checks.parse_duration(value, where)


# keys every source has, whatever its kind (the Source dataclass's own fields)
COMMON_KEYS: dict[str, checks.Check] = {
    "name": checks.typed(str),
    "kind": lambda value, where: kind_named(value, where).name,
    "every": _every,
    "cron": checks.cron,
    "enabled": checks.typed(bool),
    "respect_robots": checks.typed(bool),
    "capture": checks.typed(bool),
}


@dataclass(frozen=True)
class Key:
    """One config key of a kind."""

    name: str
    check: checks.Check
    required: bool = False
    default: Any = None  # filled in when the key is not given (None: left out)
    path: bool = False  # a file path: resolved against the config file's folder
    duration: bool = False  # seconds, written back as a duration (``15m``)
    help: str = ""


@dataclass(frozen=True)
class Kind:
    """A source kind: what it reads, with which keys, and how backfill recognises its arguments."""

    name: str
    fetch: str | Fetch  # "module:function", imported when first used, or the function itself
    keys: tuple[Key, ...] = ()
    argument: str | None = None  # the key a backfill argument fills (None: not for backfill)
    guess: Callable[[str], int] = field(default=lambda arg: 0)  # how well an argument fits, 0 = not
    network: bool = True  # needs the HTTP client
    captures: bool | None = None  # keeps its raw responses by default (None: when it is a network kind)
    validate: Callable[[Mapping[str, Any], str], None] | None = None  # rules across its keys
    prepare: Callable[[str], str] = field(default=lambda arg: arg)  # a backfill argument -> the key's value
    help: str = ""

    def fetcher(self) -> Fetch:
        if callable(self.fetch):
            return self.fetch
        module, _, name = self.fetch.partition(":")
        fetch: Fetch = getattr(importlib.import_module(module), name)
        return fetch

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


REGISTRY: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add (or replace) a kind; returns it."""
    REGISTRY[kind.name] = kind
    return kind


def kind_named(name: Any, where: str = "kind") -> Kind:
    kind = REGISTRY.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ConfigError(f"{where}: expected one of {', '.join(REGISTRY)}, got {checks.short(name)}")
    return kind


def all_keys() -> list[str]:
    """Every key a source may have, of any kind (for 'did you mean')."""
    return list(dict.fromkeys([*COMMON_KEYS, *(k.name for kind in REGISTRY.values() for k in kind.keys)]))


def build_source(
    raw: Mapping[str, Any], where: str, *, default_every: int | None = None, base: Path | None = None
) -> Source:
    """A validated Source from a config mapping: common keys, then the kind's own keys with
    their defaults, paths resolved against ``base`` (the config file's folder)."""
    values: dict[str, Any] = {}
    if "kind" not in raw:
        raise ConfigError(f"{where}.kind: required")
    kind = kind_named(raw["kind"], f"{where}.kind")
    for key, value in raw.items():
        if key in COMMON_KEYS:
            values[key] = COMMON_KEYS[key](value, f"{where}.{key}")
        elif (own := kind.key(key)) is not None:
            values[key] = own.check(value, f"{where}.{key}")
            if own.path and base is not None:
                values[key] = _resolve(values[key], base)
        elif key in all_keys():
            owners = [k.name for k in REGISTRY.values() if k.key(key) is not None]
            raise ConfigError(f"{where}.{key}: only for kind {' or '.join(owners)}, not '{kind.name}'")
        else:
            raise checks.unknown(key, [*COMMON_KEYS, *(k.name for k in kind.keys)], f"{where}.{key}")
    if "name" not in values:
        raise ConfigError(f"{where}.name: required")
    name = values["name"]
    if not NAME_RULE.fullmatch(name):
        raise ConfigError(f"{where}.name: use letters, digits, '.', '_' or '-', got {checks.short(name)}")
    if "every" in values and "cron" in values:
        raise ConfigError(f"{where}.cron: give either every or cron, not both")
    if values.get("every") == "auto":
        if kind.key("min_every") is None:
            raise ConfigError(f"{where}.every: 'auto' is only for kind feed, not '{kind.name}'")
        del values["every"]
        values["auto"] = True
    options = {}
    for own in kind.keys:
        if own.name in values:
            options[own.name] = values.pop(own.name)
        elif own.required:
            raise ConfigError(f"{where}.{own.name}: required for kind '{kind.name}'")
        elif own.default is not None:
            options[own.name] = own.default
    if kind.validate is not None:
        kind.validate(options, where)
    if "cron" not in values and "auto" not in values and default_every is not None:
        values.setdefault("every", default_every)
    return Source(**values, options=Options(options))


def captures(source: Source, settings: CaptureSettings) -> bool:
    """Whether a run of ``source`` keeps its raw responses: as the source says, else network
    sources as ``capture.enabled`` says and local ones not."""
    if source.capture is not None:
        return source.capture
    kind = kind_named(source.kind)
    return settings.enabled and (kind.network if kind.captures is None else kind.captures)


def make_source(name: str, kind: str, **keys: Any) -> Source:
    """A Source built in code (a backfill argument, a test) through the same checks as config."""
    return build_source({"name": name, "kind": kind, **keys}, f"source {name!r}")


def guess(argument: str) -> Kind:
    """The kind a backfill argument is, by the kinds' own ``guess`` (the best score wins)."""
    scored = [(kind.guess(argument), i, kind) for i, kind in enumerate(REGISTRY.values()) if kind.argument]
    best = max(scored, key=lambda s: (s[0], -s[1]), default=None)
    if best is not None and best[0] > 0:
        return best[2]
    scheme = urlsplit(argument).scheme
    if len(scheme) > 1:
        raise WorkerError(f"{argument}: unsupported URL scheme {scheme!r} (http and https only)")
    raise WorkerError(f"{argument}: no source kind reads this (see --kind)")


def _resolve(path: str, base: Path) -> str:
    if is_url(path):
        return path
    p = Path(path).expanduser()
    resolved = str(p if p.is_absolute() else base / p)
    return resolved + "/" if path.endswith("/") and not resolved.endswith("/") else resolved


def is_url(argument: str) -> bool:
    return urlsplit(argument).scheme in ("http", "https")


# ---------------------------------------------------------------- the built-in kinds


def _local_path(argument: str) -> str:
    """A path argument as the files kind keeps it: absolute; a glob as given."""
    if glob.has_magic(argument):
        if next(glob.iglob(argument, recursive=True), None) is None:
            raise WorkerError(f"{argument}: no file matches this pattern")
        return argument
    if not Path(argument).exists():
        raise WorkerError(f"{argument}: no such file or folder")
    return str(Path(argument).resolve())


def _files_path(options: Mapping[str, Any], where: str) -> None:
    path = options["path"]
    if is_url(path):
        return  # a WARC file over HTTP
    if path and not path.endswith("/") and not glob.has_magic(path) and not Path(path).exists():
        raise ConfigError(
            f"{where}.path: no such file or folder: {path} (end a folder path with '/' to create it when missing)"
        )


def _polling_range(options: Mapping[str, Any], where: str) -> None:
    if options["min_every"] > options["max_every"]:
        raise ConfigError(
            f"{where}.min_every: must not be more than max_every ({checks.format_duration(options['max_every'])})"
        )


def _page_urls(options: Mapping[str, Any], where: str) -> None:
    if not options.get("urls") and not options.get("urls_file"):
        raise ConfigError(f"{where}.urls: kind 'page' needs urls or urls_file")
    if options.get("urls_file") and not Path(options["urls_file"]).is_file():
        raise ConfigError(f"{where}.urls_file: no such file: {options['urls_file']}")


def _url_path(argument: str) -> str:
    return urlsplit(argument).path.lower() if is_url(argument) else ""


def _feed_guess(argument: str) -> int:
    path = _url_path(argument)
    return 2 if any(w in path for w in ("/feed", "/rss", ".rss", ".atom", "atom.xml", ".xml", ".json")) else 0


def _sitemap_guess(argument: str) -> int:
    path = _url_path(argument)
    return 3 if "sitemap" in path or path.endswith(".xml.gz") else 0


register(
    Kind(
        name="files",
        fetch="worker.fetchers.files:fetch",
        keys=(
            Key(
                "path",
                checks.typed(str),
                required=True,
                path=True,
                help="a file, a folder (walked recursively) or a glob",
            ),
        ),
        argument="path",
        guess=lambda arg: 0 if urlsplit(arg).scheme else 1,
        network=False,
        validate=_files_path,
        prepare=_local_path,
        help=".txt, .html/.htm, .jsonl/.json and .xml/.rss/.atom files",
    )
)
register(
    Kind(
        name="feed",
        fetch="worker.fetchers.feed:fetch",
        keys=(
            Key("url", checks.url, required=True),
            Key("follow_links", checks.typed(bool), default=False, help="fetch each new item's page"),
            Key(
                "min_every",
                checks.duration(),
                default=polling.MIN_EVERY,
                duration=True,
                help="with every: auto, the shortest interval",
            ),
            Key(
                "max_every",
                checks.duration(),
                default=polling.MAX_EVERY,
                duration=True,
                help="with every: auto, the longest interval; also caps what a feed asks for",
            ),
        ),
        argument="url",
        guess=_feed_guess,
        validate=_polling_range,
        help="RSS 0.9/1.0/2.0, Atom or JSON Feed",
    )
)
register(
    Kind(
        name="page",
        fetch="worker.fetchers.page:fetch",
        keys=(
            Key("urls", checks.urls, default=()),
            Key("urls_file", checks.typed(str), path=True, help="a file with one URL per line"),
        ),
        argument="urls",
        guess=lambda arg: 1 if is_url(arg) else 0,
        validate=_page_urls,
        help="article pages",
    )
)
register(
    Kind(
        name="sitemap",
        fetch="worker.fetchers.sitemap:fetch",
        keys=(
            Key("url", checks.url, required=True),
            Key("since", checks.iso_date, help="only URLs modified on or after this date"),
        ),
        argument="url",
        guess=_sitemap_guess,
        help="a sitemap index, urlset or Google News sitemap (gzipped too)",
    )
)


WARC_SUFFIXES = (".warc", ".warc.gz")


def _warc_guess(argument: str) -> int:
    """A WARC file or URL, a glob of them, or a folder that holds them and nothing else read."""
    name = (_url_path(argument) if is_url(argument) else argument).lower().rstrip("/")
    if name.endswith(WARC_SUFFIXES):
        return 4
    if is_url(argument) or glob.has_magic(argument) or not Path(argument).is_dir():
        return 0
    try:
        with os.scandir(argument) as entries:
            names = [e.name.lower() for _, e in zip(range(500), entries) if not e.name.startswith(".")]
    except OSError:
        return 0
    warcs = [n for n in names if n.endswith(WARC_SUFFIXES)]
    return 2 if warcs and len(warcs) == len(names) else 0


def _warc_argument(argument: str) -> str:
    return argument if is_url(argument) else _local_path(argument)


register(
    Kind(
        name="warc",
        fetch="worker.fetchers.warc:fetch",
        keys=(
            Key(
                "path",
                checks.typed(str),
                required=True,
                path=True,
                help="a .warc/.warc.gz file, a folder or glob of them, or an http(s) URL of one",
            ),
            Key("host", checks.typed(str), help="only records of this host or its subdomains"),
            Key("since", checks.iso_date, help="only records fetched (WARC-Date) on or after this date"),
            Key("until", checks.iso_date, help="only records fetched on or before this date"),
        ),  # fmt: skip
        argument="path",
        guess=_warc_guess,
        network=True,  # a URL is streamed with the HTTP settings
        captures=False,  # what it reads is a capture already
        validate=_files_path,
        prepare=_warc_argument,
        help="WARC files (Common Crawl News, web archives): HTML responses archived, the rest counted",
    )
)
