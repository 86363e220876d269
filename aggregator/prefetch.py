"""Run jobs a few at a time in worker threads and hand back their results in submission order.

The pipeline fetches and parses sources ahead in threads while its one writer stores them in the
config's order (so slugs and duplicates resolve exactly as in a sequential pass). At most `ahead`
jobs are started but not yet consumed, which bounds memory to that many sources' items.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["in_order"]

J = TypeVar("J")
R = TypeVar("R")


def in_order(
    run: Callable[[J], R],
    jobs: Iterable[J],
    *,
    workers: int,
    ahead: int,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[J, R]]:
    """(job, run(job)) in the order of `jobs`; a job's exception is raised when its turn comes.

    `should_stop` is asked before each job is started: once it says yes no job is started and
    the iteration ends after the jobs already running (their results are dropped). Closing the
    iterator early waits for running jobs and cancels the queued ones.
    """
    pending: deque[tuple[J, Future[R]]] = deque()
    source = iter(jobs)
    stopped = False
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="prefetch") as pool:
        try:
            while True:
                while not stopped and len(pending) < max(1, ahead):
                    if should_stop is not None and should_stop():
                        stopped = True
                        break
                    try:
                        job = next(source)
                    except StopIteration:
                        stopped = True
                        break
                    pending.append((job, pool.submit(run, job)))
                if not pending or (should_stop is not None and should_stop()):
                    return
                job, future = pending.popleft()
                yield job, future.result()
        finally:
            for _, future in pending:
                future.cancel()
