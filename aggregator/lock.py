"""Process locks in the state dir: one writer at a time, one daemon at a time.

    storage/.aggregator/writer.lock   held while a pass writes (`fetch`, each daemon batch)
    storage/.aggregator/daemon.lock   held by `aggregator run` for its whole life

Both are `flock` locks on a file holding the holder's pid (for the message of whoever waits). The
kernel drops a lock when its holder dies, even by `kill -9`, so a stale file never blocks anyone.
SQLite's own locking (WAL, busy timeout, BEGIN IMMEDIATE) still guards each transaction; this lock
makes a whole pass (files + state) one writer's.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from .errors import AggregatorError
from .store import STATE_DIR

WRITER_LOCK = "writer.lock"
DAEMON_LOCK = "daemon.lock"
POLL_SECONDS = 0.1


class LockBusy(AggregatorError):
    """Another process holds the lock; `pid` is its pid when it could be read."""

    def __init__(self, path: Path, pid: int | None, waited: float) -> None:
        self.path = path
        self.pid = pid
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(f"{path} is held by {holder}; gave up after {waited:g} s")


class FileLock:
    """`with FileLock(path).acquire(wait=30):`; `wait=0` tries once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(
        self,
        wait: float = 0.0,
        *,
        should_stop: Callable[[], bool] | None = None,
        on_wait: Callable[[int | None], None] | None = None,
    ) -> FileLock:
        """Take the lock, polling up to `wait` seconds (or until `should_stop()`); LockBusy."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                stop = should_stop is not None and should_stop()
                if stop or time.monotonic() >= deadline:
                    pid = holder_pid(self.path)
                    os.close(fd)
                    raise LockBusy(self.path, pid, wait) from None
                if on_wait is not None and not told:
                    on_wait(holder_pid(self.path))
                    told = True
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # nobody holds it: no pid to report
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> FileLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def writer_lock(storage_dir: Path) -> FileLock:
    return FileLock(Path(storage_dir) / STATE_DIR / WRITER_LOCK)


def daemon_lock(storage_dir: Path) -> FileLock:
    return FileLock(Path(storage_dir) / STATE_DIR / DAEMON_LOCK)


def holder_pid(path: Path) -> int | None:
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        return None
    return int(text) if text.isdigit() else None


def is_held(path: Path) -> bool:
    """True when some process holds the lock at `path` (probed without keeping it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken by the probe
    return False
