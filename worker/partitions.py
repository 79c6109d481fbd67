"""How a backfill is cut into tasks for a cluster: each source's inputs in partitions, in order.

A partition is what one task reads: up to ``files`` files of a folder, several small WARC files,
a byte range of a large WARC file (cut at record starts), a remote WARC file, or the whole of a
network source (a feed, sitemap or page). Reading every partition of a source in order yields
exactly what the source's own fetcher yields, so the writer stores the same articles in the same
order as a local backfill. Partitions are planned on the process that owns the archive: it lists
folders and finds record starts (paths must be the same on every machine: shared storage), and it
passes over a partition whose inputs are all stored already, as a local backfill would, without
sending it to the cluster.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.fetchers import FetchOutput, paths
from worker.fetchers.files import _resume_at, display
from worker.fetchers.paths import NotRead
from worker.fetchers.warc import SUFFIXES as WARC_SUFFIXES
from worker.fetchers.warc import WarcFilter
from worker.kinds import is_url
from worker.models import Known, Skipped, Source

FILES = 200  # files per task: about 2-10 seconds of cleaning on one core
BYTES = 64 * 1024 * 1024  # bytes of gzipped WARC per task: some thousands of pages, a minute or two on one core
PROBE = 1 << 20  # bytes read at a time while looking for the next record start
GZIP_MAGIC = b"\x1f\x8b\x08"

Saved = Callable[[str], str | None]  # a checkpoint key -> the value stored under it


@dataclass(frozen=True)
class Part:
    """One input of a partition, as a worker reads it. ``kind``: file (``files.read_path``),
    warc (a whole WARC file), warc_range (bytes ``start``..``end`` of a WARC file of size:mtime
    ``stamp``, both record starts), warc_url (a remote WARC file) or source (the source's own
    fetcher: a feed, sitemap or page)."""

    kind: str
    where: str  # a path or URL
    start: int = 0
    end: int = 0
    stamp: str = ""


@dataclass(frozen=True)
class Partition:
    """What one task reads: its parts, in order; or ``local`` outputs made here instead (a path
    that is not read, reported as a skipped item)."""

    index: int  # place in the whole backfill, all sources counted
    run: int  # place of its source among the backfill's sources (each source is one run)
    source: Source
    parts: tuple[Part, ...] = ()
    local: tuple[FetchOutput, ...] = ()

    def name(self) -> str:
        """The inputs it reads, for logs and failures."""
        first = self.parts[0] if self.parts else None
        if first is None:
            return self.source.where()
        text = first.where + (f" bytes {first.start}-{first.end}" if first.kind == "warc_range" else "")
        return text + (f" and {len(self.parts) - 1} more" if len(self.parts) > 1 else "")

    def checkpoint_keys(self) -> frozenset[str]:
        """The checkpoint keys its inputs are stored under (none known for a network source)."""
        return frozenset(k for part in self.parts if (k := key_of(self.source, part)))

    def digest(self) -> str:
        """A name for what it reads (source, inputs, byte ranges, file stamps): the same
        partition of the same inputs gets the same digest on every run."""
        text = repr((self.source.name, self.source.kind, sorted(self.source.options.items()), self.parts))
        return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()[:16]


def key_of(source: Source, part: Part) -> str | None:
    """The checkpoint key the fetchers store ``part`` under (``files.read_path``, ``warc.read_path``,
    ``warc_remote.read_url``; a network source: its URL's cache validators)."""
    if part.kind == "file":
        return "file:" + display(Path(os.path.abspath(part.where)))
    if part.kind in ("warc", "warc_range"):
        return "file:" + display(Path(os.path.abspath(part.where))) + warc_filter(source).suffix()
    if part.kind == "warc_url":
        return "warc:" + part.where + warc_filter(source).suffix()
    return "http:" + part.where if part.where.startswith(("http:", "https:")) else None


def warc_filter(source: Source) -> WarcFilter:
    """The record filters of a ``warc`` source (its ``host``, ``since`` and ``until`` keys)."""
    o = source.options
    return WarcFilter(host=o.get("host"), since=o.get("since"), until=o.get("until"))


# -- planning ---------------------------------------------------------------------------------------


def plan(sources: Sequence[Source], *, files: int = FILES, size: int = BYTES) -> Iterator[Partition]:
    """Every source's partitions, in order, numbered across the whole backfill."""
    index = 0
    for run, source in enumerate(sources):
        for parts, local in _cut(source, files, size):
            yield Partition(index, run, source, tuple(parts), tuple(local))
            index += 1


def _cut(source: Source, files: int, size: int) -> Iterator[tuple[list[Part], list[FetchOutput]]]:
    o = source.options
    if source.kind == "files":
        yield from _folder(source, paths.expand(o["path"], _files_suffixes()), files, None)
    elif source.kind == "warc" and is_url(o["path"]):
        yield [Part("warc_url", o["path"])], []
    elif source.kind == "warc":
        yield from _folder(source, paths.expand(o["path"], WARC_SUFFIXES), files, size)
    else:
        yield [Part("source", source.where())], []


def _files_suffixes() -> tuple[str, ...]:
    from worker.fetchers.files import SUFFIXES

    return SUFFIXES


def _folder(
    source: Source, found: Iterator[Path | NotRead], files: int, size: int | None
) -> Iterator[tuple[list[Part], list[FetchOutput]]]:
    """Consecutive files in chunks of up to ``files``; for WARC (``size`` given) also up to
    ``size`` bytes, a larger file cut in ranges of about ``size`` bytes. A path that is not read
    comes out in its place, as the fetcher reports it."""
    chunk: list[Part] = []
    total = 0
    for p in found:
        if isinstance(p, NotRead):
            if chunk:
                yield chunk, []
                chunk, total = [], 0
            yield [], [Skipped(source.name, display(p.path), p.reason)]
            continue
        length = _size(p)
        if size is not None and length > size and (ranges := warc_ranges(p, length, size)):
            if chunk:
                yield chunk, []
                chunk, total = [], 0
            for part in ranges:
                yield [part], []
            continue
        chunk.append(Part("warc" if size is not None else "file", str(p)))
        total += length
        if len(chunk) >= files or (size is not None and total >= size):
            yield chunk, []
            chunk, total = [], 0
    if chunk:
        yield chunk, []


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0  # the worker reports it when it reads it


def warc_ranges(p: Path, length: int, size: int) -> list[Part]:
    """A WARC file as ranges of about ``size`` bytes, each starting where a record starts; []
    when it cannot be cut (one gzip stream for the whole file, or no record start found)."""
    try:
        st = p.stat()
        with p.open("rb") as fh:
            starts = [0]
            while (target := starts[-1] + size) < length:
                at = record_start(fh, target, gz=p.name.lower().endswith(".gz"))
                if at is None:
                    break
                starts.append(at)
    except OSError:
        return []
    if len(starts) == 1:
        return []
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    ends = [*starts[1:], length]
    return [Part("warc_range", str(p), start, end, stamp) for start, end in zip(starts, ends)]


def record_start(fh, offset: int, *, gz: bool) -> int | None:
    """The first byte at or after ``offset`` where a WARC record starts, or None: a gzip member
    that inflates to a WARC header line (gzip per record), or a WARC header whose Content-Length
    leads to the next record or the end of the file (uncompressed)."""
    at = offset
    while True:
        fh.seek(at)
        data = fh.read(PROBE + 64 * 1024)
        if not data:
            return None
        marker = GZIP_MAGIC if gz else b"WARC/1."
        i = data.find(marker)
        while 0 <= i < PROBE:
            if _gzip_record(data[i : i + 65536]) if gz else _plain_record(fh, at + i):
                return at + i
            i = data.find(marker, i + 1)
        if len(data) <= PROBE:
            return None
        at += PROBE


def _gzip_record(data: bytes) -> bool:
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 10)
    except zlib.error:
        return False
    return head in (b"WARC/1.0\r\n", b"WARC/1.1\r\n")


def _plain_record(fh, at: int) -> bool:
    """Whether an uncompressed record starts at ``at``: after a blank line (or at the start), with
    a Content-Length that ends in the blank lines before the next record or the file's end."""
    if at >= 4:
        fh.seek(at - 4)
        if fh.read(4) != b"\r\n\r\n":
            return False
    fh.seek(at)
    head = fh.read(64 * 1024)
    end = head.find(b"\r\n\r\n")
    if end < 0 or not head.startswith((b"WARC/1.0\r\n", b"WARC/1.1\r\n")):
        return False
    length = None
    for line in head[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    if length is None:
        return False
    fh.seek(at + end + 4 + length)
    tail = fh.read(4 + 7)
    return tail in (b"\r\n\r\n", b"") or tail == b"\r\n\r\nWARC/1."


# -- what is stored already ---------------------------------------------------------------------


def passed_over(partition: Partition, saved: Saved) -> tuple[FetchOutput, ...] | None:
    """What a local backfill yields for ``partition`` when every input of it is stored already
    and unchanged (a sighting of each; nothing for the rest of a WARC file done in ranges), so
    it is not sent to the cluster; None when any input must be read."""
    if partition.local:
        return partition.local
    out: list[FetchOutput] = []
    for part in partition.parts:
        key = key_of(partition.source, part)
        value = saved(key) if key else None
        if key is None or value is None or part.kind == "source":
            return None
        if part.kind == "warc_url":
            if "@" in value:
                return None
            out.append(Known(partition.source.name, part.where, key))
            continue
        stamp = part.stamp or _stamp(Path(part.where))
        if value == stamp:
            if part.kind != "warc_range" or part.start == 0:
                out.append(Known(partition.source.name, display(Path(part.where)), key))
        elif part.kind != "warc_range" or _resume_at(value, stamp)[0] < part.end:
            return None
    return tuple(out)


def _stamp(p: Path) -> str:
    try:
        st = p.stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"
