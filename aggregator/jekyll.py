"""The storage dir as a Jekyll drop-in: category pages, and a minimal site skeleton when it has none.

    category/<slug>.html   front matter only (`layout: category`, `title`, `category`), as the
                           original site's generate_category.py wrote them; the posts' footer
                           links `{site}/category/<slug>.html` point here
    _config.yml            } written only when the storage dir has no _config.yml: a user's
    _layouts/*.html        } site (or theme) is never touched, and a file that exists is never
    index.html             } overwritten

The content is pure (strings in, bytes out); `write_dropin` does the writing through the Store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from urllib.parse import urlsplit

from .models import SiteSettings
from .postfile import yaml_double_quoted
from .store import Store

__all__ = [
    "CONFIG_FILE",
    "category_page",
    "category_page_path",
    "is_slug",
    "skeleton",
    "write_dropin",
]

CONFIG_FILE = "_config.yml"
_SKELETON_FILES = (
    "_layouts/default.html",
    "_layouts/post.html",
    "_layouts/category.html",
    "index.html",
)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_slug(name: str) -> bool:
    """True for a category that can name a file and a URL segment as it is (`[a-z0-9-]`)."""
    return bool(_SLUG.match(name))


def category_page_path(slug: str) -> str:
    return f"category/{slug}.html"


def category_page(slug: str, title: str) -> bytes:
    """The category page Jekyll renders with the `category` layout."""
    return (
        f"---\nlayout: category\ntitle: {yaml_double_quoted(title or slug)}\ncategory: {slug}\n---\n"
    ).encode()


def skeleton(site: SiteSettings) -> dict[str, bytes]:
    """`_config.yml`, the three layouts and a home page, by relative path."""
    files = {CONFIG_FILE: _config_yml(site)}
    package = resources.files("aggregator") / "templates" / "jekyll"
    for relpath in _SKELETON_FILES:
        files[relpath] = package.joinpath(*relpath.split("/")).read_bytes()
    return files


def write_dropin(store: Store, site: SiteSettings, categories: Mapping[str, str]) -> list[str]:
    """Write the pages of `categories` (slug -> title) and, for a site without _config.yml, the
    skeleton. Returns the paths written (a page whose bytes are unchanged is not rewritten)."""
    written: list[str] = []
    if not store.has_file(CONFIG_FILE):
        for relpath, data in skeleton(site).items():
            if not store.has_file(relpath) and store.write_file(relpath, data):
                written.append(relpath)
    for slug, title in sorted(categories.items()):
        path = category_page_path(slug)
        if store.write_file(path, category_page(slug, title)):
            written.append(path)
    return written


def _config_yml(site: SiteSettings) -> bytes:
    parts = urlsplit(site.url)
    base = parts.path.rstrip("/")
    lines = [
        "# Written by aggregator because this directory had no _config.yml. It is never",
        "# overwritten: edit it freely. `jekyll build` renders the posts at the permalinks the",
        "# feeds link to (permalink: date, in the site's time zone).",
        f"title: {yaml_double_quoted(site.title)}",
        f"url: {yaml_double_quoted(f'{parts.scheme}://{parts.netloc}')}",
        f"baseurl: {yaml_double_quoted(base)}",
        f"lang: {yaml_double_quoted(site.language)}",
        f"timezone: {yaml_double_quoted(site.timezone)}",
        "permalink: date",
        "exclude:",
        "  - feeds_config.toml",
        "",
    ]
    return "\n".join(lines).encode()
