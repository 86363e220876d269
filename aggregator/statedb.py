"""The SQLite state under `<storage>/.aggregator/state.sqlite`: opening it and its schema.

Every schema step is additive (CREATE ... IF NOT EXISTS, or a column added when missing), so
running all of them upgrades any older version; `PRAGMA user_version` gates the run and refuses a
newer state than this code knows.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import articledb, crashpoints, feedindex, healthdb, postindex
from .errors import StoreError

__all__ = ["SCHEMA_VERSION", "StateAccess", "open_state"]

# 2: the post index (postindex.INDEX_SCHEMA); 3: source health (healthdb.HEALTH_SCHEMA);
# 4: article identities and source yields (articledb.ARTICLE_SCHEMA);
# 5: stored order and change numbers in the post index, archive marks, rendered bodies (feedindex)
# 6: the canary's verdict in source health (healthdb.add_missing_columns: degraded_reason)
# 7: several tags per post (postindex.add_missing_columns: post_tags)
SCHEMA_VERSION = 7

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS validators (
    scope TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    PRIMARY KEY (scope, url)
);
CREATE TABLE IF NOT EXISTS slugs (
    name TEXT PRIMARY KEY,
    slug TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    filename TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
"""


def open_state(path: Path) -> sqlite3.Connection:
    """Open (and create or upgrade) the state database at `path`; StoreError names the file."""
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open state {path}: {exc}") from exc
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit survives a crash of the program, only a power loss can undo
        # the last ones (the state then matches slightly older post files, which a fetch
        # reconciles); saves an fsync per commit, i.e. per item stored.
        db.execute("PRAGMA synchronous = NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"state {path} has schema version {version};"
                f" this aggregator knows up to {SCHEMA_VERSION}"
            )
        if version < SCHEMA_VERSION:
            _upgrade(db)
    except sqlite3.Error as exc:
        db.close()
        raise StoreError(f"cannot use state {path}: {exc}") from exc
    except StoreError:
        db.close()
        raise
    return db


def _upgrade(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        _run(db, f"{STATE_SCHEMA};{postindex.INDEX_SCHEMA}")
        postindex.add_missing_columns(db)  # before the indexes that use them
        _run(db, f"{feedindex.FEED_SCHEMA};{healthdb.HEALTH_SCHEMA};{articledb.ARTICLE_SCHEMA}")
        healthdb.add_missing_columns(db)  # a source_health of schema 3-5
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _run(db: sqlite3.Connection, schema: str) -> None:
    for statement in schema.split(";"):
        if statement.strip():
            db.execute(statement)


class StateAccess:
    """The state database of a Store: opened on first use, one lock, one transaction per write."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def state_path(self) -> Path:
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextmanager
    def state(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The state database for modules that keep their own tables (healthdb); write=True runs
        the block as one BEGIN IMMEDIATE transaction."""
        with self._writing() if write else self._reading() as db:
            yield db

    # ------------------------------------------------------------ database

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create {self.state_path.parent}: {exc.strerror or exc}"
            ) from exc
        db = open_state(self.state_path)
        self._db = db
        return db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._connect()
            try:
                yield db
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read state {self.state_path}: {exc}") from exc

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front, so a concurrent
        writer waits (busy_timeout) instead of failing on a read->write upgrade."""
        with self._lock:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                crashpoints.reached("before-commit")
                db.execute("COMMIT")
                crashpoints.reached("after-commit")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write state {self.state_path}: {exc}") from exc
