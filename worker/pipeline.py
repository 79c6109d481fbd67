"""ingest(source, ...) -> RunResult: the one code path of scheduled runs, ``ingest`` and ``backfill``.

The flow: fetch (the source's kind, from ``worker.kinds``) -> clean (here, or across a process
pool: ``worker.parallel``) -> store (``writer.Writer``, in batches) -> finish (the run row and the
source's state, with the last batch). A ``run.Run`` holds the run's counts and batches. Errors
are caught here once: one broken item is skipped and counted; one broken source is a failed
run, recorded with its error and its next attempt; neither stops anything else. What stops the
whole command is raised after the run is recorded: Ctrl-C (``errors.Interrupted``) and an
archive that cannot be written (``errors.ArchiveError``: disk full, damaged, read-only).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from worker.archive import Archive, archive_error
from worker.errors import Interrupted
from worker.fetchers import FetchOutput, HttpClient
from worker.kinds import Fetch, kind_named
from worker.models import RunResult, SchedulerSettings, Source
from worker.run import OnFinish, OnItem, Run, RunContext, Stopping
from worker.writer import Writer

if TYPE_CHECKING:
    from worker.captures import Captures

if TYPE_CHECKING:
    from worker.parallel import Cleaned

BATCH_SIZE = 200

# where fetch and clean run, when not here: (source, ctx) -> every fetcher output, in order, with
# its cleaned article (``worker.distributed``: on a Dask cluster)
Stream = Callable[[Source, RunContext], Iterable[tuple[object, "Cleaned"]]]


def fetch(source: Source, ctx: RunContext) -> Iterator[FetchOutput]:
    """The source's items, checkpoints and skips, from the fetch function of its kind."""
    return kind_named(source.kind).fetcher()(source, ctx)


def ingest(
    source: Source,
    archive: Archive,
    http: HttpClient | None = None,
    *,
    trigger: str = "manual",
    stop: threading.Event | None = None,
    settings: SchedulerSettings | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int = 1,
    on_item: OnItem | None = None,
    captures: Captures | None = None,
    fetcher: Fetch | None = None,
    on_finish: OnFinish | None = None,
    stream: Stream | None = None,
) -> RunResult:
    """Run one source once and record it. Never raises for anything the source does. With
    ``captures``, the raw responses it receives are kept (WARC) and linked to what they gave;
    ``fetcher`` replaces the kind's fetch function (``worker reclean`` reads captured records);
    ``on_finish`` is called once the run is recorded (the service feeds its metrics and its
    schedule from it); ``stream``: fetch and clean elsewhere (the same outputs in the same
    order: ``worker.distributed``)."""
    from worker.parallel import cleaned

    settings = settings or SchedulerSettings()
    run = Run(source, archive, trigger=trigger, on_item=on_item, on_finish=on_finish)
    ctx = RunContext(source, archive, http, trigger, run.stats, captures)
    writer = Writer(archive, run, threaded=workers > 1 or stream is not None)
    try:
        try:
            pairs = (
                stream(source, ctx)
                if stream
                else cleaned((fetcher or fetch)(source, ctx), source.name, workers, writer.keeping_up)
            )
            for out, article in pairs:
                if stop is not None and stop.is_set():
                    raise Stopping()
                if run.take(out, article) >= batch_size:
                    writer.store(run.batch(ctx))
        except (KeyboardInterrupt, sqlite3.Error):
            raise
        except Exception as exc:
            run.fail(exc)
        writer.finish(run.batch(ctx), run.closing_state(archive.source_state(source.name), settings))
    except KeyboardInterrupt:
        run.fail(Stopping())
        writer.finish(run.batch(ctx), run.closing_state(archive.source_state(source.name), settings))
        run.report(run.final or run.result())
        raise Interrupted(run.counts.new) from None
    except sqlite3.Error as exc:
        error = archive_error(exc, archive.path)
        error.new = run.counts.new
        run.fail(error)
        run.record_failure(archive, settings)
        run.report(run.result())
        raise error from None
    assert run.final is not None
    run.report(run.final)
    return run.final
