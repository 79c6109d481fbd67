"""The kind registry: one declaration makes a kind configurable, runnable, forceable with --kind
and recognisable as a backfill argument."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from worker import checks, kinds
from worker.archive import Archive
from worker.config import parse_config
from worker.errors import ConfigError, WorkerError
from worker.fetchers import FetchContext, FetchOutput
from worker.models import Checkpoint, Hints, RawItem, Source
from worker.pipeline import ingest


def toy_fetch(source: Source, ctx: FetchContext) -> Iterator[FetchOutput]:
    """A kind of its own: ``count`` stories about ``topic``, checkpointed once."""
    for i in range(source.options["count"]):
        headline = f"{source.options['topic']} story number {i}"
        yield RawItem(source.name, f"toy:{i}", "fragment", f"The body of {headline}.", Hints(headline=headline))
    yield Checkpoint("toy:" + source.options["topic"], str(source.options["count"]))


@pytest.fixture
def toy():
    kind = kinds.register(
        kinds.Kind(
            name="toy",
            fetch=toy_fetch,
            argument="topic",
            network=False,
            keys=(
                kinds.Key("topic", checks.typed(str), required=True),
                kinds.Key("count", checks.typed(int), default=2),
            ),
            guess=lambda arg: 5 if arg.startswith("toy:") else 0,
            prepare=lambda arg: arg.removeprefix("toy:"),
        )
    )
    yield kind
    kinds.REGISTRY.pop("toy")


def test_a_registered_kind_is_configured_and_runs_end_to_end(toy, tmp_path):
    config = parse_config({"sources": [{"name": "t", "kind": "toy", "topic": "Weather", "count": 3}]}, tmp_path)
    (source,) = config.sources
    assert source.options == {"topic": "Weather", "count": 3} and source.every == 1800
    with Archive(tmp_path / "a.db") as archive:
        result = ingest(source, archive)
        assert (result.status, result.new) == ("ok", 3)
        assert archive.fetch_state("t", "toy:Weather") == "3"
        headlines = [r["headline"] for r in archive.db.query("SELECT headline FROM articles ORDER BY rowid")]
    assert headlines == [f"Weather story number {i}" for i in range(3)]


def test_a_registered_kind_checks_its_own_keys(toy, tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[0\]\.topic: required for kind 'toy'"):
        parse_config({"sources": [{"name": "t", "kind": "toy"}]}, tmp_path)
    with pytest.raises(ConfigError, match=r"sources\[0\]\.count: expected a whole number"):
        parse_config({"sources": [{"name": "t", "kind": "toy", "topic": "x", "count": "many"}]}, tmp_path)
    with pytest.raises(ConfigError, match=r"sources\[0\]\.topic: only for kind toy, not 'feed'"):
        parse_config({"sources": [{"name": "f", "kind": "feed", "url": "http://x.example/f", "topic": "x"}]}, tmp_path)


def test_backfill_recognises_and_forces_a_registered_kind(toy, tmp_path):
    from worker.cli import cli

    archive = tmp_path / "a.db"
    runner = CliRunner()
    r = runner.invoke(cli, ["--archive", str(archive), "backfill", "toy:Elections"])
    assert r.exit_code == 0, r.output
    assert "2 new" in r.output
    r = runner.invoke(cli, ["--archive", str(archive), "backfill", "--kind", "toy", "Sports"])
    assert r.exit_code == 0 and "2 new" in r.output, r.output
    r = runner.invoke(cli, ["--archive", str(archive), "backfill", "--kind", "toys", "Sports"])
    assert r.exit_code == 2 and "'toys' is not one of files, feed, page, sitemap, warc, toy" in r.output


@pytest.mark.parametrize(
    ("argument", "kind"),
    [
        ("https://example.org/sitemap_index.xml", "sitemap"),
        ("https://example.org/news.xml.gz", "sitemap"),
        ("https://example.org/feed/", "feed"),
        ("https://example.org/index.rss", "feed"),
        ("https://example.org/feed.json", "feed"),
        ("https://example.org/2024/01/story.html", "page"),
        ("some/folder", "files"),
        ("*.jsonl", "files"),
    ],
)
def test_the_built_in_kinds_recognise_backfill_arguments(argument, kind):
    assert kinds.guess(argument).name == kind


def test_a_missing_path_argument_is_one_clear_error(tmp_path):
    from worker.backfill import sources_for

    with pytest.raises(WorkerError, match=r"nope: no such file or folder$"):
        sources_for([str(tmp_path / "nope")], "backfill", None)


def test_every_kind_is_documented():
    from tests.conftest import ROOT

    readme, config = (ROOT / "README.md").read_text(), (ROOT / "config.yaml").read_text()
    for kind in kinds.REGISTRY.values():
        assert f"| `{kind.name}` |" in readme, kind.name
        assert f"kind {kind.name}:" in config, kind.name
        for key in kind.keys:
            assert f"`{key.name}`" in readme and f"{key.name}" in config, (kind.name, key.name)
