"""Value checks shared by the config sections and the sources: URLs, proxies, URL templates,
time zones, slugs and durations. Each raises a `ConfigError` naming the key it was given.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .tomltable import TomlTable

__all__ = [
    "check_http_url",
    "check_proxy",
    "check_template",
    "parse_duration",
    "slug_map",
    "timezone",
]

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float | None:
    """`"30s"`, `"5m"`, `"1h"`, `"1d"` -> seconds; None when malformed."""
    m = _DURATION.match(text)
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2)] if m else None


def slug_map(t: TomlTable) -> dict[str, str]:
    """A table of name -> slug (`[categories]`, `category_map`), every value checked."""
    slugs: dict[str, str] = {}
    for name in t.keys():  # noqa: SIM118 - TomlTable is not a dict
        slug = t.string(name, required=True) or ""
        if not SLUG.match(slug):
            raise ConfigError(t.path(name), f"{slug!r} is not a slug ([a-z0-9-])")
        slugs[name] = slug
    return slugs


def timezone(t: TomlTable, key: str, default: str) -> str:
    name = t.string(key) or default
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(t.path(key), f"unknown time zone {name!r}") from None
    return name


def check_http_url(url: str, key: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(key, f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{url!r} is not an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(key, f"{url!r}: credentials in URLs are not allowed")


def check_template(template: str, key: str) -> None:
    try:
        sample = template.format(infoCode="NW202112162215638061", code="202112162215638061")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(key, f"bad template ({exc}); use {{infoCode}} or {{code}}") from None
    if sample == template:
        raise ConfigError(key, "template needs {infoCode} or {code}")
    check_http_url(sample, key)


def check_proxy(proxy: str, key: str) -> None:
    parts = urlsplit(proxy)
    if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
        raise ConfigError(key, f"{proxy!r} is not a proxy URL (http://host:port)")
