"""An archive of many articles that all hold one word (more than search's window), stored one by
one with ids 1, 2, ...: what the window of the newest matches is tested on."""

from __future__ import annotations

import random
from pathlib import Path

from worker.archive import Archive
from worker.archive.schema import COLUMN_NAMES
from worker.search import WINDOW

MANY = WINDOW + 1000


def source_of(article_id: int) -> str:
    """Every thousandth article is from a rare source, the others alternate."""
    return "rare" if article_id % 1000 == 0 else "even" if article_id % 2 == 0 else "odd"


def many_articles(path: Path) -> Path:
    """``MANY`` articles that all hold the word 'alpha'."""
    rnd = random.Random(7)
    rows = []
    for i in range(MANY):
        row = dict.fromkeys(COLUMN_NAMES)
        row.update(
            headline_hash=f"h{i}",
            headline=f"Story {i} alpha",
            source=source_of(i + 1),
            first_seen_at=f"2024-01-01T00:00:{i % 60:02d}Z",
            body=" ".join(rnd.choice(["alpha", "river", "town", "vote"]) for _ in range(40)),
        )
        rows.append([row[c] for c in COLUMN_NAMES])
    with Archive(path) as archive, archive.db.conn:
        names = ", ".join(COLUMN_NAMES)
        archive.db.conn.executemany(
            f"INSERT INTO articles ({names}) VALUES ({', '.join('?' * len(COLUMN_NAMES))})", rows
        )
    return path
