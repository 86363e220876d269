"""RELIABILITY J2: after a sleep (the clock jumps 3 h) a source runs exactly once, at once.

The jobs are scheduled by `schedule.add_source_job`, the daemon's own code; APScheduler's loop is
driven by hand (`_process_jobs`, the step its scheduler thread repeats) on a frozen clock, with the
synchronous DebugExecutor, so no thread or wall-clock time is involved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apscheduler.executors.base
import apscheduler.schedulers.base
import apscheduler.triggers.interval
import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler

from aggregator.config import parse_config
from aggregator.schedule import add_source_job

START = datetime(2022, 6, 1, 8, 0, 0, tzinfo=UTC)


class FrozenClock:
    now = START


class FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return FrozenClock.now.astimezone(tz) if tz else FrozenClock.now


class StepScheduler(BaseScheduler):
    """A scheduler without a thread: the test calls `step()` where the thread would wake up."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def step(self) -> None:
        self._process_jobs()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> type[FrozenClock]:
    FrozenClock.now = START
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", FrozenDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", FrozenDatetime)
    monkeypatch.setattr(apscheduler.triggers.interval, "datetime", FrozenDatetime)
    return FrozenClock


def config(interval: str) -> Any:
    data = {
        "site": {"title": "t", "url": "https://example.org"},
        "schedule": {"jitter": "0s"},
        "sources": [
            {"name": "s", "type": "eastmoney", "url": "http://example.org/l", "interval": interval}
        ],
    }
    return parse_config(data, base_dir=Path("/tmp"), path=Path("/tmp/feeds_config.toml"))


def scheduler_with_job(calls: list[datetime], interval: str = "5m") -> StepScheduler:
    scheduler = StepScheduler(timezone=UTC, executors={"default": DebugExecutor()})
    cfg = config(interval)
    add_source_job(scheduler, cfg.sources[0], cfg, lambda name: calls.append(FrozenClock.now))
    scheduler.start()
    return scheduler


def test_one_catch_up_run_after_a_three_hour_sleep(frozen: type[FrozenClock]) -> None:
    calls: list[datetime] = []
    scheduler = scheduler_with_job(calls)
    job = scheduler.get_job("s")
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)

    frozen.now = START + timedelta(minutes=5)
    scheduler.step()
    assert calls == [START + timedelta(minutes=5)]

    frozen.now = START + timedelta(hours=3, minutes=7)  # the laptop slept through 35 runs
    scheduler.step()
    assert calls == [START + timedelta(minutes=5), START + timedelta(hours=3, minutes=7)]
    assert scheduler.get_job("s").next_run_time == START + timedelta(hours=3, minutes=10)
    scheduler.shutdown()


def test_the_library_default_grace_would_have_dropped_it(frozen: type[FrozenClock]) -> None:
    calls: list[datetime] = []
    scheduler = scheduler_with_job(calls)
    scheduler.modify_job("s", misfire_grace_time=1)  # APScheduler 3.x's default
    frozen.now = START + timedelta(hours=3, minutes=7)
    scheduler.step()
    assert calls == []  # silently skipped: the reason for a grace of one interval
    scheduler.shutdown()


def test_a_short_interval_still_gets_a_one_second_grace(frozen: type[FrozenClock]) -> None:
    calls: list[datetime] = []
    scheduler = scheduler_with_job(calls, interval="0.5s")
    assert scheduler.get_job("s").misfire_grace_time == 1
    scheduler.shutdown()
