"""``worker backfill``: one-off imports of paths and URLs through the same pipeline."""

from __future__ import annotations

import glob
import time
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

import click

from worker.archive import Archive
from worker.errors import WorkerError
from worker.models import Config, RunResult, Source
from worker.pipeline import ingest


def guess_kind(url: str) -> str:
    """feed, sitemap or page, from the URL's shape (``--kind`` overrides)."""
    path = urlsplit(url).path.lower()
    if "sitemap" in path or path.endswith((".xml.gz",)):
        return "sitemap"
    if any(w in path for w in ("/feed", "/rss", ".rss", ".atom", "atom.xml", "rss.xml", "feed.xml", ".xml")):
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
        sources.append(Source(name=name, kind="files", path=str(Path(p).resolve()) if not glob.has_magic(p) else p))
    return sources


class Progress:
    """Counts on a terminal: items, new, duplicates, skipped, items/s."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.counts = {"new": 0, "duplicate": 0, "skipped": 0}
        self.t0 = time.monotonic()
        self.last = 0.0

    def __call__(self, what: str, locator: str) -> None:
        self.counts[what] += 1
        now = time.monotonic()
        if self.enabled and now - self.last > 0.2:
            self.last = now
            self.show()

    def show(self, end: str = "") -> None:
        n = sum(self.counts.values())
        rate = n / max(time.monotonic() - self.t0, 1e-6)
        click.echo(f"\r{n} items  {self.counts['new']} new  {self.counts['duplicate']} duplicates  "
                   f"{self.counts['skipped']} skipped  {rate:.0f}/s{end}", nl=False, err=True)

    def close(self) -> None:
        if self.enabled:
            self.show()
            click.echo("", err=True)


def run_backfill(config: Config, paths: Sequence[str], *, name: str = "backfill", kind: str | None = None,
                 http_factory: Callable[[], object] | None = None, progress: bool = False) -> list[RunResult]:
    sources = sources_for(paths, name, kind)
    http = http_factory() if http_factory and any(s.kind != "files" for s in sources) else None
    bar = Progress(progress)
    results = []
    with Archive(config.archive) as archive:
        archive.mark_interrupted()
        try:
            for source in sources:
                results.append(ingest(source, archive, http, trigger="backfill", on_item=bar))
        finally:
            bar.close()
    return results
