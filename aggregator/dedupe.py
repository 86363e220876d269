"""Which stored article an item is: its identities, for storing each article once.

An item's identities are its canonical URL (scheme, `www.`-free host case, default port,
trailing slash, fragment and tracking parameters such as `utm_*`, `spm`, `fbclid` dropped; the
remaining query sorted) and, for eastmoney articles, the 18-digit article code, whichever form
(NW… infoCode, bare code, share link, finance.eastmoney.com/a/<code>.html) it came in. Two items
sharing any identity are one article. Pure: the store keeps the identities of stored posts.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from .models import Post, RawItem

__all__ = ["against_stored", "as_twin", "canonical_url", "eastmoney_code", "identities"]

_TRACKING = re.compile(r"^(?:utm_.*|spm|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|yclid)$", re.I)
_EASTMONEY_HOST = re.compile(r"(?:^|\.)eastmoney\.com$", re.I)
_EASTMONEY_CODE = re.compile(r"(?:NW|/a/|^)(\d{18})(?:\.html|$|\D)")
_EASTMONEY_KEY = re.compile(r"^(?:NW)?(\d{18})$")


def canonical_url(url: str) -> str | None:
    """`https://www.Example.com:443/a/?utm_source=x&b=1#top` -> `//example.com/a?b=1`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    )
    return f"//{host}{path}" + (f"?{urlencode(query)}" if query else "")


def eastmoney_code(item: RawItem, source_type: str) -> str | None:
    """The eastmoney article code of an item, from its key or its eastmoney link."""
    return _eastmoney_code(item.key, item.link, source_type)


def _eastmoney_code(key: str, link: str, source_type: str) -> str | None:
    if source_type == "eastmoney" and (code := _EASTMONEY_KEY.match(key)):
        return code.group(1)
    try:
        parts = urlsplit(link)
        host = parts.hostname or ""
    except ValueError:
        return None
    if _EASTMONEY_HOST.search(host):
        match = _EASTMONEY_CODE.search(parts.path + "?" + parts.query)
        if match:
            return match.group(1)
    return None


def identities(item: RawItem, source_type: str) -> tuple[str, ...]:
    return _identities(item.key, item.link, source_type)


@lru_cache(maxsize=4096)  # asked twice per item stored: for the batch's read-ahead, then to store
def _identities(key: str, link: str, source_type: str) -> tuple[str, ...]:
    found = []
    url = canonical_url(link) if link else None
    if url:
        found.append(f"url:{url}")
    code = _eastmoney_code(key, link, source_type)
    if code:
        found.append(f"eastmoney:{code}")
    return tuple(found)


StoredVerdict = Literal["own", "duplicate", "twin"]


def against_stored(
    existing: Post | None, source_name: str, category: str, scope: str
) -> StoredVerdict:
    """What an item whose key is already a post means, by who stored that post and where.

    The source's own post (or none): update it. Another source's post in the same category, or
    anywhere under `dedupe = "global"`: a duplicate, left alone (two sources rewriting one file
    in turn would change it on every pass). In another category: a twin, stored as its own post.
    """
    if existing is None or existing.source_name == source_name:
        return "own"
    if scope == "global" or existing.category == category:
        return "duplicate"
    return "twin"


def as_twin(item: RawItem, category: str) -> RawItem:
    """The item as the twin of a post in another category: its own file id and Atom id."""
    return replace(item, key=f"{item.key}-{category}", guid=f"{item.guid}#{category}")
