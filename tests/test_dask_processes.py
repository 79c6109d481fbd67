"""A real `dask scheduler` and two `dask worker` processes on loopback: a worker killed mid-run
(SIGKILL) costs nothing, and a client killed mid-run goes on from its checkpoints when run again.
Each time the archive equals a single-process backfill of the same inputs."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster_corpus import make, snapshot
from tests.conftest import ROOT
from worker.backfill import run_backfill, sources_for
from worker.models import Config

distributed = pytest.importorskip("distributed")
DASK = Path(sys.executable).with_name("dask")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DASK.exists(), reason="the dask command is not installed beside this Python"),
]


OPTIONS = ("--partition-files", "4", "--partition-size", "6K")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(DASK), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def cluster():
    """`dask scheduler` and two `dask worker --nthreads 1` processes: (address, {name: process})."""
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard")]
    workers = {}
    try:
        for name in ("w1", "w2"):
            workers[name] = start(
                "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard",
                "--name", name, "--death-timeout", "60",
            )  # fmt: skip
            procs.append(workers[name])
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)


@pytest.fixture
def inputs(tmp_path) -> list[str]:
    return [str(p) for p in make(tmp_path / "in", stories=40)]


def local_archive(tmp_path: Path, inputs: list[str]) -> Path:
    db = tmp_path / "local.db"
    results = run_backfill(Config(archive=str(db)), sources_for(inputs, "backfill", None), workers=1)
    assert all(r.status == "ok" for r in results)
    return db


def backfill(db: Path, address: str, inputs: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "worker", "--log-format", "json", "--archive", str(db)]
    cmd += ["backfill", "--cluster", address, *OPTIONS, *inputs]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def event(stderr: str, name: str) -> dict:
    found = [json.loads(line) for line in stderr.splitlines() if line.startswith("{") and f'"{name}"' in line]
    assert found, stderr[-2000:]
    return found[-1]


def test_a_worker_killed_mid_run_costs_nothing(tmp_path, cluster, inputs):
    address, workers = cluster
    db = tmp_path / "cluster.db"
    run = backfill(db, address, inputs)
    victim = workers["w1"]
    with distributed.Client(address, timeout="30s") as watch:
        deadline, busy = time.monotonic() + 120, set()
        while time.monotonic() < deadline and run.poll() is None and "w1" not in busy:
            processing = watch.processing()
            busy = {info["name"] for addr, info in watch.scheduler_info()["workers"].items() if processing.get(addr)}
            time.sleep(0.02)
        assert run.poll() is None and "w1" in busy, "the backfill ended before the worker could be killed"
        victim.send_signal(signal.SIGKILL)  # while it runs a task
        victim.wait(timeout=30)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err[-3000:]
    finished = event(err, "cluster_finished")
    assert finished["lost"] == 0 and finished["tasks"] > 20
    assert snapshot(db) == snapshot(local_archive(tmp_path, inputs))  # nothing lost, nothing stored twice


def test_a_client_killed_mid_run_goes_on_from_its_checkpoints(tmp_path, cluster, inputs):
    address, _ = cluster
    db = tmp_path / "cluster.db"
    run = backfill(db, address, inputs)
    deadline = time.monotonic() + 120
    stored, running = 0, False
    # killed once some inputs are stored and while a run of one of the first sources is open (a
    # fast machine could otherwise store the last source's inputs before a look at the archive)
    while time.monotonic() < deadline and run.poll() is None and not (stored >= 6 and running):
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as conn:
                    stored = conn.execute("SELECT count(*) FROM fetch_state").fetchone()[0]
                    states = [s for (s,) in conn.execute("SELECT status FROM runs")]
                    running = "running" in states and len(states) < len(inputs)
            except sqlite3.OperationalError:  # the schema is not there yet
                pass
        time.sleep(0.02)
    assert run.poll() is None and running, "the backfill ended before it could be killed"
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    again = backfill(db, address, inputs)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    finished = event(err, "cluster_finished")
    assert finished["passed_over"] >= 3  # inputs stored before the kill are not read again
    with sqlite3.connect(db) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
    assert statuses.get("interrupted") == 1  # the killed run, marked when the next one started
    assert snapshot(db, sightings=False) == snapshot(local_archive(tmp_path, inputs), sightings=False)
