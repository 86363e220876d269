"""The top-level tables of `feeds_config.toml` other than `[[sources]]` (see configsources.py):

    [site]       title, url, timezone, language, footer          -> SiteSettings
    [storage]    dir                                              -> the storage directory
    [feeds]      entries, formats   + [publish] websub_hub, html, templates -> PublishSettings
    [fetch]      timeouts, sizes, proxy, private networks, ports  -> FetchSettings
    [categories] media/category name -> slug (configvalues.slug_map)
    [schedule]   interval, jitter, shutdown_grace (the daemon)    -> ScheduleSettings
    [retention]  keep_days

Each function takes its `TomlTable` and rejects unknown keys first, like the rest of the config.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast, get_args

from .addresses import PrivateAllowlist
from .configvalues import check_http_url, check_proxy, parse_duration, timezone
from .errors import ConfigError
from .models import (
    DEFAULT_FOOTER,
    FeedFormat,
    FetchSettings,
    MiB,
    PublishSettings,
    ScheduleSettings,
    SiteSettings,
)
from .tomltable import TomlTable, type_name

__all__ = [
    "feed_entries",
    "fetch_settings",
    "publish_settings",
    "retention_days",
    "schedule_settings",
    "site_settings",
    "storage_dir",
]


def site_settings(t: TomlTable) -> SiteSettings:
    t.only("title", "url", "timezone", "language", "footer")
    return SiteSettings(
        title=t.string("title", required=True) or "",
        url=_site_url(t),
        timezone=timezone(t, "timezone", "Asia/Shanghai"),
        language=t.string("language") or "zh-CN",
        footer=_footer(t),
    )


def _site_url(t: TomlTable) -> str:
    url = t.string("url", required=True) or ""
    check_http_url(url, t.path("url"))
    return url.rstrip("/")


def _footer(t: TomlTable) -> str:
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


def storage_dir(t: TomlTable, base_dir: Path) -> Path:
    t.only("dir")
    return base_dir / (t.string("dir") or "storage")


def feed_entries(feeds_t: TomlTable) -> int:
    feeds_t.only("entries", "formats")
    return feeds_t.integer("entries", default=50, low=1, high=10_000)


def publish_settings(t: TomlTable, feeds_t: TomlTable, base_dir: Path) -> PublishSettings:
    """`[publish]`, plus `[feeds] formats` (what gets published)."""
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
        check_http_url(hub, t.path("websub_hub"))
    templates = t.string("templates")
    return PublishSettings(
        formats=tuple(dict.fromkeys(cast(list[FeedFormat], formats))),
        websub_hub=hub,
        html=t.boolean("html", False),
        templates=str(base_dir / templates) if templates else None,
    )


def fetch_settings(t: TomlTable) -> FetchSettings:
    """`[fetch]`; `allowed_ports` gets the sources' own ports later (config.parse_config)."""
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
        check_proxy(proxy, t.path("proxy"))
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


def _private_allowlist(t: TomlTable, key: str) -> tuple[str, ...]:
    """`true`/`false`, or a list of CIDRs and host names trusted although not public."""
    value = t.get(key)
    if value is None or isinstance(value, bool):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        expected = "expected true, false or a list of CIDRs / host names"
        raise ConfigError(t.path(key), f"{expected}, got {type_name(value)}")
    try:
        PrivateAllowlist.parse(value)
    except ValueError as exc:
        raise ConfigError(t.path(key), str(exc)) from None
    return tuple(value)


def _allowed_ports(t: TomlTable, key: str) -> frozenset[int] | None:
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


def schedule_settings(t: TomlTable) -> ScheduleSettings:
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


def retention_days(t: TomlTable) -> int | None:
    """`[retention] keep_days`: older posts move to _archive/ (None: keep everything)."""
    t.only("keep_days")
    if "keep_days" not in t:
        return None
    return t.integer("keep_days", default=0, low=1, high=100_000)
