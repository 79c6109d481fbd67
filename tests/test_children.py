"""Processes that never outlive their parent (worker.children): the watchdog fallback where the
kernel's parent-death signal is not available. The real cases, a `--workers 2` backfill killed
with -9 and `worker serve` stopped, are in test_parallel.py and test_datasette.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

ORPHAN = """
import os, sys, time
from worker import children
children._parent_death_signal = lambda signum: None  # as on a system without prctl
children.WATCH_EVERY = 0.05
middle = os.fork()
if middle == 0:  # the parent-to-be: starts a process that watches it, says its pid, dies
    parent = os.getpid()
    watched = os.fork()
    if watched == 0:
        for fd in (1, 2):  # the test reads its output to the end
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        children.die_with_parent(parent)
        time.sleep(60)
        os._exit(0)
    print(watched, flush=True)
    time.sleep(0.5)  # it watches by now: only the watchdog can see this process go
    os._exit(0)
os.waitpid(middle, 0)
"""


def running(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="looks processes up in /proc")
def test_the_watchdog_alone_ends_a_process_whose_parent_died():
    out = subprocess.run(
        [sys.executable, "-c", ORPHAN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    watched = int(out.stdout.strip())
    try:
        deadline = time.monotonic() + 5
        while running(watched) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(watched)
    finally:
        if running(watched):
            os.kill(watched, 9)
