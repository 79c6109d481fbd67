"""Run Datasette on the archive with its metadata (archive/metadata.yml): search, facets, canned queries.

Datasette opens a file it is not told is immutable with read-only connections (``?mode=ro``)
and re-reads it as it changes, which is what a file the worker keeps writing needs. Its
immutable mode (``-i``) would be wrong here: it assumes the file never changes.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import yaml

from worker.errors import WorkerError

METADATA_NAME = "metadata.yml"
PROJECT_METADATA = Path(__file__).resolve().parent.parent / "archive" / METADATA_NAME
INSTALL_HINT = "Datasette is not installed: pip install 'news-archive-worker[datasette]' (or: pip install datasette)"


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


def command(archive: Path, *, host: str, port: int, metadata: Path | None, extra: tuple[str, ...] = ()) -> list[str]:
    """The datasette command line; writes the adjusted metadata to a temporary file."""
    if not archive.exists():
        raise WorkerError(f"{archive}: no archive here yet (run an ingest or backfill first)")
    if not datasette_installed():
        raise WorkerError(INSTALL_HINT)
    cmd = [sys.executable, "-m", "datasette", "serve", str(archive), "--host", host, "--port", str(port)]
    if metadata is not None:
        fd = tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="worker-datasette-", delete=False)
        with fd:
            yaml.safe_dump(metadata_for(archive, metadata), fd, sort_keys=False, allow_unicode=True)
        cmd += ["--metadata", fd.name]
    return cmd + list(extra)
