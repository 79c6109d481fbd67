"""What `every: auto` and the floors make of real feeds: the development corpus's feeds, each read
as if the archive had carried its items and the time were just after its newest item.

    python benchmarks/polling.py

One line per feed: its items, those with a time of publication, their span, the rate
`every: auto` sees and the interval it chooses (min_every 5m, max_every 24h), the floor the
feed asks for (<ttl>, sy:updatePeriod), and the interval a source with `every: auto` runs at.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from worker import polling  # noqa: E402
from worker.checks import format_duration  # noqa: E402
from worker.fetchers.feed import read_feed  # noqa: E402
from worker.models import RawItem  # noqa: E402
from worker.text.dates import utc_instant  # noqa: E402

FEEDS = ROOT.parent / "shared" / "corpus" / "feeds"


def main() -> int:
    if not FEEDS.is_dir():
        print(f"development corpus not found at {FEEDS}")
        return 1
    rows = [("feed", "items", "dated", "span", "auto", "why", "floor", "runs at")]
    for path in sorted(FEEDS.glob("*.xml")):
        items, _, hints = read_feed(path.read_bytes(), f"https://feeds.example/{path.name}")
        published = [utc_instant(i.hints.published_at) for i in items if isinstance(i, RawItem)]
        dated = [datetime.fromisoformat(p) for p in published if p and len(p) > 10]
        now = max(dated) + timedelta(minutes=1) if dated else datetime.now(UTC)
        observed = polling.observed_from([(p, now.isoformat()) for p in published], now)  # first seen now
        interval, why = polling.auto_interval(observed, polling.MIN_EVERY, polling.MAX_EVERY, now)
        floor = polling.floor_of(hints)
        runs_at = polling.with_floor(interval, why, floor, polling.MAX_EVERY)[0]
        span = format_duration((max(dated) - min(dated)).total_seconds()) if len(dated) > 1 else "-"
        rows.append(
            (
                path.stem[:34],
                str(len(items)),
                str(len(dated)),
                span,
                format_duration(interval),
                why.removeprefix("auto: "),
                f"{format_duration(floor[0])} ({floor[1]})" if floor else "-",
                format_duration(runs_at),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
