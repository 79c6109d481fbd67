"""Datasette's search box (over HTTP, from a real ``datasette`` process) and ``sqlite-utils search``
(its command line) on a benchmark archive: how long each answer takes, and how many fail.

Used by benchmarks/search.py. ``baseline=True`` runs both without the worker's plugins (what
they did before: Datasette's own search filter, sqlite-utils ranking every match), through the
switch both honour for their own test suites (``sys._called_from_test``: no plugins loaded).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.serve import PROJECT_METADATA, SETTINGS, metadata_for  # noqa: E402

WITHOUT_PLUGINS = "import sys; sys._called_from_test = True; from {module}.cli import cli; cli()"
Timings = list[tuple[str, float, float, str]]  # (case, p50 ms, p95 ms, how the answers ended)


def command(module: str, baseline: bool) -> list[str]:
    """``python -m datasette`` or ``python -m sqlite_utils``, without plugins for the baseline."""
    if baseline:
        return [sys.executable, "-c", WITHOUT_PLUGINS.format(module=module)]
    return [sys.executable, "-m", module]


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


@contextlib.contextmanager
def datasette(path: Path, baseline: bool, settings: bool = True) -> Iterator[str]:
    """A real Datasette on ``path`` as ``worker serve`` starts it (the shipped metadata, its
    ``SETTINGS`` unless ``settings`` is false, Datasette's 1 s SQL time limit), until the block
    ends; its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fd, metadata = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(metadata_for(path, PROJECT_METADATA), out, allow_unicode=True)
    cmd = [*command("datasette", baseline), "serve", str(path), "--metadata", metadata, "--port", str(port)]
    cmd += [arg for name, value in (SETTINGS if settings else ()) for arg in ("--setting", name, value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=10).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("datasette did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        os.unlink(metadata)


def fetch(url: str) -> tuple[float, int]:
    """(milliseconds, HTTP status) of one GET."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return (time.perf_counter() - started) * 1000, status


def measure_datasette(path: Path, words: list[str], repeat: int, baseline: bool, settings: bool) -> Timings:
    """(case, p50 ms, p95 ms, statuses) of the table page's search (JSON and HTML) and, with the
    plugin, the ranked ``search`` query."""
    name = path.stem
    cases = {
        "articles.json?_search=": f"/{name}/articles.json?_search={{}}",
        "articles (HTML page)?_search=": f"/{name}/articles?_search={{}}",
    }
    if not baseline:
        cases["search.json?q= (ranked)"] = f"/{name}/search.json?q={{}}"
    out = []
    with datasette(path, baseline, settings) as base:
        fetch(base + cases["articles.json?_search="].format(urllib.parse.quote(words[0])))  # warm up
        for case, template in cases.items():
            times, statuses = [], []
            for _ in range(repeat):
                for word in words:
                    ms, status = fetch(base + template.format(urllib.parse.quote(word)))
                    times.append(ms)
                    statuses.append(status)
            summary = ", ".join(f"{statuses.count(s)}x{s}" for s in sorted(set(statuses)))
            out.append((case, *percentiles(times), summary))
    return out


def measure_sqlite_utils(
    path: Path, words: list[str], repeat: int, baseline: bool
) -> list[tuple[str, float, float, str]]:
    """(case, p50 ms, p95 ms, exit statuses) of ``sqlite-utils search ... --limit 20``, whole
    process runs; the cost of starting the command alone (``sqlite-utils query ... 'select 1'``)
    is measured beside it."""
    cases = {
        "search --limit 20": ["search", str(path), "articles", "{}", "--limit", "20", "-c", "id", "-c", "headline"],
        "query 'select 1' (start-up alone)": ["query", str(path), "select 1"],
    }
    out = []
    for case, args in cases.items():
        times, codes = [], []
        for _ in range(repeat):
            for word in words:
                cmd = [*command("sqlite_utils", baseline), *(a.format(word) for a in args)]
                started = time.perf_counter()
                done = subprocess.run(cmd, capture_output=True, timeout=300)
                times.append((time.perf_counter() - started) * 1000)
                codes.append(done.returncode)
        summary = ", ".join(f"{codes.count(c)}x exit {c}" for c in sorted(set(codes)))
        out.append((case, *percentiles(times), summary))
    return out
