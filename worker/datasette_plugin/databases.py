"""Which of Datasette's databases are archives the worker made (the plugin leaves the others alone)."""

from __future__ import annotations

import functools
from typing import Any

from worker.archive import is_worker_archive


def archive_database(datasette: Any, database: str) -> bool:
    """Whether ``database`` is a file with the worker's ``PRAGMA application_id``."""
    db = datasette.databases.get(database)
    return db is not None and db.path is not None and _archive(str(db.path))


@functools.lru_cache(maxsize=256)
def _archive(path: str) -> bool:
    """Asked for every cell a listing renders: a file's application id is read once."""
    return is_worker_archive(path)
