"""Source adapters: one module per kind, each `(Source, Fetcher) -> AdapterResult`.

An adapter may leave items in `AdapterResult.stream`, produced while the pipeline reads them."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from ..models import AdapterResult, Fetcher, Source
from .eastmoney import stream_eastmoney
from .feed import fetch_feed
from .listing import fetch_listing
from .page import fetch_page

Adapter = Callable[[Source, Fetcher], AdapterResult]

ADAPTERS: dict[str, Adapter] = {
    "eastmoney": stream_eastmoney,  # bodies arrive while the pipeline stores earlier items
    "feed": fetch_feed,
    "page": fetch_page,
    "listing": fetch_listing,
}

_EASTMONEY_SHARE = re.compile(
    r"^https?://[^/]+/html_News/NewsShare\.html\?(?:.*&)?infoCode=NW\d{18}", re.I
)


def adapter_for(source: Source) -> Adapter:
    return ADAPTERS[source.type]


def guess_type(url: str) -> str | None:
    """The source type of an ad-hoc `fetch --url`, or None when no adapter understands it.

    eastmoney share links keep their adapter (its text API has the clean body); any other
    http(s) URL is read as one article page.
    """
    if _EASTMONEY_SHARE.match(url):
        return "eastmoney"
    parts = urlsplit(url)
    return "page" if parts.scheme in ("http", "https") and parts.hostname else None
