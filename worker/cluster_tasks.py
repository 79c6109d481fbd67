"""What a cluster worker runs for a backfill: one partition read, its pages cleaned there.

``run_partition`` reads a partition's inputs with the fetchers a local backfill uses and cleans
every page where it was read; it returns each fetcher output in order with its cleaned article,
and never a raw page (a page comes back as its locator alone). The checkpoints the fetchers read
come with the task (``Task.saved``: the archive is the client's, not the worker's). ``run_shard``
instead stores the partition in a shard archive of its own through the pipeline, as a local
backfill into that file would. Both import nothing of Dask: they are plain functions a Dask
worker calls.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from worker.errors import WorkerError
from worker.fetchers import FetchOutput, HttpClient
from worker.fetchers import files as files_fetcher
from worker.fetchers import warc as warc_fetcher
from worker.fetchers.files import _changed, _resume_at, display
from worker.kinds import kind_named
from worker.models import (
    CaptureRef,
    Checkpoint,
    FetchStats,
    HttpResponse,
    HttpSettings,
    RawItem,
    RunResult,
    Skipped,
    Validators,
)
from worker.parallel import Cleaned, cleaned, release_memory
from worker.partitions import Part, Partition, key_of, warc_filter

log = structlog.get_logger("worker.cluster")


@dataclass(frozen=True)
class Page:
    """A page read and cleaned on a worker: what the writer needs of it besides its article."""

    locator: str


@dataclass(frozen=True)
class Task:
    """One partition to read and clean, with the checkpoints of its inputs when it was sent."""

    partition: Partition
    saved: Mapping[str, str]
    http: HttpSettings
    log_level: str = "info"


@dataclass
class Outcome:
    """What a task hands back: every output in order with its cleaned article (or skip reason),
    the fetch counters, the error that stopped the partition (raised by the source's run), and
    how long the task took on its worker (and of that, on a core) and how many pages it cleaned."""

    index: int
    pairs: list[tuple[object, Cleaned]] = field(default_factory=list)
    stats: FetchStats = field(default_factory=FetchStats)
    error: Exception | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    pages: int = 0


class TaskContext:
    """The ``FetchContext`` of a task: checkpoints from the task, an HTTP client made when a
    network input needs one. Whether an article is archived cannot be asked here (the archive is
    the client's): such pages are fetched and cleaned, and the writer's same-story rules decide."""

    trigger = "backfill"

    def __init__(self, saved: Mapping[str, str], settings: HttpSettings):
        self._saved, self.settings = saved, settings
        self.stats = FetchStats()
        self._http: HttpClient | None = None

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            from worker.fetchers.http import Http

            self._http = Http(self.settings)
        return self._http

    def saved(self, key: str) -> str | None:
        return self._saved.get(key)

    def validators_for(self, url: str) -> Validators | None:
        raw = self.saved("http:" + url)
        data = json.loads(raw) if raw else None
        return Validators(etag=data.get("etag"), last_modified=data.get("last_modified")) if data else None

    def is_archived(self, headline: str, publication: str | None = None) -> bool:
        return False

    capturing = False  # a task returns cleaned articles: raw capture is the archive's machine's

    def capture(self, resp: HttpResponse) -> HttpResponse:
        return resp

    def capture_file(self, path: Path, data: bytes, content_type: str) -> CaptureRef | None:
        return None


def outputs(partition: Partition, ctx, settings: HttpSettings) -> Iterator[FetchOutput]:
    """The fetcher outputs of a partition's inputs, in order: what the source's own fetcher yields
    for those inputs (a path not read: as it was reported when planned)."""
    source = partition.source
    yield from partition.local
    for part in partition.parts:
        if part.kind == "file":
            yield from files_fetcher.read_path(Path(part.where), source.name, ctx)
        elif part.kind == "warc":
            yield from warc_fetcher.read_path(Path(part.where), source.name, ctx, warc_filter(source))
        elif part.kind == "warc_range":
            yield from read_range(partition, part, ctx)
        elif part.kind == "warc_url":
            from worker.fetchers.warc_remote import read_url

            yield from read_url(part.where, source.name, ctx, settings, warc_filter(source))
        else:
            yield from kind_named(source.kind).fetcher()(source, ctx)


def read_range(partition: Partition, part: Part, ctx) -> Iterator[FetchOutput]:
    """The pages of bytes ``part.start``..``part.end`` of a WARC file, then a partial checkpoint
    at ``part.end`` (the file's own checkpoint after its last range). Goes on from a saved offset
    inside the range; a range stored already yields nothing."""
    p, source = Path(part.where), partition.source.name
    loc, key = display(p), key_of(partition.source, part)
    assert key is not None
    try:
        st = p.stat()
    except OSError as exc:
        yield Skipped(source, loc, f"cannot read: {exc.strerror or exc}")
        return
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    if stamp != part.stamp:
        yield Skipped(source, f"{loc}@{part.start}", "the file changed after the backfill cut it: run it again")
        return
    saved = ctx.saved(key)
    offset, records = _resume_at(saved, stamp)
    if saved == stamp or offset >= part.end:
        return  # stored already (the sighting of a whole stored file comes with its first range)
    start, records = (offset, records) if offset > part.start else (part.start, 0)
    with p.open("rb") as fh:
        fh.seek(start)
        reader = warc_fetcher.WarcReader(
            _Bounded(fh, part.end - start),
            source=source,
            locator=loc,
            filters=warc_filter(partition.source),
            start=start,
            records=records,
            checkpoint=lambda at, n: Checkpoint(key, f"{stamp}@{at}:{n}", partial=True),
        )
        yield from reader
    if not _changed(p, st):
        last = part.end >= st.st_size
        yield Checkpoint(key, stamp) if last else Checkpoint(key, f"{stamp}@{part.end}:{reader.records}", partial=True)


class _Bounded:
    """The next ``left`` bytes of a file, then its end."""

    def __init__(self, fh, left: int):
        self._fh, self._left = fh, left

    def read(self, size: int = -1) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._fh.read(want) if want > 0 else b""
        self._left -= len(data)
        return data


def run_partition(task: Task) -> Outcome:
    """Read and clean one partition (the function a Dask worker runs). Never raises for what the
    inputs do: an error that stops the partition is handed back, to fail the source's run as it
    would locally."""
    _logging(task.log_level)
    t0, cpu0 = time.monotonic(), time.thread_time()
    ctx = TaskContext(task.saved, task.http)
    outcome = Outcome(task.partition.index, stats=ctx.stats)
    try:
        for out, article in cleaned(outputs(task.partition, ctx, task.http), task.partition.source.name):
            if isinstance(out, RawItem):
                out = Page(out.locator)
                outcome.pages += 1
            outcome.pairs.append((out, article))
    except Exception as exc:
        outcome.error = portable(exc, task.partition)
    finally:
        release_memory()
    outcome.seconds, outcome.cpu_seconds = time.monotonic() - t0, time.thread_time() - cpu0
    return outcome


def portable(exc: Exception, partition: Partition) -> Exception:
    """The exception as it can travel back to the client; one that cannot is logged here and
    goes back as a WorkerError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        log.error("partition_failed", source=partition.source.name, url=partition.name(), error=repr(exc))
        return WorkerError(f"internal error: {exc!r}")
    return exc


@dataclass(frozen=True)
class ShardTask:
    """One partition to store in the shard archive at ``path``."""

    partition: Partition
    path: str
    http: HttpSettings
    log_level: str = "info"


def run_shard(task: ShardTask) -> RunResult:
    """Store one partition in its own shard archive through the pipeline (the function a Dask
    worker runs). A shard whose task ran before goes on from its own checkpoints; when the run
    ends, the shard records what it holds up to here (``SHARD_META``), which ``worker merge`` folds in."""
    from worker.archive import Archive
    from worker.archive.merge import SHARD_META
    from worker.pipeline import ingest

    _logging(task.log_level)
    p = task.partition

    def stream(source, ctx):
        return cleaned(outputs(p, ctx, task.http), source.name)

    network = any(part.kind == "source" for part in p.parts)
    http = TaskContext({}, task.http).http if network else None
    with Archive(task.path) as shard:
        result = ingest(p.source, shard, http, trigger="shard", stream=stream)
        (last,) = shard.db.execute("SELECT coalesce(max(id), 0) FROM sightings").fetchone()
        info = {"digest": p.digest(), "source": p.source.name, "kind": p.source.kind, "inputs": p.name()}
        shard.set_meta(SHARD_META, json.dumps({**info, "status": result.status, "sightings": last}))
    release_memory()
    return result


_LOGGING: str | None = None


def _logging(level: str) -> None:
    """Log as the command does (JSON lines on the worker's standard error), once per process."""
    global _LOGGING
    if level != _LOGGING:
        from worker import log as logsetup

        logsetup.setup("json", level)
        _LOGGING = level
