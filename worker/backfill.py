"""``worker backfill``: one-off imports of paths and URLs through the same pipeline.

Cleaning runs across cores (``workers``), the writer stores in batches, and every input's
checkpoint lands with its articles, so an interrupted backfill restarted with the same arguments
passes over what it already stored without reading it again.
"""

from __future__ import annotations

import glob
import time
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

import click
import structlog

from worker.archive import Archive
from worker.errors import WorkerError
from worker.models import Config, RunResult, Source
from worker.pipeline import ingest

log = structlog.get_logger("worker.backfill")

OPTIMIZE_AFTER = 10_000  # new articles after which the FTS index is merged into one segment
EVENT_EVERY = 10.0  # seconds between progress events when not on a terminal


def guess_kind(url: str) -> str:
    """feed, sitemap or page, from the URL's shape (``--kind`` overrides)."""
    path = urlsplit(url).path.lower()
    if "sitemap" in path or path.endswith(".xml.gz"):
        return "sitemap"
    if any(w in path for w in ("/feed", "/rss", ".rss", ".atom", "atom.xml", ".xml", ".json")):
        return "feed"
    return "page"


def sources_for(paths: Sequence[str], name: str, kind: str | None) -> list[Source]:
    sources = []
    for p in paths:
        if urlsplit(p).scheme in ("http", "https"):
            k = kind if kind and kind != "files" else guess_kind(p)
            sources.append(Source(name=name, kind=k, url=p if k != "page" else None,
                                  urls=(p,) if k == "page" else (), every=None))
            continue
        if not glob.has_magic(p) and not Path(p).exists():
            raise WorkerError(f"{p}: no such file or folder")
        sources.append(Source(name=name, kind="files", path=p if glob.has_magic(p) else str(Path(p).resolve())))
    return sources


class Progress:
    """Files, articles/s, new, duplicates, skipped and ETA: a status line on a terminal, a quiet
    ``backfill_progress`` event every few seconds otherwise."""

    def __init__(self, terminal: bool, total_files: int | None = None):
        self.terminal = terminal
        self.total = total_files
        self.files = 0
        self.counts = {"new": 0, "duplicate": 0, "skipped": 0, "known": 0}
        self.t0 = time.monotonic()
        self.last = self.t0

    def __call__(self, what: str, locator: str) -> None:
        if what == "checkpoint":
            self.files += locator.startswith("file:")
        else:
            self.counts[what] += 1
            self.files += what == "known"
        now = time.monotonic()
        if now - self.last >= (0.25 if self.terminal else EVENT_EVERY):
            self.last = now
            self.show()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        articles = self.counts["new"] + self.counts["duplicate"]
        files = f"{self.files}/{self.total} files" if self.total else f"{self.files} files"
        eta = ""
        if self.total and self.files:
            eta = f"  ETA {max(self.total - self.files, 0) * elapsed / self.files:.0f}s"
        return (f"{files}  {articles / elapsed:.0f} articles/s  {self.counts['new']} new  "
                f"{self.counts['duplicate'] + self.counts['known']} duplicates  {self.counts['skipped']} skipped{eta}")

    def show(self) -> None:
        if self.terminal:
            click.echo("\r" + self.line() + " " * 4, nl=False, err=True)
        else:
            elapsed = time.monotonic() - self.t0
            log.info("backfill_progress", files=self.files, total_files=self.total, new=self.counts["new"],
                     duplicates=self.counts["duplicate"] + self.counts["known"], skipped=self.counts["skipped"],
                     articles_per_s=round((self.counts["new"] + self.counts["duplicate"]) / max(elapsed, 1e-6), 1))

    def close(self) -> None:
        if self.terminal:
            click.echo("\r" + self.line() + " " * 4, err=True)


def count_files(sources: Sequence[Source]) -> int | None:
    from worker.fetchers.files import expand

    if any(s.kind != "files" for s in sources):
        return None
    return sum(1 for s in sources for _ in expand(s.path))


def run_backfill(config: Config, paths: Sequence[str], *, name: str = "backfill", kind: str | None = None,
                 http_factory: Callable[[], object] | None = None, progress: bool = False,
                 workers: int = 1, optimize: bool | None = None) -> list[RunResult]:
    """Import ``paths``; returns one RunResult per path. ``optimize`` None: after a large import."""
    sources = sources_for(paths, name, kind)
    http = http_factory() if http_factory and any(s.kind != "files" for s in sources) else None
    bar = Progress(progress, count_files(sources) if progress else None)
    results = []
    with Archive(config.archive) as archive:
        if n := archive.mark_interrupted():
            log.warning("runs_marked_interrupted", count=n)
        try:
            for source in sources:
                results.append(ingest(source, archive, http, trigger="backfill", on_item=bar, workers=workers,
                                      batch_size=200))
        finally:
            bar.close()
        new = sum(r.new for r in results)
        if optimize or (optimize is None and new >= OPTIMIZE_AFTER):
            t0 = time.monotonic()
            archive.optimize()
            log.info("fts_optimized", new=new, duration_ms=int((time.monotonic() - t0) * 1000))
    return results
