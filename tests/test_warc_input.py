"""WARC input: which records become pages, what is counted, filters, resuming, remote streams."""

from __future__ import annotations

import gzip
import io
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CORPUS, needs_corpus
from tests.loopback import Reply, Request
from tests.warc_files import (
    PNG,
    chunked_gzip,
    html,
    join,
    metadata,
    page,
    request,
    response,
    revisit,
    warcinfo,
    wrong_length,
)
from worker.errors import FetchError
from worker.fetchers.warc import WarcFilter, WarcReader, fetch, read_path
from worker.fetchers.warc_remote import open_stream, read_url
from worker.models import Checkpoint, FetchStats, HttpSettings, Known, Options, RawItem, Skipped, Source


@dataclass
class Ctx:
    """The part of the pipeline's RunContext a fetcher uses: saved checkpoints, the trigger."""

    trigger: str = "backfill"
    state: dict[str, str] = field(default_factory=dict)
    stats: FetchStats = field(default_factory=FetchStats)

    def saved(self, key: str) -> str | None:
        return self.state.get(key)

    def keep(self, outputs) -> list:
        """Run a fetcher to the end, storing its checkpoints as the pipeline would."""
        out = []
        for o in outputs:
            if isinstance(o, Checkpoint):
                self.state[o.key] = o.value
            out.append(o)
        return out


def mixed(gz: bool, *, cut_last: bool = True) -> bytes:
    """Every kind of record the reader meets, and what it should make of each."""
    a, b = html("Council closes pier"), html("Floods reach the valley")
    latin = "<html><body><h1>Caf\xe9 opens</h1><p>Stra\xdfe</p></body></html>".encode("iso-8859-1")
    records = [
        warcinfo(),
        request("https://www.example.com/a"),
        page("https://www.example.com/a", a),
        metadata("https://www.example.com/a"),
        revisit("https://www.example.com/a2", "https://www.example.com/a", a),
        response("https://example.com/logo.png", PNG, headers=[("Content-Type", "image/png")]),
        response("https://example.com/gone", html("Not found"), status="404 Not Found"),
        response(
            "https://example.com/old",
            b"",
            status="301 Moved Permanently",
            headers=[("Location", "https://example.com/new")],
        ),
        chunked_gzip("https://news.example.org/cafe", latin),
        wrong_length(page("https://example.com/short", html("Short")), -25),
        page("https://example.com/b", b),
    ]
    last = page("https://example.com/cut", html("Cut off", 400))
    data = join(records, gz)
    if cut_last:
        tail = join([last], gz)
        data += tail[: len(tail) // 2]
    return data


def run(data: bytes, **kw) -> tuple[list, WarcReader]:
    reader = WarcReader(io.BytesIO(data), source="s", locator="test.warc", **kw)
    return list(reader), reader


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_html_responses_become_pages_and_the_rest_is_counted(gz):
    out, reader = run(mixed(gz))
    pages = [o for o in out if isinstance(o, RawItem)]
    assert [p.locator for p in pages] == [
        "https://www.example.com/a",
        "https://news.example.org/cafe",
        "https://example.com/b",
    ]
    assert pages[0].content == html("Council closes pier")
    assert pages[0].kind == "html" and pages[0].source == "s"
    assert pages[0].hints.url == "https://www.example.com/a"
    assert pages[0].hints.encoding == "utf-8" and pages[0].hints.fetched_at == "2024-05-01T10:00:00Z"
    # chunked transfer and gzip content coding both removed; the HTTP charset passed on
    assert pages[1].content.decode("iso-8859-1").startswith("<html><body><h1>Caf\xe9 opens")
    assert pages[1].hints.encoding == "iso-8859-1"
    skipped = [(o.locator, o.reason.rsplit("(", 1)[1]) for o in out if isinstance(o, Skipped)]
    assert skipped == [("https://example.com/short", "bad_length)"), ("https://example.com/cut", "truncated)")]
    assert dict(reader.counts) == {
        "warcinfo": 1,
        "request": 1,
        "metadata": 1,
        "revisit": 1,
        "not_html": 1,
        "not_ok": 1,
        "redirect": 1,
        "html": 3,
        "bad_length": 1,
        "truncated": 1,
    }


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("keep", [3, 40, 120])
def test_a_truncated_last_record_is_reported_wherever_it_is_cut(gz, keep):
    a, b = page("https://example.com/a", html("A")), page("https://example.com/b", html("B", 200))
    out, reader = run(join([a, b], gz)[: len(join([a], gz)) + keep])
    assert [o.locator for o in out if isinstance(o, RawItem)] == ["https://example.com/a"]
    assert reader.counts["truncated"] == 1 and len([o for o in out if isinstance(o, Skipped)]) == 1


def test_a_too_long_content_length_in_a_gzip_file_spoils_only_its_record():
    recs = [
        page("https://example.com/a", html("A")),
        wrong_length(page("https://example.com/b", html("B")), 40),
        page("https://example.com/c", html("C")),
    ]
    out, reader = run(join(recs, gz=True))
    assert [o.locator for o in out if isinstance(o, RawItem)] == ["https://example.com/a", "https://example.com/c"]
    assert reader.counts["bad_length"] == 1


def test_a_too_long_content_length_in_an_uncompressed_file_ends_the_file_with_a_report():
    recs = [
        page("https://example.com/a", html("A")),
        wrong_length(page("https://example.com/b", html("B")), 40),
        page("https://example.com/c", html("C")),
    ]
    out, reader = run(join(recs, gz=False))
    assert [o.locator for o in out if isinstance(o, RawItem)] == ["https://example.com/a"]
    assert reader.counts["bad_length"] == 1 and reader.counts["unreadable"] == 1
    assert any("unreadable from byte" in o.reason for o in out if isinstance(o, Skipped))


def test_a_file_gzipped_whole_instead_of_per_record_is_reported_as_such():
    data = gzip.compress(join([page(f"https://example.com/{i}", html(f"S{i}")) for i in range(3)], gz=False))
    out, reader = run(data)
    assert reader.counts["unreadable"] == 1
    assert out[-1] == Skipped(
        "s",
        "test.warc",
        "one gzip stream, not gzip per record: read up to the second record; "
        "`warcio recompress` makes the file readable",
    )


def test_host_is_a_suffix_match_on_whole_labels():
    hosts = [
        "example.com",
        "www.example.com",
        "a.b.example.com",
        "badexample.com",
        "example.com.evil.net",
        "EXAMPLE.com",
    ]
    data = join([page(f"https://{h}/p", html(h)) for h in hosts], gz=True)
    out, reader = run(data, filters=WarcFilter(host="example.com"))
    assert [o.locator for o in out] == [
        "https://example.com/p",
        "https://www.example.com/p",
        "https://a.b.example.com/p",
        "https://EXAMPLE.com/p",
    ]
    assert reader.counts == {"html": 4, "filtered": 2}


def test_since_and_until_filter_on_warc_date_and_until_takes_the_whole_day():
    dates = ["2024-04-30T23:59:59Z", "2024-05-01T00:00:00Z", "2024-05-02T23:59:59Z", "2024-05-03T00:00:00Z"]
    data = join([page(f"https://example.com/{i}", html(d), date=d) for i, d in enumerate(dates)], gz=False)
    out, _ = run(data, filters=WarcFilter(since="2024-05-01", until="2024-05-02"))
    assert [o.hints.fetched_at for o in out] == dates[1:3]
    out, _ = run(data, filters=WarcFilter(since="2024-05-02T23:59:59Z"))
    assert [o.hints.fetched_at for o in out] == dates[2:]


def test_filters_are_applied_before_the_http_headers_or_payload_are_read():
    broken = response("https://badexample.com/x", b"", status="200 OK", headers=[])
    broken = broken.replace(b"HTTP/1.1 200 OK\r\n\r\n", b"\x00\x01 not http at all\r\n\r\n")
    data = join([broken, page("https://example.com/ok", html("OK"))], gz=True)
    out, reader = run(data)  # unfiltered, the broken record is read and reported
    assert reader.counts["bad_http"] == 1
    out, reader = run(data, filters=WarcFilter(host="example.com"))
    assert [o.locator for o in out] == ["https://example.com/ok"] and reader.counts == {"html": 1, "filtered": 1}


def test_a_page_over_the_size_cap_is_skipped(monkeypatch):
    monkeypatch.setattr("worker.fetchers.warc.MAX_PAYLOAD", 1000)
    out, reader = run(join([page("https://example.com/big", html("Big", 500))], gz=True))
    assert reader.counts == {"too_large": 1} and isinstance(out[0], Skipped)


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_a_reader_started_at_a_checkpoint_yields_exactly_the_rest(gz):
    records = [page(f"https://example.com/{i}", html(f"Story {i}")) for i in range(25)]
    data = join(records, gz)

    def cps(at: int, n: int) -> Checkpoint:
        return Checkpoint("k", f"{at}:{n}", partial=True)

    everything, _ = run(data, checkpoint=cps, every=4)
    urls = [o.locator for o in everything if isinstance(o, RawItem)]
    points = [o for o in everything if isinstance(o, Checkpoint)]
    assert len(points) == 6
    for point in points:
        at, n = map(int, point.value.split(":"))
        before = everything[: everything.index(point)]
        rest, reader = run(data[at:], start=at, records=n)
        assert [o.locator for o in rest] == urls[len([o for o in before if isinstance(o, RawItem)]) :]
        assert reader.offset == len(data) and reader.records == 25


def _write(path: Path, records: list[bytes], gz: bool = True) -> Path:
    path.write_bytes(join(records, gz))
    return path


def test_read_path_goes_on_from_its_last_partial_checkpoint_and_then_knows_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr("worker.fetchers.warc.PARTIAL_EVERY", 10)
    f = _write(tmp_path / "crawl.warc.gz", [page(f"https://example.com/{i}", html(f"S{i}")) for i in range(35)])
    ctx = Ctx()
    first = []
    for o in read_path(f, "s", ctx):  # a run killed after its second partial checkpoint was stored
        if isinstance(o, Checkpoint):
            ctx.state[o.key] = o.value
            if o.value.endswith(":20"):
                break
        first.append(o)
    assert len([o for o in first if isinstance(o, RawItem)]) == 20
    second = ctx.keep(read_path(f, "s", ctx))
    assert [o.locator for o in second if isinstance(o, RawItem)] == [f"https://example.com/{i}" for i in range(20, 35)]
    key = second[-1].key
    assert key == f"file:{f}" and not second[-1].partial and "@" not in ctx.state[key]
    assert ctx.keep(read_path(f, "s", ctx)) == [Known("s", str(f), key)]
    assert list(read_path(f, "s", Ctx(trigger="scheduled", state=dict(ctx.state)))) == []
    # the same file read with a filter is another input
    filtered = ctx.keep(read_path(f, "s", ctx, WarcFilter(host="example.com")))
    assert len([o for o in filtered if isinstance(o, RawItem)]) == 35
    assert filtered[-1].key == f"file:{f}?host=example.com"


def test_fetch_reads_warc_files_of_a_folder_and_reports_others(tmp_path):
    _write(tmp_path / "a.warc.gz", [page("https://example.com/a", html("A"))])
    _write(tmp_path / "b.warc", [page("https://example.com/b", html("B"))], gz=False)
    (tmp_path / "notes.txt").write_text("not a WARC file")
    out = list(fetch(Source(name="s", kind="warc", options=Options(path=str(tmp_path))), Ctx()))
    assert [o.locator for o in out if isinstance(o, RawItem)] == ["https://example.com/a", "https://example.com/b"]
    assert [o.reason for o in out if isinstance(o, Skipped)] == ["not a .warc or .warc.gz file"]
    assert len([o for o in out if isinstance(o, Checkpoint) and not o.partial]) == 2


# -- remote ---------------------------------------------------------------------------------------


def big_warc(path: Path, megabytes: int) -> list[str]:
    """An uncompressed WARC of about ``megabytes`` MB of ~100 KB pages; returns their URLs."""
    urls = []
    with path.open("wb") as fh:
        i = 0
        while fh.tell() < megabytes * 1_000_000:
            url = f"https://example.com/{i}"
            fh.write(page(url, html(f"Story {i}", 12_000)))
            urls.append(url)
            i += 1
    return urls


def serve_file(path: Path, ranges: bool = True):
    """A loopback handler that streams ``path`` in 64 KB pieces, honouring Range when ``ranges``."""
    size = path.stat().st_size

    def handler(req: Request) -> Reply:
        start = 0
        rng = req.header("Range")
        if ranges and rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])

        def body():
            with path.open("rb") as fh:
                fh.seek(start)
                while piece := fh.read(65536):
                    yield piece

        headers = {"Content-Type": "application/warc", "Content-Length": str(size - start)}
        if start:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        return Reply(206 if start else 200, body(), headers)

    return handler


@pytest.mark.slow
def test_a_remote_warc_is_streamed_with_flat_memory(tmp_path, loopback):
    f = tmp_path / "big.warc"
    urls = big_warc(f, 50)
    loopback.route("/big.warc", handler=serve_file(f))
    settings = HttpSettings(user_agent="warc-test/1")
    tracemalloc.start()
    try:
        seen = 0
        with open_stream(loopback.url("/big.warc"), settings) as remote:
            for item in WarcReader(remote, source="s"):
                assert isinstance(item, RawItem)
                seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == len(urls) and remote.read_bytes == f.stat().st_size
    assert peak < 5_000_000, f"peak {peak} bytes while streaming a {f.stat().st_size} byte file"
    assert loopback.requests_for("/big.warc")[0].header("User-Agent") == "warc-test/1"


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_read_url_goes_on_from_a_saved_offset(tmp_path, loopback, ranges):
    records = [page(f"https://example.com/{i}", html(f"S{i}")) for i in range(12)]
    f = _write(tmp_path / "c.warc.gz", records)
    loopback.route("/c.warc.gz", handler=serve_file(f, ranges))
    url = loopback.url("/c.warc.gz")
    ctx = Ctx()
    at = len(join(records[:5], gz=True))
    ctx.state[f"warc:{url}"] = f"{f.stat().st_size}@{at}:5"
    out = ctx.keep(read_url(url, "s", ctx, HttpSettings()))
    assert [o.locator for o in out if isinstance(o, RawItem)] == [f"https://example.com/{i}" for i in range(5, 12)]
    assert loopback.requests_for("/c.warc.gz")[0].header("Range") == f"bytes={at}-"
    assert ctx.state[f"warc:{url}"] == str(f.stat().st_size)
    assert ctx.keep(read_url(url, "s", ctx, HttpSettings())) == [Known("s", url, f"warc:{url}")]
    assert loopback.count("/c.warc.gz") == 1


def test_a_remote_file_of_another_size_than_saved_is_read_from_the_start(tmp_path, loopback):
    f = _write(tmp_path / "d.warc.gz", [page(f"https://example.com/{i}", html(f"S{i}")) for i in range(6)])
    loopback.route("/d.warc.gz", handler=serve_file(f))
    url = loopback.url("/d.warc.gz")
    ctx = Ctx(state={f"warc:{url}": f"{f.stat().st_size + 7}@300:2"})
    out = ctx.keep(read_url(url, "s", ctx, HttpSettings()))
    assert len([o for o in out if isinstance(o, RawItem)]) == 6
    assert [r.header("Range") for r in loopback.requests_for("/d.warc.gz")] == ["bytes=300-", None]


def test_open_stream_maps_a_missing_file_to_fetch_error(loopback):
    with pytest.raises(FetchError) as err:
        open_stream(loopback.url("/nothing.warc.gz"), HttpSettings())
    assert err.value.status == 404


@needs_corpus
def test_corpus_pages_read_back_from_a_warc_file_byte_for_byte(tmp_path):
    pages = sorted((CORPUS / "pages").rglob("*.html"))[:40]
    records = []
    for i, p in enumerate(pages):
        url = f"https://news{i % 3}.example.org/{p.stem}"
        records += [request(url), page(url, p.read_bytes())]
    f = _write(tmp_path / "corpus.warc.gz", records)
    out = list(read_path(f, "s", Ctx()))
    items = [o for o in out if isinstance(o, RawItem)]
    assert [i.content for i in items] == [p.read_bytes() for p in pages]
    assert gzip.decompress(f.read_bytes()).count(b"WARC-Type: response") == len(pages)
