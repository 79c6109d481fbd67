"""Datasette's search box on an archive's ``articles`` (``?_search=``), answered as ``worker search``
finds matches.

Datasette's own search filter is ``id IN (every match)``: for a word in most of a million articles,
the listing (sorted by date), its count and each facet look up hundreds of thousands of rows, and
the page fails with "SQL query took too long". On an archive the worker made, this filter takes
its place (Datasette's still serves every other table and ``?_search_COLUMN=``):

- the query is read as ``worker search`` reads it: plain words by default, each in the index
  that can find it (``worker.search_plan``: Chinese, Japanese, Thai, ... in the trigram index),
  FTS5 syntax with ``_searchmode=raw`` (or ``searchmode: raw`` in the metadata);
- the rows are the matches among the newest ``WINDOW`` matches (``worker search``'s first
  stage), a window grown while Datasette's other filters (``?source=``, a facet) leave less than
  a page of them. Datasette lists the archive newest first, so its first pages are the ones it
  would list anyway; the page says how many articles match in all.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from worker.search import WINDOW, Deadline, NothingToSearch, SearchError, plan
from worker.search_plan import Plan, named

SEARCHED_TABLE = "articles"
COUNT_SECONDS = 0.5  # at most for counting every match (the count is left out past it)
GROW_SECONDS = 0.3  # at most for growing the window under other filters
GROWTH = 8


@dataclass(frozen=True)
class Found:
    """What a search filter adds to Datasette's SQL: a condition on ``articles.id`` with its
    named parameters, and how many articles match in all (None: not counted in time)."""

    where: str
    params: dict[str, str | int]
    window: int | None  # the newest matches the rows are taken from; None: every match
    total: int | None


@dataclass(frozen=True)
class Filtered:
    """Datasette's other filters on the page (its SQL, named parameters) and the rows a page shows."""

    where: tuple[str, ...] = ()
    params: dict | None = None
    page: int = 100


def find(conn: sqlite3.Connection, query: str, raw: bool, seconds: float, filtered: Filtered = Filtered()) -> Found:
    """The matches of ``query`` as a condition on ``articles.id``: the newest ``WINDOW`` (as the
    first reading of the query counts them; the other adds its matches among them), more when
    Datasette's other filters leave fewer than a page of them (``_window``)."""
    with Deadline(conn, seconds).limit():
        try:
            readings = plan(conn, query, raw)
        except NothingToSearch:  # only quotes or operators: no article matches
            return Found("0", {}, None, 0)
        newest, window = _window(conn, readings, filtered)
    total = _count(conn, readings, COUNT_SECONDS) if newest is not None else None
    select, params = readings.rowids(newest=newest)
    where, bound = named(f"[{SEARCHED_TABLE}].id IN ({select})", params)
    return Found(where, bound, window if newest is not None else None, total)


def _window(conn: sqlite3.Connection, readings: Plan, filtered: Filtered) -> tuple[int | None, int]:
    """(first rowid of the window, its size): ``WINDOW`` matches, grown (x8 a step, within
    ``GROW_SECONDS``) while the other filters pass fewer than a page of them; (None, n): every match."""
    fts, condition, args = readings.first.condition()
    window, newest = WINDOW, None
    started = time.monotonic()
    while True:
        row = conn.execute(
            f"SELECT {fts}.rowid FROM {fts} WHERE {condition} ORDER BY {fts}.rowid DESC LIMIT 1 OFFSET ?",
            [*args, window - 1],
        ).fetchone()
        if row is None:
            return None, window
        newest = row[0]
        if not filtered.where or time.monotonic() - started > GROW_SECONDS:
            return newest, window
        select, params = named(*readings.rowids(newest=newest))
        passing = conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM [{SEARCHED_TABLE}] WHERE id IN ({select}) "
            f"AND {' AND '.join(filtered.where)} LIMIT :worker_page)",
            {**params, **(filtered.params or {}), "worker_page": filtered.page},
        ).fetchone()[0]
        if passing >= filtered.page:
            return newest, window
        window *= GROWTH


def _count(conn: sqlite3.Connection, readings: Plan, seconds: float) -> int | None:
    """How many articles match in all: the first reading's matches (counted in its index, no
    row read), and the other's that the first does not find (few: looked up one by one)."""
    select, params = readings.first.rowids()
    try:
        with Deadline(conn, seconds).limit():
            total = int(conn.execute(f"SELECT count(*) FROM ({select})", params).fetchone()[0])
            if readings.substrings is not None:
                fts, condition, args = readings.first.condition()
                others, other_args = readings.substrings.rowids()
                total += conn.execute(
                    f"SELECT count(*) FROM ({others}) AS b WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {fts} WHERE {condition} AND {fts}.rowid = b.rowid)",
                    [*other_args, *args],
                ).fetchone()[0]
            return total
    except SearchError:
        return None


def description(query: str, found: Found) -> str:
    """What the page says above the rows, as Datasette words it ('search matches "x"')."""
    text = f'search matches "{query}"'
    if found.window is None:
        return text
    total = f" of {found.total:,}" if found.total is not None else ""
    return f"{text} (the newest {found.window:,}{total} matching articles)"
