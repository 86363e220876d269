"""`feeds_config.toml` -> a validated `Config`.

Every problem is a `ConfigError` whose message starts with the key path (`sources[1].text_api: ...`),
so the CLI can print one line and exit 2. Unknown keys are errors too: a typo must not silently fall
back to a default.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .addresses import PrivateAllowlist
from .errors import ConfigError
from .models import (
    DEFAULT_FOOTER,
    FeedFormat,
    FetchSettings,
    MiB,
    PublishSettings,
    ScheduleSettings,
    SiteSettings,
    Source,
    SourceType,
)
from .pageconfig import PAGE_KEYS, page_rules

DEFAULT_CONFIG_NAME = "feeds_config.toml"
CONFIG_ENV = "AGGREGATOR_CONFIG"
SUPPORTED_TYPES: tuple[str, ...] = ("eastmoney", "feed", "page", "listing")
DEFAULT_TEXT_API = "http://choicewzp1.eastmoney.com/NewsData/GetNewsText.do?id={infoCode}"
DEFAULT_SHARE_URL = "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode={infoCode}"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Config:
    path: Path
    site: SiteSettings
    storage_dir: Path
    feed_entries: int
    fetch: FetchSettings
    category_overrides: Mapping[str, str]  # media/category name -> slug
    sources: tuple[Source, ...]
    publish: PublishSettings = field(default_factory=PublishSettings)  # [publish], [feeds] formats
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)  # [schedule] (daemon)
    retention_days: int | None = None  # [retention] keep_days: older posts move to _archive/

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)


def find_config(explicit: str | None) -> Path:
    """--config, else ./feeds_config.toml, else $AGGREGATOR_CONFIG."""
    if explicit:
        return Path(explicit)
    local = Path(DEFAULT_CONFIG_NAME)
    if local.exists():
        return local
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else local


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("", f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("", f"{path}: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, base_dir=path.resolve().parent, path=path)


def parse_config(data: Mapping[str, Any], *, base_dir: Path, path: Path) -> Config:
    top = _Table(data, "")
    top.only(
        "site",
        "storage",
        "feeds",
        "fetch",
        "categories",
        "sources",
        "publish",
        "schedule",
        "retention",
    )

    site_t = top.table("site", required=True)
    site_t.only("title", "url", "timezone", "language", "footer")
    site = SiteSettings(
        title=site_t.string("title", required=True) or "",
        url=_site_url(site_t),
        timezone=_timezone(site_t, "timezone", "Asia/Shanghai"),
        language=site_t.string("language") or "zh-CN",
        footer=_footer(site_t),
    )

    storage_t = top.table("storage")
    storage_t.only("dir")
    storage_dir = base_dir / (storage_t.string("dir") or "storage")

    feeds_t = top.table("feeds")
    feeds_t.only("entries", "formats")
    entries = feeds_t.integer("entries", default=50, low=1, high=10_000)
    publish = _publish_settings(top.table("publish"), feeds_t, base_dir)

    fetch = _fetch_settings(top.table("fetch"))

    cats_t = top.table("categories")
    overrides: dict[str, str] = {}
    for name in cats_t.keys():  # noqa: SIM118 - _Table is not a dict
        slug = cats_t.string(name, required=True) or ""
        if not _SLUG.match(slug):
            raise ConfigError(cats_t.path(name), f"{slug!r} is not a slug ([a-z0-9-])")
        overrides[name] = slug

    sources = tuple(
        _source(_Table(item, f"sources[{i}]"), i)
        for i, item in enumerate(top.array_of_tables("sources"))
    )
    seen: dict[str, int] = {}
    for s in sources:
        if s.name in seen:
            raise ConfigError(
                f"sources[{s.index}].name",
                f"duplicate source name {s.name!r} (also sources[{seen[s.name]}])",
            )
        seen[s.name] = s.index
    if fetch.allowed_ports is not None:
        fetch = replace(fetch, allowed_ports=fetch.allowed_ports | configured_ports(sources))
    return Config(
        path=path,
        site=site,
        storage_dir=storage_dir,
        feed_entries=entries,
        fetch=fetch,
        category_overrides=overrides,
        sources=sources,
        publish=publish,
        schedule=_schedule_settings(top.table("schedule")),
        retention_days=_retention_days(top.table("retention")),
    )


def _retention_days(t: _Table) -> int | None:
    t.only("keep_days")
    if "keep_days" not in t:
        return None
    return t.integer("keep_days", default=0, low=1, high=100_000)


def parse_duration(text: str) -> float | None:
    """`"30s"`, `"5m"`, `"1h"`, `"1d"` -> seconds; None when malformed."""
    m = _DURATION.match(text)
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2)] if m else None


def _site_url(t: _Table) -> str:
    url = t.string("url", required=True) or ""
    _check_http_url(url, t.path("url"))
    return url.rstrip("/")


def _footer(t: _Table) -> str:
    footer = t.string("footer")
    if footer is None:
        return DEFAULT_FOOTER
    try:
        footer.format(tag="", category="", site="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            t.path("footer"), f"bad template ({exc}); use {{tag}}, {{category}} and {{site}}"
        ) from None
    return footer


def _publish_settings(t: _Table, feeds_t: _Table, base_dir: Path) -> PublishSettings:
    t.only("websub_hub", "html", "templates")
    formats = feeds_t.get("formats") if "formats" in feeds_t else ["atom"]
    if (
        not isinstance(formats, list)
        or not formats
        or any(f not in get_args(FeedFormat) for f in formats)
    ):
        raise ConfigError(feeds_t.path("formats"), 'expected a list of "atom" and/or "json"')
    if "atom" not in formats:
        raise ConfigError(
            feeds_t.path("formats"), '"atom" is required (the Jekyll-compatible feeds)'
        )
    hub = t.string("websub_hub")
    if hub is not None:
        _check_http_url(hub, t.path("websub_hub"))
    templates = t.string("templates")
    return PublishSettings(
        formats=tuple(dict.fromkeys(cast(list[FeedFormat], formats))),
        websub_hub=hub,
        html=t.boolean("html", False),
        templates=str(base_dir / templates) if templates else None,
    )


def _timezone(t: _Table, key: str, default: str) -> str:
    name = t.string(key) or default
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(t.path(key), f"unknown time zone {name!r}") from None
    return name


def _fetch_settings(t: _Table) -> FetchSettings:
    t.only(
        "allow_private_networks",
        "proxy",
        "user_agent",
        "connect_timeout",
        "read_timeout",
        "deadline",
        "max_body_mib",
        "max_redirects",
        "allowed_ports",
        "per_host",
        "host_spacing",
    )
    defaults = FetchSettings(user_agent="")
    proxy = t.string("proxy")
    if proxy is not None:
        _check_proxy(proxy, t.path("proxy"))
    return FetchSettings(
        user_agent=t.string("user_agent") or "",
        connect_timeout=t.number("connect_timeout", defaults.connect_timeout, 0.1, 600),
        read_timeout=t.number("read_timeout", defaults.read_timeout, 0.1, 600),
        deadline=t.number("deadline", defaults.deadline, 0.1, 3600),
        max_body_bytes=int(
            t.number("max_body_mib", defaults.max_body_bytes / MiB, 0.001, 1024) * MiB
        ),
        max_redirects=t.integer("max_redirects", default=defaults.max_redirects, low=0, high=20),
        allow_private_networks=t.get("allow_private_networks") is True,
        private_allowlist=_private_allowlist(t, "allow_private_networks"),
        allowed_ports=_allowed_ports(t, "allowed_ports"),
        proxy=proxy,
        per_host=t.integer("per_host", default=defaults.per_host, low=1, high=64),
        host_spacing=t.number("host_spacing", defaults.host_spacing, 0, 3600),
    )


def _private_allowlist(t: _Table, key: str) -> tuple[str, ...]:
    """`true`/`false`, or a list of CIDRs and host names trusted although not public."""
    value = t.get(key)
    if value is None or isinstance(value, bool):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        expected = "expected true, false or a list of CIDRs / host names"
        raise ConfigError(t.path(key), f"{expected}, got {_type_name(value)}")
    try:
        PrivateAllowlist.parse(value)
    except ValueError as exc:
        raise ConfigError(t.path(key), str(exc)) from None
    return tuple(value)


def _allowed_ports(t: _Table, key: str) -> frozenset[int] | None:
    """80, 443 and `allowed_ports` (a list, or "any"); the config's own URLs add theirs later."""
    value = t.get(key)
    if value == "any":
        return None
    if value is None:
        value = []
    if not isinstance(value, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value
    ):
        raise ConfigError(t.path(key), 'expected a list of port numbers (1-65535) or "any"')
    return frozenset({80, 443, *value})


def configured_ports(sources: Iterable[Source]) -> frozenset[int]:
    """The explicit ports written in the sources' URLs and URL templates (an operator's opt-in)."""
    ports: set[int] = set()
    for source in sources:
        templates = (source.text_api, source.share_url, getattr(source, "article_url", None))
        for url in (*source.urls, *templates):
            try:
                port = urlsplit(url or "").port
            except ValueError:
                continue
            if port is not None:
                ports.add(port)
    return frozenset(ports)


_SOURCE_KEYS = (
    "name",
    "type",
    "url",
    "urls",
    "text_api",
    "share_url",
    "interval",
    "cron",
    "category",
    "tag",
    "timezone",
    "headers",
    "proxy",
    "max_items",
    "full_text",
    "category_map",
    "include",
    "exclude",
    "dedupe",
    *PAGE_KEYS,
)


def _source(t: _Table, index: int) -> Source:
    t.only(*_SOURCE_KEYS)
    name = t.string("name", required=True) or ""
    if not _NAME.match(name):
        raise ConfigError(
            t.path("name"), f"{name!r}: use letters, digits, '.', '_' or '-' (max 64)"
        )
    kind = t.string("type", required=True) or ""
    if kind not in get_args(SourceType):
        raise ConfigError(
            t.path("type"), f"unknown type {kind!r} (one of eastmoney, feed, page, listing)"
        )
    if kind not in SUPPORTED_TYPES:
        raise ConfigError(
            t.path("type"),
            f"type {kind!r} is not available in this version (available: {', '.join(SUPPORTED_TYPES)})",
        )
    urls = _urls(t)
    text_api = t.string("text_api")
    if text_api is not None:
        _check_template(text_api, t.path("text_api"))
    share_url = t.string("share_url")
    if share_url is not None:
        _check_template(share_url, t.path("share_url"))
    interval, cron = _schedule(t)
    category = t.string("category")
    if category is not None and not _SLUG.match(category):
        raise ConfigError(t.path("category"), f"{category!r} is not a slug ([a-z0-9-])")
    headers_t = t.table("headers")
    headers = {k: headers_t.string(k, required=True) or "" for k in headers_t.keys()}  # noqa: SIM118
    proxy = t.string("proxy")
    if proxy is not None:
        _check_proxy(proxy, t.path("proxy"))
    return Source(
        name=name,
        type=cast(SourceType, kind),
        urls=urls,
        index=index,
        text_api=text_api or DEFAULT_TEXT_API,
        interval=interval,
        cron=cron,
        category=category,
        tag=t.string("tag"),
        timezone=_timezone(t, "timezone", "Asia/Shanghai"),
        headers=headers,
        proxy=proxy,
        max_items=t.integer(
            "max_items", default=50 if kind == "listing" else 500, low=1, high=100_000
        ),
        share_url=share_url or DEFAULT_SHARE_URL,
        **_item_rules(t, kind),
        **page_rules(t, kind),
    )


def _item_rules(t: _Table, kind: str) -> dict[str, Any]:
    """full_text, category_map, include, exclude and dedupe, as Source keyword arguments."""
    rules: dict[str, Any] = {}
    if "full_text" in t:
        if kind != "feed":
            raise ConfigError(t.path("full_text"), "only feed sources have full_text")
        value = t.get("full_text")
        if value not in (True, False, "auto"):
            raise ConfigError(t.path("full_text"), f'expected "auto", true or false, got {value!r}')
        rules["full_text"] = {True: "always", False: "never"}.get(value, "auto")
    map_t = t.table("category_map")
    category_map = {}
    for name in map_t.keys():  # noqa: SIM118 - _Table is not a dict
        slug = map_t.string(name, required=True) or ""
        if not _SLUG.match(slug):
            raise ConfigError(map_t.path(name), f"{slug!r} is not a slug ([a-z0-9-])")
        category_map[name] = slug
    rules["category_map"] = category_map
    for key in ("include", "exclude"):
        rules[key] = _patterns(t, key)
    dedupe = t.string("dedupe") or "category"
    if dedupe not in ("category", "global"):
        raise ConfigError(t.path("dedupe"), f'expected "category" or "global", got {dedupe!r}')
    rules["dedupe"] = dedupe
    return rules


def _patterns(t: _Table, key: str) -> tuple[str, ...]:
    """A regex or an array of regexes, each compiled once here so a typo stops the load."""
    raw = t.get(key)
    if raw is None:
        return ()
    patterns = [raw] if isinstance(raw, str) else raw
    if not isinstance(patterns, list) or not patterns:
        raise ConfigError(t.path(key), "expected a regular expression or an array of them")
    for i, pattern in enumerate(patterns):
        path = t.path(key) if isinstance(raw, str) else f"{t.path(key)}[{i}]"
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(path, "expected a non-empty string (a regular expression)")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(path, f"invalid regular expression {pattern!r}: {exc}") from None
    return tuple(patterns)


def _urls(t: _Table) -> tuple[str, ...]:
    has_url, has_urls = "url" in t, "urls" in t
    if has_url == has_urls:
        raise ConfigError(t.path("url"), "give exactly one of url or urls")
    if has_url:
        url = t.string("url", required=True) or ""
        _check_http_url(url, t.path("url"))
        return (url,)
    raw = t.get("urls")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(t.path("urls"), "expected a non-empty array of URLs")
    for i, url in enumerate(raw):
        key = f"{t.path('urls')}[{i}]"
        if not isinstance(url, str):
            raise ConfigError(key, f"expected a string, got {_type_name(url)}")
        _check_http_url(url, key)
    return tuple(raw)


def _schedule(t: _Table) -> tuple[float | None, str | None]:
    interval_text, cron = t.string("interval"), t.string("cron")
    if interval_text is not None and cron is not None:
        raise ConfigError(t.path("cron"), "give interval or cron, not both")
    interval = None
    if interval_text is not None:
        interval = parse_duration(interval_text)
        if interval is None or interval <= 0:
            raise ConfigError(
                t.path("interval"), f"{interval_text!r} is not a duration like 30s, 5m, 1h"
            )
    if cron is not None and len(cron.split()) != 5:
        raise ConfigError(t.path("cron"), f"{cron!r} is not a 5-field cron expression")
    if cron is not None:
        from .triggers import cron_error  # APScheduler: loaded only for configs that use cron

        problem = cron_error(cron)
        if problem:
            raise ConfigError(t.path("cron"), f"{cron!r}: {problem}")
    return interval, cron


def _schedule_settings(t: _Table) -> ScheduleSettings:
    """`[schedule]`: default interval, jitter and shutdown grace (durations like "30s")."""
    t.only("interval", "jitter", "shutdown_grace")
    defaults = ScheduleSettings()

    def duration(key: str, minimum: float) -> float | None:
        text = t.string(key)
        if text is None:
            return None
        seconds = parse_duration(text)
        if seconds is None or seconds < minimum:
            raise ConfigError(t.path(key), f"{text!r} is not a duration like 30s, 5m, 1h")
        return seconds

    interval = duration("interval", 0.001)
    grace = duration("shutdown_grace", 0)
    return ScheduleSettings(
        interval=defaults.interval if interval is None else interval,
        jitter=duration("jitter", 0),
        shutdown_grace=defaults.shutdown_grace if grace is None else grace,
    )


def _check_http_url(url: str, key: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(key, f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{url!r} is not an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(key, f"{url!r}: credentials in URLs are not allowed")


def _check_template(template: str, key: str) -> None:
    try:
        sample = template.format(infoCode="NW202112162215638061", code="202112162215638061")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(key, f"bad template ({exc}); use {{infoCode}} or {{code}}") from None
    if sample == template:
        raise ConfigError(key, "template needs {infoCode} or {code}")
    _check_http_url(sample, key)


def _check_proxy(proxy: str, key: str) -> None:
    parts = urlsplit(proxy)
    if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
        raise ConfigError(key, f"{proxy!r} is not a proxy URL (http://host:port)")


T = TypeVar("T")


def _type_name(value: object) -> str:
    names = {
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        list: "array",
        dict: "table",
    }
    return names.get(type(value), type(value).__name__)


class _Table:
    """A TOML table with its key path, so every error can name the exact key."""

    def __init__(self, data: object, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(prefix, f"expected a table, got {_type_name(data)}")
        self.data: dict[str, Any] = data
        self.prefix = prefix

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> list[str]:
        return list(self.data)

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(self.path(key), f"unknown key{hint}")

    def _typed(
        self, key: str, kind: type[T] | tuple[type, ...], what: str, required: bool
    ) -> T | None:
        if key not in self.data:
            if required:
                raise ConfigError(self.path(key), "required key is missing")
            return None
        value = self.data[key]
        # bool is an int in Python; a TOML boolean is never a valid number here
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(self.path(key), f"expected {what}, got {_type_name(value)}")
        return cast(T, value)

    def string(self, key: str, required: bool = False) -> str | None:
        value = self._typed(key, str, "a string", required)
        if required and value is not None and not value.strip():
            raise ConfigError(self.path(key), "must not be empty")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._typed(key, bool, "true or false", False)
        return default if value is None else value

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self._typed(key, int, "an integer", False)
        return default if value is None else self._in_range(key, value, low, high)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._typed(key, (int, float), "a number", False)
        return default if value is None else float(self._in_range(key, value, low, high))

    def _in_range(self, key: str, value: Any, low: float, high: float) -> Any:
        if not low <= value <= high:
            raise ConfigError(self.path(key), f"{value} is out of range [{low}, {high}]")
        return value

    def table(self, key: str, required: bool = False) -> _Table:
        if key not in self.data:
            if required:
                raise ConfigError(self.path(key), "required table is missing")
            return _Table({}, self.path(key))
        return _Table(self.data[key], self.path(key))

    def array_of_tables(self, key: str) -> list[Any]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise ConfigError(self.path(key), "expected an array of tables ([[sources]])")
        return value
