"""One feed's files from the index: the subscription document, its JSON twin, its archive pages.

    subscription document   newest `limit` posts + those not yet on a full page (see archive)
    archive page k          stored-order posts (k-1)*limit .. k*limit-1, written only when new,
                            when it gains its next-archive link, or when it or an earlier page
                            holds a post written since the feed's archive mark (feedindex: a post
                            stored before others shifts every later page); every page after a
                            reshuffle

Bodies are read and rendered only for the documents written. Pages of many feeds are written in one
pass over the stored order (`write_archives`), so a post on the site's, its category's and its
tag's page is read once, and only `limit` posts per feed are held at a time.

When that pass takes every post anyway (a cold build, a first fetch: every page of the site feed
is written), the subscription documents ride it too (`Document`): their entries are made on the
workers with the archive entries, so each post is read and rendered once, and are parked in an
unnamed temporary file (`_Spool`) until the pass is over, since a document's newest posts lie all
over the stored order. Otherwise (`current_files`) they are built in-process from Posts, whose
bodies come from the `rendered` table (PostLoader), as an incremental run needs few of them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from . import archive, atomxml, feedindex, feeds, jsonfeed_writer, postindex
from .atomxml import Entry
from .config import Config
from .errors import FeedError
from .feedindex import ArchiveMark, Scope
from .postloader import PostLoader

__all__ = [
    "Document",
    "Feed",
    "FeedPlan",
    "current_files",
    "plan_archives",
    "prefetch_cold_archives",
    "subscription_names",
    "write_archives",
]

_TARGETED_PAGES = 8  # at most this many pages: one query each instead of a pass over every row
# bodies of subscription documents a cold pass keeps for later runs, at most: a first fetch of
# hundreds of feeds would otherwise write every post's HTML to the state (~9 KB each); the
# feeds left out keep theirs when a later run first rebuilds them
_SEED_BODIES = 2000

Write = Callable[[str, bytes, bool], None]  # (path, bytes, is a subscription document)


@dataclass(frozen=True)
class Feed:
    path: str
    title: str
    html_url: str
    scope: Scope


@dataclass
class FeedPlan:
    """A feed's archive pages (count) and those to write now (numbers)."""

    feed: Feed
    pages: int
    todo: set[int] = field(default_factory=set)
    mark: ArchiveMark | None = None


@dataclass(frozen=True)
class Document:
    """A subscription document to make from the one pass: its posts' names, newest first as the
    index has them, then those not yet on a full page (see current_files)."""

    feed: Feed
    pages: int
    names: list[str]


def current_files(
    config: Config, feed: Feed, loader: PostLoader, pages: int
) -> list[tuple[str, bytes, bool]]:
    """The subscription document and its JSON twin, with `pages` full archive pages behind it."""
    site, hub, limit = config.site, config.publish.websub_hub, config.feed_entries
    newest = loader.newest(feed.scope, limit)
    rest = _not_archived(loader, feed.scope, pages, limit, {p.filename for p in newest})
    newest += loader.load(rest, keep=True)
    current = feeds.sort_newest_first(newest)
    try:
        entries = [Entry.of(post, site) for post in current]
    except FeedError as exc:
        raise FeedError(f"{feed.path}: {exc}") from exc
    files = [_atom_file(config, feed, pages, entries)]
    if "json" in config.publish.formats:
        path = jsonfeed_writer.json_twin_path(feed.path)
        data = jsonfeed_writer.build_json_feed(
            current,
            site=site,
            path=path,
            title=feed.title,
            limit=len(current),
            html_url=feed.html_url,
            hub=hub,
        )
        files.append((path, data, True))
    return files


def subscription_names(loader: PostLoader, scope: Scope, limit: int) -> list[str]:
    """The names current_files loads for the scope's feed (while every file is readable), in its
    order."""
    with loader.store.state() as db:
        names = feedindex.newest(db, scope, limit)
    pages = archive.full_pages(loader.count(scope), limit)
    return names + _not_archived(loader, scope, pages, limit, set(names))


def _not_archived(
    loader: PostLoader, scope: Scope, pages: int, limit: int, newest: Collection[str]
) -> list[str]:
    """The names after the `pages` full archive pages that are not among `newest`: the
    subscription document carries them too, so it and the archives hold every post."""
    if not pages:
        return []
    total = loader.count(scope)
    with loader.store.state() as db:
        rest = feedindex.stored_slice(db, scope, pages * limit, -1, total)
    return [name for name in rest if name not in newest]


def _atom_file(
    config: Config, feed: Feed, pages: int, entries: Sequence[Entry]
) -> tuple[str, bytes, bool]:
    site = config.site
    url = f"{site.url}/{archive.archive_path(feed.path, pages)}"
    data = atomxml.feed_document(
        entries,
        site=site,
        path=feed.path,
        title=feed.title,
        html_url=feed.html_url,
        links=[("prev-archive", url)] if pages else [],
        hub=config.publish.websub_hub,
    )
    return feed.path, data, True


def plan_archives(
    config: Config,
    loader: PostLoader,
    feed: Feed,
    *,
    check_dirs: Sequence[str] = (),
    every_page: bool = False,
) -> FeedPlan:
    """Which archive pages of `feed` to write (see the module docstring). Also every page whose
    file is missing under one of `check_dirs` ("" is the site root; `aggregator build`), and with
    every_page=True all of them."""
    site, limit = config.site, max(config.feed_entries, 1)
    settings = json.dumps(
        [site.url, site.title, site.language, site.timezone, feed.title, feed.html_url, limit],
        ensure_ascii=False,
    )
    store = loader.store
    pages = archive.full_pages(loader.count(feed.scope), limit)
    with store.state() as db:
        old = feedindex.archive_mark(db, feed.path)
        seq = postindex.current_seq(db)
        if (
            every_page
            or old is None
            or old.settings != settings
            or old.pages > pages
            or postindex.reshuffled_seq(db) > old.seq
        ):
            todo = set(range(1, pages + 1))
        else:
            todo = set(range(old.pages + 1, pages + 1))
            if pages > old.pages >= 1:
                todo.add(old.pages)  # it gains its next-archive link
            for first_seen, name in feedindex.changed_since(db, feed.scope, old.seq):
                page = feedindex.position(db, feed.scope, first_seen, name) // limit + 1
                # the row may be new (stored before others: every later page shifts) or
                # rewritten in place; telling them apart is not worth a column
                todo |= set(range(page, pages + 1)) if page <= old.pages else set()
    for directory in check_dirs:
        prefix = f"{directory}/" if directory else ""
        todo |= {
            n
            for n in range(1, pages + 1)
            if not store.has_file(prefix + archive.archive_path(feed.path, n))
        }
    return FeedPlan(feed, pages, todo, ArchiveMark(settings, pages, seq))


def prefetch_cold_archives(
    config: Config,
    loader: PostLoader,
    site_feed: Feed,
    *,
    check_dirs: Sequence[str] = (),
    every_page: bool = False,
    documents: Sequence[Scope] = (),
) -> bool:
    """When every archive page of the site feed is to be written (a cold build, a first fetch),
    every readable post is on one: start making the entries of all of them, in the stored order,
    on the workers now (PostLoader.prefetch_entries), while the feeds are planned. True then:
    write_archives' one pass takes every post, so the subscription documents of the scopes of
    `documents` may ride it; the bodies of the first of them, up to _SEED_BODIES, are kept."""
    plan = plan_archives(config, loader, site_feed, check_dirs=check_dirs, every_page=every_page)
    if plan.pages <= _TARGETED_PAGES or len(plan.todo) < plan.pages:
        return False  # (with more pages than that, write_archives takes them in one pass)
    with loader.store.state() as db:
        names = [name for name, _, _ in feedindex.stored_rows(db)]
    keep: set[str] = set()
    for scope in documents:
        more = keep.union(subscription_names(loader, scope, config.feed_entries))
        if len(more) > _SEED_BODIES:
            break
        keep = more
    loader.prefetch_entries(names, config.site, keep)
    return True


def write_archives(
    config: Config,
    loader: PostLoader,
    plans: Sequence[FeedPlan],
    write: Write,
    documents: Sequence[Document] = (),
) -> None:
    """Write the planned archive pages and `documents`, then (every page in place) record each
    feed's mark."""
    limit = max(config.feed_entries, 1)
    if sum(len(plan.todo) for plan in plans) <= _TARGETED_PAGES:
        for plan in plans:
            for number in sorted(plan.todo):
                total = loader.count(plan.feed.scope)
                start = (number - 1) * limit
                with loader.store.state() as db:
                    names = feedindex.stored_slice(db, plan.feed.scope, start, limit, total)
                page = [e for _, e in loader.entries(names, config.site) if e is not None]
                write(*_page_file(config, plan, number, page))
        for document in documents:  # (not expected: documents come with a cold pass)
            for file in current_files(config, document.feed, loader, document.pages):
                write(*file)
    else:
        # many pages: made durable in groups
        with loader.store.file_batch(), tempfile.TemporaryFile() as spooled:
            spool = _Spool(spooled)
            _one_pass(
                config, loader, [plan for plan in plans if plan.todo], write, documents, spool
            )
            for document in documents:
                for file in _document_files(config, loader, document, spool):
                    write(*file)
    with loader.store.state(write=True) as db:
        for plan in plans:
            if plan.mark is not None:
                feedindex.set_archive_mark(db, plan.feed.path, plan.mark)


def _document_files(
    config: Config, loader: PostLoader, document: Document, spool: _Spool
) -> list[tuple[str, bytes, bool]]:
    """The document from its spooled entries; in-process (current_files) when one is missing
    (its file was gone or broken: the row is dropped or marked, so the next post moves up)."""
    entries = [spool.get(name) for name in document.names]
    complete = [entry for entry in entries if entry is not None]
    if len(complete) < len(entries):
        return current_files(config, document.feed, loader, document.pages)
    return [_atom_file(config, document.feed, document.pages, complete)]


def _one_pass(
    config: Config,
    loader: PostLoader,
    plans: list[FeedPlan],
    write: Write,
    documents: Sequence[Document],
    spool: _Spool,
) -> None:
    """Walk every row in the stored order, filling the planned pages of every feed at once and
    spooling the entries of `documents`."""
    spooled = {name for document in documents for name in document.names}
    if not plans and not spooled:
        return
    limit = max(config.feed_entries, 1)
    site_plan = next((p for p in plans if p.feed.scope == Scope()), None)
    by_category = {p.feed.scope.category: p for p in plans if p.feed.scope.category is not None}
    by_tag = {p.feed.scope.tag: p for p in plans if p.feed.scope.tag is not None}
    seen = {id(plan): 0 for plan in plans}
    with loader.store.state() as db:
        rows = list(feedindex.stored_rows(db))
    # which planned pages each row is on (and whether it completes one), before anything is
    # read: the files to read are then known at once (PostLoader.entries may spread them)
    needed: list[tuple[str, list[tuple[FeedPlan, int, bool]]]] = []
    for filename, category, tags in rows:
        members = [
            plan
            for plan in (site_plan, by_category.get(category), *map(by_tag.get, tags))
            if plan is not None
        ]
        wanted = []
        for plan in members:
            number = seen[id(plan)] // limit + 1
            seen[id(plan)] += 1
            if number in plan.todo:
                wanted.append((plan, number, seen[id(plan)] == number * limit))
        if wanted or filename in spooled:
            needed.append((filename, wanted))
    filling: dict[int, list[Entry]] = {id(plan): [] for plan in plans}
    results = loader.entries([filename for filename, _ in needed], config.site)
    for (filename, wanted), (_, entry) in zip(needed, results, strict=True):
        if entry is not None and filename in spooled:
            spool.add(filename, entry)
        for plan, number, completes in wanted:
            if entry is not None:
                filling[id(plan)].append(entry)
            if completes:
                write(*_page_file(config, plan, number, filling[id(plan)]))
                filling[id(plan)] = []


class _Spool:
    """Entries parked in an unnamed temporary file, by post name: a first fetch's subscription
    documents hold every post's body, too much to keep in memory until the pass is over."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._end = 0
        self._buffered = False  # written but maybe not yet past the file object's buffer
        self._where: dict[str, tuple[datetime, str, int, int]] = {}

    def add(self, name: str, entry: Entry) -> None:
        self._file.write(entry.xml)
        self._where[name] = (entry.newest, entry.post_id, self._end, len(entry.xml))
        self._end += len(entry.xml)
        self._buffered = True

    def get(self, name: str) -> Entry | None:
        where = self._where.get(name)
        if where is None:
            return None
        if self._buffered:
            self._file.flush()
            self._buffered = False
        newest, post_id, offset, size = where
        return Entry(newest, post_id, os.pread(self._file.fileno(), size, offset))


def _page_file(
    config: Config, plan: FeedPlan, number: int, page: list[Entry]
) -> tuple[str, bytes, bool]:
    site, path = config.site, plan.feed.path

    def url(target: str) -> str:
        return f"{site.url}/{target}"

    links = [("current", url(path))]
    if number > 1:
        links.append(("prev-archive", url(archive.archive_path(path, number - 1))))
    if number < plan.pages:
        links.append(("next-archive", url(archive.archive_path(path, number + 1))))
    page_path = archive.archive_path(path, number)
    data = atomxml.archive_document(
        page,
        site=site,
        path=page_path,
        title=plan.feed.title,
        html_url=plan.feed.html_url,
        links=links,
    )
    return page_path, data, False
