"""Child processes that never outlive the process that started them.

Two ends of one promise: a child started here (``run_child``: Datasette for ``worker serve``)
gets the signals its parent is sent and is waited for; a process that a parent started for its
own work (a cleaning pool's worker) exits when that parent dies, even by ``kill -9``
(``die_with_parent``: the kernel's parent-death signal on Linux, and a watchdog thread that
looks at the parent's pid anywhere else).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_EVERY = 1.0  # seconds between two looks at the parent's pid


def run_child(cmd: list[str]) -> int:
    """Run ``cmd`` until it ends; its exit status (128 + N when signal N ended it). SIGTERM,
    SIGINT and SIGHUP sent to this process are passed on to the child, which runs in a process
    group of its own, so a Ctrl-C reaches it once, through here. If this process is killed
    before it can pass anything on, the kernel sends the child SIGTERM (Linux). OSError when
    ``cmd`` cannot be started."""
    pending: list[int] = []
    child: subprocess.Popen | None = None

    def forward(signum: int, _frame: object) -> None:
        if child is None:
            pending.append(signum)  # before the child exists: passed on once it does
        else:
            child.send_signal(signum)

    parent = os.getpid()

    def terminate_with_parent() -> None:  # in the child, between fork and exec
        _parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before that
            os._exit(1)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        # the hook only calls prctl (async-signal-safe); the parent's threads do not matter here
        child = subprocess.Popen(cmd, process_group=0, preexec_fn=terminate_with_parent)  # noqa: PLW1509
        for signum in pending:
            child.send_signal(signum)
        status = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


def die_with_parent(parent: int) -> None:
    """Make this process exit when ``parent`` (its parent's pid) dies: SIGKILL from the kernel
    on Linux, and a daemon thread that looks every WATCH_EVERY seconds everywhere (a process
    whose parent died is handed to another one, so its parent's pid changes)."""
    _parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os._exit(1)


def _parent_death_signal(signum: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog alone
            pass
