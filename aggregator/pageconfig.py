"""The per-source keys of `page` and `listing` sources, validated (called by `configsources._source`).

    [sources.selectors]   title, date, body, media (CSS), remove (CSS or an array)  page, listing
    item_selector         CSS: one element per article of an HTML list               listing
    items_path            dotted path of the article array in a JSON list            listing
    [sources.fields]      link, title, date, media, id: CSS in an HTML list item,
                          dotted paths in a JSON entry                               listing
    article_url           URL template over the fields ({id}): the page or text API  listing
    [sources.article_fields]  body, title, date, media: dotted paths in a JSON article listing
    allow_hosts           hosts articles may come from besides the list's own        listing, feed
                          (feed: full-text pages; absent = any public host)

Every error names its key path, like the rest of the config.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .models import Selectors

if TYPE_CHECKING:
    from .tomltable import TomlTable

LISTING_KEYS = (
    "item_selector",
    "items_path",
    "fields",
    "article_url",
    "article_fields",
    "allow_hosts",
)
PAGE_KEYS = ("selectors", *LISTING_KEYS)
FIELD_NAMES = ("link", "title", "date", "media", "id")
ARTICLE_FIELD_NAMES = ("body", "title", "date", "media")
SELECTOR_NAMES = ("title", "date", "body", "media", "remove")
_KINDS = {"selectors": ("page", "listing"), "allow_hosts": ("listing", "feed")}  # else listing

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_HOST_PATTERN = re.compile(
    r"^(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$"
)
_PATH_SEGMENT = re.compile(r"[^.\s]+")


def page_rules(t: TomlTable, kind: str) -> dict[str, Any]:
    """The page/listing keys of one source as `Source` keyword arguments (empty for others)."""
    for key in PAGE_KEYS:
        allowed = _KINDS.get(key, ("listing",))
        if key in t and kind not in allowed:
            raise ConfigError(t.path(key), f"only {' and '.join(allowed)} sources have {key}")
    if kind == "feed":
        return {"allow_hosts": _hosts(t)}  # where full-text pages may come from
    if kind not in ("page", "listing"):
        return {}
    rules: dict[str, Any] = {"selectors": _selectors(t)}
    if kind == "listing":
        rules.update(_listing(t))
    return rules


def _selectors(t: TomlTable) -> Selectors | None:
    if "selectors" not in t:
        return None
    sel = t.table("selectors")
    sel.only(*SELECTOR_NAMES)
    values = {}
    for name in ("title", "date", "body", "media"):
        value = sel.string(name)
        if value is not None:
            values[name] = _css(value, sel.path(name))
    raw = sel.get("remove")
    remove: list[str] = []
    if raw is not None:
        listed = [raw] if isinstance(raw, str) else raw
        if not isinstance(listed, list):
            raise ConfigError(sel.path("remove"), "expected a CSS selector or an array of them")
        for i, value in enumerate(listed):
            path = sel.path("remove") if isinstance(raw, str) else f"{sel.path('remove')}[{i}]"
            if not isinstance(value, str):
                raise ConfigError(path, "expected a string (a CSS selector)")
            remove.append(_css(value, path))
    return Selectors(remove=tuple(remove), **values)


def _listing(t: TomlTable) -> dict[str, Any]:
    item_selector, items_path = t.string("item_selector"), t.string("items_path")
    if (item_selector is None) == (items_path is None):
        raise ConfigError(
            t.path("item_selector"),
            "a listing needs item_selector (an HTML page) or items_path (a JSON endpoint), not both",
        )
    is_json = items_path is not None
    if item_selector is not None:
        _css(item_selector, t.path("item_selector"))
    if items_path is not None:
        _dotted(items_path, t.path("items_path"), allow_root=True)

    fields_t = t.table("fields")
    fields_t.only(*FIELD_NAMES)
    fields = {}
    for name in fields_t.keys():  # noqa: SIM118 - TomlTable is not a dict
        value = fields_t.string(name, required=True) or ""
        fields[name] = (
            _dotted(value, fields_t.path(name)) if is_json else _css(value, fields_t.path(name))
        )

    article_url = t.string("article_url")
    if article_url is not None:
        _url_template(article_url, t.path("article_url"), fields)
    elif is_json and "link" not in fields:
        raise ConfigError(t.path("fields"), "a JSON listing needs fields.link or article_url")

    article_t = t.table("article_fields")
    article_t.only(*ARTICLE_FIELD_NAMES)
    article_fields = {
        name: _dotted(article_t.string(name, required=True) or "", article_t.path(name))
        for name in article_t.keys()  # noqa: SIM118
    }
    if article_fields and "body" not in article_fields:
        raise ConfigError(article_t.path("body"), "required key is missing (the article text)")
    return {
        "item_selector": item_selector,
        "items_path": items_path,
        "fields": fields,
        "article_url": article_url,
        "article_fields": article_fields,
        "allow_hosts": _hosts(t),
    }


def _css(selector: str, key: str) -> str:
    import soupsieve  # only configs with selectors pay for the import

    if not selector.strip():
        raise ConfigError(key, "must not be empty")
    try:
        soupsieve.compile(selector)
    except (soupsieve.SelectorSyntaxError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise ConfigError(key, f"invalid CSS selector {selector!r}: {reason}") from None
    return selector


def _dotted(path: str, key: str, *, allow_root: bool = False) -> str:
    if path == "" and allow_root:
        return path
    if not path or not all(_PATH_SEGMENT.fullmatch(part) for part in path.split(".")):
        raise ConfigError(key, f"{path!r} is not a dotted path like data.list or items.0.url")
    return path


def _url_template(template: str, key: str, fields: dict[str, str]) -> None:
    names = _PLACEHOLDER.findall(template)
    if not names:
        raise ConfigError(key, "template needs a field placeholder such as {id}")
    for name in names:
        if name not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise ConfigError(key, f"{{{name}}} is not one of the fields (fields: {known})")
    sample = _PLACEHOLDER.sub("1", template)
    parts = urlsplit(sample)
    # a relative template resolves against the list's URL
    if parts.scheme and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ConfigError(key, f"{template!r} is not an http(s) URL template")


def _hosts(t: TomlTable) -> tuple[str, ...]:
    raw = t.get("allow_hosts")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(t.path("allow_hosts"), "expected an array of host names")
    hosts = []
    for i, host in enumerate(raw):
        key = f"{t.path('allow_hosts')}[{i}]"
        if not isinstance(host, str) or not _HOST_PATTERN.match(host.lower().rstrip(".")):
            raise ConfigError(key, f"{host!r} is not a host name (example.com or *.example.com)")
        hosts.append(host.lower().rstrip("."))
    return tuple(hosts)
