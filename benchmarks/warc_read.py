"""WARC reading speed: warcio against FastWARC on the same files (the library choice of capture
and WARC input rests on it).

    python benchmarks/warc_read.py                 # 12 copies of every corpus page (~2,200 responses)
    python benchmarks/warc_read.py --copies 4 --repeat 5

Builds one WARC file from the HTML pages of ../shared/corpus/pages (each page written ``--copies``
times under a different URL, as a ``request`` + ``response`` pair, the way a crawler or the
worker's capture writes them) twice: gzip per record (``.warc.gz``) and uncompressed (``.warc``).
Each case then iterates the response records and reads their whole payload (HTTP headers
parsed, body read to the end), best of ``--repeat`` runs with a warm page cache:

  warcio            ArchiveIterator, record.content_stream().read() (chunked and
                    content-encoding decoded)
  warcio-raw        ArchiveIterator, record.raw_stream.read() (the payload as stored)
  fastwarc          ArchiveIterator(record_types=response), record.reader.read()
  fastwarc-decoded  the same with auto_decode="all" (chunked and content-encoding decoded)
  warcio-headers    ArchiveIterator, headers only: the records skipped unread (a filter pass)
  fastwarc-headers  the same in FastWARC
  worker            worker.fetchers.warc.WarcReader: the RawItems a WARC backfill cleans

Prints a table: records/s, MB/s of the file as stored, MB/s of payload.

    python benchmarks/warc_read.py --memory 1000

instead writes a ~1,000 MB gzip-per-record WARC of corpus pages into a temporary folder under
/tmp (and a ~20 MB one), reads each with ``warc.read_path`` in a fresh process, prints the peak
resident memory of each, and deletes the files.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def build(path: Path, gzip: bool, pages: list[bytes], copies: int) -> int:
    """Write the benchmark WARC; returns the number of response records."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    n = 0
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip, warc_version="WARC/1.1")
        for copy in range(copies):
            for i, body in enumerate(pages):
                url = f"https://news{copy}.example.org/page/{i}.html"
                req = StatusAndHeaders(
                    f"GET /page/{i}.html HTTP/1.1", [("Host", f"news{copy}.example.org")], is_http_request=True
                )
                resp = StatusAndHeaders(
                    "200 OK",
                    [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                    protocol="HTTP/1.1",
                )
                response = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=resp)
                request = writer.create_warc_record(url, "request", http_headers=req)
                writer.write_request_response_pair(request, response)
                n += 1
    return n


def warcio_read(path: Path, mode: str) -> tuple[int, int]:
    from warcio.archiveiterator import ArchiveIterator

    records = payload = 0
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            records += 1
            if mode == "decoded":
                payload += len(record.content_stream().read())
            elif mode == "raw":
                payload += len(record.raw_stream.read())
    return records, payload


def fastwarc_read(path: Path, mode: str) -> tuple[int, int]:
    from fastwarc import ArchiveIterator, WarcRecordType

    records = payload = 0
    with path.open("rb") as fh:
        records_of = ArchiveIterator(
            fh, record_types=WarcRecordType.response, auto_decode="all" if mode == "decoded" else "none"
        )
        for record in records_of:
            records += 1
            if mode != "headers":
                payload += len(record.reader.read())
    return records, payload


def worker_read(path: Path) -> tuple[int, int]:
    sys.path.insert(0, str(ROOT))
    from worker.fetchers.warc import WarcReader
    from worker.models import RawItem

    with path.open("rb") as fh:
        reader = WarcReader(fh)
        payload = sum(len(item.content) for item in reader if isinstance(item, RawItem))
    return reader.counts["html"], payload


CASES = {
    "warcio": lambda p: warcio_read(p, "decoded"),
    "warcio-raw": lambda p: warcio_read(p, "raw"),
    "fastwarc": lambda p: fastwarc_read(p, "raw"),
    "fastwarc-decoded": lambda p: fastwarc_read(p, "decoded"),
    "warcio-headers": lambda p: warcio_read(p, "headers"),
    "fastwarc-headers": lambda p: fastwarc_read(p, "headers"),
    "worker": worker_read,
}


def best_of(case: str, path: Path, repeat: int) -> tuple[float, int, int]:
    best = float("inf")
    records = payload = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        records, payload = CASES[case](path)
        best = min(best, time.perf_counter() - t0)
    return best, records, payload


MEASURE = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import structlog
structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
from worker.fetchers.warc import read_path
from worker.models import RawItem

class Ctx:
    trigger = "backfill"
    def saved(self, key):
        return None

t0, pages, payload = time.perf_counter(), 0, 0
for item in read_path(Path(sys.argv[1]), "bench", Ctx()):
    if isinstance(item, RawItem):
        pages += 1
        payload += len(item.content)
print(json.dumps({"pages": pages, "payload": payload, "seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_large(path: Path, pages: list[bytes], megabytes: int) -> int:
    """A gzip-per-record WARC of about ``megabytes`` MB (level-1 gzip, to be quick); returns the
    number of response records."""
    import gzip

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="WARC/1.1")
    n = 0
    with path.open("wb") as fh:
        while fh.tell() < megabytes * 1_000_000:
            body = pages[n % len(pages)]
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                f"https://news{n // len(pages)}.example.org/{n}.html",
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
            )
            buf.seek(0)
            buf.truncate()
            writer.write_record(record)
            fh.write(gzip.compress(buf.getvalue(), compresslevel=1, mtime=0))
            n += 1
    return n


def memory(pages: list[bytes], megabytes: int) -> None:
    """Peak RSS of a process reading a small and a ``megabytes`` MB WARC with ``warc.read_path``."""
    import json
    import subprocess

    print(f"{'file MB':>8} {'records':>8} {'pages':>8} {'s':>7} {'pages/s':>8} {'MB/s':>7} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory(prefix="warc-memory-", dir="/tmp") as tmp:
        for size in (20, megabytes):
            path = Path(tmp, f"m{size}.warc.gz")
            n = build_large(path, pages, size)
            done = subprocess.run(
                [sys.executable, "-c", MEASURE, str(path), str(ROOT)], capture_output=True, text=True, check=True
            )
            r = json.loads(done.stdout.strip().splitlines()[-1])
            mb = path.stat().st_size / 1e6
            print(
                f"{mb:>8.0f} {n:>8} {r['pages']:>8} {r['seconds']:>7.1f} {r['pages'] / r['seconds']:>8.0f} "
                f"{mb / r['seconds']:>7.1f} {r['peak_rss_mb']:>12.1f}"
            )
            path.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=12, help="times each corpus page is written")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (the best is reported)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    ap.add_argument("--memory", type=int, metavar="MB", help="measure peak memory over a WARC of this size")
    args = ap.parse_args()
    pages = [p.read_bytes() for p in sorted((CORPUS / "pages").rglob("*.html"))]
    if not pages:
        print(f"no corpus pages under {CORPUS / 'pages'}", file=sys.stderr)
        return 2
    if args.memory:
        memory(pages, args.memory)
        return 0
    cases = args.cases.split(",")
    if _version("fastwarc") == "?":
        cases = [c for c in cases if not c.startswith("fastwarc")]
        print("fastwarc is not installed (pip install -e '.[bench]'): its cases are left out")
    print(f"warcio {_version('warcio')}, fastwarc {_version('fastwarc')}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="warc-bench-") as tmp:
        files = {}
        for name, gz in (("gzip per record", True), ("uncompressed", False)):
            path = Path(tmp, "bench.warc.gz" if gz else "bench.warc")
            n = build(path, gz, pages, args.copies)
            files[name] = path
            print(f"{name}: {path.name}, {n} response + {n} request records, {path.stat().st_size / 1e6:.1f} MB")
        print()
        print(
            f"{'file':<16} {'case':<17} {'records':>7} {'s':>7} {'records/s':>10} {'file MB/s':>10}"
            f" {'payload MB/s':>13}"
        )
        for name, path in files.items():
            path.read_bytes()  # warm the page cache
            size = path.stat().st_size
            for case in cases:
                secs, records, payload = best_of(case, path, args.repeat)
                pay = f"{payload / secs / 1e6:13.1f}" if payload else f"{'-':>13}"
                print(
                    f"{name:<16} {case:<17} {records:>7} {secs:>7.3f} {records / secs:>10.0f} "
                    f"{size / secs / 1e6:>10.1f} {pay}"
                )
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
