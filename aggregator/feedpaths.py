"""Where the published feeds live in the site (paths relative to the storage dir)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "JSON_FEED_TYPE",
    "LISTED_PAGES",
    "OPML_FILE",
    "SITE_FEED",
    "TAG_FEED_DIR",
    "category_feed_path",
    "tag_feed_path",
    "written_summary",
]

SITE_FEED = "feed.xml"
OPML_FILE = "feeds.opml"
TAG_FEED_DIR = "feed/by_tag"
JSON_FEED_TYPE = "application/feed+json"
LISTED_PAGES = 5  # archive pages named in a run's summary; more are counted

_ARCHIVE_PAGE = re.compile(r"(?:\A|/)archive/[0-9]+\.xml\Z")


def category_feed_path(category: str) -> str:
    return f"feed/{category}.xml"


def tag_feed_path(slug: str) -> str:
    return f"{TAG_FEED_DIR}/{slug}.xml"


def written_summary(paths: Sequence[str], separator: str = ", ") -> str:
    """The feed files a run wrote, for its output line: every subscription document by name, the
    archive pages too when there are at most LISTED_PAGES, else their number (a cold build or a
    first fetch writes hundreds, which made a line of tens of kilobytes)."""
    pages = sum(1 for path in paths if _ARCHIVE_PAGE.search(path))
    if pages <= LISTED_PAGES:
        return separator.join(paths)
    named = [path for path in paths if not _ARCHIVE_PAGE.search(path)]
    return separator.join([*named, f"{pages} archive pages"])
