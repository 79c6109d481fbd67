"""Cleaning across cores: the fetch stream in, (output, cleaned) pairs out, in the same order.

The process that fetches also writes, and cleans whenever the pool is full: ``clean_one`` runs
on chunks of items, with a bounded number of chunks in flight, so memory stays flat however
long the stream is. The pool starts only once a stream has more than one chunk of items, so
small runs never pay for it. A worker that dies (a crash in a C extension, the OOM killer)
costs only its items: they are retried one by one in a new pool and the one that kills it
again is skipped.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from worker.children import die_with_parent
from worker.models import Article, RawItem

CHUNK = 64  # items per task: large enough to amortize pickling, small enough to keep order cheap
CHUNK_BYTES = 512 * 1024  # ... and at most this much content per task (whole pages are ~100 KB)
WINDOW = 2  # chunks in flight per worker: keeps workers busy while the writer stores a batch
# Fresh interpreters that import only the cleaners: smaller than forks of the writer, which would
# carry (and, through reference counting, soon copy) everything the writer holds.
START_METHOD = "spawn"

Cleaned = Article | str | None  # an article, a reason it was skipped, or None for non-items


def default_workers() -> int:
    """Processes that clean, the writer's own included: one per core the process may use (the
    writer mostly waits on SQLite and the disk, so it cleans in between)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def pool_worker_init(parent_pid: int) -> None:
    """In each pool worker: Ctrl-C is the parent's to handle (the terminal sends SIGINT to the
    whole process group; a worker goes on until the parent shuts the pool down), and the worker
    exits when the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


def clean_chunk(items: list[RawItem], source: str) -> list[Article | str]:
    from worker.clean.items import clean_one

    try:
        return [clean_one(item, source) for item in items]
    finally:
        release_memory()


def release_memory() -> None:
    """Hand the memory freed by cleaning a chunk (parse trees of whole pages) back to the system:
    glibc keeps freed blocks for reuse, so without this a process stays as large as its
    largest chunk ever made it."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None  # libc's malloc_trim, False where there is none, None until looked up


def _chunks(stream: Iterable[object]) -> Iterator[list[object]]:
    """Consecutive outputs, each chunk holding up to CHUNK raw items or CHUNK_BYTES of content
    (other outputs ride along), so the memory in flight stays small whatever the items' size.
    When the stream fails, the outputs before the failure still come out first."""
    chunk: list[object] = []
    items = size = 0
    try:
        for out in stream:
            chunk.append(out)
            if isinstance(out, RawItem):
                items += 1
                size += len(out.content)
                if items >= CHUNK or size >= CHUNK_BYTES:
                    yield chunk
                    chunk, items, size = [], 0, 0
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def _zip(chunk: list[object], results: list[Article | str]) -> Iterator[tuple[object, Cleaned]]:
    it = iter(results)
    for out in chunk:
        yield out, (next(it) if isinstance(out, RawItem) else None)


def cleaned(
    stream: Iterable[object], source: str, workers: int = 1, clean_here: Callable[[], bool] | None = None
) -> Iterator[tuple[object, Cleaned]]:
    """Pair every output of a fetcher with its cleaned article (or skip reason), in order.
    ``workers`` processes clean, this one included: a pool of ``workers - 1`` takes chunks
    while it has room, and this process cleans the next chunk itself whenever the pool is full
    and ``clean_here()`` says so (a writer thread with a batch still waiting says no: it is what
    holds the run back, and it needs this process's interpreter lock more than the chunk does,
    which waits in the pool's queue), so every core works without a whole interpreter more for
    the writer. An exception from the stream is raised after everything before it has come out."""
    if workers <= 1:
        from worker.clean.items import clean_one  # only where the cleaning runs

        for out in stream:
            yield out, (clean_one(out, source) if isinstance(out, RawItem) else None)
        return
    helpers = workers - 1
    pool: _Pool | None = None
    inflight: deque[_Entry] = deque()
    failure: Exception | None = None
    try:
        try:
            for chunk in _chunks(stream):
                if pool is None and inflight:  # a second chunk: now the pool pays for itself
                    pool = _Pool(helpers)
                busy = sum(1 for e in inflight if e.future is not None and not e.future.done())
                if pool is not None and (busy < helpers * WINDOW or (clean_here and not clean_here())):
                    inflight.append(_Entry(chunk, pool.submit(_items(chunk), source)))
                else:
                    inflight.append(_Entry(chunk))  # cleaned here (below) while the pool works
                yield from _drain(inflight, pool, source, limit=helpers * WINDOW + 1)
        except Exception as exc:  # the fetcher failed: what came before it is still stored
            failure = exc
        yield from _drain(inflight, pool, source, limit=0)
    finally:
        if pool is not None:
            pool.close()
    if failure is not None:
        raise failure


class _Entry:
    """A chunk on its way: sent to the pool (``future``), or cleaned here (``results``)."""

    __slots__ = ("chunk", "future", "results")

    def __init__(self, chunk: list[object], future: Future | None = None):
        self.chunk, self.future = chunk, future
        self.results: list[Article | str] | None = None

    def ready(self) -> bool:
        return self.results is not None or (self.future is not None and self.future.done())


def _drain(inflight: deque[_Entry], pool: _Pool | None, source: str, limit: int) -> Iterator[tuple[object, Cleaned]]:
    """Yield the finished chunks at the head, in order, until at most ``limit`` remain; to get
    there, clean the earliest chunk kept for this process, or else wait for the pool."""
    while inflight:
        head = inflight[0]
        if not head.ready() and len(inflight) <= limit:
            return
        if not head.ready():
            mine = next((e for e in inflight if e.future is None and e.results is None), None)
            if mine is not None:
                mine.results = clean_chunk(_items(mine.chunk), source)
                continue
        inflight.popleft()
        yield from _zip(head.chunk, _results(head, pool, source))


def _items(chunk: list[object]) -> list[RawItem]:
    return [o for o in chunk if isinstance(o, RawItem)]


def _results(entry: _Entry, pool: _Pool | None, source: str) -> list[Article | str]:
    if entry.results is not None:
        return entry.results
    assert entry.future is not None and pool is not None
    try:
        return entry.future.result()
    except BrokenProcessPool:
        pool.renew()
        return _one_by_one(_items(entry.chunk), source, pool.context)


class _Pool:
    """A process pool that replaces itself when a worker dies."""

    def __init__(self, workers: int):
        self.workers = workers
        self.context = multiprocessing.get_context(START_METHOD)
        self.executor = self._executor()

    def submit(self, items: list[RawItem], source: str) -> Future:
        try:
            return self.executor.submit(clean_chunk, items, source)
        except BrokenProcessPool:
            self.renew()
            return self.executor.submit(clean_chunk, items, source)

    def renew(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._executor()

    def _executor(self) -> ProcessPoolExecutor:
        # no recycling of workers: with pages parsed from their bytes and freed memory handed
        # back after each chunk (release_memory), a worker stays flat over 10,000 pages, and a
        # replacement would briefly run beside the worker it replaces
        return executor(self.workers, self.context)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def executor(workers: int, context) -> ProcessPoolExecutor:
    """A process pool whose workers exit when this process dies, even by kill -9: a pool worker
    left behind would hold its memory, and keep multiprocessing's resource tracker alive, for
    as long as it waits on a queue nobody will ever write to again."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=pool_worker_init, initargs=(os.getpid(),)
    )


def _one_by_one(items: list[RawItem], source: str, context) -> list[Article | str]:
    """After a worker died: each item in a fresh single-process pool; the one that kills it is skipped."""
    results: list[Article | str] = []
    for item in items:
        with executor(1, context) as solo:
            try:
                results.append(solo.submit(clean_chunk, [item], source).result()[0])
            except BrokenProcessPool:
                results.append("the cleaner crashed on this item")
    return results
