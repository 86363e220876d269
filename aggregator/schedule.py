"""`aggregator run`: the APScheduler 3.x daemon around `pipeline.run_once`.

    start      one job per source (interval or cron, jitter, coalesce=True, max_instances=1,
               misfire grace of one interval), all due at once: the first pass
    job fires  the source joins the "due" set; whoever holds the batch lock next runs every due
               source as one batch: writer lock -> run_once (health mode "polite") -> only the
               feeds whose posts changed are rebuilt -> jobs pushed back by backoff / Retry-After
    SIGTERM    no new jobs; the batch in flight stops after its current source and rebuilds its
    SIGINT     feeds; after `shutdown_grace` seconds (or a second signal) the process exits 0
               anyway: every file is replaced atomically and SQLite commits atomically, so
               abandoning work can lose a pass but never leaves a half-written file.

APScheduler's default misfire grace (1 s) silently drops a run that is late (after a laptop sleep
or a long batch); here a run up to one interval late still happens, and coalescing turns any
number of missed runs into one.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from . import healthdb, logs, pipeline, triggers
from .config import Config
from .errors import StoreError
from .feedpaths import written_summary
from .health import HealthTracker
from .hostlimit import HostLimiter
from .lock import LockBusy, writer_lock
from .models import Source, SourceResult
from .store import Store

BATCH_SETTLE = 0.05  # seconds a batch waits for sources that fired in the same instant
SHORT_INTERVAL = 60.0  # intervals below this are allowed (tests) with a warning

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def add_source_job(
    scheduler: BaseScheduler,
    source: Source,
    config: Config,
    func: Callable[[str], None],
    *,
    first_run: datetime | None = None,
) -> None:
    """Schedule `func(source.name)` by the source's interval or cron (see module docstring)."""
    zone = ZoneInfo(config.site.timezone)
    interval = triggers.interval_of(source, config.schedule, zone)
    options: dict[str, Any] = {}
    if first_run is not None:
        options["next_run_time"] = first_run
    scheduler.add_job(
        func,
        trigger=triggers.trigger_for(source, config.schedule, zone),
        args=[source.name],
        id=source.name,
        name=source.name,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, math.ceil(interval)),
        replace_existing=True,
        **options,
    )


class Daemon:
    def __init__(self, config: Config, store: Store, *, clock: Clock = wall_clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.stopping = threading.Event()
        self._hurry = threading.Event()  # a second signal: stop waiting for the batch
        self._batch_lock = threading.Lock()
        self._due: set[str] = set()
        self._due_lock = threading.Lock()
        self.limiter = HostLimiter(config.fetch.per_host, config.fetch.host_spacing)
        self.tracker = HealthTracker(
            store, mode="polite", schedule=config.schedule, zone=ZoneInfo(config.site.timezone)
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=max(1, len(config.sources)))},
        )

    # ---------------------------------------------------------------- lifecycle

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._warn_short_intervals()
        now = datetime.now(UTC)
        for source in self.config.sources:
            add_source_job(self.scheduler, source, self.config, self._job, first_run=now)
        self.scheduler.start()
        logs.event("daemon started", pid=os.getpid(), sources=len(self.config.sources))
        while not self.stopping.wait(0.2):
            pass
        return self._shutdown()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stopping.is_set():
            logs.event("second signal: not waiting any longer", signal=name)
            self._hurry.set()
            return
        logs.event("stopping", signal=name, grace_s=self.config.schedule.shutdown_grace)
        self.stopping.set()

    def _shutdown(self) -> int:
        self.scheduler.shutdown(wait=False)  # no new runs; shutdown(wait=True) has no timeout
        deadline = time.monotonic() + self.config.schedule.shutdown_grace
        idle = False
        while not self._hurry.is_set() and time.monotonic() < deadline:
            if self._batch_lock.acquire(timeout=0.1):
                idle = True
                break
        if not idle:
            logs.event(
                "abandoning the batch in flight (files are replaced atomically)",
                level=logging.WARNING,
            )
            _flush_logs()
            os._exit(0)  # worker threads may be blocked in I/O: do not join them
        try:
            for source in self.config.sources:
                self.tracker.set_next_run(source.name, None)
        except StoreError as exc:
            logs.event("cannot clear next runs", level=logging.WARNING, error=str(exc))
        finally:
            self._batch_lock.release()  # queued jobs now see `stopping` and return
        logs.event("daemon stopped")
        return 0

    # ---------------------------------------------------------------- batches

    def _job(self, name: str) -> None:
        with self._due_lock:
            self._due.add(name)
        with self._batch_lock:
            if self.stopping.is_set():
                return
            time.sleep(BATCH_SETTLE)
            with self._due_lock:
                batch = [s for s in self.config.sources if s.name in self._due]
                self._due.clear()
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[Source]) -> None:
        started = time.monotonic()

        def waiting(pid: int | None) -> None:
            logs.event("waiting for the writer lock", holder_pid=pid)

        lock = writer_lock(self.config.storage_dir)
        try:
            lock.acquire(math.inf, should_stop=self.stopping.is_set, on_wait=waiting)
        except LockBusy:
            return  # stopping while another process writes
        try:
            with pipeline.open_fetcher(self.config, host_limiter=self.limiter) as fetcher:
                report = pipeline.run_once(
                    self.config,
                    fetcher=fetcher,
                    store=self.store,
                    clock=self.clock,
                    sources=batch,
                    on_result=_log_result,
                    health=self.tracker,
                    should_stop=self.stopping.is_set,
                )
        except StoreError as exc:
            logs.event("batch failed", level=logging.ERROR, error=str(exc))
            return
        finally:
            lock.release()
        fields: dict[str, Any] = {
            "sources": len(report.results),
            "feeds": written_summary(report.feeds_written, ",") or "-",
            "ms": int((time.monotonic() - started) * 1000),
        }
        if report.archived:
            fields["archived"] = len(report.archived)
        logs.event("batch done", **fields)
        if not self.stopping.is_set():
            self._reschedule(batch)

    def _reschedule(self, batch: list[Source]) -> None:
        """Push jobs back to the politeness verdict; pause disabled sources; note next runs."""
        for source in batch:
            job = self.scheduler.get_job(source.name)
            if job is None:
                continue
            with self.store.state() as db:
                health = healthdb.load(db, source.name)
            if health.disabled_reason is not None:
                job.pause()
            elif health.not_before is not None and (
                job.next_run_time is None or job.next_run_time < health.not_before
            ):
                job.modify(next_run_time=health.not_before)
            job = self.scheduler.get_job(source.name)
            self.tracker.set_next_run(source.name, job.next_run_time if job else None)

    def _warn_short_intervals(self) -> None:
        zone = ZoneInfo(self.config.site.timezone)
        for source in self.config.sources:
            seconds = triggers.interval_of(source, self.config.schedule, zone)
            if seconds < SHORT_INTERVAL:
                logs.event(
                    "interval under a minute: fine for tests, impolite to real servers",
                    level=logging.WARNING,
                    source=source.name,
                    interval_s=seconds,
                )


def _log_result(result: SourceResult) -> None:
    level = logging.WARNING if result.outcome == "error" else logging.INFO
    logs.event("", level=level, **logs.source_fields(result))


def _flush_logs() -> None:
    for handler in logging.getLogger(logs.LOGGER).handlers:
        handler.flush()
    sys.stderr.flush()
