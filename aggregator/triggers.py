"""A source's schedule as an APScheduler 3.x trigger: `interval` or `cron`, else `[schedule]`.

Cron expressions are read in the site's time zone. Jitter: `[schedule] jitter`, else 10% of the
interval up to 60 s, so many sources with one interval do not hit their hosts in the same second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from .models import ScheduleSettings, Source

if TYPE_CHECKING:  # APScheduler (~50 ms to import) loads for a cron schedule or the daemon only
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.cron import CronTrigger

MAX_AUTO_JITTER = 60.0


def cron_trigger(expression: str, zone: tzinfo, jitter: float | None = None) -> CronTrigger:
    """A standard crontab expression (0 and 7 = Sunday) as a CronTrigger.

    APScheduler 3.x numbers weekdays from Monday = 0 (its `from_crontab` keeps that mismatch,
    agronholm/apscheduler#286), so numeric weekdays are translated to names here.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(day_of_week),
        timezone=zone,
        jitter=jitter,
    )


def cron_error(expression: str) -> str | None:
    """Why a 5-field cron expression is invalid, or None."""
    try:
        cron_trigger(expression, UTC)
    except ValueError as exc:
        return str(exc)
    return None


def interval_of(source: Source, schedule: ScheduleSettings, zone: tzinfo) -> float:
    """Seconds between two runs; for cron, the gap between its next two fire times."""
    if source.cron is None:
        return source.interval or schedule.interval
    trigger = cron_trigger(source.cron, zone)
    now = datetime.now(zone)
    first: datetime | None = trigger.get_next_fire_time(None, now)
    second: datetime | None = (
        trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    )
    if first is None or second is None:
        return schedule.interval
    return (second - first).total_seconds()


def jitter_of(source: Source, schedule: ScheduleSettings, zone: tzinfo) -> float:
    if schedule.jitter is not None:
        return schedule.jitter
    return min(MAX_AUTO_JITTER, interval_of(source, schedule, zone) * 0.1)


def trigger_for(source: Source, schedule: ScheduleSettings, zone: tzinfo) -> BaseTrigger:
    from apscheduler.triggers.interval import IntervalTrigger

    jitter = jitter_of(source, schedule, zone) or None
    if source.cron is not None:
        return cron_trigger(source.cron, zone, jitter)
    return IntervalTrigger(seconds=source.interval or schedule.interval, jitter=jitter)


def next_due(
    source: Source, schedule: ScheduleSettings, zone: tzinfo, last_attempt: datetime
) -> datetime:
    """When a source last fetched at `last_attempt` is due again (no jitter)."""
    if source.cron is None:
        return last_attempt + timedelta(seconds=source.interval or schedule.interval)
    trigger = cron_trigger(source.cron, zone)
    when = trigger.get_next_fire_time(None, last_attempt + timedelta(seconds=1))
    return when if when is not None else last_attempt + timedelta(seconds=schedule.interval)


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekdays(field: str) -> str:
    """Crontab weekday field -> APScheduler names (`1-5` -> `mon,tue,wed,thu,fri`)."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            low, high = 0, 6
        elif "-" in spec:
            a, b = spec.split("-", 1)
            low, high = _day_number(a), _day_number(b)
        else:
            low = high = _day_number(spec)
            if step_text:
                high = 6
        if high < low:
            raise ValueError(f"weekday range {spec!r} runs backwards")
        if step < 1:
            raise ValueError(f"weekday step must be >= 1: {part!r}")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _day_number(text: str) -> int:
    name = text.strip().lower()[:3]
    if name in _DAY_NAMES:
        return _DAY_NAMES.index(name)
    if not text.isdigit() or int(text) > 7:
        raise ValueError(f"invalid weekday {text!r} (0-7 or sun-sat)")
    return int(text)
