"""Plain values passed between the stages; no behaviour beyond small derived properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

SourceType = Literal["eastmoney", "feed", "page", "listing"]
Outcome = Literal["new", "changed", "unchanged", "not_modified", "error"]

MiB = 1024 * 1024

# The line after the article link; {tag}, {category} and {site} (the site URL without its scheme,
# e.g. //finews.withounder.com) are filled in. This default reproduces the seed site.
DEFAULT_FOOTER = "[返回{tag}]({site}/category/{category}.html)｜[返回首页]({site}/)"


@dataclass(frozen=True)
class FetchSettings:
    """How the one HTTP client of a run behaves (the `[fetch]` table)."""

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0  # wall-clock seconds for one request, redirects and body included
    max_body_bytes: int = 15 * MiB  # counted after decompression
    max_redirects: int = 5
    allow_private_networks: bool = False
    proxy: str | None = None


@dataclass(frozen=True)
class Validators:
    """Conditional-GET validators exactly as the server sent them."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """One completed HTTP exchange (after our own redirect handling)."""

    url: str  # final URL after redirects
    status: int  # 200..299, or 304 when not modified
    content: bytes  # decoded (decompressed) body; empty for 304
    headers: Mapping[str, str]  # lower-cased names
    validators: Validators
    redirects: tuple[str, ...] = ()  # every URL visited before `url`

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Fetcher(Protocol):
    """What adapters need from the fetch stage (`fetch.HttpFetcher` implements it)."""

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        conditional: bool = True,
    ) -> FetchResult: ...


@dataclass(frozen=True)
class SiteSettings:
    """The `[site]` table: where and how the storage dir is published."""

    title: str
    url: str  # absolute, no trailing slash
    timezone: str = "Asia/Shanghai"  # post dates are written in this zone
    language: str = "zh-CN"
    footer: str = DEFAULT_FOOTER


@dataclass(frozen=True)
class Source:
    """One `[[sources]]` entry, validated."""

    name: str
    type: SourceType
    urls: tuple[str, ...]
    index: int = 0  # position in the config, for error messages (`sources[2]`)
    text_api: str | None = None  # eastmoney: body API template with {infoCode} / {code}
    interval: float | None = None  # seconds
    cron: str | None = None
    category: str | None = None  # fixed category slug
    tag: str | None = None  # fixed tag
    timezone: str = "Asia/Shanghai"  # zone of naive source times
    headers: Mapping[str, str] = field(default_factory=dict)
    proxy: str | None = None
    max_items: int = 500
    # eastmoney: the article link written into media posts ({infoCode}, {code})
    share_url: str = "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode={infoCode}"


@dataclass(frozen=True)
class RawItem:
    """One article as an adapter found it, before normalisation."""

    source_name: str
    key: str  # stable id: becomes the file id and never changes (NW… / 18-digit code / guid hash)
    guid: str  # stable IRI for the Atom entry id
    title: str  # plain text or HTML-escaped text as the source gave it
    date_text: str | None  # as given by the source; parsed in normalise
    timezone: str  # zone for naive dates
    link: str  # original article URL, written as the post's link line and the feed's `via`
    html: str  # raw article body HTML
    digest: str | None = None  # rolling-news digest: written as a `> ` line before the body
    media: str | None = None  # media name (文章来源); drives category and tag when not fixed
    category: str | None = None  # fixed category slug from the source config
    tag: str | None = None  # fixed tag from the source config


@dataclass(frozen=True)
class AdapterResult:
    """What an adapter found for one source in one pass."""

    items: tuple[RawItem, ...] = ()
    not_modified: bool = False  # the source itself answered 304: nothing to parse
    unchanged: int = 0  # items skipped because their own request answered 304
    errors: tuple[str, ...] = ()  # per-item failures; the other items are still returned


@dataclass(frozen=True)
class Post:
    """A post as it is written to `_posts/`; everything here is final and deterministic."""

    post_id: str  # file id: `_posts/YYYY-MM-DD-<post_id>.md`
    title: str  # plain text
    date: datetime  # aware, in the site timezone
    category: str  # slug, [a-z0-9-]
    tag: str
    body: str  # everything after the front matter, exactly as written
    content_html: str  # sanitised article HTML (the feed's content)
    source_url: str  # the original article URL
    guid: str  # Atom entry id
    source_name: str
    first_seen: datetime  # aware; when this post was first stored (`fetched_at`)
    updated: datetime | None = None  # aware; set when a stored post was later rewritten

    @property
    def filename(self) -> str:
        return f"{self.date:%Y-%m-%d}-{self.post_id}.md"


@dataclass(frozen=True)
class SourceResult:
    """What one source did in one pass."""

    source: str
    outcome: Outcome
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    error: str | None = None
    elapsed_ms: int = 0


@dataclass(frozen=True)
class RunReport:
    """What one pass did; `ok` decides the CLI exit code."""

    results: tuple[SourceResult, ...]
    feeds_written: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.outcome != "error" for r in self.results)
