"""Source adapters: one module per kind, each `(Source, Fetcher) -> AdapterResult`."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..models import AdapterResult, Fetcher, Source
from .eastmoney import fetch_eastmoney

Adapter = Callable[[Source, Fetcher], AdapterResult]

ADAPTERS: dict[str, Adapter] = {
    "eastmoney": fetch_eastmoney,
}

_EASTMONEY_SHARE = re.compile(
    r"^https?://[^/]+/html_News/NewsShare\.html\?(?:.*&)?infoCode=NW\d{18}", re.I
)


def adapter_for(source: Source) -> Adapter:
    return ADAPTERS[source.type]


def guess_type(url: str) -> str | None:
    """The source type of an ad-hoc `fetch --url`, or None when no adapter understands it."""
    return "eastmoney" if _EASTMONEY_SHARE.match(url) else None
