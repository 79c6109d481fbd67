"""Full-text search over the archive: bm25 with the headline weighted above the body.

User queries are plain words by default: each word is quoted, so hyphens, quotes and FTS
operators in them can never be a syntax error (``word*`` stays a prefix search). ``raw=True``
passes FTS5 syntax through (NEAR, prefix*, column filters) and turns a syntax error into a
clear ``SearchError``. Each word is looked up in the index that can find it, the word index or,
for Chinese, Japanese, Thai, Korean and the like, the trigram index (``worker.search_plan``);
every reading of the query is ranked by its own index: the first reading's hits come first, then
the articles only a second reading finds (``ranked``; it is read only when the first finds fewer
than a page).

Ranking is two-stage, so a word found in most of a large archive costs no more than a rare one:

1. the window: the newest ``window`` matches, read in rowid order from the index (cheap: no
   scoring). A query with fewer matches than that is ranked over all of them, exactly.
2. bm25 over the window only, with the filters; the best ``limit`` rows win. bm25's statistics
   (document counts, average lengths) are the whole index's, so a row scores the same as it
   would in a full ranking. When the filters leave fewer than ``limit`` hits in the window, the
   window grows (by the share of matches the filters passed) until it holds enough or covers
   every match.

Snippets are made for the final hits only.

A query's cost is bounded: at most ``MAX_TERMS`` terms, at most ``MAX_NEAR_TERMS`` in one NEAR
group (its cost grows steeply with them), and ``QUERY_SECONDS`` of SQLite's time (a progress
handler with a deadline), so no query can hold the archive's reader for minutes.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from worker.archive.schema import HIT_COLUMNS, RANK_WEIGHTS
from worker.search_plan import Match, NothingToSearch, Plan, SearchError, compile_query, terms

__all__ = ["Filters", "NothingToSearch", "SearchError", "match_expression", "plan", "quote_query", "ranked", "search"]

# bm25 weights in articles_fts column order: headline, dek, body, byline
WEIGHTS = RANK_WEIGHTS
MARK = ("[", "]")
WINDOW = 5_000  # matches scored at most in the first pass (newest first)
QUERY_SECONDS = 10.0  # SQLite's time for one search (for an export: between two rows)
MAX_TERMS = 100  # words, phrases and prefixes in one query
MAX_NEAR_TERMS = 10  # terms in one NEAR(...) group
PROGRESS_STEPS = 1000  # SQLite steps between two looks at the clock
FTS_ERRORS = (
    "fts5",
    "syntax error",
    "no such column",
    "unterminated string",
    "malformed MATCH",
    "unknown special query",
)


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    since: str | None = None  # ISO date or datetime, on published_utc (first_seen_at when unknown)
    until: str | None = None
    lang: str | None = None


NO_FILTERS = Filters()


def quote_query(query: str) -> str:
    """Plain words -> an FTS5 query of quoted tokens (implicit AND); '' when nothing is searchable.

    ``Qala-e-Naw`` becomes the phrase ``"Qala-e-Naw"``; a trailing ``*`` keeps a prefix search."""
    return " ".join(term.quoted() for term in terms(query))


def match_expression(query: str, raw: bool = False) -> str:
    """The FTS5 MATCH string for a user query; SearchError when there is nothing to search or
    the query has more terms than a search may have."""
    match = query.strip() if raw else quote_query(query)
    if not match:
        raise NothingToSearch(f"nothing to search for in {query!r}: give at least one word")
    for group in _NEAR.findall(match):
        if (n := len(_TERM.findall(group))) > MAX_NEAR_TERMS:
            raise SearchError(f"query too costly: NEAR() with {n} terms, at most {MAX_NEAR_TERMS} in one NEAR group")
    if (n := len(_TERM.findall(match))) > MAX_TERMS:
        raise SearchError(f"query too long: {n} terms, at most {MAX_TERMS}")
    return match


def plan(conn: sqlite3.Connection, query: str, raw: bool = False, family: str = "articles") -> Plan:
    """A user query, checked (``match_expression``), as the indexes that find it (``search_plan``).
    The query is also read wholly in the trigram index only when the first reading matches fewer
    than ``WINDOW`` articles: that reading is for words written against text without spaces
    (``JR東海``), and a word found in thousands of articles would cost it most of the index."""
    match_expression(query, raw)
    with _fts_errors(raw):
        readings = compile_query(conn, query, raw=raw, family=family)
        if readings.substrings is not None:
            select, params = readings.first.rowids(family)
            if conn.execute(f"SELECT 1 FROM ({select}) LIMIT 1 OFFSET ?", [*params, WINDOW - 1]).fetchone():
                return Plan(readings.first)
        return readings


# a quoted string or a bareword (operators, and a NEAR group's distance, count as terms too: a bound)
_TERM = re.compile(r'"(?:[^"]|"")*"|[^\s"()+*:^,{}]+')
_NEAR = re.compile(r'\bNEAR\s*\(((?:"(?:[^"]|"")*"|[^",)])*)')  # its phrases, not the distance


class Deadline:
    """A limit on SQLite's time for a query on ``conn``: past it, SQLite stops the statement and
    ``limit`` (a context manager) raises ``SearchError("query took too long: ...")``. ``renew``
    starts the time again (an export renews it before each row)."""

    def __init__(self, conn: sqlite3.Connection, seconds: float | None = None):
        self.conn, self.seconds = conn, QUERY_SECONDS if seconds is None else seconds
        self.renew()

    def renew(self) -> None:
        self.until = time.monotonic() + self.seconds

    def passed(self) -> bool:
        return time.monotonic() > self.until

    @contextlib.contextmanager
    def limit(self) -> Iterator[Deadline]:
        self.conn.set_progress_handler(self.passed, PROGRESS_STEPS)
        try:
            yield self
        except sqlite3.OperationalError as exc:
            if str(exc) == "interrupted" and self.passed():
                raise SearchError(
                    f"query took too long: stopped after {self.seconds:g} s; "
                    "use fewer or rarer words, or --source/--since/--until"
                ) from None
            raise
        finally:
            self.conn.set_progress_handler(None, 0)


def where_sql(filters: Filters, alias: str = "a") -> tuple[str, list]:
    """SQL conditions (joined by AND, '' when none) and their parameters for ``filters``."""
    p = f"{alias}." if alias else ""
    clauses, params = [], []
    if filters.source:
        clauses.append(f"{p}source = ?")
        params.append(filters.source)
    if filters.lang:
        clauses.append(f"({p}lang = ? OR {p}lang LIKE ? || '-%')")
        params += [filters.lang, filters.lang]
    if filters.since:
        clauses.append(f"coalesce({p}published_utc, {p}first_seen_at) >= ?")
        params.append(check_date(filters.since, "since"))
    if filters.until and (bound := _next_day(check_date(filters.until, "until"))) is not None:
        clauses.append(f"coalesce({p}published_utc, {p}first_seen_at) < ?")
        params.append(bound)
    return " AND ".join(clauses), params


def check_date(value: str, name: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2}([T ][\d:.]+Z?)?)?)?", value):
        raise SearchError(f"--{name} {value!r}: give an ISO date such as 2024-01-31")
    try:  # a date that exists: not 2021-13-45
        if len(value) == 7:
            date.fromisoformat(value + "-01")
        elif len(value) > 7:
            date.fromisoformat(value[:10])
            if len(value) > 10:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(f"--{name} {value!r}: no such date; give an ISO date such as 2024-01-31") from None
    return value


def _next_day(value: str) -> str | None:
    """--until 2024-01-31 includes that whole day (2024-01 that whole month, 2024 that year): the
    start of the next one, or None past the last day of year 9999 (no bound: an ISO date of five
    digits would sort before every other)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = date.fromisoformat(value)
        return None if day == date.max else (day + timedelta(days=1)).isoformat()
    if re.fullmatch(r"\d{4}-\d{2}", value):
        y, m = int(value[:4]), int(value[5:])
        return None if y + m // 12 > 9999 else f"{y + m // 12:04d}-{m % 12 + 1:02d}"
    if re.fullmatch(r"\d{4}", value):
        return None if value == "9999" else f"{int(value) + 1:04d}"
    return value


def fts_error(exc: sqlite3.OperationalError, raw: bool) -> SearchError | None:
    """The user's error when SQLite could not read a MATCH query (None for any other failure)."""
    if not any(e in str(exc) for e in FTS_ERRORS):
        return None
    hint = "; leave out --raw to search the words as they are" if raw else ""
    return SearchError(f"not a valid FTS5 query ({exc}){hint}")


@contextlib.contextmanager
def _fts_errors(raw: bool) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if error := fts_error(exc, raw):
            raise error from None
        raise


def _run(conn: sqlite3.Connection, sql: str, params: list, raw: bool) -> list[tuple]:
    with _fts_errors(raw):
        return conn.execute(sql, params).fetchall()


def ranked(
    conn: sqlite3.Connection,
    readings: Plan,
    *,
    limit: int = 20,
    filters: Filters = NO_FILTERS,
    window: int | None = WINDOW,
    raw: bool = True,
) -> list[tuple[int, float]]:
    """(rowid, bm25) of the best ``limit`` matches of any reading of the query (all with a
    negative ``limit``), best first: the first reading's, ranked by its index, then those only
    the other finds (a Latin word inside a run of text without spaces: ``JR東海``), ranked by
    theirs (the trigram index's bm25 is on another scale). So the other reading is run only when
    the first finds fewer than ``limit``: it reads the trigram index, whose doclists are long for a
    Latin word's trigrams wherever its articles hold much Latin text (benchmarks/search.py --mixed)."""
    where, params = where_sql(filters)
    selective = False
    if where and window is not None and (wanted := _window_for(conn, where, params, limit)) > 0:
        window, selective = max(window, wanted), True
    filtered = (where, params, selective)
    hits = _ranked(conn, readings.first, limit, filtered, window, raw)
    if readings.substrings is None or 0 <= limit <= len(hits) or not (missed := _missed(conn, readings, raw)):
        return hits
    only = replace(readings.substrings, among=json.dumps(missed))
    wide = window if window is not None and len(missed) > window else None
    rest = _ranked(conn, only, limit - len(hits) if limit >= 0 else limit, filtered, wide, raw)
    return hits + rest


def _missed(conn: sqlite3.Connection, readings: Plan, raw: bool) -> list[int]:
    """The rowids the other reading finds and the first does not (the first finds fewer than
    ``WINDOW``: ``plan`` leaves the other out otherwise)."""
    assert readings.substrings is not None
    found = {rowid for (rowid,) in _run(conn, *readings.first.rowids(), raw)}
    return [rowid for (rowid,) in _run(conn, *readings.substrings.rowids(), raw) if rowid not in found]


def _ranked(
    conn: sqlite3.Connection, match: Match, limit: int, filtered: tuple[str, list, bool], window: int | None, raw: bool
) -> list[tuple[int, float]]:
    """One reading's best matches; ``filtered``: the filters' SQL, parameters and whether they
    pass few enough rows to read them from their indexes."""
    fts, found, found_args = match.condition()
    where, params, selective = filtered
    weights = ", ".join(str(w) for w in WEIGHTS)
    while True:
        cutoff = None
        if window is not None:
            row = _run(
                conn,
                f"SELECT {fts}.rowid FROM {fts} WHERE {found} ORDER BY {fts}.rowid DESC LIMIT 1 OFFSET ?",
                [*found_args, window - 1],
                raw,
            )
            cutoff = row[0][0] if row else None
        select = f"SELECT {fts}.rowid, bm25({fts}, {weights}) AS score FROM {fts}"
        if not where:
            sql, args = f"{select} WHERE {found}", list(found_args)
        elif cutoff is None and not selective:  # few matches, a broad filter: look each match up
            sql = f"{select} JOIN articles a ON a.rowid = {fts}.rowid AND {where} WHERE {found}"
            args = [*params, *found_args]
        else:  # the window's rows that pass the filters, from the indexes, as a set to probe
            sql = (
                f"{select} WHERE {found} AND +{fts}.rowid IN "
                f"(SELECT a.rowid FROM articles a WHERE {where} AND a.rowid >= ?)"
            )
            args = [*found_args, *params, cutoff or 0]
        if cutoff is not None:
            sql, args = sql + f" AND {fts}.rowid >= ?", [*args, cutoff]
        hits = _run(conn, sql + " ORDER BY score LIMIT ?", [*args, limit], raw)
        if cutoff is None or window is None or len(hits) >= limit:
            return hits
        # the filters passed len(hits) of `window` matches: grow to what should hold `limit`
        window = int(window * (8 if not hits else min(8.0, max(1.5, 1.3 * limit / len(hits)))))


SELECTIVE = 50_000  # filtered rows counted at most to estimate how selective the filters are


def _window_for(conn: sqlite3.Connection, where: str, params: list, limit: int) -> int:
    """A window that should hold ``limit`` rows passing selective filters (a quiet source, a
    short period), so that one pass finds them instead of a window grown step by step. The
    count of filtered rows is capped, so a filter that passes many rows costs little."""
    passing = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM articles a WHERE {where} LIMIT ?)", [*params, SELECTIVE]
    ).fetchone()[0]
    if passing >= SELECTIVE:
        return 0
    total = conn.execute("SELECT max(rowid) FROM articles").fetchone()[0] or 0
    return int(1.5 * limit * total / max(passing, 1))


def search(
    conn: sqlite3.Connection,
    query: str,
    *,
    limit: int = 20,
    filters: Filters = NO_FILTERS,
    raw: bool = False,
    window: int | None = WINDOW,
    all_versions: bool = False,
    bounded: bool = True,
) -> list[dict]:
    """Ranked hits: the article's id, headline, byline, source, publication, dates, url, lang,
    version count and cluster, the ``version`` whose text matched, a ``snippet`` (the match
    [marked]) and ``rank`` (bm25: lower is better). An article is found by the words of its latest
    text; with ``all_versions``, by those of any text it ever had. ``bounded``: SQLite's time is
    limited (``QUERY_SECONDS``); without, the caller's own limit applies (Datasette's, when a
    query of Datasette's calls it)."""
    with Deadline(conn).limit() if bounded else contextlib.nullcontext():
        readings = plan(conn, query, raw)
        hits = [
            (score, _hit(conn, readings, "articles", rowid))
            for rowid, score in ranked(conn, readings, limit=limit, filters=filters, window=window, raw=raw)
        ]
        if all_versions:
            earlier = plan(conn, query, raw, family="versions")
            found = {hit["id"] for _, hit in hits if hit}
            for vid, score in _earlier_versions(conn, earlier, limit, filters, raw):
                hit = _hit(conn, earlier, "versions", vid)
                if hit and hit["id"] not in found:
                    found.add(hit["id"])
                    hits.append((score, hit))
            hits.sort(key=lambda h: h[0])
    return [{**hit, "rank": round(score, 4)} for score, hit in hits[:limit] if hit]


def _hit(conn: sqlite3.Connection, readings: Plan, family: str, rowid: int) -> dict | None:
    """One hit's columns and snippet, from the index that matched (the article's or a version's)."""
    for match in readings.matches:
        fts, found, args = match.condition(family)
        if family == "articles":
            join, key, version = f"JOIN articles a ON a.id = {fts}.rowid", "a.id", "a.version"
        else:
            join = f"JOIN versions v ON v.id = {fts}.rowid JOIN articles a ON a.id = v.article_id"
            key, version = "v.id", "v.version"
        row = conn.execute(
            f"SELECT {', '.join('a.' + c for c in HIT_COLUMNS)}, {version}, "
            f"snippet({fts}, -1, '{MARK[0]}', '{MARK[1]}', '…', 24) FROM {fts} {join} "
            f"WHERE {found} AND {key} = ?",
            [*args, rowid],
        ).fetchone()
        if row is not None:
            return {**dict(zip(HIT_COLUMNS, row[:-2])), "version": row[-2], "snippet": (row[-1] or "").strip()}
    return None


def _earlier_versions(
    conn: sqlite3.Connection, readings: Plan, limit: int, filters: Filters, raw: bool
) -> list[tuple[int, float]]:
    """(version id, bm25) of the best matches among texts articles no longer show."""
    where, params = where_sql(filters)
    weights = ", ".join(str(w) for w in WEIGHTS)
    best: dict[int, float] = {}
    for match in readings.matches:
        fts, found, args = match.condition("versions")
        sql = (
            f"SELECT {fts}.rowid, bm25({fts}, {weights}) AS score FROM {fts} "
            f"JOIN versions v ON v.id = {fts}.rowid JOIN articles a ON a.id = v.article_id "
            f"WHERE {found}{' AND ' + where if where else ''} ORDER BY score LIMIT ?"
        )
        for vid, score in _run(conn, sql, [*args, *params, limit], raw):
            best.setdefault(vid, score)
    return sorted(best.items(), key=lambda hit: hit[1])[:limit]
