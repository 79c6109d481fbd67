"""A small archive built through the real pipeline from tests/fixtures/query, shared by the
search, export, sqlite-utils and Datasette tests."""

from __future__ import annotations

from pathlib import Path

from worker.archive import Archive
from worker.kinds import make_source
from worker.models import RunResult, SourceState
from worker.pipeline import ingest

FIXTURES = Path(__file__).parent / "fixtures" / "query"
ROOT = Path(__file__).resolve().parent.parent


def build_archive(path: Path) -> Path:
    """Two files sources (one story carried by both), and one source whose last run failed."""
    with Archive(path) as archive:
        for name in ("wire", "local"):
            result = ingest(
                make_source(name=name, kind="files", path=str(FIXTURES / name)), archive, trigger="backfill"
            )
            assert result.status == "ok", result
        run_id = archive.start_run("broken-feed", "scheduled", "2024-01-01T00:00:00Z")
        result = RunResult(
            source="broken-feed",
            trigger="scheduled",
            started_at="2024-01-01T00:00:00Z",
            finished_at="2024-01-01T00:00:01Z",
            status="error",
            error="HTTP 503 Service Unavailable",
            http_status=503,
            run_id=run_id,
        )
        with archive.transaction():
            archive.finish_run(
                result,
                SourceState("broken-feed", result.finished_at, "error", None, 1, result.started_at, None, result.error),
            )
    return path
