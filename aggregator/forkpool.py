"""A function mapped over many items by forked workers (one per core), results in order.

The function is set before the pool forks and inherited by the workers, so it may close over
anything (a store, a renderer); only the items and the results are pickled. Forking is only done
where it is safe: a platform with fork and a process with no other thread (a lock held by another
thread would stay locked in the child): `fetch` stays in-process while its source threads
run, and forks for its feed work once they are done. Used for the archive entries of a cold
`build` or first `fetch` (entrypool), where reading, rendering and serialising every post is
nearly all of the time.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from itertools import islice
from multiprocessing.pool import AsyncResult, Pool
from typing import Any, TypeVar

__all__ = ["imap", "start", "workers"]

Item = TypeVar("Item")
Result = TypeVar("Result")

_MAX_WORKERS = 8
AHEAD = 4  # chunks a worker may have done or in hand before the consumer takes them

# what the workers call: set before the pool forks, so it is never pickled
_job: Callable[[Any], Any] | None = None


def workers(count: int, parallel_from: int) -> int:
    """How many workers to spread `count` items over (1: stay in-process)."""
    if count < parallel_from or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return min(cores, _MAX_WORKERS)


def imap(
    func: Callable[[Item], Result], items: Sequence[Item], *, processes: int, chunk: int
) -> Iterator[Result]:
    """func(item) for each of `items`, in order; spread over `processes` forked workers when
    there are two or more, `chunk` items per message to and from a worker."""
    yield from start(func, items, processes=processes, chunk=chunk)


def start(
    func: Callable[[Item], Result], items: Sequence[Item], *, processes: int, chunk: int
) -> Generator[Result, None, None]:
    """imap, with the workers forked and working from now on rather than from the first
    `next` (in-process, nothing is done ahead). Closing the iterator stops the workers."""
    global _job
    if processes < 2:
        return (func(item) for item in items)
    _job = func
    try:
        pool = multiprocessing.get_context("fork").Pool(processes)
    finally:
        _job = None  # the workers are forked: each has its own copy
    # Workers never run more than AHEAD chunks per worker in front of the consumer: Pool.imap
    # has no such bound, and its results (rendered entries) would pile up in this process
    # while the consumer is busy elsewhere (a cold fetch's peak memory doubled that way).
    chunks = (items[i : i + chunk] for i in range(0, len(items), chunk))
    limit = processes * AHEAD
    pending = deque(pool.apply_async(_call_all, (part,)) for part in islice(chunks, limit))
    return _drained(pool, pending, chunks, limit)


def _drained(
    pool: Pool, pending: deque[AsyncResult[list[Any]]], chunks: Iterator[Sequence[Any]], limit: int
) -> Generator[Any, None, None]:
    with pool:  # leaving (done, closed or collected) terminates the workers
        while pending:
            results = pending.popleft().get()
            for part in islice(chunks, limit - len(pending)):
                pending.append(pool.apply_async(_call_all, (part,)))
            yield from results


def _call_all(items: Sequence[Any]) -> list[Any]:
    assert _job is not None
    return [_job(item) for item in items]
