"""Pathological inputs: absurd nesting, huge files, entity bombs and external entities, NUL bytes,
broken encodings, odd file names, files that change while read, broken configs, hostile queries.

Each one is either archived, skipped with a logged reason, or refused with one clear line; none
stops a run, raises anything but ``ParseError`` from a parser, or prints a traceback.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli
from tests.loopback import serve_static
from worker.archive import Archive
from worker.clean import clean_html, clean_text
from worker.clean.fragment import clean_fragment
from worker.clean.items import clean_one
from worker.dedupe import headline_hash
from worker.errors import ParseError
from worker.fetchers import files as files_fetcher
from worker.fetchers.feed import parse_feed
from worker.fetchers.sitemap import parse_sitemap
from worker.kinds import make_source
from worker.models import Article, Hints, RawItem, Skipped
from worker.pipeline import ingest

GOOD = FIXTURES / "text" / "two-authors-captions.txt"
GOOD_HEADLINE = "Port Strike Spreads to Three More Cities as Talks Stall"


def returns_or_parse_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ParseError:
        return None


def archived_headlines(archive: Archive) -> set[str]:
    return {r["headline"] for r in archive.db.query("SELECT headline FROM articles")}


def all_text(archive: Archive) -> str:
    """Every text value of every table, for leak checks."""
    out = []
    for table in ("articles", "sightings", "runs", "fetch_state", "source_state"):
        for row in archive.db.query(f"SELECT * FROM [{table}]"):
            out.extend(str(v) for v in row.values() if v is not None)
    return "\n".join(out)


# ---------------------------------------------------------------- nesting 10,000 deep

DEPTH = 10_000


def deep_html(tag: str = "div", depth: int = DEPTH) -> str:
    return (
        "<html><head><title>Deep page</title></head><body>"
        + f"<{tag}>" * depth
        + "<p>A paragraph at the bottom of a very deep page, with enough words to be an article.</p>"
        + f"</{tag}>" * depth
        + "</body></html>"
    )


@pytest.mark.parametrize("tag", ["div", "span", "p", "table"])
def test_clean_html_on_10000_deep_nesting_returns_or_parse_error(tag):
    for doc in (deep_html(tag), deep_html(tag).encode(), f"<{tag}>" * DEPTH):
        result = returns_or_parse_error(clean_html, doc, "https://deep.example/a")
        assert result is None or isinstance(result, Article)


def test_10000_deep_nesting_through_the_pipeline_is_one_skipped_item(tmp_path, archive):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a-deep.html").write_text(deep_html("div"))
    (inbox / "b-deep.jsonl").write_text(json.dumps({"title": "Deep entry body", "body": deep_html("span")}) + "\n")
    shutil.copy(GOOD, inbox / "c-good.txt")
    r = ingest(make_source(name="deep", kind="files", path=str(inbox)), archive, trigger="backfill")
    assert r.status == "ok" and r.seen == 3 and r.skipped <= 1
    assert {GOOD_HEADLINE, "Deep entry body"} <= archived_headlines(archive)


@pytest.mark.slow
def test_10000_deep_feed_entry_is_archived():
    """Slow: the fragment cleaner marks blocks with insert_after, which walks the whole subtree
    (about 7 s for 10,000 nested divs)."""
    deep = "<div>" * DEPTH + "Deep words." + "</div>" * DEPTH
    rss = (
        f'<rss version="2.0"><channel><title>t</title><item><title>Deep entry</title>'
        f"<description><![CDATA[{deep}]]></description></item></channel></rss>"
    ).encode()
    items, _ = parse_feed(rss, "https://deep.example/feed")
    article = clean_one(items[0], "s")
    assert isinstance(article, Article) and article.headline == "Deep entry" and "Deep words." in article.body


def test_10000_deep_xml_feed_and_sitemap_fail_only_with_parse_error():
    nested = "<x>" * DEPTH + "y" + "</x>" * DEPTH
    feed = f'<rss version="2.0"><channel><title>t</title><item><title>T</title>{nested}</item></channel></rss>'
    returns_or_parse_error(parse_feed, feed.encode(), "https://deep.example/feed")
    sitemap = f"<urlset><url><loc>https://deep.example/a</loc>{nested}</url></urlset>"
    returns_or_parse_error(parse_sitemap, sitemap.encode(), "https://deep.example/sitemap.xml")


# ---------------------------------------------------------------- a 100 MB page

BIG = 100 * 1024 * 1024

BIG_PAGE_CHILD = """
import resource, sys, time
from worker.clean import clean_html
from worker.errors import ParseError
data = open(sys.argv[1], "rb").read()
t0 = time.monotonic()
try:
    result = clean_html(data, "https://big.example/page")
    outcome = "article" if result is not None else "none"
except ParseError as exc:
    outcome = "parse-error"
print(outcome, round(time.monotonic() - t0, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.fixture(scope="module")
def big_page(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "huge.html"
    para = b"<p>" + b"A sentence in a very long page that goes on and on. " * 20 + b"</p>\n"
    with open(path, "wb") as fh:
        fh.write(b"<html><head><title>A huge page</title></head><body><article>\n")
        while fh.tell() < BIG:
            fh.write(para * 1000)
        fh.write(b"</article></body></html>\n")
    return path


@pytest.mark.slow
def test_a_100mb_page_is_skipped_by_the_files_fetcher_with_a_reason(big_page, archive, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    os.link(big_page, inbox / "huge.html")
    shutil.copy(GOOD, inbox / "good.txt")
    r = ingest(make_source(name="big", kind="files", path=str(inbox)), archive)
    assert (r.status, r.new, r.skipped) == ("ok", 1, 1)
    assert archive.db.execute("SELECT count(*) FROM fetch_state WHERE key LIKE '%huge.html'").fetchone()[0] == 1


@pytest.mark.slow
def test_clean_html_on_100mb_returns_in_bounded_time_and_memory(big_page):
    """In a child process with an address-space limit of 6 GB: returns or ParseError, within 3 minutes,
    with a peak resident size under 40 times the input."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

    proc = subprocess.run(
        [sys.executable, "-c", BIG_PAGE_CHILD, str(big_page)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcome, seconds, peak_mb = proc.stdout.split()
    assert outcome in ("article", "none", "parse-error")
    assert int(peak_mb) < 40 * 100


# ---------------------------------------------------------------- entity bombs, external entities

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def laughs_feed() -> bytes:
    return (
        LAUGHS + '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>Laughing matter &lol9;</title><description>&lol9;</description>"
        "<link>https://bomb.example/1</link></item>"
        "<item><title>A plain story</title><description>Plain text.</description>"
        "<link>https://bomb.example/2</link></item></channel></rss>"
    ).encode()


def laughs_sitemap() -> bytes:
    return (
        LAUGHS + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://bomb.example/&lol9;</loc></url>"
        "<url><loc>https://bomb.example/plain</loc></url></urlset>"
    ).encode()


def item_text(item: RawItem | Skipped) -> str:
    if isinstance(item, Skipped):
        return item.locator + item.reason
    content = item.content.decode("utf-8", "replace") if isinstance(item.content, bytes) else item.content
    return content + item.locator + json.dumps([getattr(item.hints, f) for f in item.hints.__dataclass_fields__])


def test_billion_laughs_feed_is_not_expanded():
    t0 = time.monotonic()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        items, _ = parse_feed(laughs_feed(), "https://bomb.example/feed")
    except ParseError:
        items = []
    assert time.monotonic() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200 * 1024  # KiB: not a GB of lols
    assert all(item_text(i).count("lol") < 1000 for i in items)


def test_billion_laughs_sitemap_is_not_expanded():
    t0 = time.monotonic()
    try:
        _, entries = parse_sitemap(laughs_sitemap(), "https://bomb.example/sitemap.xml")
    except ParseError:
        entries = []
    assert time.monotonic() - t0 < 5
    assert all(len(e.loc) < 300 for e in entries)


@pytest.fixture
def secret(tmp_path) -> tuple[Path, str]:
    token = "TOPSECRET-" + os.urandom(8).hex()
    path = tmp_path / "secret.txt"
    path.write_text(token + "\n")
    return path, token


def xxe_docs(path: Path) -> dict[str, bytes]:
    uri = path.as_uri()
    general = f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{uri}">]>\n'
    param = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY % file SYSTEM "{uri}">'
        f"<!ENTITY % wrap \"<!ENTITY xxe '%file;'>\">%wrap;]>\n"
    )
    item = (
        "<item><title>Leak &xxe; here</title><description>Body &xxe;</description>"
        "<link>https://xxe.example/1</link></item><item><title>Safe story</title>"
        "<description>Safe body.</description><link>https://xxe.example/2</link></item>"
    )
    xinclude = (
        '<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude"><channel><title>x</title><item>'
        f'<title>Include</title><description><xi:include href="{uri}" parse="text"/></description>'
        "</item></channel></rss>"
    )
    return {
        "general": (general + f'<rss version="2.0"><channel><title>&xxe;</title>{item}</channel></rss>').encode(),
        "parameter": (param + f'<rss version="2.0"><channel><title>t</title>{item}</channel></rss>').encode(),
        "atom": (
            general.replace("rss", "feed") + '<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title>'
            "<entry><title>Leak &xxe;</title><content>&xxe;</content><id>1</id></entry></feed>"
        ).encode(),
        "xinclude": xinclude.encode(),
        "sitemap": (
            general.replace("rss", "urlset") + "<urlset><url><loc>https://xxe.example/&xxe;</loc></url>"
            "<url><loc>&xxe;</loc></url><url><loc>https://xxe.example/safe</loc></url></urlset>"
        ).encode(),
    }


@pytest.mark.parametrize("kind", ["general", "parameter", "atom", "xinclude"])
def test_external_entities_in_a_feed_never_read_a_local_file(secret, kind):
    path, token = secret
    try:
        items, warnings = parse_feed(xxe_docs(path)[kind], "https://xxe.example/feed")
    except ParseError as exc:
        assert token not in str(exc)
        return
    for item in items:
        assert token not in item_text(item)
        if isinstance(item, RawItem):
            result = clean_one(item, "s")
            assert token not in (result if isinstance(result, str) else json.dumps(result.__dict__))
    assert not any(token in w for w in warnings)


def test_external_entities_in_a_sitemap_never_read_a_local_file(secret):
    path, token = secret
    try:
        _, entries = parse_sitemap(xxe_docs(path)["sitemap"], "https://xxe.example/sitemap.xml")
    except ParseError as exc:
        assert token not in str(exc)
        return
    assert not any(token in repr(e) for e in entries)


def test_external_entities_never_reach_the_archive(secret, tmp_path, archive, loopback):
    """The same documents as a feed file on disk and as a feed and a sitemap over HTTP."""
    from worker.fetchers.http import Http
    from worker.models import HttpSettings

    path, token = secret
    docs = xxe_docs(path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    for kind in ("general", "parameter", "atom"):
        (inbox / f"{kind}.xml").write_bytes(docs[kind])
    serve_static(loopback, "/feed.xml", docs["general"], "application/rss+xml")
    serve_static(loopback, "/sitemap.xml", docs["sitemap"])
    settings = HttpSettings(per_host_delay=0, respect_robots=False, allow_private_hosts=True, retries=0)
    with Http(settings) as http:
        for source in (
            make_source(name="files", kind="files", path=str(inbox)),
            make_source(name="feed", kind="feed", url=loopback.url("/feed.xml")),
            make_source(name="sitemap", kind="sitemap", url=loopback.url("/sitemap.xml")),
        ):
            r = ingest(source, archive, http)
            assert r.status in ("ok", "error")
    assert token not in all_text(archive)
    assert "Safe story" in archived_headlines(archive)


# ---------------------------------------------------------------- NUL bytes and broken encodings


def test_nul_bytes():
    with pytest.raises(ParseError):
        clean_text(b"Headline\n\nBody \x00 with \x00 NULs \x00 in it.\n")
    returns_or_parse_error(clean_html, b"<html><body><p>A \x00 paragraph.</p></body></html>", None)
    rss = (
        b'<rss version="2.0"><channel><title>t\x00</title><item><title>Nul\x00 title</title>'
        b"<description>Body\x00 text.</description></item></channel></rss>"
    )
    items, warnings = parse_feed(rss, "https://nul.example/feed")
    assert items[0].hints.headline == "Nul title" and warnings
    article = clean_fragment("Body\x00 text.", Hints(headline="Nul\x00 title"))
    assert "\x00" not in article.headline + article.body


ENCODINGS = {
    "invalid-utf8": "Café Owners Say\n\nThe terrace rules take effect.\n".encode() + b"\xff\xfe\xc3\x28 broken\n",
    "utf16-odd": b"\xff\xfe" + "Odd Length Headline\n\nA body paragraph.\n".encode("utf-16-le")[:-1],
    "utf16-no-bom": "Odd Length Headline\n\nA body paragraph.\n".encode("utf-16-le"),
    "utf16-lone-surrogate": b"\xff\xfe"
    + "Lone ".encode("utf-16-le")
    + b"\x00\xd8"
    + " Surrogate\n\nBody.\n".encode("utf-16-le"),
    "utf8-encoded-surrogate": b"Surrogate in UTF-8\n\nBody " + b"\xed\xa0\x80" + b" here.\n",
    "overlong": b"Overlong \xc0\xaf slash\n\nBody text here.\n",
    "bom-only": b"\xef\xbb\xbf",
    "truncated-multibyte": "Truncated \u00e9".encode()[:-1],
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_broken_encodings_in_text_feeds_and_pages(name):
    data = ENCODINGS[name]
    article = returns_or_parse_error(clean_text, data)
    assert article is None or not any(0xD800 <= ord(c) <= 0xDFFF for c in article.headline + article.body)
    returns_or_parse_error(clean_html, data, "https://enc.example/a")
    feed = b'<rss version="2.0"><channel><title>t</title><item><title>' + data + b"</title></item></channel></rss>"
    items, _ = returns_or_parse_error(parse_feed, feed, "https://enc.example/feed") or ([], [])
    for item in items:
        result = clean_one(item, "s")
        assert isinstance(result, (str, Article))


def test_lone_surrogates_from_json_escapes_are_stored_not_fatal(tmp_path, archive):
    f = tmp_path / "lone.jsonl"
    f.write_text(
        '{"title": "Lone \\ud800 surrogate", "body": "Text \\udfff here."}\n'
        '{"title": "A fine neighbour", "body": "Stored with it."}\n'
    )
    r = ingest(make_source(name="j", kind="files", path=str(f)), archive)
    assert (r.status, r.new, r.skipped) == ("ok", 2, 0)
    heads = archived_headlines(archive)
    assert "A fine neighbour" in heads and "Lone \ufffd surrogate" in heads
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [{"id": "1", "title": "Feed \ud800 surrogate", "content_text": "x \udc00 y"}],
    }
    items, _ = parse_feed(json.dumps(doc).encode(), "https://j.example/feed.json")
    article = clean_one(items[0], "s")
    assert isinstance(article, Article) and article.headline == "Feed \ufffd surrogate"


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#x110000;", "&#99999999999;", "&#0;", "&#xFFFE;"])
def test_feed_with_references_to_impossible_characters_is_read(ref):
    for tail in ("</channel></rss>", "<broken"):
        rss = (
            f'<rss version="2.0"><channel><title>t</title><item><title>Bad {ref} ref</title>'
            f"<description>Body {ref} text.</description></item>{tail}"
        ).encode()
        items, warnings = parse_feed(rss, "https://ref.example/feed")
        assert [i.hints.headline for i in items] == ["Bad ref"]
        assert any("not allowed in XML" in w for w in warnings)


def test_a_file_name_that_is_not_utf8_is_archived(tmp_path, archive):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(GOOD, os.path.join(os.fsencode(inbox), b"bad-\xff-name.txt"))
    shutil.copy(FIXTURES / "text" / "crlf-three-authors-reuters.txt", inbox / "z-good.txt")
    source = make_source(name="names", kind="files", path=str(inbox))
    r = ingest(source, archive, trigger="backfill")
    assert (r.status, r.new) == ("ok", 2)
    keys = [k for (k,) in archive.db.execute("SELECT key FROM fetch_state")]
    assert any(k.endswith("bad-\\xff-name.txt") for k in keys)
    r = ingest(source, archive, trigger="backfill")  # unchanged: known, not read again
    assert (r.status, r.new, r.duplicates) == ("ok", 0, 2)


# ---------------------------------------------------------------- files that change or vanish


def read_outputs(path: Path, archive: Archive):
    from worker.run import RunContext

    ctx = RunContext(source=make_source(name="f", kind="files", path=str(path)), archive=archive, trigger="scheduled")
    return list(files_fetcher.read_path(path, "f", ctx))


def test_a_file_deleted_while_read_is_skipped_and_not_checkpointed(tmp_path, archive, monkeypatch):
    f = tmp_path / "gone.txt"
    shutil.copy(GOOD, f)

    def vanish(self):
        os.unlink(self)
        raise FileNotFoundError(2, "No such file or directory", str(self))

    monkeypatch.setattr(type(f), "read_bytes", vanish)
    out = read_outputs(f, archive)
    assert len(out) == 1 and isinstance(out[0], Skipped) and "cannot read" in out[0].reason


def test_a_jsonl_file_truncated_while_read_is_not_checkpointed(tmp_path, archive, monkeypatch):
    f = tmp_path / "shrinks.jsonl"
    f.write_text("".join(json.dumps({"title": f"Line {i}", "body": "x"}) + "\n" for i in range(50)))
    real = files_fetcher._json_item
    calls = []

    def truncate_midway(obj, loc, source):
        calls.append(loc)
        if len(calls) == 10:
            with open(f, "r+b") as fh:
                fh.truncate(100)
        return real(obj, loc, source)

    monkeypatch.setattr(files_fetcher, "_json_item", truncate_midway)
    out = read_outputs(f, archive)
    assert not any(type(o).__name__ == "Checkpoint" for o in out)  # read again next run


def test_a_file_growing_during_a_scheduled_run_is_read_again_next_run(tmp_path, archive, monkeypatch):
    inbox = tmp_path / "in"
    inbox.mkdir()
    f = inbox / "grows.jsonl"
    f.write_text(json.dumps({"title": "First line", "body": "x"}) + "\n")
    real = files_fetcher._json_item

    def append_while_read(obj, loc, source):
        with open(f, "a") as fh:
            fh.write(json.dumps({"title": "Appended line", "body": "y"}) + "\n")
        monkeypatch.setattr(files_fetcher, "_json_item", real)
        return real(obj, loc, source)

    monkeypatch.setattr(files_fetcher, "_json_item", append_while_read)
    source = make_source(name="g", kind="files", path=str(inbox))
    ingest(source, archive, trigger="scheduled")
    assert "First line" in archived_headlines(archive)
    assert archive.db.execute("SELECT count(*) FROM fetch_state").fetchone()[0] == 0  # not passed over
    r = ingest(source, archive, trigger="scheduled")
    assert r.status == "ok" and r.seen == 2
    assert {"First line", "Appended line"} <= archived_headlines(archive)
    assert archive.db.execute("SELECT count(*) FROM fetch_state").fetchone()[0] == 1


# ---------------------------------------------------------------- broken configs, on the command line

BROKEN_CONFIGS = {
    "list": "- just\n- a list\n",
    "path-number": "sources:\n  - name: a\n    kind: files\n    path: 5\n",
    "every-zero": "sources:\n  - name: a\n    kind: files\n    path: in/\n    every: 0s\n",
    "every-inf": "defaults:\n  every: .inf\n",
    "timeout-nan": "http:\n  timeout: .nan\n",
    "timeout-zero": "http:\n  timeout: 0\n",
    "archive-list": "archive: [a, b]\n",
    "tab-indent": "sources:\n\t- name: a\n",
    "cron-61": 'sources:\n  - name: a\n    kind: files\n    path: in/\n    cron: "61 * * * *"\n',
    "null-source": "sources:\n  - name: a\n    kind: files\n    path: in/\n  - null\n",
    "impossible-date": (
        "sources:\n  - name: a\n    kind: sitemap\n    url: http://x.example/s.xml\n    since: 2024-02-30\n"
    ),
    "impossible-time": "log_level: 2024-01-01 25:00:00\n",
    "python-tag": 'a: !!python/object/apply:os.system ["echo pwned"]\n',
    "deep-yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "binary": b"\xff\xfe\x00b\x00a\x00d",
    "follow-maybe": "sources:\n  - name: a\n    kind: feed\n    url: http://x.example/\n    follow_links: maybe\n",
}


def test_check_config_on_broken_configs_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "in").mkdir()
    for name, text in BROKEN_CONFIGS.items():
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_bytes(text if isinstance(text, bytes) else text.encode())
        r = run_cli("--config", str(cfg), "check-config", cwd=tmp_path)
        assert r.returncode == 2, (name, r.stdout, r.stderr[-500:])
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in r.stderr, (name, r.stderr)
    assert not (tmp_path / "pwned").exists()


def test_run_with_a_broken_config_is_one_line_and_exit_2(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(BROKEN_CONFIGS["timeout-zero"])
    r = run_cli("--config", str(cfg), "run", "--once", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == "Error: http.timeout: must be more than 0, got 0.0"


# ---------------------------------------------------------------- hostile queries

QUERIES = [
    '"',
    "AND OR",
    "*",
    "**",
    "NEAR(",
    "NEAR(a b",
    "NEAR(a b, -1)",
    "headline:",
    '"unbalanced',
    'a"b',
    "'",
    "(a OR",
    "NOT",
    "^",
    "{headline dek}: x",
    "😀",
    "x*y",
    "a:b:c",
    "word " * 2000,
    "\x01",
]


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("q") / "q.db"
    assert run_cli("--archive", str(db), "backfill", str(FIXTURES / "text")).returncode == 0
    return db


@pytest.mark.parametrize("command", ["search", "export"])
def test_hostile_queries_are_results_or_one_line(small_archive, command):
    for query in QUERIES:
        for raw in ([], ["--raw"]):
            r = run_cli("--archive", str(small_archive), command, *raw, "--", query)
            assert "Traceback" not in r.stderr, (command, raw, query, r.stderr[-800:])
            assert r.returncode in (0, 1), (query, r.stderr)
            if r.returncode == 1:
                assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error: ")


@pytest.mark.parametrize("date", ["2021-13-45", "2021-02-30", "2021-13", "2021-01-01T25:00", "yesterday"])
def test_dates_that_do_not_exist_are_one_line(small_archive, date):
    for args in (["search", "strike", "--since", date], ["export", "--until", date]):
        r = run_cli("--archive", str(small_archive), *args)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.strip().splitlines() == [r.stderr.strip()] and date in r.stderr


def test_headline_hash_of_pathological_headlines_is_stable():
    for head in ("\x00", "\ud800", "a" * 1_000_000, "‮reversed", "ﬁ ligature", "Ǆ", "İ"):
        assert headline_hash(head) == headline_hash(head)
