"""The service: one APScheduler job per enabled source, all calling ``pipeline.ingest``.

The scheduler only registers jobs and stops them cleanly: SIGTERM/SIGINT stop scheduling, give
running sources ``shutdown_timeout`` seconds to finish, then ask them to stop and record them as
interrupted; SIGHUP reloads config.yaml. A lock beside the archive keeps a second service off it.

APScheduler runs in its own thread; the main thread waits for signals and acts on them. A signal
handler runs in the main thread between any two of its bytecodes, also while it holds a lock, so
the handler only notes the signal: one that stopped APScheduler itself, while that thread was
submitting a job with the thread pool's lock held, waited for that lock for ever.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker import polling
from worker.archive import Archive
from worker.backoff import backing_off_until
from worker.config import load_config
from worker.errors import ArchiveError, ConfigError
from worker.fetchers import HttpClient
from worker.kinds import captures as capturing
from worker.models import Config, RunResult, Source, SourceState
from worker.pipeline import ingest
from worker.run import OnFinish
from worker.timefmt import utcnow

if TYPE_CHECKING:
    from worker.captures import Captures
    from worker.metrics import Metrics

log = structlog.get_logger("worker.scheduler")

SIGNAL_POLL = 0.1  # seconds between the main thread's looks for a signal noted by the handler


class ArchiveLock:
    """An exclusive ``flock`` on ``<archive>.lock``; the kernel drops it when the holder dies,
    so a lock left by a killed process is simply taken over."""

    def __init__(self, archive_path: str):
        self.path = Path(str(archive_path) + ".lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ArchiveError(
                f"another worker (pid {holder}) is already running on this archive; lock file {self.path}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def run_source(
    config: Config,
    source: Source,
    http: HttpClient | None,
    trigger: str,
    stop: threading.Event | None = None,
    respect_backoff: bool = True,
    captures: Captures | None = None,
    on_finish: OnFinish | None = None,
) -> RunResult | None:
    """One run of one source on its own archive connection (SQLite connections stay per thread);
    None when the source is backing off after failures. Its raw responses go to ``captures``
    when the source captures."""
    with Archive(config.archive) as archive:
        if respect_backoff and (until := backing_off_until(archive.source_state(source.name))):
            log.info("source_backing_off", source=source.name, until=until)
            return None
        keep = captures if captures is not None and capturing(source, config.capture) else None
        return ingest(
            source,
            archive,
            http,
            trigger=trigger,
            stop=stop,
            settings=config.scheduler,
            captures=keep,
            on_finish=on_finish,
        )


def run_all_once(config: Config, http: HttpClient | None, captures: Captures | None = None) -> list[RunResult | None]:
    """``worker run --once``: every enabled source once, in parallel, then return."""
    sources = [s for s in config.sources if s.enabled]
    with Archive(config.archive) as archive:
        archive.mark_interrupted()
    with ThreadPoolExecutor(max_workers=config.scheduler.max_workers) as pool:
        futures = [pool.submit(run_source, config, s, http, "scheduled", captures=captures) for s in sources]
        return [f.result() for f in futures]


def _trigger(source: Source, jitter: int, interval: int | None):
    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone="UTC")
    return IntervalTrigger(seconds=interval or source.every, jitter=jitter or None, timezone="UTC")


class Service:
    """``worker run``: the long-running scheduler."""

    def __init__(
        self,
        config: Config,
        http: HttpClient | None,
        config_path: str | None = None,
        captures: Captures | None = None,
    ):
        self.config = config
        self.http = http
        self.captures = captures
        self.config_path = config_path
        self.stopping = threading.Event()  # no new runs start
        self.stop = threading.Event()  # running runs stop at their next item
        self.running: dict[str, threading.Thread] = {}
        self.stragglers: list[str] = []  # runs still blocked (e.g. in a network read) after the stop
        self.intervals: dict[str, int | None] = {}  # each job's interval now (None: cron)
        self.metrics: Metrics | None = None
        self._lock = threading.Lock()
        self._signals: deque[int] = deque()  # noted by the handler, acted on by the main thread
        self.scheduler = BackgroundScheduler(
            executors={"default": JobExecutor(config.scheduler.max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": config.scheduler.misfire_grace},
            timezone="UTC",
        )

    # -- jobs ---------------------------------------------------------------------------------

    def _job(self, name: str) -> None:
        source = self.config.source(name)
        with self._lock:  # checked under the lock: a run the drain does not see never starts
            if source is None or self.stopping.is_set():
                return
            self.running[name] = threading.current_thread()
        try:
            run_source(
                self.config,
                source,
                self.http,
                "scheduled",
                self.stop,
                captures=self.captures,
                on_finish=self._finished,
            )
        except Exception as exc:  # e.g. the archive's disk is full: log it, keep the service up
            log.error("job_failed", source=name, error=repr(exc), exc_info=True)
        finally:
            with self._lock:
                self.running.pop(name, None)

    def _finished(self, result: RunResult, state: SourceState | None, seconds: float) -> None:
        """After each run: the metrics, and the job moved to the source's new interval."""
        if self.metrics is not None:
            self.metrics.observe(result, state, seconds)
        source = self.config.source(result.source)
        if source is None or source.cron or state is None or not state.interval:
            return
        with self._lock:
            if self.intervals.get(source.name) == state.interval or self.stopping.is_set():
                return
            self.intervals[source.name] = state.interval
            try:
                self.scheduler.reschedule_job(
                    source.name, trigger=_trigger(source, self.config.scheduler.jitter, state.interval)
                )
            except JobLookupError:  # removed by a reload meanwhile
                return
        log.info("interval_changed", source=source.name, seconds=state.interval, reason=state.interval_reason)

    def _heartbeat(self) -> None:
        try:
            with Archive(self.config.archive) as archive:
                archive.set_meta("heartbeat", utcnow())
                if self.metrics is not None:
                    self.metrics.heartbeat(archive)
        except Exception as exc:
            log.error("heartbeat_failed", error=repr(exc))

    def _schedule(self, source: Source, first_run: datetime | None, state: SourceState | None) -> None:
        """(Re)place the source's job, at the interval it last had (``polling.resume``); first run
        at ``first_run``, or (None) when its trigger says: APScheduler takes an explicit
        ``next_run_time=None`` as "paused". Never before its feed's floor allows."""
        interval = polling.resume(source, state)
        allowed = polling.not_before(state)
        if allowed is not None and first_run is not None:
            first_run = max(first_run, allowed)
        when = {"next_run_time": first_run} if first_run else {}
        with self._lock:
            self.intervals[source.name] = interval
            self.scheduler.add_job(
                self._job,
                _trigger(source, self.config.scheduler.jitter, interval),
                args=[source.name],
                id=source.name,
                name=source.name,
                replace_existing=True,
                **when,
            )

    def _states(self) -> dict[str, SourceState]:
        with Archive(self.config.archive) as archive:
            found = (archive.source_state(s.name) for s in self.config.sources)
            return {state.source: state for state in found if state is not None}

    def _register(self) -> None:
        now = datetime.now(UTC)
        states = self._states()
        if self.metrics is not None:
            self.metrics.restore([s.name for s in self.config.sources if s.enabled], states)
        for i, source in enumerate(s for s in self.config.sources if s.enabled):
            self._schedule(source, now + timedelta(milliseconds=10 * i), states.get(source.name))  # first run at start
        self.scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=self.config.scheduler.heartbeat, timezone="UTC"),
            id="__heartbeat__",
            replace_existing=True,  # the first one is written at start, by run()
        )

    def reload(self) -> None:
        """SIGHUP: re-read the config; jobs added, removed or changed by source name."""
        try:
            new = load_config(self.config_path or "config.yaml")
        except ConfigError as exc:
            log.error("config_reload_failed", error=str(exc))
            return
        old = {s.name: s for s in self.config.sources if s.enabled}
        fresh = {s.name: s for s in new.sources if s.enabled}
        self.config = new
        now = datetime.now(UTC)
        states = self._states()
        for name in old.keys() - fresh.keys():
            self.scheduler.remove_job(name)
        for name, source in fresh.items():
            if name not in old:
                self._schedule(source, now, states.get(name))
            elif old[name] != source:
                self._schedule(source, None, states.get(name))
        log.info(
            "config_reloaded",
            added=sorted(fresh.keys() - old.keys()),
            removed=sorted(old.keys() - fresh.keys()),
            changed=sorted(n for n in fresh.keys() & old.keys() if old[n] != fresh[n]),
        )

    # -- life cycle -------------------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        """Note the signal and nothing more: no lock, no log line, no thread started (see above)."""
        self._signals.append(signum)

    def _serve_signals(self) -> None:
        """The main thread while the jobs run: SIGHUP reloads the config; SIGTERM/SIGINT stop
        scheduling and return."""
        while True:
            while not self._signals:
                time.sleep(SIGNAL_POLL)
            signum = self._signals.popleft()
            if signum == signal.SIGHUP:
                threading.Thread(target=self.reload, name="reload", daemon=True).start()
                continue
            log.info("shutdown_requested", signal=signal.Signals(signum).name)
            self.stopping.set()
            self.scheduler.shutdown(wait=False)
            return

    def run(self) -> int:
        lock = ArchiveLock(self.config.archive)
        lock.acquire()
        try:
            with Archive(self.config.archive) as archive:
                if n := archive.mark_interrupted():
                    log.warning("runs_marked_interrupted", count=n)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, self._on_signal)
            if self.config.metrics.port:
                from worker.metrics import Metrics

                self.metrics = Metrics(self.config.metrics)
            self._heartbeat()  # before the metrics are served: they never show a service without one
            if self.metrics is not None:
                self.metrics.start()
            self._register()
            log.info(
                "service_started",
                sources=[s.name for s in self.config.sources if s.enabled],
                archive=self.config.archive,
                pid=os.getpid(),
            )
            self.scheduler.start()  # in its own thread
            self._serve_signals()  # until SIGTERM or SIGINT
            return self._drain()
        finally:
            if self.metrics is not None:
                self.metrics.stop()
            lock.release()

    def _drain(self) -> int:
        """Let running sources finish for up to shutdown_timeout, then stop and record them."""
        deadline = time.monotonic() + self.config.scheduler.shutdown_timeout
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._busy():
            log.warning("shutdown_timeout_reached", running=sorted(self.running))
            self.stop.set()  # runs stop at their next item and record themselves as interrupted
            grace = time.monotonic() + 3
            while self._busy() and time.monotonic() < grace:
                time.sleep(0.05)
        self.stragglers = sorted(self.running)
        if self.stragglers:  # threads blocked in network reads cannot be joined: record their runs
            with Archive(self.config.archive) as archive:
                archive.mark_interrupted(pid=os.getpid())
        (log.warning if self.stragglers else log.info)("service_stopped", interrupted=self.stragglers)
        return 0

    def _busy(self) -> bool:
        with self._lock:
            return bool(self.running)
