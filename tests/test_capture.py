"""Raw capture: records as warcio reads them, rotation, revisits, reading back, crash recovery."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import CORPUS, ROOT, needs_corpus
from tests.warc_files import html
from worker.capture import WarcCapture, payload_digest, read_record
from worker.capture_recover import recover
from worker.errors import ArchiveError
from worker.models import CaptureRef, Exchange

WHEN = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
NAME = re.compile(r"warc/(\d{4})/(\d{2})/(\d{2})/feeds-(\d{8}T\d{6}Z)-(\d+)\.warc\.gz")


def exchange(url: str = "https://example.com/news/a?x=1", body: bytes | None = None, **kw) -> Exchange:
    body = html("Council closes pier") if body is None else body
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))))
    return Exchange(
        url,
        kw.pop("status", 200),
        kw.pop("reason", "OK"),
        kw.pop("response_headers", headers),
        body,
        kw.pop("fetched_at", WHEN),
        request_headers=(("User-Agent", "worker-test"),),
        **kw,
    )


def records(path: Path) -> list[dict]:
    """Every record of a WARC file as warcio reads it, each digest checked and passed (a revisit
    has none to check) and the file read to its last byte. Stricter than `warcio check`, which
    passes a record cut short as "digest present but not checked"."""
    out, end = [], 0
    with path.open("rb") as fh:
        it = ArchiveIterator(fh, check_digests=True)
        for rec in it:
            payload = rec.content_stream().read()
            expected = None if rec.rec_type == "revisit" else True
            assert rec.digest_checker.passed is expected, (rec.rec_type, rec.digest_checker.problems)
            h = rec.rec_headers
            out.append(
                {
                    "type": rec.rec_type,
                    "id": h.get_header("WARC-Record-ID"),
                    "headers": dict(h.headers),
                    "http": rec.http_headers,
                    "payload": payload,
                    "offset": it.get_record_offset(),
                    "length": it.get_record_length(),
                }
            )
            end = it.get_record_offset() + it.get_record_length()
    assert end == path.stat().st_size, f"{path}: records end at {end} of {path.stat().st_size} bytes"
    return out


def warc_files(root: Path) -> list[Path]:
    return sorted((root / "warc").rglob("*.warc.gz"))


def test_an_exchange_is_a_response_and_a_request_record_with_warcio_digests(tmp_path):
    wire = gzip.compress(html("Council closes pier"))  # the server gzipped it: kept so on disk
    ex = exchange(
        body=wire,
        response_headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")),
        remote_ip="192.0.2.7",
    )
    with WarcCapture(tmp_path, "feeds") as cap:
        ref = cap.write_exchange(ex)
    [f] = warc_files(tmp_path)
    today = datetime.now(UTC)
    m = NAME.fullmatch(f.relative_to(tmp_path).as_posix())
    assert m and m.group(1, 2, 3) == (f"{today:%Y}", f"{today:%m}", f"{today:%d}") and m.group(5) == "0"
    info, resp, req = records(f)
    assert info["type"] == "warcinfo" and info["headers"]["WARC-Filename"] == f.name
    assert resp["type"] == "response" and req["type"] == "request"
    assert resp["headers"]["WARC-Payload-Digest"] == payload_digest(wire) == ref.digest
    assert resp["headers"]["WARC-Block-Digest"].startswith("sha1:")
    assert resp["headers"]["WARC-Date"] == ref.fetched_at == "2024-05-01T10:00:00Z"
    assert resp["headers"]["WARC-IP-Address"] == "192.0.2.7"
    assert req["headers"]["WARC-Concurrent-To"] == resp["id"] == ref.record_id
    assert resp["payload"] == html("Council closes pier")  # warcio removes the content coding on reading
    assert req["http"].protocol == "GET" and req["http"].statusline == "/news/a?x=1 HTTP/1.1"
    assert req["http"].get_header("Host") == "example.com" and req["http"].get_header("User-Agent") == "worker-test"
    assert (ref.file, ref.offset, ref.length) == (f.relative_to(tmp_path).as_posix(), resp["offset"], resp["length"])
    assert (ref.status, ref.url, ref.revisit_of) == (200, ex.url, None)
    back = read_record(tmp_path, ref)
    assert back.payload == html("Council closes pier") and back.status == 200
    assert ("Content-Encoding", "gzip") in back.headers and back.content_type == "text/html; charset=utf-8"


def test_a_body_received_chunked_is_stored_without_a_transfer_encoding_readers_would_undo(tmp_path):
    body = b"5\r\nhello\r\n0\r\n\r\n"  # the page itself looks like chunked data
    ex = exchange(body=body, response_headers=(("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")))
    with WarcCapture(tmp_path, "feeds") as cap:
        ref = cap.write_exchange(ex)
    resp = records(warc_files(tmp_path)[0])[1]
    assert resp["payload"] == body
    assert resp["http"].get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert read_record(tmp_path, ref).payload == body


def test_files_rotate_past_rotate_bytes_and_each_starts_with_warcinfo(tmp_path):
    with WarcCapture(tmp_path, "feeds", rotate_bytes=3000) as cap:
        refs = [cap.write_exchange(exchange(f"https://example.com/{i}", html(f"Story {i}", 400))) for i in range(8)]
    files = warc_files(tmp_path)
    assert len(files) >= 3 and len({NAME.fullmatch(f.relative_to(tmp_path).as_posix()).group(5) for f in files}) == len(
        files
    )
    for f in files:
        recs = records(f)
        assert recs[0]["type"] == "warcinfo" and [r["type"] for r in recs[1:]].count("warcinfo") == 0
        assert f.stat().st_size - recs[-1]["length"] - recs[-2]["length"] < 3000  # rotated once past the size
    for i, ref in enumerate(refs):
        assert read_record(tmp_path, ref).payload == html(f"Story {i}", 400)


def test_an_unchanged_payload_fetched_again_is_a_revisit_record(tmp_path):
    known: dict[str, CaptureRef] = {}

    def lookup(digest: str) -> CaptureRef | None:
        return known.get(digest)

    with WarcCapture(tmp_path, "feeds", lookup=lookup) as cap:
        first = cap.write_exchange(exchange())
        known[first.digest] = first  # the archive answers with the original capture
        later = datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
        second = cap.write_exchange(exchange(fetched_at=later))
        changed = cap.write_exchange(exchange(body=html("Pier reopens")))
        known[first.digest] = second  # a lookup answering with a revisit is not followed
        third = cap.write_exchange(exchange(fetched_at=later))
        known[first.digest] = first
    recs = {r["id"]: r for r in records(warc_files(tmp_path)[0])}
    rv = recs[second.record_id]
    assert rv["type"] == "revisit" and second.revisit_of == first.record_id
    assert rv["headers"]["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert rv["headers"]["WARC-Refers-To"] == first.record_id
    assert rv["headers"]["WARC-Refers-To-Target-URI"] == first.url
    assert rv["headers"]["WARC-Refers-To-Date"] == first.fetched_at == "2024-05-01T10:00:00Z"
    assert rv["headers"]["WARC-Payload-Digest"] == first.digest and rv["payload"] == b""
    assert recs[third.record_id]["type"] == "response" and third.revisit_of is None
    assert recs[changed.record_id]["type"] == "response" and changed.revisit_of is None
    assert read_record(tmp_path, second, lookup).payload == html("Council closes pier")
    with pytest.raises(ArchiveError, match="without its original"):
        read_record(tmp_path, second)


def test_a_local_file_is_a_resource_record(tmp_path):
    src = tmp_path / "in" / "story.txt"
    src.parent.mkdir()
    src.write_text("Council closes pier\n\nThe council voted on Tuesday.")
    with WarcCapture(tmp_path, "files") as cap:
        ref = cap.write_resource(src, src.read_bytes(), WHEN, "text/plain; charset=utf-8")
    [f] = warc_files(tmp_path)
    res = records(f)[1]
    assert res["type"] == "resource" and res["headers"]["WARC-Target-URI"] == src.as_uri()
    assert res["headers"]["Content-Type"] == "text/plain; charset=utf-8" and res["payload"] == src.read_bytes()
    back = read_record(tmp_path, ref)
    assert (back.status, back.headers, back.payload) == (None, (), src.read_bytes())


def test_read_record_refuses_a_reference_to_another_record(tmp_path):
    with WarcCapture(tmp_path, "feeds") as cap:
        a = cap.write_exchange(exchange("https://example.com/a"))
        b = cap.write_exchange(exchange("https://example.com/b", html("B")))
    wrong = CaptureRef(a.file, b.offset, b.length, a.digest, a.fetched_at, 200, a.record_id, a.url)
    with pytest.raises(ArchiveError, match="no record"):
        read_record(tmp_path, wrong)


def test_a_new_utc_day_starts_a_file_in_its_own_folder(tmp_path, monkeypatch):
    days = iter([datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC), datetime(2024, 5, 2, 0, 0, 1, tzinfo=UTC)])

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(days)

    monkeypatch.setattr("worker.capture.datetime", Clock)
    with WarcCapture(tmp_path, "feeds") as cap:
        a = cap.write_exchange(exchange("https://example.com/a"))
        b = cap.write_exchange(exchange("https://example.com/b", html("B")))
    assert a.file == "warc/2024/05/01/feeds-20240501T235959Z-0.warc.gz"
    assert b.file == "warc/2024/05/02/feeds-20240502T000001Z-1.warc.gz"
    assert [len(records(tmp_path / r.file)) for r in (a, b)] == [3, 3]


def test_a_failed_write_leaves_no_torn_record_and_the_next_write_starts_a_new_file(tmp_path, monkeypatch):
    from worker import capture

    real = capture._write_all

    def disk_full(fd: int, data: bytes) -> None:
        real(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    with WarcCapture(tmp_path, "feeds") as cap:
        first = cap.write_exchange(exchange("https://example.com/a"))
        monkeypatch.setattr(capture, "_write_all", disk_full)
        with pytest.raises(ArchiveError, match="No space left on device"):
            cap.write_exchange(exchange("https://example.com/b", html("B")))
        monkeypatch.setattr(capture, "_write_all", real)
        third = cap.write_exchange(exchange("https://example.com/c", html("C")))
    assert third.file != first.file
    assert [[r["type"] for r in records(f)] for f in warc_files(tmp_path)] == [["warcinfo", "response", "request"]] * 2
    assert read_record(tmp_path, first).payload == html("Council closes pier")


# -- crash safety ---------------------------------------------------------------------------------

WRITER = """
import json, os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from worker.capture import WarcCapture
from worker.models import Exchange

real_write = os.write
def slow_write(fd, data):  # small pieces, so that a kill lands in the middle of a record
    n = real_write(fd, bytes(data[:1024]))
    time.sleep(0.001)
    return n
os.write = slow_write

cap = WarcCapture(Path(sys.argv[1]), "feeds", rotate_bytes=int(sys.argv[2]))
i = 0
while True:
    body = (b"<html><body>" + os.urandom(12000).hex().encode() + b"</body></html>")
    ref = cap.write_exchange(Exchange(f"https://example.com/{sys.argv[3]}/{i}", 200, "OK",
                                      (("Content-Type", "text/html"),), body, datetime.now(UTC)))
    print(json.dumps([ref.file, ref.offset, ref.length, ref.digest, ref.fetched_at, ref.status, ref.record_id,
                      ref.url, ref.revisit_of]), flush=True)
    i += 1
"""


@pytest.mark.slow
def test_records_survive_sigkill_mid_write_and_recover_cuts_every_torn_record(tmp_path):
    root = tmp_path / "archive"
    returned: list[CaptureRef] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), "150000", str(run)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert proc.stdout is not None
        returned.append(CaptureRef(*json.loads(proc.stdout.readline())))  # it is writing
        time.sleep(0.15 + 0.05 * run)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        returned += [CaptureRef(*json.loads(line)) for line in out.splitlines()]
    torn = []
    for f in warc_files(root):
        try:
            records(f)
        except AssertionError:
            torn.append(f.relative_to(root).as_posix())
    assert torn, "no kill landed in the middle of a record; the test proves nothing"
    fixed = recover(root)
    assert sorted(r.file for r in fixed) == sorted(torn) and all(r.kept < r.size for r in fixed)
    for f in warc_files(root):
        records(f)  # every file reads to its last byte, every digest checks
        check = subprocess.run(
            [Path(sys.executable).parent / "warcio", "check", "-v", str(f)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0 and "not checked" not in check.stdout, check.stdout
    for ref in returned:  # whatever write_exchange returned is still there, whole
        assert read_record(root, ref).url == ref.url
    assert recover(root) == []


def test_recover_passes_over_a_file_a_live_writer_holds(tmp_path):
    cap = WarcCapture(tmp_path, "feeds")
    cap.write_exchange(exchange())
    [f] = warc_files(tmp_path)
    whole = f.stat().st_size
    with f.open("ab") as fh:  # what a write in progress looks like from outside
        fh.write(gzip.compress(b"WARC/1.1\r\n" + os.urandom(2000))[:40])
    assert recover(tmp_path) == []
    cap.close()  # the writer is gone: the torn tail is cut now
    [fixed] = recover(tmp_path)
    assert (fixed.size, fixed.kept) == (whole + 40, whole) and f.stat().st_size == whole
    records(f)


def test_recover_removes_a_file_with_no_complete_record(tmp_path):
    folder = tmp_path / "warc" / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    f = folder / "feeds-20240501T100000Z-0.warc.gz"
    f.write_bytes(gzip.compress(b"WARC/1.1\r\nWARC-Type: warcinfo\r\n" + os.urandom(500))[:30])
    assert recover(tmp_path)[0].kept == 0 and not f.exists()


@needs_corpus
def test_corpus_pages_are_captured_and_read_back_by_offset(tmp_path):
    pages = sorted((CORPUS / "pages").rglob("*.html"))[:30]
    with WarcCapture(tmp_path, "pages", rotate_bytes=1_000_000) as cap:
        refs = [
            cap.write_exchange(
                exchange(
                    f"https://example.org/{p.stem}",
                    gzip.compress(p.read_bytes()),
                    response_headers=(("Content-Type", "text/html"), ("Content-Encoding", "gzip")),
                )
            )
            for p in pages
        ]
    for f in warc_files(tmp_path):
        records(f)
    assert [read_record(tmp_path, r).payload for r in refs] == [p.read_bytes() for p in pages]
