"""Run Datasette on the archive with its metadata (archive/metadata.yml): search, facets, canned queries.

Datasette opens a file it is not told is immutable with read-only connections (``?mode=ro``)
and re-reads it as it changes, which is what a file the worker keeps writing needs. Its
immutable mode (``-i``) would be wrong here: it assumes the file never changes.

Datasette runs as a child of ``worker serve`` (``children.run_child``): a SIGTERM to the worker
stops it and frees its port, and the temporary metadata file written for it is removed when it
ends. Its SQL box reads every table, hidden ones included: hidden is not private.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from worker.children import run_child
from worker.errors import WorkerError

METADATA_NAME = "metadata.yml"
PROJECT_METADATA = Path(__file__).resolve().parent.parent / "archive" / METADATA_NAME
INSTALL_HINT = "Datasette is not installed: pip install 'news-archive-worker[datasette]' (or: pip install datasette)"
# Datasette's settings for an archive (arguments after serve's options override them). Suggested
# facets try every column of the listed rows on each page, 50 ms a column on a large archive,
# only to suggest facets the metadata configures already.
SETTINGS = (("suggest_facets", "off"),)


@dataclass(frozen=True)
class Launch:
    """A checked Datasette run: its command line, what goes after it, and its metadata."""

    args: tuple[str, ...]
    extra: tuple[str, ...] = ()
    metadata: dict | None = None


def datasette_installed() -> bool:
    return importlib.util.find_spec("datasette") is not None


def find_metadata(archive: Path) -> Path | None:
    """metadata.yml beside the archive, else the project's archive/metadata.yml."""
    for candidate in (archive.parent / METADATA_NAME, PROJECT_METADATA):
        if candidate.is_file():
            return candidate
    return None


def metadata_for(archive: Path, metadata: Path) -> dict:
    """The metadata with its one database entry keyed by this archive's name (Datasette names a
    database after its file: archive/news.db is ``news``)."""
    doc = yaml.safe_load(metadata.read_text("utf-8")) or {}
    databases = doc.get("databases") or {}
    if len(databases) == 1:
        (config,) = databases.values()
        doc["databases"] = {archive.stem: config}
    return doc


def prepare(archive: Path, *, host: str, port: int, metadata: Path | None, extra: tuple[str, ...] = ()) -> Launch:
    """The Datasette run for ``archive``; WorkerError when there is no archive or no Datasette."""
    if not archive.exists():
        raise WorkerError(f"{archive}: no archive here yet (run an ingest or backfill first)")
    if not datasette_installed():
        raise WorkerError(INSTALL_HINT)
    args: tuple[str, ...] = (
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(archive),
        "--host",
        host,
        "--port",
        str(port),
    )
    args += tuple(arg for name, value in SETTINGS for arg in ("--setting", name, value))
    return Launch(args, tuple(extra), metadata_for(archive, metadata) if metadata is not None else None)


def serve(launch: Launch) -> int:
    """Run Datasette until it stops (or this process is sent SIGTERM, SIGINT or SIGHUP, which it
    is passed); its exit status. The metadata is written to a temporary file for it and removed
    when it ends."""
    with _metadata_file(launch.metadata) as path:
        cmd = [*launch.args, *(["--metadata", path] if path else []), *launch.extra]
        try:
            return run_child(cmd)
        except OSError as exc:
            raise WorkerError(f"cannot start datasette: {exc}") from None


@contextlib.contextmanager
def _metadata_file(doc: dict | None) -> Iterator[str | None]:
    if doc is None:
        yield None
        return
    fd, path = tempfile.mkstemp(suffix=".yml", prefix="worker-datasette-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yaml.safe_dump(doc, out, sort_keys=False, allow_unicode=True)
        yield path
    finally:
        os.unlink(path)
