"""Every distinct article and every revision kept, end to end through the CLI on a real archive:
recurring headlines, edits, edited headlines, wire copies in two feeds, near-duplicates under
other headlines, publication suffixes, export, history, search over every version."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

WORDS = (
    "harbour council budget ferry storm school river bridge market police court minister election "
    "hospital train airport farmers village museum library teachers strike flood fire mayor report "
    "water road price housing workers union company village coast island mountain forest"
).split()


def story(seed: int, sentences: int = 8) -> str:
    """A body of its own: ``sentences`` sentences of words chosen by ``seed``."""
    rng = random.Random(seed)
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(9, 14))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out[:4]) + "\n\n" + " ".join(out[4:])


def jsonl(path: Path, *records: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def backfill(db: Path, *paths: Path, name: str = "backfill") -> str:
    r = run_cli("--archive", str(db), "backfill", "--name", name, *map(str, paths))
    assert r.returncode == 0, r.stderr
    return r.stdout


def query(db: Path, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def export(db: Path, *args: str) -> list[dict]:
    r = run_cli("--archive", str(db), "export", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


CORRECTION_1 = {
    "headline": "Corrections",
    "url": "https://paper.example/c/1",
    "published_at": "2024-03-01",
    "body": story(1),
}
CORRECTION_2 = {
    "headline": "Corrections",
    "url": "https://paper.example/c/2",
    "published_at": "2024-03-08",
    "body": story(2),
}


def test_a_recurring_headline_keeps_every_story_also_within_one_batch_and_on_a_rerun(tmp_path):
    db = tmp_path / "a.db"
    one = jsonl(tmp_path / "one" / "a.jsonl", CORRECTION_1)
    two = jsonl(tmp_path / "two" / "b.jsonl", CORRECTION_2)
    assert "1 new" in backfill(db, one) and "1 new" in backfill(db, two)
    both = jsonl(
        tmp_path / "both" / "c.jsonl",
        {**CORRECTION_1, "url": "https://paper.example/c/3", "body": story(3)},
        {**CORRECTION_1, "body": story(4), "url": "https://paper.example/c/4"},
    )
    assert "2 new" in backfill(db, both)  # two more in one file (one batch)
    out = backfill(db, one, two, both)  # again: nothing new, each found as itself
    assert " 0 new, 0 revised" in out
    rows = export(db)
    assert [r["headline"] for r in rows] == ["Corrections"] * 4
    assert len({r["id"] for r in rows}) == 4 and all(r["version_count"] == 1 for r in rows)
    assert [r["body"] for r in rows] == [story(1), story(2), story(3), story(4)]
    phrase = '"' + story(2).split(".")[0] + '"'
    hits = run_cli("--archive", str(db), "search", "--raw", phrase, "--json").stdout.splitlines()
    assert [json.loads(h)["id"] for h in hits] == [rows[1]["id"]]


def test_an_edit_is_a_new_version_and_search_finds_the_latest_words(tmp_path):
    db = tmp_path / "a.db"
    first = {
        "headline": "Harbour bridge to close for repairs",
        "url": "https://paper.example/bridge",
        "body": story(10) + " The zebra crossing stays open.",
    }
    backfill(db, jsonl(tmp_path / "v1" / "a.jsonl", first))
    edited = {**first, "body": story(10) + " The giraffe crossing stays open.\n\nThe mayor added a new paragraph."}
    out = backfill(db, jsonl(tmp_path / "v2" / "a.jsonl", edited))
    assert "0 new, 1 revised" in out
    (article,) = export(db)
    assert article["body"] == edited["body"] and article["version_count"] == 2 and article["version"] == 2
    versions = export(db, "--versions")
    assert [(v["id"], v["version"], v["reason"]) for v in versions] == [
        (article["id"], 1, "first"),
        (article["id"], 2, "edit"),
    ]
    assert versions[0]["body"] == first["body"] and versions[1]["content_hash"] == article["content_hash"]
    assert set(versions[0]) >= {
        "id",
        "version",
        "reason",
        "headline",
        "body",
        "content_hash",
        "seen_at",
        "source",
        "url",
    }
    search = run_cli("--archive", str(db), "search", "giraffe", "--json")
    assert json.loads(search.stdout)["id"] == article["id"]
    assert run_cli("--archive", str(db), "search", "zebra").stdout.strip() == "no matches"
    old = run_cli("--archive", str(db), "search", "zebra", "--all-versions", "--json")
    hit = json.loads(old.stdout)
    assert (hit["id"], hit["version"]) == (article["id"], 1) and "[zebra]" in hit["snippet"]
    history = run_cli("--archive", str(db), "history", str(article["id"]))
    assert history.returncode == 0
    text = history.stdout
    assert "version 1  first" in text and "version 2  edit" in text and "(shown)" in text
    assert "- " in text and "zebra" in text and "+ " in text and "giraffe" in text
    assert run_cli("--archive", str(db), "history", "999").returncode == 1


def test_an_edited_headline_at_the_same_url_is_a_revision(tmp_path):
    db = tmp_path / "a.db"
    first = {"headline": "Storm closes the island ferry", "url": "https://paper.example/ferry", "body": story(20)}
    backfill(db, jsonl(tmp_path / "v1" / "a.jsonl", first))
    second = {
        **first,
        "headline": "Storm closes the island ferry, officials say",
        "body": story(20) + " Officials confirmed it.",
    }
    assert "0 new, 1 revised" in backfill(db, jsonl(tmp_path / "v2" / "a.jsonl", second))
    (article,) = export(db)
    assert article["headline"] == second["headline"] and article["version_count"] == 2
    # found again under its new headline
    assert " 0 new, 0 revised, 1 duplicates" in backfill(db, jsonl(tmp_path / "v3" / "a.jsonl", second))


def test_a_wire_story_in_two_feeds_is_one_article_with_a_copy_and_never_flip_flops(tmp_path):
    db = tmp_path / "a.db"
    wire = {
        "headline": "Ministers agree on river clean-up plan",
        "url": "https://wire.example/river",
        "body": story(30),
        "publication": "Example Wire",
    }
    paper = {
        **wire,
        "url": "https://paper.example/river",
        "publication": "The Paper",
        "body": story(30) + "\n\nThis story was provided by Example Wire.",
    }
    backfill(db, jsonl(tmp_path / "wire" / "w.jsonl", wire), name="wire")
    assert "0 new, 1 revised" in backfill(db, jsonl(tmp_path / "paper" / "p.jsonl", paper), name="paper")
    (article,) = export(db)
    assert article["body"] == wire["body"] and article["url"] == wire["url"]  # the copy does not replace the text
    versions = export(db, "--versions")
    assert [(v["reason"], v["source"], v["url"]) for v in versions] == [
        ("first", "wire", wire["url"]),
        ("copy", "paper", paper["url"]),
    ]
    for _ in range(2):  # both feeds again, in turn: sightings only
        out = backfill(db, tmp_path / "wire" / "w.jsonl", tmp_path / "paper" / "p.jsonl")
        assert " 0 new, 0 revised" in out
    backfill(db, jsonl(tmp_path / "again" / "w.jsonl", {**wire, "body": wire["body"] + " "}), name="wire")
    assert len(export(db, "--versions")) == 2
    assert query(db, "SELECT count(*) FROM sightings")[0][0] == 7


def test_a_wire_story_under_four_headlines_is_four_articles_in_one_cluster(tmp_path):
    db = tmp_path / "a.db"
    body = story(40, sentences=10)
    papers = [
        ("Flood defences approved for the coast", body),
        ("Coast to get new flood defences", "By our correspondent.\n\n" + body),
        ("Council backs coastal flood wall", body + "\n\nCopyright 2024 Example Wire."),
        ("New wall will protect coastal towns", body.replace("\n\n", "\n\nAdvertisement\n\n")),
    ]
    records = [
        {"headline": h, "body": b, "url": f"https://p{i}.example/flood", "publication": f"Paper {i}"}
        for i, (h, b) in enumerate(papers)
    ]
    unrelated = {
        "headline": "School term starts early",
        "body": story(41, sentences=10),
        "url": "https://p9.example/school",
    }
    backfill(db, jsonl(tmp_path / "in" / "a.jsonl", *records, unrelated))
    rows = export(db)
    assert len(rows) == 5
    clusters = {r["headline"]: r["cluster"] for r in rows}
    assert len({clusters[h] for h, _ in papers}) == 1 and clusters[papers[0][0]] is not None
    assert clusters["School term starts early"] is None  # unrelated: never linked
    (largest,) = query(db, "SELECT cluster, count(*) FROM articles WHERE cluster IS NOT NULL GROUP BY cluster")
    assert largest[1] == 4


def test_a_publication_suffix_does_not_make_a_second_article(tmp_path):
    db = tmp_path / "a.db"
    plain = {
        "headline": "Train drivers to strike on Monday",
        "publication": "Reuters",
        "body": story(50),
        "url": "https://reuters.example/strike",
    }
    suffixed = {**plain, "headline": "Train drivers to strike on Monday - Reuters"}
    backfill(db, jsonl(tmp_path / "a" / "a.jsonl", plain))
    assert " 0 new, 0 revised, 1 duplicates" in backfill(db, jsonl(tmp_path / "b" / "b.jsonl", suffixed))
    # punctuation is not meaning: "to 4%" and "to 4" share a headline hash, and their bodies decide
    backfill(
        db,
        jsonl(
            tmp_path / "c" / "c.jsonl",
            {"headline": "Inflation falls to 4%", "body": story(51), "url": "https://x.example/1"},
            {"headline": "Inflation falls to 4", "body": story(52), "url": "https://x.example/2"},
        ),
    )
    assert len(export(db)) == 3


def test_concurrent_writers_keep_every_story_once(tmp_path):
    db = tmp_path / "a.db"
    records = [
        {"headline": "Letters to the editor", "body": story(60 + i), "url": f"https://p.example/l/{i}"}
        for i in range(40)
    ]
    inputs = [jsonl(tmp_path / f"in{k}" / "l.jsonl", *records[k::2], *records) for k in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "worker", "--archive", str(db), "backfill", "--name", f"w{k}", str(inputs[k])],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for k in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    rows = export(db)
    assert sorted(r["body"] for r in rows) == sorted(r["body"] for r in records)
    assert all(r["version_count"] == 1 for r in rows)


@pytest.mark.parametrize("fmt", ["csv"])
def test_csv_export_has_the_ids_versions_and_clusters(tmp_path, fmt):
    import csv
    import io

    db = tmp_path / "a.db"
    backfill(db, jsonl(tmp_path / "in" / "a.jsonl", CORRECTION_1, CORRECTION_2))
    r = run_cli("--archive", str(db), "export", "--format", fmt)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert {"id", "headline", "body", "url", "version_count", "cluster"} <= set(rows[0])
    r = run_cli("--archive", str(db), "export", "--format", fmt, "--versions")
    versions = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [v["reason"] for v in versions] == ["first", "first"] and versions[0]["id"] == rows[0]["id"]


def test_each_body_under_a_recurring_headline_is_shingled_once(tmp_path, monkeypatch):
    """Every new "Corrections" is compared with the earlier ones (up to 50): the writer keeps
    the shingles it made, so each body is shingled once, within a batch and across runs."""
    from worker import similarity
    from worker.archive import Archive
    from worker.kinds import make_source
    from worker.pipeline import ingest

    made: list[str] = []
    real = similarity.shingle_hashes
    monkeypatch.setattr(similarity, "shingle_hashes", lambda text, size: made.append(text) or real(text, size))
    notes = [{**CORRECTION_1, "url": f"https://paper.example/c/{i}", "body": story(100 + i)} for i in range(12)]
    with Archive(tmp_path / "a.db") as archive:
        for part, records in enumerate((notes[:8], notes[8:])):
            f = jsonl(tmp_path / f"in{part}" / "c.jsonl", *records)
            result = ingest(make_source(name="paper", kind="files", path=str(f)), archive)
            assert (result.status, result.new) == ("ok", len(records))
        assert archive.db.execute("SELECT count(*) FROM articles WHERE headline = 'Corrections'").fetchone() == (12,)
    assert sorted(made) == sorted(n["body"] for n in notes)


def test_a_url_shared_by_many_articles_compares_only_its_newest_and_still_finds_an_edit(tmp_path):
    """A site whose every page names one canonical URL (or a live page's URL) holds many distinct
    articles at it: a new one is compared with the newest ``MAX_SAME_URL`` of them, not all, and an
    edited headline of the newest is still its revision."""
    from worker.archive import Archive
    from worker.archive.identify import MAX_SAME_URL, Probe
    from worker.kinds import make_source
    from worker.models import Article
    from worker.pipeline import ingest

    url = "https://paper.example/"
    pages = [{"headline": f"Story number {i}", "url": url, "body": story(300 + i)} for i in range(MAX_SAME_URL + 5)]
    edited = {
        "headline": f"Story number {len(pages) - 1}, officials say",
        "url": url,
        "body": pages[-1]["body"] + " More.",
    }
    with Archive(tmp_path / "a.db") as archive:
        f = jsonl(tmp_path / "in0" / "a.jsonl", *pages)
        assert ingest(make_source(name="paper", kind="files", path=str(f)), archive).new == len(pages)
        ids = [aid for (aid,) in archive.db.execute("SELECT id FROM articles ORDER BY id")]
        probe = Probe(archive.db, [Article("Another story", story(999), url=url)])
        assert probe.candidate_ids(Article("Another story", story(999), url=url)) == ids[::-1][:MAX_SAME_URL]
        f = jsonl(tmp_path / "in1" / "a.jsonl", edited)
        result = ingest(make_source(name="paper", kind="files", path=str(f)), archive)
        assert (result.new, result.revisions) == (0, 1)
        assert archive.db.execute("SELECT headline, version FROM articles WHERE id = ?", [ids[-1]]).fetchone() == (
            edited["headline"],
            2,
        )
