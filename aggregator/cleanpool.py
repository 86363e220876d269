"""Article bodies cleaned ahead in worker processes, while the pipeline's one writer stores.

`posts.clean_article` (bs4 + nh3) is the largest cost of storing an item, and it holds the GIL:
the threads that fetch and parse sources ahead cannot overlap it. A source's bodies are sent to a
process as one task when the source is fetched (`submit`), or, for items that arrive as a stream
while their bodies are fetched, in chunks as they arrive (`ahead`); the writer then takes each
result (or cleans the body itself when there is none: a failed worker, a chunk the worker has
not started yet). clean_article is pure, so the result is the same bytes either way. The pool
starts only for a run with at least MIN_ITEMS bodies, so a pass of 304s or a few new items costs
nothing.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import suppress
from threading import Lock
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from .models import RawItem

if TYPE_CHECKING:  # multiprocessing loads only for a run that starts the process
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["AHEAD", "CHUNK", "MIN_ITEMS", "CleanPool", "Cleaned"]

MIN_ITEMS = 100  # bodies a source must bring before a process is started
CHUNK = 8  # streamed bodies per task: fewer round trips, and the worker stays ahead
AHEAD = 64  # streamed outcomes held back at most while their bodies are cleaned

Key = tuple[str, str]  # (item.html, item.link): everything clean_article reads
T = TypeVar("T")


class Cleaned:
    """The bodies of one source as cleaned by the pool; `get` gives None when it has no result."""

    def __init__(self, keys: Sequence[Key], future: Future[list[str]] | None) -> None:
        self._keys = keys
        self._future = future
        self._done: dict[Key, str] | None = None

    def get(self, item: RawItem) -> str | None:
        if self._future is None:
            return None
        if self._done is None:
            try:
                self._done = dict(zip(self._keys, self._future.result(), strict=True))
            except Exception:  # a broken worker: the writer cleans every body itself
                self._done = {}
        return self._done.get((item.html, item.link))


class _Chunk:
    """Up to CHUNK streamed bodies, cleaned by the worker or, when it has not begun, here."""

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.future: Future[list[str]] | None = None
        self.closed = False  # sent, or taken over by the writer: no more keys
        self._bodies: list[str] | None = None

    def send(self, pool: ProcessPoolExecutor) -> None:
        self.closed = True
        self.future = pool.submit(_clean_all, self.keys)

    def ready(self) -> bool:
        return self.closed and (self.future is None or self.future.done())

    def body(self, index: int) -> str:
        if self._bodies is None:
            self.closed = True
            # not started yet: cancel it and clean here rather than wait behind the worker
            if self.future is not None and not self.future.cancel():
                with suppress(Exception):  # a broken worker: clean here
                    self._bodies = self.future.result()
            if self._bodies is None:
                self._bodies = _clean_all(self.keys)
        return self._bodies[index]


class CleanPool:
    """One run's worker processes (started on the first large enough batch), a context manager."""

    def __init__(self, workers: int | None = None) -> None:
        # one per core: the writer's process mostly waits (on them, on file syncs), so a core
        # kept for it would idle (a 10,000-entry first fetch: 63 s with one worker, 45 s with
        # two, on two cores)
        self._workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._lock = Lock()
        self._pending = 0  # bodies seen before the pool was worth starting

    def submit(self, items: Sequence[RawItem]) -> Cleaned:
        keys = [(item.html, item.link) for item in items]
        pool = self._started(len(keys))
        return Cleaned(keys, None if pool is None else pool.submit(_clean_all, keys))

    def ahead(
        self, outcomes: Iterable[T], on_arrival: Callable[[T], object] | None = None
    ) -> Iterator[tuple[T, str | None]]:
        """Each of `outcomes` in order, with its cleaned body when it is a RawItem (else None).

        Bodies go to the worker in chunks as the outcomes arrive; an outcome is handed on once
        its body is back, or when AHEAD outcomes wait behind it (then the writer takes over the
        chunk if the worker has not begun it), so the writer never idles while work is queued.
        `on_arrival` is told of each outcome as it arrives, before those ahead of it are handed
        on (the writer reads the state rows of every arrived item at once).
        """
        waiting: deque[tuple[T, _Chunk | None, int]] = deque()
        filling: _Chunk | None = None
        for outcome in outcomes:
            if on_arrival is not None:
                on_arrival(outcome)
            chunk, index = None, 0
            if isinstance(outcome, RawItem):
                pool = self._started(1)
                if filling is None or filling.closed:
                    filling = _Chunk()
                chunk, index = filling, len(filling.keys)
                filling.keys.append((outcome.html, outcome.link))
                if pool is None:  # no worker (yet): cleaned here, when it is handed on
                    filling.closed = True
                elif len(filling.keys) == CHUNK:
                    filling.send(pool)
            waiting.append((outcome, chunk, index))
            while waiting and (len(waiting) > AHEAD or _ready(waiting[0][1])):
                yield _taken(waiting.popleft())
        if filling is not None and not filling.closed and self._pool is not None:
            filling.send(self._pool)
        while waiting:
            yield _taken(waiting.popleft())

    def _started(self, bodies: int) -> ProcessPoolExecutor | None:
        """The pool, started once MIN_ITEMS bodies were seen; None before (clean here)."""
        with self._lock:
            self._pending += bodies
            if self._pool is None and (self._pending < MIN_ITEMS or not bodies):
                return None
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawn, not fork: this process has threads (fetching) and an open database
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
            return self._pool

    def __enter__(self) -> CleanPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _ready(chunk: _Chunk | None) -> bool:
    return chunk is None or chunk.ready()


def _taken(entry: tuple[T, _Chunk | None, int]) -> tuple[T, str | None]:
    outcome, chunk, index = entry
    return outcome, None if chunk is None else chunk.body(index)


def _clean_all(keys: Sequence[Key]) -> list[str]:
    from .posts import clean_article

    return [clean_article(html, link) for html, link in keys]
