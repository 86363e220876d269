"""The eastmoney (东方财富) adapter: list APIs and share links -> RawItems with their article bodies.

A source URL is either a share link (`…/html_News/NewsShare.html?infoCode=NW…`, one article) or a list
API, recognised by the shape of its JSON (see EASTMONEY.md §2-3):

    {"records": [...]}          webapi?type=102 rolling news      -> key = 18-digit code
    {"nodeList": [...]}         webapi?type=45 media list         -> key = infoCode (NW…)
    {"record": [...]}           newmarket/web/webapi               -> key = infoCode
    {"data": {"list": [...]}}   np-listapi getNewsByColumns        -> key = infoCode

Every body comes from `GetNewsText.do` (its `content` or `text` field). The adapter returns values as
the source gave them: HTML cleaning, date parsing and media extraction happen in normalise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from aggregator.errors import ExtractError, FetchError
from aggregator.models import AdapterResult, Fetcher, FetchResult, RawItem, Source

DEFAULT_TEXT_API: Final = "http://choicewzp1.eastmoney.com/NewsData/GetNewsText.do?id={infoCode}"
CANONICAL_ARTICLE_URL: Final = "http://finance.eastmoney.com/a/{code}.html"
# Bodies in flight at once; the fetcher's per-host limit ([fetch] per_host, default 2) caps it further.
TEXT_WORKERS: Final = 16

_INFO_CODE = re.compile(r"NW(\d{18})")
_CODE = re.compile(r"\d{18}")
_JSONP = re.compile(r"[A-Za-z_$][\w$.]*\s*\((.*)\)\s*;?", re.DOTALL)
_DIGEST_TITLE = re.compile(r"【([^】]*)】")
# Page titles end with the site name after a separator; one pattern over every name seen or expected.
_SITE_NAMES = ("东方财富网", "东方财富", "Choice数据", "Choice金融终端", "Choice", "天天基金网")
_SITE_SUFFIX = re.compile(
    r"(?:\s*[-_|–—]\s*(?:" + "|".join(re.escape(name) for name in _SITE_NAMES) + r"))+\s*$"
)

# Field names tried, in order, in a GetNewsText.do response (only `content`/`text` were ever seen).
_API_TITLE_FIELDS = ("title", "Title", "simtitle", "simTitle", "Art_Title")
_API_DATE_FIELDS = ("showtime", "showTime", "ShowTime", "datetime", "DateTime", "Art_ShowTime")


@dataclass(frozen=True)
class _ListShape:
    """Where one kind of list keeps its fields."""

    rolling: bool  # rolling news: bare-code keys, digest, channel link; else the media form
    title_fields: tuple[str, ...]
    date_fields: tuple[str, ...]
    media_fields: tuple[str, ...] = ()
    link_fields: tuple[str, ...] = ()  # media form: empty -> the source's share_url


_RECORDS = _ListShape(True, ("title",), ("showtime",), link_fields=("url_w",))
_NODE_LIST = _ListShape(False, ("title", "simtitle"), ("showtime",), ("from",))
_RECORD = _ListShape(False, ("title",), ("datetime",), ("medianame",))
_COLUMNS = _ListShape(False, ("title",), ("showTime",), ("mediaName",), ("uniqueUrl", "url"))


@dataclass(frozen=True)
class _Pending:
    """An article found in a list or a share link, waiting for its body."""

    key: str
    code: str
    text_url: str
    # (body, text API fields, share page title) -> item; raises _ItemError
    build: Callable[[str, Mapping[str, Any], str | None], RawItem]
    body_fields: tuple[str, str]
    share_page: str | None = None  # share links: where the title comes from if the API has none

    @property
    def info_code(self) -> str:
        return "NW" + self.code


class _ItemError(Exception):
    """One article failed; becomes a line in AdapterResult.errors."""


_Outcome = RawItem | None | str  # item, unchanged (text 304), or an error line


def fetch_eastmoney(source: Source, fetcher: Fetcher) -> AdapterResult:
    """Fetch every list and share link of `source`, then the bodies (TEXT_WORKERS at a time, list
    order kept).

    A failing list request raises (FetchError / ExtractError); a failing article is one line in
    `errors` and the other articles go on.
    """
    result = stream_eastmoney(source, fetcher)
    if result.stream is None:
        return result
    items: list[RawItem] = []
    errors, unchanged = list(result.errors), 0
    for outcome in result.stream:
        if outcome is None:
            unchanged += 1
        elif isinstance(outcome, str):
            errors.append(outcome)
        else:
            items.append(outcome)
    return AdapterResult(items=tuple(items), unchanged=unchanged, errors=tuple(errors))


def stream_eastmoney(source: Source, fetcher: Fetcher) -> AdapterResult:
    """`fetch_eastmoney` with the bodies still to come: the lists are read here, and the result's
    `stream` fetches the bodies while it is read and yields each item (list order) as soon as it
    and those before it are in, so the pipeline stores items while later bodies are in flight."""
    pending: dict[str, _Pending] = {}
    errors: list[str] = []
    lists_fetched = lists_not_modified = share_links = 0
    for url in source.urls:
        if _is_share_link(url):
            share_links += 1
            found = [_share_link_item(source, url)]
        else:
            lists_fetched += 1
            result = fetcher.get(url, headers=source.headers, proxy=source.proxy)
            if result.not_modified:
                lists_not_modified += 1
                continue
            found = _list_items(source, url, result.content, errors)
        for key, item in found:
            if key not in pending and len(pending) < source.max_items:
                pending[key] = item
    if share_links == 0 and lists_fetched and lists_fetched == lists_not_modified:
        return AdapterResult(not_modified=True, errors=tuple(errors))

    return AdapterResult(errors=tuple(errors), stream=_bodies(source, fetcher, pending))


def _bodies(source: Source, fetcher: Fetcher, pending: dict[str, _Pending]) -> Iterator[_Outcome]:
    """Every pending item's outcome in list order, whatever finished first; an error line shared
    by twins is yielded once."""
    # Twins (a rolling item and a media item of one article) share a text URL: one request serves
    # both, or the ETag stored by the first would turn the second into a 304.
    groups: dict[str, list[_Pending]] = {}
    for item in pending.values():
        groups.setdefault(item.text_url, []).append(item)
    pool = ThreadPoolExecutor(max_workers=TEXT_WORKERS)
    try:
        futures = {
            url: pool.submit(_complete, source, fetcher, group) for url, group in groups.items()
        }
        told: set[str] = set()
        for key, item in pending.items():
            outcome = futures[item.text_url].result()[key]
            if isinstance(outcome, str):
                if outcome in told:
                    continue
                told.add(outcome)
            yield outcome
    finally:  # also when the reader stops early: queued requests are dropped, not sent
        pool.shutdown(wait=True, cancel_futures=True)


# --- share links -------------------------------------------------------------------------------


def _is_share_link(url: str) -> bool:
    return urlsplit(url).path.lower().endswith("/html_news/newsshare.html")


def _share_link_item(source: Source, url: str) -> tuple[str, _Pending]:
    parts = urlsplit(url)
    params = {name.lower(): value for name, value in parse_qsl(parts.query)}
    info_code = params.get("infocode", "")
    match = _INFO_CODE.fullmatch(info_code)
    if match is None:
        raise ExtractError(f"{url}: share link without a valid infoCode (NW + 18 digits)")
    code = match.group(1)
    try:
        day = datetime.strptime(code[:8], "%Y%m%d").date().isoformat()
    except ValueError:
        raise ExtractError(f"{url}: infoCode {info_code} does not start with a date") from None

    def build(body: str, fields: Mapping[str, Any], page_title: str | None) -> RawItem:
        title = _first_text(fields, _API_TITLE_FIELDS) or page_title
        if not title:
            raise _ItemError("no title in the text API or the share page")
        return RawItem(
            source_name=source.name,
            key=info_code,
            guid=f"urn:eastmoney:{info_code}",
            title=title,
            date_text=_first_text(fields, _API_DATE_FIELDS, strip=True) or day,
            timezone=source.timezone,
            link=url,
            html=body,
            category=source.category,
            tag=source.tag,
        )

    text_url = f"{parts.scheme}://{parts.netloc}/NewsData/GetNewsText.do?id={info_code}"
    return info_code, _Pending(info_code, code, text_url, build, ("text", "content"), url)


def _title_from_page(content: bytes) -> str:
    from bs4 import BeautifulSoup  # (0.1 s to import; only share links without an API title)

    soup = BeautifulSoup(content, "html.parser")
    if soup.title is None:
        return ""
    return _SITE_SUFFIX.sub("", soup.title.get_text().strip())


# --- list APIs ---------------------------------------------------------------------------------


def _list_items(
    source: Source, url: str, content: bytes, errors: list[str]
) -> list[tuple[str, _Pending]]:
    try:
        data = _load_json(content)
    except ValueError as exc:
        raise ExtractError(f"{url}: invalid JSON ({_one_line(exc)})") from None
    shape, rows = _recognise(url, data)
    found = []
    # At most max_items rows per list: a flooded list costs no more than a full one.
    for index, row in enumerate(rows[: source.max_items]):
        if not isinstance(row, dict) or (code := _row_code(row)) is None:
            errors.append(f"{url}: item {index}: no NW/18-digit article id")
            continue
        found.append(_list_item(source, shape, code, row))
    return found


def _recognise(url: str, data: object) -> tuple[_ListShape, Sequence[object]]:
    if isinstance(data, dict):
        for name, shape in (("records", _RECORDS), ("nodeList", _NODE_LIST), ("record", _RECORD)):
            if isinstance(data.get(name), list):
                return shape, data[name]
        inner = data.get("data")
        if isinstance(inner, dict) and isinstance(inner.get("list"), list):
            return _COLUMNS, inner["list"]
        keys = ", ".join(sorted(str(key) for key in data)) or "none"
    else:
        keys = f"none, a JSON {type(data).__name__}"
    raise ExtractError(f"{url}: not a known eastmoney list (top-level keys: {keys})")


def _row_code(row: Mapping[str, Any]) -> str | None:
    """The 18-digit code from whichever id field the row has (infoCode = "NW" + code)."""
    for name in ("infoCode", "infocode", "code", "id"):
        value = str(row.get(name) or "").strip()
        match = _INFO_CODE.fullmatch(value)
        if match:
            return match.group(1)
        if _CODE.fullmatch(value):
            return value
    return None


def _list_item(
    source: Source, shape: _ListShape, code: str, row: Mapping[str, Any]
) -> tuple[str, _Pending]:
    info_code = "NW" + code
    title = _first_text(row, shape.title_fields) or ""
    date_text = _first_text(row, shape.date_fields, strip=True)
    text_url = _fill(source.text_api or DEFAULT_TEXT_API, code)
    if shape.rolling:
        digest = _first_text(row, ("digest",))
        if not title and digest and (match := _DIGEST_TITLE.search(digest)):
            title = match.group(1)
        key, digest_value, media = code, digest, None
        link = _first_text(row, shape.link_fields, strip=True) or _fill(CANONICAL_ARTICLE_URL, code)
        body_fields = ("content", "text")
    else:
        key, digest_value = info_code, None
        media = _first_text(row, shape.media_fields, strip=True)
        link = _first_text(row, shape.link_fields, strip=True) or _fill(source.share_url, code)
        body_fields = ("text", "content")

    def build(body: str, fields: Mapping[str, Any], page_title: str | None) -> RawItem:
        return RawItem(
            source_name=source.name,
            key=key,
            guid=f"urn:eastmoney:{key}",
            title=title,
            date_text=date_text,
            timezone=source.timezone,
            link=link,
            html=body,
            digest=digest_value,
            media=media,
            category=source.category,
            tag=source.tag,
        )

    return key, _Pending(key, code, text_url, build, body_fields)


# --- article bodies ----------------------------------------------------------------------------


def _complete(source: Source, fetcher: Fetcher, group: list[_Pending]) -> dict[str, _Outcome]:
    """Fetch one body and build every item that uses it, by key."""
    text_url = group[0].text_url
    try:
        result = fetcher.get(text_url, headers=source.headers, proxy=source.proxy)
        if result.not_modified:
            return {item.key: None for item in group}
        fields = _text_fields(result)
    except (FetchError, _ItemError) as exc:
        return {item.key: f"{item.info_code}: {_one_line(exc)}" for item in group}
    return {item.key: _build(source, fetcher, item, fields) for item in group}


def _build(source: Source, fetcher: Fetcher, item: _Pending, fields: Mapping[str, Any]) -> _Outcome:
    """The item from its text API fields (and, for a share link without an API title, its page)."""
    try:
        body = _first_text(fields, item.body_fields)
        if not body:
            raise _ItemError(f"no {' or '.join(item.body_fields)} field in {item.text_url}")
        page_title = None
        if item.share_page and _first_text(fields, _API_TITLE_FIELDS) is None:
            # Not conditional: a 304 here would leave a changed article without a title.
            page = fetcher.get(
                item.share_page, headers=source.headers, proxy=source.proxy, conditional=False
            )
            page_title = _title_from_page(page.content)
        return item.build(body, fields, page_title)
    except (FetchError, _ItemError) as exc:
        return f"{item.info_code}: {_one_line(exc)}"


def _text_fields(result: FetchResult) -> Mapping[str, Any]:
    """The article object of a GetNewsText.do answer: `{...}` or `{"data": {...}}`."""
    try:
        data = _load_json(result.content)
    except ValueError as exc:
        raise _ItemError(f"{result.url}: invalid JSON ({_one_line(exc)})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]
    if not isinstance(data, dict):
        raise _ItemError(f"{result.url}: not a JSON object")
    return data


# --- small helpers -----------------------------------------------------------------------------


def _load_json(content: bytes) -> object:
    """UTF-8 JSON or JSONP (`cb({...})`); raw control characters inside strings are accepted.

    Invalid UTF-8 becomes U+FFFD (one bad byte must not lose a whole list); any failure is a
    ValueError.
    """
    text = content.decode("utf-8-sig", errors="replace").strip()
    if not text.startswith(("{", "[")) and (match := _JSONP.fullmatch(text)):
        text = match.group(1)
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _first_text(
    fields: Mapping[str, Any], names: Sequence[str], *, strip: bool = False
) -> str | None:
    """The first non-blank string among `names` (numbers are accepted as text)."""
    for name in names:
        value = fields.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip() if strip else value
    return None


def _fill(template: str, code: str) -> str:
    # Plain replacement: a template with other braces must not raise.
    return template.replace("{infoCode}", "NW" + code).replace("{code}", code)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
