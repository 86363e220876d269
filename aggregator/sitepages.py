"""The `_site/` pages of a publish step: post pages and category pages of the changed categories,
the home page; rendered by render.SiteRenderer from posts the index names."""

from __future__ import annotations

from collections.abc import Mapping

from . import feedindex, jekyll, jsonfeed_writer
from .config import Config
from .feedindex import Scope
from .feedpaths import JSON_FEED_TYPE, SITE_FEED, category_feed_path, tag_feed_path
from .postloader import PostLoader
from .render import HOME, HOME_ENTRIES, SITE_DIR, FeedLink, SiteRenderer, post_page_path
from .store import Store

__all__ = ["SitePages"]


class SitePages:
    """Writes pages under `_site/`, appending the paths it changed to `written`."""

    def __init__(
        self, config: Config, store: Store, loader: PostLoader, written: list[str]
    ) -> None:
        self.config = config
        self.store = store
        self.loader = loader
        self.written = written

    def write(self, path: str, data: bytes) -> None:
        if self.store.write_file(f"{SITE_DIR}/{path}", data):
            self.written.append(f"{SITE_DIR}/{path}")

    def write_all(
        self, titles: Mapping[str, str], all_titles: Mapping[str, str], slugs: Mapping[str, str]
    ) -> None:
        """Pages of the categories in `titles` and their posts, then the home page."""
        site = self.config.site
        renderer = SiteRenderer(site, self.config.publish.templates)
        site_links = self._feed_links(SITE_FEED, site.title)
        for category, title in titles.items():
            links = site_links + self._feed_links(category_feed_path(category), title)
            with self.store.state() as db:
                names = feedindex.names_by_file(db, category)
            in_category = self.loader.load(names, keep=False)
            self.write(
                jekyll.category_page_path(category),
                renderer.category(category, title, in_category, links),
            )
            for post in in_category:
                self.write(post_page_path(post, site), renderer.post(post, links))
        home_links = list(site_links)
        for category, title in all_titles.items():
            home_links += self._feed_links(category_feed_path(category), title)
        for tag, slug in sorted(slugs.items(), key=lambda item: item[1]):
            home_links += self._feed_links(tag_feed_path(slug), tag)
        with self.store.state() as db:
            counts = feedindex.category_counts(db)
        newest = self.loader.newest(Scope(), HOME_ENTRIES)
        listed = [(c, t, counts.get(c, 0)) for c, t in all_titles.items()]
        self.write(HOME, renderer.home(newest, listed, home_links))

    def _feed_links(self, path: str, title: str) -> list[FeedLink]:
        links = [FeedLink(title, path)]
        if "json" in self.config.publish.formats:
            links.append(FeedLink(title, jsonfeed_writer.json_twin_path(path), JSON_FEED_TYPE))
        return links
