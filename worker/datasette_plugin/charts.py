"""The activity page's charts: articles per day by source, failed runs per day.

Each chart is a small inline SVG drawn here (bars per day, stacked by series, a legend, each bar
titled with its numbers for a tooltip), so the page needs nothing from the network and works
offline. ``read`` gathers the numbers (pure reads), ``bars`` draws them (pure).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

# Okabe-Ito: told apart with any colour vision; the last colour is for "other"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999")
TOP_SOURCES = len(PALETTE) - 1
FAILED = "#B2182B"
WHEN = "coalesce(published_utc, first_seen_at)"  # what idx_articles_utc_or_seen indexes
DAY = f"substr({WHEN}, 1, 10)"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]  # one per day
    colour: str | None = None  # None: the palette's, by the series' place


@dataclass(frozen=True)
class Activity:
    days: tuple[str, ...]  # ISO dates, oldest first
    articles: tuple[Series, ...]  # per source (the busiest, then "other")
    failures: tuple[Series, ...]  # failed runs


def read(conn: sqlite3.Connection, days: int, today: date) -> Activity:
    """The last ``days`` days up to the latest day with articles or runs (``today`` at most):
    articles by day of publication (first seen when unknown) and source, runs that failed by
    the day they started."""
    latest = conn.execute(
        f"SELECT max(day) FROM (SELECT max({WHEN}) AS day FROM articles WHERE {WHEN} < ? "
        "UNION ALL SELECT max(started_at) FROM runs WHERE status = 'error' AND started_at < ?)",
        [(today + timedelta(days=1)).isoformat()] * 2,
    ).fetchone()[0]
    end = date.fromisoformat(latest[:10]) if latest else today
    span = [(end - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    start, stop = span[0], (end + timedelta(days=1)).isoformat()
    counts: dict[str, dict[str, int]] = {}
    for day, source, n in conn.execute(
        f"SELECT {DAY} AS day, source, count(*) FROM articles WHERE {WHEN} >= ? AND {WHEN} < ? GROUP BY day, source",
        [start, stop],
    ):
        counts.setdefault(source or "(none)", {})[day] = n
    failed = dict(
        conn.execute(
            "SELECT substr(started_at, 1, 10) AS day, count(*) FROM runs "
            "WHERE status = 'error' AND started_at >= ? AND started_at < ? GROUP BY day",
            [start, stop],
        ).fetchall()
    )
    failures = Series("failed runs", tuple(failed.get(d, 0) for d in span), FAILED)
    return Activity(tuple(span), _by_source(counts, span), (failures,))


def _by_source(counts: dict[str, dict[str, int]], span: list[str]) -> tuple[Series, ...]:
    """The busiest sources, each its own series; the rest summed as "other"."""
    ranked = sorted(counts, key=lambda s: (-sum(counts[s].values()), s))
    series = [Series(s, tuple(counts[s].get(d, 0) for d in span)) for s in ranked[:TOP_SOURCES]]
    rest = ranked[TOP_SOURCES:]
    if rest:
        series.append(Series("other", tuple(sum(counts[s].get(d, 0) for s in rest) for d in span)))
    return tuple(series)


def bars(days: tuple[str, ...], series: tuple[Series, ...], *, title: str, height: int = 220) -> Markup:
    """Bars per day, stacked by series, as inline SVG with a legend."""
    width, left, bottom, top = 920, 44, 28, 12
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    peak = max([*totals, 1])
    step = (width - left - 8) / max(len(days), 1)
    scale = (height - bottom - top) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24 * ((len(series) + 3) // 4)}" '
        f'role="img" aria-label="{escape(title)}" class="worker-chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="12">{peak:,}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" font-size="12">0</text>',
    ]
    for i, day in enumerate(days):
        y = float(height - bottom)
        for k, s in enumerate(series):
            if (n := s.values[i]) == 0:
                continue
            h = n * scale
            y -= h
            parts.append(
                f'<rect x="{left + i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{_colour(k, s)}"><title>{escape(day)}: {escape(s.name)} {n:,}</title></rect>'
            )
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else ():
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        x = left + (i + (0 if i == 0 else 1 if i == len(days) - 1 else 0.5)) * step
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="{anchor}" font-size="12">{days[i]}</text>')
    for k, s in enumerate(series):
        x, y = left + (k % 4) * 220, height + 8 + 24 * (k // 4)
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{_colour(k, s)}"/>')
        parts.append(f'<text x="{x + 18}" y="{y + 11}" font-size="13">{escape(s.name)} ({sum(s.values):,})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _colour(k: int, s: Series) -> str:
    return s.colour or (PALETTE[-1] if s.name == "other" else PALETTE[k % TOP_SOURCES])
