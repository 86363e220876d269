"""The listing adapter (`type = "listing"`): a list of articles -> their pages -> RawItems.

Two kinds of list:

- an HTML page: `item_selector` picks one element per article; `fields.link` / `fields.title` /
  `fields.date` are CSS selectors inside it (the link defaults to the element itself when it is
  an `<a>`, else its first `<a href>`; title and date default to the article page's own);
- a JSON endpoint: `items_path` is the dotted path of the array; `fields.*` are dotted paths
  inside each entry (`link`, `title`, `date`, `media`, `id`).

`article_url` (a template over the fields, `{id}`) names what to fetch instead of the link: the
article page or a text API whose JSON answer `article_fields` reads (`body`, `title`, `date`).
At most `max_items` articles (default 50) are fetched, in list order, and only from the list's
own host or the `allow_hosts` (`"*.example.com"` covers subdomains); other links are skipped.
The fetcher's SSRF guard still refuses private addresses unless the config allows them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup
from bs4.element import Tag

from aggregator.decode import decode_document
from aggregator.errors import ExtractError
from aggregator.models import AdapterResult, Fetcher, FetchResult, Source
from aggregator.sources.jsonpath import dig, load_json, scalar_text
from aggregator.sources.page import ArticleTarget, fetch_articles

__all__ = ["fetch_listing", "fill_template", "host_allowed", "url_host"]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DATE_ATTRIBUTES = ("datetime", "content", "data-time", "data-date", "title")


def fetch_listing(source: Source, fetcher: Fetcher) -> AdapterResult:
    """Read every list URL, then fetch the articles found (at most `max_items`)."""
    targets: dict[str, ArticleTarget] = {}
    errors: list[str] = []
    not_modified = 0
    for url in source.urls:
        result = fetcher.get(url, headers=source.headers, proxy=source.proxy)
        if result.not_modified:
            not_modified += 1
            continue
        if source.items_path is not None:
            found = _json_targets(source, result, errors)
        else:
            found = _html_targets(source, result)
        for target in _in_scope(source, url, found):
            if target.link not in targets and len(targets) < source.max_items:
                targets[target.link] = target
    if not_modified == len(source.urls):
        return AdapterResult(not_modified=True, errors=tuple(errors))
    batch = fetch_articles(source, fetcher, list(targets.values()))
    return AdapterResult(
        items=tuple(batch.items),
        unchanged=batch.unchanged,
        errors=tuple(errors + batch.errors),
    )


# --- HTML lists --------------------------------------------------------------------------------


def _html_targets(source: Source, result: FetchResult) -> list[ArticleTarget | None]:
    selector = source.item_selector or "a[href]"
    page = decode_document(result.content, content_type=result.content_type, source=result.url)
    soup = BeautifulSoup(page, "lxml")
    base = _base_url(soup, result.url)
    elements = soup.select(selector)
    if not elements:
        raise ExtractError(f"{result.url}: item_selector {selector!r} matched nothing")
    fields = source.fields
    targets: list[ArticleTarget | None] = []
    for element in elements:
        link = _html_link(element, fields.get("link"))
        if link is None:
            continue
        values: dict[str, str | None] = {
            "link": link,
            "title": _html_text(element, fields.get("title")),
            "date": _html_date(element, fields.get("date")),
            "media": _html_text(element, fields.get("media")),
            "id": _html_text(element, fields.get("id")),
        }
        targets.append(_target(source, base, values))
    return targets


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    return urljoin(url, str(base["href"])) if isinstance(base, Tag) else url


def _html_link(element: Tag, selector: str | None) -> str | None:
    if selector:
        anchor = element.select_one(selector)
    elif element.name == "a" and element.has_attr("href"):
        anchor = element
    else:
        anchor = element.find("a", href=True)
    if not isinstance(anchor, Tag):
        return None
    href = str(anchor.get("href") or "").strip()
    return href or None


def _html_text(element: Tag, selector: str | None) -> str | None:
    if not selector:
        return None
    found = element.select_one(selector)
    return (" ".join(found.get_text(" ").split()) or None) if found is not None else None


def _html_date(element: Tag, selector: str | None) -> str | None:
    if not selector:
        return None
    found = element.select_one(selector)
    if found is None:
        return None
    for attribute in _DATE_ATTRIBUTES:
        if value := " ".join(str(found.get(attribute) or "").split()):
            return value
    return " ".join(found.get_text(" ").split()) or None


# --- JSON lists --------------------------------------------------------------------------------


def _json_targets(
    source: Source, result: FetchResult, errors: list[str]
) -> list[ArticleTarget | None]:
    text = decode_document(result.content, content_type=result.content_type, source=result.url)
    try:
        data = load_json(text)
    except ValueError as exc:
        raise ExtractError(f"{result.url}: {exc}") from None
    path = source.items_path or ""
    entries = dig(data, path)
    if not isinstance(entries, list):
        found = "nothing" if entries is None else f"a JSON {type(entries).__name__}"
        raise ExtractError(f"{result.url}: items_path {path!r} is not a list (found {found})")
    targets: list[ArticleTarget | None] = []
    for index, entry in enumerate(entries[: source.max_items]):
        values = {name: scalar_text(dig(entry, p)) for name, p in source.fields.items()}
        target = _target(source, result.url, values)
        if target is None:
            errors.append(f"{result.url}: item {index}: no {_missing(source, values)}")
        targets.append(target)
    return targets


def _missing(source: Source, values: Mapping[str, str | None]) -> str:
    if source.article_url:
        names = _PLACEHOLDER.findall(source.article_url)
        return ", ".join(f"fields.{n}" for n in names if not values.get(n)) or "article URL"
    return "fields.link"


# --- both --------------------------------------------------------------------------------------


def _target(source: Source, base: str, values: Mapping[str, str | None]) -> ArticleTarget | None:
    """The article to fetch for one list entry, or None when it lacks what the URLs need."""
    link = _absolute(base, values.get("link"))
    if source.article_url:
        fetched = fill_template(source.article_url, values)
        if fetched is None:
            return None
        fetched = _absolute(base, fetched)
    else:
        fetched = link
    if fetched is None:
        return None
    return ArticleTarget(
        url=fetched,
        link=link or fetched,
        title=values.get("title"),
        date_text=values.get("date"),
        media=values.get("media"),
    )


def fill_template(template: str, values: Mapping[str, str | None]) -> str | None:
    """`{name}` -> the entry's value, percent-encoded; None when a value is missing."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if not value:
            missing = True
            return ""
        return quote(value, safe="")

    filled = _PLACEHOLDER.sub(fill, template)
    return None if missing else filled


def _absolute(base: str, url: str | None) -> str | None:
    if not url:
        return None
    try:
        absolute = urldefrag(urljoin(base, url.strip()))[0]
    except ValueError:
        return None
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _in_scope(
    source: Source, listing_url: str, targets: Iterable[ArticleTarget | None]
) -> list[ArticleTarget]:
    """Targets on the list's host or `allow_hosts`; headers go only to the list's own host."""
    own = url_host(listing_url)
    allowed, skipped = [], []
    for target in targets:
        if target is None:
            continue
        host = url_host(target.url)
        if host == own:
            allowed.append(target)
        elif host_allowed(host, source.allow_hosts):
            allowed.append(
                ArticleTarget(
                    target.url,
                    target.link,
                    target.title,
                    target.date_text,
                    target.media,
                    send_headers=False,
                )
            )
        else:
            skipped.append(host)
    if skipped and not allowed:
        hosts = ", ".join(sorted(set(skipped))[:3])
        raise ExtractError(
            f"{listing_url}: every article link leaves the list's host (to {hosts}); "
            "add the host to allow_hosts"
        )
    return allowed


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """`example.com` matches itself; `*.example.com` matches its subdomains."""
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def url_host(url: str) -> str:
    """The host of `url` as allow_hosts patterns are matched against it."""
    return (urlsplit(url).hostname or "").rstrip(".")
