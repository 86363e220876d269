"""`feeds_config.toml` -> a validated `Config`.

Every problem is a `ConfigError` whose message starts with the key path (`sources[1].text_api: ...`),
so the CLI can print one line and exit 2. Unknown keys are errors too: a typo must not silently fall
back to a default.

This module reads the file and assembles the parts:

    tomltable.py       a TOML table that knows its key path (every error names its key)
    configvalues.py    shared checks: URLs, proxies, templates, time zones, slugs, durations
    configsections.py  [site] [storage] [feeds] [publish] [fetch] [schedule] [retention]
    configsources.py   the [[sources]] entries (pageconfig.py: their page/listing keys)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import configsections as sections
from .configsources import (
    DEFAULT_SHARE_URL,
    DEFAULT_TEXT_API,
    SUPPORTED_TYPES,
    configured_ports,
    sources,
)
from .configvalues import parse_duration, slug_map
from .errors import ConfigError
from .models import FetchSettings, PublishSettings, ScheduleSettings, SiteSettings, Source
from .tomltable import TomlTable

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_SHARE_URL",
    "DEFAULT_TEXT_API",
    "SUPPORTED_TYPES",
    "Config",
    "configured_ports",
    "find_config",
    "load_config",
    "parse_config",
    "parse_duration",
]

DEFAULT_CONFIG_NAME = "feeds_config.toml"
CONFIG_ENV = "AGGREGATOR_CONFIG"


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
    top = TomlTable(data, "")
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
    # the tables are checked in this order, so a file with several mistakes always reports the
    # same first one
    site = sections.site_settings(top.table("site", required=True))
    storage_dir = sections.storage_dir(top.table("storage"), base_dir)
    feeds_t = top.table("feeds")
    entries = sections.feed_entries(feeds_t)
    publish = sections.publish_settings(top.table("publish"), feeds_t, base_dir)
    fetch = sections.fetch_settings(top.table("fetch"))
    overrides = slug_map(top.table("categories"))
    found = sources(top)
    if fetch.allowed_ports is not None:
        fetch = replace(fetch, allowed_ports=fetch.allowed_ports | configured_ports(found))
    return Config(
        path=path,
        site=site,
        storage_dir=storage_dir,
        feed_entries=entries,
        fetch=fetch,
        category_overrides=overrides,
        sources=found,
        publish=publish,
        schedule=sections.schedule_settings(top.table("schedule")),
        retention_days=sections.retention_days(top.table("retention")),
    )
