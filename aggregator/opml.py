"""OPML 2.0: write the list of our feeds, read a reader's export, add its feeds to the config.

Pure: bytes and strings in, bytes and strings out. Reading refuses any DOCTYPE before parsing,
so no entity can be declared, let alone expanded (billion laughs, external entities); an OPML
file never needs one. The config is edited with tomlkit, which keeps comments and layout.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import AggregatorError
from .slugs import slugify

__all__ = [
    "OpmlError",
    "Outline",
    "add_feed_sources",
    "build_opml",
    "parse_opml",
]

MAX_OPML_BYTES = 10 * 1024 * 1024
_NAME_LENGTH = 64  # config.py: source names are at most 64 characters


class OpmlError(AggregatorError):
    """An OPML file or the config it is imported into cannot be used; the message says why."""


@dataclass(frozen=True)
class Outline:
    """One subscription: `type="rss"` with `xmlUrl`, or `type="link"` with `url` (not a feed)."""

    text: str
    xml_url: str | None = None
    html_url: str | None = None
    url: str | None = None


def build_opml(title: str, outlines: Iterable[Outline]) -> bytes:
    """An OPML 2.0 document; no dateCreated, so the same outlines give the same bytes."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    for item in outlines:
        attrs = {"text": item.text, "title": item.text}
        if item.xml_url:
            attrs = {"type": "rss", **attrs, "xmlUrl": item.xml_url}
            if item.html_url:
                attrs["htmlUrl"] = item.html_url
        else:
            attrs = {"type": "link", **attrs, "url": item.url or ""}
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def parse_opml(data: bytes) -> list[Outline]:
    """Every outline with an `xmlUrl`, in document order, nested folders flattened."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise OpmlError("DOCTYPE and entity declarations are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root.tag != "opml":
        raise OpmlError(f"root element is <{root.tag}>, not <opml>")
    found = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if url:
            text = node.get("title") or node.get("text") or url
            found.append(Outline(text=text.strip(), xml_url=url, html_url=node.get("htmlUrl")))
    return found


def add_feed_sources(
    config_text: str, feeds: Sequence[Outline]
) -> tuple[str, list[str], list[str]]:
    """Append a `type = "feed"` `[[sources]]` entry per feed whose URL is not configured yet.

    Returns the new config text (comments and layout kept), the names added and the URLs
    skipped as already present.
    """
    # (here: publishing writes OPML on every feed rebuild and never needs tomlkit, ~15 ms to load)
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
    from tomlkit.items import AoT

    try:
        doc = tomlkit.parse(config_text)
    except TOMLKitError as exc:
        raise OpmlError(f"config is not valid TOML: {exc}") from None
    sources = doc.get("sources")
    if sources is None:
        sources = tomlkit.aot()
        doc.append("sources", sources)
    if not isinstance(sources, AoT):
        raise OpmlError("sources: expected an array of tables ([[sources]])")
    names = {str(s.get("name")) for s in sources}
    urls = {str(u) for s in sources for u in [s.get("url"), *(s.get("urls") or [])] if u}
    added: list[str] = []
    skipped: list[str] = []
    for feed in feeds:
        assert feed.xml_url is not None  # parse_opml only returns feeds
        if feed.xml_url in urls:
            skipped.append(feed.xml_url)
            continue
        name = _unique_name(feed.text, names)
        entry = tomlkit.table()
        entry.trivia.indent = "\n"  # a blank line before each new [[sources]], as hand-written
        entry.add("name", name)
        entry.add("type", "feed")
        entry.add("url", feed.xml_url)
        sources.append(entry)
        names.add(name)
        urls.add(feed.xml_url)
        added.append(name)
    return tomlkit.dumps(doc), added, skipped


def _unique_name(title: str, taken: set[str]) -> str:
    """A config source name from a feed title: its slug (pinyin for Chinese), made unique."""
    base = slugify(title)[:_NAME_LENGTH].rstrip("-") or "feed"
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = f"-{n}"
        name = base[: _NAME_LENGTH - len(suffix)].rstrip("-") + suffix
    return name
