"""Search speed on a large archive: ``worker search`` (in-process), Datasette's search box (over
HTTP, from a real ``datasette`` process with the shipped metadata and its 1 s time limit) and
``sqlite-utils search`` (its command line): p50 and p95, and the size of each full-text index.

Builds (once, then re-used) an archive of ``--n`` articles made of real article text from
``../shared/corpus`` recombined: every body is sentences drawn from the corpus (a few sentences
are common, most are rare, as words are in news), every headline is unique; ``--spaceless``
(2 %) of them are Chinese, Japanese and Thai, from the corpus's pages in those scripts, and only
those hold characters of the scripts written without spaces. ``--mixed`` builds the archive of
before: the other bodies also draw the corpus's 31 Chinese, Japanese, Korean and Thai sentences,
so that one in nine of them quotes a sentence in those scripts and is in the trigram index too
(a hard case for a Latin word's second reading; give it to ``search_compare.py`` too). Rows go
in with direct bulk inserts in the archive's own schema (``Archive`` makes it; FTS triggers
index it), then FTS ``optimize`` runs, as after any large backfill. An archive made by an older
worker is migrated when opened (the time is printed) and gets the spaceless articles it lacks.

``--baseline`` runs Datasette and sqlite-utils without the worker's plugins: what they did before
them (Datasette's own search filter; sqlite-utils ranking every match).

Example:
    python benchmarks/search.py                      # 1,000,000 articles, cached in the temp folder
    python benchmarks/search.py --n 50000 --db /tmp/bench-50k.db
    python benchmarks/search.py --n 200000 --db /tmp/bench-200k.db --baseline --skip-worker
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_tools import measure_datasette, measure_sqlite_utils, percentiles  # noqa: E402

from worker.archive import Archive  # noqa: E402
from worker.dedupe import headline_hash  # noqa: E402
from worker.search import Filters, search  # noqa: E402
from worker.text.scripts import is_spaceless  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
SOURCES = [f"source-{i:02d}" for i in range(20)]
LANGS = ["en"] * 8 + ["de", "fr"]
SEED = 20240101
SPACELESS_TEXTS = ("chinese_article*.txt", "japanese_article*.txt", "thai_article.txt")
# words of those texts: three characters or more, two, one, a Thai word, two scripts together (a Latin
# word of those texts: ``【6月18日 AFP】ナイジェリア``)
SPACELESS_WORDS = {
    "zh/ja word, 3+ characters": ["梁振英", "立法会", "行政长官", "金正恩", "北朝鮮"],
    "zh/ja word, 2 characters": ["香港", "道歉", "中国", "米朝", "議員"],
    "zh/ja word, 1 character": ["港", "日"],
    "Thai word": ["ผู้สื่อข่าว", "สุรชัย", "ตำรวจ"],
    "Japanese or Thai word + Latin word": ["ナイジェリア AFP", "ボルノ Borno", "ผู้สื่อข่าว DNA"],
}


def corpus_sentences(mixed: bool = False) -> list[str]:
    """Every sentence (6 to 60 words) of the corpus's plain-text bodies (and the expected bodies
    beside pages); with ``mixed``, also those in scripts written without spaces (31 of 986)."""
    texts = [p.read_text("utf-8", "replace") for p in sorted(CORPUS.glob("text/*.txt"))]
    texts += [p.read_text("utf-8", "replace") for p in sorted(CORPUS.glob("pages/*/*.txt"))]
    for p in sorted(CORPUS.glob("pages/goose3/*.json")):
        try:
            texts.append(json.loads(p.read_text("utf-8"))["expected"].get("cleaned_text") or "")
        except (ValueError, KeyError):
            pass
    sentences = []
    for text in texts:
        for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
            if 6 <= len(s.split()) <= 60:
                sentences.append(s.strip())
    return [s for s in dict.fromkeys(sentences) if mixed or not is_spaceless(s)]


def spaceless_sentences() -> list[str]:
    """Sentences of the corpus's Chinese, Japanese and Thai articles (Thai ends its sentences with a space)."""
    out = []
    for pattern in SPACELESS_TEXTS:
        for p in sorted(CORPUS.glob(f"pages/newspaper4k/{pattern}")):
            for s in re.split(r"(?<=[。！？])|\s{1,}(?=[\u0e00-\u0e7f])", p.read_text("utf-8", "replace")):
                if len(s.strip()) >= 8:
                    out.append(s.strip())
    return list(dict.fromkeys(out))


def spaceless_rows(rng: random.Random, count: int, start: int, first_seen: datetime) -> list[dict]:
    """``count`` articles of recombined Chinese, Japanese and Thai sentences."""
    sentences = spaceless_sentences()
    rows = []
    for i in range(count):
        picks = rng.sample(sentences, k=min(len(sentences), rng.randint(6, 14)))
        body = "\n\n".join("".join(picks[j : j + 3]) for j in range(0, len(picks), 3))
        headline = f"{picks[0][:24]} {start + i}"
        seen = (first_seen + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(
            {
                "headline_hash": headline_hash(headline),
                "headline": headline,
                "published_at": seen,
                "dek": None,
                "body": body,
                "url": f"https://example.org/spaceless/{start + i}",
                "source": "source-asia",
                "publication": "Publication Asia",
                "lang": "th" if re.search("[\u0e00-\u0e7f]", body) else "zh",
                "word_count": len(body),
                "content_hash": headline_hash(body)[:16],
                "headline_derived": 0,
                "first_seen_at": seen,
                "spaceless": 1,
            }
        )
    return rows


def top_up(path: Path, wanted: int) -> None:
    """Migrate an archive made by an older worker (printing the time it takes) and add the
    spaceless articles it lacks."""
    started = time.monotonic()
    with Archive(path) as archive:
        print(f"opened (and migrated) {path} in {time.monotonic() - started:.1f} s", file=sys.stderr)
        db = archive.db
        have = db.execute("SELECT count(*) FROM articles WHERE source = 'source-asia'").fetchone()[0]
        if have >= wanted:
            return
        total = db.execute("SELECT max(id) FROM articles").fetchone()[0] or 0
        rng = random.Random(SEED + have)
        latest = db.execute("SELECT max(first_seen_at) FROM articles").fetchone()[0] or "2024-01-01T00:00:00Z"
        first_seen = datetime.fromisoformat(latest.replace("Z", "+00:00")) + timedelta(seconds=1)
        for chunk in range(have, wanted, 5000):
            rows = spaceless_rows(rng, min(5000, wanted - chunk), total + chunk, first_seen)
            first_seen += timedelta(seconds=len(rows))
            with db.conn:
                db.table("articles").insert_all(rows, batch_size=5000)
        print(f"added {wanted - have:,} spaceless articles", file=sys.stderr)
        archive.optimize()


def build(path: Path, n: int, words: int = 500, mixed: bool = False) -> None:
    if not CORPUS.exists():
        sys.exit(f"the corpus is not at {CORPUS}")
    rng = random.Random(SEED)
    sentences = corpus_sentences(mixed)
    rng.shuffle(sentences)
    # Zipf-like: sentence k is drawn with weight 1/(k+1)^1.5, so a word's document frequency ranges
    # from most of the archive down to a few dozen articles.
    weights = [1.0 / (k + 1) ** 1.5 for k in range(len(sentences))]
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    vocab = sorted({w for s in sentences for w in re.findall(r"[A-Za-z]{4,}", s)})
    per_body = max(1, words // 22)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    print(f"building {n:,} articles from {len(sentences):,} corpus sentences into {path}", file=sys.stderr)
    tmp = path.with_suffix(".building")
    for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        p.unlink(missing_ok=True)
    archive = Archive(tmp)
    db = archive.db
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1000000")
    t0 = time.monotonic()
    batch, seen = [], set()
    i = 0
    while i < n:
        headline = " ".join(rng.choice(vocab) for _ in range(rng.randint(6, 10))).capitalize()
        h = headline_hash(headline)
        if h in seen:
            continue
        seen.add(h)
        picks = list(dict.fromkeys(rng.choices(sentences, cum_weights=cum, k=per_body * 2)))[:per_body]
        body = "\n\n".join(" ".join(picks[j : j + 3]) for j in range(0, len(picks), 3))
        published = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        source = SOURCES[min(int(rng.paretovariate(1.2)) - 1, len(SOURCES) - 1)]
        batch.append(
            {
                "headline_hash": h,
                "headline": headline,
                "byline": None,
                "published_at": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "dek": picks[0][:200],
                "body": body,
                "url": f"https://example.org/{i}",
                "source": source,
                "publication": source.replace("source", "Publication"),
                "dateline": None,
                "lang": rng.choice(LANGS),
                "word_count": len(body.split()),
                "content_hash": h[:16],
                "headline_derived": 0,
                "first_seen_at": (published + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "spaceless": is_spaceless(headline, body),  # as the writer marks it
            }
        )
        i += 1
        if len(batch) == 5000 or i == n:
            with db.conn:
                db.table("articles").insert_all(batch, batch_size=5000)
            batch = []
            if i % 50_000 == 0 or i == n:
                print(f"  {i:,} articles, {time.monotonic() - t0:.0f} s", file=sys.stderr)
    archive.optimize()
    archive.close()
    tmp.rename(path)
    print(f"built in {time.monotonic() - t0:.0f} s, {path.stat().st_size / 1e9:.2f} GB", file=sys.stderr)


def doc_freq(conn: sqlite3.Connection, word: str) -> int:
    return conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [f'"{word}"']).fetchone()[0]


def pick_words(conn: sqlite3.Connection, total: int, mixed: bool = False) -> dict[str, list[str]]:
    """Real words by how many articles hold them: common (in over 20 % of the archive, from the
    most drawn sentences) and rare (the ten rarest words of the least drawn sentences); ``mixed``:
    the archive was built with ``--mixed``."""
    rng = random.Random(SEED)
    sentences = corpus_sentences(mixed)
    rng.shuffle(sentences)  # the order build() drew them in: the first are the most common

    def words(chunk):
        return sorted({w.lower() for s in chunk for w in re.findall(r"[A-Za-z]{5,}", s)})

    common = [w for w in words(sentences[:4]) if doc_freq(conn, w) > total * 0.2][:10]
    rare = sorted((doc_freq(conn, w), w) for w in words(sentences[-80:]))
    rare = [w for df, w in rare if 0 < df <= total * 0.01][:10]
    return {"common": common, "rare": rare}


def measure(conn, queries: list[str], filters: Filters, repeat: int) -> tuple[float, float, int]:
    times, hits = [], 0
    for _ in range(repeat):
        for q in queries:
            t = time.perf_counter()
            hits += len(search(conn, q, limit=20, filters=filters))
            times.append((time.perf_counter() - t) * 1000)
    return *percentiles(times), hits // max(1, repeat * len(queries))


def index_sizes(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Bytes of each full-text index (its shadow tables, from SQLite's dbstat) and of the file."""
    out = []
    for fts in ("articles_fts", "articles_trigram", "versions_fts", "versions_trigram"):
        size = 0
        for part in ("data", "idx", "docsize", "config"):
            row = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ? AND aggregate = 1", [f"{fts}_{part}"])
            size += row.fetchone()[0] or 0
        out.append((fts, size))
    pages = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    return [*out, ("the whole archive", pages)]


def worker_cases(conn: sqlite3.Connection, words: dict[str, list[str]], spaceless: bool) -> list[tuple]:
    two = {k: [f"{a} {b}" for a, b in zip(v, v[1:] + v[:1])] for k, v in words.items()}
    by_size = "SELECT source FROM articles WHERE source != 'source-asia' GROUP BY source ORDER BY count(*)"
    busiest = conn.execute(f"{by_size} DESC LIMIT 1").fetchone()[0]
    quiet = conn.execute(f"{by_size} LIMIT 1").fetchone()[0]
    cases = [
        ("common word", words["common"], Filters()),
        ("common, two words", two["common"], Filters()),
        ("rare word", words["rare"], Filters()),
        ("common + --source (busiest)", words["common"], Filters(source=busiest)),
        ("common + --source (quietest)", words["common"], Filters(source=quiet)),
        ("common + --since/--until (1 month)", words["common"], Filters(since="2022-03-01", until="2022-03-31")),
        ("common + --lang de", words["common"], Filters(lang="de")),
        ("rare + --source + --since", words["rare"], Filters(source=busiest, since="2022-01-01")),
    ]
    if spaceless:
        cases += [(name, queries, Filters()) for name, queries in SPACELESS_WORDS.items()]
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="articles (default 1,000,000)")
    ap.add_argument("--db", type=Path, default=None, help="archive to build or re-use (default: temp folder)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each query (default 5)")
    ap.add_argument("--rebuild", action="store_true", help="build again even when --db exists")
    ap.add_argument("--spaceless", type=float, default=0.02, help="share of Chinese, Japanese, Thai (0.02)")
    ap.add_argument("--mixed", action="store_true", help="other bodies quote sentences in those scripts too")
    ap.add_argument("--baseline", action="store_true", help="Datasette and sqlite-utils without the plugins")
    ap.add_argument("--no-settings", action="store_true", help="Datasette without worker serve's settings")
    ap.add_argument("--tools-repeat", type=int, default=2, help="runs of each Datasette/sqlite-utils query (2)")
    ap.add_argument("--skip-worker", action="store_true", help="leave out worker search")
    ap.add_argument("--skip-tools", action="store_true", help="leave out Datasette and sqlite-utils")
    args = ap.parse_args()
    path = args.db or Path(tempfile.gettempdir()) / f"worker-search-bench-{args.n}.db"
    spaceless = int(args.n * args.spaceless)
    if args.rebuild or not path.exists():
        build(path, args.n - spaceless, mixed=args.mixed)
    top_up(path, spaceless)
    with Archive(path, readonly=True) as archive:
        conn = archive.db.conn
        total = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        words = pick_words(conn, total, args.mixed)
        trigram = conn.execute("SELECT count(*) FROM articles_trigram_docsize").fetchone()[0]
        print(
            f"archive: {path} ({total:,} articles, {spaceless:,} of them Chinese, Japanese or Thai; "
            f"{trigram:,} in the trigram index)"
        )
        for name, size in index_sizes(conn):
            print(f"  {name:20} {size / 1e6:10,.1f} MB")
        print(f"common words (df): {', '.join(f'{w} ({doc_freq(conn, w):,})' for w in words['common'][:5])}, ...")
        print(f"rare words (df): {', '.join(f'{w} ({doc_freq(conn, w):,})' for w in words['rare'][:4])}, ...")
        if not args.skip_worker:
            for q in words["common"][:1] + words["rare"][:1]:  # warm the page cache
                search(conn, q)
            print(f"\nworker search\n{'case':38} {'p50 ms':>8} {'p95 ms':>8} {'hits':>5}")
            for name, queries, filters in worker_cases(conn, words, spaceless > 0):
                if queries:
                    p50, p95, hits = measure(conn, queries, filters, args.repeat)
                    print(f"{name:38} {p50:8.1f} {p95:8.1f} {hits:5d}")
    if not args.skip_tools:
        common = words["common"][:5]
        plugins = "without the worker's plugins" if args.baseline else "with the worker's plugins"
        settings = not args.no_settings
        for tool, measured in (
            (
                f"Datasette (HTTP), {plugins}, {'worker serve' if settings else 'default'} settings",
                measure_datasette(path, common, args.tools_repeat, args.baseline, settings),
            ),
            (
                f"sqlite-utils (command line), {plugins}",
                measure_sqlite_utils(path, common, args.tools_repeat, args.baseline),
            ),
        ):
            print(f"\n{tool}, common words\n{'case':38} {'p50 ms':>8} {'p95 ms':>8}  answers")
            for case, p50, p95, summary in measured:
                print(f"{case:38} {p50:8.1f} {p95:8.1f}  {summary}")


if __name__ == "__main__":
    main()
