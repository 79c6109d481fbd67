"""Backfills on a Dask LocalCluster: the archive equals a local backfill's, an interrupted one goes
on from its checkpoints, shards merged equal it too (twice adds nothing), failures are named."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.cluster_corpus import make, snapshot
from tests.conftest import run_cli
from tests.conftest import run_cli as run
from worker.backfill import run_backfill, sources_for
from worker.distributed import Dispatcher, backfill_on_cluster, connect, parse_cluster
from worker.errors import ConfigError, Interrupted
from worker.models import Config
from worker.progress import Progress

distributed = pytest.importorskip("distributed")


FILES, SIZE = 5, 6000  # small tasks: many partitions, WARC files cut in ranges


@pytest.fixture(scope="module")
def address():
    """A LocalCluster of two single-threaded worker processes on loopback, for the module."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    return [str(p) for p in make(tmp_path_factory.mktemp("in"))]


@pytest.fixture(scope="module")
def local(tmp_path_factory, inputs) -> Path:
    """The same inputs backfilled in one process."""
    db = tmp_path_factory.mktemp("local") / "archive.db"
    results = run_backfill(Config(archive=str(db)), sources_for(inputs, "backfill", None), workers=1)
    assert [r.status for r in results] == ["ok"] * len(inputs)
    return db


def counts(results) -> list[tuple]:
    return [(r.status, r.seen, r.new, r.revisions, r.duplicates, r.skipped) for r in results]


def test_a_cluster_backfill_equals_a_local_one(tmp_path, address, inputs, local):
    sources = sources_for(inputs, "backfill", None)
    bar = Progress(terminal=False)
    db = tmp_path / "cluster.db"
    results = backfill_on_cluster(Config(archive=str(db)), sources, address, on_item=bar, files=FILES, size=SIZE)
    again = run_backfill(Config(archive=str(tmp_path / "l.db")), sources_for(inputs, "b", None), workers=1)
    assert counts(results) == counts(again)
    assert snapshot(db) == snapshot(local)  # same ids, hashes, versions, clusters, checkpoints, sightings
    assert bar.counts["new"] == sum(r.new for r in results) and bar.files >= 40


def test_an_interrupted_backfill_goes_on_from_its_checkpoints(tmp_path, address, inputs, local):
    db = tmp_path / "cluster.db"
    config = Config(archive=str(db))
    with connect(address) as client:
        first = Dispatcher(client, sources_for(inputs, "backfill", None), http=config.http, files=FILES, size=SIZE)
        taken = 0

        def stopping(source, ctx):  # Ctrl-C once some of the second crawl is read
            nonlocal taken
            for pair in first.stream(source, ctx):
                taken += 1
                if taken == 60:
                    raise KeyboardInterrupt
                yield pair

        with pytest.raises(Interrupted):
            run_backfill(config, first.sources, stream=stopping)
        first.close()
        sources = sources_for(inputs, "backfill", None)
        second = Dispatcher(client, sources, http=config.http, files=FILES, size=SIZE)
        results = run_backfill(config, sources, stream=second.stream)
    assert all(r.status == "ok" for r in results)
    assert second.totals.passed_over >= 3 and second.totals.tasks < first.totals.tasks + second.totals.passed_over
    assert snapshot(db, sightings=False) == snapshot(local, sightings=False)


def test_shards_merged_equal_a_local_backfill_and_twice_add_nothing(tmp_path, address, inputs, local):
    from worker.archive import Archive
    from worker.merge import merge_shards, shard_paths
    from worker.shards import shard_backfill

    folder = tmp_path / "shards"
    results = shard_backfill(Config(), sources_for(inputs, "backfill", None), address, folder, files=FILES, size=SIZE)
    shards = shard_paths([str(folder)])
    assert len(shards) == len(results) > 10 and all(r.status == "ok" for r in results)
    db = tmp_path / "merged.db"
    with Archive(db) as archive:
        merge_shards(archive, shards[:4])
        first = merge_shards(archive, shards)  # the first four again: nothing
        assert [m.result for m in first[:4]] == [None] * 4 and all(m.result for m in first[4:])
    assert snapshot(db) == snapshot(local)  # sightings too: each shard replayed in storing order
    before = snapshot(db)
    with Archive(db) as archive:
        runs = archive.counts()["runs"]
        again = merge_shards(archive, shards)
        assert all(m.result is None and m.error is None for m in again) and archive.counts()["runs"] == runs
    assert snapshot(db) == before
    assert (
        shard_backfill(Config(), sources_for(inputs, "backfill", None), address, folder, files=FILES, size=SIZE) == []
    )


def test_shards_and_merge_on_the_command_line(tmp_path, address, inputs):
    folder, db = tmp_path / "shards", tmp_path / "a.db"
    cluster = ("--cluster", address, "--partition-size", "6K")
    r = run("--archive", str(tmp_path / "unused.db"), "backfill", *cluster, "--shards", str(folder), inputs[0])
    assert r.returncode == 0, r.stderr
    assert f"worker merge {folder}" in r.stderr and not (tmp_path / "unused.db").exists()
    n = len(list(folder.glob("part-*.db")))
    assert n > 1 and f"{n} run(s), 24 seen, 24 new" in r.stdout
    r = run_cli("--archive", str(db), "merge", str(folder))
    assert r.returncode == 0 and f"merge: {n} shard(s), 24 new, 0 revised, 0 duplicates, 0 already merged" in r.stdout
    r = run_cli("--archive", str(db), "merge", str(folder))
    assert r.returncode == 0 and f"merge: {n} shard(s), 0 new, 0 revised, 0 duplicates, {n} already merged" in r.stdout
    (folder / "part-999999-unfinished.db").write_bytes(b"")  # an empty file: not a shard
    r = run_cli("--archive", str(db), "merge", str(folder))
    assert r.returncode == 1 and "1 failed" in r.stdout and "part-999999-unfinished.db" in r.stdout


def test_a_failing_input_is_named_and_the_rest_completes(tmp_path, address, inputs):
    url = "http://127.0.0.1:9/feed.xml"  # nothing listens there
    db = tmp_path / "a.db"
    r = run("--archive", str(db), "backfill", "--cluster", address, inputs[0], url, inputs[2])
    assert r.returncode == 0, r.stderr
    assert "3 run(s)" in r.stdout and "1 failed" in r.stdout and url in r.stdout
    assert "48 new" in r.stdout  # the WARC file's 24 and the folder's 24
    r = run("--archive", str(db), "backfill", "--cluster", address, url)
    assert r.returncode == 1 and url in r.stdout


class Inline:
    """A stand-in for a Dask client: each task runs here when its result is asked for, or fails
    with what ``fail(task)`` gives."""

    def __init__(self, fail=lambda task: None):
        self.fail = fail

    def submit(self, fn, task, key):
        return SimpleNamespace(
            result=lambda: _raise(exc) if (exc := self.fail(task)) else fn(task),
            release=lambda: None,
            cancel=lambda: None,
        )

    def nthreads(self):
        return {"w": 1}


def _raise(exc):
    raise exc


def test_a_partition_whose_workers_keep_dying_is_skipped_by_name(tmp_path, inputs):
    killed = distributed.KilledWorker("task", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)
    sources = sources_for([inputs[2]], "backfill", None)  # the folder of saved pages
    n = len(list(Path(inputs[2]).iterdir()))
    dispatcher = Dispatcher(Inline(lambda task: killed), sources, http=Config().http, files=FILES, size=SIZE)
    told: list[tuple[str, str]] = []
    (result,) = run_backfill(
        Config(archive=str(tmp_path / "a.db")), sources, stream=dispatcher.stream, on_item=lambda *t: told.append(t)
    )
    assert result.status == "ok" and result.new == 0 and result.skipped == n
    assert dispatcher.totals.lost == -(-n // FILES)
    assert ("skipped", f"{inputs[2]}/000.html") in told


def test_a_source_whose_task_fails_stops_alone(tmp_path, inputs, local):
    sources = sources_for(inputs, "backfill", None)
    broken = RuntimeError("the task could not be sent")
    dispatcher = Dispatcher(
        Inline(lambda task: broken if task.partition.run == 1 else None),
        sources,
        http=Config().http,
        files=FILES,
        size=SIZE,
    )
    results = run_backfill(Config(archive=str(tmp_path / "a.db")), sources, stream=dispatcher.stream)
    assert [r.status for r in results] == ["ok", "error", "ok", "ok", "ok"]
    assert "the task could not be sent" in results[1].error and inputs[1] in results[1].error
    expected = run_backfill(
        Config(archive=str(tmp_path / "b.db")), sources_for([p for i, p in enumerate(inputs) if i != 1], "b", None)
    )
    assert [r.new for r in results[2:]] == [r.new for r in expected[1:]]


def test_cluster_specs():
    assert parse_cluster("local") == ("local", None)
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    for bad in ("local:0", "spark://x:1", "10.0.0.5:8786", "tcp://host"):
        with pytest.raises(ConfigError, match="--cluster"):
            parse_cluster(bad)


def test_cluster_options_on_the_command_line(tmp_path):
    r = run_cli("--archive", str(tmp_path / "a.db"), "backfill", "--shards", str(tmp_path), str(tmp_path))
    assert r.returncode == 2 and "--shards needs --cluster" in r.stderr
    r = run_cli("--archive", str(tmp_path / "a.db"), "backfill", "--cluster", "yarn", str(tmp_path))
    assert r.returncode == 2 and "expected local, local:N or tcp://HOST:PORT" in r.stderr
    r = run_cli("--archive", str(tmp_path / "a.db"), "backfill", "--cluster", "local", "--partition-size", "7X", ".")
    assert r.returncode == 2 and "64M" in r.stderr
    r = run_cli("--archive", str(tmp_path / "a.db"), "merge", str(tmp_path / "none.db"))
    assert r.returncode == 2


@pytest.mark.slow
def test_a_local_cluster_from_the_command_line_with_its_dashboard(tmp_path, inputs, local):
    db = tmp_path / "a.db"
    r = run("--archive", str(db), "backfill", "--cluster", "local:2", "--partition-files", "5", *inputs)
    assert r.returncode == 0, r.stderr
    assert "5 run(s)" in r.stdout
    links = [line for line in r.stderr.splitlines() if line.startswith("dask dashboard: http://127.0.0.1:")]
    assert len(links) == 1
    assert snapshot(db, sightings=False) == snapshot(local, sightings=False)


def test_without_cluster_dask_is_not_imported():
    import subprocess
    import sys

    code = "import sys, worker.cli; print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr
