"""``worker search`` of another checkout against this one, on one archive built by search.py.

    python benchmarks/search_compare.py --db /tmp/bench-1m.db --worker-root ../before

Picks the words and filters as ``benchmarks/search.py`` does (this checkout), then runs them
with each checkout's ``worker.search.search`` in a process of its own, twice in turn (the first
round warms the page cache), and prints p50 / p95 of the second round side by side. The archive
is opened read-only, so an older worker can search an archive of a newer schema (its filters
may then miss the newer indexes).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN = """
import json, sqlite3, sys, time
sys.path.insert(0, sys.argv[1])
from worker.search import Filters, search
conn = sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)
out = []
for name, queries, filters in json.load(open(sys.argv[3])):
    times = []
    for _ in range(int(sys.argv[4])):
        for q in queries:
            t = time.perf_counter()
            search(conn, q, limit=20, filters=Filters(**filters))
            times.append((time.perf_counter() - t) * 1000)
    out.append((name, times))
print(json.dumps(out))
"""


def cases(db: Path, mixed: bool) -> list[tuple[str, list[str], dict]]:
    from search import pick_words, worker_cases  # benchmarks/search.py

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    total = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    keys = ("source", "since", "until", "lang")
    found = worker_cases(conn, pick_words(conn, total, mixed), False)
    return [(name, queries, {k: getattr(f, k) for k in keys}) for name, queries, f in found]


def timings(root: Path, db: Path, spec: Path, repeat: int) -> dict[str, list[float]]:
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(root), str(db), str(spec), str(repeat)], check=True, capture_output=True
    )
    return dict(json.loads(out.stdout))


def main() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from search_tools import percentiles

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="an archive built by benchmarks/search.py")
    ap.add_argument("--worker-root", type=Path, required=True, help="the other checkout")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each query (default 5)")
    ap.add_argument("--mixed", action="store_true", help="the archive was built by search.py --mixed")
    args = ap.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
        json.dump(cases(args.db, args.mixed), spec)
        spec.flush()
        roots = {"other": args.worker_root.resolve(), "this": ROOT}
        for _ in range(2):
            results = {label: timings(root, args.db, Path(spec.name), args.repeat) for label, root in roots.items()}
    print(f"{'case':36} {'other p50':>10} {'p95':>8} {'this p50':>10} {'p95':>8}")
    for name in results["this"]:
        other, this = percentiles(results["other"][name]), percentiles(results["this"][name])
        print(f"{name:36} {other[0]:10.1f} {other[1]:8.1f} {this[0]:10.1f} {this[1]:8.1f}")


if __name__ == "__main__":
    main()
