"""Which of Datasette's databases are archives the worker made (the plugin leaves the others alone)."""

from __future__ import annotations

from typing import Any

from worker.archive import is_worker_archive


def archive_database(datasette: Any, database: str) -> bool:
    """Whether ``database`` is a file with the worker's ``PRAGMA application_id``."""
    db = datasette.databases.get(database)
    return db is not None and db.path is not None and is_worker_archive(db.path)
