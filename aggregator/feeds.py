"""Posts -> Atom bytes (feedgen); pure: same posts and settings give the same bytes.

Nothing here reads the clock: the feed's `updated` is its newest entry's, so an unchanged site gives
a byte-identical feed (and the store then skips the write). Entry ids are the posts' guids, which
never depend on the category or the URL layout.

`build_atom` is the reference: the documents published are made by atomxml's string templates,
which tests/test_atomxml.py holds to these bytes (post_url, xml_text and the constants are shared).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import FeedError
from .models import Post, SiteSettings

__all__ = ["EPOCH", "GENERATOR", "build_atom", "post_url", "sort_newest_first", "xml_text"]

GENERATOR = "aggregator"  # no version: an upgrade alone must not change every feed's bytes
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # `updated` of a feed without entries
FEED_HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005

# Everything XML 1.0 forbids (lxml raises on it): C0 controls but TAB/LF/CR, surrogates, FFFE/FFFF.
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote(segment, safe="") leaves as it is
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@functools.cache
def _feedgen() -> tuple[type[Any], type[Any], type[Any]]:
    """feedgen's generator, with the two fixes below: (plain feed, archive feed, entry). Loaded
    on first use: only this reference needs it, and importing it costs every `build` ~20 ms."""
    from feedgen.entry import FeedEntry
    from feedgen.feed import FeedGenerator

    class _Entry(FeedEntry):  # type: ignore[misc]  # feedgen is untyped
        """feedgen 1.0 drops `rel` and `type` of entry links (it reads them back from the new,
        empty element), which would turn the `via` link into a second `alternate`; put them
        back."""

        def atom_entry(self, extensions: bool = True) -> Any:
            element = super().atom_entry(extensions)
            for node, data in zip(element.findall("link"), self.link() or [], strict=False):
                for key in ("rel", "type"):
                    if data.get(key):
                        node.set(key, data[key])
            return element

    class _ArchiveFeed(FeedGenerator):  # type: ignore[misc]  # feedgen is untyped
        """A feed carrying RFC 5005's `<fh:archive/>`: "this document is an archive, it will not
        change". Placed before the entries, where RFC 4287 allows extension elements."""

        def _create_atom(self, extensions: bool = True) -> Any:
            feed, doc = super()._create_atom(extensions)
            marker = feed.makeelement(
                f"{{{FEED_HISTORY_NS}}}archive", nsmap={"fh": FEED_HISTORY_NS}
            )
            first_entry = feed.find("entry")
            feed.insert(feed.index(first_entry) if first_entry is not None else len(feed), marker)
            return feed, doc

    return FeedGenerator, _ArchiveFeed, _Entry


def xml_text(value: str) -> str:
    """`value` without the characters that XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", value)


def post_url(post: Post, site: SiteSettings) -> str:
    """The post's page under Jekyll's default (`date`) permalink: /<category>/YYYY/MM/DD/<id>.html."""
    day = post.date.astimezone(_zone(site)) if post.date.tzinfo is not None else post.date
    category = f"{_quoted(post.category)}/" if post.category else ""
    # the date parts are digits, which quote leaves as they are (the year unpadded, as %Y)
    return f"{site.url}/{category}{day.year}/{day.month:02d}/{day.day:02d}/" + _quoted(
        f"{post.post_id}.html"
    )


def _quoted(segment: str) -> str:
    """`segment` percent-encoded as one path segment (ids and slugs seldom need it)."""
    return segment if _PLAIN_SEGMENT.fullmatch(segment) else quote(segment, safe="")


def _entry_updated(post: Post) -> datetime:
    return post.updated if post.updated is not None else post.date


def sort_newest_first(posts: Sequence[Post]) -> list[Post]:
    """By (updated-or-date, post_id), newest first; ties broken by id so the order is total."""
    return sorted(posts, key=lambda p: (_entry_updated(p), p.post_id), reverse=True)


def build_atom(
    posts: Sequence[Post],
    *,
    site: SiteSettings,
    path: str,
    title: str,
    limit: int,
    html_url: str,
    links: Sequence[tuple[str, str]] = (),
    hub: str | None = None,
    archive: bool = False,
) -> bytes:
    """The Atom document for the newest `limit` of `posts`.

    `path` is the feed's own path in the site (`feed.xml`, `feed/emnews.xml`), `html_url` the page
    the feed is the alternate of. `links` are extra feed links as (rel, href), e.g. RFC 5005's
    `prev-archive`; `hub` adds WebSub's `rel="hub"`; `archive` marks an RFC 5005 archive document.
    """
    entries = sort_newest_first(posts)[: max(limit, 0)]
    for post in entries:
        for value in (post.date, post.first_seen, post.updated):
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise FeedError(f"{path}: post {post.post_id} has a date without a time zone")

    plain, archived, entry_class = _feedgen()
    feed = archived() if archive else plain()
    feed.id(xml_text(f"{site.url}/{path}"))
    feed.title(xml_text(title) or xml_text(site.title) or path)
    feed.updated(_entry_updated(entries[0]) if entries else EPOCH)
    feed.author({"name": xml_text(site.title) or site.url})
    feed.link(href=xml_text(f"{site.url}/{path}"), rel="self", type="application/atom+xml")
    feed.link(href=xml_text(html_url), rel="alternate", type="text/html")
    if hub:
        feed.link(href=xml_text(hub), rel="hub")
    for rel, href in links:
        feed.link(href=xml_text(href), rel=rel, type="application/atom+xml")
    feed.generator(GENERATOR)
    feed.language(xml_text(site.language))

    for post in entries:
        entry = feed.add_entry(entry_class(), order="append")
        entry.id(xml_text(post.guid) or f"urn:aggregator:post:{post.post_id}")
        # feedgen refuses an empty title; the id is the least surprising stand-in
        title_text = xml_text(post.title)
        entry.title(title_text if title_text.strip() else post.post_id)
        entry.updated(_entry_updated(post))
        entry.published(post.date)
        entry.link(href=xml_text(post_url(post, site)), rel="alternate", type="text/html")
        if post.source_url:
            entry.link(href=xml_text(post.source_url), rel="via")
        entry.content(xml_text(post.content_html), type="html")
        if post.category:
            category = {"term": xml_text(post.category)}
            if xml_text(post.tag):
                category["label"] = xml_text(post.tag)
            entry.category(category)
        for tag in post.extra_tags:  # the primary tag is the label above
            if xml_text(tag):
                entry.category({"term": xml_text(tag)})

    try:
        data: bytes = feed.atom_str(pretty=True)
    except ValueError as exc:  # feedgen's checks; every input above was made valid, so rare
        raise FeedError(f"{path}: cannot build the Atom feed: {exc}") from exc
    return data


def _zone(site: SiteSettings) -> ZoneInfo:
    try:
        return ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FeedError(f"site.timezone: unknown time zone {site.timezone!r}") from exc
