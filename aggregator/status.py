"""`aggregator status`: per-source health as rows, and as stable JSON.

The JSON is a contract for scripts and monitoring: keys never change order, times are UTC
(`2025-06-01T08:00:00Z`) or null, and a source that was never fetched has nulls and zeros.
termview.py draws the same rows as a table.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import healthdb
from .config import Config
from .health import is_degraded
from .lock import daemon_lock, holder_pid, is_held
from .store import ARCHIVE_DIR, POSTS_DIR, Store

HEAD_BYTES = 4096  # front matter is read from the first bytes of each post file
_SOURCE_NAME = re.compile(rb'^source_name:[ \t]*"?([^"\r\n]*)"?[ \t]*\r?$', re.M)


@dataclass(frozen=True)
class SourceStatus:
    name: str
    type: str
    url: str
    urls: tuple[str, ...]
    moved: dict[str, str]  # old URL -> new URL (permanent redirects)
    enabled: bool
    disabled_reason: str | None
    degraded: bool
    last_attempt: str | None
    last_success: str | None
    last_outcome: str | None
    last_error: str | None
    last_error_at: str | None
    consecutive_failures: int
    next_run: str | None
    not_before: str | None
    not_before_reason: str | None
    posts: int
    fetches: int
    not_modified: int
    not_modified_share: float | None
    degraded_reason: str | None  # the canary's verdict (no items, lost fields); last, a later key


@dataclass(frozen=True)
class DaemonStatus:
    running: bool
    pid: int | None


def collect(config: Config, store: Store) -> tuple[DaemonStatus, list[SourceStatus]]:
    with store.state() as db:
        health = healthdb.load_all(db)
        moves = {s.name: healthdb.moved_urls(db, s.name) for s in config.sources}
    counts = count_posts(store.root, (POSTS_DIR, ARCHIVE_DIR))
    rows = []
    for source in config.sources:
        h = health.get(source.name, healthdb.Health(source.name))
        moved = moves[source.name]
        urls = tuple(moved.get(url, url) for url in source.urls)
        rows.append(
            SourceStatus(
                name=source.name,
                type=source.type,
                url=urls[0] if urls else "",
                urls=urls,
                moved=dict(sorted(moved.items())),
                enabled=h.disabled_reason is None,
                disabled_reason=h.disabled_reason,
                degraded=is_degraded(h),
                last_attempt=_utc(h.last_attempt),
                last_success=_utc(h.last_success),
                last_outcome=h.last_outcome,
                last_error=_one_line(h.last_error),
                last_error_at=_utc(h.last_error_at),
                consecutive_failures=h.failures,
                next_run=_utc(h.next_run),
                not_before=_utc(h.not_before),
                not_before_reason=h.not_before_reason,
                posts=counts.get(source.name, 0),
                fetches=h.fetches,
                not_modified=h.not_modified,
                not_modified_share=round(h.not_modified / h.fetches, 3) if h.fetches else None,
                degraded_reason=h.degraded_reason,
            )
        )
    lock = daemon_lock(config.storage_dir).path
    running = is_held(lock)
    return DaemonStatus(running, holder_pid(lock) if running else None), rows


def to_json(daemon: DaemonStatus, rows: Iterable[SourceStatus]) -> str:
    payload = {"daemon": asdict(daemon), "sources": [asdict(row) for row in rows]}
    return json.dumps(payload, ensure_ascii=False, indent=2)


def count_posts(root: Path, dirs: Iterable[str]) -> dict[str, int]:
    """Post files per `source_name` in their front matter, over `dirs` under `root`."""
    counts: dict[str, int] = {}
    for name in dirs:
        try:
            entries = list(os.scandir(root / name))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".md") or entry.name.startswith("."):
                continue
            try:
                with open(entry.path, "rb") as handle:
                    head = handle.read(HEAD_BYTES)
            except OSError:
                continue
            match = _SOURCE_NAME.search(head)
            if match:
                source = match.group(1).decode("utf-8", "replace")
                counts[source] = counts.get(source, 0) + 1
    return counts


def _utc(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else text
