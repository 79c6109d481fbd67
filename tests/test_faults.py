"""Faults on real processes: kill -9 during backfills and scheduled runs, SIGTERM with slow and
stalled sources, readers (Datasette, sqlite-utils) during a heavy backfill, and the health check.

The promise tested: the archive never loses an article. After kill -9 at any moment the next start
finds the file passing ``PRAGMA integrity_check``, every article stored once, no checkpoint (a
file's state, a feed's ETag) ahead of the articles it stands for, and the killed run recorded as
interrupted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, run_cli
from tests.loopback import LoopbackServer, Reply, serve_static
from worker.archive import SCHEMA_VERSION
from worker.archive.schema import MIGRATIONS
from worker.dedupe import headline_hash

pytestmark = pytest.mark.slow

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SEED = int(os.environ.get("FAULTS_SEED", "20240507"))


# ---------------------------------------------------------------- a generated corpus

PLACES = ["KABUL, Afghanistan", "NAIROBI, Kenya", "LIMA, Peru", "OSLO", "MANILA", "DENVER", "LAGOS, Nigeria"]
SUBJECTS = [
    "Port Workers",
    "City Council",
    "Flood Crews",
    "Farmers",
    "Teachers",
    "Rail Unions",
    "Central Bank",
    "Fishermen",
    "Nurses",
    "Miners",
    "Students",
    "Regulators",
    "Truckers",
    "Pilots",
    "Tenants",
]
VERBS = ["Reject", "Approve", "Delay", "Question", "Expand", "Protest", "Win", "Lose", "Cut", "Back"]
OBJECTS = [
    "New Contract",
    "Water Plan",
    "Budget Deal",
    "Border Rules",
    "Wage Offer",
    "Housing Bill",
    "Safety Code",
    "Harbor Lease",
    "Bus Routes",
    "Tax Credit",
    "Rescue Fund",
    "Grain Quota",
]
NAMES = ["Maria Lopez", "Daniel Okafor", "Anna Weber", "Sam Carter", "Priya Nair", "Omar Haddad", "Jane Doe"]
OUTLETS = ["The New York Times", "Reuters", "Associated Press", "The Boston Globe", "The Guardian"]
WORDS = (
    "officials said the talks would resume on monday after a week of delays while residents "
    "waited for news from the capital and the river kept rising across the valley"
).split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _headline(rng: random.Random, tag: object) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} in Story {tag}"


def _text_article(rng: random.Random, head: str) -> str:
    """The shape of tests/fixtures/text: headline, byline, outlet, maybe a date, dateline, body."""
    paras = [head, "By " + " and ".join(rng.sample(NAMES, rng.randint(1, 2))), rng.choice(OUTLETS)]
    if rng.random() < 0.5:
        paras.append(f"July {rng.randint(1, 28)}, 2021")
    paras.append(f"{rng.choice(PLACES).split(',')[0]} — " + _sentence(rng))
    paras += [" ".join(_sentence(rng) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 8))]
    if rng.random() < 0.3:
        paras.append(head)  # the trailing repeat of the headline
    sep = "\r\n" if rng.random() < 0.1 else "\n"
    return (sep * 2).join(paras) + sep


def make_corpus(
    root: Path, n_files: int = 1000, *, seed: int = SEED, jsonl_every: int = 10, lines: tuple[int, int] = (2, 6)
) -> int:
    """``n_files`` files in 7 folders: plain-text articles, and every ``jsonl_every``-th file a .jsonl
    of ``lines`` articles; about 5% repeat an earlier headline (some with a curly apostrophe).
    Returns the number of items written."""
    rng = random.Random(seed)
    heads: list[str] = []
    items = 0
    for i in range(n_files):
        folder = root / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % jsonl_every == jsonl_every - 1:
            rows = []
            for j in range(rng.randint(*lines)):
                head = rng.choice(heads) if heads and rng.random() < 0.05 else _headline(rng, f"{i}-{j}")
                heads.append(head)
                rows.append(
                    json.dumps(
                        {
                            "title": head,
                            "body": "\n\n".join(_sentence(rng) for _ in range(3)),
                            "author": rng.choice(NAMES),
                            "url": f"https://news.example/{i}/{j}",
                            "published": f"2021-07-{rng.randint(1, 28):02d}T10:00:00Z",
                        }
                    )
                )
            (folder / f"f{i:04d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
            items += len(rows)
        else:
            dup = heads and rng.random() < 0.05
            head = rng.choice(heads).replace("'", "’") if dup else _headline(rng, i)
            heads.append(head)
            (folder / f"f{i:04d}.txt").write_text(_text_article(rng, head), encoding="utf-8")
            items += 1
    return items


# ---------------------------------------------------------------- processes and the archive


def spawn(args: list[str], log: Path, main: tuple[str, ...] = ("-m", "worker")) -> subprocess.Popen:
    """``python -m worker ARGS`` (or ``python MAIN ARGS``) in its own process group (its cleaning
    pool too), output to ``log``."""
    out = open(log, "ab")
    try:
        return subprocess.Popen(
            [sys.executable, *main, *args],
            cwd=ROOT,
            env=ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        out.close()


def kill_group(proc: subprocess.Popen) -> None:
    """kill -9 the process and everything it started; wait until the whole group is gone."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"processes of group {proc.pid} outlived kill -9")


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """A query on its own short connection (a reader beside the worker); [] while the file is not
    there or not migrated yet."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def check_integrity(db: Path) -> None:
    """What the next start finds: a sound file, FTS in step with its table, checkpoints only with
    the articles they stand for."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone():
            conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'produced'").fetchone():
            orphans = conn.execute(
                "SELECT count(*) FROM produced p LEFT JOIN articles a ON a.id = p.article_id WHERE a.id IS NULL"
            ).fetchone()
            assert orphans == (0,), "a checkpointed input produced articles that are not stored"
            unrecorded = conn.execute(
                "SELECT count(*) FROM produced p LEFT JOIN fetch_state f "
                "ON f.source = p.source AND f.key = p.key WHERE f.key IS NULL"
            ).fetchone()
            assert unrecorded == (0,)
    finally:
        conn.close()


def produced_by_key(db: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, h in rows(db, "SELECT p.key, a.headline_hash FROM produced p JOIN articles a ON a.id = p.article_id"):
        out.setdefault(key, set()).add(h)
    return out


ARTICLE_FIELDS = (
    "headline_hash, headline, byline, published_at, dek, body, url, source, publication, "
    "dateline, lang, word_count, content_hash, headline_derived"
)


# ---------------------------------------------------------------- kill -9 during a backfill


def test_backfill_killed_ten_times_then_rerun_equals_one_clean_run(tmp_path):
    corpus = tmp_path / "in"
    make_corpus(corpus, 1000)
    ref, db, log = tmp_path / "ref.db", tmp_path / "killed.db", tmp_path / "backfill.log"
    args = ["--log-format", "json", "backfill", str(corpus), "--workers", "2"]

    t0 = time.monotonic()
    done = run_cli("--archive", str(ref), *args)
    total = time.monotonic() - t0
    assert done.returncode == 0 and "failed" not in done.stdout, done.stdout + done.stderr
    ((started, finished),) = rows(ref, "SELECT started_at, finished_at FROM runs")
    run_time = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    expected = produced_by_key(ref)
    n_files = len(rows(ref, "SELECT key FROM fetch_state WHERE key LIKE 'file:%'"))
    assert n_files == 1000 and rows(ref, "SELECT count(*) FROM articles")[0][0] > 1000

    rng = random.Random(SEED)
    killed_while_running = 0
    for k in range(10):
        proc = spawn(["--archive", str(db), *args], log)
        if k < 3:  # any moment: imports, the first migration, the run, the exit
            time.sleep(rng.uniform(0, total))
        else:  # a moment during the run, however much of it is left
            wait_for(
                lambda: (
                    proc.poll() is not None
                    or bool(rows(db, "SELECT 1 FROM runs WHERE pid = ? AND status = 'running'", (proc.pid,)))
                ),
                every=0.005,
            )
            left = 1 - len(rows(db, "SELECT key FROM fetch_state")) / n_files
            time.sleep(rng.uniform(0, max(run_time * left, 0.02)))
        kill_group(proc)
        killed_while_running += bool(rows(db, "SELECT 1 FROM runs WHERE pid = ? AND status = 'running'", (proc.pid,)))
        if not db.exists():
            continue
        check_integrity(db)
        stored = {h for (h,) in rows(db, "SELECT headline_hash FROM articles")}
        for (key,) in rows(db, "SELECT key FROM fetch_state"):
            assert expected[key] <= stored, f"kill {k}: {key} checkpointed before its articles were stored"

    done = run_cli("--archive", str(db), *args)
    assert done.returncode == 0 and "failed" not in done.stdout, done.stdout + done.stderr
    check_integrity(db)
    print(
        "kills during a run:",
        killed_while_running,
        "statuses:",
        rows(db, "SELECT status, count(*) FROM runs GROUP BY 1"),
    )
    assert killed_while_running >= 3, "too few kills landed during a run to prove anything"
    statuses = [s for (s,) in rows(db, "SELECT status FROM runs ORDER BY id")]
    assert "running" not in statuses and statuses[-1] == "ok"
    assert statuses.count("interrupted") >= killed_while_running
    assert set(statuses) <= {"ok", "interrupted"}
    query = f"SELECT {ARTICLE_FIELDS} FROM articles ORDER BY headline_hash"
    assert rows(db, query) == rows(ref, query)  # the same articles, each once, the same first copy
    assert rows(db, "SELECT key, value FROM fetch_state ORDER BY key") == rows(
        ref, "SELECT key, value FROM fetch_state ORDER BY key"
    )
    assert produced_by_key(db) == expected
    assert rows(db, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'story'") == rows(
        ref, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'story'"
    )


MIGRATION_KILL = """
import os, sys
from worker import archive
real = archive.MIGRATIONS[{step}]
def dying(db):
    real(db)
    os._exit(9)  # killed after the step's statements ran, before it was recorded
archive.MIGRATIONS[{step}] = dying
archive.Archive(sys.argv[1])
"""


@pytest.mark.parametrize("step", list(MIGRATIONS))
def test_a_migration_killed_midway_is_redone_from_scratch(tmp_path, step):
    db = tmp_path / "a.db"
    proc = subprocess.run(
        [sys.executable, "-c", MIGRATION_KILL.format(step=step), str(db)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr
    inbox = tmp_path / "in"
    make_corpus(inbox, 20)
    done = run_cli("--archive", str(db), "backfill", str(inbox))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "SELECT count(*) FROM articles")[0][0] >= 20
    check_integrity(db)


# ---------------------------------------------------------------- the service on a loopback feed


def rss(items: list[tuple[str, str]], title: str = "Loopback wire") -> bytes:
    """An RSS 2.0 feed of (headline, link) entries."""
    entries = "".join(
        f"<item><title>{h}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>&lt;p&gt;{h}: the first paragraph, with the news.&lt;/p&gt;&lt;p&gt;A second "
        f"paragraph about {h.lower()}.&lt;/p&gt;</description>"
        f"<pubDate>Tue, 07 May 2024 10:00:00 GMT</pubDate></item>"
        for h, link in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://wire.example/</link>{entries}</channel></rss>"
    ).encode()


def service_config(tmp_path: Path, sources: str, *, shutdown_timeout: int = 3, heartbeat: int = 1) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {tmp_path / 'a.db'}\n"
        "http:\n  per_host_delay: 0\n  allow_private_hosts: true\n  respect_robots: false\n"
        "  timeout: 20\n  retries: 0\n"
        f"scheduler:\n  jitter: 0s\n  heartbeat: {heartbeat}s\n  shutdown_timeout: {shutdown_timeout}s\n"
        f"sources:\n{sources}"
    )
    return cfg


def sigterm(proc: subprocess.Popen) -> tuple[int, float]:
    """SIGTERM the service; its exit code and the seconds it took to exit."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=3 + 5 + 5), time.monotonic() - t0


def run_service(cfg: Path, log: Path) -> subprocess.Popen:
    return spawn(["--config", str(cfg), "--log-format", "json", "run"], log)


def log_events(log: Path) -> list[dict]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return events


def test_scheduled_feed_run_killed_never_saves_its_etag_before_its_articles(tmp_path, loopback):
    entries = [(f"Harbour story number {i} from the wire", f"http://wire.example/{i}") for i in range(2000)]
    serve_static(loopback, "/feed.xml", rss(entries), "application/rss+xml")
    url = loopback.url("/feed.xml")
    cfg = service_config(tmp_path, f"  - name: wire\n    kind: feed\n    url: {url}\n    every: 1h\n")
    db, log = tmp_path / "a.db", tmp_path / "service.log"
    key = "http:" + url
    hashes = {headline_hash(h) for h, _ in entries}
    rng = random.Random(SEED)

    for k in range(3):
        proc = run_service(cfg, log)
        try:
            assert wait_for(
                lambda: bool(rows(db, "SELECT 1 FROM runs WHERE pid = ? AND status = 'running'", (proc.pid,))),
                every=0.01,
            )
            if k == 0:  # while the feed is read and parsed
                time.sleep(rng.uniform(0.1, 0.8))
            else:  # while its batches are stored
                wait_for(lambda: bool(rows(db, "SELECT 1 FROM articles LIMIT 1")), every=0.005)
                time.sleep(rng.uniform(0, 0.4))
        finally:
            kill_group(proc)
        check_integrity(db)
        stored = {h for (h,) in rows(db, "SELECT headline_hash FROM articles")}
        if rows(db, "SELECT 1 FROM fetch_state WHERE key = ?", (key,)):
            assert hashes <= stored, f"kill {k}: the ETag was saved before all of the feed's articles"
        else:
            assert len(stored) < len(hashes) or k > 0

    proc = run_service(cfg, log)
    try:
        assert wait_for(lambda: bool(rows(db, "SELECT 1 FROM runs WHERE pid = ? AND status = 'ok'", (proc.pid,))))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    statuses = [s for (s,) in rows(db, "SELECT status FROM runs ORDER BY id")]
    assert statuses[-1] == "ok" and "running" not in statuses
    assert statuses[:-1] and set(statuses[:-1]) <= {"interrupted", "ok"} and "interrupted" in statuses
    assert {h for (h,) in rows(db, "SELECT headline_hash FROM articles")} == hashes
    assert json.loads(rows(db, "SELECT value FROM fetch_state WHERE key = ?", (key,))[0][0])["etag"]
    assert rows(db, "SELECT count(*) FROM runs WHERE status = 'interrupted' AND error IS NOT NULL")[0][0] >= 1
    check_integrity(db)


# ---------------------------------------------------------------- SIGTERM: a clean stop


def slow_pages(server: LoopbackServer, n: int, delay: float) -> list[tuple[str, str]]:
    """A feed of ``n`` entries whose linked pages take ``delay`` seconds each."""

    def page(req):
        time.sleep(delay)
        return Reply(
            200,
            f"<html><head><title>{req.path}</title></head><body><p>page</p></body></html>",
            {"Content-Type": "text/html; charset=utf-8"},
        )

    entries = []
    for i in range(n):
        server.route(f"/story/{i}", handler=page)
        entries.append((f"Slow page story {i} about the harbour", server.url(f"/story/{i}")))
    return entries


def test_sigterm_during_slow_followed_pages_exits_zero_in_time_and_keeps_what_was_read(tmp_path, loopback):
    entries = slow_pages(loopback, 12, 1.5)
    serve_static(loopback, "/feed.xml", rss(entries), "application/rss+xml")
    cfg = service_config(
        tmp_path,
        f"  - name: slow\n    kind: feed\n    url: {loopback.url('/feed.xml')}\n"
        "    every: 1h\n    follow_links: true\n",
        shutdown_timeout=3,
    )
    db, log = tmp_path / "a.db", tmp_path / "service.log"
    proc = run_service(cfg, log)
    try:
        assert wait_for(lambda: loopback.count("/story/1") >= 1)  # two or so pages read
        code, took = sigterm(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert code == 0, log.read_text()
    assert took < 3 + 5  # shutdown_timeout 3 s, and 5 s to spare
    ((status, new, error),) = rows(db, "SELECT status, new, error FROM runs")
    assert status in ("interrupted", "ok")
    pages = sum(loopback.count(f"/story/{i}") for i in range(12))
    assert 2 <= pages < 12
    # every entry whose page was read before the stop is archived (from its feed entry when the
    # page holds no article the cleaner finds); nothing is half-written
    stored = {h for (h,) in rows(db, "SELECT headline_hash FROM articles")}
    assert new == len(stored) >= pages - 1
    assert stored <= {headline_hash(h) for h, _ in entries}
    assert not rows(db, "SELECT 1 FROM fetch_state WHERE key LIKE 'http:%'")  # the ETag waits for the rest
    check_integrity(db)
    assert any(e.get("event") == "service_stopped" for e in log_events(log))


def test_sigterm_while_a_server_stalls_mid_body_exits_zero_in_time(tmp_path, loopback):
    stalled = threading.Event()

    def stall(req):
        def body():
            yield rss([("Half a story", "http://wire.example/1")])[:300]
            stalled.set()
            loopback.stopping.wait(60)  # the read blocks: no more bytes, no close

        return Reply(200, body(), {"Content-Type": "application/rss+xml"})

    loopback.route("/stall.xml", handler=stall)
    inbox = tmp_path / "inbox"
    make_corpus(inbox, 5)
    cfg = service_config(
        tmp_path,
        f"  - name: stall\n    kind: feed\n    url: {loopback.url('/stall.xml')}\n"
        f"    every: 1h\n  - name: inbox\n    kind: files\n    path: {inbox}/\n"
        "    every: 1h\n",
        shutdown_timeout=3,
    )
    db, log = tmp_path / "a.db", tmp_path / "service.log"
    proc = run_service(cfg, log)
    try:
        assert stalled.wait(20)
        assert wait_for(lambda: bool(rows(db, "SELECT 1 FROM runs WHERE source = 'inbox' AND status = 'ok'")))
        code, took = sigterm(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert code == 0, log.read_text()
    assert took < 3 + 5  # shutdown_timeout 3 s, and 5 s to spare
    assert rows(db, "SELECT status FROM runs WHERE source = 'stall'") == [("interrupted",)]
    assert rows(db, "SELECT count(*) FROM articles")[0][0] >= 5  # the other source's articles are kept
    assert not rows(db, "SELECT 1 FROM runs WHERE status = 'running'")
    check_integrity(db)


SUBMITTING = """
import sys, time
from concurrent.futures import thread
from pathlib import Path
flag = Path(sys.argv.pop(1))
real = thread.ThreadPoolExecutor._adjust_thread_count
def held(self):  # called by ThreadPoolExecutor.submit with the pool's shutdown lock held
    real(self)
    flag.touch()
    time.sleep(1)
thread.ThreadPoolExecutor._adjust_thread_count = held
from worker.cli import main
main()
"""


def test_sigterm_while_the_scheduler_submits_a_job_exits_zero_in_time(tmp_path):
    """A signal handler runs in the main thread between any two of its bytecodes: one that stopped
    APScheduler there, while that thread submitted a job (the heartbeat's, every second), waited
    for the thread pool's lock it held itself, for ever."""
    inbox = tmp_path / "inbox"
    make_corpus(inbox, 3)
    cfg = service_config(tmp_path, f"  - name: inbox\n    kind: files\n    path: {inbox}/\n    every: 1h\n")
    db, log, submitting = tmp_path / "a.db", tmp_path / "service.log", tmp_path / "submitting"
    proc = spawn([str(submitting), "--config", str(cfg), "--log-format", "json", "run"], log, main=("-c", SUBMITTING))
    try:
        assert wait_for(lambda: bool(rows(db, "SELECT 1 FROM runs WHERE source = 'inbox' AND status = 'ok'")))
        submitting.unlink()
        assert wait_for(submitting.exists, every=0.01)  # a job is being submitted, for a second
        code, took = sigterm(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert code == 0, log.read_text()
    assert took < 3 + 5
    assert rows(db, "SELECT count(*) FROM articles")[0][0] >= 3
    assert not rows(db, "SELECT 1 FROM runs WHERE status = 'running'")
    assert any(e.get("event") == "service_stopped" for e in log_events(log))


# ---------------------------------------------------------------- readers beside the writer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Readers:
    """Threads that read the archive in a loop until stopped, and collect every failure."""

    def __init__(self):
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.reads = {"datasette": 0, "sqlite-utils": 0, "sqlite-utils-cli": 0, "held": 0}
        self.threads: list[threading.Thread] = []

    def loop(self, name: str, read) -> None:
        def run():
            while not self.stop.is_set():
                try:
                    problem = read()
                except Exception as exc:
                    problem = repr(exc)
                if problem:
                    self.errors.append(f"{name}: {problem}")
                    time.sleep(0.1)
                else:
                    self.reads[name] += 1

        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_readers_never_block_the_backfill_and_are_never_locked_out(tmp_path):
    import sqlite_utils

    from worker.archive import Archive

    corpus = tmp_path / "in"
    items = make_corpus(corpus, 1000, jsonl_every=4, lines=(8, 16))
    assert items > 3000
    db = tmp_path / "a.db"
    Archive(db).close()  # the schema, so that Datasette has a file to open
    port = free_port()
    ds_log = tmp_path / "datasette.log"
    with open(ds_log, "wb") as out:
        datasette = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datasette",
                "serve",
                str(db),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--setting",
                "sql_time_limit_ms",
                "20000",
            ],
            cwd=tmp_path,
            env=ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/a"
    readers = Readers()
    try:
        assert wait_for(lambda: _ok(base + ".json"), timeout=60), ds_log.read_text()
        session = requests.Session()

        def datasette_read():
            for path in (
                "/articles.json?_search=story&_size=20",
                "/articles.json?_sort_desc=first_seen_at&_size=5",
                ".json?sql=" + requests.utils.quote("select source, count(*) from sightings group by source"),
                "/runs.json?_size=5",
            ):
                r = session.get(base + path, timeout=30)
                if r.status_code != 200 or "locked" in r.text:
                    return f"{r.status_code} {r.text[:200]}"
            return None

        def sqlite_utils_read():
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
            try:
                sdb = sqlite_utils.Database(conn)
                list(sdb["articles"].search("harbor OR contract", limit=10))
                sdb["articles"].count  # noqa: B018 - the read is the point
                list(sdb.query("select count(*) from produced"))
            finally:
                conn.close()

        def cli_read():
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sqlite_utils",
                    "search",
                    str(db),
                    "articles",
                    "story",
                    "--limit",
                    "5",
                    "-c",
                    "headline",
                ],
                capture_output=True,
                text=True,
                env=ENV,
                timeout=60,
            )
            if r.returncode != 0 or "locked" in r.stderr:
                return f"{r.returncode} {r.stderr[-300:]}"
            r = subprocess.run(
                [sys.executable, "-m", "sqlite_utils", str(db), "select count(*) as n from articles"],
                capture_output=True,
                text=True,
                env=ENV,
                timeout=60,
            )
            return None if r.returncode == 0 else f"{r.returncode} {r.stderr[-300:]}"

        held = sqlite3.connect(db, check_same_thread=False)  # a reader that keeps one read transaction open for a while

        def held_read():
            held.execute("BEGIN")
            held.execute("SELECT count(*) FROM articles").fetchone()
            time.sleep(0.5)
            held.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'story'").fetchone()
            held.execute("COMMIT")

        readers.loop("datasette", datasette_read)
        readers.loop("sqlite-utils", sqlite_utils_read)
        readers.loop("sqlite-utils-cli", cli_read)
        readers.loop("held", held_read)
        time.sleep(0.5)
        t0 = time.monotonic()
        first = run_cli(
            "--archive",
            str(db),
            "--log-format",
            "json",
            "backfill",
            str(corpus),
            "--workers",
            "2",
            "--optimize",
            timeout=180,
        )
        again = run_cli(
            "--archive",
            str(db),
            "--log-format",
            "json",
            "backfill",
            str(corpus),
            "--workers",
            "2",
            "--optimize",
            timeout=180,
        )
        took = time.monotonic() - t0
        time.sleep(0.5)
    finally:
        readers.join()
        os.killpg(datasette.pid, signal.SIGTERM)
        datasette.wait(timeout=15)
    for done in (first, again):
        assert done.returncode == 0 and "failed" not in done.stdout, done.stdout + done.stderr[-2000:]
        assert "locked" not in done.stderr
    assert readers.errors == []
    print("reads during the backfills:", readers.reads, f"{took:.1f}s")
    assert all(n >= 1 for n in readers.reads.values()), readers.reads
    assert "locked" not in ds_log.read_text()
    assert rows(db, "SELECT DISTINCT status FROM runs") == [("ok",)]
    assert rows(db, "SELECT count(*) FROM articles")[0][0] > 2500
    assert took < 150


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


# ---------------------------------------------------------------- health: status --check


def status_check(cfg: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("--config", str(cfg), "status", "--check", *extra)


def test_status_check_fresh_then_stale_after_the_service_is_killed(tmp_path):
    inbox = tmp_path / "inbox"
    make_corpus(inbox, 3)
    cfg = service_config(
        tmp_path, f"  - name: inbox\n    kind: files\n    path: {inbox}/\n    every: 1h\n", heartbeat=1
    )
    db, log = tmp_path / "a.db", tmp_path / "service.log"
    proc = run_service(cfg, log)
    try:
        assert wait_for(
            lambda: (
                bool(rows(db, "SELECT 1 FROM runs WHERE status = 'ok'"))
                and bool(rows(db, "SELECT 1 FROM meta WHERE key = 'heartbeat'"))
            )
        )
        fresh = status_check(cfg)
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
        assert "problem" not in fresh.stdout
    finally:
        kill_group(proc)
    # the heartbeat stops with the service; make it older than 3 x heartbeat + 60 s
    old = (datetime.now(UTC) - timedelta(seconds=3 * 1 + 60 + 5)).isoformat().replace("+00:00", "Z")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'heartbeat'", (old,))
    conn.close()
    stale = status_check(cfg)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "heartbeat stale" in stale.stdout and "Traceback" not in stale.stderr
    just_in_time = (datetime.now(UTC) - timedelta(seconds=3 * 1 + 60 - 10)).isoformat()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'heartbeat'", (just_in_time.replace("+00:00", "Z"),))
    conn.close()
    assert status_check(cfg).returncode == 0


def test_status_check_fails_when_a_source_has_failed_longer_than_max_failing(tmp_path, loopback):
    loopback.route("/broken.xml", status=500, body=b"oops")
    inbox = tmp_path / "inbox"
    make_corpus(inbox, 2)
    cfg = service_config(
        tmp_path,
        f"  - name: broken\n    kind: feed\n    url: {loopback.url('/broken.xml')}\n"
        f"    every: 1h\n  - name: inbox\n    kind: files\n    path: {inbox}/\n"
        "    every: 1h\n",
        heartbeat=1,
    )
    db, log = tmp_path / "a.db", tmp_path / "service.log"
    proc = run_service(cfg, log)
    try:
        assert wait_for(
            lambda: bool(rows(db, "SELECT 1 FROM source_state WHERE source = 'broken' AND consecutive_failures >= 1"))
        )
        assert wait_for(lambda: bool(rows(db, "SELECT 1 FROM meta WHERE key = 'heartbeat'")))
        patient = status_check(cfg, "--max-failing", "1h")
        assert patient.returncode == 0, patient.stdout
        time.sleep(2.1)
        strict = status_check(cfg, "--max-failing", "2s")
        assert strict.returncode == 1, strict.stdout
        assert "problem: broken failing since" in strict.stdout and "HTTP 500" in strict.stdout
        assert "heartbeat stale" not in strict.stdout
        bad = status_check(cfg, "--max-failing", "soon")
        assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
            "Error: --max-failing: expected a duration like 15m, 2h or 90s, got 'soon'"
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
