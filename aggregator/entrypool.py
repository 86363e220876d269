"""Post files -> Atom entries (read, parse, render, serialise), on every core when there are many.

A cold `build` turns every post into an archive entry; reading the front matter, rendering the
Markdown and sanitising with nh3 is nearly all of its time, and each post is independent. Above
`PARALLEL_FROM` posts the work is split over forked worker processes (forkpool) that inherit the
store and the renderer; results come back in order. The rendered bodies of the posts named in
`keep` (those of subscription documents) come back too, for the `rendered` table (PostLoader):
a worker must not touch the state's connection.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Generator, Sequence

from . import feedindex, forkpool
from .atomxml import Entry
from .errors import StoreError
from .models import SiteSettings
from .store import Store

__all__ = ["PARALLEL_FROM", "Body", "Result", "entries", "spread"]

PARALLEL_FROM = 400  # fewer posts are done before a pool would have started
_CHUNK = 64  # posts per message to and from a worker (fewer, larger messages: less overhead)

Result = Entry | str | None  # the entry; the file's problem; None when the file is gone
Body = tuple[str, str]  # (feedindex.render_key, HTML) of a body rendered to be kept


def entries(
    store: Store,
    render: Callable[[str], str],
    site: SiteSettings,
    names: Sequence[str],
    *,
    keep: Collection[str] = frozenset(),
    base: str = "",
) -> Generator[tuple[str, Result, Body | None], None, None]:
    """(name, result, body) for each of `names`, in order: body is set for the names in `keep`
    whose body was rendered (`base` is the renderer's, for the key). The workers start at once
    (forkpool.start), so the caller may do other work before it takes the first result."""
    job = functools.partial(_entry, store, render, site, keep, base)
    return forkpool.start(job, names, processes=_workers(len(names)), chunk=_CHUNK)


def spread(count: int) -> bool:
    """Would `count` posts be spread over workers (rather than done in-process)?"""
    return _workers(count) > 1


def _workers(count: int) -> int:
    return forkpool.workers(count, PARALLEL_FROM)


def _entry(
    store: Store,
    render: Callable[[str], str],
    site: SiteSettings,
    keep: Collection[str],
    base: str,
    name: str,
) -> tuple[str, Result, Body | None]:
    bodies: list[Body] = []

    def kept(body: str) -> str:
        html = render(body)
        bodies.append((feedindex.render_key(body, base), html))
        return html

    try:
        post = store.read_post(name, kept if name in keep else render, archived=True)
    except StoreError as exc:
        return name, str(exc), None
    body = bodies[0] if bodies else None
    return name, None if post is None else Entry.of(post, site), body
