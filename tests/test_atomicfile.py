"""atomicfile: files committed in groups are made durable with one syncfs per file system."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from aggregator import atomicfile
from aggregator.atomicfile import SYNCFS_FROM, TEMP_PREFIX, commit_staged, stage
from aggregator.errors import StoreError


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[int]]]:
    """Records the fds given to syncfs and to fsync (both still do their work)."""
    calls: dict[str, list[int]] = {"syncfs": [], "fsync": []}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls["fsync"].append(fd)
        real_fsync(fd)

    def syncfs(fd: int) -> None:
        calls["syncfs"].append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(atomicfile, "_syncfs", lambda: syncfs)
    yield calls


def staged_files(root: Path, count: int, dirs: tuple[str, ...] = ("a",)) -> list[Path]:
    paths = []
    for n in range(count):
        directory = root / dirs[n % len(dirs)]
        directory.mkdir(exist_ok=True)
        paths.append(directory / f"{n}.xml")
    return paths


def commit(paths: list[Path]) -> None:
    commit_staged([stage(path, f"file {path.name}".encode()) for path in paths])


def test_a_group_is_synced_once_per_file_system(
    tmp_path: Path, synced: dict[str, list[int]]
) -> None:
    paths = staged_files(tmp_path, SYNCFS_FROM, dirs=("a", "b"))
    commit(paths)
    assert len(synced["syncfs"]) == 1
    # the only fsyncs left are the two directories' (after the renames)
    assert len(synced["fsync"]) == 2
    assert [path.read_bytes() for path in paths] == [f"file {n}.xml".encode() for n in range(8)]
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_fewer_files_are_fsynced_one_by_one(tmp_path: Path, synced: dict[str, list[int]]) -> None:
    commit(staged_files(tmp_path, SYNCFS_FROM - 1))
    assert synced["syncfs"] == []
    assert len(synced["fsync"]) == SYNCFS_FROM - 1 + 1  # the files, then their directory


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EPERM])
def test_a_refused_syncfs_falls_back_to_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synced: dict[str, list[int]], code: int
) -> None:
    def refused(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomicfile, "_syncfs", lambda: refused)
    paths = staged_files(tmp_path, SYNCFS_FROM)
    commit(paths)
    assert len(synced["fsync"]) == SYNCFS_FROM + 1
    assert paths[-1].read_bytes() == f"file {SYNCFS_FROM - 1}.xml".encode()


def test_without_syncfs_every_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synced: dict[str, list[int]]
) -> None:
    monkeypatch.setattr(atomicfile, "_syncfs", lambda: None)
    commit(staged_files(tmp_path, SYNCFS_FROM))
    assert len(synced["fsync"]) == SYNCFS_FROM + 1


def test_a_failed_syncfs_keeps_every_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = staged_files(tmp_path, SYNCFS_FROM)
    for path in paths:
        path.write_bytes(b"old")

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomicfile, "_syncfs", lambda: failing)
    with pytest.raises(StoreError, match=f"cannot write {paths[0]}: Input/output error"):
        commit(paths)
    assert [path.read_bytes() for path in paths] == [b"old"] * SYNCFS_FROM
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_the_real_syncfs_commits_a_group(tmp_path: Path) -> None:
    paths = staged_files(tmp_path, 2 * SYNCFS_FROM, dirs=("a", "b", "c"))
    commit(paths)
    assert [path.read_bytes() for path in paths] == [
        f"file {n}.xml".encode() for n in range(2 * SYNCFS_FROM)
    ]


def uname(release: str) -> Callable[[], SimpleNamespace]:
    return lambda: SimpleNamespace(release=release)


@pytest.mark.parametrize(
    ("release", "version"),
    [("6.1.0-18-amd64", (6, 1)), ("5.8", (5, 8)), ("4.19.0+", (4, 19)), ("6.18.44-fc-v1", (6, 18))],
)
def test_kernel_version(
    monkeypatch: pytest.MonkeyPatch, release: str, version: tuple[int, ...]
) -> None:
    monkeypatch.setattr(os, "uname", uname(release))
    assert atomicfile._kernel_version() == version


def test_no_syncfs_before_linux_5_8(monkeypatch: pytest.MonkeyPatch) -> None:
    # before 5.8 syncfs returned 0 even when write-back failed: an fsync per file reports it
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "uname", uname("5.7.19"))
    atomicfile._syncfs.cache_clear()
    try:
        assert atomicfile._syncfs() is None
    finally:
        atomicfile._syncfs.cache_clear()
