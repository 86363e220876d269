"""The page adapter (`type = "page"`): article URLs -> one RawItem each, re-checked every run.

Every URL is fetched with conditional GET: a 304 costs nothing, a changed page is extracted again
and rewrites the same post (the key is a hash of the URL, so the file never moves). Extraction
uses the source's `[sources.selectors]` when given, else automatic extraction (`extract`).

The article fetch here is shared with the listing adapter: `ArticleTarget` says what to fetch and
what the list already knew about it (title, date), `fetch_articles` fetches a batch 4 at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urldefrag, urlsplit

from aggregator.decode import decode_document
from aggregator.errors import ExtractError, SourceError
from aggregator.extract import extract_article
from aggregator.models import AdapterResult, Fetcher, FetchResult, RawItem, Source
from aggregator.sources.jsonpath import dig, load_json, scalar_text

__all__ = ["ArticleTarget", "fetch_articles", "fetch_page", "page_guid", "page_key"]

ARTICLE_WORKERS: Final = 4


@dataclass(frozen=True)
class ArticleTarget:
    """One article to fetch, with what its list already said about it."""

    url: str  # what is fetched: the article page, or its text API
    link: str  # the article's page, written as the post's link; also its identity
    title: str | None = None  # from the list; used when the article has none
    date_text: str | None = None
    media: str | None = None
    send_headers: bool = True  # the source's headers (maybe credentials) go to its own host only


@dataclass
class _Batch:
    items: list[RawItem] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def page_key(url: str, kind: str = "page") -> str:
    """The post id of an article URL: `p-` (page) or `l-` (listing) + 16 hex digits.

    Filename-safe and stable. The prefix differs per kind because the store remembers ids per
    kind: an article that is both a page source and in a listing is two posts (twins, like
    eastmoney's rolling and media items), never two files with one id.
    """
    return ("l-" if kind == "listing" else "p-") + _digest(url)


def page_guid(url: str, kind: str = "page") -> str:
    return f"urn:aggregator:{'listing' if kind == 'listing' else 'page'}:{_digest(url)}"


def _digest(url: str) -> str:
    # The fragment never names a different article.
    return hashlib.sha256(urldefrag(url.strip())[0].encode("utf-8")).hexdigest()[:16]


def fetch_page(source: Source, fetcher: Fetcher) -> AdapterResult:
    """Fetch and extract every URL of a page source; a failing page is one line in `errors`."""
    targets = [ArticleTarget(url=url, link=url) for url in dict.fromkeys(source.urls)]
    batch = fetch_articles(source, fetcher, targets)
    if batch.unchanged == len(targets):
        return AdapterResult(not_modified=True)
    return AdapterResult(
        items=tuple(batch.items), unchanged=batch.unchanged, errors=tuple(batch.errors)
    )


def fetch_articles(source: Source, fetcher: Fetcher, targets: Sequence[ArticleTarget]) -> _Batch:
    """Fetch `targets` (4 at a time); items keep the order of `targets`."""
    with ThreadPoolExecutor(max_workers=ARTICLE_WORKERS) as pool:
        outcomes = list(pool.map(lambda target: _fetch_one(source, fetcher, target), targets))
    batch = _Batch()
    for outcome in outcomes:
        if isinstance(outcome, RawItem):
            batch.items.append(outcome)
        elif outcome is None:
            batch.unchanged += 1
        else:
            batch.errors.append(outcome)
    return batch


def _fetch_one(source: Source, fetcher: Fetcher, target: ArticleTarget) -> RawItem | str | None:
    """The item, None when the article answered 304, or a one-line error."""
    try:
        result = fetcher.get(
            target.url,
            headers=source.headers if target.send_headers else None,
            proxy=source.proxy,
        )
        if result.not_modified:
            return None
        return _article_item(source, target, result)
    except SourceError as exc:
        return f"{target.url}: {_reason(exc, target.url)}"


def _article_item(source: Source, target: ArticleTarget, result: FetchResult) -> RawItem:
    text = decode_document(result.content, content_type=result.content_type, source=target.url)
    if source.article_fields:
        title, date_text, media, body = _json_article(source.article_fields, text)
    else:
        article = extract_article(text, result.url, source.selectors)
        title, date_text, media, body = (
            article.title,
            article.date_text,
            article.media,
            article.html,
        )
    # The article's own title and date win: lists truncate titles and drop the year from dates.
    title = title or target.title
    if not title:
        raise ExtractError("no title in the list or the article")
    return RawItem(
        source_name=source.name,
        key=page_key(target.link, source.type),
        guid=page_guid(target.link, source.type),
        title=title,
        date_text=date_text or target.date_text,
        timezone=source.timezone,
        link=target.link,
        html=body,
        media=media or target.media,
        category=source.category,
        tag=source.tag,
    )


def _json_article(
    paths: Mapping[str, str], text: str
) -> tuple[str | None, str | None, str | None, str]:
    """(title, date, media, body HTML) from a JSON text API, by the source's `article_fields`."""
    try:
        data = load_json(text)
    except ValueError as exc:
        raise ExtractError(str(exc)) from None
    values = {name: scalar_text(dig(data, path)) for name, path in paths.items()}
    body = values.get("body")
    if not body:
        raise ExtractError(f"no text at article_fields.body ({paths.get('body', '')!r})")
    return values.get("title"), values.get("date"), values.get("media"), body


def _reason(exc: SourceError, url: str) -> str:
    """The error without a leading `<url>: ` (the line names the URL once)."""
    text = " ".join(str(exc).split())
    for prefix in (url, urlsplit(url).geturl()):
        if text.startswith(f"{prefix}: "):
            return text[len(prefix) + 2 :]
    return text or type(exc).__name__
