"""The archive as it is works with the real sqlite-utils command: search (ranked like worker
search, hyphenated names through the worker's plugin) and query."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from tests.query_archive import ROOT, build_archive

# With the worker installed, its entry point registers the plugin and `python -m sqlite_utils` is
# the real command. In a bare checkout, the same command runs with the plugin registered first.
INSTALLED = any(ep.value == "worker.sqlite_utils_plugin" for ep in entry_points(group="sqlite_utils"))
REGISTER = (
    "import sqlite_utils.plugins as p, worker.sqlite_utils_plugin as w; p.pm.register(w); "
    "from sqlite_utils.cli import cli; cli(prog_name='sqlite-utils')"
)


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("su") / "archive.db")


def sqlite_utils(*args, plugin=True):
    if plugin and not INSTALLED:
        cmd = [sys.executable, "-c", REGISTER, *args]
    else:
        cmd = [sys.executable, "-m", "sqlite_utils", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_search_plain_word_ranks_headline_first(archive_path):
    out = sqlite_utils(
        "search", str(archive_path), "articles", "taliban", "-c", "headline", "--limit", "5", plugin=False
    )
    assert out.returncode == 0, out.stderr
    assert [r["headline"] for r in json.loads(out.stdout)] == [
        "Taliban talks stall in Doha as fighting spreads",
        "Fighters enter Qala-e-Naw as the provincial capital comes under siege",
    ]


def test_search_hyphenated_name_with_the_plugin(archive_path):
    out = sqlite_utils("search", str(archive_path), "articles", "Qala-e-Naw", "-c", "headline", "-c", "source")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        {"headline": "Fighters enter Qala-e-Naw as the provincial capital comes under siege", "source": "wire"}
    ]


def test_search_hyphenated_name_without_the_plugin_fails_cleanly(archive_path):
    """What the plugin is for: bare sqlite-utils reads Qala-e-Naw as FTS5 column syntax."""
    if INSTALLED:
        pytest.skip("the worker's plugin is installed here")
    out = sqlite_utils("search", str(archive_path), "articles", "Qala-e-Naw", plugin=False)
    assert out.returncode != 0 and "no such column" in out.stderr


def test_search_operators_only_and_quote_flag(archive_path):
    out = sqlite_utils("search", str(archive_path), "articles", "AND OR", "-c", "headline")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout or "[]") == []
    out = sqlite_utils("search", str(archive_path), "articles", "Qala-e-Naw", "--quote", "-c", "url", plugin=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"url": "https://wire.example/qala-e-naw-siege"}]


def test_query(archive_path):
    out = sqlite_utils(
        "query",
        str(archive_path),
        "select source, count(*) as n from articles group by source order by source",
        plugin=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"source": "local", "n": 3}, {"source": "wire", "n": 4}]
    out = sqlite_utils(
        "query",
        str(archive_path),
        "select count(distinct source) as sources from sightings where headline_hash = "
        "(select headline_hash from articles where url like '%qala-e-naw-siege')",
        plugin=False,
    )
    assert json.loads(out.stdout) == [{"sources": 2}]


def test_search_lone_quote(archive_path):
    out = sqlite_utils("search", str(archive_path), "articles", '"', "-c", "headline")
    assert out.returncode == 0, out.stderr


def test_the_plugin_leaves_other_databases_alone(tmp_path, archive_path):
    """Only archives the worker made get the retry: any other database keeps sqlite-utils' own behaviour."""
    import sqlite_utils as su

    other = tmp_path / "other.db"
    db = su.Database(other)
    db["notes"].insert_all([{"id": 1, "text": "Fighting near Qala-e-Naw"}], pk="id")
    db["notes"].enable_fts(["text"], fts_version="FTS5")
    db.close()
    out = sqlite_utils("search", str(other), "notes", "Qala-e-Naw")
    assert out.returncode != 0 and "no such column" in out.stderr
    from worker.sqlite_utils_plugin import is_worker_archive

    assert is_worker_archive(archive_path) and not is_worker_archive(other)
    assert not is_worker_archive(tmp_path / "missing.db") and not (tmp_path / "missing.db").exists()


def test_search_with_limit_ranks_as_worker_search(tmp_path):
    """On more matches than search's window, --limit ranks the newest matches as worker search
    does (milliseconds on a million articles); without --limit every match is listed."""
    from tests.many_archive import MANY, many_articles
    from worker.archive import Archive
    from worker.search import search

    path = many_articles(tmp_path / "many.db")
    out = sqlite_utils("search", str(path), "articles", "alpha", "--limit", "5", "-c", "id")
    assert out.returncode == 0, out.stderr
    with Archive(path, readonly=True) as archive:
        expected = [hit["id"] for hit in search(archive.db.conn, "alpha", limit=5)]
    assert [row["id"] for row in json.loads(out.stdout)] == expected
    out = sqlite_utils("search", str(path), "articles", "alpha", "-c", "id", "--nl")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == MANY
    out = sqlite_utils("search", str(path), "articles", "alpha", "-c", "id", "-o", "id desc", "--limit", "2")
    assert json.loads(out.stdout) == [{"id": MANY}, {"id": MANY - 1}]
