"""``worker backfill --cluster ... --shards DIR``: each task stores its partition in a shard of its own.

For a cluster that cleans faster than one writer stores: every task writes a normal archive
(``cluster_tasks.run_shard``, the same pipeline) named ``part-<partition>-<digest>.db``, so the
folder's name order is the backfill's order, and ``worker merge DIR`` folds the shards into the
archive later, through the same rules. The archive itself is not opened here. A partition whose
shard ended well is not sent again; one whose task failed or died goes on in its shard from the
shard's own checkpoints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from pathlib import Path

import structlog

from worker.archive import Archive
from worker.archive.merge import shard_info
from worker.cluster_tasks import ShardTask, run_shard
from worker.distributed import WINDOW_MIN, WINDOW_PER_THREAD, connect, dashboard
from worker.errors import ArchiveError, WorkerError
from worker.models import Config, RunResult, Source
from worker.partitions import BYTES, FILES, Partition, plan
from worker.run import OnItem
from worker.timefmt import utcnow

log = structlog.get_logger("worker.cluster")


def shard_path(folder: Path, p: Partition) -> Path:
    return folder / f"part-{p.index:06d}-{p.digest()}.db"


def finished(path: Path) -> bool:
    """Whether the shard at ``path`` holds its whole partition (its task ended well)."""
    if not path.exists():
        return False
    try:
        with Archive(path, readonly=True) as shard:
            info = shard_info(shard.db)
    except ArchiveError:
        return False
    return info is not None and info.get("status") == "ok"


def shard_backfill(
    config: Config,
    sources: Sequence[Source],
    spec: str,
    folder: Path,
    *,
    on_item: OnItem | None = None,
    files: int = FILES,
    size: int = BYTES,
    log_level: str = "info",
    tell: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """Store every partition not yet in a finished shard in its shard under ``folder``; one
    RunResult per task, as the tasks end."""
    from distributed import KilledWorker, as_completed

    folder.mkdir(parents=True, exist_ok=True)
    todo = (p for p in plan(sources, files=files, size=size) if not finished(shard_path(folder, p)))
    results: list[RunResult] = []
    token = uuid.uuid4().hex[:12]
    with connect(spec) as client:
        if tell and (link := dashboard(client)):
            tell(link)
        sent: dict[str, Partition] = {}
        running = as_completed()

        def send() -> None:
            if (p := next(todo, None)) is not None:
                task = ShardTask(p, str(shard_path(folder, p)), config.http, log_level)
                future = client.submit(run_shard, task, key=f"shard-{token}-{p.index}")
                sent[future.key] = p
                running.add(future)

        for _ in range(max(WINDOW_MIN, WINDOW_PER_THREAD * sum(client.nthreads().values()))):
            send()
        t0 = time.monotonic()
        for future in running:
            p = sent.pop(future.key)
            try:
                result = future.result()
            except KilledWorker as exc:
                log.error("partition_lost", source=p.source.name, url=p.name(), error=str(exc))
                result = _failed(p, "a cluster worker died each time it read this; run again")
            except (CancelledError, OSError, TimeoutError) as exc:
                raise WorkerError(f"lost the Dask cluster: {exc!r}") from None
            except Exception as exc:  # the task itself failed on the cluster
                result = _failed(p, f"the task failed on the cluster: {exc!r}")
            finally:
                future.release()
            results.append(result)
            _progress(on_item, p, result)
            send()
        log.info("shards_finished", tasks=len(results), duration_ms=int((time.monotonic() - t0) * 1000))
    return results


def _failed(p: Partition, reason: str) -> RunResult:
    now, error = utcnow(), f"{p.name()}: {reason}"
    return RunResult(
        source=p.source.name, trigger="shard", started_at=now, finished_at=now, status="error", error=error
    )


def _progress(on_item: OnItem | None, p: Partition, result: RunResult) -> None:
    """The progress display, told what a shard stored (the counts of its run)."""
    if on_item is None:
        return
    for what, n in (("new", result.new), ("duplicate", result.duplicates), ("skipped", result.skipped)):
        for _ in range(n):
            on_item(what, p.name())
    for part in p.parts:
        if part.kind in ("file", "warc") or (part.kind == "warc_range" and part.start == 0):
            on_item("checkpoint", "file:" + part.where)
