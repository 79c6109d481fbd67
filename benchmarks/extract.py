"""Extraction benchmark: worker.clean.html beside trafilatura and readability-lxml.

Usage (from the project root):
    python benchmarks/extract.py [--corpus ../shared/corpus/pages] [--only worker] [--details]

Columns:
  body P/R/F1   newspaper4k pages with a full expected body (4-gram shingles, per-page averages)
  start R       goose3 pages: recall of the shingles of the known body start
  with/without  trafilatura-cache snippets: share of `with` found, share of `without` absent
  home          newspaper4k home pages correctly answered with "no article"
  headline, byline, date   hits / pages that give one (trafilatura-cache, goose3 titles)
  ms            median milliseconds per page (bytes in, text and metadata out)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scoring  # noqa: E402


@dataclass
class Result:
    body: str | None
    headline: str | None = None
    byline: str | None = None
    date: str | None = None
    dateline: str | None = None  # kept apart from the body (the worker's ``dateline`` field)


def run_worker(data: bytes, url: str | None) -> Result:
    from worker.clean.html import clean_html

    art = clean_html(data, url)
    if art is None:
        return Result(None)
    return Result(art.body, art.headline, art.byline, art.published_at, art.dateline)


def run_trafilatura(data: bytes, url: str | None) -> Result:
    import trafilatura

    doc = trafilatura.bare_extraction(data, url=url, include_comments=False, with_metadata=True)
    if doc is None:
        return Result(None)
    get = doc.get if isinstance(doc, dict) else lambda k: getattr(doc, k, None)
    return Result(get("text"), get("title"), get("author"), get("date"))


def run_readability(data: bytes, url: str | None) -> Result:
    import lxml.html
    from readability import Document

    doc = Document(data, url=url)
    summary = doc.summary(html_partial=True)
    tree = lxml.html.fragment_fromstring(summary, create_parent="div")
    blocks = []
    for el in tree.iter("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote", "td"):
        text = " ".join(el.text_content().split())
        if text:
            blocks.append(text)
    body = "\n\n".join(blocks) or " ".join(tree.text_content().split())
    return Result(body or None, doc.short_title())


EXTRACTORS = {"worker": run_worker, "trafilatura": run_trafilatura, "readability": run_readability}


def available(name: str) -> bool:
    try:
        __import__({"worker": "worker.clean.html", "readability": "readability"}.get(name, name))
    except ImportError:
        return False
    return True


def evaluate(name: str, pages: list[scoring.Page], details: bool = False) -> dict:
    fn = EXTRACTORS[name]
    counts, starts, times = [], [], []
    w_found = w_total = wo_absent = wo_total = home_ok = home_total = 0
    meta = {"headline": [0, 0], "byline": [0, 0], "date": [0, 0]}
    for page in pages:
        data = page.path.read_bytes()
        t0 = time.perf_counter()
        try:
            res = fn(data, page.url)
        except Exception as exc:  # an extractor's crash counts as an empty answer
            res = Result(None)
            print(f"  {name} failed on {page.name}: {exc!r}", file=sys.stderr)
        times.append((time.perf_counter() - t0) * 1000)
        line = ""
        if not page.is_article:
            home_total += 1
            home_ok += not res.body
            line = f"home {'ok' if not res.body else 'WRONG'}"
        elif page.body is not None:
            c = scoring.shingle_counts(scoring.without_dateline(page.body, res.dateline), res.body)
            counts.append(c)
            line = "P={:.3f} R={:.3f}".format(*scoring.prf([c])[:2])
        elif page.body_start is not None:
            start = scoring.without_dateline(page.body_start, res.dateline) or ""
            starts.append(scoring.start_recall(start, res.body))
            line = f"startR={starts[-1]:.3f}"
        if page.with_ or page.without:
            f, a = scoring.snippet_hits(res.body, page.with_, page.without)
            w_found, w_total = w_found + f, w_total + len(page.with_)
            wo_absent, wo_total = wo_absent + a, wo_total + len(page.without)
            line = f"with {f}/{len(page.with_)} without {a}/{len(page.without)}"
        for key, exp, got, ok in (
            ("headline", page.title, res.headline, scoring.headline_ok),
            ("byline", page.author, res.byline, scoring.byline_ok),
            ("date", page.date, res.date, scoring.date_ok),
        ):
            if exp:
                hit = ok(exp, got)
                meta[key][0] += hit
                meta[key][1] += 1
                if not hit:
                    line += f"\n      {key}: expected {exp!r} got {got!r}"
        if details:
            print(f"  {page.group:17} {page.name:45} {times[-1]:6.1f}ms {line}")
    p, r, f1 = scoring.prf(counts)
    return {
        "P": p,
        "R": r,
        "F1": f1,
        "startR": statistics.mean(starts) if starts else 0.0,
        "with": w_found / w_total if w_total else 0.0,
        "without": wo_absent / wo_total if wo_total else 0.0,
        "home": f"{home_ok}/{home_total}",
        **{k: f"{v[0]}/{v[1]}" for k, v in meta.items()},
        "ms": statistics.median(times) if times else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "pages")
    ap.add_argument("--only", action="append", choices=sorted(EXTRACTORS))
    ap.add_argument("--details", action="store_true", help="per-page lines for each extractor")
    args = ap.parse_args(argv)
    pages = scoring.load_corpus(args.corpus)
    if not pages:
        print(f"no pages under {args.corpus}", file=sys.stderr)
        return 2
    names = [n for n in (args.only or EXTRACTORS) if available(n)]
    rows = []
    for name in names:
        if args.details:
            print(name)
        rows.append((name, evaluate(name, pages, args.details)))
    n_body = sum(1 for p in pages if p.body is not None)
    n_start = sum(1 for p in pages if p.body_start)
    n_with, n_without = sum(len(p.with_) for p in pages), sum(len(p.without) for p in pages)
    print(
        f"\n{len(pages)} pages: body P/R/F1 on {n_body} full bodies (newspaper4k), startR on {n_start} body "
        f"starts (goose3), with/without on {n_with}/{n_without} snippets (trafilatura-cache)\n"
    )
    head = (
        f"{'extractor':12} {'P':>6} {'R':>6} {'F1':>6} {'startR':>7} {'with':>6} {'without':>8} "
        f"{'home':>5} {'headline':>9} {'byline':>7} {'date':>6} {'ms':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, m in rows:
        print(
            f"{name:12} {m['P']:6.3f} {m['R']:6.3f} {m['F1']:6.3f} {m['startR']:7.3f} {m['with']:6.3f} "
            f"{m['without']:8.3f} {m['home']:>5} {m['headline']:>9} {m['byline']:>7} {m['date']:>6} "
            f"{m['ms']:7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
