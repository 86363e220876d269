"""One feed's files from the index: the subscription document, its JSON twin, its archive pages.

    subscription document   newest `limit` posts + those not yet on a full page (archive.paginate)
    archive page k          stored-order posts (k-1)*limit .. k*limit-1, written only when new,
                            when it gains its next-archive link, or when it or an earlier page
                            holds a post written since the feed's archive mark (feedindex: a post
                            stored before others shifts every later page); every page after a
                            reshuffle

Bodies are read and rendered only for the documents written. Pages of many feeds are written in one
pass over the stored order (`write_archives`), so a post on the site's, its category's and its
tag's page is read once, and only `limit` posts per feed are held at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import archive, atomxml, feedindex, feeds, jsonfeed_writer, postindex
from .atomxml import Entry
from .config import Config
from .feedindex import ArchiveMark, Scope
from .postloader import PostLoader

__all__ = [
    "Feed",
    "FeedPlan",
    "current_files",
    "plan_archives",
    "prefetch_cold_archives",
    "write_archives",
]

_TARGETED_PAGES = 8  # at most this many pages: one query each instead of a pass over every row

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


def current_files(
    config: Config, feed: Feed, loader: PostLoader, pages: int
) -> list[tuple[str, bytes, bool]]:
    """The subscription document and its JSON twin, with `pages` full archive pages behind it."""
    site, hub, limit = config.site, config.publish.websub_hub, config.feed_entries
    newest = loader.newest(feed.scope, limit)
    if pages:
        with loader.store.state() as db:
            total = feedindex.count(db, feed.scope)
            rest = feedindex.stored_slice(db, feed.scope, pages * limit, -1, total)
        have = {p.filename for p in newest}
        newest += loader.load([n for n in rest if n not in have], keep=True)
    current = feeds.sort_newest_first(newest)
    url = f"{site.url}/{archive.archive_path(feed.path, pages)}"
    links = [("prev-archive", url)] if pages else []
    files = [
        (
            feed.path,
            feeds.build_atom(
                current,
                site=site,
                path=feed.path,
                title=feed.title,
                limit=len(current),
                html_url=feed.html_url,
                links=links,
                hub=hub,
            ),
            True,
        )
    ]
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
    with store.state() as db:
        total = feedindex.count(db, feed.scope)
        pages = total // limit if total > limit else 0
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
) -> None:
    """When every archive page of the site feed is to be written (a cold build), every readable
    post is on one: start making the entries of all of them, in the stored order, on the workers
    now (PostLoader.prefetch_entries), while the subscription documents are built in-process."""
    plan = plan_archives(config, loader, site_feed, check_dirs=check_dirs, every_page=every_page)
    if plan.pages <= _TARGETED_PAGES or len(plan.todo) < plan.pages:
        return  # (with more pages than that, write_archives takes them in one pass)
    with loader.store.state() as db:
        names = [name for name, _, _ in feedindex.stored_rows(db)]
    loader.prefetch_entries(names, config.site)


def write_archives(
    config: Config, loader: PostLoader, plans: Sequence[FeedPlan], write: Write
) -> None:
    """Write the planned archive pages, then (every page in place) record each feed's mark."""
    limit = max(config.feed_entries, 1)
    if sum(len(plan.todo) for plan in plans) <= _TARGETED_PAGES:
        for plan in plans:
            for number in sorted(plan.todo):
                with loader.store.state() as db:
                    total = feedindex.count(db, plan.feed.scope)
                    start = (number - 1) * limit
                    names = feedindex.stored_slice(db, plan.feed.scope, start, limit, total)
                page = [e for _, e in loader.entries(names, config.site) if e is not None]
                write(*_page_file(config, plan, number, page))
    else:
        with loader.store.file_batch():  # many pages: made durable in groups
            _one_pass(config, loader, [plan for plan in plans if plan.todo], write)
    with loader.store.state(write=True) as db:
        for plan in plans:
            if plan.mark is not None:
                feedindex.set_archive_mark(db, plan.feed.path, plan.mark)


def _one_pass(config: Config, loader: PostLoader, plans: list[FeedPlan], write: Write) -> None:
    """Walk every row in the stored order, filling the planned pages of every feed at once."""
    if not plans:
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
        if wanted:
            needed.append((filename, wanted))
    filling: dict[int, list[Entry]] = {id(plan): [] for plan in plans}
    results = loader.entries([filename for filename, _ in needed], config.site)
    for (_, wanted), (_, entry) in zip(needed, results, strict=True):
        for plan, number, completes in wanted:
            if entry is not None:
                filling[id(plan)].append(entry)
            if completes:
                write(*_page_file(config, plan, number, filling[id(plan)]))
                filling[id(plan)] = []


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
