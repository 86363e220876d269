"""JSON Feed 1.0 / 1.1 text -> FeedDoc (https://jsonfeed.org/version/1.1).

Small enough to read ourselves. Unknown fields are ignored; an item without an `id` falls back
to its URL (the adapter hashes title + date when both are missing); relative URLs are resolved
against the feed URL. 1.0's `author` and 1.1's `authors` are both read.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urljoin

from aggregator.errors import ExtractError
from aggregator.feedmodel import Enclosure, FeedDoc, FeedEntry

__all__ = ["looks_like_json_feed", "parse_json_feed"]

_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
_MAX_ITEMS = 10_000


def looks_like_json_feed(text: str, content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("application/feed+json", "application/json") or text.lstrip(
        "\ufeff \t\r\n"
    ).startswith("{")


def parse_json_feed(text: str, *, url: str, source: str) -> FeedDoc:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ExtractError(f"{source}: not a JSON Feed (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or not _VERSION.match(str(data.get("version", ""))):
        raise ExtractError(f"{source}: not a JSON Feed (no https://jsonfeed.org/version/1 version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise ExtractError(f"{source}: not a JSON Feed (items is not an array)")
    entries = tuple(_entry(item, url) for item in items[:_MAX_ITEMS] if isinstance(item, dict))
    return FeedDoc(title=_text(data.get("title")) or "", entries=entries)


def _entry(item: dict[str, Any], base: str) -> FeedEntry:
    content_html = _text(item.get("content_html"))
    content_text = _text(item.get("content_text"))
    summary = _text(item.get("summary"))
    if not content_html and content_text:
        content_html = _paragraphs(content_text)
    tags = item.get("tags")
    return FeedEntry(
        guid=_id(item.get("id")),
        link=_url(item.get("url") or item.get("external_url"), base),
        title_html=html.escape(_text(item.get("title")) or "", quote=False),
        date_text=_text(item.get("date_published")) or _text(item.get("date_modified")),
        content_html=content_html,
        summary_html=_paragraphs(summary) if summary else None,
        categories=tuple(dict.fromkeys(t for t in map(_text, tags) if t))
        if isinstance(tags, list)
        else (),
        author=_author(item),
        enclosures=tuple(
            Enclosure(href, _text(a.get("mime_type")) or "")
            for a in item.get("attachments") or []
            if isinstance(a, dict) and (href := _url(a.get("url"), base))
        )
        if isinstance(item.get("attachments"), list)
        else (),
    )


def _id(value: Any) -> str | None:
    # 1.0 allowed numbers; 1.1 says strings. Either way the text is the id.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _text(str(value))


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    names = [_text(a.get("name")) for a in candidates if isinstance(a, dict)]
    return ", ".join(n for n in names if n) or None


def _url(value: Any, base: str) -> str | None:
    text = _text(value)
    if not text:
        return None
    absolute = urljoin(base, text)
    return absolute if absolute.startswith(("http://", "https://")) else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in parts)
