"""The pure parts of the plugin's pages: what an article page reads from the archive, the dates as
they read, the activity charts' numbers and their SVG."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.test_revisions import story
from worker.archive import Archive
from worker.datasette_plugin import article, charts
from worker.kinds import make_source
from worker.pipeline import ingest


@pytest.mark.parametrize(
    "value, readable",
    [
        ("2021-07-07T10:15:00-04:00", "7 July 2021, 10:15 (UTC-04:00)"),
        ("2021-07-07T10:15:00Z", "7 July 2021, 10:15 (UTC)"),
        ("2021-07-07", "7 July 2021"),
        ("2021-07-07T10:15:00", "7 July 2021, 10:15"),
        ("sometime in May", "sometime in May"),
        (None, None),
    ],
)
def test_readable_date(value, readable):
    assert article.readable_date(value) == readable


def test_an_article_page_reads_its_versions_sightings_and_cluster(tmp_path):
    body = story(3)
    records = [
        [{"headline": "Bridge to close", "url": "https://p.example/b", "body": body, "published_at": "2024-03-01"}],
        [{"headline": "Bridge to close", "url": "https://p.example/b", "body": body + " It reopens in May."}],
        [{"headline": "Crossing shut for works", "url": "https://q.example/c", "body": body + " It reopens in May."}],
    ]
    with Archive(tmp_path / "a.db") as archive:
        for i, batch in enumerate(records):
            f = tmp_path / f"in{i}.jsonl"
            f.write_text("".join(json.dumps(r) + "\n" for r in batch))
            ingest(make_source(name=f"s{i}", kind="files", path=str(f)), archive)
        conn = archive.db.conn
        page = article.read(conn, 1)
        assert article.read(conn, 999) is None
    assert page is not None
    assert page.article["headline"] == "Bridge to close" and page.date == "1 March 2024"
    assert page.paragraphs == tuple(p for p in (body + " It reopens in May.").split("\n\n"))
    assert [(v.version, v.reason, v.shown) for v in page.versions] == [(1, "first", False), (2, "edit", True)]
    assert page.versions[0].lines == ()
    assert any(kind == "add" and "It reopens in May." in text for kind, text in page.versions[1].lines)
    assert [s["source"] for s in page.sightings] == ["s0", "s1"]
    assert [c["headline"] for c in page.cluster] == ["Crossing shut for works"]


def test_activity_numbers_by_day_and_source(tmp_path):
    with Archive(tmp_path / "a.db") as archive, archive.transaction() as db:
        rows = [(f"2024-03-0{d}", f"src{s}") for d in (1, 2, 3) for s in range(d * 4)]  # 4, 8, 12 a day
        for i, (day, source) in enumerate(rows):
            db.execute(
                "INSERT INTO articles (headline_hash, headline, body, first_seen_at, published_utc, source) "
                "VALUES (?, ?, 'text', '2024-04-01T00:00:00Z', ?, ?)",
                [f"h{i}", f"story {i}", f"{day}T08:00:00Z", source],
            )
        db.execute("INSERT INTO runs (source, started_at, status) VALUES ('s', '2024-03-02T05:00:00Z', 'error')")
        activity = charts.read(db.conn, 3, date(2024, 5, 1))
    assert activity.days == ("2024-03-01", "2024-03-02", "2024-03-03")  # up to the latest day with data
    assert [s.name for s in activity.articles] == [f"src{i}" for i in range(charts.TOP_SOURCES)] + ["other"]
    assert activity.articles[-1].name == "other" and activity.articles[-1].values == (0, 0, 4)
    assert [sum(s.values[i] for s in activity.articles) for i in range(3)] == [4, 8, 12]
    assert activity.failures[0].values == (0, 1, 0)


def test_bars_are_inline_svg_with_escaped_names():
    svg = charts.bars(("2024-03-01", "2024-03-02"), (charts.Series("<b>wire</b>", (2, 3)),), title="Articles & runs")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "&lt;b&gt;wire&lt;/b&gt; (5)" in svg and "<b>" not in svg and "Articles &amp; runs" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert svg.count("<rect") == 3  # two bars and the legend's swatch
