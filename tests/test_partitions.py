"""Cutting a backfill into cluster tasks: folders in chunks, WARC files at record starts, every
partition read in order yields exactly what the source's own fetcher yields, and what is stored
already is passed over."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cluster_corpus import body, html
from tests.warc_files import join, page, request, warcinfo, wrong_length
from worker.cluster_tasks import Page, Task, TaskContext, outputs, run_partition
from worker.fetchers import files, warc
from worker.kinds import make_source
from worker.models import Checkpoint, HttpSettings, Known, RawItem, Skipped
from worker.partitions import Part, passed_over, plan, record_start, warc_ranges


@dataclass
class Ctx:
    """Checkpoints kept as the writer would keep them."""

    trigger: str = "backfill"
    state: dict[str, str] = field(default_factory=dict)

    def saved(self, key: str) -> str | None:
        return self.state.get(key)

    def capture_file(self, path: Path, data: bytes, content_type: str) -> None:
        return None


def crawl(path: Path, n: int, gz: bool = True) -> Path:
    records = [warcinfo()]
    for i in range(n):
        url = f"https://news.example.org/{i}"
        records += [request(url), page(url, html(f"Story {i}", body(i)))]
    path.write_bytes(join(records, gz=gz))
    return path


def shape(outs) -> list[tuple]:
    """Outputs as comparable values (a page by its locator and bytes)."""
    return [
        (type(o).__name__, o.locator, len(o.content)) if isinstance(o, RawItem) else (type(o).__name__, repr(o))
        for o in outs
    ]


def read_all(partitions, ctx) -> list:
    """Every partition's outputs in order, each partition's checkpoints stored after it."""
    out = []
    for p in partitions:
        got = list(p.local or outputs(p, ctx, HttpSettings()))
        ctx.state.update((o.key, o.value) for o in got if isinstance(o, Checkpoint))
        out += got
    return out


@pytest.mark.parametrize("gz", [True, False])
def test_a_large_warc_file_is_cut_at_record_starts(tmp_path, gz):
    p = crawl(tmp_path / ("big.warc.gz" if gz else "big.warc"), 40, gz)
    size = p.stat().st_size
    ranges = warc_ranges(p, size, size // 5)
    assert 4 <= len(ranges) <= 6
    assert ranges[0].start == 0 and ranges[-1].end == size
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:]))
    with p.open("rb") as fh:  # each range starts a record: a reader from there reads whole records
        for r in ranges:
            assert record_start(fh, r.start, gz=gz) == r.start
            fh.seek(r.start)
            first = next(iter(warc.WarcReader(fh, start=r.start)))
            assert isinstance(first, RawItem | Checkpoint)
    source = make_source("b", "warc", path=str(p))
    parts = list(plan([source], size=size // 5))
    assert [x.parts[0].kind for x in parts] == ["warc_range"] * len(ranges)
    whole, cut = Ctx(), Ctx()
    expected = [o for o in warc.fetch(source, whole) if not (isinstance(o, Checkpoint) and o.partial)]
    got = [o for o in read_all(parts, cut) if not (isinstance(o, Checkpoint) and o.partial)]
    assert shape(got) == shape(expected)  # the same pages in the same order, one final checkpoint


def test_a_record_of_a_wrong_length_never_becomes_a_cut(tmp_path):
    records = [warcinfo()] + [page(f"https://x.example/{i}", html(f"S {i}", body(i))) for i in range(20)]
    records[10] = wrong_length(records[10], 40)  # its Content-Length points past its end
    p = tmp_path / "odd.warc"
    p.write_bytes(join(records, gz=False))
    starts = [r.start for r in warc_ranges(p, p.stat().st_size, 2000)]
    bounds, at = [], 0
    for r in records:
        bounds.append(at)
        at += len(r)
    assert starts and set(starts) <= set(bounds)
    with p.open("rb") as fh:  # the broken record's start is no cut: its length leads nowhere
        assert record_start(fh, bounds[10], gz=False) == bounds[11]
        assert record_start(fh, bounds[9] + 1, gz=False) == bounds[11]
        assert record_start(fh, bounds[9], gz=False) == bounds[9]


def test_one_gzip_stream_is_not_cut(tmp_path):
    import gzip

    p = tmp_path / "one.warc.gz"
    p.write_bytes(
        gzip.compress(b"".join([warcinfo()] + [page(f"https://x.example/{i}", html("S", body(i))) for i in range(30)]))
    )
    assert warc_ranges(p, p.stat().st_size, 1000) == []
    assert [x.parts[0].kind for x in plan([make_source("b", "warc", path=str(p))], size=1000)] == ["warc"]


def test_folders_in_chunks_in_the_fetchers_order(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    for i in range(7):
        (root / f"{i}.html").write_bytes(html(f"Saved {i}", body(i)))
    (root / "sub" / "a.txt").write_text("A headline\n\nA body of text that says something.\n")
    (root / "notes.doc").write_bytes(b"x")
    (root / "link.html").symlink_to("/etc/hostname")  # leads out of the root: reported, not read
    source = make_source("b", "files", path=str(root))
    parts = list(plan([source], files=3))
    assert all(1 <= len(p.parts) <= 3 for p in parts if p.parts) and sum(len(p.parts) for p in parts) >= 8
    assert [p.local[0].locator for p in parts if p.local] == [str(root / "link.html")]
    assert [p.index for p in parts] == list(range(len(parts)))
    assert shape(read_all(parts, Ctx())) == shape(files.fetch(source, Ctx()))


def test_what_is_stored_is_passed_over(tmp_path):
    p = crawl(tmp_path / "c.warc.gz", 30)
    size = p.stat().st_size
    source = make_source("b", "warc", path=str(p))
    ranges = list(plan([source], size=size // 3))
    ctx = Ctx()
    read_all(ranges[:1], ctx)
    key = next(iter(ranges[0].checkpoint_keys()))
    assert "@" in ctx.state[key]  # the first range stored: a partial checkpoint at its end
    assert passed_over(ranges[0], ctx.saved) == ()
    assert passed_over(ranges[1], ctx.saved) is None
    read_all(ranges[1:], ctx)
    assert "@" not in ctx.state[key]  # the last range ends the file
    done = [passed_over(r, ctx.saved) for r in ranges]
    assert done[0] == (Known("b", str(p), key),) and all(d == () for d in done[1:])
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))  # changed since: read again
    assert passed_over(next(plan([source], size=size // 3)), ctx.saved) is None


def test_a_range_goes_on_from_a_saved_offset_inside_it(tmp_path):
    p = crawl(tmp_path / "c.warc.gz", 30)
    size = p.stat().st_size
    parts = warc_ranges(p, size, size // 2)
    first = parts[0]
    with p.open("rb") as fh:
        middle = record_start(fh, first.end // 2, gz=True)
    key = "file:" + str(p)
    ctx = Ctx(state={key: f"{first.stamp}@{middle}:7"})
    source = make_source("b", "warc", path=str(p))
    from worker.partitions import Partition

    got = list(outputs(Partition(0, 0, source, (first,)), ctx, HttpSettings()))
    pages = [o for o in got if isinstance(o, RawItem)]
    with p.open("rb") as fh:
        fh.seek(middle)
        after = [o for o in warc.WarcReader(fh, start=middle) if isinstance(o, RawItem)]
    assert pages and [o.locator for o in pages] == [o.locator for o in after][: len(pages)]
    assert got[-1] == Checkpoint(key, f"{first.stamp}@{first.end}:{7 + 2 * len(pages)}", partial=True)


def test_a_task_returns_cleaned_articles_never_pages(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.html").write_bytes(html(f"Saved {i}", body(i)))
    (root / "empty.txt").write_text("")
    (part,) = plan([make_source("b", "files", path=str(root))])
    outcome = run_partition(Task(part, {}, HttpSettings()))
    assert outcome.error is None and outcome.pages == 3 and outcome.index == 0
    assert not any(isinstance(o, RawItem) for o, _ in outcome.pairs)
    pages = [(o, a) for o, a in outcome.pairs if isinstance(o, Page)]
    assert [a.headline for _, a in pages] == ["Saved 0", "Saved 1", "Saved 2"]
    assert any(isinstance(o, Skipped) for o, _ in outcome.pairs)
    assert sum(isinstance(o, Checkpoint) for o, _ in outcome.pairs) == 4  # the empty file is done too


def test_a_task_hands_back_the_error_that_stopped_its_source():
    import pickle

    from worker.errors import FetchError

    url = "http://127.0.0.1:9/feed.xml"  # nothing listens there
    (part,) = plan([make_source("b", "feed", url=url)])
    assert part.parts == (Part("source", url),) and part.checkpoint_keys() == {"http:" + url}
    outcome = run_partition(Task(part, {}, HttpSettings(allow_private_hosts=True, retries=0)))
    assert isinstance(outcome.error, FetchError) and url in str(outcome.error)
    back = pickle.loads(pickle.dumps(outcome.error))  # as it crosses to the writer
    assert (back.url, back.status, str(back)) == (outcome.error.url, outcome.error.status, str(outcome.error))
    assert TaskContext({}, HttpSettings()).is_archived("anything") is False
