"""Per-source health around a pass: skip what must not be fetched, watch what the source's own
URLs answer, then record the outcome and the politeness verdict (see politeness.py).

`pipeline.run_once(..., health=HealthTracker(store, mode=...))` is the only caller:

    mode "all"     every source except those disabled by 410 Gone (`aggregator fetch`)
    mode "polite"  also waits for backoff, Retry-After and cache lifetimes (the daemon)
    mode "due"     also waits for each source's interval / cron (`aggregator fetch --due`, cron)

The canary's verdict (`SourceResult.degraded`, see canary.py) is kept until a later pass is
judged, so `aggregator status` shows a silently broken source as degraded with the reason.

Permanent redirects: a 301/308 from one of the source's URLs to the same target on
`MOVE_AFTER` consecutive fetches moves that URL (stored, logged; the config is not rewritten, and
the old URL stays as history). Temporary redirects reset the count and are never stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from random import random as uniform
from typing import Literal

from . import healthdb, logs, politeness, triggers
from .errors import FetchError
from .healthdb import Health
from .models import Fetcher, FetchResult, ScheduleSettings, Source, SourceResult
from .store import Store

Mode = Literal["all", "polite", "due"]
MOVE_AFTER = 3  # consecutive permanent redirects before a URL is moved
DEGRADED_AFTER = 3  # consecutive failures before a source is shown as degraded
EARLY_SLACK = timedelta(seconds=0.25)  # a scheduler firing this early still counts as due
MAX_MOVE_HOPS = 5
_JUDGED = frozenset({"new", "changed", "unchanged"})  # outcomes of a pass the canary looked at


def config_fingerprint(source: Source) -> str:
    """Identifies a source's configuration; a disabled source is re-enabled when it changes."""
    text = repr(dataclasses.replace(source, index=0))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_degraded(health: Health) -> bool:
    """Disabled, failing again and again, or judged broken by the canary (canary.py)."""
    return (
        health.disabled_reason is not None
        or health.failures >= DEGRADED_AFTER
        or health.degraded_reason is not None
    )


def canary_verdict(result: SourceResult, health: Health) -> str | None:
    """The verdict to keep: this pass's when the canary judged it (the source answered with a
    list, even an empty one), else the last one (a failed fetch or a 304 says nothing new)."""
    items = result.new + result.changed + result.unchanged
    judged = result.degraded is not None or bool(items) or result.outcome in _JUDGED
    return result.degraded if judged else health.degraded_reason


class WatchedFetcher:
    """Passes every request on and keeps the answers of the source's own URLs."""

    def __init__(self, inner: Fetcher, urls: tuple[str, ...]) -> None:
        self._inner = inner
        self._urls = frozenset(urls)
        self._lock = threading.Lock()
        self.responses: list[politeness.Response] = []

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        conditional: bool = True,
    ) -> FetchResult:
        try:
            result = self._inner.get(url, headers=headers, proxy=proxy, conditional=conditional)
        except FetchError as exc:
            self._keep(url, politeness.Response(url, exc.status, exc.headers))
            raise
        head = result.content[: politeness.TTL_SCAN_BYTES]
        answer = politeness.Response(
            url, result.status, result.headers, head, result.permanent_redirect
        )
        self._keep(url, answer)
        return result

    def _keep(self, url: str, response: politeness.Response) -> None:
        if url in self._urls:
            with self._lock:
                self.responses.append(response)


class HealthTracker:
    def __init__(
        self,
        store: Store,
        *,
        mode: Mode = "all",
        schedule: ScheduleSettings | None = None,
        zone: tzinfo | None = None,
        random: Callable[[], float] = uniform,
        names: frozenset[str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        # health times need sub-second precision (backoff of a 1 s interval); posts do not
        self.clock = clock or (lambda: datetime.now(UTC))
        self.names = names  # sources tracked (None: all); ad-hoc `fetch --url` ones are not
        self.mode = mode
        self.schedule = schedule or ScheduleSettings()
        self.zone = zone
        self._random = random

    def tracks(self, source: Source) -> bool:
        return self.names is None or source.name in self.names

    # ---------------------------------------------------------------- before a pass

    def skip(self, source: Source, now: datetime | None = None) -> SourceResult | None:
        """A "skipped" result when `source` must not be fetched now, else None."""
        now = now or self.clock()
        with self.store.state() as db:
            health = healthdb.load(db, source.name)
        if health.disabled_reason is not None:
            if health.disabled_config == config_fingerprint(source):
                reason = f"disabled: {health.disabled_reason}; change its config to re-enable"
                return SourceResult(source.name, "skipped", error=reason)
            enabled = dataclasses.replace(
                health,
                disabled_reason=None,
                disabled_config=None,
                failures=0,
                not_before=None,
                not_before_reason=None,
            )
            self._save(enabled)
            logs.event("re-enabled: its config changed", source=source.name)
        if self.mode == "all":
            return None
        if health.not_before is not None and now + EARLY_SLACK < health.not_before:
            reason = f"not before {_stamp(health.not_before)} ({health.not_before_reason})"
            return SourceResult(source.name, "skipped", error=reason)
        if self.mode == "due" and health.last_attempt is not None:
            due = triggers.next_due(source, self.schedule, self._zone(), health.last_attempt)
            if now + EARLY_SLACK < due:
                return SourceResult(source.name, "skipped", error=f"not due until {_stamp(due)}")
        return None

    def watch(self, source: Source, fetcher: Fetcher) -> tuple[Source, WatchedFetcher]:
        """The source with its moved URLs, and a fetcher that records what they answer."""
        with self.store.state() as db:
            moves = healthdb.moved_urls(db, source.name)
        urls = tuple(_follow_moves(url, moves) for url in source.urls)
        effective = dataclasses.replace(source, urls=urls) if urls != source.urls else source
        return effective, WatchedFetcher(fetcher, urls)

    # ---------------------------------------------------------------- after a pass

    def record(
        self,
        source: Source,
        result: SourceResult,
        watched: WatchedFetcher,
        now: datetime | None = None,
    ) -> Health:
        """Store the pass's outcome and the next-fetch verdict; `source` as configured."""
        now = now or self.clock()
        if result.outcome == "skipped":
            with self.store.state() as db:
                return healthdb.load(db, source.name)
        responses = list(watched.responses)
        items = result.new + result.changed + result.unchanged
        failed = result.outcome == "error" and not items
        with self.store.state() as db:
            health = healthdb.load(db, source.name)
        failures = health.failures + 1 if failed else 0
        interval = triggers.interval_of(source, self.schedule, self._zone())
        decision = politeness.decide(
            failed=failed,
            failures=failures,
            interval=interval,
            responses=responses,
            now=now,
            random=self._random,
        )
        updated = dataclasses.replace(
            health,
            last_attempt=now,
            last_outcome=result.outcome,
            last_success=health.last_success if failed else now,
            last_error=result.error if result.error else health.last_error,
            last_error_at=now if result.error else health.last_error_at,
            failures=failures,
            not_before=decision.not_before,
            not_before_reason=decision.reason,
            fetches=health.fetches + len(responses),
            not_modified=health.not_modified + sum(r.status == 304 for r in responses),
            degraded_reason=canary_verdict(result, health),
        )
        if decision.gone:
            updated = dataclasses.replace(
                updated,
                disabled_reason=f"HTTP 410 Gone at {_stamp(now)}",
                disabled_config=config_fingerprint(source),
            )
            logs.event("disabled: HTTP 410 Gone", level=logging.WARNING, source=source.name)
        elif decision.not_before is not None:
            logs.event(
                "next fetch delayed",
                source=source.name,
                until=_stamp(decision.not_before),
                reason=decision.reason,
            )
        with self.store.state(write=True) as db:  # one transaction per source
            healthdb.save(db, updated)
            self._track_redirects(db, source.name, responses, now)
        return updated

    def set_next_run(self, name: str, when: datetime | None) -> None:
        with self.store.state(write=True) as db:
            healthdb.set_next_run(db, name, when)

    # ---------------------------------------------------------------- internals

    def _track_redirects(
        self,
        db: sqlite3.Connection,
        name: str,
        responses: list[politeness.Response],
        now: datetime,
    ) -> None:
        for r in responses:
            target = r.permanent_redirect
            if target is None or target == r.url:
                if r.status is not None:  # an answer without a permanent hop resets the count
                    healthdb.clear_pending_redirect(db, name, r.url)
                continue
            pending = healthdb.pending_redirect(db, name, r.url)
            seen = pending[1] + 1 if pending and pending[0] == target else 1
            moved = now if seen >= MOVE_AFTER else None
            healthdb.note_redirect(db, name, r.url, target, seen, moved)
            if moved:
                logs.event(
                    "url moved (permanent redirect)",
                    level=logging.WARNING,
                    source=name,
                    old=r.url,
                    new=target,
                )

    def _save(self, health: Health) -> None:
        with self.store.state(write=True) as db:
            healthdb.save(db, health)

    def _zone(self) -> tzinfo:
        return self.zone or UTC


def _follow_moves(url: str, moves: Mapping[str, str]) -> str:
    for _ in range(MAX_MOVE_HOPS):
        if url not in moves:
            break
        url = moves[url]
    return url


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
