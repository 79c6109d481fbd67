"""Corpus-like inputs for the cluster tests: WARC files and folders of saved pages and text
files, with every same-story case between them (new stories, exact duplicates, edits at the same
URL, copies under the same headline, near-duplicates under other headlines, a recurring
headline over different stories) and a few items that are skipped.

    make(tmp_path / "in") -> [paths to give ``worker backfill``, in order]
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.warc_files import join, page, request, warcinfo

WORDS = (
    "harbour council budget ferry storm school river bridge market police court minister election "
    "hospital train airport farmers village museum library teachers strike flood fire mayor report "
    "water road price housing workers union company coast island mountain forest night morning "
    "summer winter plan vote street station crowd church factory port"
).split()


def body(seed: int, paragraphs: int = 4) -> list[str]:
    """Paragraphs of their own, made from ``seed``."""
    rng = random.Random(seed)
    return [
        " ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 16))).capitalize() + "."
            for _ in range(rng.randint(3, 5))
        )
        for _ in range(paragraphs)
    ]


def html(headline: str, paras: list[str], url: str | None = None, byline: str = "Ana Ruiz") -> bytes:
    canonical = f'<link rel="canonical" href="{url}">' if url else ""
    text = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{headline} | The Harbour Times</title>'
        f'{canonical}<meta property="og:site_name" content="The Harbour Times"></head><body>'
        f'<nav><a href="/">Home</a></nav><article><h1>{headline}</h1><p class="byline">By {byline}</p>'
        f"{text}</article><footer>Copyright The Harbour Times</footer></body></html>"
    ).encode()


def edited(paras: list[str]) -> list[str]:
    """The same story with one sentence added: similar enough to be a revision."""
    return [*paras[:-1], paras[-1] + " The mayor said more would be known by the end of the week."]


def _warc(path: Path, pages: list[tuple[str, bytes]]) -> Path:
    records = [warcinfo()]
    for url, data in pages:
        records += [request(url), page(url, data)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(join(records, gz=True))
    return path


def make(root: Path, stories: int = 24) -> list[Path]:
    """Three WARC files and two folders; returns them in the order to backfill them."""
    base = "https://news.example.org/2024/"
    first = [(f"{base}story-{i}", html(f"Story {i} of the harbour", body(i))) for i in range(stories)]
    # the second crawl: the same pages again, edits at the same URL, copies and near-duplicates
    second = first[: stories // 3]
    second += [(f"{base}story-{i}", html(f"Story {i} of the harbour", edited(body(i)))) for i in range(3, 6)]
    second += [
        (f"https://wire.example.com/copy-{i}", html(f"Story {i} of the harbour", edited(body(i)))) for i in (7, 8)
    ]
    second += [
        (f"https://other.example.net/n-{i}", html(f"Another headline for story {i}", body(i))) for i in (9, 10, 11)
    ]
    third = [(f"{base}corrections-{i}", html("Corrections", body(1000 + i))) for i in range(4)]
    third += [(f"{base}late-{i}", html(f"Late story {i}", body(2000 + i))) for i in range(stories)]
    third += [(f"{base}empty", b"<html><body><p>Nothing here.</p></body></html>")]
    inputs = [
        _warc(root / "crawl-1.warc.gz", first),
        _warc(root / "crawl-2.warc.gz", second),
    ]
    saved = root / "saved"
    saved.mkdir(parents=True)
    for i in range(stories):
        url = f"{base}saved-{i}" if i % 2 else None
        (saved / f"{i:03d}.html").write_bytes(html(f"Saved story {i}", body(3000 + i), url))
    for i in range(0, stories, 4):  # copies of crawled stories, saved from the page
        (saved / f"copy-{i:03d}.html").write_bytes(html(f"Story {i} of the harbour", body(i), f"{base}story-{i}"))
    (saved / "broken.html").write_bytes(b"\x00\x01\x02 not a page")
    inputs.append(saved)
    inputs.append(_warc(root / "crawl-3.warc.gz", third))
    texts = root / "texts"
    texts.mkdir()
    for i in range(stories // 2):
        paras = body(4000 + i)
        (texts / f"{i:03d}.txt").write_text(f"Text story {i}\n\nBy John Smith\n\n" + "\n\n".join(paras) + "\n")
    (texts / "empty.txt").write_text("")
    inputs.append(texts)
    return inputs


def snapshot(db: Path, sightings: bool = True) -> dict[str, list[tuple]]:
    """What two archives of the same inputs must share: articles (ids, headline hashes, texts,
    versions, clusters), every version, the checkpoints and what each input produced, and (unless
    ``sightings`` is False: a re-run adds sightings of what it passes over) every sighting."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        queries = {
            "articles": "SELECT id, headline_hash, content_hash, url, version, version_count, cluster FROM articles",
            "versions": "SELECT article_id, version, reason, content_hash, url, headline FROM versions",
            "fetch_state": "SELECT source, key, value FROM fetch_state WHERE key NOT LIKE 'shard:%'",
            "produced": "SELECT source, key, article_id FROM produced",
        }
        if sightings:
            queries["sightings"] = "SELECT article_id, version, headline_hash, url, content_hash FROM sightings"
        return {name: sorted(conn.execute(sql).fetchall()) for name, sql in queries.items()}
    finally:
        conn.close()
