"""``worker sources``: list the configured sources; ``import`` an OPML file's feeds into
config.yaml; ``export`` the feed sources as OPML 2.0. A skin over ``worker.opml`` and
``worker.config_file``, registered on the main group by ``worker.cli``; errors are mapped there."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from worker.cli import Ctx


@click.group(invoke_without_command=True)
@click.pass_context
def sources(ctx: click.Context):
    """List the configured sources; import or export them as OPML.

    Example: worker sources          (or: worker sources import subscriptions.opml --dry-run)
    """
    if ctx.invoked_subcommand is not None:
        return
    c: Ctx = ctx.obj
    for s in c.config().sources:
        when = f"cron {s.cron}" if s.cron else ("every auto" if s.auto else f"every {s.every}s")
        state = "" if s.enabled else "  (disabled)"
        click.echo(f"{s.name}  {s.kind}  {when}  {s.where()}{state}")


@sources.command("import")
@click.argument("opml_file", metavar="FILE.opml", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would be added; write nothing.")
@click.pass_obj
def import_(c: Ctx, opml_file, dry_run):
    """Add each feed of an OPML file (a feed reader's export) to config.yaml as a feed source.

    Feeds in folders are found too; names come from the titles; a feed whose URL is configured
    already is left out. The file's comments and layout are kept.

    Example: worker sources import feedly.opml --dry-run
    """
    from worker.config import parse_config, read_yaml
    from worker.config_file import replace_file, with_sources
    from worker.opml import plan_import, read_opml

    config = c.config()
    path = Path(config.path or c.config_path)
    plan = plan_import(read_opml(opml_file), config.sources)
    verb = "would add" if dry_run else "added"
    if plan.added and not dry_run:
        note = f"imported from {Path(opml_file).name} on {datetime.now(UTC):%Y-%m-%d}"
        entries = [{"name": name, "kind": "feed", "url": url} for name, url in plan.added]
        text = with_sources(path.read_text(encoding="utf-8"), entries, note, str(path))
        parse_config(read_yaml(text, str(path)), path.resolve().parent, str(path))  # still valid
        replace_file(path, text)
    for name, url in plan.added:
        click.echo(f"{verb}: {name}  {url}")
    for url in plan.known:
        click.echo(f"already configured: {url}")
    for url, reason in plan.skipped:
        click.echo(f"skipped: {url} ({reason})")
    click.echo(
        f"import{' (dry run)' if dry_run else ''}: {len(plan.added)} feed(s) "
        f"{'would be added' if dry_run else 'added'} to {path.name}, "
        f"{len(plan.known)} already configured, {len(plan.skipped)} skipped"
        + (" (nothing written)" if dry_run or not plan.added else "")
    )


@sources.command("export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write to this file (default: stdout)."
)
@click.pass_obj
def export_(c: Ctx, output):
    """Write the configured feed sources as OPML 2.0, for a feed reader or another worker.

    Example: worker sources export -o subscriptions.opml
    """
    from worker.config_file import replace_file
    from worker.opml import to_opml

    config = c.config()
    data = to_opml(config.sources, f"news archive worker: feeds of {Path(config.path or c.config_path).name}")
    if output:
        replace_file(output, data.decode("utf-8"))
        feeds = sum(s.kind == "feed" for s in config.sources)
        click.echo(f"export: {feeds} feed(s) to {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
