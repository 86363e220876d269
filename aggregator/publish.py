"""The publish step: everything written from the posts once they have changed.

    feed.xml, feed/<category>.xml, feed/by_tag/<tag slug>.xml    Atom (atomxml)
      + <same>.json                                               JSON Feed 1.1 ([feeds] formats)
      + <feed stem>/archive/<n>.xml                               RFC 5005 archive pages (archive)
    category/<category>.html, _config.yml, _layouts/, index.html  Jekyll drop-in (jekyll)
    feeds.opml                                                    every category feed (opml)
    _site/                                                        standalone site (sitepages), opt-in
    then one WebSub ping for the subscription feeds that changed (websub)

Index-driven and incremental: which feeds exist, their titles and their posts come from the post
index (feedindex); given the categories whose posts changed, only the site feed, their feeds, the
feeds of the tags their posts carry and their pages are rebuilt, and of those feeds' archive pages
only the new ones and those holding a changed post (feedpages). Bodies are read and rendered only
for the documents written; when every post is on an archive page to write (a cold build, a first
fetch), the subscription documents are made on that same pass, so each body is rendered once.
Atom documents come from atomxml's templates (feedgen's bytes). Every file is written only when
its bytes change (Store.write_file), so readers' conditional GETs and Jekyll's incremental builds
see only real changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import archive, crashpoints, feedindex, jekyll, opml, postindex, websub
from .config import Config
from .feedindex import Scope
from .feedpages import (
    Document,
    Feed,
    current_files,
    plan_archives,
    prefetch_cold_archives,
    subscription_names,
    write_archives,
)
from .feedpaths import (
    JSON_FEED_TYPE,
    OPML_FILE,
    SITE_FEED,
    TAG_FEED_DIR,
    category_feed_path,
    tag_feed_path,
)
from .models import Post
from .postloader import PostLoader
from .render import HOME, SITE_DIR
from .sitepages import SitePages
from .slugs import slugify
from .store import Store

__all__ = [
    "JSON_FEED_TYPE",
    "OPML_FILE",
    "SITE_FEED",
    "TAG_FEED_DIR",
    "Published",
    "category_feed_path",
    "publish",
    "slugs_by_first",
    "tag_feed_path",
    "tag_slugs",
]

Pinger = Callable[[str, Sequence[str]], "str | None"]


@dataclass
class Published:
    """What one publish step wrote (paths relative to the storage dir)."""

    feeds: list[str] = field(default_factory=list)  # Atom, JSON and archive files
    pages: list[str] = field(default_factory=list)  # category pages, OPML, skeleton, _site/
    problems: list[str] = field(default_factory=list)  # one line each; nothing was written for them
    ping_error: str | None = None


def tag_slugs(posts: Iterable[Post]) -> dict[str, str]:
    """Tag -> slug for `feed/by_tag/<slug>.xml`, stable as posts are added.

    Two tags with one slug (新华社 and 信华社 are both `xinhuashe`): the tag first stored keeps
    the bare slug, the next gets `-2`, and so on. New posts are stored last, so a tag's slug never
    changes once its feed exists.
    """
    first: dict[str, tuple[datetime, str]] = {}
    for post in posts:
        key = (post.first_seen, post.filename)
        for tag in post.tags:
            if tag not in first or key < first[tag]:
                first[tag] = key
    return slugs_by_first(first)


def slugs_by_first(
    first: Mapping[str, tuple[Any, str]], bases: dict[str, str] | None = None
) -> dict[str, str]:
    """Tag -> slug, given each tag's first stored (first_seen, file name) (see tag_slugs).
    `bases` caches slugify(tag); new results are added to it."""
    bases = {} if bases is None else bases
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for tag in sorted(first, key=lambda t: (first[t], t)):
        if tag not in bases:
            bases[tag] = slugify(tag)
        base = bases[tag]
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        slugs[tag] = slug
    return slugs


def publish(
    config: Config,
    store: Store,
    render: Callable[[str], str],
    categories: Iterable[str] | None = None,
    *,
    html: bool = False,
    ping: Pinger = websub.ping_hub,
) -> Published:
    """Write the site feed and the feeds of `categories` (None: every category), then what
    depends on them: tag feeds, archives, pages, OPML. Posts come from the post index; bodies
    are read and rendered only for the documents written (see feedpages).
    `html` (or `[publish] html`) also renders `_site/`."""
    site, settings = config.site, config.publish
    render_html = html or settings.html
    full = categories is None
    new_site = render_html and not store.has_file(f"{SITE_DIR}/{HOME}")
    if new_site:
        full = True  # a new or deleted _site/ needs every page and every feed copied
    done = Published()
    loader = PostLoader(store, render, site.url)
    site_feed = Feed(SITE_FEED, site.title, f"{site.url}/", Scope())
    check_dirs = (["", SITE_DIR] if render_html else [""]) if full else []

    with store.state() as db:
        every_category = feedindex.categories(db)
        first_tags = {c: postindex.first_tag(db, c) for c in every_category}
        bases = feedindex.slug_bases(db)
        known_bases = len(bases)
        firsts = feedindex.tag_firsts(db)
        wanted = set(every_category) if full else set(categories or ())
        changed_tags = (
            set(firsts)
            if full
            else {t for c in wanted for t in feedindex.category_tags(db, c)} & set(firsts)
        )
    titles: dict[str, str] = {}
    for category in sorted(wanted):
        if not jekyll.is_slug(category):
            if category in first_tags:
                done.problems.append(
                    f"category {category!r}: not a slug ([a-z0-9-]); no feed or page for it"
                )
            continue
        titles[category] = first_tags.get(category) or category

    # on a cold pass every post is made on the workers anyway: the subscription documents ride
    # it (their JSON twins and _site/ need Posts, which it does not make)
    rideable = "json" not in settings.formats and not render_html
    scopes = [Scope()] + [Scope(category=c) for c in titles]
    scopes += [Scope(tag=t) for t in sorted(changed_tags)]
    cold = prefetch_cold_archives(
        config,
        loader,
        site_feed,
        check_dirs=check_dirs,
        every_page=new_site,
        documents=scopes if rideable else (),
    )
    ride = cold and rideable
    slugs = slugs_by_first(firsts, bases)  # (pypinyin: made while the workers start)
    if len(bases) > known_bases:
        with store.state(write=True) as db:
            feedindex.keep_slug_bases(db, bases)

    feed_list = [site_feed]
    feed_list += [
        Feed(
            category_feed_path(c),
            f"{site.title} · {title}",
            f"{site.url}/{jekyll.category_page_path(c)}",
            Scope(category=c),
        )
        for c, title in sorted(titles.items())
    ]
    feed_list += [
        Feed(tag_feed_path(slugs[t]), f"{site.title} · {t}", f"{site.url}/", Scope(tag=t))
        for t in sorted(changed_tags, key=lambda t: slugs[t])
    ]

    order: dict[str, tuple[int, int]] = {}  # path -> its place in the old one-feed-at-a-time order
    feed_files: list[str] = []
    topics: list[str] = []  # paths of the subscription documents written
    site_copies: list[str] = []

    def write(path: str, data: bytes, subscription: bool) -> None:
        crashpoints.reached("feed")
        if store.write_file(path, data):
            feed_files.append(path)
            if subscription:
                topics.append(path)
        if render_html and store.write_file(f"{SITE_DIR}/{path}", data):
            site_copies.append(f"{SITE_DIR}/{path}")

    plans = []
    documents: list[Document] = []
    with store.file_batch():  # a full build writes dozens of these: made durable together
        for number, feed in enumerate(feed_list):
            plan = plan_archives(config, loader, feed, check_dirs=check_dirs, every_page=new_site)
            plans.append(plan)
            if ride:
                names = subscription_names(loader, feed.scope, config.feed_entries)
                documents.append(Document(feed, plan.pages, names))
                order[feed.path] = (number, 0)
            else:
                for kind, (path, data, subscription) in enumerate(
                    current_files(config, feed, loader, plan.pages)
                ):
                    order[path] = (number, kind)
                    write(path, data, subscription)
            for page in range(1, plan.pages + 1):
                order[archive.archive_path(feed.path, page)] = (number, 1 + page)
    write_archives(config, loader, plans, write, documents)
    # keep the bodies of every feed's subscription document, not only of those built now
    every_feed = 1 + len(every_category) + len(slugs)
    loader.flush(cap=2 * every_feed * max(config.feed_entries, 1) + 1000)

    def in_order(paths: list[str]) -> list[str]:
        return sorted(paths, key=lambda path: order.get(path.removeprefix(f"{SITE_DIR}/"), (0, 0)))

    done.feeds += in_order(feed_files)
    done.problems += loader.problems
    done.pages += jekyll.write_dropin(store, site, titles)
    all_titles = {c: first_tags[c] or c for c in every_category if jekyll.is_slug(c)}
    outlines = [
        opml.Outline(
            text=title,
            xml_url=f"{site.url}/{category_feed_path(c)}",
            html_url=f"{site.url}/{jekyll.category_page_path(c)}",
        )
        for c, title in all_titles.items()
    ]
    opml_data = opml.build_opml(site.title, outlines)
    if store.write_file(OPML_FILE, opml_data):
        done.pages.append(OPML_FILE)

    if render_html:
        pages = SitePages(config, store, loader, done.pages)
        pages.write_all(titles, all_titles, slugs)
        done.pages += in_order(site_copies)
        pages.write(OPML_FILE, opml_data)

    if settings.websub_hub and topics:
        done.ping_error = ping(settings.websub_hub, [f"{site.url}/{p}" for p in in_order(topics)])
    return done
