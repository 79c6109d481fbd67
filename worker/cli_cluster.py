"""The command line of cluster backfills: ``backfill``'s cluster options and ``worker merge``.

Kept beside ``worker.cli`` (which registers ``merge`` and applies ``cluster_options``); Dask is
imported only when ``--cluster`` is given.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from worker.models import RunResult, Source
    from worker.run import OnItem

_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class Size(click.ParamType):
    """A size in bytes: 64M, 512K, 1G or a number of bytes."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        m = _SIZE.fullmatch(str(value).strip())
        if not m or int(m.group(1)) == 0:
            self.fail(f"expected a size like 64M, 512K or 1G, got {value!r}", param, ctx)
        return int(m.group(1)) * _UNITS[m.group(2).lower()]


def cluster_options(f):
    """--cluster, --shards, --partition-files, --partition-size: for ``worker backfill``."""
    f = click.option(
        "--partition-size",
        type=Size(),
        default=None,
        help="With --cluster: WARC bytes per task; a larger WARC file is cut at record starts (default 64M).",
    )(f)
    f = click.option(
        "--partition-files",
        type=click.IntRange(1, 100_000),
        default=None,
        help="With --cluster: files of a folder per task (default 200).",
    )(f)
    f = click.option(
        "--shards",
        type=click.Path(file_okay=False),
        default=None,
        metavar="DIR",
        help="With --cluster: each task writes a shard archive here instead (fold them in with: worker merge DIR).",
    )(f)
    f = click.option(
        "--cluster",
        default=None,
        metavar="local[:N]|tcp://HOST:PORT",
        help="Fetch and clean on a Dask cluster: a local one of N processes, or a running scheduler.",
    )(f)
    return f


def backfill_on_cluster(
    c,
    sources: list[Source],
    bar: OnItem,
    optimize: bool | None,
    cluster: str,
    shards: str | None,
    files: int | None,
    size: int | None,
) -> list[RunResult]:
    """``worker backfill --cluster``: one writer here, or shards with ``--shards``. The dashboard
    link, when the cluster has one, is one line on standard error."""
    from worker.partitions import BYTES, FILES

    files, size = files or FILES, size or BYTES
    config = c.config(required=False)
    level = c.log_level or config.log_level

    def tell(link: str) -> None:
        click.echo(f"dask dashboard: {link}", err=True)

    if shards:
        from worker.shards import shard_backfill

        results = shard_backfill(
            config, sources, cluster, Path(shards), on_item=bar, files=files, size=size, log_level=level, tell=tell
        )
        click.echo(f"shards in {shards}: fold them into the archive with: worker merge {shards}", err=True)
        return results
    from worker.distributed import backfill_on_cluster as run

    return run(
        config, sources, cluster, on_item=bar, optimize=optimize, files=files, size=size, log_level=level, tell=tell
    )


@click.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True))
@click.pass_obj
def merge(c, shards):
    """Fold shard archives (from backfill --shards) into the archive, in the order given (a
    folder: its shards in name order), through the same same-story rules. A shard merged
    before adds nothing. Exit 1 when a shard could not be merged.

    Example: worker merge shards/
    """
    from worker.merge import merge_shards, shard_paths
    from worker.progress import Progress

    bar = Progress(sys.stderr.isatty())
    with c.archive() as archive:
        try:
            merged = merge_shards(archive, shard_paths(shards), on_item=bar)
        finally:
            bar.close()
    done = [m.result for m in merged if m.result is not None]
    totals = {k: sum(getattr(r, k) for r in done) for k in ("new", "revisions", "duplicates")}
    failed = [m for m in merged if m.error]
    line = (
        f"merge: {len(merged)} shard(s), {totals['new']} new, {totals['revisions']} revised, "
        f"{totals['duplicates']} duplicates, {len(merged) - len(done) - len(failed)} already merged"
    )
    if failed:
        line += f", {len(failed)} failed (" + "; ".join(f"{m.shard}: {m.error}" for m in failed) + ")"
    click.echo(line)
    if failed:
        sys.exit(1)
