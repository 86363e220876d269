"""A minimal Fetcher (models.Fetcher protocol) for adapter tests: httpx plus an in-memory ETag cache.

It stands in for `aggregator.fetch.HttpFetcher` so adapter tests do not depend on it: conditional GET
with If-None-Match / If-Modified-Since from the validators of the last 200 for the same URL,
304 -> FetchResult(status=304, content=b""), other non-2xx -> FetchError. Thread-safe.
Every call is recorded in `calls` (url, headers, proxy, conditional).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from aggregator.errors import FetchError
from aggregator.models import FetchResult, Validators


@dataclass(frozen=True)
class Call:
    url: str
    headers: Mapping[str, str]
    proxy: str | None
    conditional: bool


@dataclass
class SimpleFetcher:
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    validators: dict[str, Validators] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        conditional: bool = True,
    ) -> FetchResult:
        sent = dict(headers or {})
        with self._lock:
            self.calls.append(Call(url, dict(sent), proxy, conditional))
            cached = self.validators.get(url) if conditional else None
        if cached and cached.etag:
            sent["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            sent["If-Modified-Since"] = cached.last_modified
        try:
            response = self.client.get(url, headers=sent)
        except httpx.HTTPError as exc:
            raise FetchError(url, f"{url}: {exc}") from exc
        found = Validators(response.headers.get("etag"), response.headers.get("last-modified"))
        lowered = {name.lower(): value for name, value in response.headers.items()}
        if response.status_code == 304:
            return FetchResult(url, 304, b"", lowered, cached or found)
        if not 200 <= response.status_code < 300:
            raise FetchError(url, f"{url}: HTTP {response.status_code}")
        if found.etag or found.last_modified:
            with self._lock:
                self.validators[url] = found
        return FetchResult(url, response.status_code, response.content, lowered, found)

    def close(self) -> None:
        self.client.close()
