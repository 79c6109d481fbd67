"""A ``warc`` source kind for the cluster tests, registered only when ``worker.kinds`` has none.

WARC files as a backfill input: a path (file, folder or glob) read with ``fetchers.warc.fetch``,
or a URL with ``warc_remote.read_url``; ``host``, ``since`` and ``until`` filter records. Once
the registry declares its own ``warc`` kind, ``registered`` and ``ensure`` leave it as it is.

    python -m tests.warc_kind ARGS...   # ``worker ARGS...`` with the kind present
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from worker import checks
from worker.kinds import REGISTRY, Key, Kind, _local_path, register
from worker.models import Source


def _fetch(source: Source, ctx):
    from worker.fetchers import warc
    from worker.partitions import warc_filter

    if source.options.get("url"):
        from worker.fetchers.warc_remote import read_url
        from worker.models import HttpSettings

        return read_url(source.options["url"], source.name, ctx, HttpSettings(), warc_filter(source))
    return warc.fetch(source, ctx, warc_filter(source))


@contextmanager
def registered() -> Iterator[None]:
    """The kind registered while the block runs (when the registry has none of its own)."""
    added = "warc" not in REGISTRY
    ensure()
    try:
        yield
    finally:
        if added:
            del REGISTRY["warc"]


def ensure() -> None:
    if "warc" in REGISTRY:
        return
    register(
        Kind(
            name="warc",
            fetch=_fetch,
            keys=(
                Key("path", checks.typed(str), path=True),
                Key("url", checks.url),
                Key("host", checks.typed(str)),
                Key("since", checks.iso_date),
                Key("until", checks.iso_date),
            ),
            argument="path",
            guess=lambda arg: 3 if arg.lower().endswith((".warc", ".warc.gz")) else 0,
            network=False,
            prepare=_local_path,
        )
    )


def run(*args: str, timeout: float = 300):
    """``worker ARGS`` in a subprocess, with the ``warc`` kind present (as ``conftest.run_cli``)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "tests.warc_kind", *args]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout, env=env)


if __name__ == "__main__":
    ensure()
    from worker.cli import main

    main()
