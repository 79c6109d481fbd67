"""``worker history ID``: the versions of one article, with a readable diff between each and the
version before it (pure: rows in, lines out; the CLI prints them)."""

from __future__ import annotations

import difflib
import sqlite3
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from worker.errors import WorkerError

WIDTH = 100


@dataclass(frozen=True)
class Version:
    version: int
    reason: str
    seen_at: str
    source: str | None
    url: str | None
    headline: str
    body: str
    content_hash: str


def versions(conn: sqlite3.Connection, article_id: int) -> list[Version]:
    """Every version of the article, oldest first; WorkerError when there is no such article."""
    rows = conn.execute(
        "SELECT version, reason, seen_at, source, url, headline, body, content_hash FROM versions "
        "WHERE article_id = ? ORDER BY version",
        [article_id],
    ).fetchall()
    if not rows:
        raise WorkerError(f"no article with id {article_id} (ids are in search --json and export)")
    return [Version(*row) for row in rows]


def lines(history: list[Version], shown: int | None = None) -> Iterator[tuple[str, str]]:
    """(kind, text) lines: ``title`` for a version's heading, ``same``/``add``/``remove`` for the
    diff of its headline and body against the version before it (whole text for the first)."""
    previous: Version | None = None
    for v in history:
        mark = "  (shown)" if v.version == shown else ""
        yield "title", f"version {v.version}  {v.reason}  {v.seen_at}  {v.source or ''}  {v.url or ''}{mark}".rstrip()
        if previous is None:
            yield "same", v.headline
            yield "same", ""
            yield from (("same", line) for line in _wrapped(v.body))
        else:
            yield from diff(previous, v)
        yield "same", ""
        previous = v


def diff(before: Version, after: Version) -> Iterator[tuple[str, str]]:
    """(kind, text) lines of what changed from ``before`` to ``after``: the headline, then the
    body's changed lines with one line of context (``...`` between distant changes)."""
    if before.headline != after.headline:
        yield "remove", "- " + before.headline
        yield "add", "+ " + after.headline
    if before.body == after.body:
        yield "same", "  (same text)" if before.headline != after.headline else "  (no change)"
        return
    changes = difflib.unified_diff(_wrapped(before.body), _wrapped(after.body), lineterm="", n=1)
    for line in list(changes)[2:]:  # without the ---/+++ header
        kind = "add" if line.startswith("+") else "remove" if line.startswith("-") else "same"
        yield kind, ("  ..." if line.startswith("@@") else line[0] + " " + line[1:])


def _wrapped(body: str) -> list[str]:
    """The body as lines of at most WIDTH characters, a blank line between paragraphs: what the
    diff compares, so one changed word shows as one changed line."""
    out: list[str] = []
    for para in body.split("\n\n"):
        out.extend(textwrap.wrap(para, WIDTH) or [""])
        out.append("")
    return out[:-1]
