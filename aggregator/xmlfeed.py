"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 text -> FeedDoc, with feedparser.

feedparser understands every dialect, resolves relative links against `xml:base` and the feed
URL, drops DOCTYPEs (so no external entity or billion-laughs expansion) and falls back to a
lenient parser for broken XML. Its HTML sanitiser is switched off on purpose: it has known
bypasses, and the pipeline sanitises every body with nh3 anyway.

The text is decoded by `decode.decode_document` first (feedparser would trust a wrong
`charset=utf-8` header) and handed over as UTF-8 with a matching declaration.
"""

from __future__ import annotations

import html
import re
from typing import Any

import feedparser

from aggregator.errors import ExtractError
from aggregator.feedmodel import Enclosure, FeedDoc, FeedEntry

__all__ = ["MAX_FEED_ENTRIES", "feed_bytes", "feed_doc", "parse_xml_feed"]

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# bozo exceptions that say nothing about the feed's content
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


# feedparser is pure Python: 100 000 items take it over half a minute. Entries after this many are
# cut from the text before parsing (feeds list the newest first; a source keeps max_items anyway).
MAX_FEED_ENTRIES = 1000
_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.IGNORECASE)


def parse_xml_feed(text: str, *, url: str, source: str) -> FeedDoc:
    """Parse decoded feed text; `url` is the base of relative links without `xml:base`."""
    data, cut = feed_bytes(text)
    parsed = feedparser.parse(
        data,
        response_headers={
            "content-location": url,
            "content-type": "application/xml; charset=utf-8",
        },
        sanitize_html=False,
        resolve_relative_uris=True,
    )
    if not parsed.get("version"):
        reason = _bozo_reason(parsed) or "no RSS or Atom root element"
        raise ExtractError(f"{source}: not a feed ({reason})")
    warning = None
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS):
        warning = f"{source}: feed is not well-formed XML ({_bozo_reason(parsed)}); read leniently"
    if cut:
        flood = f"{source}: feed has {MAX_FEED_ENTRIES + cut} entries; the first {MAX_FEED_ENTRIES} were read"
        warning = f"{warning}; {flood}" if warning else flood
    return feed_doc(parsed.get("feed", {}), parsed.get("entries", []), warning)


def feed_doc(feed: Any, entries: Any, warning: str | None = None) -> FeedDoc:
    """feedparser's `feed` and `entries` (or dicts holding the same keys) -> FeedDoc."""
    return FeedDoc(
        title=_plain(feed.get("title_detail"), feed.get("title")),
        entries=tuple(_entry(e) for e in entries),
        warning=warning,
    )


def feed_bytes(text: str) -> tuple[bytes, int]:
    """Decoded feed text -> UTF-8 bytes that declare UTF-8, without the entries after the first
    MAX_FEED_ENTRIES; and how many were cut."""
    body, cut = _cap_entries(_XML_DECLARATION.sub("", text, count=1), MAX_FEED_ENTRIES)
    return ('<?xml version="1.0" encoding="utf-8"?>' + body).encode("utf-8", "surrogatepass"), cut


def _cap_entries(body: str, limit: int) -> tuple[str, int]:
    """`body` without the entries after the first `limit`, and how many were cut."""
    ends = [match.end() for match in _ENTRY_END.finditer(body)]
    if len(ends) <= limit:
        return body, 0
    return body[: ends[limit - 1]] + body[ends[-1] :], len(ends) - limit


def _bozo_reason(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return " ".join(str(exc).split())[:200] if exc else ""


def _entry(entry: Any) -> FeedEntry:
    content = _content(entry.get("content") or [])
    summary_detail = entry.get("summary_detail")
    summary = _as_html(summary_detail) if summary_detail else None
    return FeedEntry(
        guid=_clean(entry.get("id")),
        link=_clean(entry.get("link")),
        title_html=_title(entry),
        date_text=_clean(entry.get("published") or entry.get("updated") or entry.get("created")),
        content_html=content,
        summary_html=summary if summary != content else None,
        categories=tuple(
            dict.fromkeys(
                term
                for tag in entry.get("tags") or []
                if (term := _clean(tag.get("label") or tag.get("term")))
            )
        ),
        author=_clean(entry.get("author")),
        enclosures=_enclosures(entry),
    )


def _title(entry: Any) -> str:
    detail = entry.get("title_detail")
    value = entry.get("title") or ""
    if detail is not None and detail.get("type") not in _HTML_TYPES:
        return html.escape(value, quote=False)
    return str(value)


def _plain(detail: Any, value: Any) -> str:
    """A text construct as plain text (feed titles may be HTML in Atom)."""
    text = str(value or "")
    if detail is not None and detail.get("type") in _HTML_TYPES:
        text = re.sub(r"<[^>]*>", "", text)
        text = html.unescape(text)
    return " ".join(text.split())


def _content(contents: list[Any]) -> str | None:
    """The richest `content` element: HTML over plain text, the longest of each kind."""
    ranked = sorted(
        (c for c in contents if (c.get("value") or "").strip()),
        key=lambda c: (c.get("type") in _HTML_TYPES, len(c.get("value") or "")),
        reverse=True,
    )
    return _as_html(ranked[0]) if ranked else None


def _as_html(detail: Any) -> str | None:
    value = str(detail.get("value") or "")
    if not value.strip():
        return None
    if detail.get("type") in _HTML_TYPES:
        return value
    # plain text: escape it and keep its paragraphs
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", value) if p.strip()]
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)


def _enclosures(entry: Any) -> tuple[Enclosure, ...]:
    found: dict[str, Enclosure] = {}
    for enclosure in entry.get("enclosures") or []:
        href = _clean(enclosure.get("href") or enclosure.get("url"))
        if href:
            found.setdefault(href, Enclosure(href, str(enclosure.get("type") or "")))
    for media in entry.get("media_content") or []:
        href = _clean(media.get("url"))
        kind = str(media.get("type") or ("image/" if media.get("medium") == "image" else ""))
        if href:
            found.setdefault(href, Enclosure(href, kind))
    return tuple(found.values())


def _clean(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None
