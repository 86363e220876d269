"""A parsed feed, whatever its format (RSS, Atom, JSON Feed): the values the feed adapter reads.

Parsers (`xmlfeed`, `jsonfeed`) fill these from bytes; HTML stays raw here and is sanitised
with nh3 later, like every other source's body. URLs are already absolute.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Enclosure:
    url: str
    mime_type: str = ""


@dataclass(frozen=True)
class FeedEntry:
    guid: str | None  # RSS guid / Atom id / JSON Feed id, as written
    link: str | None  # absolute
    title_html: str  # escaped when the feed gave plain text
    date_text: str | None  # published, else updated, exactly as written
    content_html: str | None  # the full body when the feed carries one
    summary_html: str | None
    categories: tuple[str, ...] = ()
    author: str | None = None
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True)
class FeedDoc:
    title: str  # plain text; may be empty
    entries: tuple[FeedEntry, ...]
    warning: str | None = None  # read leniently (not well-formed XML): worth telling the operator
