"""The publish step: everything written from the posts once they have changed.

    feed.xml, feed/<category>.xml, feed/by_tag/<tag slug>.xml    Atom (feeds)
      + <same>.json                                               JSON Feed 1.1 ([feeds] formats)
      + <feed stem>/archive/<n>.xml                               RFC 5005 archive pages (archive)
    category/<category>.html, _config.yml, _layouts/, index.html  Jekyll drop-in (jekyll)
    feeds.opml                                                    every category feed (opml)
    _site/                                                        standalone site (render), opt-in
    then one WebSub ping for the subscription feeds that changed (websub)

Incremental: given the categories whose posts changed, only the site feed, their feeds, the feeds
of the tags their posts carry and their pages are rebuilt; every file is written only when its
bytes change (Store.write_file), so readers' conditional GETs and Jekyll's incremental builds see
only real changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from . import archive, crashpoints, feeds, jekyll, jsonfeed_writer, opml, websub
from .config import Config
from .models import Post
from .render import HOME, SITE_DIR, FeedLink, SiteRenderer, post_page_path
from .slugs import slugify
from .store import Store

__all__ = [
    "OPML_FILE",
    "SITE_FEED",
    "TAG_FEED_DIR",
    "FeedSpec",
    "Published",
    "category_feed_path",
    "publish",
    "tag_feed_path",
    "tag_slugs",
]

SITE_FEED = "feed.xml"
OPML_FILE = "feeds.opml"
TAG_FEED_DIR = "feed/by_tag"
JSON_FEED_TYPE = "application/feed+json"

Pinger = Callable[[str, Sequence[str]], "str | None"]


def category_feed_path(category: str) -> str:
    return f"feed/{category}.xml"


def tag_feed_path(slug: str) -> str:
    return f"{TAG_FEED_DIR}/{slug}.xml"


@dataclass(frozen=True)
class FeedSpec:
    """One subscription feed: its Atom path, title, the page it is the alternate of, and its
    newest posts (at most `[feeds] entries`; the caller may take them from the post index).
    `category`/`tag` say which posts belong to it (neither: the whole site), for the archives."""

    path: str
    title: str
    html_url: str
    newest: Sequence[Post]
    category: str | None = None
    tag: str | None = None

    def includes(self, post: Post) -> bool:
        if self.category is not None:
            return post.category == self.category
        return self.tag is None or post.tag == self.tag


def spec_for_path(path: str, title: str, html_url: str, newest: Sequence[Post]) -> FeedSpec:
    """The FeedSpec of the site feed or of `feed/<category>.xml`."""
    category = None if path == SITE_FEED else path.removeprefix("feed/").removesuffix(".xml")
    return FeedSpec(path, title, html_url, newest, category=category)


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
        if post.tag:
            key = (post.first_seen, post.filename)
            if post.tag not in first or key < first[post.tag]:
                first[post.tag] = key
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for tag in sorted(first, key=lambda t: (first[t], t)):
        base = slugify(tag)
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
    jobs: Sequence[FeedSpec],
    load_posts: Callable[[], Sequence[Post]],
    categories: Iterable[str],
    *,
    full: bool,
    html: bool = False,
    ping: Pinger = websub.ping_hub,
) -> Published:
    """Write the feeds of `jobs` (the site feed and the changed categories' feeds), then what
    depends on `categories`: tag feeds, archives, pages, OPML. `full` means every category is
    in `categories`. `load_posts` gives every post (called once).
    `html` (or `[publish] html`) also renders `_site/`."""
    site, settings = config.site, config.publish
    posts = _Once(load_posts)
    render_html = html or settings.html
    if render_html and not store.has_file(f"{SITE_DIR}/{HOME}"):
        full = True  # a new or deleted _site/ needs every page and every feed copied
    done = Published()

    by_category: dict[str, list[Post]] = {}
    for post in posts():
        by_category.setdefault(post.category, []).append(post)
    wanted = set(by_category) if full else set(categories)
    titles: dict[str, str] = {}
    for category in sorted(wanted):
        if not jekyll.is_slug(category):
            if category in by_category:
                done.problems.append(
                    f"category {category!r}: not a slug ([a-z0-9-]); no feed or page for it"
                )
            continue
        in_category = by_category.get(category, [])
        titles[category] = in_category[0].tag if in_category and in_category[0].tag else category

    slugs = tag_slugs(posts())
    changed_tags = set(slugs) if full else {p.tag for p in posts() if p.category in wanted}
    specs = [spec for spec in jobs if spec.category is None or spec.category in titles]
    if full:
        have = {spec.category for spec in specs}
        specs += [
            FeedSpec(
                category_feed_path(c),
                f"{site.title} · {title}",
                f"{site.url}/{jekyll.category_page_path(c)}",
                by_category.get(c, []),
                category=c,
            )
            for c, title in sorted(titles.items())
            if c not in have
        ]
    for tag in sorted(changed_tags & set(slugs), key=lambda t: slugs[t]):
        tagged = [p for p in posts() if p.tag == tag]
        specs.append(
            FeedSpec(
                tag_feed_path(slugs[tag]),
                f"{site.title} · {tag}",
                f"{site.url}/",
                feeds.sort_newest_first(tagged)[: config.feed_entries],
                tag=tag,
            )
        )

    built: dict[str, bytes] = {}
    topics: list[str] = []
    for spec in specs:
        for path, data, subscription in _feed_files(config, spec, posts):
            built[path] = data
            crashpoints.reached("feed")
            if store.write_file(path, data):
                done.feeds.append(path)
                if subscription:
                    topics.append(f"{site.url}/{path}")

    done.pages += jekyll.write_dropin(store, site, titles)
    all_titles = {c: (ps[0].tag or c) for c, ps in sorted(by_category.items()) if jekyll.is_slug(c)}
    outlines = [
        opml.Outline(
            text=title,
            xml_url=f"{site.url}/{category_feed_path(c)}",
            html_url=f"{site.url}/{jekyll.category_page_path(c)}",
        )
        for c, title in all_titles.items()
    ]
    built[OPML_FILE] = opml.build_opml(site.title, outlines)
    if store.write_file(OPML_FILE, built[OPML_FILE]):
        done.pages.append(OPML_FILE)

    if render_html:
        _render_site(config, store, posts(), by_category, titles, all_titles, slugs, built, done)

    if settings.websub_hub and topics:
        done.ping_error = ping(settings.websub_hub, topics)
    return done


class _Once:
    """Every post, loaded on first use only."""

    def __init__(self, load: Callable[[], Sequence[Post]]) -> None:
        self._load = load
        self._posts: Sequence[Post] | None = None

    def __call__(self) -> Sequence[Post]:
        if self._posts is None:
            self._posts = self._load()
        return self._posts


def _feed_files(
    config: Config, spec: FeedSpec, posts: Callable[[], Sequence[Post]]
) -> list[tuple[str, bytes, bool]]:
    """(path, bytes, is a subscription document) for the feed, its JSON twin and its archives."""
    site, hub, limit = config.site, config.publish.websub_hub, config.feed_entries
    if len(spec.newest) < limit:  # everything fits: no archive, no need to read every post
        paged = archive.Paged(feeds.sort_newest_first(spec.newest), [])
    else:
        paged = archive.paginate([p for p in posts() if spec.includes(p)], limit)
    count = len(paged.pages)

    def url(path: str) -> str:
        return f"{site.url}/{path}"

    links = [("prev-archive", url(archive.archive_path(spec.path, count)))] if count else []
    files = [
        (
            spec.path,
            feeds.build_atom(
                paged.current,
                site=site,
                path=spec.path,
                title=spec.title,
                limit=len(paged.current),
                html_url=spec.html_url,
                links=links,
                hub=hub,
            ),
            True,
        )
    ]
    if "json" in config.publish.formats:
        path = jsonfeed_writer.json_twin_path(spec.path)
        data = jsonfeed_writer.build_json_feed(
            paged.current,
            site=site,
            path=path,
            title=spec.title,
            limit=len(paged.current),
            html_url=spec.html_url,
            hub=hub,
        )
        files.append((path, data, True))
    for number, page in enumerate(paged.pages, start=1):
        page_links = [("current", url(spec.path))]
        if number > 1:
            page_links.append(("prev-archive", url(archive.archive_path(spec.path, number - 1))))
        if number < count:
            page_links.append(("next-archive", url(archive.archive_path(spec.path, number + 1))))
        path = archive.archive_path(spec.path, number)
        data = feeds.build_atom(
            page,
            site=site,
            path=path,
            title=spec.title,
            limit=len(page),
            html_url=spec.html_url,
            links=page_links,
            archive=True,
        )
        files.append((path, data, False))
    return files


def _render_site(
    config: Config,
    store: Store,
    posts: Sequence[Post],
    by_category: dict[str, list[Post]],
    titles: dict[str, str],
    all_titles: dict[str, str],
    slugs: dict[str, str],
    built: dict[str, bytes],
    done: Published,
) -> None:
    """Pages of the changed categories, the home page, and copies of the feeds built this run."""
    site = config.site
    renderer = SiteRenderer(site, config.publish.templates)
    json_twins = "json" in config.publish.formats

    def feed_links(path: str, title: str) -> list[FeedLink]:
        links = [FeedLink(title, path)]
        if json_twins:
            links.append(FeedLink(title, jsonfeed_writer.json_twin_path(path), JSON_FEED_TYPE))
        return links

    site_links = feed_links(SITE_FEED, site.title)

    def write(path: str, data: bytes) -> None:
        if store.write_file(f"{SITE_DIR}/{path}", data):
            done.pages.append(f"{SITE_DIR}/{path}")

    for category, title in titles.items():
        links = site_links + feed_links(category_feed_path(category), title)
        in_category = by_category.get(category, [])
        write(
            jekyll.category_page_path(category),
            renderer.category(category, title, in_category, links),
        )
        for post in in_category:
            write(post_page_path(post, site), renderer.post(post, links))
    home_links = list(site_links)
    for category, title in all_titles.items():
        home_links += feed_links(category_feed_path(category), title)
    for tag, slug in sorted(slugs.items(), key=lambda item: item[1]):
        home_links += feed_links(tag_feed_path(slug), tag)
    counts = [(c, t, len(by_category[c])) for c, t in all_titles.items()]
    write(HOME, renderer.home(posts, counts, home_links))
    for path, data in built.items():
        write(path, data)
