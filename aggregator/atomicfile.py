"""Atomic file replacement and the temp files it leaves behind after a crash.

Every file is replaced atomically (temp file in the same dir, fsync, os.replace, fsync of the dir),
so a reader or a crash sees the old bytes or the new ones, never a mix. Temp files are named
`.tmp-aggregator-<pid>-<hex>`: a dot-name without `.md`/`.xml`, so Jekyll never publishes one, and
`clean_temp_files` can find the ones a crash left behind.

Many files written together (a source's posts) are staged (`stage`: temp file written, kept open)
and then committed at once (`commit_staged`): they are made durable together (one `syncfs` per file
system on Linux, else their fsyncs in parallel, which the file system serves with one journal
commit), and each directory is synced once after the renames.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from . import crashpoints
from .errors import StoreError

__all__ = [
    "TEMP_PREFIX",
    "Staged",
    "atomic_write",
    "clean_temp_files",
    "commit_staged",
    "discard_staged",
    "fsync_dir",
    "stage",
]

TEMP_PREFIX = ".tmp-aggregator-"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers and crashes see the old or the new bytes."""
    commit_staged([stage(path, data)])


@dataclass(frozen=True)
class Staged:
    """A complete temp file, still open and not yet durable, that is to replace `path`."""

    path: Path
    temp: Path
    fd: int


def stage(path: Path, data: bytes) -> Staged:
    """Write `data` to a new temp file beside `path`; commit_staged or discard_staged it."""
    temp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
    try:
        # O_EXCL: never write through a file or symlink that is already there; 0o666 & umask
        # gives the same permissions as any file the user creates (mkstemp would give 0600).
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    staged = Staged(path, temp, fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException as exc:
        discard_staged([staged])
        if isinstance(exc, OSError):
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return staged


def commit_staged(staged: Sequence[Staged], replaced: list[Staged] | None = None) -> None:
    """Make every staged file durable, then rename each into place, then sync each directory.

    Each file renamed is appended to `replaced`. A StoreError names the file that failed; the
    files before it are in place, it and the ones after it are not (their temp files are gone)."""
    done = 0
    try:
        _sync_and_close(staged)
        for one in staged:
            crashpoints.reached("before-replace")
            os.replace(one.temp, one.path)
            done += 1
            if replaced is not None:
                replaced.append(one)
            crashpoints.reached("after-replace")
    except BaseException as exc:
        _remove(staged[done:])
        if isinstance(exc, OSError):
            raise StoreError(f"cannot write {staged[done].path}: {exc.strerror or exc}") from exc
        raise
    finally:
        for directory in dict.fromkeys(one.path.parent for one in staged[:done]):
            fsync_dir(directory)


FSYNC_WORKERS = 16
# Staged files from which one syncfs per file system replaces their fsyncs. Each fsync returns
# through the interpreter lock, which the writer and the parsing threads hold most of the time:
# a first fetch of 10,000 posts spent ~12 s in those hand-offs, ~2 s with syncfs.
SYNCFS_FROM = 8


def _sync_and_close(staged: Sequence[Staged]) -> None:
    try:
        if len(staged) >= SYNCFS_FROM and _sync_file_systems(staged):
            return
        if len(staged) == 1:
            os.fsync(staged[0].fd)
        elif staged:  # concurrent fsyncs share the file system's journal commits
            with ThreadPoolExecutor(max_workers=min(len(staged), FSYNC_WORKERS)) as pool:
                list(pool.map(os.fsync, [one.fd for one in staged]))
    finally:
        for one in staged:
            with suppress(OSError):
                os.close(one.fd)


def _sync_file_systems(staged: Sequence[Staged]) -> bool:
    """syncfs once per file system holding `staged` (it writes back every dirty file there and
    waits, so each staged file is durable; other programs' pending writes on it too, the price of
    one call instead of one per file); False where syncfs cannot be used."""
    syncfs = _syncfs()
    if syncfs is None:
        return False
    by_device: dict[int, int] = {}  # st_dev -> an fd on it (files of one dir share a device)
    by_dir: set[Path] = set()
    for one in staged:
        if one.path.parent not in by_dir:
            by_dir.add(one.path.parent)
            by_device.setdefault(os.fstat(one.fd).st_dev, one.fd)
    try:
        for fd in by_device.values():
            syncfs(fd)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM):  # refused (a seccomp filter): fsync each
            return False
        raise
    return True


@functools.cache
def _syncfs() -> Callable[[int], None] | None:
    """libc's syncfs, where it reports write-back errors (Linux 5.8 and later; before, it
    returned 0 even when a file could not be written, which an fsync reports)."""
    if not sys.platform.startswith("linux") or _kernel_version() < (5, 8):
        return None
    import ctypes  # (only for a run that commits files in groups)

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int

    def syncfs(fd: int) -> None:
        if function(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return syncfs


def _kernel_version() -> tuple[int, ...]:
    """(major, minor) of the running kernel's release ("6.1.0-18-amd64" -> (6, 1))."""
    numbers = []
    for part in os.uname().release.split(".")[:2]:
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def _remove(staged: Sequence[Staged]) -> None:
    for one in staged:
        with suppress(OSError):
            os.unlink(one.temp)


def discard_staged(staged: Sequence[Staged]) -> None:
    """Close and remove staged temp files that will not be committed."""
    for one in staged:
        with suppress(OSError):
            os.close(one.fd)
    _remove(staged)


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
