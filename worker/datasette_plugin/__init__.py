"""The worker's Datasette plugin, registered by entry point (``datasette archive.db`` loads it).

On a database the worker made (``PRAGMA application_id``; every other database is left alone):

- ``?_search=`` on ``articles`` answers at archive scale and in every language (``search``);
- a canned query ``search`` ranks matches best first, as ``worker search`` does, through the
  SQL function ``worker_search(query[, limit])`` (JSON of the hits);
- ``/{database}/-/article/{id}`` shows an article as one reads it, with its versions (a diff of
  each against the one before), its sightings and its wire cluster (``pages``); the headline in
  a listing links to it;
- ``/{database}/-/activity`` charts articles per day by source and failed runs per day.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Generator
from typing import Any

from datasette import hookimpl
from datasette.filters import FilterArguments, Filters
from datasette.utils.asgi import BadRequest
from datasette.views.base import ureg
from markupsafe import Markup, escape

from worker.datasette_plugin import pages
from worker.datasette_plugin.databases import archive_database
from worker.datasette_plugin.search import SEARCHED_TABLE, Filtered, description, find
from worker.search import NothingToSearch, SearchError
from worker.search import search as ranked_hits

SEARCH_LIMIT = 50  # hits the canned search shows
SEARCH_QUERY = """select
  json_extract(value, '$.id') as id,
  json_extract(value, '$.published_at') as published_at,
  json_extract(value, '$.source') as source,
  json_extract(value, '$.headline') as headline,
  json_extract(value, '$.snippet') as snippet,
  json_extract(value, '$.rank') as rank
from json_each(worker_search(:q))
order by key"""


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    def worker_search(query: str, limit: int = SEARCH_LIMIT) -> str:
        try:
            hits = ranked_hits(conn, query or "", limit=int(limit), bounded=False)
        except NothingToSearch:  # an empty box, or only quotes and operators
            hits = []
        return json.dumps(hits, ensure_ascii=False)

    conn.create_function("worker_search", 1, worker_search)
    conn.create_function("worker_search", 2, worker_search)


@hookimpl
def canned_queries(datasette: Any, database: str) -> dict:
    if not archive_database(datasette, database):
        return {}
    return {
        "search": {
            "title": "Search, best match first",
            "description": "Articles ranked as worker search ranks them (the headline counts most), "
            f"the best {SEARCH_LIMIT}; plain words in any language.",
            "sql": SEARCH_QUERY,
        }
    }


@hookimpl(wrapper=True)
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Generator[None, list, list]:
    """Datasette's own ``?_search=`` filter on the archive's articles (the closure its
    ``datasette/filters.py`` ``search_filters`` returns) is replaced by the worker's, which comes
    first, so that SQLite reads the articles from its short list. Should a Datasette not be
    recognised here, both apply: the same rows, only slower."""
    results = yield
    query = request.args.get("_search")
    if table != SEARCHED_TABLE or query is None or not archive_database(datasette, database):
        return results
    ours = [r for r in results if getattr(r, "__qualname__", "") != "search_filters.<locals>.inner"]
    return [_search_filter(request, database, table, datasette, query), *ours]


def _search_filter(request: Any, database: str, table: str, datasette: Any, query: str) -> Any:
    async def inner() -> FilterArguments:
        context = {"supports_search": True, "search": query}
        if not query.strip():
            return FilterArguments([], extra_context=context)
        metadata = datasette.table_metadata(database, table)
        mode = request.args.get("_searchmode") or metadata.get("searchmode")
        seconds = datasette.setting("sql_time_limit_ms") / 1000
        filtered = _other_filters(request, table, metadata, datasette)
        try:
            found = await datasette.get_database(database).execute_fn(
                lambda conn: find(conn, query, mode == "raw", seconds, filtered)
            )
        except SearchError as exc:
            raise BadRequest(str(exc)) from None
        return FilterArguments([found.where], found.params, [description(query, found)], context)

    return inner


def _other_filters(request: Any, table: str, metadata: dict, datasette: Any) -> Filtered:
    """The column filters of the page (``?source=wire``, ``?lang__not=en``), as Datasette reads
    them, and how many rows the page shows."""
    args = [(k, v) for k in request.args for v in request.args.getlist(k) if not (k.startswith("_") and "__" not in k)]
    where, params = Filters(sorted(args), metadata.get("units", {}), ureg).build_where_clauses(table)
    size = request.args.get("_size") or metadata.get("size") or datasette.page_size
    page = int(size) if str(size).isdigit() else datasette.max_returned_rows
    return Filtered(tuple(where), params, page + 1)


@hookimpl
def register_routes() -> list:
    return [
        (r"^/(?P<database>[^/]+)/-/article/(?P<id>\d+)$", pages.article),
        (r"^/(?P<database>[^/]+)/-/activity$", pages.activity),
    ]


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """A headline in a listing of articles (the table, the canned search) links to its article page."""
    if column != "headline" or not archive_database(datasette, database):
        return None
    keys = set(row.keys())
    if "id" not in keys or not (table == SEARCHED_TABLE or (table is None and {"snippet", "rank"} <= keys)):
        return None  # any other query's ids need not be articles'
    article_id = row["id"]
    if not isinstance(article_id, int):
        return None
    href = datasette.urls.database(database) + f"/-/article/{article_id}"
    return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')


@hookimpl
def menu_links(datasette: Any) -> list:
    return [
        {"href": datasette.urls.database(name) + "/-/activity", "label": f"Activity of {name}"}
        for name in datasette.databases
        if archive_database(datasette, name)
    ]
