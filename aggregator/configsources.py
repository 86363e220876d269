"""The `[[sources]]` entries of `feeds_config.toml` -> `Source`s, each error naming
`sources[i].key`. The page/listing keys are checked in pageconfig.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, cast, get_args
from urllib.parse import urlsplit

from .configvalues import (
    SLUG,
    check_http_url,
    check_proxy,
    check_template,
    parse_duration,
    slug_map,
    timezone,
)
from .errors import ConfigError
from .models import Source, SourceType
from .pageconfig import PAGE_KEYS, page_rules
from .tomltable import TomlTable, type_name

__all__ = [
    "DEFAULT_SHARE_URL",
    "DEFAULT_TEXT_API",
    "SOURCE_KEYS",
    "SUPPORTED_TYPES",
    "configured_ports",
    "sources",
]

SUPPORTED_TYPES: tuple[str, ...] = ("eastmoney", "feed", "page", "listing")
DEFAULT_TEXT_API = "http://choicewzp1.eastmoney.com/NewsData/GetNewsText.do?id={infoCode}"
DEFAULT_SHARE_URL = "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode={infoCode}"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

SOURCE_KEYS = (
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
    "max_full_text",
    "category_map",
    "include",
    "exclude",
    "dedupe",
    *PAGE_KEYS,
)


def sources(top: TomlTable) -> tuple[Source, ...]:
    """Every `[[sources]]` entry, in order; names must be unique."""
    found = tuple(
        _source(TomlTable(item, f"sources[{i}]"), i)
        for i, item in enumerate(top.array_of_tables("sources"))
    )
    seen: dict[str, int] = {}
    for s in found:
        if s.name in seen:
            raise ConfigError(
                f"sources[{s.index}].name",
                f"duplicate source name {s.name!r} (also sources[{seen[s.name]}])",
            )
        seen[s.name] = s.index
    return found


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


def _source(t: TomlTable, index: int) -> Source:
    t.only(*SOURCE_KEYS)
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
        check_template(text_api, t.path("text_api"))
    share_url = t.string("share_url")
    if share_url is not None:
        check_template(share_url, t.path("share_url"))
    interval, cron = _schedule(t)
    category = t.string("category")
    if category is not None and not SLUG.match(category):
        raise ConfigError(t.path("category"), f"{category!r} is not a slug ([a-z0-9-])")
    headers_t = t.table("headers")
    headers = {k: headers_t.string(k, required=True) or "" for k in headers_t.keys()}  # noqa: SIM118
    proxy = t.string("proxy")
    if proxy is not None:
        check_proxy(proxy, t.path("proxy"))
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
        timezone=timezone(t, "timezone", "Asia/Shanghai"),
        headers=headers,
        proxy=proxy,
        max_items=t.integer(
            "max_items", default=50 if kind == "listing" else 500, low=1, high=100_000
        ),
        share_url=share_url or DEFAULT_SHARE_URL,
        **_item_rules(t, kind),
        **page_rules(t, kind),
    )


def _item_rules(t: TomlTable, kind: str) -> dict[str, Any]:
    """full_text, max_full_text, category_map, include, exclude and dedupe, as Source keyword
    arguments."""
    rules: dict[str, Any] = {}
    if "full_text" in t:
        if kind != "feed":
            raise ConfigError(t.path("full_text"), "only feed sources have full_text")
        value = t.get("full_text")
        if value not in (True, False, "auto"):
            raise ConfigError(t.path("full_text"), f'expected "auto", true or false, got {value!r}')
        rules["full_text"] = {True: "always", False: "never"}.get(value, "auto")
    if "max_full_text" in t:
        if kind != "feed":
            raise ConfigError(t.path("max_full_text"), "only feed sources have max_full_text")
        rules["max_full_text"] = t.integer("max_full_text", default=50, low=1, high=100_000)
    rules["category_map"] = slug_map(t.table("category_map"))
    for key in ("include", "exclude"):
        rules[key] = _patterns(t, key)
    dedupe = t.string("dedupe") or "category"
    if dedupe not in ("category", "global"):
        raise ConfigError(t.path("dedupe"), f'expected "category" or "global", got {dedupe!r}')
    rules["dedupe"] = dedupe
    return rules


def _patterns(t: TomlTable, key: str) -> tuple[str, ...]:
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


def _urls(t: TomlTable) -> tuple[str, ...]:
    has_url, has_urls = "url" in t, "urls" in t
    if has_url == has_urls:
        raise ConfigError(t.path("url"), "give exactly one of url or urls")
    if has_url:
        url = t.string("url", required=True) or ""
        check_http_url(url, t.path("url"))
        return (url,)
    raw = t.get("urls")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(t.path("urls"), "expected a non-empty array of URLs")
    for i, url in enumerate(raw):
        key = f"{t.path('urls')}[{i}]"
        if not isinstance(url, str):
            raise ConfigError(key, f"expected a string, got {type_name(url)}")
        check_http_url(url, key)
    return tuple(raw)


def _schedule(t: TomlTable) -> tuple[float | None, str | None]:
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
