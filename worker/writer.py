"""The run's one writer: batches stored in order, on a thread of their own for backfills."""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.archive import Archive, Batch
    from worker.models import SourceState
    from worker.run import Run


class Writer:
    """The run's one writer. Threaded (for backfills), it stores batches in order on a thread
    with its own connection while the caller goes on fetching; at most two batches wait, so
    memory stays bounded. Otherwise it stores each batch at once. A failure to store is raised
    from the next ``store`` or from ``finish``: nothing after it is stored."""

    def __init__(self, archive: Archive, run: Run, threaded: bool):
        self.archive, self.run = archive, run
        self.error: BaseException | None = None
        self.closing = False
        self.carried: list[int] = []  # article ids produced since the last checkpoint (writer's side)
        self.queue: queue.Queue | None = queue.Queue(maxsize=2) if threaded else None
        if self.queue is not None:
            self.thread = threading.Thread(target=self._loop, name="writer", daemon=True)
            self.thread.start()

    def store(self, batch: Batch, state: SourceState | None = None) -> None:
        """Store one batch; with ``state``, the run's last: the run row and the source's state
        are written in its transaction."""
        if self.error is not None:
            raise self.error
        if self.queue is None:
            self._write(self.archive, batch, state)
        else:
            self.queue.put((batch, state))

    def keeping_up(self) -> bool:
        """Whether no batch waits for the writer's thread (it stores the last one given, if any)."""
        return self.queue is None or self.queue.empty()

    def finish(self, batch: Batch, state: SourceState) -> None:
        """Store the last batch with the run row, and stop the writer's thread. Called again
        (after Ctrl-C cut the first call short), it stores on the caller's connection."""
        if self.queue is not None and self.thread.is_alive() and not self.closing:
            self.closing = True
            self.queue.put((batch, state))
            self.queue.put(None)
            self.thread.join()
        elif self.error is None:
            self._write(self.archive, batch, state)
        if self.error is not None:
            raise self.error

    def _write(self, db: Archive, batch: Batch, state: SourceState | None) -> None:
        final = None
        batch.carried = self.carried
        with db.transaction():
            stored = db.store(batch)
            if state is not None:
                state = self.run.planned(db, state)
                final = self.run.result(pending=stored)
                db.finish_run(final, state)
        self.carried = list(stored.carried)
        self.run.tally(batch, stored)
        if final is not None:
            self.run.final, self.run.state = final, state

    def _loop(self) -> None:
        from worker.archive import Archive

        assert self.queue is not None
        with Archive(self.archive.path) as own:
            while (job := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self._write(own, *job)
                    except BaseException as exc:  # handed to the fetching thread
                        self.error = exc
