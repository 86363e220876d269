"""Post writes of one source, made durable together (see Store.batch).

Writing posts one by one costs two fsyncs and one SQLite commit each. In a batch the post files
are staged (temp files, written by one helper thread: creating a file can wait on the file
system's journal, and the writer goes on meanwhile); at the flush they are synced at once and
renamed (atomicfile), and only then are their index rows and the items' `seen` and article rows
committed in one transaction: the state never names a file that is not durably in place, as in
the one-by-one order. The store flushes early whenever a read needs a pending write, so every
decision is the one-by-one one.

A batch is committed in parts of MAX_PENDING files, and a part goes in on its own thread
(`Behind`) while the writer stages the next one (or the next source's items); at most one part is
behind, and what needs it waits for it. `BatchCommit` collects a batch's failures, so a failure
is raised for the batch it belongs to, once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue

from . import postindex
from .atomicfile import Staged, discard_staged, stage
from .errors import StoreError
from .models import Post

__all__ = ["MAX_PENDING", "BatchCommit", "Behind", "WriteBatch"]

MAX_PENDING = 128  # staged files per part of a larger batch (two parts open at most: Store)


@dataclass
class WriteBatch:
    files: dict[str, tuple[Future[Staged], Post]] = field(default_factory=dict)  # by file name
    seen: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # -> file, date
    articles: list[tuple[tuple[str, ...], str, str]] = field(default_factory=list)
    identities: set[str] = field(default_factory=set)
    _stager: _Stager | None = None
    _posts: dict[Path, Post] = field(default_factory=dict)  # by temp file, once staged

    def __bool__(self) -> bool:
        return bool(self.files or self.seen or self.articles)

    def add_file(self, filename: str, path: Path, data: bytes, post: Post) -> None:
        """Stage `data` as the next version of `path` (in the helper thread)."""
        if self._stager is None:
            self._stager = _Stager()
        self.files[filename] = (self._stager.submit(path, data), post)

    def add_article(self, identities: Sequence[str], category: str, filename: str) -> None:
        self.articles.append((tuple(identities), category, filename))
        self.identities.update(identities)

    def staged(self) -> tuple[list[Staged], StoreError | None]:
        """The staged files in the order written, once all are written, up to the first that
        could not be, and its error: the later ones are discarded, and as after any failed
        flush the batch's items are fetched and stored again on the next pass."""
        done: list[Staged] = []
        failed: StoreError | None = None
        try:
            for future, post in self.files.values():
                try:
                    one = future.result()
                except StoreError as exc:
                    failed = failed or exc
                    continue
                if failed is None:
                    done.append(one)
                    self._posts[one.temp] = post
                else:
                    discard_staged([one])
        finally:  # ends the helper thread (a process of one thread may fork: see forkpool)
            if self._stager is not None:
                self._stager.shutdown()
        return done, failed

    def index_rows(self, replaced: Sequence[Staged]) -> list[postindex.IndexRow]:
        """The post index rows of the files now in place."""
        rows = []
        for staged in replaced:
            try:
                stat = os.stat(staged.path)
            except OSError as exc:
                raise StoreError(f"cannot stat {staged.path}: {exc.strerror or exc}") from exc
            rows.append(postindex.row_for_post(self._posts[staged.temp], staged.path.name, stat))
        return rows


class _Stager:
    """The helper thread that stages a batch's files in the order given. (A plain queue rather
    than a thread pool: handing a file over must not make the writer wait on a lock the helper
    holds, since every wait lets the fetching threads take the interpreter.)"""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[tuple[Path, bytes, Future[Staged]] | None] = SimpleQueue()
        # a daemon: were shutdown never reached, exiting would not wait (its temp files are
        # cleaned by the next run)
        self._thread = threading.Thread(target=self._run, name="stage", daemon=True)
        self._thread.start()

    def submit(self, path: Path, data: bytes) -> Future[Staged]:
        future: Future[Staged] = Future()
        self._jobs.put((path, data, future))
        return future

    def shutdown(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            path, data, future = job
            try:
                future.set_result(stage(path, data))
            except BaseException as exc:  # handed to the writer, which raises it
                future.set_exception(exc)


class BatchCommit:
    """The commit of one Store.batch: the failures of its parts, raised once each."""

    def __init__(self, wait_behind: Callable[[BatchCommit], None]) -> None:
        self._wait_behind = wait_behind  # waits for the batch's part on a helper thread, if any
        self._failed: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        self._failed = self._failed or exc

    def take_failure(self) -> BaseException | None:
        failed, self._failed = self._failed, None
        return failed

    def wait(self) -> None:
        """Wait until the batch is in (behind=True); raise its failure not yet raised."""
        self._wait_behind(self)
        failed = self.take_failure()
        if failed is not None:
            raise failed


class Behind:
    """A batch part committed on its own thread (Store._flush_behind)."""

    def __init__(
        self, batch: WriteBatch, commit: Callable[[WriteBatch], None], owner: BatchCommit
    ) -> None:
        self.batch = batch
        self.owner = owner
        self._thread = threading.Thread(target=self._run, args=(commit,), name="commit")
        self._thread.start()

    def _run(self, commit: Callable[[WriteBatch], None]) -> None:
        try:
            commit(self.batch)
        except BaseException as exc:  # raised in the writer by its batch's flush or wait
            self.owner.fail(exc)

    def wait(self) -> None:
        self._thread.join()
