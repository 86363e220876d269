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

from collections.abc import Sequence
from dataclasses import dataclass

from .feeds import sort_newest_first
from .models import Post

__all__ = ["Paged", "archive_path", "paginate"]


@dataclass(frozen=True)
class Paged:
    """A feed split for RFC 5005: `current` is the subscription document's posts (newest first),
    `pages[k]` the posts of archive page k + 1 (oldest page first, each newest first)."""

    current: list[Post]
    pages: list[list[Post]]


def archive_path(feed_path: str, number: int) -> str:
    """`feed.xml`, 3 -> `feed/archive/3.xml`; `feed/emnews.xml`, 1 -> `feed/emnews/archive/1.xml`.

    Slugs are `[a-z0-9-]` and page names are digits, so no archive path is ever a feed's path.
    """
    stem = feed_path.removesuffix(".xml")
    return f"{stem}/archive/{number}.xml"


def paginate(posts: Sequence[Post], limit: int) -> Paged:
    """Split `posts` into the subscription document and full archive pages of `limit` posts."""
    limit = max(limit, 1)
    newest = sort_newest_first(posts)[:limit]
    if len(posts) <= limit:
        return Paged(newest, [])
    stored_order = sorted(posts, key=lambda p: (p.first_seen, p.filename))
    full = len(stored_order) // limit
    pages = [sort_newest_first(stored_order[i * limit : (i + 1) * limit]) for i in range(full)]
    in_newest = {p.filename for p in newest}
    not_archived = [p for p in stored_order[full * limit :] if p.filename not in in_newest]
    return Paged(sort_newest_first(newest + not_archived), pages)
