"""A sqlite-utils plugin, installed with the worker: ``sqlite-utils search`` on an archive the
worker made retries a query that is not valid FTS5 syntax (``Qala-e-Naw``, a lone ``"``) as
quoted words, as Datasette's default search mode does, instead of failing with "no such column:
e". A query with no words at all returns no rows. Any other database gets sqlite-utils' own
behaviour: the archive is recognised by its ``PRAGMA application_id``.
"""

from __future__ import annotations

from typing import Any

import click
from sqlite_utils import hookimpl

from worker.archive import is_worker_archive

__all__ = ["is_worker_archive", "register_commands"]


@hookimpl
def register_commands(cli: click.Group) -> None:
    search = cli.commands.get("search")
    if search is None or search.callback is None or getattr(search.callback, "_quotes_on_error", False):
        return
    original = search.callback

    @click.pass_context
    def callback(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("quote") or not is_worker_archive(kwargs.get("path")):
            return ctx.invoke(original, *args, **kwargs)
        try:
            return ctx.invoke(original, *args, **kwargs)
        except click.ClickException as exc:
            from worker.search import FTS_ERRORS, quote_query

            if not any(e in str(exc) for e in FTS_ERRORS):
                raise
            kwargs["q"] = quote_query(kwargs.get("q") or "") or '""'  # no words: an empty phrase matches nothing
            return ctx.invoke(original, *args, **kwargs)

    callback._quotes_on_error = True  # type: ignore[attr-defined]
    search.callback = callback
