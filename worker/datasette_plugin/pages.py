"""The plugin's pages: an article as one reads it, and the archive's activity (two charts).

Thin handlers: check the database and Datasette's permissions, read (``article``, ``charts``) on
Datasette's read connection, render a template of the plugin (``templates/``) that extends
Datasette's own, so the pages look like the rest of Datasette.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from datasette.utils.asgi import NotFound, Response

from worker.datasette_plugin import charts
from worker.datasette_plugin.article import read
from worker.datasette_plugin.databases import archive_database

DAYS = 60  # days the activity charts show unless ?days= says otherwise
MAX_DAYS = 731


async def _database(request: Any, datasette: Any) -> Any:
    """The archive the URL names, once the actor may see it; NotFound for any other database."""
    name = request.url_vars["database"]
    if not archive_database(datasette, name):
        raise NotFound(f"{name}: not an archive of the news archive worker")
    await datasette.ensure_permissions(
        request.actor, [("view-table", (name, "articles")), ("view-database", name), "view-instance"]
    )
    return datasette.get_database(name)


async def article(request: Any, datasette: Any) -> Response:
    db = await _database(request, datasette)
    article_id = int(request.url_vars["id"])
    page = await db.execute_fn(lambda conn: read(conn, article_id))
    if page is None:
        raise NotFound(f"no article with id {article_id}")
    context = {"database": db.name, "page": page, "row_url": datasette.urls.row(db.name, "articles", str(article_id))}
    return Response.html(await datasette.render_template("worker_article.html", context, request=request))


async def activity(request: Any, datasette: Any) -> Response:
    db = await _database(request, datasette)
    try:
        days = min(max(int(request.args.get("days", DAYS)), 1), MAX_DAYS)
    except ValueError:
        days = DAYS
    today = datetime.now(UTC).date()
    data = await db.execute_fn(lambda conn: charts.read(conn, days, today))
    context = {
        "database": db.name,
        "days": days,
        "activity": data,
        "articles_chart": charts.bars(data.days, data.articles, title=f"Articles per day by source, {days} days"),
        "failures_chart": charts.bars(data.days, data.failures, title=f"Failed runs per day, {days} days", height=160),
    }
    return Response.html(await datasette.render_template("worker_activity.html", context, request=request))
