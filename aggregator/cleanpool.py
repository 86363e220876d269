"""Article bodies cleaned ahead in a worker process, while the pipeline's one writer stores.

`normalise.clean_html` (bs4 + nh3) is the largest cost of storing an item, and it holds the GIL:
the threads that fetch and parse sources ahead cannot overlap it. A source's bodies are sent to a
process as one task when the source is fetched; the writer then takes each result (or cleans the
body itself when there is none: a stream of items, a failed worker). clean_html is pure, so the
result is the same bytes either way. The process starts only for a run with at least MIN_ITEMS
bodies, so a pass of 304s or a few new items costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future
from threading import Lock
from types import TracebackType
from typing import TYPE_CHECKING

from .models import RawItem

if TYPE_CHECKING:  # multiprocessing loads only for a run that starts the process
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["MIN_ITEMS", "CleanPool", "Cleaned"]

MIN_ITEMS = 100  # bodies a source must bring before a process is started

Key = tuple[str, str]  # (item.html, item.link): everything clean_html reads


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


class CleanPool:
    """One run's worker process (started on the first large enough batch), a context manager."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or max(1, (os.cpu_count() or 1) - 1)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = Lock()
        self._pending = 0  # bodies seen before the pool was worth starting

    def submit(self, items: Sequence[RawItem]) -> Cleaned:
        keys = [(item.html, item.link) for item in items]
        with self._lock:
            self._pending += len(keys)
            if self._pool is None and (self._pending < MIN_ITEMS or not keys):
                return Cleaned(keys, None)
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawn, not fork: this process has threads (fetching) and an open database
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
            pool = self._pool
        return Cleaned(keys, pool.submit(_clean_all, keys))

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


def _clean_all(keys: Sequence[Key]) -> list[str]:
    from .normalise import clean_html, safe_link

    return [clean_html(html, base_url=safe_link(link) or None) for html, link in keys]
