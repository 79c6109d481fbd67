"""`worker export`: JSON Lines and CSV, the search filters, an optional query, streaming."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from tests.query_archive import ROOT, build_archive
from worker.archive import Archive
from worker.export import COLUMNS, rows, write
from worker.search import Filters


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("export") / "archive.db")


def export(archive_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "worker", "--archive", str(archive_path), "export", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_jsonl_everything(archive_path):
    out = export(archive_path)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == 7
    assert list(records[0]) == list(COLUMNS)
    assert records[0]["headline"] == "Fighters enter Qala-e-Naw as the provincial capital comes under siege"
    assert "Badghis" in records[0]["body"]


def test_csv_with_query_and_filters_to_a_file(archive_path, tmp_path):
    target = tmp_path / "out.csv"
    out = export(
        archive_path,
        "Qala-e-Naw",
        "--format",
        "csv",
        "--source",
        "wire",
        "--since",
        "2021-07-01",
        "--until",
        "2021-07-31",
        "--lang",
        "en",
        "--output",
        str(target),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert "1 article(s)" in out.stderr
    table = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
    assert [r["url"] for r in table] == ["https://wire.example/qala-e-naw-siege"]
    assert "\n\n" in table[0]["body"]  # multi-line bodies survive CSV quoting


def test_filters_without_query(archive_path):
    out = export(archive_path, "--lang", "de")
    assert [json.loads(line)["headline"] for line in out.stdout.splitlines()] == ["Neue Brücke über den Fluss eröffnet"]
    out = export(archive_path, "--source", "local", "--limit", "2")
    assert len(out.stdout.splitlines()) == 2


def test_bad_queries_are_clear(archive_path):
    out = export(archive_path, "NEAR(", "--raw")
    assert out.returncode == 1 and out.stderr.startswith("Error: not a valid FTS5 query")
    out = export(archive_path, '"')
    assert out.returncode == 1 and "nothing to search for" in out.stderr
    assert "Traceback" not in out.stderr


def test_rows_stream(archive_path):
    """rows() is a generator over one cursor: taking one row reads no more than that."""
    with Archive(archive_path, readonly=True) as archive:
        it = rows(archive.db.conn, None, filters=Filters())
        assert next(it)["headline"].startswith("Fighters enter")
        buf = io.StringIO()
        assert write(buf, "jsonl", it) == 6


def test_until_the_last_day_there_is(archive_path):
    out = export(archive_path, "--until", "9999-12-31")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 7


FORMULAS = [
    '=HYPERLINK("http://evil.example/x","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tleading tab",
    "\rleading return",
]


def test_csv_neutralises_formulas_and_jsonl_keeps_them():
    """A cell that starts with = + - @ tab or CR gets a leading ' in CSV (issue 13, item 4)."""
    records = [{**dict.fromkeys(COLUMNS), "headline": f, "body": "plain", "word_count": -3} for f in FORMULAS]
    buf = io.StringIO()
    assert write(buf, "csv", iter(records)) == len(FORMULAS)
    table = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["headline"] for r in table] == ["'" + f for f in FORMULAS]
    assert {r["body"] for r in table} == {"plain"} and {r["word_count"] for r in table} == {"-3"}
    raw = io.StringIO()
    write(raw, "csv", iter(records), escape_formulas=False)
    assert [r["headline"] for r in csv.DictReader(io.StringIO(raw.getvalue()))] == FORMULAS
    lines = io.StringIO()
    write(lines, "jsonl", iter(records))
    assert [json.loads(line)["headline"] for line in lines.getvalue().splitlines()] == FORMULAS


def formula_archive(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text(
        json.dumps(
            {"headline": '=HYPERLINK("http://evil.example/steal","Read")', "body": "An article about spreadsheets."}
        )
        + "\n"
    )
    db = tmp_path / "formula.db"
    out = subprocess.run(
        [sys.executable, "-m", "worker", "--archive", str(db), "backfill", str(inbox)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return db


def test_cli_csv_formulas_escaped_unless_asked(tmp_path):
    db = formula_archive(tmp_path)
    out = export(db, "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert (
        next(csv.DictReader(io.StringIO(out.stdout)))["headline"] == '\'=HYPERLINK("http://evil.example/steal","Read")'
    )
    out = export(db, "--format", "csv", "--no-escape-formulas")
    assert next(csv.DictReader(io.StringIO(out.stdout)))["headline"].startswith("=HYPERLINK(")
    out = export(db)
    assert json.loads(out.stdout)["headline"].startswith("=HYPERLINK(")


@pytest.mark.parametrize("args", [["--since", "banana"], ["NEAR(", "--raw"], ["--until", "2021-13-01"]])
def test_a_failed_export_leaves_the_file_as_it_was(archive_path, tmp_path, args):
    """-o FILE is replaced only by a whole export (issue 13, item 16)."""
    target = tmp_path / "keep.jsonl"
    target.write_text("precious\n")
    out = export(archive_path, *args, "-o", str(target))
    assert out.returncode == 1 and out.stderr.startswith("Error: ") and "Traceback" not in out.stderr
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.jsonl"]  # no temporary left behind


def test_export_replaces_a_file_whole_and_keeps_its_mode(archive_path, tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n" * 1000)
    target.chmod(0o640)
    out = export(archive_path, "-o", str(target))
    assert out.returncode == 0, out.stderr
    assert len(target.read_text().splitlines()) == 7 and (target.stat().st_mode & 0o777) == 0o640
    fresh = tmp_path / "fresh.csv"
    out = export(archive_path, "--format", "csv", "-o", str(fresh))
    assert out.returncode == 0 and (fresh.stat().st_mode & 0o777) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.csv", "out.jsonl"]


@pytest.mark.parametrize("where", ["missing/out.jsonl", "/dev/full"])
def test_an_output_that_cannot_be_written_is_one_line(archive_path, tmp_path, where):
    path = where if where.startswith("/") else str(tmp_path / where)
    out = export(archive_path, "-o", path)
    assert out.returncode == 1, out.stderr
    assert out.stderr.startswith(f"Error: cannot write {path}: ") and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()
