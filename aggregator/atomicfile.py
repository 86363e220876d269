"""Atomic file replacement and the temp files it leaves behind after a crash.

Every file is replaced atomically (temp file in the same dir, fsync, os.replace, fsync of the dir),
so a reader or a crash sees the old bytes or the new ones, never a mix. Temp files are named
`.tmp-aggregator-<pid>-<hex>`: a dot-name without `.md`/`.xml`, so Jekyll never publishes one, and
`clean_temp_files` can find the ones a crash left behind.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from pathlib import Path

from . import crashpoints
from .errors import StoreError

__all__ = ["TEMP_PREFIX", "atomic_write", "clean_temp_files", "fsync_dir"]

TEMP_PREFIX = ".tmp-aggregator-"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers and crashes see the old or the new bytes."""
    directory = path.parent
    temp = directory / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
    try:
        # O_EXCL: never write through a file or symlink that is already there; 0o666 & umask
        # gives the same permissions as any file the user creates (mkstemp would give 0600).
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        crashpoints.reached("before-replace")
        os.replace(temp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    fsync_dir(directory)
    crashpoints.reached("after-replace")


def clean_temp_files(root: Path) -> int:
    """Remove temp files a crash left behind anywhere under `root`; returns how many.

    A temp file names the pid that writes it; those of a live process (a concurrent run, or
    this one) are left alone, so cleaning never breaks a write in progress.
    """
    if not root.is_dir():
        return 0
    removed = 0
    for dirpath, dirnames, filenames in os.walk(root):
        # nothing is written below a dot-dir, so skip .git, .aggregator, ...
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(TEMP_PREFIX) and not _writer_alive(name):
                with suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
    return removed


def _writer_alive(temp_name: str) -> bool:
    """Is the process that named this temp file (`<prefix><pid>-<hex>`) still running?"""
    pid_text = temp_name[len(TEMP_PREFIX) :].partition("-")[0]
    if not pid_text.isdigit():
        return False  # an older name without a pid: its writer is long gone
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
