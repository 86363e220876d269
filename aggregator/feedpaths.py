"""Where the published feeds live in the site (paths relative to the storage dir)."""

from __future__ import annotations

__all__ = [
    "JSON_FEED_TYPE",
    "OPML_FILE",
    "SITE_FEED",
    "TAG_FEED_DIR",
    "category_feed_path",
    "tag_feed_path",
]

SITE_FEED = "feed.xml"
OPML_FILE = "feeds.opml"
TAG_FEED_DIR = "feed/by_tag"
JSON_FEED_TYPE = "application/feed+json"


def category_feed_path(category: str) -> str:
    return f"feed/{category}.xml"


def tag_feed_path(slug: str) -> str:
    return f"{TAG_FEED_DIR}/{slug}.xml"
