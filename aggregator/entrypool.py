"""Post files -> Atom entries (read, parse, render, serialise), on every core when there are many.

A cold `build` turns every post into an archive entry; reading the front matter, rendering the
Markdown and sanitising with nh3 is nearly all of its time, and each post is independent. Above
`PARALLEL_FROM` posts the work is split over forked worker processes (forkpool) that inherit the
store and the renderer; results come back in order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Sequence

from . import forkpool
from .atomxml import Entry
from .errors import StoreError
from .models import SiteSettings
from .store import Store

__all__ = ["PARALLEL_FROM", "Result", "entries", "spread"]

PARALLEL_FROM = 400  # fewer posts are done before a pool would have started
_CHUNK = 64  # posts per message to and from a worker (fewer, larger messages: less overhead)

Result = Entry | str | None  # the entry; the file's problem; None when the file is gone


def entries(
    store: Store, render: Callable[[str], str], site: SiteSettings, names: Sequence[str]
) -> Generator[tuple[str, Result], None, None]:
    """(name, result) for each of `names`, in order; the workers start at once (forkpool.start),
    so the caller may do other work before it takes the first result."""
    job = functools.partial(_entry, store, render, site)
    return forkpool.start(job, names, processes=_workers(len(names)), chunk=_CHUNK)


def spread(count: int) -> bool:
    """Would `count` posts be spread over workers (rather than done in-process)?"""
    return _workers(count) > 1


def _workers(count: int) -> int:
    return forkpool.workers(count, PARALLEL_FROM)


def _entry(
    store: Store, render: Callable[[str], str], site: SiteSettings, name: str
) -> tuple[str, Result]:
    try:
        post = store.read_post(name, render, archived=True)
    except StoreError as exc:
        return name, str(exc)
    return name, None if post is None else Entry.of(post, site)
