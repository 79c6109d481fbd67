"""Soak: many scheduled runs of one feed in one process; does resident memory stay flat?

Serves a 50-item RSS feed on 127.0.0.1 (no ETag or Last-Modified, so every run downloads,
parses and stores it; each run the feed moves on by one item, so there is always one new
article and 49 duplicates) and runs it ``--runs`` times through ``worker.scheduler.run_source``,
the function every scheduled job calls: a fresh archive connection per run, the one shared
``Http`` client, ``pipeline.ingest`` with trigger ``scheduled``. Resident memory (VmRSS from
/proc/self/status) is printed after the first run, at the middle and at the end, with the
archive's size; ``--tracemalloc`` adds the ten allocation sites that grew most between the
first run and the last.

Example:
    python benchmarks/soak.py                         # 1,000 runs, archive in a temporary folder
    python benchmarks/soak.py --runs 100 --tracemalloc     # tracemalloc slows every run many times over
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker import log as logsetup  # noqa: E402
from worker.fetchers.http import Http  # noqa: E402
from worker.kinds import make_source  # noqa: E402
from worker.models import Config, HttpSettings, SchedulerSettings  # noqa: E402
from worker.scheduler import run_source  # noqa: E402


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def feed(first: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Soak story number {i}: harbour talks resume</title>"
        f"<link>http://soak.example/story/{i}</link><guid>soak-{i}</guid>"
        f"<pubDate>Tue, 07 May 2024 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Story {i} opens with a paragraph of news about the harbour, the unions "
        f"and the city.&lt;/p&gt;&lt;p&gt;A second paragraph of story {i} with more words in it.&lt;/p&gt;"
        f"</description></item>"
        for i in range(first + items - 1, first - 1, -1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Soak wire</title>'
        f"<link>http://soak.example/</link>{entries}</channel></rss>"
    ).encode()


class FeedServer:
    """The feed at /feed.xml; ``advance()`` moves it on by one item."""

    def __init__(self, items: int):
        self.items = items
        self.first = 0
        self.body = feed(0, items)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                body = owner.body
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"

    def advance(self) -> None:
        self.first += 1
        self.body = feed(self.first, self.items)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50, help="items in the feed")
    ap.add_argument("--db", type=Path, default=None, help="archive file (default: a new one in a temp folder)")
    ap.add_argument("--tracemalloc", action="store_true", help="also show the allocation sites that grew most")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="soak-")
    db = args.db or Path(tmp.name) / "soak.db"
    logsetup.setup("json", "warning")  # run_finished lines are info: keep the table readable
    server = FeedServer(args.items)
    source = make_source(name="soak", kind="feed", url=server.url, every=1)
    config = Config(
        archive=str(db),
        http=HttpSettings(per_host_delay=0, respect_robots=False, retries=0),
        scheduler=SchedulerSettings(jitter=0),
        sources=(source,),
    )
    http = Http(config.http)
    marks = {1, max(args.runs // 2, 1), args.runs}
    table = []
    snapshot = None
    t0 = time.monotonic()
    try:
        for n in range(1, args.runs + 1):
            result = run_source(config, source, http, "scheduled")
            if result is None or result.status != "ok":
                raise SystemExit(f"run {n} failed: {result}")
            server.advance()
            if n in marks:
                gc.collect()
                table.append((n, rss_kb(), result.new, result.duplicates, db.stat().st_size, time.monotonic() - t0))
                if args.tracemalloc and n == 1:
                    tracemalloc.start(10)
                    snapshot = tracemalloc.take_snapshot()
    finally:
        http.close()
        server.stop()

    print(f"soak: {args.runs} scheduled runs of a {args.items}-item feed on loopback, archive {db}")
    print(f"{'run':>6}  {'RSS MB':>8}  {'new':>4}  {'dup':>4}  {'archive MB':>10}  {'elapsed s':>9}")
    for n, kb, new, dup, size, elapsed in table:
        print(f"{n:>6}  {kb / 1024:>8.1f}  {new:>4}  {dup:>4}  {size / 1e6:>10.1f}  {elapsed:>9.1f}")
    first, last = table[0], table[-1]
    per_run = (last[5] - first[5]) / max(last[0] - first[0], 1)
    print(
        f"RSS growth after the first run: {(last[1] - first[1]) / 1024:+.1f} MB over {last[0] - first[0]} runs"
        f" ({per_run * 1000:.0f} ms per run)"
    )
    if snapshot is not None:
        print("allocation sites that grew most since run 1 (tracemalloc):")
        for stat in tracemalloc.take_snapshot().compare_to(snapshot, "lineno")[:10]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
