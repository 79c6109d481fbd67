"""A user's mistakes and a machine's faults end in one clear line, with nothing lost: a full disk,
a damaged or read-only archive, Ctrl-C, arguments nothing can read, a mistyped archive folder."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow


def articles(folder: Path, n: int, words: int = 300) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = " ".join(f"word{(i * 7 + j) % 997}" for j in range(words))
        (folder / f"a{i:05d}.jsonl").write_text(json.dumps({"title": f"Story number {i} of many", "body": body}) + "\n")
    return folder


def one_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr, r.stderr
    assert len([ln for ln in lines if not ln.startswith("{")]) == 1, r.stderr  # log lines are JSON
    return [ln for ln in lines if not ln.startswith("{")][0]


def mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB filesystem (tmpfs), unmounted afterwards."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0 or not mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)):
        pytest.skip("mounting a small filesystem needs root")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_is_one_line_and_the_run_is_recorded_failed(tmp_path, small_disk):
    inbox = articles(tmp_path / "in", 3000, words=80)
    db = small_disk / "a.db"
    r = run_cli("--archive", str(db), "--log-format", "json", "backfill", "--workers", "1", str(inbox))
    assert r.returncode == 1
    line = one_line(r)
    assert line.startswith("Error: archive disk is full: ") and line.endswith(
        " articles stored; free space and run again"
    )
    stored = int(line.split(": ")[2].split()[0])
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == stored > 0
    statuses = [s for (s,) in conn.execute("SELECT status FROM runs")]
    conn.close()
    assert statuses == ["error"]  # recorded as failed, not left running
    again = run_cli("--archive", str(db), "--log-format", "json", "backfill", "--workers", "1", str(inbox))
    assert again.returncode == 1 and one_line(again).startswith("Error: archive disk is full")


def damage(db: Path) -> None:
    data = bytearray(db.read_bytes())
    start, end = len(data) // 4, 3 * len(data) // 4
    data[start:end] = os.urandom(end - start)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [["status"], ["export"], ["backfill", "IN"], ["search", "story"]])
def test_a_damaged_archive_says_so_for_every_command(tmp_path, command):
    inbox = articles(tmp_path / "in", 300)
    db = tmp_path / "a.db"
    assert run_cli("--archive", str(db), "backfill", "--workers", "1", str(inbox)).returncode == 0
    damage(db)
    r = run_cli("--archive", str(db), *[str(inbox) if c == "IN" else c for c in command])
    assert r.returncode == 1, r.stdout[-500:]
    line = one_line(r)
    assert "the archive is damaged" in line and "see README: recovering" in line


@pytest.fixture
def read_only(tmp_path):
    """A folder made read-only by a read-only bind mount of itself (root ignores permissions)."""
    where = tmp_path / "ro"
    where.mkdir()
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_read_only_archive_is_read_and_never_written(tmp_path, read_only):
    inbox = articles(tmp_path / "in", 5)
    db = read_only / "a.db"
    assert run_cli("--archive", str(db), "backfill", str(inbox)).returncode == 0
    if os.geteuid() != 0 or not (
        mount("--bind", str(read_only), str(read_only)) and mount("-o", "remount,bind,ro", str(read_only))
    ):
        pytest.skip("a read-only bind mount needs root")
    assert not Path(str(db) + "-wal").exists()
    status = run_cli("--archive", str(db), "status")
    assert status.returncode == 0 and "articles: 5" in status.stdout, status.stderr
    search = run_cli("--archive", str(db), "search", "story", "--json")
    assert search.returncode == 0 and len(search.stdout.splitlines()) == 5, search.stderr
    export = run_cli("--archive", str(db), "export")
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 5
    write = run_cli("--archive", str(db), "backfill", str(articles(tmp_path / "more", 2)))
    assert write.returncode == 1 and "read-only" in one_line(write)


def test_ctrl_c_during_a_backfill_is_one_line_exit_130_and_the_run_interrupted(tmp_path):
    inbox = articles(tmp_path / "in", 3000, words=60)
    db = tmp_path / "a.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "--archive",
            str(db),
            "--log-format",
            "json",
            "backfill",
            "--workers",
            "2",
            str(inbox),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            conn.close()
        except sqlite3.Error:
            continue
        if n >= 200:
            break
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err, err
    last = [ln for ln in err.splitlines() if not ln.startswith("{")]
    assert len(last) == 1 and last[0].startswith("Error: interrupted: ") and "run the same command again" in last[0]
    stored = int(last[0].split("interrupted: ")[1].split()[0])
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == stored
    assert [s for (s,) in conn.execute("SELECT status FROM runs")] == ["interrupted"]
    conn.close()
    again = run_cli("--archive", str(db), "backfill", str(inbox), timeout=300)
    assert again.returncode == 0 and f"{3000 - stored} new" in again.stdout, again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backfill", "ftp://example.org/feed.xml"], "unsupported URL scheme 'ftp' (http and https only)"),
        (["backfill", "GLOB/*.nothing"], "no file matches this pattern"),
        (["backfill", "MISSING"], "no such file or folder"),
    ],
)
def test_backfill_arguments_nothing_can_read(tmp_path, args, message):
    args = [a.replace("GLOB", str(tmp_path)).replace("MISSING", str(tmp_path / "missing")) for a in args]
    r = run_cli("--archive", str(tmp_path / "a.db"), *args)
    assert r.returncode == 1 and one_line(r).endswith(message)


def test_a_backfill_whose_every_input_failed_exits_1(tmp_path, loopback):
    # port 9 refuses the connection; the loopback server has no route: 404
    r = run_cli(
        "--archive",
        str(tmp_path / "a.db"),
        "backfill",
        "http://127.0.0.1:9/feed.xml",
        loopback.url("/missing/feed.xml"),
    )
    assert r.returncode == 1
    assert "2 failed" in r.stdout


def test_an_archive_in_a_missing_folder_is_not_created(tmp_path):
    inbox = articles(tmp_path / "in", 1)
    r = run_cli("--archive", str(tmp_path / "tpyo" / "a.db"), "backfill", str(inbox))
    assert r.returncode == 1 and "create it first" in one_line(r)
    assert not (tmp_path / "tpyo").exists()
    config = tmp_path / "config.yaml"
    config.write_text("sources: []\n")
    made = run_cli("--config", str(config), "backfill", str(inbox))
    assert made.returncode == 0 and (tmp_path / "archive" / "archive.db").exists()  # the default folder is made


def test_a_failed_run_whose_source_state_has_no_room_is_still_recorded_failed(tmp_path, monkeypatch):
    """A full disk may leave room for the run's row (two pages) and not for its source's state
    as well (four): the run is recorded as failed all the same, not left running."""
    from worker.archive import Archive
    from worker.errors import ArchiveFull
    from worker.kinds import make_source
    from worker.pipeline import ingest

    full = sqlite3.OperationalError("database or disk is full")
    inbox = articles(tmp_path / "in", 3)
    with Archive(tmp_path / "a.db") as archive:
        real_finish = archive.finish_run

        def store(batch):
            raise full

        def finish_run(result, state):
            if state is not None:
                raise full
            real_finish(result, state)

        monkeypatch.setattr(archive, "store", store)
        monkeypatch.setattr(archive, "finish_run", finish_run)
        with pytest.raises(ArchiveFull):
            ingest(make_source(name="inbox", kind="files", path=str(inbox)), archive)
        ((status, error),) = archive.db.execute("SELECT status, error FROM runs").fetchall()
        assert status == "error" and error.startswith("archive disk is full")
        assert archive.db.execute("SELECT count(*) FROM source_state").fetchone() == (0,)
