"""Migration 7 (released: never edit): a trigram index for scripts written without spaces.

``articles_fts`` splits text into words at spaces and punctuation. Chinese, Japanese, Thai, Lao,
Khmer and Burmese are written without spaces between words, and Korean writes particles onto
the word (서울에서, "in Seoul"), so there a word is never a token of its own: 梁振英 inside
香港特首梁振英宣布 was not found at all.

``articles_trigram`` (FTS5, ``trigram`` tokenizer) indexes every run of three characters of the
articles whose text holds any character of those scripts, and of those only: an index of every
article's trigrams is as large as the rest of the archive (benchmarks/search.py, README). Any
substring of three characters or more is one phrase of it; a shorter word (香港, 東京) is found
through the index's vocabulary (``articles_trigram_vocab``), as every trigram that begins with
it. The index reads its text from a view that ends each column in two spaces, so that a word at
the very end of a headline begins a trigram too. ``versions_trigram`` does the same for the
texts an article no longer shows (the ones ``versions_fts`` holds, for ``--all-versions``).

Which articles: the ``spaceless`` column, set by the writer (``is_spaceless``, a regular
expression); triggers keep the index in step with inserts, edits and deletes. A row written
without the column set (by another program) is decided by SQLite's GLOB, which costs 0.75 to
1.4 ms over an article's text: as the writer's only test it doubled the cost of storing one.
"""

from __future__ import annotations

import sqlite_utils

from worker.text.scripts import SPACELESS_RANGES

COLUMNS = ("headline", "dek", "body", "byline")
PAD = "'  '"
WEIGHTS = "bm25(10.0, 4.0, 1.0, 2.0)"
GLOB_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in SPACELESS_RANGES)


def spaceless(prefix: str = "", flag: bool = False) -> str:
    """SQL: whether a row's text (``prefix`` ``new.``, ``old.`` or none) holds a character of those
    scripts. With ``flag`` (articles), the row's ``spaceless`` column says so when it is set: the
    writer sets it (``is_spaceless``); GLOB decides for a row written without it."""
    text = " || ' ' || ".join(f"coalesce({prefix}{c}, '')" for c in COLUMNS)
    glob = f"(({text}) GLOB '*[{GLOB_CLASS}]*')"
    return f"coalesce({prefix}spaceless, {glob})" if flag else glob


def padded(prefix: str = "") -> str:
    return ", ".join(f"{prefix}{c} || {PAD}" for c in COLUMNS)


def migrate_7(db: sqlite_utils.Database) -> None:
    cols = ", ".join(COLUMNS)
    db.execute("ALTER TABLE articles ADD COLUMN spaceless INTEGER")
    db.execute(f"UPDATE articles SET spaceless = {spaceless()}")
    for family in ("articles", "versions"):
        view, table = f"{family}_trigram_text", f"{family}_trigram"
        named = ", ".join(f"{c} || {PAD} AS {c}" for c in COLUMNS)
        where = spaceless(flag=family == "articles")
        db.execute(f"CREATE VIEW {view} AS SELECT id, {named} FROM {family} WHERE {where}")
        db.execute(
            f"CREATE VIRTUAL TABLE {table} USING fts5({cols}, tokenize='trigram', content='{view}', content_rowid='id')"
        )
        db.execute(f"CREATE VIRTUAL TABLE {table}_vocab USING fts5vocab({table}, 'row')")
        db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('rank', '{WEIGHTS}')")
    delete = (
        f"INSERT INTO articles_trigram (articles_trigram, rowid, {cols}) "
        f"SELECT 'delete', old.id, {padded('old.')} WHERE {spaceless('old.', flag=True)};"
    )
    insert = (
        f"INSERT INTO articles_trigram (rowid, {cols}) SELECT new.id, {padded('new.')} "
        f"WHERE {spaceless('new.', flag=True)};"
    )
    db.execute(f"CREATE TRIGGER articles_trigram_ai AFTER INSERT ON articles BEGIN {insert} END")
    db.execute(f"CREATE TRIGGER articles_trigram_ad AFTER DELETE ON articles BEGIN {delete} END")
    db.execute(f"CREATE TRIGGER articles_trigram_au AFTER UPDATE OF {cols} ON articles BEGIN {delete} {insert} END")
    db.execute("INSERT INTO articles_trigram (articles_trigram) VALUES ('rebuild')")
    db.execute(
        f"INSERT INTO versions_trigram (rowid, {cols}) SELECT id, {cols} FROM versions_trigram_text "
        "WHERE id IN (SELECT id FROM versions_fts_docsize)"
    )
