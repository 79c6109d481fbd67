"""``worker backfill``: one-off imports of paths and URLs through the same pipeline.

Each argument becomes a source of the kind that recognises it (``worker.kinds``: a path is
``files``, a URL a feed, sitemap or page by its shape; ``kind`` forces one). Cleaning runs
across cores (``workers``), the writer stores in batches, and every input's checkpoint lands
with its articles, so an interrupted backfill restarted with the same arguments passes over
what it already stored without reading it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from worker.archive import Archive
from worker.errors import ArchiveFull, Interrupted, WorkerError
from worker.fetchers import HttpClient
from worker.kinds import captures as capturing
from worker.kinds import guess, is_url, kind_named, make_source
from worker.models import Config, RunResult, Source
from worker.pipeline import Stream, ingest
from worker.run import OnItem

if TYPE_CHECKING:
    from worker.captures import Captures

log = structlog.get_logger("worker.backfill")

OPTIMIZE_AFTER = 10_000  # new articles after which the FTS index is merged into one segment


def sources_for(
    arguments: Sequence[str], name: str, kind: str | None, filters: dict[str, str] | None = None
) -> list[Source]:
    """One source per argument, of the forced ``kind`` or the kind that recognises it; WARC
    inputs take ``filters`` (``host``, ``since``, ``until``), which are for them only."""
    filters = {k: v for k, v in (filters or {}).items() if v is not None}
    sources = []
    for arg in arguments:
        k = guess(arg)
        forced = kind_named(kind, "--kind") if kind else None
        if forced is not None and (forced.guess(arg) > 0 or forced.network == is_url(arg)):
            k = forced  # --kind applies to its own medium, or to what it recognises
        assert k.argument is not None
        if filters and k.name != "warc":
            raise WorkerError(f"{arg}: --host, --since and --until filter WARC inputs only")
        sources.append(make_source(name, k.name, **{k.argument: k.prepare(arg)}, **filters))
    return sources


def count_files(sources: Sequence[Source]) -> int | None:
    """How many files the sources will read (for an ETA), or None when any is not local."""
    from worker.fetchers.files import expand

    if any(s.kind != "files" for s in sources):
        return None
    return sum(1 for s in sources for _ in expand(s.options["path"]))


def run_backfill(
    config: Config,
    sources: Sequence[Source],
    *,
    http_factory: Callable[[], HttpClient] | None = None,
    on_item: OnItem | None = None,
    workers: int = 1,
    optimize: bool | None = None,
    captures: Captures | None = None,
    stream: Stream | None = None,
) -> list[RunResult]:
    """Import ``sources``; returns one RunResult each. ``optimize`` None: after a large import.
    Sources that capture keep their raw responses in ``captures``; ``stream``: where fetch and
    clean run when not here (``worker.distributed``)."""
    needs_http = any(kind_named(s.kind).network for s in sources)
    http = http_factory() if http_factory and needs_http else None
    results = []
    with Archive(config.archive) as archive:
        archive.quick_check()
        if n := archive.mark_interrupted():
            log.warning("runs_marked_interrupted", count=n)
        try:
            for source in sources:
                results.append(
                    ingest(
                        source,
                        archive,
                        http,
                        trigger="backfill",
                        on_item=on_item,
                        workers=workers,
                        settings=config.scheduler,
                        captures=captures if captures is not None and capturing(source, config.capture) else None,
                        stream=stream,
                    )
                )
        except Interrupted as exc:
            raise Interrupted(sum(r.new for r in results) + exc.new) from None
        except ArchiveFull as exc:
            n = sum(r.new for r in results) + exc.new
            raise ArchiveFull(f"archive disk is full: {n} articles stored; free space and run again") from None
        new = sum(r.new for r in results)
        if optimize or (optimize is None and new >= OPTIMIZE_AFTER):
            t0 = time.monotonic()
            archive.optimize()
            log.info("fts_optimized", new=new, duration_ms=int((time.monotonic() - t0) * 1000))
    return results
