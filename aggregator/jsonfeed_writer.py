"""Posts -> JSON Feed 1.1 bytes (https://jsonfeed.org/version/1.1); pure and deterministic.

The twin of an Atom feed: same entries, same ids, same links. Keys are written in a fixed order
and dates in the site's zone, so unchanged posts give byte-identical output. (Reading JSON Feeds
from sources is jsonfeed.py.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .feeds import post_url, sort_newest_first
from .models import Post, SiteSettings

__all__ = ["JSON_FEED_VERSION", "build_json_feed", "json_twin_path"]

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def json_twin_path(atom_path: str) -> str:
    """`feed.xml` -> `feed.json`, `feed/emnews.xml` -> `feed/emnews.json`."""
    return atom_path.removesuffix(".xml") + ".json"


def build_json_feed(
    posts: Sequence[Post],
    *,
    site: SiteSettings,
    path: str,
    title: str,
    limit: int,
    html_url: str,
    hub: str | None = None,
) -> bytes:
    """The JSON Feed for the newest `limit` of `posts`; `path` is its own path in the site."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": title or site.title or path,
        "home_page_url": html_url,
        "feed_url": f"{site.url}/{path}",
        "language": site.language,
        "authors": [{"name": site.title or site.url}],
    }
    if hub:
        feed["hubs"] = [{"type": "WebSub", "url": hub}]
    feed["items"] = [_item(post, site) for post in sort_newest_first(posts)[: max(limit, 0)]]
    # ensure_ascii=False keeps Chinese readable; a lone surrogate (not UTF-8) becomes its \u escape
    text = json.dumps(feed, ensure_ascii=False, indent=2) + "\n"
    return text.encode("utf-8", "backslashreplace")


def _item(post: Post, site: SiteSettings) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": post.guid or f"urn:aggregator:post:{post.post_id}",
        "url": post_url(post, site),
        "title": post.title if post.title.strip() else post.post_id,
        "content_html": post.content_html,
        "date_published": _iso(post.date),
    }
    if post.updated is not None:
        item["date_modified"] = _iso(post.updated)
    if post.source_url:
        item["external_url"] = post.source_url
    if post.tags:
        item["tags"] = list(post.tags)
    return item


def _iso(value: datetime) -> str:
    return value.isoformat()
