"""Subscriptions in and out: feed readers' OPML exports imported into config.yaml (its comments and
layout kept), OPML 2.0 exported, hostile OPML refused with one line."""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path

import listparser
import pytest

from tests.conftest import FIXTURES, ROOT, run_cli
from worker.config import load_config
from worker.config_file import indentation, with_sources
from worker.errors import ConfigError, WorkerError
from worker.kinds import NAME_RULE
from worker.opml import MAX_BYTES, name_for, parse_opml, plan_import, read_opml, same_url

OPML = FIXTURES / "opml"
READERS = ("miniflux", "freshrss", "feedly", "inoreader", "netnewswire")


@pytest.fixture
def shipped(tmp_path) -> Path:
    """A copy of the shipped config.yaml."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "config.yaml").read_text())
    return cfg


def sources_import(cfg: Path, *args: str):
    return run_cli("--config", str(cfg), "sources", "import", *args, cwd=cfg.parent)


def only_added(old: str, new: str) -> list[str]:
    """The lines ``new`` adds to ``old``; fails when any line of ``old`` changed or went."""
    ops = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False).get_opcodes()
    assert {tag for tag, *_ in ops} <= {"equal", "insert"}, [op for op in ops if op[0] not in ("equal", "insert")]
    return [line for tag, _, _, j1, j2 in ops if tag == "insert" for line in new.splitlines()[j1:j2]]


# ---------------------------------------------------------------- reading the readers' exports


@pytest.mark.parametrize(
    ("reader", "expected"),
    [
        ("miniflux", 4),
        ("freshrss", 4),
        ("feedly", 4),
        ("inoreader", 4),  # DW News is in two folders: once
        ("netnewswire", 4),  # a folder in a folder
    ],
)
def test_every_feed_of_a_readers_export_is_read(reader, expected):
    feeds = read_opml(OPML / f"{reader}.opml")
    assert len(feeds) == expected
    assert all(f.url and f.title for f in feeds)


def test_titles_and_urls_are_decoded():
    feeds = {f.url: f.title for f in read_opml(OPML / "freshrss.opml")}
    assert feeds["https://hnrss.org/frontpage?points=100&comments=25"] == "Hacker News: Front Page"
    assert feeds["https://www.aljazeera.com/xml/rss/all.xml"].startswith("Al Jazeera – Breaking News")
    nested = {f.url for f in read_opml(OPML / "netnewswire.opml")}
    assert "https://www.reutersagency.com/feed/?taxonomy=best-regions&post_type=best" in nested  # two folders deep


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("title", "url", "name"),
    [
        ("BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml", "bbc-news-world"),
        ("Süddeutsche Zeitung", "https://rss.sueddeutsche.de/rss/Topthemen", "suddeutsche-zeitung"),
        ("新华网", "http://www.xinhuanet.com/english/rss/worldrss.xml", "xinhuanet.com"),
        ("", "https://www.example.org/feed", "example.org"),
        ("...The Daily -- Edition!!", "https://x.example/f", "the-daily-edition"),
        ("Le Monde.fr - International", "https://www.lemonde.fr/x", "le-monde.fr-international"),
        ("A" * 80, "https://x.example/f", "a" * 40),
    ],
)
def test_names_come_from_titles(title, url, name):
    assert name_for(title, url, set()) == name


def test_names_are_unique_and_valid():
    taken = {"reuters-world", "reuters-world-2"}
    assert name_for("Reuters: World", "https://x.example/f", taken) == "reuters-world-3"
    long = name_for("B" * 80, "https://x.example/f", {"b" * 40})
    assert long == "b" * 38 + "-2" and NAME_RULE.fullmatch(long)


def test_the_same_url_however_written():
    assert same_url("HTTPS://Feeds.BBCI.co.uk:443/news/rss.xml") == same_url("https://feeds.bbci.co.uk/news/rss.xml")
    assert same_url("http://example.org") == same_url("http://example.org/")
    assert same_url("http://example.org/feed?a=1") != same_url("http://example.org/feed?a=2")


def test_a_plan_skips_what_is_configured_twice_or_not_http(shipped):
    feeds = read_opml(OPML / "inoreader.opml") + read_opml(OPML / "netnewswire.opml")
    plan = plan_import(feeds, load_config(shipped).sources)
    assert plan.skipped == (("feed://podcasts.example.org/show.xml", "not an http or https URL"),)
    assert plan.known == ("https://feeds.bbci.co.uk/news/world/rss.xml",)  # in the shipped config
    names = [name for name, _ in plan.added]
    assert "reuters-world" in names and "reuters-world-2" in names and len(set(names)) == len(names)


# ---------------------------------------------------------------- import through the CLI


def test_import_keeps_the_file_and_adds_each_new_feed(shipped):
    before = shipped.read_text()
    dry = sources_import(shipped, str(OPML / "feedly.opml"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert shipped.read_text() == before  # nothing written
    assert "would add: nyt-world-news" not in dry.stdout  # configured as nyt-world already
    assert "already configured: https://rss.nytimes.com/services/xml/rss/nyt/World.xml" in dry.stdout
    assert "would add: xinhuanet.com  http://www.xinhuanet.com/english/rss/worldrss.xml" in dry.stdout
    assert dry.stdout.strip().endswith(
        "import (dry run): 2 feed(s) would be added to config.yaml, 2 already configured, 0 skipped (nothing written)"
    )
    r = sources_import(shipped, str(OPML / "feedly.opml"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace("added: ", "would add: ").splitlines()[:-1] == dry.stdout.splitlines()[:-1]
    after = shipped.read_text()
    assert after.startswith(before)  # every comment, blank line and quote of the file kept
    added = only_added(before, after)
    assert added[1].startswith("  # imported from feedly.opml on ")
    assert added[2:] == [
        "  - name: xinhuanet.com",
        "    kind: feed",
        "    url: http://www.xinhuanet.com/english/rss/worldrss.xml",
        "",
        "  - name: nhk-world-japan-news",
        "    kind: feed",
        "    url: https://www3.nhk.or.jp/nhkworld/en/news/feeds/",
    ]
    check = run_cli("--config", str(shipped), "check-config", cwd=shipped.parent)
    assert check.returncode == 0 and "# ok: 7 source(s), 7 enabled" in check.stderr
    again = sources_import(shipped, str(OPML / "feedly.opml"))
    assert "0 feed(s) added" in again.stdout and shipped.read_text() == after


def test_every_readers_export_imports_then_exports_then_imports_nothing(tmp_path):
    cfg = tmp_path / "config.yaml"
    (tmp_path / "inbox").mkdir()
    cfg.write_text("# my worker\nsources:\n  - name: inbox   # local files\n    kind: files\n    path: inbox/\n")
    for reader in READERS:
        assert sources_import(cfg, str(OPML / f"{reader}.opml")).returncode == 0
    config = load_config(cfg)
    feeds = {s.name: s.options["url"] for s in config.sources if s.kind == "feed"}
    assert len(feeds) == 16  # 20 feeds in the five files: 3 twice, 1 not http
    assert all(NAME_RULE.fullmatch(name) for name in feeds)
    exported = tmp_path / "out.opml"
    r = run_cli("--config", str(cfg), "sources", "export", "-o", str(exported), cwd=tmp_path)
    assert r.returncode == 0 and "export: 16 feed(s)" in r.stderr
    parsed = listparser.parse(exported.read_bytes())
    assert parsed.version == "opml2" and not parsed.bozo
    assert {f.url for f in parsed.feeds} == set(feeds.values())
    before = cfg.read_text()
    r = sources_import(cfg, str(exported))
    assert r.returncode == 0 and "0 feed(s) added" in r.stdout and "16 already configured" in r.stdout
    assert cfg.read_text() == before
    elsewhere = tmp_path / "other.yaml"  # the export read into an empty config gives the same sources
    elsewhere.write_text("sources:\n")
    assert sources_import(elsewhere, str(exported)).returncode == 0
    assert {s.name: s.options["url"] for s in load_config(elsewhere).sources} == feeds
    assert run_cli("--config", str(cfg), "sources", cwd=tmp_path).stdout.count("  feed  every 1800s  ") == 16


def test_another_layout_is_kept_too(tmp_path):
    (tmp_path / "in").mkdir()
    cfg = tmp_path / "config.yaml"
    text = (
        "# indented by four, list items at the margin\n"
        "http:\n"
        "    user_agent: 'my-archive/1.0 (ops@example.org)'   # who we are\n"
        "    timeout: 10\n"
        "sources:\n"
        "- name: inbox\n"
        "  kind: files\n"
        "  path: in/\n"
        "  every: 5m   # often\n"
        "# the end\n"
    )
    cfg.write_text(text)
    assert indentation(text) == (4, 2, 0)
    assert sources_import(cfg, str(OPML / "miniflux.opml")).returncode == 0
    added = only_added(text, cfg.read_text())
    assert "- name: bbc-news-world" in added and "  kind: feed" in added
    assert load_config(cfg).source("dw-deutsche-welle").options["url"] == "https://rss.dw.com/rdf/rss-en-all"


def test_a_config_without_sources_gets_them(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("log_level: debug   # chatty\n")
    assert sources_import(cfg, str(OPML / "netnewswire.opml")).returncode == 0
    assert cfg.read_text().startswith("log_level: debug   # chatty\nsources:\n")
    assert len(load_config(cfg).sources) == 4


def test_a_layout_that_cannot_be_kept_is_refused_not_rewritten():
    text = "sources: [{name: inbox, kind: files, path: in/}]   # all on one line\n"
    with pytest.raises(ConfigError, match=r"line 1 would change when sources are added"):
        with_sources(text, [{"name": "x", "kind": "feed", "url": "https://x.example/f"}], "note")


def test_the_sources_commands_are_documented():
    from worker.cli_sources import sources

    readme = (ROOT / "README.md").read_text()
    for name, command in sources.commands.items():
        assert "Example:" in (command.help or ""), name
        assert f"`worker sources {name}" in readme, name


# ---------------------------------------------------------------- hostile OPML


def refused(path: Path, tmp_path: Path):
    cfg = tmp_path / "config.yaml"
    if not cfg.exists():
        cfg.write_text("sources:\n")
    before = cfg.read_text()
    r = sources_import(cfg, str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert cfg.read_text() == before
    return r.stderr.strip()


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://x.example/f"/></body></opml>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/f"/></body></opml>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL, EXTERNAL.replace("DOCTYPE", "doctype")])
def test_entities_and_doctypes_are_refused(tmp_path, document):
    path = tmp_path / "evil.opml"
    path.write_text(document)
    t0 = time.monotonic()
    message = refused(path, tmp_path)
    assert time.monotonic() - t0 < 10
    assert message == f"Error: {path}: refused: OPML with a DOCTYPE or entity declarations (entity expansion)"


def test_utf16_is_checked_too():
    with pytest.raises(WorkerError, match="DOCTYPE"):
        parse_opml(EXTERNAL.replace('<?xml version="1.0"?>', "").encode("utf-16"))
    assert len(parse_opml((OPML / "feedly.opml").read_text().replace("UTF-8", "UTF-16").encode("utf-16"))) == 4


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.opml"
    head = b'<?xml version="1.0"?><opml version="2.0"><body>'
    path.write_bytes(head + b" " * (MAX_BYTES - len(head) + 1))
    assert refused(path, tmp_path) == f"Error: {path}: larger than 10 MB, refused"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ((FIXTURES / "feeds" / "rss2.xml").read_bytes(), "no <opml> root element"),
        (b"<html><body><p>Not a list</p></body></html>", "no <opml> root element"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"", "no <opml> root element"),
    ],
)
def test_what_is_not_opml_is_refused(tmp_path, content, reason):
    path = tmp_path / "list.opml"
    path.write_bytes(content)
    assert refused(path, tmp_path) == f"Error: {path}: not an OPML file ({reason})"


def test_the_file_is_read_never_fetched(tmp_path, loopback):
    loopback.route("/list.opml", body=(OPML / "feedly.opml").read_bytes())
    path = tmp_path / "link.opml"
    path.write_text(loopback.url("/list.opml"))  # a file that holds only a URL
    assert re.search(r"not an OPML file", refused(path, tmp_path))
    assert loopback.count() == 0
    missing = refused(tmp_path / "nope.opml", tmp_path)
    assert missing.startswith(f"Error: {tmp_path / 'nope.opml'}: cannot read")
