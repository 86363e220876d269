"""RFC 5005 "Archived Feeds": the history behind a feed's newest-N limit; pure.

A feed with more posts than its limit gets archive documents of `limit` posts each, cut in the
order the posts were first stored (`first_seen`, then file name). New posts are always stored
after the old ones, so a full page never gains or loses a post: its URL is a stable citation, as
RFC 5005 §4 asks. Only full pages are archived; the subscription document carries the newest
`limit` posts plus any post not yet on a full page, so subscription + archives is every post.

    feed/emnews.xml                  subscription document, rel="prev-archive" -> newest page
    feed/emnews/archive/1.xml        oldest `limit` posts, <fh:archive/>, rel="current",
    feed/emnews/archive/2.xml        rel="prev-archive" / rel="next-archive" between pages
"""

from __future__ import annotations

__all__ = ["archive_path", "full_pages"]


def archive_path(feed_path: str, number: int) -> str:
    """`feed.xml`, 3 -> `feed/archive/3.xml`; `feed/emnews.xml`, 1 -> `feed/emnews/archive/1.xml`.

    Slugs are `[a-z0-9-]` and page names are digits, so no archive path is ever a feed's path.
    """
    stem = feed_path.removesuffix(".xml")
    return f"{stem}/archive/{number}.xml"


def full_pages(total: int, limit: int) -> int:
    """How many full archive pages `total` posts fill (none while they fit in the subscription
    document)."""
    limit = max(limit, 1)
    return total // limit if total > limit else 0
