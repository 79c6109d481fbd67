"""The read-only commands: ``search``, ``export``, ``history``, ``backup``, ``serve`` (Datasette)
and ``status``. Skins over ``worker.search``, ``worker.export``, ``worker.history``,
``worker.serve`` and ``worker.health``, registered on the main group by ``worker.cli``; errors
are mapped there."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker.checks import parse_duration
from worker.health import health_problems, status_table

if TYPE_CHECKING:
    from worker.cli import Ctx


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


@click.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@_filter_options
@click.option("--raw", is_flag=True, help="Pass FTS5 syntax through: NEAR(), prefix*, headline:word, OR, NOT.")
@click.option("--all-versions", is_flag=True, help="Search every text an article ever had, not only its latest.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
@click.pass_obj
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


@click.command()
@click.argument("article_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per version.")
@click.pass_obj
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


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.pass_obj
def backup(c: Ctx, target):
    """Copy the archive to TARGET, consistently, while the service may go on writing.

    Example: worker backup /backups/archive-$(date +%F).db
    """
    with c.archive(readonly=True) as archive:
        archive.backup(target)
    click.echo(f"backup: {target}", err=True)


@click.command()
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
@click.pass_obj
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


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Datasette metadata (default: metadata.yml beside the archive, else archive/metadata.yml).",
)
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Exit 1 when the heartbeat is stale or a source has failed too long.")
@click.option("--max-failing", default="6h", show_default=True, help="With --check: how long a source may fail.")
@click.pass_obj
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


COMMANDS = (search, export, history, backup, serve, status)
