"""Backfill throughput and memory: `worker backfill` against the obvious script, in one run.

    python benchmarks/backfill.py                 # 10,000 HTML pages, 100,000 .txt and JSONL articles
    python benchmarks/backfill.py --pages 2000 --articles 20000 --skip-anchor

Cases, each in its own subprocess; peak memory is sampled every 20 ms, both as the summed
resident memory of the process and its children and as that of the largest one (what
``/usr/bin/time -v`` reports):

  html      the HTML pages of ../shared/corpus/pages, copied to --pages files, each copy's text
            (not its markup) put through a letter substitution of its own and its canonical URL
            made its own, so that no two copies share a headline, a text or a URL, as the stories
            of a real archive do not: `worker backfill DIR`
  warc      the same pages as response records of one WARC file: `worker backfill FILE.warc.gz`
  anchor    the same files through the obvious script: trafilatura.bare_extraction per page,
            sqlite-utils insert_all into an FTS5 table kept in step by triggers
  txt       --articles plain-text articles, one file each, of corpus lines with half their words
            drawn again from the corpus (no two share their sentences): `worker backfill DIR`
  jsonl     the same articles as one JSON Lines file: `worker backfill FILE`
  ceiling   sqlite-utils insert_all of the same articles, already clean, into the archive schema
  txt-10k   the first 10,000 of the text files (memory at 10,000 vs --articles files)

With ``--cluster SPEC`` (e.g. ``local:2``) it compares, on the html pages alone, the local pool
(``--workers`` = the cluster's threads) with the same backfill on the cluster, then the cluster
writing shards and ``worker merge`` folding them in; it prints the speed-up, the scheduler's
overhead per task, the clean rate per core (pages over the seconds the tasks took on their
workers) and the writer's rate (articles per second of ``worker merge``: storing alone).

Prints a table and the ratios the issue asks for.

With ``--compare CHECKOUT`` it runs the worker cases with another checkout's worker and this
one's in turn (``--rounds`` each, the one that goes first alternating) and prints the median
rates and their ratio, and the median CPU seconds per 1,000 items (the run's processes, pool
workers included) and theirs: the way to tell whether a change made backfills slower, as one run
after another on this machine differs by up to a third; the CPU time tells whether a difference
is work the code does or time it spends waiting. Every run starts with the earlier runs'
archives removed and written out of memory.

    python benchmarks/backfill.py --workdir /tmp/bb --compare ../before --only html,txt --rounds 4
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import resource
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))


# -- inputs ---------------------------------------------------------------------------------------


_TEXT = re.compile(r">([^<]+)<")
_CONTENT = re.compile(r"""(content=["'])([^"']*)(["'])""", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_HREF = re.compile(r"""(\bhref=["']?)([^"'?#\s>]*)""", re.I)  # quoted or not (href=https://...)


def own_url(page: str, i: int) -> str:
    """The page with its canonical link's path made its copy's own (``.../copy-7``): copies of
    one page are different stories, and stories of a real archive do not share a canonical URL
    (the meta tags' and JSON-LD's URLs are made unreadable by ``cipher``)."""

    def link(m: re.Match) -> str:
        tag = m.group(0)
        if "canonical" not in tag.lower():
            return tag
        return _HREF.sub(lambda h: f"{h.group(1)}{h.group(2).rstrip('/')}/copy-{i}", tag, count=1)

    return _LINK.sub(link, page)


def cipher(text: str, rnd: random.Random) -> str:
    """``text`` with the letters of what lies between tags and of meta tags' content substituted
    (one random alphabet per call): the page keeps its structure and its words' shapes, and
    shares no text with another. The letters of other alphabets and scripts (Arabic, Korean,
    Chinese, Thai...) are shuffled among the page's own, so a copy of a page written in them is
    a story of its own too."""
    lower = list(string.ascii_lowercase)
    rnd.shuffle(lower)
    table = str.maketrans(string.ascii_lowercase + string.ascii_uppercase, "".join(lower) + "".join(lower).upper())
    others = sorted({c for c in text if not c.isascii() and c.isalpha()})
    shuffled = others[:]
    rnd.shuffle(shuffled)
    table.update(str.maketrans("".join(others), "".join(shuffled)))
    text = _TEXT.sub(lambda m: ">" + m.group(1).translate(table) + "<", text)
    return _CONTENT.sub(lambda m: m.group(1) + m.group(2).translate(table) + m.group(3), text)


def make_pages(dest: Path, n: int) -> int:
    """Copies of the corpus pages, each with a text of its own; returns the source page count."""
    from worker.clean import clean_html

    pages = sorted((CORPUS / "pages").rglob("*.html"))
    usable = []
    for p in pages:
        data = p.read_bytes()
        art = clean_html(data, None)
        if art is not None and art.headline:
            usable.append((p, data, art.headline))
    dest.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(11)
    for i in range(n):
        p, data, _headline = usable[i % len(usable)]
        text = own_url(cipher(data.decode("utf-8", "surrogateescape"), rnd), i)
        (dest / f"{i:06d}-{p.stem}.html").write_bytes(text.encode("utf-8", "surrogateescape"))
    return len(usable)


def make_warc(pages: Path, dest: Path) -> None:
    """The page files as response records of one WARC file (gzip per record)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with dest.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
        for p in sorted(pages.iterdir()):
            body = p.read_bytes()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")  # fmt: skip
            url = f"https://pages.example/{p.stem}"
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          length=len(body), http_headers=http))  # fmt: skip


def sentences() -> list[str]:
    out = []
    for txt in sorted((CORPUS / "pages").rglob("*.txt")):
        for line in txt.read_text(encoding="utf-8", errors="replace").split("\n"):
            line = line.strip()
            if 60 < len(line) < 400 and line.isascii():
                out.append(line)
    return out or ["The council voted on Tuesday to close the old pier for repairs, citing safety concerns."]


def reworded(line: str, words: list[str], rnd: random.Random) -> str:
    """A corpus line with half its words replaced by words drawn from the corpus (common words
    more often, as they are drawn from every occurrence): the sentence's length and vocabulary
    stay those of news, but no two articles share their sentences, as the stories of a real
    archive do not. (Drawn unchanged from the corpus's few hundred lines, any two articles shared
    a sixth of their sentences: each new article had LSH candidates to compare with.)"""
    return " ".join(rnd.choice(words) if rnd.random() < 0.5 else w for w in line.split())


def make_articles(dest: Path, jsonl: Path, n: int) -> None:
    rnd = random.Random(7)
    pool = sentences()
    words = [w for line in pool for w in line.split()]
    dest.mkdir(parents=True, exist_ok=True)
    with jsonl.open("w", encoding="utf-8") as out:
        for i in range(n):
            paras = ["  ".join(reworded(s, words, rnd) for s in rnd.sample(pool, 2)) for _ in range(rnd.randint(6, 14))]
            headline = f"Report {i}: " + " ".join(rnd.choice(pool).split()[:8]).rstrip(",.;")
            byline = rnd.choice(["Maria Lopez", "Daniel Okafor", "Ana Silva and Tom Reed"])
            text = f"{headline}\n\nBy {byline}\n\nThe Daily Record\n\nWASHINGTON — " + "\n\n".join(paras) + "\n"
            (dest / f"{i:06d}.txt").write_text(text, encoding="utf-8")
            out.write(
                json.dumps(
                    {
                        "headline": headline,
                        "byline": byline,
                        "body": "\n\n".join(paras),
                        "url": f"https://example.org/{i}",
                        "published_at": "2024-01-01T00:00:00Z",
                    }
                )
                + "\n"
            )


# -- measurement ----------------------------------------------------------------------------------


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """(summed, largest) VmRSS of a process and all its descendants, in kB."""
    total, largest, stack = 0, 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                        total, largest = total + rss, max(largest, rss)
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total, largest


def measure(cmd: list[str], cwd: Path, log: Path | None = None) -> tuple[float, float, float, str, float]:
    """(seconds, peak MB of the whole process tree, peak MB of its largest process, stdout, CPU
    seconds of the process and the children it waited for: pool workers included) of one
    subprocess (its standard error to ``log``, when given). The third is what
    ``/usr/bin/time -v`` reports as maximum resident size."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=log.open("w") if log else subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    peak = largest = 0
    done = threading.Event()

    def sample():
        nonlocal peak, largest
        while not done.is_set():
            total, big = tree_rss_kb(proc.pid)
            peak, largest = max(peak, total), max(largest, big)
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    done.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.monotonic() - t0, peak / 1024, largest / 1024, out, cpu


ANCHOR = r"""
import sys, glob, sqlite_utils, trafilatura
db = sqlite_utils.Database(sys.argv[2])
db["articles"].create({"url": str, "title": str, "author": str, "date": str, "text": str}, pk="url")
db["articles"].enable_fts(["title", "text", "author"], fts_version="FTS5", create_triggers=True)
def rows():
    for path in sorted(glob.glob(sys.argv[1] + "/*.html")):
        with open(path, "rb") as fh:
            doc = trafilatura.bare_extraction(fh.read(), include_comments=False, with_metadata=True)
        if doc is None:
            continue
        doc = doc if isinstance(doc, dict) else doc.as_dict()
        yield {"url": path, "title": doc.get("title"), "author": doc.get("author"), "date": doc.get("date"),
               "text": doc.get("text")}
db["articles"].insert_all(rows(), batch_size=100)
print(db["articles"].count)
"""

CEILING = r"""
import sys, json, hashlib, datetime
sys.path.insert(0, sys.argv[3])
from worker.archive import Archive
from worker.dedupe import headline_hash
archive = Archive(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def rows():
    with open(sys.argv[1], encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            yield {"headline_hash": headline_hash(d["headline"]), "headline": d["headline"], "byline": d["byline"],
                   "body": d["body"], "url": d["url"], "source": "ceiling", "published_at": d["published_at"],
                   "word_count": len(d["body"].split()), "content_hash": hashlib.sha256(d["body"].encode()).hexdigest(),
                   "headline_derived": 0, "first_seen_at": now}
archive.db["articles"].insert_all(rows(), batch_size=500)
print(archive.db["articles"].count)
"""


WORKER_ROOT = ROOT  # --worker-root: the checkout whose worker runs (another commit, to compare)


def worker_cmd(
    db: Path, *paths: Path, level: str = "warning", command: str = "backfill", root: Path | None = None
) -> list[str]:
    head = ["env", f"PYTHONPATH={root or WORKER_ROOT}", sys.executable, "-m", "worker", "--log-format", "json",
            "--log-level", level, "--archive", str(db)]  # fmt: skip
    return [*head, command, *(["--no-optimize"] if command == "backfill" else []), *map(str, paths)]


def settle(dbs: Path, limit_mb: int = 64, patience: float = 300.0) -> None:
    """Remove the archives of earlier runs and wait until the kernel has written what they left
    in memory (``Dirty`` + ``Writeback`` under ``limit_mb``): otherwise a run pays for the disk
    writes of the one before it (up to a third slower here, whichever checkout ran second)."""
    for p in dbs.glob("*"):
        if p.is_file():
            p.unlink()
    os.sync()
    until = time.monotonic() + patience
    while time.monotonic() < until:
        with open("/proc/meminfo") as fh:
            kb = sum(int(line.split()[1]) for line in fh if line.startswith(("Dirty:", "Writeback:")))
        if kb < limit_mb * 1024:
            return
        time.sleep(0.5)


def compare(cases: dict[str, tuple], other: Path, rounds: int, dbs: Path) -> None:
    """Each case run with ``other``'s worker and this checkout's in turn, ``rounds`` times each,
    the one that goes first alternating, every run after ``settle``; rates and their ratio."""
    roots = {"other": other.resolve(), "this": ROOT}
    rates: dict[str, dict[str, list[float]]] = {}
    cpus: dict[str, dict[str, list[float]]] = {}
    peaks: dict[str, dict[str, float]] = {}
    for name, (make_cmd, n, unit) in cases.items():
        rates[name], peaks[name] = {"other": [], "this": []}, {"other": 0.0, "this": 0.0}
        cpus[name] = {"other": [], "this": []}
        for r in range(rounds):
            for label in ("other", "this") if r % 2 == 0 else ("this", "other"):
                settle(dbs)
                secs, peak, _, _, cpu = measure(make_cmd(roots[label]), roots[label])
                rates[name][label].append(n / secs)
                cpus[name][label].append(cpu / n * 1000)
                peaks[name][label] = max(peaks[name][label], peak)
                print(f"  {name}, {label}: {n / secs:.0f} {unit}/s, {cpu:.1f} CPU s, {peak:.0f} MB", file=sys.stderr)
    print(f"\nother: {roots['other']}\nthis:  {roots['this']}\n")
    print(
        f"{'case':8} {'other /s':>9} {'this /s':>9} {'this/other':>10} {'CPU s/1000':>15} {'this/other':>10} "
        f"{'peak MB':>11}  runs /s (other | this)"
    )
    for name, by in rates.items():
        mid = {label: statistics.median(v) for label, v in by.items()}
        per = {label: statistics.median(v) for label, v in cpus[name].items()}
        runs = " ".join(f"{x:.0f}" for x in by["other"]) + " | " + " ".join(f"{x:.0f}" for x in by["this"])
        mb = f"{peaks[name]['other']:.0f} / {peaks[name]['this']:.0f}"
        print(
            f"{name:8} {mid['other']:9.0f} {mid['this']:9.0f} {mid['this'] / mid['other']:10.2f} "
            f"{per['other']:7.2f} / {per['this']:5.2f} {per['this'] / per['other']:10.2f} {mb:>11}  {runs}"
        )


def logged(path: Path, name: str) -> dict:
    """The last ``name`` event of a JSON log file."""
    found = [json.loads(line) for line in path.read_text().splitlines() if f'"event": "{name}"' in line]
    return found[-1]


def cluster_cases(pages: Path, dbs: Path, spec: str, files: int) -> None:
    """The local pool beside the same backfill on a Dask cluster, then shards and a merge (twice:
    the second adds nothing, and tells what a merge costs besides storing)."""
    threads = int(spec.partition(":")[2] or os.cpu_count() or 1)
    per_task = ["--partition-files", str(files)]
    cases = {
        "pool": worker_cmd(dbs / "pool.db", pages) + ["--workers", str(threads)],
        "cluster": worker_cmd(dbs / "cluster.db", pages, level="info") + ["--cluster", spec, *per_task],
        "shards": worker_cmd(dbs / "unused.db", pages) + ["--cluster", spec, "--shards", str(dbs / "s"), *per_task],
        "merge": worker_cmd(dbs / "merged.db", dbs / "s", command="merge"),
        "merge again": worker_cmd(dbs / "merged.db", dbs / "s", command="merge"),
    }
    n = sum(1 for _ in pages.iterdir())
    took, cpu = {}, {}
    for name, cmd in cases.items():
        took[name], peak, _, out, cpu[name] = measure(cmd, ROOT, log=dbs / f"{name}.log")
        print(f"  {name}: {took[name]:.1f}s, {peak:.0f} MB, {out.strip().splitlines()[-1][:90]}", file=sys.stderr)
    done = logged(dbs / "cluster.log", "cluster_finished")
    busy, tasks, dispatch = done["task_seconds"], done["tasks"], done["duration_ms"] / 1000
    articles, store_wall, store_cpu, words = writer_rate(dbs / "s", dbs / "writer.db")
    print(f"\n{'case':28} {'seconds':>8} {'pages/s':>8} {'CPU s':>8}")
    for name in ("pool", "cluster", "shards"):
        print(f"{name:28} {took[name]:8.1f} {n / took[name]:8.1f} {cpu[name]:8.1f}")
    print(f"{'cluster, tasks only':28} {dispatch:8.1f} {n / dispatch:8.1f}")
    for name in ("merge", "merge again"):
        print(f"{name:28} {took[name]:8.1f} {articles / took[name]:8.1f} {cpu[name]:8.1f}  articles/s")
    print(f"{'the writer alone':28} {store_wall:8.1f} {articles / store_wall:8.1f} {store_cpu:8.1f}  articles/s")
    overhead = (dispatch * done["threads"] - busy) / tasks
    print(
        f"\nspeed-up of the cluster over the pool: {took['pool'] / took['cluster']:.2f}x "
        f"({took['pool'] / dispatch:.2f}x without starting the cluster: {took['cluster'] - dispatch:.1f}s)\n"
        f"tasks: {tasks} of {busy / tasks:.2f}s on average; overhead per task (worker time outside tasks): "
        f"{overhead * 1000:.0f} ms = {overhead / (busy / tasks):.1%}\n"
        f"clean rate per core: {done['pages'] / done['task_cpu_seconds']:.1f} pages per CPU second "
        f"({done['pages'] / busy:.1f} per second of task time on this machine's load)\n"
        f"writer: {articles / store_cpu:.0f} articles per CPU second, {articles / store_wall:.0f} per second "
        f"(storing {articles} cleaned articles of {words:.0f} words on average, in batches of 200)"
    )


def writer_rate(shards: Path, db: Path) -> tuple[int, float, float, float]:
    """(articles, seconds, CPU seconds, words per article) of the writer alone: the shards'
    articles, cleaned and hashed already, stored into a new archive in batches of 200."""
    from worker.archive import Archive, Batch
    from worker.archive.merge import shard_articles, shard_info

    articles: list = []
    for path in sorted(shards.glob("*.db")):
        with Archive(path, readonly=True) as shard:
            info = shard_info(shard.db)
            if info is None:
                raise SystemExit(f"{path}: not a finished shard")
            articles += [(a, loc, None) for a, loc, _, _ in shard_articles(shard.db, 0, info["sightings"])]
    with Archive(db) as archive:
        run_id = archive.start_run("bench", "backfill", "2024-01-01T00:00:00Z")
        t0, cpu0 = time.monotonic(), time.process_time()
        for i in range(0, len(articles), 200):
            with archive.transaction():
                archive.store(Batch(run_id, "bench", articles=articles[i : i + 200]))
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    return len(articles), wall, cpu, sum(a.word_count for a, _, _ in articles) / max(len(articles), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--workdir", type=Path, default=None, help="keep inputs here between runs")
    ap.add_argument("--skip-anchor", action="store_true")
    ap.add_argument("--worker-root", type=Path, default=ROOT, help="run the worker of this checkout")
    ap.add_argument("--only", default=None, help="comma-separated cases: html,warc,anchor,txt,jsonl,ceiling,txt10k")
    ap.add_argument("--cluster", default=None, metavar="SPEC", help="compare the pool with a Dask cluster (local:2)")
    ap.add_argument("--partition-files", type=int, default=200, help="with --cluster: files per task")
    ap.add_argument("--compare", type=Path, default=None, metavar="CHECKOUT",
                    help="the worker cases with CHECKOUT's worker and this one's in turn")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=2, help="with --compare: runs of each checkout per case (2)")
    args = ap.parse_args()
    global WORKER_ROOT
    WORKER_ROOT = args.worker_root.resolve()
    only = set(args.only.split(",")) if args.only else None
    if not CORPUS.is_dir():
        raise SystemExit(f"the development corpus is not at {CORPUS}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="backfill-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    pages, texts, jsonl = (
        work / f"pages-v3-{args.pages}",
        work / f"texts-v2-{args.articles}",
        work / f"articles-v2-{args.articles}.jsonl",
    )
    if args.cluster:
        if not pages.is_dir():
            make_pages(pages, args.pages)
        dbs = work / "dbs"
        shutil.rmtree(dbs, ignore_errors=True)
        dbs.mkdir()
        cluster_cases(pages, dbs, args.cluster, args.partition_files)
        print(f"\ninputs kept in {work}")
        return
    if not pages.is_dir():
        make_pages(pages, args.pages)
    warc = work / f"pages-v3-{args.pages}.warc.gz"
    if not warc.exists():
        make_warc(pages, warc)
    if not texts.is_dir() or not jsonl.exists():
        make_articles(texts, jsonl, args.articles)
    texts10k = work / "texts-v2-10k"
    if args.articles > 10_000 and not texts10k.is_dir():
        texts10k.mkdir()
        for p in sorted(texts.iterdir())[:10_000]:
            os.link(p, texts10k / p.name)
    dbs = work / "dbs"
    shutil.rmtree(dbs, ignore_errors=True)
    dbs.mkdir()
    if args.compare:
        inputs = {
            "html": (pages, args.pages, "pages"),
            "warc": (warc, args.pages, "pages"),
            "txt": (texts, args.articles, "articles"),
            "jsonl": (jsonl, args.articles, "articles"),
            "txt10k": (texts10k, 10_000, "articles"),
        }
        chosen = {
            name: (lambda root, name=name, path=path: worker_cmd(dbs / f"{name}.db", path, root=root), n, unit)
            for name, (path, n, unit) in inputs.items()
            if (only is None or name in only) and (name != "txt10k" or args.articles > 10_000)
        }
        compare(chosen, args.compare, args.rounds, dbs)
        print(f"\ninputs kept in {work}")
        return

    rows = []

    def case(name, cmd, n, unit):
        key = {
            "worker html": "html",
            "worker warc": "warc",
            "worker txt": "txt",
            "worker jsonl": "jsonl",
            "ceiling: insert_all into FTS5": "ceiling",
            "worker txt (10,000 files)": "txt10k",
        }.get(name, "anchor")
        if only is not None and key not in only:
            return
        settle(dbs)
        secs, peak, largest, out, _ = measure(cmd, WORKER_ROOT)
        rows.append((name, n, unit, secs, n / secs, peak, largest, out.strip().splitlines()[-1] if out.strip() else ""))
        print(f"  {name}: {n / secs:.0f} {unit}/s, {peak:.0f} MB ({largest:.0f} MB largest process)", file=sys.stderr)

    case("worker html", worker_cmd(dbs / "html.db", pages), args.pages, "pages")
    case("worker warc", worker_cmd(dbs / "warc.db", warc), args.pages, "pages")
    if not args.skip_anchor:
        case(
            "anchor: trafilatura + sqlite-utils",
            [sys.executable, "-c", ANCHOR, str(pages), str(dbs / "anchor.db")],
            args.pages,
            "pages",
        )
    case("worker txt", worker_cmd(dbs / "txt.db", texts), args.articles, "articles")
    case("worker jsonl", worker_cmd(dbs / "jsonl.db", jsonl), args.articles, "articles")
    case(
        "ceiling: insert_all into FTS5",
        [sys.executable, "-c", CEILING, str(jsonl), str(dbs / "ceil.db"), str(ROOT)],
        args.articles,
        "articles",
    )
    if args.articles > 10_000:
        case("worker txt (10,000 files)", worker_cmd(dbs / "txt10k.db", texts10k), 10_000, "articles")

    print(f"\n{'case':38} {'items':>8} {'seconds':>8} {'per s':>8} {'peak MB':>8} {'largest':>8}  result")
    for name, n, _unit, secs, rate, peak, largest, out in rows:
        print(f"{name:38} {n:8d} {secs:8.1f} {rate:8.0f} {peak:8.0f} {largest:8.0f}  {out[:60]}")
    by = {r[0]: r for r in rows}
    if "anchor: trafilatura + sqlite-utils" in by:
        w, a = by["worker html"], by["anchor: trafilatura + sqlite-utils"]
        print(
            f"\nhtml pages/s vs the anchor: {w[4] / a[4]:.2f}x (bar: >= 2.0x); peak memory of all processes "
            f"{w[5]:.0f} MB vs {a[5]:.0f} MB, of the largest process {w[6]:.0f} MB vs {a[6]:.0f} MB"
        )
    if "worker warc" in by and "worker html" in by:
        print(
            f"warc pages/s vs the same pages as files: {by['worker warc'][4] / by['worker html'][4]:.2f} (bar: >= 0.9)"
        )
    c = by.get("ceiling: insert_all into FTS5")
    for name in ("worker txt", "worker jsonl"):
        if c and name in by:
            print(f"{name} vs the raw FTS5 insert ceiling: {by[name][4] / c[4]:.2f} (bar: >= 0.5)")
    if "worker txt (10,000 files)" in by:
        print(
            f"peak memory at 10,000 files {by['worker txt (10,000 files)'][5]:.0f} MB, "
            f"at {args.articles:,} files {by['worker txt'][5]:.0f} MB (all processes)"
        )
    print(f"\ninputs kept in {work}")


if __name__ == "__main__":
    main()
