"""The standalone site: posts, category pages and a home page rendered with Jinja2 into `_site/`.

Every post lands at the path Jekyll's `date` permalink gives it (feeds.post_url), so the feeds'
`alternate` links resolve whether the site is built by Jekyll or by us. Links between pages are
relative, so `_site/` works at the site URL and under `aggregator serve` alike.

Templates (`base.html`, `post.html`, `category.html`, `home.html`) come from `[publish] templates`
first, then from the ones shipped in aggregator/templates/site/; a user overrides one by putting a
file of the same name in that dir. Output is autoescaped; post bodies are inserted as they are,
because they were sanitised (nh3) when the post was written.

Pure: `SiteRenderer` returns bytes by path; the publish step writes them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from markupsafe import Markup

from .errors import StoreError
from .feeds import post_url, sort_newest_first
from .jekyll import category_page_path
from .models import Post, SiteSettings

__all__ = ["HOME", "SITE_DIR", "FeedLink", "RenderError", "SiteRenderer", "post_page_path"]

SITE_DIR = "_site"  # Jekyll's default destination: one place for a built site, by either tool
HOME = "index.html"
HOME_ENTRIES = 50


class RenderError(StoreError):
    """A template is missing or broken, so the site cannot be written; the message names it."""


@dataclass(frozen=True)
class FeedLink:
    """A feed as pages advertise it: `<link rel="alternate">` and a visible link."""

    title: str
    path: str  # relative to the site root
    media_type: str = "application/atom+xml"


@dataclass(frozen=True)
class _Entry:
    post: Post
    path: str


@dataclass(frozen=True)
class _Category:
    title: str
    path: str
    count: int


def post_page_path(post: Post, site: SiteSettings) -> str:
    """`renminyoudianbao/2021/12/16/NW202112162215638061.html`: Jekyll's output path."""
    return unquote(post_url(post, site).removeprefix(site.url + "/"))


class SiteRenderer:
    """Renders pages with the user's templates over the shipped ones."""

    def __init__(self, site: SiteSettings, templates_dir: str | None = None) -> None:
        import jinja2  # (only `--html` renders pages: a feeds-only `build` saves ~25 ms)

        self.site = site
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir:
            loaders.append(jinja2.FileSystemLoader(templates_dir))
        loaders.append(jinja2.PackageLoader("aggregator", "templates/site"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a typo in a user template fails loudly
            keep_trailing_newline=True,
        )

    def post(self, post: Post, feeds: Sequence[FeedLink]) -> bytes:
        path = post_page_path(post, self.site)
        category_path = category_page_path(post.category) if post.category else None
        return self._render(
            "post.html",
            path,
            post=post,
            content=Markup(post.content_html),  # sanitised: render_body runs nh3
            category_path=category_path,
            feeds=feeds,
        )

    def category(
        self, slug: str, title: str, posts: Iterable[Post], feeds: Sequence[FeedLink]
    ) -> bytes:
        return self._render(
            "category.html",
            category_page_path(slug),
            title=title,
            slug=slug,
            entries=self._entries(sort_newest_first(list(posts))),
            feeds=feeds,
        )

    def home(
        self,
        posts: Sequence[Post],
        categories: Iterable[tuple[str, str, int]],
        feeds: Sequence[FeedLink],
    ) -> bytes:
        """`categories` are (slug, title, post count)."""
        return self._render(
            "home.html",
            HOME,
            entries=self._entries(sort_newest_first(posts)[:HOME_ENTRIES]),
            categories=[
                _Category(title, category_page_path(slug), count)
                for slug, title, count in categories
            ],
            feeds=feeds,
        )

    def _entries(self, posts: Iterable[Post]) -> list[_Entry]:
        return [_Entry(p, post_page_path(p, self.site)) for p in posts]

    def _render(self, name: str, page_path: str, **context: object) -> bytes:
        import jinja2

        try:
            template = self.env.get_template(name)
            html = template.render(site=self.site, link=_linker(page_path), **context)
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template {exc.name} not found") from None
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {name}: {exc}") from None
        return html.encode("utf-8", "backslashreplace")


def _linker(page_path: str) -> Callable[[str], str]:
    """`link(target)`: the relative URL of `target` (a site path) from the page at `page_path`."""
    base = posixpath.dirname(page_path) or "."

    def link(target: str) -> str:
        return quote(posixpath.relpath(target, base), safe="/")

    return link
