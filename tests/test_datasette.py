"""A real Datasette, started by `worker serve` on a pipeline-built archive with archive/metadata.yml,
answers over HTTP: search (plain words and Qala-e-Naw), facets, every canned query."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.query_archive import ROOT, build_archive

pytest.importorskip("datasette")
METADATA = ROOT / "archive" / "metadata.yml"
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base: str, path: str, **params) -> dict:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def wait_for(base: str, proc: subprocess.Popen, output: Callable[[], str], seconds: float) -> None:
    """Until Datasette at ``base`` answers; its ``output`` in the failure if it stops or takes longer."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            get(base, "/-/versions.json")
            return
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"datasette did not start: {output()}") from exc
            time.sleep(0.2)


@contextmanager
def live_datasette(files: list[Path], log_path: Path) -> Iterator[str]:
    """A real ``datasette serve`` of ``files`` on a free loopback port, its output in
    ``log_path``: its base URL once it answers, stopped (its process group) afterwards."""
    port = free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "datasette", "serve", *map(str, files), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(base, proc, log_path.read_text, seconds=60)
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the archive file is named news.db on purpose: serve keys the metadata to its database name
    yield from serve(build_archive(tmp_path_factory.mktemp("ds") / "news.db"))


def serve(path):
    """`worker serve` on the archive at ``path``, until the test module is done."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "--archive",
            str(path),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--metadata",
            str(METADATA),
            "--setting",
            "sql_time_limit_ms",
            "5000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base, proc, lambda: proc.stdout.read().decode(), seconds=30)
        yield base, path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()


def search(base, q, **params):
    return get(base, "/news/articles.json", _search=q, _shape="objects", **params)["rows"]


def test_search_plain_word_and_hyphenated_name(server):
    base, _ = server
    assert {r["headline"] for r in search(base, "taliban")} == {
        "Taliban talks stall in Doha as fighting spreads",
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege",
    }
    assert [r["url"] for r in search(base, "Qala-e-Naw")] == ["https://wire.example/qala-e-naw-siege"]
    assert {r["url"] for r in search(base, "frost OR wall", _searchmode="raw")} == {
        "https://wire.example/frost",
        "https://wire.example/sea-wall",
    }


def test_facets_and_metadata(server):
    base, _ = server
    data = get(base, "/news/articles.json", _search="taliban")
    facets = data["facet_results"]
    assert {"source", "publication", "lang", "published_at"} <= set(facets)
    assert {f["value"] for f in facets["source"]["results"]} == {"wire", "local"}
    assert {f["value"] for f in facets["published_at"]["results"]} == {"2021-07-07", "2021-07-09"}
    meta = get(base, "/-/metadata.json")
    assert meta["title"] == "News archive"
    assert "news" in meta["databases"]
    tables = {t["name"]: t for t in get(base, "/news.json")["tables"]}
    assert tables["articles"]["fts_table"] == "articles_fts"
    for hidden in ("articles_fts", "articles_fts_data", "fetch_state", "meta"):
        assert tables[hidden]["hidden"], hidden
    assert not tables["articles"]["hidden"]
    sorted_rows = get(base, "/news/articles.json", _sort_desc="published_at", _shape="objects")["rows"]
    assert sorted_rows[0]["published_at"] == "2022-04-02T07:15:00Z"
    get(base, "/news/articles.json", _sort="first_seen_at")


def test_every_canned_query_returns_rows(server):
    base, _ = server
    queries = yaml.safe_load(METADATA.read_text())["databases"]["archive"]["queries"]
    assert set(queries) == {
        "stories_carried_by_several_sources",
        "articles_per_source_per_day",
        "failing_sources",
        "latest_articles",
        "most_edited_articles",
        "articles_edited_in_the_last_day",
        "largest_wire_clusters",
        "recurring_headlines",
    }
    results = {name: get(base, f"/news/{name}.json", _shape="objects")["rows"] for name in queries}
    revised = {
        "most_edited_articles",
        "articles_edited_in_the_last_day",
        "largest_wire_clusters",
        "recurring_headlines",
    }  # this archive has none: see test_the_revision_queries
    assert all(rows for name, rows in results.items() if name not in revised), {k: len(v) for k, v in results.items()}
    carried = results["stories_carried_by_several_sources"]
    assert carried[0]["headline"] == "Fighters enter Qala-e-Naw as the provincial capital comes under siege"
    assert sorted(carried[0]["carried_by"].split(",")) == ["local", "wire"]
    assert [r["source"] for r in results["failing_sources"]] == ["broken-feed"]
    assert results["failing_sources"][0]["last_error"] == "HTTP 503 Service Unavailable"
    assert len(results["latest_articles"]) == 7
    assert {"day", "source", "articles"} <= set(results["articles_per_source_per_day"][0])


def test_sql_reads_and_the_archive_keeps_growing(server):
    """Datasette's normal (mutable, read-only connection) mode sees articles the worker adds."""
    base, path = server
    assert get(base, "/news.json", sql="select count(*) as n from articles", _shape="objects")["rows"] == [{"n": 7}]
    from worker.archive import Archive
    from worker.kinds import make_source
    from worker.pipeline import ingest

    extra = path.parent / "later"
    extra.mkdir()
    (extra / "later.jsonl").write_text(
        json.dumps(
            {
                "headline": "Ferry service resumes after the storm",
                "body": "The island ferry sailed again on Sunday.",
                "published_at": "2022-05-01T08:00:00Z",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    with Archive(path) as archive:
        assert ingest(make_source(name="later", kind="files", path=str(extra)), archive).new == 1
    assert [r["headline"] for r in search(base, "ferry")] == ["Ferry service resumes after the storm"]


def test_serve_without_datasette_says_so(tmp_path):
    """With datasette not importable, serve fails with one clear line."""
    path = build_archive(tmp_path / "a.db")
    code = (
        "import sys; sys.modules['datasette'] = None; from worker.cli import main; "
        f"sys.argv = ['worker', '--archive', {str(path)!r}, 'serve']; main()"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "Datasette is not installed" in out.stderr and "[datasette]" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_defaults_to_loopback_8001_and_the_metadata_beside_the_archive(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from worker import cli as cli_module
    from worker import serve as serve_module
    from worker.serve import find_metadata

    db = build_archive(tmp_path / "news.db")
    assert find_metadata(db) == METADATA  # nothing beside it: the project's
    beside = tmp_path / "metadata.yml"
    beside.write_text("title: Beside\n")
    assert find_metadata(db) == beside
    started = []

    def run_child(cmd):
        started.append((cmd, yaml.safe_load(open(cmd[cmd.index("--metadata") + 1]))))
        raise OSError("not started in this test")

    monkeypatch.setattr(serve_module, "run_child", run_child)
    result = CliRunner().invoke(cli_module.cli, ["--archive", str(db), "serve"])
    assert "cannot start datasette" in result.output
    ((args, meta),) = started
    assert args[args.index("--host") + 1] == "127.0.0.1" and args[args.index("--port") + 1] == "8001"
    assert meta["title"] == "Beside"
    assert not os.path.exists(args[args.index("--metadata") + 1])  # removed once datasette ended


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid``, from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def running(pid: int) -> bool:
    """True while ``pid`` runs (a zombie that nobody reaped has stopped)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def port_free(port: int) -> bool:
    """True when a server could listen on ``port`` again (as servers do, past TIME_WAIT)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="looks processes up in /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_serve_stops_datasette_and_frees_the_port(tmp_path, sig):
    """SIGTERM (or kill -9) to `worker serve` only, as a service manager sends it: Datasette must
    not run on, orphaned and holding the port, and no temporary metadata stays behind (issue 13,
    items 5 and 26)."""
    db = build_archive(tmp_path / "news.db")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "--archive", str(db), "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"http://127.0.0.1:{port}", "/-/versions.json")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        kids = children_of(proc.pid)
        assert len(kids) == 1 and b"datasette" in open(f"/proc/{kids[0]}/cmdline", "rb").read()
        assert [p.name.startswith("worker-datasette-") for p in tmp.iterdir()] == [True]
        os.kill(proc.pid, sig)
        proc.wait(timeout=20)
        deadline = time.monotonic() + 15
        while (running(kids[0]) or not port_free(port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(kids[0]) and port_free(port)
        if sig != signal.SIGKILL:  # a process killed outright cannot remove its file
            # Datasette's exit status: 128 + N where uvicorn re-raises signal N once it has shut down
            assert proc.returncode in (0, 128 + sig), (tmp_path / "serve.log").read_text()
            assert list(tmp.iterdir()) == []
    finally:
        for pid in [proc.pid, *kids]:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def revised(tmp_path_factory):
    """An archive with an edited article, a recurring headline and a wire story under three headlines."""
    from tests.test_revisions import story
    from worker.archive import Archive
    from worker.kinds import make_source
    from worker.pipeline import ingest

    folder = tmp_path_factory.mktemp("rev")
    path = folder / "news.db"
    wire = story(7, sentences=10)
    batches = [
        [
            {"headline": "Bridge to close", "url": "https://p.example/bridge", "body": story(1)},
            {"headline": "Corrections", "url": "https://p.example/c1", "body": story(2)},
            {"headline": "Corrections", "url": "https://p.example/c2", "body": story(3)},
            *(
                {"headline": h, "url": f"https://w{i}.example/x", "body": wire, "publication": f"P{i}"}
                for i, h in enumerate(["Flood wall approved", "Coast gets a flood wall", "Towns to be protected"])
            ),
        ],
        [{"headline": "Bridge to close", "url": "https://p.example/bridge", "body": story(1) + " It reopens in May."}],
    ]
    with Archive(path) as archive:
        for i, records in enumerate(batches):
            f = folder / f"in{i}" / "a.jsonl"
            f.parent.mkdir()
            f.write_text("".join(json.dumps(r) + "\n" for r in records))
            assert ingest(make_source(name="paper", kind="files", path=str(f)), archive).status == "ok"
    yield from serve(path)


def test_the_revision_queries_and_tables(revised):
    base, _ = revised
    edited = get(base, "/news/most_edited_articles.json", _shape="objects")["rows"]
    assert [(r["headline"], r["edits"], r["versions"]) for r in edited] == [("Bridge to close", 1, 2)]
    recent = get(base, "/news/articles_edited_in_the_last_day.json", _shape="objects")["rows"]
    assert [(r["headline"], r["version"]) for r in recent] == [("Bridge to close", 2)]
    clusters = get(base, "/news/largest_wire_clusters.json", _shape="objects")["rows"]
    assert [(r["articles"], r["first_headline"]) for r in clusters] == [(3, "Flood wall approved")]
    recurring = get(base, "/news/recurring_headlines.json", _shape="objects")["rows"]
    assert [(r["headline"], r["articles"]) for r in recurring] == [("Corrections", 2)]
    versions = get(base, "/news/versions.json", _shape="objects", _facet="reason")
    assert {f["value"]: f["count"] for f in versions["facet_results"]["reason"]["results"]} == {"first": 6, "edit": 1}
    listing = get(base, "/news.json")
    tables = {t["name"]: t for t in listing["tables"]}
    assert "versions" in {v["name"] for v in listing["views"]}  # every version's whole text (migration 8)
    assert all(tables[t]["hidden"] for t in ("lsh", "lsh_latest", "lsh_recent", "version_rows", "produced"))
