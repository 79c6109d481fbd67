"""``worker merge``: shard archives folded into the archive, with the same same-story rules.

Each shard (``worker backfill --shards``: one archive per cluster task) is replayed in the order
given: its articles, each with the text of the version its sighting saw, in the order its task
stored them, go through ``archive.store`` in batches, as a backfill's would; then its
checkpoints, and what their inputs produced, with this archive's article ids. A shard is merged
in one transaction with a checkpoint of how far it was merged (``shard:<digest>``): merging it
again adds nothing, an interrupted merge leaves nothing half done, and a shard its task added to
since (a backfill run again after a failure) adds only what is new.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from worker.archive import Archive, Batch, archive_error
from worker.archive.merge import (
    MERGED,
    shard_articles,
    shard_checkpoints,
    shard_info,
    shard_produced,
    write_checkpoints,
)
from worker.errors import ArchiveError
from worker.models import RunResult, SchedulerSettings, Source
from worker.pipeline import BATCH_SIZE
from worker.run import OnItem, Run
from worker.timefmt import utcnow


@dataclass(frozen=True)
class Merged:
    """One shard's merge: its run (None when it had nothing new), or why it was not merged."""

    shard: str
    result: RunResult | None = None
    error: str | None = None


def shard_paths(arguments: Iterable[str]) -> list[Path]:
    """The shard files named: a file as given, a folder's ``*.db`` files in name order."""
    found: list[Path] = []
    for arg in arguments:
        p = Path(arg)
        found.extend(sorted(p.glob("*.db")) if p.is_dir() else [p])
    return found


def merge_shards(archive: Archive, shards: Sequence[Path], *, on_item: OnItem | None = None) -> list[Merged]:
    """Merge ``shards`` into ``archive`` in order. A shard that cannot be read is reported and the
    rest are merged."""
    archive.mark_interrupted()
    out = []
    for path in shards:
        try:
            shard = Archive(path, readonly=True)
        except ArchiveError as exc:  # not an archive, or of another schema version
            out.append(Merged(str(path), error=str(exc)))
            continue
        with shard:
            out.append(merge_one(archive, shard, on_item))
    return out


def merge_one(archive: Archive, shard: Archive, on_item: OnItem | None = None) -> Merged:
    """Merge what ``shard`` holds beyond what was merged of it before."""
    info = shard_info(shard.db)
    if info is None:
        return Merged(shard.path, error="not a finished shard (its task did not end): run the backfill again")
    source = Source(name=info["source"], kind=info["kind"])
    marker = MERGED + info["digest"]
    done = archive.fetch_state(source.name, marker)
    if done is not None and int(done) >= info["sightings"]:
        return Merged(shard.path)
    run = Run(source, archive, trigger="merge", on_item=on_item)
    try:
        with archive.transaction():
            ids = _replay(archive, shard, run, int(done or 0), info["sightings"])
            produced = [(src, key, aid) for src, key, said in shard_produced(shard.db) for aid in ids.get(said, ())]
            checkpoints = [*shard_checkpoints(shard.db), (source.name, marker, str(info["sightings"]))]
            write_checkpoints(archive.db, checkpoints, produced, utcnow())
            final = run.result()
            archive.finish_run(final, run.closing_state(archive.source_state(source.name), SchedulerSettings()))
    except sqlite3.Error as exc:
        error = archive_error(exc, archive.path)
        run.fail(error)
        run.record_failure(archive, SchedulerSettings())
        raise error from None
    run.final = final
    run.report(final)
    return Merged(shard.path, final)


def _replay(archive: Archive, shard: Archive, run: Run, after: int, upto: int) -> dict[int, set[int]]:
    """Store the shard's articles after sighting ``after`` up to ``upto`` in batches; returns
    which article ids here each shard article became."""
    ids: dict[int, set[int]] = defaultdict(set)
    rows = shard_articles(shard.db, after, upto)
    while chunk := list(islice(rows, BATCH_SIZE)):
        batch = Batch(
            run.run_id, run.source.name, articles=[(article, locator, None) for article, locator, _, _ in chunk]
        )
        stored = archive.store(batch)
        for (_, _, shard_id, _), aid in zip(chunk, stored.ids):
            ids[shard_id].add(aid)
        run.tally(batch, stored)
    return ids
