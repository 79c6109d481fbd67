"""load_config: every bad value is one line naming its key path; defaults live in models.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli
from worker.checks import parse_duration
from worker.config import load_config, parse_config
from worker.errors import ConfigError
from worker.models import Config, HttpSettings, SchedulerSettings


def cfg(tmp_path: Path, data) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return p


def error_of(tmp_path, data) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(cfg(tmp_path, data))
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_the_shipped_config_is_valid():
    config = load_config(ROOT / "config.yaml")
    assert config.archive == str(ROOT / "archive" / "archive.db")
    assert all(s.enabled for s in config.sources)
    assert config.sources[0].name == "inbox" and config.sources[0].options["path"].endswith("archive/inbox/")
    assert {s.kind for s in config.sources} == {"files", "feed"}
    assert all(s.options["url"].startswith("https://") for s in config.sources if s.kind == "feed")


def test_defaults_come_from_the_models(tmp_path):
    config = load_config(cfg(tmp_path, {"sources": [{"name": "a", "kind": "files", "path": "in/"}]}))
    assert config.http == HttpSettings()
    assert config.scheduler == SchedulerSettings()
    assert config.sources[0].every == 30 * 60
    assert config.archive == str(tmp_path / Config.archive)
    assert config.sources[0].options["path"] == str(tmp_path / "in") + "/"


@pytest.mark.parametrize(
    ("value", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (45, 45)]
)
def test_durations(value, seconds):
    assert parse_duration(value, "x") == seconds


@pytest.mark.parametrize("value", ["15 minutes", "15", "m", "-5m", True, "1.5h", None, [1]])
def test_bad_durations(value):
    with pytest.raises(ConfigError, match=r"^x: expected a duration like 15m"):
        parse_duration(value, "x")


@pytest.mark.parametrize("value", [0, "0s", "0m", -3])
def test_a_duration_must_be_positive(value):
    with pytest.raises(ConfigError, match=r"^x: must be more than 0"):
        parse_duration(value, "x")


SRC = {"name": "a", "kind": "files", "path": "in/"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"sources": [{**SRC, "evry": "5m"}]}, "sources[0].evry: unknown key (did you mean 'every'?)"),
        ({"archve": "x.db"}, "archve: unknown key (did you mean 'archive'?)"),
        ({"http": {"timout": 3}}, "http.timout: unknown key (did you mean 'timeout'?)"),
        ({"http": {"timeout": "fast"}}, "http.timeout: expected a number, got 'fast'"),
        ({"http": {"respect_robots": "yes"}}, "http.respect_robots: expected true or false, got 'yes'"),
        ({"http": {"max_bytes": -1}}, "http.max_bytes: must not be negative, got -1"),
        ({"scheduler": {"max_workers": 0}}, "scheduler.max_workers: must be at least 1"),
        ({"scheduler": []}, "scheduler: expected a mapping of keys, got list"),
        ({"log_format": "xml"}, "log_format: expected one of auto, console, json, got 'xml'"),
        (
            {"sources": [{**SRC, "every": "15 minutes"}]},
            "sources[0].every: expected a duration like 15m, 2h or 90s, got '15 minutes'",
        ),
        ({"sources": [SRC, SRC]}, "sources[1].name: duplicate source name 'a' (also sources[0])"),
        ({"sources": [{"name": "a", "kind": "files"}]}, "sources[0].path: required for kind 'files'"),
        ({"sources": [{"name": "a", "kind": "feed"}]}, "sources[0].url: required for kind 'feed'"),
        (
            {"sources": [{"name": "a", "kind": "rss", "url": "http://x"}]},
            "sources[0].kind: expected one of files, feed, page, sitemap, warc, got 'rss'",
        ),
        (
            {"sources": [{"name": "a", "kind": "feed", "url": "ftp://x/y"}]},
            "sources[0].url: expected an http:// or https:// URL, got 'ftp://x/y'",
        ),
        ({"sources": [{**SRC, "cron": "every day"}]}, "sources[0].cron: not a valid crontab line"),
        ({"sources": [{**SRC, "cron": "* * * * *", "every": "5m"}]}, "sources[0].cron: give either every or cron"),
        ({"sources": [{**SRC, "url": "http://x/y"}]}, "sources[0].url: only for kind feed or sitemap, not 'files'"),
        (
            {"sources": [{"name": "a", "kind": "files", "path": "missing.txt"}]},
            "sources[0].path: no such file or folder",
        ),
        ({"sources": [{"kind": "files", "path": "in/"}]}, "sources[0].name: required"),
        ({"sources": [{**SRC, "name": "a b"}]}, "sources[0].name: use letters, digits"),
        ({"sources": [{**SRC, "name": False}]}, "sources[0].name: expected a string, got False (YAML reads on/off"),
        ({"sources": {"a": 1}}, "sources: expected a list of sources, got dict"),
        ({"sources": ["inbox"]}, "sources[0]: expected a mapping of keys, got str"),
        ({"sources": [{"name": "p", "kind": "page"}]}, "sources[0].urls: kind 'page' needs urls or urls_file"),
        ({"defaults": {"every": "soon"}}, "defaults.every: expected a duration"),
        (
            {"sources": [{"name": "s", "kind": "sitemap", "url": "http://x/s.xml", "since": "last week"}]},
            "sources[0].since: expected a date like 2024-01-31, got 'last week'",
        ),
    ],
)
def test_bad_config_names_the_key(tmp_path, data, expected):
    assert error_of(tmp_path, data).startswith(expected)


def test_invalid_yaml_and_missing_file(tmp_path):
    assert "invalid YAML at line 3" in error_of(tmp_path, "sources:\n  - name: [a\n")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_kinds_and_cron(tmp_path):
    (tmp_path / "urls.txt").write_text("https://example.org/a\n")
    config = parse_config(
        {
            "sources": [
                {"name": "f", "kind": "feed", "url": "https://example.org/rss", "cron": "*/15 * * * *"},
                {"name": "p", "kind": "page", "urls": ["https://example.org/a"], "urls_file": "urls.txt"},
                {"name": "s", "kind": "sitemap", "url": "https://example.org/sitemap.xml", "since": "2024-01-31"},
                {"name": "g", "kind": "files", "path": "*.txt"},
            ]
        },
        tmp_path,
    )
    f, p, s, g = config.sources
    assert f.cron == "*/15 * * * *" and f.every is None
    assert p.options["urls"] == ("https://example.org/a",) and p.options["urls_file"] == str(tmp_path / "urls.txt")
    assert s.options["since"] == "2024-01-31"
    assert g.options["path"] == str(tmp_path / "*.txt")
    assert f.options == {  # defaults filled in
        "url": "https://example.org/rss",
        "follow_links": False,
        "min_every": 300,
        "max_every": 86400,
    }


def test_check_config_cli(tmp_path):
    bad = cfg(tmp_path, "sources:\n  - name: a\n    kind: files\n    path: in/\n    evry: 5m\n")
    r = run_cli("--config", str(bad), "check-config")
    assert r.returncode == 2
    assert r.stderr.strip() == "Error: sources[0].evry: unknown key (did you mean 'every'?)"
    assert "Traceback" not in r.stderr
    r = run_cli("--config", str(ROOT / "config.yaml"), "check-config")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(r.stdout)["sources"][0]["name"] == "inbox"


def test_check_config_prints_a_config_that_loads_back_the_same(tmp_path):
    (tmp_path / "urls.txt").write_text("https://example.org/a\n")
    (tmp_path / "in").mkdir()
    src = cfg(
        tmp_path,
        {
            "scheduler": {"jitter": "45s", "max_backoff": "12h"},
            "http": {"robots_ttl": "2h", "timeout": 7},
            "defaults": {"every": "20m"},
            "sources": [
                {"name": "f", "kind": "feed", "url": "https://example.org/rss", "cron": "*/15 * * * *"},
                {
                    "name": "p",
                    "kind": "page",
                    "urls": ["https://example.org/a"],
                    "urls_file": "urls.txt",
                    "enabled": False,
                },
                {"name": "s", "kind": "sitemap", "url": "https://example.org/sitemap.xml", "since": "2024-01-31"},
                {"name": "g", "kind": "files", "path": "in/"},
            ],
        },
    )
    r = run_cli("--config", str(src), "check-config")
    assert r.returncode == 0, r.stderr
    printed = tmp_path / "printed.yaml"
    printed.write_text(r.stdout)
    again = load_config(printed)
    first = load_config(src)
    assert again.sources == first.sources and again.http == first.http and again.scheduler == first.scheduler
    assert again.default_every == first.default_every == 1200
    text = r.stdout
    assert "jitter: 45s" in text and "max_backoff: 12h" in text and "every: 20m" in text
    assert "follow_links" not in text.split("name: g")[1]  # a files source has no feed keys


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path):
    import time

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["sources: *a9"]
    t0 = time.monotonic()
    msg = error_of(tmp_path, "\n".join(lines) + "\n")
    assert time.monotonic() - t0 < 2
    assert "aliases expand to more than" in msg and len(msg) < 300


def test_a_bad_date_names_its_key(tmp_path):
    msg = error_of(
        tmp_path, "sources:\n  - name: s\n    kind: sitemap\n    url: http://x.example/s.xml\n    since: 2024-13-01\n"
    )
    assert msg == "sources[0].since: expected a date like 2024-01-31, got '2024-13-01'"
    assert (
        error_of(tmp_path, {"sources": [{**SRC, "every": "0s"}]}) == "sources[0].every: must be more than 0, got '0s'"
    )
