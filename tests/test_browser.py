"""The archive in a real browser: headless Chromium (Debian's ``chromium``, installed here when
missing) loads the article page and the activity page from a live Datasette on loopback; the
test reads the rendered DOM and saves a screenshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_datasette import get, live_datasette
from tests.test_revisions import story
from worker.archive import Archive
from worker.kinds import make_source
from worker.models import RunResult, SourceState
from worker.pipeline import ingest

pytest.importorskip("datasette")
pytestmark = pytest.mark.slow
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
HEADLINE = "Harbour bridge to close for repairs"
FIRST = "The harbour bridge will close on Monday for six weeks of repairs, the council said on Friday."
ADDED = "It will reopen in May, a month later than planned."
RETOLD = "Bridge works to last six weeks"  # the same text under another headline: the wire cluster


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install_chromium() -> str:
    """Install Debian's chromium (as root, or with ``sudo -n``); what stood in the way, if anything."""
    if shutil.which("apt-get") is None:
        return "no apt-get here to install Debian's chromium package"
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"] if shutil.which("sudo") else None
    if prefix is None:
        return "not root and no sudo to run apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["install"], ["update"], ["install"]):
        cmd = [*prefix, "apt-get", *step, "-y", "-qq", *(["chromium"] if step == ["install"] else [])]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
        if step == ["install"] and out.returncode == 0:
            return ""
    return (out.stderr.strip().splitlines() or ["apt-get failed"])[-1]


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        reason = install_chromium()
        path = chromium_path()
        if path is None:
            pytest.skip(f"chromium is not installed and could not be installed: {reason}")
    return path


def browse(chromium: str, url: str, profile: Path, *args: str) -> str:
    """Chromium's output for ``url`` (the rendered DOM with ``--dump-dom``), a fresh profile each time."""
    profile.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def build(folder: Path) -> Path:
    """An edited article carried by two sources and retold by a third, a wire story, a failed run."""
    path = folder / "news.db"
    wire = story(11, sentences=10)
    first = {
        "headline": HEADLINE,
        "url": "https://harbour.example/bridge",
        "byline": "Ana Ruiz",
        "publication": "Harbour Gazette",
        "published_at": "2024-03-01T09:30:00+01:00",
        "dek": "Six weeks of work on the old crossing.",
        "body": FIRST + "\n\nTraffic will go round by the ring road, and the ferry will run every twenty minutes.",
    }
    cluster = [
        {
            "headline": h,
            "url": f"https://w{i}.example/x",
            "body": wire,
            "publication": f"P{i}",
            "published_at": "2024-03-01",
        }
        for i, h in enumerate(["Flood wall approved", "Coast gets a flood wall"])
    ]
    edited = {**first, "body": first["body"] + " " + ADDED}
    reprinted = {**edited, "url": "https://wire.example/harbour-bridge", "body": "From the Gazette. " + edited["body"]}
    retold = {**edited, "headline": RETOLD, "url": "https://agency.example/b", "publication": "Agency"}
    batches = [("gazette", [first, *cluster]), ("gazette", [edited]), ("wire", [reprinted]), ("agency", [retold])]
    with Archive(path) as archive:
        for i, (source, records) in enumerate(batches):
            f = folder / f"in{i}" / "a.jsonl"
            f.parent.mkdir()
            f.write_text("".join(json.dumps(r) + "\n" for r in records))
            assert ingest(make_source(name=source, kind="files", path=str(f)), archive).status == "ok"
        started, finished = "2024-03-01T06:00:00Z", "2024-03-01T06:00:01Z"
        run_id = archive.start_run("broken-feed", "scheduled", started)
        failed = RunResult("broken-feed", "scheduled", started, finished, "error", error="HTTP 503", run_id=run_id)
        with archive.transaction():
            archive.finish_run(
                failed, SourceState("broken-feed", finished, "error", None, 1, started, None, "HTTP 503")
            )
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    path = build(folder)
    with live_datasette([path], folder / "datasette.log") as base:
        with Archive(path, readonly=True) as archive:
            (article_id,) = archive.db.execute("SELECT id FROM articles WHERE headline = ?", [HEADLINE]).fetchone()
        yield base, article_id, folder


def test_the_article_page_reads_like_an_article(chromium, site):
    base, article_id, folder = site
    url = f"{base}/news/-/article/{article_id}"
    dom = browse(chromium, url, folder / "profile-dom", "--dump-dom")
    assert f"<h1>{HEADLINE}</h1>" in dom
    assert f"<p>{FIRST}</p>" in dom  # the body, in paragraphs
    assert "By Ana Ruiz" in dom and "1 March 2024, 09:30 (UTC+01:00)" in dom and "Harbour Gazette" in dom
    assert 'href="https://harbour.example/bridge"' in dom  # the original
    added = " ".join(line.removeprefix("+ ") for line in re.findall(r'<div class="add">(.*?)</div>', dom))
    assert ADDED in added  # the edit, in the diff against the first version
    assert "Version 2: edit" in dom and "Version 3: copy" in dom
    assert "<td>wire</td>" in dom and "https://wire.example/harbour-bridge" in dom  # a sighting
    assert "Seen 3 times" in dom
    assert "the same text under 1 other headline" in dom and f">{RETOLD}</a>" in dom
    assert "<script src=" not in dom.replace(f'src="{base}', "")  # nothing fetched from elsewhere
    shot = folder / "article-page.png"
    browse(
        chromium, url, folder / "profile-shot", f"--screenshot={shot}", "--window-size=1200,1800", "--hide-scrollbars"
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_wire_cluster_links_its_articles(chromium, site):
    base, _, folder = site
    dom = browse(chromium, f"{base}/news/articles?_search=flood", folder / "profile-list", "--dump-dom")
    assert "/news/-/article/" in dom  # headlines link to their pages
    cluster = get(base, "/news/articles.json", _shape="objects", _search="flood")["rows"]
    page = browse(chromium, f"{base}/news/-/article/{cluster[0]['id']}", folder / "profile-cluster", "--dump-dom")
    other = {r["headline"] for r in cluster} - {cluster[0]["headline"]}
    assert "the same text under 1 other headline" in page and other.pop() in page


def test_the_activity_page_charts_articles_and_failed_runs(chromium, site):
    base, _, folder = site
    dom = browse(chromium, f"{base}/news/-/activity?days=30", folder / "profile-activity", "--dump-dom")
    assert dom.count("<svg") >= 2 and "Articles per day by source" in dom and "Failed runs per day" in dom
    assert "gazette (3)" in dom and "agency (1)" in dom  # the legend: each source and its articles
    assert "2024-03-01: failed runs 1" in dom and "1 failed run in these days" in dom
    shot = folder / "activity.png"
    browse(chromium, f"{base}/news/-/activity", folder / "profile-activity-shot", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
