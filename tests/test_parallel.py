"""Cleaning in a process pool: same results and order as in-process, failures contained."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from worker import parallel, pipeline
from worker.clean import items as items_module
from worker.errors import FetchError
from worker.kinds import make_source
from worker.models import Checkpoint, Hints, RawItem
from worker.parallel import CHUNK, cleaned


def items(n: int) -> list[RawItem]:
    return [
        RawItem("s", f"loc{i}", "fragment", f"Body of story {i}.", Hints(headline=f"Story number {i}"))
        for i in range(n)
    ]


def test_pool_matches_in_process_and_keeps_order():
    stream = [*items(CHUNK * 5 + 3), Checkpoint("k", "v")]
    one = list(cleaned(iter(stream), "s", workers=1))
    two = list(cleaned(iter(stream), "s", workers=2))
    assert one == two
    assert [o for o, _ in two] == stream
    assert two[-1][1] is None and two[0][1].headline == "Story number 0"


def test_a_failing_stream_still_yields_what_came_before():
    def stream():
        yield from items(CHUNK * 2 + 5)
        raise FetchError("http://x.example/", 503, "Service Unavailable")

    got = []
    try:
        for _out, article in cleaned(stream(), "s", workers=2):
            got.append(article.headline)
    except FetchError:
        pass
    else:
        raise AssertionError("the stream's error was swallowed")
    assert len(got) == CHUNK * 2 + 5


def test_a_worker_crash_costs_only_its_item(monkeypatch):
    real = items_module.to_article
    here = os.getpid()
    bad = f"loc{CHUNK + 20}"  # the first chunk is cleaned here, the next two go to the pool

    def crashing(item, source):
        if item.locator == bad and os.getpid() != here:
            os._exit(1)  # as a segfault in a C extension would
        return real(item, source)

    monkeypatch.setattr(items_module, "to_article", crashing)
    monkeypatch.setattr(parallel, "START_METHOD", "fork")  # so that the workers have the patch
    results = [a for _, a in cleaned(iter(items(CHUNK * 3)), "s", workers=2)]
    assert results[CHUNK + 20] == "the cleaner crashed on this item"
    assert sum(isinstance(r, str) for r in results) == 1


def test_this_process_cleans_whenever_the_pool_is_full(monkeypatch):
    real = items_module.to_article
    here = os.getpid()

    def tagged(item, source):  # the pool is slow; each article says which process cleaned it
        if os.getpid() != here:
            time.sleep(0.01)
        return dataclasses.replace(real(item, source), dek="here" if os.getpid() == here else "pool")

    monkeypatch.setattr(items_module, "to_article", tagged)
    monkeypatch.setattr(parallel, "START_METHOD", "fork")  # so that the workers have the patch
    stream = items(CHUNK * 8)
    got = list(cleaned(iter(stream), "s", workers=2))
    assert [o for o, _ in got] == stream
    assert [a.headline for _, a in got] == [f"Story number {i}" for i in range(CHUNK * 8)]
    mine = sum(a.dek == "here" for _, a in got)
    assert CHUNK < mine < CHUNK * 8  # more than the first chunk here, and some in the pool


def test_ingest_with_workers_is_idempotent(tmp_path, archive):
    f = tmp_path / "many.jsonl"
    f.write_text("\n".join(json.dumps({"title": f"Headline {i}", "body": f"Text {i}."}) for i in range(300)))
    source = make_source(name="b", kind="files", path=str(f))
    r = pipeline.ingest(source, archive, trigger="backfill", workers=2, batch_size=50)
    assert (r.seen, r.new, r.skipped) == (300, 300, 0)
    r = pipeline.ingest(source, archive, trigger="backfill", workers=2)
    assert (r.seen, r.new, r.duplicates) == (300, 0, 300)
    assert archive.db["sightings"].count == 600


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        table[int(entry)] = (int(ppid), state, cmdline)
    return table


def running(pid: int) -> bool:
    entry = process_table().get(pid)
    return entry is not None and entry[1] != "Z"  # a zombie nobody reaps has stopped all the same


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="looks processes up in /proc")
def test_kill_9_of_a_backfill_leaves_no_pool_worker_behind(tmp_path):
    """kill -9 of a `--workers 2` backfill left its pool worker and the resource tracker alive for
    minutes (issue 13, item 15): they must go within seconds of their parent."""
    body = " ".join(["The council met on Tuesday and voted to rebuild the old harbour wall."] * 30)
    with (tmp_path / "big.jsonl").open("w") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"title": f"Harbour story number {i}", "body": f"<p>{body} {i}</p>"}) + "\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "--archive",
            str(tmp_path / "a.db"),
            "backfill",
            "--workers",
            "2",
            str(tmp_path / "big.jsonl"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not any(
            "spawn_main" in cmd and "resource_tracker" not in cmd
            for cmd in (process_table()[pid][2] for pid in children if pid in process_table())
        ):
            assert proc.poll() is None and time.monotonic() < deadline, "the pool never started"
            children = [pid for pid, (ppid, _, _) in process_table().items() if ppid == proc.pid]
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [process_table()[pid][2] for pid in children if running(pid)] == []
    finally:
        for pid in children:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_this_process_cleans_only_when_the_writer_keeps_up(monkeypatch):
    """While a batch waits for the writer (``clean_here`` says no), chunks go to the pool's queue
    instead of being cleaned here; past the first (cleaned here before the pool starts), this
    process cleans only when ``clean_here`` lets it."""
    real = items_module.clean_one
    here: list[str] = []

    def counted(item, source):
        here.append(item.locator)
        return real(item, source)

    monkeypatch.setattr(items_module, "clean_one", counted)  # here only: the pool's processes are spawned
    stream = items(CHUNK * 12)
    behind = list(cleaned(iter(stream), "s", workers=2, clean_here=lambda: False))
    assert [o for o, _ in behind] == stream and len(here) == CHUNK  # the first chunk only
    here.clear()
    keeping_up = list(cleaned(iter(stream), "s", workers=2, clean_here=lambda: True))
    assert keeping_up == behind and len(here) > CHUNK
