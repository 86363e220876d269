"""Per-source health in the SQLite state: the SQL only (health.py decides what to write).

    source_health(source, last_attempt, last_success, last_error, last_error_at, last_outcome,
                  failures, not_before, not_before_reason, next_run, fetches, not_modified,
                  disabled_reason, disabled_config, degraded_reason)
    source_redirects(source, url, target, seen, moved_at)

Times are ISO 8601 strings in UTC. `not_before` is the politeness verdict (backoff, Retry-After,
cache lifetime); `next_run` is what the daemon has scheduled; `degraded_reason` is the canary's
verdict on the last pass that got items or an empty answer (canary.py; NULL: healthy). A `source_redirects` row with
`moved_at` set means the source's `url` now lives at `target` (301/308 seen on consecutive fetches);
the row stays as the history of the old URL.

Everything here takes an open connection; Store owns the connection and its transactions.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime

HEALTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_health (
    source TEXT PRIMARY KEY,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT,
    last_error_at TEXT,
    last_outcome TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    not_before TEXT,
    not_before_reason TEXT,
    next_run TEXT,
    fetches INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    disabled_config TEXT,
    degraded_reason TEXT
);
CREATE TABLE IF NOT EXISTS source_redirects (
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    target TEXT NOT NULL,
    seen INTEGER NOT NULL,
    moved_at TEXT,
    PRIMARY KEY (source, url)
)
"""


@dataclass(frozen=True)
class Health:
    """One source's row; a source never fetched has the defaults."""

    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_outcome: str | None = None
    failures: int = 0
    not_before: datetime | None = None
    not_before_reason: str | None = None
    next_run: datetime | None = None
    fetches: int = 0  # answers of the source's own URLs
    not_modified: int = 0  # of which 304
    disabled_reason: str | None = None
    disabled_config: str | None = None  # fingerprint of the config that was disabled
    degraded_reason: str | None = None  # the canary's verdict (no items, lost fields), else None


_COLUMNS = tuple(f.name for f in fields(Health))
# columns added to source_health after schema 3, with their SQL types
_ADDED_COLUMNS = (("degraded_reason", "TEXT"),)  # schema 6
_TIMES = frozenset({"last_attempt", "last_success", "last_error_at", "not_before", "next_run"})


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Add the columns of later schema steps to an older `source_health` (NULL: no verdict)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(source_health)")}
    for column, kind in _ADDED_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE source_health ADD COLUMN {column} {kind}")


def load(db: sqlite3.Connection, source: str) -> Health:
    row = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM source_health WHERE source = ?", (source,)
    ).fetchone()
    return _health(row) if row else Health(source)


def load_all(db: sqlite3.Connection) -> dict[str, Health]:
    rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM source_health ORDER BY source")
    return {row[0]: _health(row) for row in rows}


def save(db: sqlite3.Connection, health: Health) -> None:
    values = [
        v.isoformat() if isinstance(v, datetime) else v
        for v in (getattr(health, name) for name in _COLUMNS)
    ]
    db.execute(
        f"INSERT OR REPLACE INTO source_health ({', '.join(_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in _COLUMNS)})",
        values,
    )


def set_next_run(db: sqlite3.Connection, source: str, when: datetime | None) -> None:
    db.execute("INSERT INTO source_health (source) VALUES (?) ON CONFLICT DO NOTHING", (source,))
    stamp = when.isoformat() if when else None
    db.execute("UPDATE source_health SET next_run = ? WHERE source = ?", (stamp, source))


def moved_urls(db: sqlite3.Connection, source: str) -> dict[str, str]:
    """Old URL -> new URL for every move committed for `source`."""
    rows = db.execute(
        "SELECT url, target FROM source_redirects WHERE source = ? AND moved_at IS NOT NULL",
        (source,),
    )
    return dict(rows)


def pending_redirect(db: sqlite3.Connection, source: str, url: str) -> tuple[str, int] | None:
    row = db.execute(
        "SELECT target, seen FROM source_redirects"
        " WHERE source = ? AND url = ? AND moved_at IS NULL",
        (source, url),
    ).fetchone()
    return (row[0], row[1]) if row else None


def note_redirect(
    db: sqlite3.Connection, source: str, url: str, target: str, seen: int, moved_at: datetime | None
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO source_redirects (source, url, target, seen, moved_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (source, url, target, seen, moved_at.isoformat() if moved_at else None),
    )


def clear_pending_redirect(db: sqlite3.Connection, source: str, url: str) -> None:
    db.execute(
        "DELETE FROM source_redirects WHERE source = ? AND url = ? AND moved_at IS NULL",
        (source, url),
    )


def _health(row: tuple[object, ...]) -> Health:
    values = {
        name: datetime.fromisoformat(v) if name in _TIMES and isinstance(v, str) else v
        for name, v in zip(_COLUMNS, row, strict=True)
    }
    return Health(**values)  # type: ignore[arg-type]
