"""forkpool: results of forked workers equal the in-process ones, in order; no fork where it is
unsafe or not worth it."""

from __future__ import annotations

import multiprocessing
import threading
import time

from aggregator import forkpool


def test_workers_give_the_in_process_results_in_order() -> None:
    offset = 7  # a closure: the workers inherit it, it is never pickled
    items = list(range(100))
    spread = list(forkpool.imap(lambda n: (n, n * n + offset), items, processes=2, chunk=8))
    alone = list(forkpool.imap(lambda n: (n, n * n + offset), items, processes=1, chunk=8))
    assert spread == alone == [(n, n * n + 7) for n in items]


def test_few_items_or_another_thread_stay_in_process() -> None:
    assert forkpool.workers(10, 100) == 1
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert forkpool.workers(1000, 100) == 1
    finally:
        stop.set()
        other.join()


def test_workers_stay_a_bounded_number_of_chunks_ahead_of_the_consumer() -> None:
    done = multiprocessing.Value("i", 0)  # inherited by the forked workers

    def count(n: int) -> int:
        with done.get_lock():
            done.value += 1
        return n

    items = list(range(2000))
    results = forkpool.start(count, items, processes=2, chunk=8)
    assert next(results) == 0
    settled = -1
    while settled != done.value:  # until the workers have nothing more in hand
        settled = done.value
        time.sleep(0.3)
    # the first chunk was taken: at most 2 x AHEAD more were handed out
    assert settled == 8 * (1 + 2 * forkpool.AHEAD)
    assert list(results) == items[1:]
