"""Well-formed, plain Atom 1.0 -> FeedDoc with lxml, equal to what xmlfeed gets with feedparser.

feedparser reads a feed in pure Python (SAX callbacks per element and per text chunk: ~80 ms for
50 long entries); lxml builds the tree in C. This path fills the keys xmlfeed reads from
feedparser's result (`title_detail`, `content`, `links`, ...) and applies feedparser's own steps to
every value: whitespace strip, the repair of UTF-8 read as Latin-1, the windows-1252 map, and URL
resolution with feedparser's functions. Anything else makes `parse_atom` return None and the
caller uses feedparser: XML that is not well-formed, a DOCTYPE, `xml:base`, XHTML or out-of-line
content, a comment, an element or attribute this module does not know, an element repeated where
feedparser would merge. tests/test_fastfeed.py runs both over the feed fixtures and compares.
"""

from __future__ import annotations

import re
from contextlib import suppress
from functools import lru_cache
from html.entities import name2codepoint
from typing import Any

from feedparser.html import _BaseHTMLProcessor, _cp1252
from feedparser.urls import (
    RelativeURIResolver,
    _urljoin,
    make_safe_absolute_uri,
    resolve_relative_uris,
)
from lxml import etree  # type: ignore[import-untyped]  # (no stubs in the dependencies)

from aggregator.feedmodel import FeedDoc
from aggregator.xmlfeed import feed_bytes, feed_doc

__all__ = ["parse_atom"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_TEXT_TYPES = {None: "text/plain", "text": "text/plain", "html": "text/html"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# feed children whose values xmlfeed never reads
_FEED_IGNORED = frozenset({"id", "updated", "subtitle", "rights", "generator", "icon", "logo"})
_ONCE = frozenset({"id", "title", "published", "updated", "summary", "content", "author"})
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
_C1 = re.compile("[\x80-\x9f]")  # what feedparser's windows-1252 table maps
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class _Unusual(Exception):
    """Something feedparser might read differently: leave the feed to it."""


def parse_atom(text: str, *, url: str) -> FeedDoc | None:
    """The feed in decoded `text` when it is plain Atom 1.0, else None."""
    data, cut = feed_bytes(text)
    if cut:
        return None  # feedparser's path words the warning
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return None
    info = root.getroottree().docinfo
    if root.tag != f"{_ATOM}feed" or info.doctype or info.internalDTD is not None:
        return None
    base = make_safe_absolute_uri("", url) or make_safe_absolute_uri(url) or ""
    try:
        feed, entries = _feed(root, base)
    except _Unusual:
        return None
    return feed_doc(feed, entries)


def _feed(root: Any, base: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _attributes(root, {_LANG})
    feed: dict[str, Any] = {}
    entries = []
    for name, child in _children(root, _ONCE | _FEED_IGNORED):
        if name == "entry":
            entries.append(_entry(child, base))
        elif name == "title":
            feed["title_detail"] = _text_construct(child, base)
            feed["title"] = feed["title_detail"]["value"]
        elif name == "link":
            _link(child, base)
        elif name == "author":
            _author(child)
        elif name == "category":
            _category(child)
        elif name in _FEED_IGNORED:
            _text_construct(child, base)
        else:
            raise _Unusual
    return feed, entries


def _entry(element: Any, base: str) -> dict[str, Any]:
    _attributes(element, {_LANG})
    entry: dict[str, Any] = {}
    links: list[dict[str, str]] = []
    tags: list[dict[str, str | None]] = []
    for name, child in _children(element, _ONCE):
        if name == "id":  # feedparser takes an Atom id for an RSS guid that is a permalink
            _attributes(child, set())
            value = _text(child).strip()
            entry["id"] = _finish(_urljoin(base, value) if value else value)
        elif name in ("published", "updated"):
            _attributes(child, set())
            entry[name] = _finish(_text(child).strip())
        elif name == "title":
            entry["title_detail"] = _text_construct(child, base)
            entry["title"] = entry["title_detail"]["value"]
        elif name == "summary":
            entry["summary_detail"] = _text_construct(child, base)
        elif name == "content":
            entry["content"] = [_text_construct(child, base)]
        elif name == "link":
            rel, href, kind = _link(child, base)
            if rel == "alternate" and kind in _HTML_TYPES:
                entry["link"] = href
            elif rel == "enclosure":
                links.append({"href": href, "type": kind})
        elif name == "category":
            tags.append(_category(child))
        elif name == "author":
            entry["author"] = _author(child)
        else:
            raise _Unusual
    if "link" not in entry and "id" in entry:
        entry["link"] = entry["id"]  # (the permalink guid again)
    entry["tags"] = tags
    entry["enclosures"] = links
    return entry


def _children(element: Any, once: frozenset[str]) -> list[tuple[str, Any]]:
    """(local name, element) of the Atom children; anything else is unusual."""
    if (element.text or "").strip():
        raise _Unusual  # mixed content
    found = []
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(_ATOM) or (child.tail or "").strip():
            raise _Unusual  # a comment, PI, foreign element or stray text
        name = tag[len(_ATOM) :]
        if name in once:
            if name in seen:
                raise _Unusual  # feedparser keeps the last, or turns a second summary into content
            seen.add(name)
        found.append((name, child))
    return found


def _attributes(element: Any, allowed: set[str]) -> None:
    if any(name not in allowed for name in element.attrib):
        raise _Unusual


def _text(element: Any) -> str:
    if len(element):
        raise _Unusual  # child elements or comments
    return str(element.text or "")


def _text_construct(element: Any, base: str) -> dict[str, str]:
    """A text construct as feedparser's `*_detail`: its MIME type and value."""
    _attributes(element, {"type", _LANG})
    kind = _TEXT_TYPES.get(element.get("type"))
    if kind is None:
        raise _Unusual  # xhtml, or a MIME type
    value = _text(element).strip()
    if kind == "text/html" and value:
        resolved = _resolve_uris(value, base)
        value = resolve_relative_uris(value, base, "utf-8", kind) if resolved is None else resolved
    return {"type": kind, "value": _finish(value)}


def _finish(value: str) -> str:
    """feedparser's last steps for every text value (FeedParserMixin.pop)."""
    # the round trip only succeeds on Latin-1 text, and changes nothing on ASCII
    if not value.isascii() and not _BEYOND_LATIN1.search(value):
        with suppress(UnicodeEncodeError, UnicodeDecodeError):
            value = value.encode("iso-8859-1").decode("utf-8")
    # str.translate with a dict looks up every character: skip it when none is in the table
    return value.translate(_cp1252) if _C1.search(value) else value


def _link(element: Any, base: str) -> tuple[str, str, str]:
    _attributes(element, {"rel", "href", "type", "length", "title", "hreflang"})
    if _text(element).strip() or "href" not in element.attrib:
        raise _Unusual
    rel = str(element.get("rel", "alternate"))
    kind = str(element.get("type", "application/atom+xml" if rel == "self" else "text/html"))
    return rel, _urljoin(base, element.get("href")), kind


def _category(element: Any) -> dict[str, str | None]:
    _attributes(element, {"term", "label", "scheme"})
    if _text(element).strip():
        raise _Unusual
    return {"term": element.get("term"), "label": element.get("label")}


def _author(element: Any) -> str:
    """The author feedparser makes of a lone `<name>` (with `<email>` or `<uri>`: feedparser)."""
    _attributes(element, set())
    children = _children(element, frozenset({"name"}))
    if [name for name, _ in children] != ["name"]:
        raise _Unusual
    _attributes(children[0][1], set())
    return _finish(_text(children[0][1]).strip())


# --- feedparser's resolve_relative_uris on plain HTML ----------------------------------------------
#
# feedparser re-serialises HTML with an SGML tokenizer in pure Python (~0.6 ms for a 9 KB body).
# On the plain HTML below its output is a known function of the input: text and comments are
# copied, references rewritten one by one, tags rebuilt from their name and attributes. That is
# computed here with feedparser's own tables and URL function; anything else (bare `&` or `<`,
# uppercase or unusual tag names, unquoted values, `<>` in values, declarations, processing
# instructions, `--` in comments) returns None and feedparser runs.

# _BaseHTMLProcessor.feed rewrites these first, on the whole text
_NOT_A_DECLARATION = re.compile(r"<!((?!DOCTYPE|--|\[))", re.IGNORECASE)
_EMPTY_ELEMENT = re.compile(r"<([^<>\s]+?)\s*/>")
_VOID = _BaseHTMLProcessor.elements_no_end_tag
_VOID_NAMES = "|".join(sorted(_VOID))
_ENTITY_NAMES = "|".join(sorted([*name2codepoint, "apos"], key=len, reverse=True))
_SPACE = "[ \t\n\r]"
_ATTRIBUTE_NAME = "[a-zA-Z_][-:.a-zA-Z_0-9]*"
# what feedparser writes back as it is: text, bare tags, comments, known entities
_VERBATIM = (
    r"[^<&]+"
    rf"|<(?!(?:{_VOID_NAMES})>)[a-z][a-z0-9]*>"
    rf"|</(?!(?:{_VOID_NAMES})>)[a-z][a-z0-9]*>"
    rf"|<(?:{_VOID_NAMES}) />"
    r"|<!--(?:[^-<]|-(?!-))*-->"
    rf"|&(?:{_ENTITY_NAMES});"
)
# a run of those, then one token to rewrite, something unusual, or the end
_TOKEN = re.compile(
    rf"((?:{_VERBATIM})*+)(?:"
    rf"<([a-z][a-z0-9]*)(?=[ \t\n\r>])"
    rf"((?:{_SPACE}+{_ATTRIBUTE_NAME}(?:=\"[^\"<>]*\"|='[^'<>]*')?)*){_SPACE}*/?>"
    rf"|</([a-z][a-z0-9]*){_SPACE}*>"
    r"|&#([0-9]{1,9}|[xX][0-9a-fA-F]{1,8});"  # (longer: int() may refuse, leave it to feedparser)
    r"|&([a-zA-Z][a-zA-Z0-9]*);"
    r"|([<&])"
    r"|\Z)"
)
_ATTRIBUTE = re.compile(rf"{_SPACE}+({_ATTRIBUTE_NAME})(?:(=)(?:\"([^\"]*)\"|'([^']*)'))?")
_DECIMAL_REFERENCE = re.compile(r"&#([0-9]+);?")


def _resolve_uris(html: str, base: str) -> str | None:
    """`resolve_relative_uris(html, base, ...)` for plain HTML, else None."""
    data = _NOT_A_DECLARATION.sub(r"&lt;!\1", html)
    data = _EMPTY_ELEMENT.sub(_empty_element, data)
    data = data.replace("&#39;", "'").replace("&#34;", '"')
    try:
        return _TOKEN.sub(lambda match: _rewrite(match, base), data)
    except _Unusual:
        return None


def _empty_element(match: re.Match[str]) -> str:
    tag = match.group(1)
    return f"<{tag} />" if tag in _VOID else f"<{tag}></{tag}>"


def _rewrite(match: re.Match[str], base: str) -> str:
    """The verbatim run, then what feedparser's handler writes for the token after it."""
    verbatim, start, attributes, end, number, entity, unusual = match.groups()
    if unusual is not None:
        raise _Unusual
    if start is not None:
        return verbatim + _start_tag(start, attributes, base)
    if end is not None:
        return verbatim + ("" if end in _VOID else f"</{end}>")
    if number is not None:
        return verbatim + _character_reference(number.lower())
    if entity is not None:
        known = entity in name2codepoint or entity == "apos"
        return verbatim + (f"&{entity};" if known else f"&amp;{entity}")
    return str(verbatim)


@lru_cache(maxsize=4096)  # the same few tags recur in every entry of a feed
def _start_tag(tag: str, attributes: str, base: str) -> str:
    """RelativeURIResolver.unknown_starttag after SGMLParser.parse_starttag."""
    pairs = [
        (name.lower(), _attribute_value(name, equals, double, single))
        for name, equals, double, single in _ATTRIBUTE.findall(attributes)
    ]
    written = ""
    for key, value in _BaseHTMLProcessor.normalize_attrs(pairs):
        if (tag, key) in RelativeURIResolver.relative_uris:
            value = make_safe_absolute_uri(base, value.strip()) or value
        value = value.replace(">", "&gt;").replace("<", "&lt;").replace('"', "&quot;")
        written += f' {key}="{_BaseHTMLProcessor.bare_ampersand.sub("&amp;", value)}"'
    return f"<{tag}{written} />" if tag in _VOID else f"<{tag}{written}>"


def _attribute_value(name: str, equals: str, double: str, single: str) -> str:
    """SGMLParser's value: a bare attribute's own name; else the quoted text with a `;` added to
    decimal references (its convert_charref)."""
    return _DECIMAL_REFERENCE.sub(r"&#\1;", double + single) if equals else name


def _character_reference(ref: str) -> str:
    """_BaseHTMLProcessor.handle_charref: a windows-1252 number becomes its character's."""
    value = int(ref[1:], 16) if ref.startswith("x") else int(ref)
    return f"&#{hex(ord(_cp1252[value]))[1:]};" if value in _cp1252 else f"&#{ref};"
