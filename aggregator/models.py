"""Plain values passed between the stages; no behaviour beyond small derived properties."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

SourceType = Literal["eastmoney", "feed", "page", "listing"]
# "skipped": not fetched this pass (disabled after 410 Gone, or not due: backoff, Retry-After)
Outcome = Literal["new", "changed", "unchanged", "not_modified", "error", "skipped"]
FullText = Literal["auto", "always", "never"]  # config: "auto" | true | false
DedupeScope = Literal["category", "global"]

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
    # non-public targets trusted one by one: CIDRs ("10.1.0.0/16") and host names ("rsshub.lan")
    private_allowlist: tuple[str, ...] = ()
    # ports that may be connected to; None = any (the config always gives a set: 80, 443, the
    # ports written in its URLs and `allowed_ports`)
    allowed_ports: frozenset[int] | None = None
    per_host: int = 2  # requests in flight to one host at a time
    host_spacing: float = 0.0  # minimum seconds between the starts of two requests to one host


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
    # where the leading run of 301/308 hops from the requested URL ended (None: no permanent hop)
    permanent_redirect: str | None = None

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


FeedFormat = Literal["atom", "json"]


@dataclass(frozen=True)
class PublishSettings:
    """The `[publish]` table and `[feeds] formats`: what is written besides posts and Atom feeds."""

    formats: tuple[FeedFormat, ...] = ("atom",)  # "json" adds a JSON Feed 1.1 twin of each feed
    websub_hub: str | None = None  # hub URL: feeds carry rel="hub" and the hub is pinged
    html: bool = False  # render the standalone site into _site/ on every rebuild
    templates: str | None = None  # dir of Jinja2 templates overriding the shipped ones (absolute)


@dataclass(frozen=True)
class Selectors:
    """Per-source CSS selectors for article pages (`[sources.selectors]`); None = automatic."""

    title: str | None = None
    date: str | None = None
    body: str | None = None
    media: str | None = None  # the publishing outlet's name (文章来源), drives category and tag
    remove: tuple[str, ...] = ()  # removed from the page before anything is read


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
    # page, listing: how article pages are read (None = automatic extraction)
    selectors: Selectors | None = None
    # listing: an HTML list (item_selector) or a JSON list (items_path), with per-item `fields`
    # (CSS selectors relative to the item, or dotted paths); `article_url` builds the article (or
    # text API) URL from those fields; `article_fields` are dotted paths in a JSON article answer
    item_selector: str | None = None
    items_path: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    article_url: str | None = None
    article_fields: Mapping[str, str] = field(default_factory=dict)
    # listing: hosts besides the listing's own ("*.x.com" too); feed: hosts besides the feed's own
    # whose pages full text may come from (empty: any public host)
    allow_hosts: tuple[str, ...] = ()
    # feed: fetch the article page when an entry has only a summary ("auto"), always, or never
    full_text: FullText = "auto"
    max_full_text: int = 50  # feed: article pages fetched per pass; later entries keep summaries
    category_map: Mapping[str, str] = field(default_factory=dict)  # entry category -> slug
    include: tuple[str, ...] = ()  # regexes on title, body, author: an item must match one
    exclude: tuple[str, ...] = ()  # regexes: an item matching any is not posted
    dedupe: DedupeScope = "category"  # where the same article is stored only once


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
    author: str | None = None  # byline; only read by include/exclude filters
    # tags besides the primary one (a feed entry's categories); posts.make_post cleans and bounds
    extra_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdapterResult:
    """What an adapter found for one source in one pass."""

    items: tuple[RawItem, ...] = ()
    not_modified: bool = False  # the source itself answered 304: nothing to parse
    unchanged: int = 0  # items skipped because their own request answered 304
    errors: tuple[str, ...] = ()  # per-item failures; the other items are still returned
    # problems that cost no item (full text not extracted: the summary was used instead)
    warnings: tuple[str, ...] = ()
    # more items, in order, produced while they are consumed (bodies still being fetched): an
    # item, an error line, or None for one unchanged (304); read once, after `items`
    stream: Iterable[RawItem | str | None] | None = None


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
    # tags after `tag` (which alone drives the footer): each also gets the post into its tag feed
    extra_tags: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[str, ...]:
        """Every tag, the primary one first."""
        return (self.tag, *self.extra_tags) if self.tag else self.extra_tags

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
    duplicates: int = 0  # items already stored as another post of the same category (or site)
    filtered: int = 0  # items left out by the source's include/exclude rules
    degraded: str | None = None  # why the source looks broken (no items, lost fields), else None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunReport:
    """What one pass did; `ok` decides the CLI exit code."""

    results: tuple[SourceResult, ...]
    feeds_written: tuple[str, ...] = ()
    archived: tuple[str, ...] = ()  # post files moved to _archive/ by [retention]

    @property
    def ok(self) -> bool:
        return all(r.outcome != "error" for r in self.results)


@dataclass(frozen=True)
class ScheduleSettings:
    """The `[schedule]` table: defaults of the daemon (`aggregator run`)."""

    interval: float = 300.0  # seconds, for sources without their own interval or cron
    jitter: float | None = None  # seconds of random delay per run; None: 10% of the interval, <= 60
    shutdown_grace: float = 20.0  # seconds in-flight work may take after SIGTERM/SIGINT
