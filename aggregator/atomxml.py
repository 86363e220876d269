"""Atom documents from string templates: the bytes feeds.build_atom gives, for archive pages
(`archive_document`) and subscription documents (`feed_document`).

feedgen builds an lxml tree per document and pretty-prints it; an archive page holds `limit` full
bodies, a cold build writes hundreds of pages and a first fetch hundreds of subscription
documents, so that tree is most of the serialising time.
Here an entry is serialised once (`Entry.of`, as UTF-8: a worker process hands it over without
decoding and every page joins it without encoding) and shared by every page that holds it (the
site's, its category's and its tags' feeds), with lxml's escaping and indentation spelled out.
tests/test_atomxml.py checks the bytes against feeds.build_atom on the golden posts and on
generated ones; a change to build_atom's elements must be made here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import FeedError
from .feeds import EPOCH, FEED_HISTORY_NS, GENERATOR, post_url, xml_text
from .models import Post, SiteSettings

__all__ = ["Entry", "archive_document", "feed_document"]

_ATTRIBUTE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_ATOM_LINK = "application/atom+xml"


@dataclass(frozen=True)
class Entry:
    """One post's `<entry>` element, indented as in a feed, and its place in the newest-first
    order (feeds.sort_newest_first)."""

    newest: datetime
    post_id: str
    xml: bytes  # UTF-8

    @classmethod
    def of(cls, post: Post, site: SiteSettings) -> Entry:
        for value in (post.date, post.first_seen, post.updated):
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise FeedError(f"post {post.post_id} has a date without a time zone")
        newest = post.updated if post.updated is not None else post.date
        title = xml_text(post.title)
        parts = [
            "  <entry>\n",
            _element("id", xml_text(post.guid) or f"urn:aggregator:post:{post.post_id}", 4),
            _element("title", title if title.strip() else post.post_id, 4),
            _element("updated", newest.isoformat(), 4),
        ]
        content = xml_text(post.content_html)
        if content:
            parts.append(f'    <content type="html">{_text(content)}</content>\n')
        else:  # feedgen sets no text, so lxml closes the element
            parts.append('    <content type="html"/>\n')
        parts.append(_link(xml_text(post_url(post, site)), "alternate", "text/html", 4))
        if post.source_url:
            parts.append(_link(xml_text(post.source_url), "via", None, 4))
        if post.category:
            label = xml_text(post.tag)
            attributes = f' label="{_attribute(label)}"' if label else ""
            parts.append(
                f'    <category term="{_attribute(xml_text(post.category))}"{attributes}/>\n'
            )
        for tag in post.extra_tags:  # the primary tag is the label above
            if xml_text(tag):
                parts.append(f'    <category term="{_attribute(xml_text(tag))}"/>\n')
        parts.append(_element("published", post.date.isoformat(), 4))
        parts.append("  </entry>\n")
        return cls(newest, post.post_id, "".join(parts).encode("utf-8"))


def archive_document(
    entries: Sequence[Entry],
    *,
    site: SiteSettings,
    path: str,
    title: str,
    html_url: str,
    links: Sequence[tuple[str, str]],
) -> bytes:
    """feeds.build_atom(posts, ..., limit=len(posts), archive=True) for the posts of `entries`."""
    marker = f'  <fh:archive xmlns:fh="{FEED_HISTORY_NS}"/>\n'
    return _document(entries, site, path, title, html_url, [], links, marker)


def feed_document(
    entries: Sequence[Entry],
    *,
    site: SiteSettings,
    path: str,
    title: str,
    html_url: str,
    links: Sequence[tuple[str, str]] = (),
    hub: str | None = None,
) -> bytes:
    """feeds.build_atom(posts, ..., limit=len(posts), links=links, hub=hub) for the posts of
    `entries`: a subscription document."""
    hub_link = [_link(xml_text(hub), "hub", None, 2)] if hub else []
    return _document(entries, site, path, title, html_url, hub_link, links, "")


def _document(
    entries: Sequence[Entry],
    site: SiteSettings,
    path: str,
    title: str,
    html_url: str,
    hub_link: list[str],
    links: Sequence[tuple[str, str]],
    marker: str,
) -> bytes:
    ordered = sorted(entries, key=lambda e: (e.newest, e.post_id), reverse=True)
    language = xml_text(site.language)
    lang = f' xml:lang="{_attribute(language)}"' if language else ""
    self_url = xml_text(f"{site.url}/{path}")
    author = xml_text(site.title) or site.url
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n",
        f'<feed xmlns="http://www.w3.org/2005/Atom"{lang}>\n',
        _element("id", self_url, 2),
        _element("title", xml_text(title) or xml_text(site.title) or path, 2),
        _element("updated", (ordered[0].newest if ordered else EPOCH).isoformat(), 2),
    ]
    if author:  # feedgen leaves out an author without a name
        parts.append(f"  <author>\n{_element('name', author, 4)}  </author>\n")
    parts.append(_link(self_url, "self", _ATOM_LINK, 2))
    parts.append(_link(xml_text(html_url), "alternate", "text/html", 2))
    parts += hub_link  # (feedgen gives the hub link no type)
    parts += [_link(xml_text(href), rel, _ATOM_LINK, 2) for rel, href in links]
    parts.append(_element("generator", GENERATOR, 2))
    parts.append(marker)
    head = "".join(parts).encode("utf-8")
    return b"".join([head, *(entry.xml for entry in ordered), b"</feed>\n"])


def _text(value: str) -> str:
    # str.replace, not translate: it is much faster on long non-ASCII text (a body)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;") if "\r" in value else value


def _attribute(value: str) -> str:
    return value.translate(_ATTRIBUTE)


def _element(name: str, text: str, indent: int) -> str:
    pad = " " * indent
    return f"{pad}<{name}>{_text(text)}</{name}>\n" if text else f"{pad}<{name}/>\n"


def _link(href: str, rel: str, media_type: str | None, indent: int) -> str:
    kind = f' type="{media_type}"' if media_type else ""
    return f'{" " * indent}<link href="{_attribute(href)}" rel="{rel}"{kind}/>\n'
