"""A search query read once, and which of the archive's two full-text indexes finds each word.

- ``{family}_fts`` (porter, unicode61): words split at spaces and punctuation, English words
  stemmed (``fighters`` finds ``fighter``), accents ignored. It serves every language written
  with spaces between words: English, German, Russian, Urdu, Hindi, ...
- ``{family}_trigram`` (migration 7): every three characters of the texts in Chinese, Japanese,
  Korean, Thai, Lao, Khmer and Burmese, where a word is a run of characters inside a longer one.

``family`` is ``articles`` (the text each article shows) or ``versions`` (the texts it showed
before). All of a plain query's words must match. A word in those scripts matches as a
substring; one of one or two characters (香港, 東京), shorter than a trigram, matches as every
trigram of the index that begins with it (read from the index's vocabulary: the indexed text
ends in two spaces, so that every occurrence begins a trigram). Only articles of the trigram
index can hold such a word, so a query with one runs there wholly, its other words as
substrings too (in a text without spaces a Latin word is part of a longer run: ``JR東海``). A
query without one runs on the word index, and also wholly on the trigram index (``Plan``: an
article either reading finds is a match; the second ranks only those the first misses, after
the first's, and ``search.ranked`` reads it only when the first finds fewer than a page),
unless the word index finds thousands of articles for it already (``search.plan``). A ``raw``
query (FTS5 syntax) runs on the trigram index when it holds a character of those scripts, on
both otherwise.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import regex

from worker.errors import WorkerError
from worker.text.scripts import SPACELESS

MAX_SHORT = 2000  # trigrams a word of one or two characters may stand for
_WORD = regex.compile(r"[\w\p{M}][\w\p{M}'’.\-]*(\*?)")  # letters with their combining marks (Thai, Hindi)


class SearchError(WorkerError):
    """A query SQLite's FTS5 cannot run, or one with nothing to search for."""


class NothingToSearch(SearchError):
    """A query without a single word (only quotes, brackets or operators)."""


@dataclass(frozen=True)
class Term:
    """One word of a plain query; ``prefix`` for ``word*``."""

    text: str
    prefix: bool = False

    @property
    def spaceless(self) -> bool:
        """In a script written without spaces: found as a substring, in the trigram index."""
        return SPACELESS.search(self.text) is not None

    def quoted(self) -> str:
        star = "*" if self.prefix and not self.spaceless else ""  # a substring is a prefix already
        return '"' + self.text.replace('"', '""') + '"' + star


def terms(query: str) -> list[Term]:
    """The words of a plain query: quotes, brackets and FTS operators only separate them;
    ``Qala-e-Naw`` stays one word and ``word*`` is a prefix."""
    out = []
    for m in _WORD.finditer(query):
        word = m.group(0).rstrip("*").rstrip(".'’-") or m.group(0).rstrip("*")
        out.append(Term(word, bool(m.group(1))))
    return out


@dataclass(frozen=True)
class Match:
    """A query as FTS5 MATCH expressions, ``words`` for the word index and ``grams`` for the
    trigram index (None: that index is not asked); every one given must hold. ``nothing``: a
    word that no indexed text holds, so that nothing matches."""

    words: str | None = None
    grams: str | None = None
    nothing: bool = False
    among: str | None = None  # a JSON array of rowids: only those can match (None: any)

    def indexes(self, family: str = "articles") -> list[tuple[str, str]]:
        """(FTS table, MATCH) of each index asked; the first one ranks the matches."""
        out = []
        if self.words is not None:
            out.append((f"{family}_fts", self.words))
        if self.grams is not None:
            out.append((f"{family}_trigram", self.grams))
        return out

    def condition(self, family: str = "articles", newest: int | None = None) -> tuple[str, str, list]:
        """(ranking table, SQL condition on it, parameters): its MATCH, and the other index's
        matches as a set of rowids; ``newest``: only rowids from that one on."""
        (table, match), *others = self.indexes(family)
        sql, params = f"{table} MATCH ?", list[str | int]([match])
        for other, expression in others:
            sql += f" AND {table}.rowid IN (SELECT rowid FROM {other} WHERE {other} MATCH ?)"
            params.append(expression)
        if newest is not None:
            sql += f" AND {table}.rowid >= ?"
            params.append(newest)
        if self.among is not None:
            sql += f" AND {table}.rowid IN (SELECT value FROM json_each(?))"
            params.append(self.among)
        if self.nothing:
            sql += " AND 0"
        return table, sql, params

    def rowids(self, family: str = "articles", newest: int | None = None) -> tuple[str, list]:
        """SQL selecting the rowid of every match (from ``newest`` on), and its parameters."""
        table, where, params = self.condition(family, newest)
        return f"SELECT {table}.rowid FROM {table} WHERE {where}", params


def named(sql: str, params: list, prefix: str = "worker") -> tuple[str, dict[str, Any]]:
    """SQL of this module with its ``?`` parameters named (``:worker_0`` ...), for a caller that
    binds a dict (Datasette, ``sqlite-utils query``); a ``?`` in the SQL here is always a parameter."""
    numbers = iter(range(len(params)))
    return re.sub(r"\?", lambda _: f":{prefix}_{next(numbers)}", sql), {
        f"{prefix}_{i}": value for i, value in enumerate(params)
    }


@dataclass(frozen=True)
class Plan:
    """The readings of a query; an article any of them matches is a match. ``first`` sends each
    word to its index; ``substrings``, every word to the trigram index (None: the same reading,
    or not one that can run)."""

    first: Match
    substrings: Match | None = None

    @property
    def matches(self) -> list[Match]:
        return [m for m in (self.first, self.substrings) if m is not None]

    @property
    def nothing(self) -> bool:
        return self.first.nothing and self.substrings is None

    def rowids(self, family: str = "articles", newest: int | None = None) -> tuple[str, list]:
        """SQL selecting the rowid of every match (from ``newest`` on), and its parameters."""
        parts = [m.rowids(family, newest) for m in self.matches]
        return " UNION ".join(sql for sql, _ in parts), [p for _, params in parts for p in params]


def compile_query(conn: sqlite3.Connection, query: str, *, raw: bool = False, family: str = "articles") -> Plan:
    """The Plan of a user query (checked by ``search.match_expression`` first)."""
    if raw:
        expression = query.strip()
        if SPACELESS.search(expression):
            return Plan(Match(grams=expression))
        return Plan(Match(words=expression), Match(grams=expression))
    words: list[str] = []
    grams: list[str | None] = []
    substrings: list[str | None] | None = []
    for term in terms(query):
        if term.spaceless:
            grams.append(_substring(conn, term, family))
            if substrings is not None:
                substrings.append(grams[-1])
            continue
        words.append(term.quoted())
        if substrings is not None:
            try:
                substrings.append(_substring(conn, term, family))
            except _TooShort:  # a short Latin word: no reading of every word as a substring
                substrings = None
    if substrings is None:
        return Plan(_match(" ".join(words) or None, grams))
    if grams or not words:  # only articles of the trigram index can match
        return Plan(_match(None, substrings))
    other = _match(None, substrings)
    return Plan(Match(" ".join(words)), None if other.nothing else other)


class _TooShort(SearchError):
    """A word of one or two characters that stands for more trigrams than a query may hold."""


def _match(words: str | None, grams: list[str | None]) -> Match:
    """The Match of word-index terms and trigram terms (None: a term that no text holds)."""
    if not grams:
        return Match(words)
    if any(g is None for g in grams):
        return Match(words, '""', nothing=True)
    return Match(words, " AND ".join(g for g in grams if g is not None))


def _substring(conn: sqlite3.Connection, term: Term, family: str) -> str | None:
    """A term as a substring of the trigram index: a phrase of its trigrams, or, one or two
    characters long, every trigram that begins with it (None when there is none)."""
    if len(term.text) >= 3:
        return Term(term.text).quoted()
    expanded = _starting_with(conn, term.text.lower(), family)
    return "(" + " OR ".join(Term(t).quoted() for t in expanded) + ")" if expanded else None


def _starting_with(conn: sqlite3.Connection, text: str, family: str) -> list[str]:
    """The trigrams of the index that begin with ``text`` (one or two characters)."""
    high = text[:-1] + chr(ord(text[-1]) + 1)
    rows = conn.execute(
        f"SELECT term FROM {family}_trigram_vocab WHERE term >= ? AND term < ? LIMIT ?", [text, high, MAX_SHORT + 1]
    ).fetchall()
    if len(rows) > MAX_SHORT:
        raise _TooShort(f"{text!r} stands for too many words to search alone: add a character or another word")
    return [term for (term,) in rows]
