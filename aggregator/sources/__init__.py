"""Source adapters: one module per kind, each `(Source, Fetcher) -> AdapterResult`.

An adapter may leave items in `AdapterResult.stream`, produced while the pipeline reads them.
Each module is imported when a source of its kind is first fetched: a pass over feeds never
loads the eastmoney, page and listing adapters (and bs4 with them)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from ..models import AdapterResult, Fetcher, Source

Adapter = Callable[[Source, Fetcher], AdapterResult]

# kind -> (module in this package, function)
ADAPTERS: dict[str, tuple[str, str]] = {
    "eastmoney": ("eastmoney", "stream_eastmoney"),  # bodies arrive while earlier items are stored
    "feed": ("feed", "fetch_feed"),
    "page": ("page", "fetch_page"),
    "listing": ("listing", "fetch_listing"),
}

_EASTMONEY_SHARE = re.compile(
    r"^https?://[^/]+/html_News/NewsShare\.html\?(?:.*&)?infoCode=NW\d{18}", re.I
)


def adapter_for(source: Source) -> Adapter:
    module, function = ADAPTERS[source.type]
    adapter: Adapter = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return adapter


def guess_type(url: str) -> str | None:
    """The source type of an ad-hoc `fetch --url`, or None when no adapter understands it.

    eastmoney share links keep their adapter (its text API has the clean body); any other
    http(s) URL is read as one article page.
    """
    if _EASTMONEY_SHARE.match(url):
        return "eastmoney"
    parts = urlsplit(url)
    return "page" if parts.scheme in ("http", "https") and parts.hostname else None
