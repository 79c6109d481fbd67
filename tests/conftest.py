"""Shared fixtures: paths, a temporary archive, and the CLI run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
SEED = CORPUS / "text" / "nyt-taliban-qala-e-naw.txt"

pytest_plugins = ["tests.loopback"]

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="development corpus not found at ../shared/corpus")


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120, env: dict | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    """``python -m worker ARGS`` as a user would run it; output captured as text."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        input=input,
    )


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def archive(archive_path: Path):
    from worker.archive import Archive

    with Archive(archive_path) as a:
        yield a
