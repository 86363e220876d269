"""Published files written together (see Store.file_batch): staged, then made durable in groups.

A cold `build` writes hundreds of archive pages. One by one, each costs a file fsync and a
directory fsync, and every directory fsync is a journal commit of its own. Staged, a group of up
to MAX_PENDING files is synced at once (atomicfile.commit_staged: parallel fsyncs, each directory
synced once), then renamed into place in the order written. Each file is still replaced
atomically; a file is in place once its group is committed, so whoever records that the files
exist (the archive marks) does so after `commit`.

The files are created, written and committed by one helper thread, in the order given: creating
a file can wait on the file system's journal (~1 ms while other files are being synced), and the
caller goes on building the next page meanwhile, up to MAX_QUEUED bytes ahead (a caller faster
than the file system would otherwise pile up every file's bytes in the queue). The thread is
started by the first file and ended by `close`, so a process that forks workers before or after a
batch has no other thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .atomicfile import Staged, commit_staged, discard_staged, stage

__all__ = ["MAX_PENDING", "MAX_QUEUED", "FileBatch"]

MAX_PENDING = 128  # staged files held open at most; ~30 MiB of archive pages
MAX_QUEUED = 8 << 20  # bytes given to `add` and not yet staged (a larger file waits alone)


class FileBatch:
    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._limit = max(limit, 1)
        self._written: set[Path] = set()  # given to `add`, not yet known to be in place
        self._writer: ThreadPoolExecutor | None = None
        self._queued = 0  # bytes given to `add` and not yet staged
        self._room = threading.Condition()  # notified as files are staged
        # the helper thread's own: files staged and not committed, and the first failure
        self._staged: list[Staged] = []
        self._failed: BaseException | None = None

    def __contains__(self, path: Path) -> bool:
        return path in self._written

    def add(self, path: Path, data: bytes) -> None:
        """Have `data` replace `path`; a second write of one path first commits the first. A
        failure of an earlier file is raised here (that file and the later ones are not in
        place), as writing one by one would have stopped there."""
        if path in self._written:
            self.commit()
        self._raise_failure()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="filebatch")
        self._written.add(path)
        with self._room:
            self._room.wait_for(lambda: self._queued < MAX_QUEUED)
            self._queued += len(data)
        self._writer.submit(self._stage, path, data)

    def commit(self) -> None:
        """Wait until every file given is in place; a StoreError names the first that failed."""
        if self._writer is not None:
            self._writer.submit(self._commit).result()
        self._written.clear()
        self._raise_failure()

    def close(self) -> None:
        """End the helper thread; files staged and not committed (after a failure) are dropped."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        staged, self._staged = self._staged, []
        discard_staged(staged)
        self._written.clear()

    def _raise_failure(self) -> None:
        if self._failed is not None:  # (set once by the helper thread, never cleared)
            raise self._failed

    # ---------------------------------------------------------------- in the helper thread

    def _stage(self, path: Path, data: bytes) -> None:
        try:
            if self._failed is None:  # (after a failure nothing more is written)
                self._staged.append(stage(path, data))
        except BaseException as exc:
            self._failed = exc
        finally:
            with self._room:  # its bytes are in the file now
                self._queued -= len(data)
                self._room.notify()
        if self._failed is None and len(self._staged) >= self._limit:
            self._commit()

    def _commit(self) -> None:
        staged, self._staged = self._staged, []
        try:
            if staged:
                commit_staged(staged)
        except BaseException as exc:
            self._failed = self._failed or exc
