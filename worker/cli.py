"""The command line: a thin skin over config, pipeline, scheduler and archive.

Errors are mapped in one place, ``WorkerGroup.invoke``: a ``ConfigError`` is one line and exit 2,
any other ``WorkerError`` one line and exit 1; commands contain no error handling of their own.
Progress display and exit codes belong here, never to the library.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import yaml

from worker import log as logsetup
from worker.checks import parse_duration
from worker.cli_cluster import backfill_on_cluster, cluster_options, merge
from worker.cli_sources import sources
from worker.config import config_dict, load_config
from worker.errors import ArchiveError, ConfigError, Interrupted, WorkerError
from worker.health import health_problems, status_table
from worker.models import Config, RunResult

DEFAULT_CONFIG = "config.yaml"


class ConfigProblem(click.ClickException):
    exit_code = 2


class Failure(click.ClickException):
    """One line on standard error and an exit code (1 unless the error says otherwise)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it from the instance


class WorkerGroup(click.Group):
    """The one place errors become what a user sees: one line, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise ConfigProblem(str(exc)) from None
        except WorkerError as exc:
            raise Failure(str(exc), getattr(exc, "exit_code", 1)) from None
        except sqlite3.Error as exc:  # the archive failed under a read or write no layer expected
            from worker.archive import archive_error

            obj = ctx.obj if isinstance(ctx.obj, Ctx) else None
            raise Failure(str(archive_error(exc, obj.archive_path() if obj else "the archive"))) from None
        except KeyboardInterrupt:
            raise Failure(str(Interrupted(0)), Interrupted.exit_code) from None


class KindChoice(click.ParamType):
    """A source kind's name, checked against the registry when used (kinds registered late count)."""

    name = "kind"

    def convert(self, value, param, ctx):
        from worker.kinds import REGISTRY

        if value not in REGISTRY:
            self.fail(f"{value!r} is not one of {', '.join(REGISTRY)}", param, ctx)
        return value

    def get_metavar(self, param, ctx=None) -> str:
        from worker.kinds import REGISTRY

        return "[" + "|".join(REGISTRY) + "]"


class Ctx:
    def __init__(
        self, config_path: str, config_given: bool, archive: str | None, log_format: str | None, log_level: str | None
    ):
        self.config_path = config_path
        self.config_given = config_given
        self.archive_override = archive
        self.log_format = log_format
        self.log_level = log_level
        self._config: Config | None = None

    def config(self, required: bool = True) -> Config:
        if self._config is None:
            if not required and not self.config_given and not Path(self.config_path).exists():
                config = Config(archive=str(Path(Config.archive).resolve()))
            else:
                config = load_config(self.config_path)
            if self.archive_override:
                config = replace(config, archive=str(Path(self.archive_override).resolve()))
            folder = Path(config.archive).parent
            base = Path(config.path).resolve().parent if config.path else Path.cwd()
            if not folder.is_dir() and config.archive != str(base / Config.archive):
                raise ArchiveError(
                    f"{config.archive}: no folder {folder} (create it first; only the "
                    f"default archive folder is made for you)"
                )
            self._config = config
            logsetup.setup(self.log_format or config.log_format, self.log_level or config.log_level)
        return self._config

    def archive_path(self) -> str:
        return self._config.archive if self._config else (self.archive_override or Config.archive)

    def archive(self, readonly: bool = False):
        from worker.archive import Archive

        return Archive(self.config(required=False).archive, readonly=readonly)

    def http(self, sources=None):
        """The one HTTP client, made only when a network source will run."""
        from worker.kinds import kind_named

        if sources is not None and not any(kind_named(s.kind).network for s in sources):
            return None
        from worker.fetchers.http import Http

        return Http(self.config(required=False).http)

    def captures(self, sources):
        """The archive's raw capture (WARC files beside it), made only when a source keeps its
        raw responses; torn records a crash left are recovered here."""
        from worker.kinds import captures

        config = self.config(required=False)
        if not any(captures(s, config.capture) for s in sources):
            return None
        from worker.captures import Captures

        return Captures(config.archive, config.capture)


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=WorkerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", default=None, metavar="PATH", help=f"Config file (default ./{DEFAULT_CONFIG})."
)
@click.option("--archive", default=None, metavar="PATH", help="SQLite archive file (overrides the config's).")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default=None,
    help="Log lines for a terminal or JSON lines (default: the config's, auto).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Lowest level logged (default: the config's, info).",
)
@click.version_option(package_name="news-archive-worker")
@click.pass_context
def cli(ctx, config_path, archive, log_format, log_level):
    """Keep a searchable SQLite archive of news articles.

    Example: worker --config config.yaml run
    """
    ctx.obj = Ctx(config_path or DEFAULT_CONFIG, config_path is not None, archive, log_format, log_level)


@cli.command()
@click.option("--once", is_flag=True, help="Run every enabled source once, then exit.")
@pass_ctx
def run(c: Ctx, once):
    """Run the service: every enabled source on its schedule, until SIGTERM or Ctrl-C.

    Example: worker run          (or: worker run --once)
    """
    from worker.scheduler import Service, run_all_once

    config = c.config()
    enabled = [s for s in config.sources if s.enabled]
    http, captures = c.http(enabled), c.captures(enabled)
    if once:
        results = [r for r in run_all_once(config, http, captures) if r is not None]
        _summary("run", results)
        return
    service = Service(config, http, config.path, captures)
    code = service.run()
    if service.stragglers:  # runs blocked in network reads cannot be joined; their runs are recorded
        logsetup.flush()
        os._exit(code)
    sys.exit(code)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every enabled source.")
@pass_ctx
def ingest(c: Ctx, names, all_):
    """Run configured sources now, once (ignoring any error backoff).

    Example: worker ingest nyt-world inbox
    """
    from worker.scheduler import run_source

    config = c.config()
    if all_:
        sources = [s for s in config.sources if s.enabled]
    elif names:
        unknown = [n for n in names if config.source(n) is None]
        if unknown:
            raise click.ClickException(f"no such source: {', '.join(unknown)} (see: worker sources)")
        sources = [s for s in config.sources if s.name in names]
    else:
        raise click.UsageError("name one or more sources, or give --all")
    http = c.http(sources)
    captures = c.captures(sources)
    results = [
        r for s in sources if (r := run_source(config, s, http, "manual", respect_backoff=False, captures=captures))
    ]
    _summary("ingest", results)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--name", default="backfill", show_default=True, help="Source name recorded for these articles.")
@click.option(
    "--kind",
    type=KindChoice(),
    default=None,
    help="Force the source kind of the arguments (default: recognised from each).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes that clean, the writer included; 1 cleans in the writer only (default: one per core).",
)
@click.option(
    "--optimize/--no-optimize",
    default=None,
    help="Merge the full-text index afterwards (default: after 10,000 new articles).",
)
@click.option("--host", default=None, help="WARC inputs: only pages of this host or its subdomains.")
@click.option("--since", default=None, metavar="DATE", help="WARC inputs: only pages fetched on or after this date.")
@click.option("--until", default=None, metavar="DATE", help="WARC inputs: only pages fetched on or before this date.")
@cluster_options
@pass_ctx
def backfill(
    c: Ctx, paths, name, kind, workers, optimize, host, since, until, cluster, shards, partition_files, partition_size
):
    """One-off import of files, folders, globs, WARC files or URLs, without configuring a source.
    Idempotent and resumable: a re-run passes over what is already stored.

    Example: worker backfill ~/saved-articles/ 'exports/*.jsonl' CC-NEWS-20240101.warc.gz
    """
    from worker.backfill import count_files, run_backfill, sources_for
    from worker.parallel import default_workers
    from worker.progress import Progress

    if shards and not cluster:
        raise click.UsageError("--shards needs --cluster")
    config = c.config(required=False)
    t0 = time.monotonic()
    sources = sources_for(paths, name, kind, {"host": host, "since": since, "until": until})
    terminal = sys.stderr.isatty()
    bar = Progress(terminal, count_files(sources) if terminal else None)
    try:
        if cluster:
            results = backfill_on_cluster(c, sources, bar, optimize, cluster, shards, partition_files, partition_size)
        else:
            results = run_backfill(
                config,
                sources,
                http_factory=c.http,
                on_item=bar,
                workers=default_workers() if workers is None else workers,
                optimize=optimize,
                captures=c.captures(sources),
            )
    finally:
        bar.close()
    _summary("backfill", results, time.monotonic() - t0)
    if results and all(r.status == "error" for r in results):
        sys.exit(1)  # nothing could be read: the summary line says why


@cli.command()
@click.option("--source", default=None, help="Only records this source captured.")
@click.option("--since", default=None, metavar="DATE", help="Only records captured on or after this date.")
@click.option("--ids", default=None, metavar="ID,...", help="Only the records of these articles (comma-separated).")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes that clean, as in backfill (default: one per core).",
)
@pass_ctx
def reclean(c: Ctx, source, since, ids, workers):
    """Run the current cleaner over the captured raw records again; a text that differs is a
    new version (reason reclean), the old one kept. A second run changes nothing.

    Example: worker reclean --source nyt-world --since 2024-01-01
    """
    from worker.parallel import default_workers
    from worker.progress import Progress
    from worker.reclean import Selection
    from worker.reclean import reclean as run_reclean
    from worker.search import check_date

    config = c.config(required=False)
    try:
        chosen = tuple(int(i) for i in ids.split(",") if i.strip()) if ids else ()
    except ValueError:
        raise click.BadParameter("give article ids as numbers, e.g. 12,345", param_hint="--ids") from None
    which = Selection(source=source, since=check_date(since, "since") if since else None, ids=chosen)
    t0 = time.monotonic()
    bar = Progress(sys.stderr.isatty())
    try:
        results = run_reclean(config, which, workers=default_workers() if workers is None else workers, on_item=bar)
    finally:
        bar.close()
    _summary("reclean", results, time.monotonic() - t0)


def _summary(what: str, results: list[RunResult], seconds: float | None = None) -> None:
    totals = {k: sum(getattr(r, k) for r in results) for k in ("seen", "new", "revisions", "duplicates", "skipped")}
    errors = [r for r in results if r.status != "ok"]
    line = (
        f"{what}: {len(results)} run(s), {totals['seen']} seen, {totals['new']} new, {totals['revisions']} revised, "
        f"{totals['duplicates']} duplicates, {totals['skipped']} skipped"
    )
    if seconds is not None:
        line += f" in {seconds:.1f}s"
    if errors:
        line += f", {len(errors)} failed (" + "; ".join(f"{r.source}: {r.error}" for r in errors) + ")"
    click.echo(line)


def _filter_options(f):
    """--source, --since, --until, --lang: shared by search and export."""
    f = click.option("--lang", default=None, help="Only this language (en also matches en-GB).")(f)
    f = click.option(
        "--until", default=None, metavar="DATE", help="Published on or before (ISO date; first seen when no date)."
    )(f)
    f = click.option(
        "--since", default=None, metavar="DATE", help="Published on or after (ISO date; first seen when no date)."
    )(f)
    f = click.option("--source", default=None, help="Only articles first stored from this source.")(f)
    return f


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@_filter_options
@click.option("--raw", is_flag=True, help="Pass FTS5 syntax through: NEAR(), prefix*, headline:word, OR, NOT.")
@click.option("--all-versions", is_flag=True, help="Search every text an article ever had, not only its latest.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
@pass_ctx
def search(c: Ctx, query, limit, source, since, until, lang, raw, all_versions, as_json):
    """Search the archive: best matches first (bm25, the headline counts most), the match [marked].

    Words are searched as given, all of them (hyphens and quotes are fine); word* is a prefix.

    Example: worker search 'qala-e-naw taliban' --since 2021-01-01
    """
    from worker.search import Filters
    from worker.search import search as run_search

    with c.archive(readonly=True) as archive:
        hits = run_search(
            archive.db.conn,
            query,
            limit=limit,
            raw=raw,
            all_versions=all_versions,
            filters=Filters(source=source, since=since, until=until, lang=lang),
        )
    if as_json:
        for hit in hits:
            click.echo(json.dumps(hit, ensure_ascii=False))
        return
    if not hits:
        click.echo("no matches")
        return
    width = max(20, min(shutil.get_terminal_size((100, 20)).columns, 160))
    src_w = min(max(len(h["source"] or "") for h in hits), 20)
    for n, hit in enumerate(hits, 1):
        date = (hit["published_at"] or "")[:10] or "(no date)"
        prefix = f"{n:>2}  {date:<10}  {(hit['source'] or '')[:src_w]:<{src_w}}  "
        click.echo(prefix + click.style(_clip(hit["headline"], width - len(prefix)), bold=True))
        indent = " " * 4
        click.echo(indent + _clip(" ".join(hit["snippet"].split()), width - len(indent)))
        if hit["url"]:
            click.echo(indent + click.style(_clip(hit["url"], width - len(indent)), dim=True))
    click.echo(
        f"{len(hits)} match{'es' if len(hits) != 1 else ''}" + (" (--limit reached)" if len(hits) == limit else "")
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Exit 1 when the heartbeat is stale or a source has failed too long.")
@click.option("--max-failing", default="6h", show_default=True, help="With --check: how long a source may fail.")
@pass_ctx
def status(c: Ctx, as_json, check, max_failing):
    """Each source's last run, result, failures, next due time and totals.

    Example: worker status --check || systemctl restart news-worker
    """
    config = c.config(required=False)
    failing_limit = parse_duration(max_failing, "--max-failing")
    with c.archive(readonly=True) as archive:
        rows = archive.status_rows()
        heartbeat = archive.meta("heartbeat")
        counts = archive.counts()
    configured = {s.name for s in config.sources}
    problems = health_problems(rows, heartbeat, config.scheduler.heartbeat, failing_limit)
    if as_json:
        click.echo(
            json.dumps(
                {"heartbeat": heartbeat, "totals": counts, "sources": rows, "problems": problems},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"archive: {config.archive}")
        click.echo(
            f"heartbeat: {heartbeat or 'never'}   articles: {counts['articles']}   "
            f"sightings: {counts['sightings']}   runs: {counts['runs']}"
        )
        for line in status_table(rows, configured):
            click.echo(line)
        for r in rows:
            if r["last_error"]:
                click.echo(f"{r['source']}: {r['last_error']}")
        for p in problems if check else ():
            click.echo(f"problem: {p}")
    if check and problems:
        sys.exit(1)


@cli.command()
@click.argument("article_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per version.")
@pass_ctx
def history(c: Ctx, article_id, as_json):
    """The versions of one article, each with a diff against the one before it.

    Example: worker history 1234
    """
    from dataclasses import asdict

    from worker.history import lines, versions

    with c.archive(readonly=True) as archive:
        found = versions(archive.db.conn, article_id)
        (shown,) = archive.db.execute("SELECT version FROM articles WHERE id = ?", [article_id]).fetchone()
    if as_json:
        for v in found:
            click.echo(json.dumps({"id": article_id, **asdict(v)}, ensure_ascii=False))
        return
    colors: dict[str, dict[str, Any]] = {
        "title": {"bold": True},
        "add": {"fg": "green"},
        "remove": {"fg": "red"},
        "same": {},
    }
    for kind, text in lines(found, shown):
        click.echo(click.style(text, **colors[kind]))


@cli.command()
@click.argument("target", type=click.Path(dir_okay=False))
@pass_ctx
def backup(c: Ctx, target):
    """Copy the archive to TARGET, consistently, while the service may go on writing.

    Example: worker backup /backups/archive-$(date +%F).db
    """
    with c.archive(readonly=True) as archive:
        archive.backup(target)
    click.echo(f"backup: {target}", err=True)


@cli.command("check-config")
@pass_ctx
def check_config(c: Ctx):
    """Validate the config and print it with every default filled in; exit 2 if invalid.

    Example: worker --config config.yaml check-config
    """
    config = c.config()
    click.echo(yaml.safe_dump(config_dict(config), sort_keys=False, allow_unicode=True).rstrip())
    click.echo(f"# ok: {len(config.sources)} source(s), {sum(s.enabled for s in config.sources)} enabled", err=True)


@cli.command()
@click.argument("query", required=False)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file (default: standard output).",
)
@_filter_options
@click.option("--raw", is_flag=True, help="QUERY is FTS5 syntax (as in search --raw).")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many lines.")
@click.option("--versions", is_flag=True, help="One line per version of each article (id is the article's).")
@click.option(
    "--escape-formulas/--no-escape-formulas",
    default=True,
    show_default=True,
    help="CSV: write cells that start with = + - @ tab or CR with a leading ' (no spreadsheet formulas).",
)
@pass_ctx
def export(c: Ctx, query, fmt, output, source, since, until, lang, raw, limit, versions, escape_formulas):
    """Export articles (every column) as JSON Lines or CSV, oldest stored first, streaming.

    With QUERY, only the articles that match it; the same filters as search. -o FILE: replaced whole.

    Example: worker export --format csv --source nyt-world --since 2024-01-01 -o nyt-2024.csv
    """
    from worker.export import columns_of, rows, write, write_file
    from worker.search import Filters

    with c.archive(readonly=True) as archive:
        records = rows(
            archive.db.conn,
            query,
            filters=Filters(source=source, since=since, until=until, lang=lang),
            raw=raw,
            limit=limit,
            versions=versions,
        )
        columns = columns_of(versions)
        if output:
            n = write_file(output, fmt, records, columns, escape_formulas=escape_formulas)
            click.echo(f"export: {n} {'version' if versions else 'article'}(s) to {output}", err=True)
            return
        try:
            write(sys.stdout, fmt, records, columns, escape_formulas=escape_formulas)
        except BrokenPipeError:  # `worker export | head`
            sys.stderr.close()


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Datasette metadata (default: metadata.yml beside the archive, else archive/metadata.yml).",
)
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def serve(c: Ctx, host, port, metadata, datasette_args):
    """Browse and search the archive in Datasette (read-only; needs the [datasette] extra).

    Arguments after the options go to datasette as they are.

    Example: worker serve --port 8001 --setting sql_time_limit_ms 3000
    """
    from worker.serve import find_metadata, prepare
    from worker.serve import serve as run_datasette

    archive = Path(c.config(required=False).archive)
    meta = Path(metadata) if metadata else find_metadata(archive)
    launch = prepare(archive, host=host, port=port, metadata=meta, extra=datasette_args)
    click.echo(f"serve: http://{host}:{port}/ ({archive}, read-only; Ctrl-C stops)", err=True)
    sys.exit(run_datasette(launch))


cli.add_command(sources)
cli.add_command(merge)


def main() -> None:
    cli(prog_name="worker")


if __name__ == "__main__":
    main()
