"""A sqlite-utils plugin, installed with the worker: ``sqlite-utils search`` on an archive the
worker made finds and ranks ``articles`` as ``worker search`` does.

- Words in any language: each word goes to the index that can find it (``worker.search_plan``:
  Chinese, Japanese, Thai, ... in the trigram index).
- At archive scale: sqlite-utils ranks every match (``ORDER BY rank`` over all of them: seconds
  for a word in most of a million articles); with ``--limit`` the plugin ranks the newest
  matches first, as ``worker search`` does, and the same query takes milliseconds. Without
  ``--limit`` every match is ranked, as sqlite-utils does.
- A query with FTS5 operators (quotes, brackets, ``OR``, ``NEAR``, ``column:``) is FTS5 syntax, as
  in sqlite-utils; one that is not valid FTS5 (``Qala-e-Naw``, a lone ``"``) is searched as
  quoted words, as Datasette's default search mode does, instead of failing with "no such
  column: e". A query without words returns no rows. ``--order`` sorts every match by a column.

Any other table or database gets sqlite-utils' own behaviour: the archive is recognised by its
``PRAGMA application_id``. ``--sql`` shows sqlite-utils' own SQL.
"""

from __future__ import annotations

import json
import re
from typing import Any

import click
from sqlite_utils import hookimpl

from worker.archive import is_worker_archive

__all__ = ["is_worker_archive", "register_commands"]

SEARCHED_TABLE = "articles"
OUTPUT = ("nl", "arrays", "csv", "tsv", "no_headers", "table", "fmt", "json_cols", "ascii_", "load_extension")
_FTS_SYNTAX = re.compile(r'["()*:^]|\b(?:AND|OR|NOT|NEAR)\b')


@hookimpl
def register_commands(cli: click.Group) -> None:
    search, query = cli.commands.get("search"), cli.commands.get("query")
    if search is None or query is None or search.callback is None or getattr(search.callback, "_worker", False):
        return
    original = search.callback

    @click.pass_context
    def callback(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        if (
            kwargs.get("dbtable") != SEARCHED_TABLE
            or kwargs.get("show_sql")
            or not is_worker_archive(kwargs.get("path"))
        ):
            return ctx.invoke(original, *args, **kwargs)
        sql, params = archive_search(kwargs)
        output = {k: kwargs.get(k) for k in OUTPUT}
        return ctx.invoke(
            query,
            path=kwargs["path"],
            sql=sql,
            param=params,
            raw=False,
            raw_lines=False,
            attach=(),
            functions=None,
            **output,
        )

    callback._worker = True  # type: ignore[attr-defined]
    search.callback = callback


def archive_search(options: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The SQL (and its named parameters) that lists the articles ``sqlite-utils search`` asked
    for, ranked (or ordered) as the options say; click.ClickException for a query that cannot run."""
    from worker.archive import Archive
    from worker.search import WINDOW, NothingToSearch, SearchError, plan, ranked
    from worker.search_plan import named

    q, limit, order = options.get("q") or "", options.get("limit"), options.get("order")
    columns = ", ".join(f"a.[{c}]" for c in options.get("column") or ()) or "a.*"
    raw = not options.get("quote") and bool(_FTS_SYNTAX.search(q))
    with Archive(options["path"], readonly=True) as archive:
        conn = archive.db.conn
        for attempt_raw in [True, False] if raw else [False]:
            try:
                match = plan(conn, q, attempt_raw)
                if order:
                    select, args = named(*match.rowids(), prefix="q")
                    sql = f"select {columns} from [{SEARCHED_TABLE}] a where a.rowid in ({select}) order by {order}"
                    return _limited(sql, limit), [(k, str(v)) for k, v in args.items()]
                window = WINDOW if limit is not None else None
                hits = ranked(conn, match, limit=limit if limit is not None else -1, window=window, raw=attempt_raw)
                break
            except NothingToSearch:
                hits = []
                break
            except SearchError as exc:
                if attempt_raw and "not a valid FTS5 query" in str(exc):
                    continue  # searched as quoted words instead
                raise click.ClickException(str(exc)) from None
    sql = f"select {columns} from json_each(:ids) r join [{SEARCHED_TABLE}] a on a.rowid = r.value order by r.key"
    return sql, [("ids", json.dumps([rowid for rowid, _ in hits]))]


def _limited(sql: str, limit: int | None) -> str:
    return sql if limit is None else f"{sql} limit {int(limit)}"
