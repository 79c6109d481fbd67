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
    return subprocess.run([sys.executable, "-m", "worker", "--archive", str(archive_path), "export", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


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
    out = export(archive_path, "Qala-e-Naw", "--format", "csv", "--source", "wire", "--since", "2021-07-01",
                 "--until", "2021-07-31", "--lang", "en", "--output", str(target))
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
