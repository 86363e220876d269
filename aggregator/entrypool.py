"""Post files -> Atom entries (read, parse, render, serialise), on every core when there are many.

A cold `build` turns every post into an archive entry; reading the front matter, rendering the
Markdown and sanitising with nh3 is nearly all of its time, and each post is independent. Above
`PARALLEL_FROM` posts the work is split over forked worker processes (one per core) that inherit
the store and the renderer; results come back in order. Forking is only done where it is safe: a
platform with fork and a process with no other thread (a lock held by another thread would stay
locked in the child), so `fetch`, whose sources run in threads, stays in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence

from .atomxml import Entry
from .errors import StoreError
from .models import SiteSettings
from .store import Store

__all__ = ["PARALLEL_FROM", "Result", "entries"]

PARALLEL_FROM = 400  # fewer posts are done before a pool would have started
_CHUNK = 16  # posts per message to and from a worker

Result = Entry | str | None  # the entry; the file's problem; None when the file is gone

# what the workers work with: set before the pool forks, so it is never pickled
_job: tuple[Store, Callable[[str], str], SiteSettings] | None = None


def entries(
    store: Store, render: Callable[[str], str], site: SiteSettings, names: Sequence[str]
) -> Iterator[tuple[str, Result]]:
    """(name, result) for each of `names`, in order."""
    global _job
    workers = _workers(len(names))
    _job = (store, render, site)
    try:
        if workers < 2:
            yield from map(_entry, names)
            return
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_entry, names, chunksize=_CHUNK)
    finally:
        _job = None


def _workers(count: int) -> int:
    if count < PARALLEL_FROM or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8)


def _entry(name: str) -> tuple[str, Result]:
    assert _job is not None
    store, render, site = _job
    try:
        post = store.read_post(name, render, archived=True)
    except StoreError as exc:
        return name, str(exc)
    return name, None if post is None else Entry.of(post, site)
