"""Local sources: a file, a folder (walked recursively) or a glob (``worker.fetchers.paths``).

``.txt`` plain-text articles, ``.html``/``.htm`` saved pages, ``.jsonl``/``.json`` article objects,
``.xml``/``.rss``/``.atom`` feed files. Each file's size and mtime are checkpointed after its
articles are stored, so a scheduled run over a growing inbox reads only new or changed files.
"""

from __future__ import annotations

import codecs
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from worker.fetchers import paths
from worker.fetchers.paths import NotRead
from worker.models import Checkpoint, Hints, Known, RawItem, Skipped, Source
from worker.text.bylines import format_byline
from worker.text.dates import parse_date
from worker.text.lang import lang_code
from worker.text.lines import plain_text

TEXT = (".txt",)
HTML = (".html", ".htm")
JSON = (".jsonl", ".json", ".ndjson")
FEED = (".xml", ".rss", ".atom")
SUFFIXES = TEXT + HTML + JSON + FEED
CONTENT_TYPES = {
    ".txt": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
}  # of a local file kept as a WARC resource record
MAX_FILE_BYTES = 10_000_000  # a single .txt/.html/feed file; JSON Lines stream line by line
MAX_LINE_BYTES = 10_000_000
SKIP_CHUNK_BYTES = 1 << 16  # a line past the cap is read on in chunks of this size, and dropped
TEXT_PROBE_BYTES = 8192  # the start of a JSON file that tells whether it is text
TOO_DEEP = "JSON nested too deeply"
PARTIAL_EVERY = 1000  # lines of a JSON Lines file between partial checkpoints

KEYS = {
    "headline": ("headline", "title", "name"),
    "body": ("body", "text", "content", "articleBody", "article_body", "maintext"),
    "url": ("url", "link", "canonical_url", "permalink"),
    "byline": ("byline", "author", "authors", "creator"),
    "published_at": ("published_at", "published", "date", "datePublished", "date_published", "pubDate"),
    "dek": ("dek", "description", "summary", "subtitle", "standfirst"),
    "publication": ("publication", "site_name", "publisher", "outlet"),
    "lang": ("lang", "language"),
}


def expand(path: str) -> Iterator[Path | NotRead]:
    """Every candidate path under a file, folder or glob, sorted, and the paths not read with
    their reasons (see ``worker.fetchers.paths`` for the rule on symbolic links)."""
    return paths.expand(path, SUFFIXES)


def display(p: Path) -> str:
    """A path as text that can be stored: bytes of a file name that are not UTF-8 are written as
    ``\\xff`` escapes (Python holds them as lone surrogates, which SQLite cannot take)."""
    return os.fsencode(p).decode("utf-8", "backslashreplace")


def fetch(source: Source, ctx) -> Iterator[RawItem | Skipped | Known | Checkpoint]:
    for p in expand(source.options["path"]):
        if isinstance(p, NotRead):
            yield Skipped(source.name, display(p.path), p.reason)
        else:
            yield from read_path(p, source.name, ctx)


def read_path(p: Path, source: str, ctx) -> Iterator[RawItem | Skipped | Known | Checkpoint]:
    """The items of one path, then its checkpoint. An unchanged file is not read again: a
    scheduled run passes over it, a backfill records a sighting of what it produced before."""
    loc = display(p)
    suffix = p.suffix.lower()
    try:
        st = p.stat()
    except OSError as exc:
        yield Skipped(source, loc, f"cannot read: {exc.strerror or exc}")
        return
    if stat.S_ISDIR(st.st_mode):
        yield Skipped(source, loc, f"is a folder, not a {suffix} file")
        return
    if not stat.S_ISREG(st.st_mode):  # a pipe or a device would block or never end
        yield Skipped(source, loc, "not a regular file")
        return
    # an absolute path, not a resolved one: no system calls per file, the same key every run
    key, stamp = "file:" + display(Path(os.path.abspath(p))), f"{st.st_size}:{st.st_mtime_ns}"
    saved = ctx.saved(key)
    if saved == stamp:
        if ctx.trigger == "backfill":
            yield Known(source, loc, key)
        return
    if suffix not in SUFFIXES:
        yield Skipped(source, loc, f"unsupported file type {suffix or '(none)'!r}")
    elif st.st_size == 0:
        yield Skipped(source, loc, "empty file")
    elif suffix in JSON:
        whole = suffix == ".json" and st.st_size <= MAX_FILE_BYTES
        yield from _json_items(p, source, key, stamp, _resume_at(saved, stamp), whole)
    elif st.st_size > MAX_FILE_BYTES:
        yield Skipped(source, loc, f"file too large ({st.st_size} bytes, the cap is {MAX_FILE_BYTES})")
    else:
        try:
            data = p.read_bytes()
        except OSError as exc:
            yield Skipped(source, loc, f"cannot read: {exc.strerror or exc}")
            return
        if _changed(p, st):
            yield Skipped(source, loc, "file changed while it was read; it will be read again next run")
            return
        ref = ctx.capture_file(p, data, CONTENT_TYPES.get(suffix, "application/xml"))
        if suffix in TEXT:
            yield RawItem(source, loc, "text", data, Hints(url=None), capture=ref)
        elif suffix in HTML:
            yield RawItem(source, loc, "html", data, Hints(), capture=ref)
        else:
            yield from (replace(i, capture=ref) if isinstance(i, RawItem) else i for i in _feed_items(data, p, source))
    if not _changed(p, st):
        yield Checkpoint(key, stamp)


def _changed(p: Path, st: os.stat_result) -> bool:
    try:
        now = p.stat()
    except OSError:
        return True
    return (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns)


def _feed_items(data: bytes, p: Path, source: str) -> Iterator[RawItem | Skipped]:
    from worker.errors import ParseError
    from worker.fetchers.feed import parse_feed

    try:
        items, _warnings = parse_feed(data, p.resolve().as_uri(), None, source=source)
    except ParseError as exc:
        yield Skipped(source, display(p), str(exc))
        return
    yield from items


def _resume_at(saved: str | None, stamp: str) -> tuple[int, int]:
    """(byte offset, line number) to go on from in a JSON Lines file an interrupted run
    checkpointed part of (value ``stamp@offset:line``); (0, 0) otherwise."""
    if saved and saved.startswith(stamp + "@"):
        offset, _, line = saved[len(stamp) + 1 :].partition(":")
        if offset.isdigit() and line.isdigit():
            return int(offset), int(line)
    return 0, 0


def _json_items(
    p: Path, source: str, key: str, stamp: str, start: tuple[int, int] = (0, 0), whole: bool = False
) -> Iterator[RawItem | Skipped | Checkpoint]:
    """One article object per line; a .json file may also hold one object or a list of them.
    Every PARTIAL_EVERY lines a partial checkpoint records how far the file was read, so an
    interrupted backfill of a large file goes on from there instead of reading it again. A file
    that is not text is one skipped item; a line too long or nested too deeply, one per line."""
    loc = display(p)
    try:
        with p.open("rb") as fh:
            if reason := _not_text(fh.read(TEXT_PROBE_BYTES)):
                yield Skipped(source, loc, f"not a text file ({reason})")
                return
            fh.seek(0)
            if whole and start == (0, 0):  # a .json file small enough to be one document
                try:
                    doc = json.loads(fh.read(MAX_FILE_BYTES + 1).decode("utf-8-sig"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    doc = None
                    fh.seek(0)
                except RecursionError:
                    yield Skipped(source, loc, TOO_DEEP)
                    return
                if doc is not None:
                    objs = doc if isinstance(doc, list) else [doc]
                    for n, obj in enumerate(objs, 1):
                        yield _item(obj, f"{loc}#{n}", source)
                    return
            fh.seek(start[0])
            n = start[1]
            while True:
                if n % PARTIAL_EVERY == 0 and n > start[1]:  # every line so far has been yielded
                    yield Checkpoint(key, f"{stamp}@{fh.tell()}:{n}", partial=True)
                line = fh.readline(MAX_LINE_BYTES + 1)  # the cap holds while reading
                if not line:
                    break
                n += 1
                if len(line) > MAX_LINE_BYTES:
                    _skip_rest_of_line(fh, line)
                    yield Skipped(source, f"{loc}#{n}", f"line too long (more than {MAX_LINE_BYTES} bytes)")
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line.decode("utf-8-sig"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield Skipped(source, f"{loc}#{n}", f"not a JSON object: {exc}")
                    continue
                except RecursionError:
                    yield Skipped(source, f"{loc}#{n}", TOO_DEEP)
                    continue
                yield _item(obj, f"{loc}#{n}", source)
    except OSError as exc:
        yield Skipped(source, loc, f"cannot read: {exc.strerror or exc}")


def _skip_rest_of_line(fh, start: bytes) -> None:
    """Read on past the end of a line too long to keep, a chunk at a time, holding none of it."""
    chunk = start
    while chunk and not chunk.endswith(b"\n"):
        chunk = fh.readline(SKIP_CHUNK_BYTES)


def _not_text(block: bytes) -> str | None:
    """Why a file that starts with ``block`` is not UTF-8 text (None when it is): NUL bytes, or
    more than a tenth of its characters undecodable. One look at the start, so a binary file is
    one skipped item, not one per line that its random newline bytes make."""
    if b"\0" in block:
        return "binary content: NUL bytes"
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(block)  # a cut character: no error
    return "binary content: mostly not UTF-8" if text.count("\ufffd") > 0.1 * len(text) else None


def _item(obj: Any, loc: str, source: str) -> RawItem | Skipped:
    """``_json_item``, or a skipped item for an object nested too deeply to read."""
    try:
        return _json_item(obj, loc, source)
    except RecursionError:
        return Skipped(source, loc, TOO_DEEP)


def _first(obj: dict, field: str) -> Any:
    for key in KEYS[field]:
        value = obj.get(key)
        if value not in (None, "", []):
            return value
    return None


def _names(value: Any) -> list[str]:
    """The names a JSON value gives: a string, an object's ``name``, or a list of either."""
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return [plain_text(str(value))] if value else []


def _line(value: Any) -> str | None:
    """A headline, dek or publication as one line, decoded as feeds decode theirs (tags dropped,
    character references read): ``Tom &amp; Jerry`` is ``Tom & Jerry``."""
    return (plain_text(str(value)) or None) if value is not None else None


def _json_item(obj: Any, loc: str, source: str) -> RawItem | Skipped:
    if not isinstance(obj, dict):
        return Skipped(source, loc, f"expected a JSON object, got {type(obj).__name__}")
    body = _first(obj, "body")
    if isinstance(body, list):
        body = "\n\n".join(str(b) for b in body)
    url, lang = _first(obj, "url"), _first(obj, "lang")
    hints = Hints(
        headline=_line(_first(obj, "headline")),
        byline=format_byline(_names(_first(obj, "byline"))),
        published_at=parse_date(_first(obj, "published_at")),
        dek=_line(_first(obj, "dek")),
        url=str(url) if url is not None else None,
        publication=", ".join(_names(_first(obj, "publication"))) or None,
        lang=lang_code(str(lang)) if lang is not None else None,
    )
    return RawItem(source, loc, "fragment", str(body) if body is not None else "", hints)
