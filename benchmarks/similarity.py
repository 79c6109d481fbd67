"""Calibration of worker.identity's thresholds on the labelled set, and the cost of fingerprints.

    python benchmarks/similarity.py                  # everything (2-3 minutes)
    python benchmarks/similarity.py --skip-speed     # the tables only
    python benchmarks/similarity.py --seed 11        # another draw of edits and copies

The labelled set (benchmarks/labelled.py) comes from ../shared/corpus with a fixed seed:
"same" pairs (a body and an edit of it), "different" pairs (two distinct bodies, as two stories
under one recurring headline), "copy" pairs (a body and a wire copy of it).

Tables:
  same headline   per threshold: edits kept as revisions (recall), distinct stories merged
                  (false merges), precision; bodies under MIN_SHINGLES compare by their words
  wire copies     per threshold: copies linked (a shared band key, then overlap >= threshold)
                  among copies of bodies of MIN_SHINGLES or more, and false links
  chosen          worker.identity.classify run on every pair at the chosen constants
  shingle size    the margin each size leaves; short bodies: the rule for them
  speed           microseconds per article for shingles, MinHash and band keys
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import labelled  # noqa: E402

from worker import identity, similarity  # noqa: E402
from worker.identity import MIN_SHINGLES, SAME_STORY, WIRE_COPY, Candidate, band_keys, classify  # noqa: E402
from worker.models import Article  # noqa: E402

_SETS: dict[tuple[str, int], np.ndarray] = {}


def sets(text: str, size: int = similarity.SHINGLE) -> np.ndarray:
    """``similarity.shingles``, computed once per text and size."""
    if (text, size) not in _SETS:
        _SETS[(text, size)] = similarity.shingles(text, size)
    return _SETS[(text, size)]


THRESHOLDS = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9)


def overlap(a: str, b: str) -> float:
    """The decision's measure (worker.identity.score)."""
    return identity.score(sets(a), sets(b))


def _long(p: labelled.Pair) -> bool:
    return min(sets(p.a).size, sets(p.b).size) >= MIN_SHINGLES


def same_headline_table(pairs: list[labelled.Pair], scores: dict[int, float]) -> None:
    same = [scores[id(p)] for p in pairs if p.label == "same"]
    diff = [scores[id(p)] for p in pairs if p.label == "different"]
    print(f"\n## Same headline: revision or different story ({len(same)} edits, {len(diff)} distinct pairs)\n")
    print("| threshold | edits recognised | recall | stories merged | precision |")
    print("|---|---|---|---|---|")
    for t in sorted({*THRESHOLDS, SAME_STORY}):
        tp = sum(s >= t for s in same)
        fp = sum(s >= t for s in diff)
        mark = " (chosen)" if t == SAME_STORY else ""
        print(f"| {t:.2f}{mark} | {tp}/{len(same)} | {tp / len(same):.3f} | {fp} | {tp / max(1, tp + fp):.4f} |")
    long_diff = [scores[id(p)] for p in pairs if p.label == "different" and _long(p)]
    print(
        f"\nBodies under {MIN_SHINGLES} shingles compare by containment whatever the threshold. "
        f"Highest overlap of two distinct stories of {MIN_SHINGLES}+ shingles: {max(long_diff):.3f}"
    )


def wire_copy_table(pairs: list[labelled.Pair], keys: dict[str, set[int]]) -> None:
    copies = [p for p in pairs if p.label == "copy" and _long(p)]
    diff = [p for p in pairs if p.label == "different" and _long(p)]
    short = sum(p.label == "copy" for p in pairs) - len(copies)
    found = [p for p in copies if keys[p.a] & keys[p.b]]
    cand = [p for p in diff if keys[p.a] & keys[p.b]]
    print(
        f"\n## Wire copies under another headline ({len(copies)} copies; {short} copies of bodies under "
        f"{MIN_SHINGLES} shingles are never linked)\n"
    )
    print(
        f"LSH ({similarity.BANDS} bands x {similarity.ROWS} rows, 1 in {similarity.SAMPLE} shingles): "
        f"{len(found)}/{len(copies)} copies share a band key; {len(cand)}/{len(diff)} distinct pairs do\n"
    )
    print("| threshold | copies linked | recall | false links |")
    print("|---|---|---|---|")
    score = {id(p): similarity.similarity(sets(p.a), sets(p.b)) for p in found + cand}
    for t in sorted({*THRESHOLDS, WIRE_COPY}):
        tp = sum(score[id(p)] >= t for p in found)
        fp = sum(score[id(p)] >= t for p in cand)
        mark = " (chosen)" if t == WIRE_COPY else ""
        print(f"| {t:.2f}{mark} | {tp}/{len(copies)} | {tp / len(copies):.3f} | {fp} |")


def chosen(pairs: list[labelled.Pair], keys: dict[str, set[int]]) -> None:
    """classify() itself on every pair: what the archive would do at the chosen constants."""
    outcome: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    decided: dict[int, str] = {}
    for n, p in enumerate(pairs):
        old = Candidate(
            n,
            "Corrections",
            p.a,
            url="https://a.example/1",
            source="a",
            content_hashes=frozenset({Article("x", p.a).content_hash}),
        )
        if p.label == "same":  # the article's own URL, same headline
            new = Article("Corrections", p.b, url="https://a.example/1", source="a")
        elif p.label == "different":  # a recurring headline, another story
            new = Article("Corrections", p.b, url="https://b.example/2", source="b")
        else:  # another publication's headline, found only through a shared band key
            new = Article("Another headline", p.b, url="https://b.example/2", source="b")
            if not keys[p.a] & keys[p.b]:
                outcome[(p.label, p.kind)]["not found"] += 1
                decided[id(p)] = "not found"
                continue
        decided[id(p)] = classify(new, [old]).kind
        outcome[(p.label, p.kind)][decided[id(p)]] += 1
        if p.label == "different" and keys[p.a] & keys[p.b]:  # the same two under two headlines
            linked = classify(Article("Another headline", p.b, url="https://b.example/2"), [old]).kind
            outcome[("different", "under two headlines")][linked] += 1
    print(
        f"\n## At the chosen constants (SAME_STORY={SAME_STORY}, WIRE_COPY={WIRE_COPY}, "
        f"MIN_SHINGLES={MIN_SHINGLES}): classify() on every pair\n"
    )
    print("| label | kind | pairs | outcomes |")
    print("|---|---|---|---|")
    for (label, kind), c in sorted(outcome.items()):
        print(f"| {label} | {kind} | {sum(c.values())} | {', '.join(f'{k} {v}' for k, v in c.most_common())} |")
    for label, want in (("same", "edit"), ("different", "new"), ("copy", "new_in_cluster")):
        for size, group in (
            ("long", [p for p in pairs if p.label == label and _long(p)]),
            ("short", [p for p in pairs if p.label == label and not _long(p)]),
        ):
            hits = sum(decided[id(p)] == want for p in group)
            print(f"{label} ({size}, {len(group)} pairs): {hits} {want} ({hits / max(1, len(group)):.3f})")


def sizes_table(pairs: list[labelled.Pair]) -> None:
    print("\n## Shingle size (bodies of MIN_SHINGLES+ shingles)\n")
    print("| tokens per shingle | highest distinct pair | edits >= SAME_STORY | copies >= WIRE_COPY |")
    print("|---|---|---|---|")
    longs = [p for p in pairs if _long(p)]
    for k in (3, 4, 5):
        s = {id(p): similarity.similarity(sets(p.a, k), sets(p.b, k)) for p in longs}
        diff = max(s[id(p)] for p in longs if p.label == "different")
        same = [s[id(p)] >= SAME_STORY for p in longs if p.label == "same"]
        copy = [s[id(p)] >= WIRE_COPY for p in longs if p.label == "copy"]
        print(f"| {k} | {diff:.3f} | {np.mean(same):.3f} | {np.mean(copy):.3f} |")
    print("\n## Distinct stories by the size of the smaller body (why MIN_SHINGLES)\n")
    print("| shingles of the smaller body | distinct pairs | highest overlap | 99.9th percentile |")
    print("|---|---|---|---|")
    bins = (1, 10, 20, 25, 30, 40, 60, 100, 10**9)
    distinct = [
        (min(sets(p.a).size, sets(p.b).size), similarity.similarity(sets(p.a), sets(p.b)))
        for p in pairs
        if p.label == "different"
    ]
    for lo, hi in zip(bins, bins[1:]):
        v = [s for n, s in distinct if lo <= n < hi]
        if v:
            print(f"| {lo}-{hi - 1 if hi < 10**9 else ''} | {len(v)} | {max(v):.3f} | {np.percentile(v, 99.9):.3f} |")
    print(f"\n## Short bodies (under {MIN_SHINGLES} shingles in either): the rule\n")
    print("| rule | short edits recognised | short distinct stories merged | of them templated notes |")
    print("|---|---|---|---|")
    shorts = [p for p in pairs if p.label in ("same", "different") and not _long(p)]

    def shingled(k: int, t: float):
        return lambda p: similarity.similarity(sets(p.a, k), sets(p.b, k)) >= t

    rules = [
        ("one contains the other whole (chosen)", lambda p: overlap(p.a, p.b) >= 1.0),
        ("identical words", lambda p: np.array_equal(similarity.shingle_hashes(p.a), similarity.shingle_hashes(p.b))),
    ]
    rules += [
        (f"{k}-token shingles >= {t}", shingled(k, t))
        for k, t in ((1, 0.7), (1, 0.9), (2, 0.7), (2, 0.9), (4, SAME_STORY), (4, 0.9))
    ]
    for name, rule in rules:
        hit = [rule(p) for p in shorts]
        same = [h for h, p in zip(hit, shorts) if p.label == "same"]
        merged = [h for h, p in zip(hit, shorts) if p.label == "different"]
        notes = [h for h, p in zip(hit, shorts) if p.kind == "templated notes"]
        print(f"| {name} | {sum(same)}/{len(same)} | {sum(merged)}/{len(merged)} | {sum(notes)}/{len(notes)} |")


def _per_call(fn, *args, rounds: int = 15, budget: float = 0.02) -> float:
    """The best of ``rounds`` timings of ``fn(*args)``, in CPU microseconds per call (the best
    round is the one least disturbed by other processes on a shared machine)."""
    n = max(1, int(budget / max(1e-6, _once(fn, *args))))
    return min(_once(fn, *args, n=n) for _ in range(rounds)) * 1e6


def _once(fn, *args, n: int = 1) -> float:
    start = time.process_time()
    for _ in range(n):
        fn(*args)
    return (time.process_time() - start) / n


def speed(bodies: list[labelled.Body]) -> None:
    from datasketch import MinHash

    similarity.shingle_hashes("warm the character table")
    english = [b.text for b in bodies if len(b.text) > 3000 and sum(c.isascii() for c in b.text) > 0.98 * len(b.text)]
    words = " ".join(english).split()  # news prose, with its typographic quotes and dashes
    print("\n## Cost per article (CPU microseconds, best of 15 rounds)\n")
    print(
        "| body | shingle hashes | MinHash | band keys | total band_keys(body) | shingle set | "
        "datasketch update_batch (sha1) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, n in (("short, 50 words", 50), ("medium, 600 words", 600), ("long, 2000 words", 2000)):
        body = " ".join(words[:n])
        hashes = similarity.shingle_hashes(body)
        sig = similarity.signature(hashes)
        tokens = body.split()
        grams = [" ".join(tokens[i : i + 4]).encode() for i in range(len(tokens) - 3)]

        def reference(grams=grams):
            MinHash(num_perm=similarity.NUM_PERM, seed=similarity.SEED).update_batch(grams)

        print(
            f"| {label} | {_per_call(similarity.shingle_hashes, body):.0f}"
            f" | {_per_call(similarity.signature, hashes):.0f}"
            f" | {_per_call(similarity.bands, sig):.0f} | {_per_call(band_keys, body):.0f}"
            f" | {_per_call(similarity.shingles, body):.0f} | {_per_call(reference):.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    long, feeds = labelled.long_bodies(args.corpus), labelled.feed_bodies(args.corpus)
    pairs = labelled.pairs(long, feeds, args.seed)
    counts = collections.Counter(p.label for p in pairs)
    print(f"# Same story or not: {len(long)} article bodies, {len(feeds)} feed bodies, seed {args.seed}\n")
    print(f"Pairs: {counts['same']} same (edits), {counts['different']} different, {counts['copy']} copies")
    print(
        f"Constants: SHINGLE={similarity.SHINGLE}, NUM_PERM={similarity.NUM_PERM}, BANDS={similarity.BANDS}, "
        f"ROWS={similarity.ROWS}, SAMPLE={similarity.SAMPLE}, SEED={similarity.SEED}, "
        f"MIN_SHINGLES={identity.MIN_SHINGLES}"
    )
    scores = {id(p): overlap(p.a, p.b) for p in pairs if p.label != "copy"}
    keys = {t: set(band_keys(t)) for p in pairs for t in (p.a, p.b)}
    same_headline_table(pairs, scores)
    wire_copy_table(pairs, keys)
    chosen(pairs, keys)
    sizes_table(pairs)
    if not args.skip_speed:
        speed(long)


if __name__ == "__main__":
    main()
