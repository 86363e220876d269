"""A strict tokenizer for plain, well-formed HTML fragments: the fast path around bs4.

Most bodies (feed content, clean articles) are balanced HTML with quoted attributes and ordinary
entities. For such a fragment bs4 (html.parser) and nh3 (html5ever) read the same sequence of
tags and text, so bs4 can be skipped when nothing in it needs rewriting. `tokens` returns that
sequence, or None as soon as the fragment is anything else (comments, raw-text elements such as
`<script>`, unbalanced or unknown tags, `/>` on a non-void element, unquoted or duplicate
attributes, a bare `&`, `<` or `>`, unusual character references): the caller then takes the
slow, general path. Only the answer "plain" must be exact; a None costs speed, never correctness.
`is_plain` gives the same answer without building the tokens, for callers that need only that.

`tokens(html, furniture=True)` also accepts what eastmoney's page furniture needs: simple
comments, `<center>`, and the bare `&` of a query string in attribute values (`?a=1&b=2`) where
both parsers keep it as it is. normalise removes the furniture itself on a `tree` of such tokens
(as bs4 would, step by step); `write` writes the tree back with the tags as bs4 writes them
(attributes sorted, `class` as single-spaced words) and the text as it came.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.entities import html5, name2codepoint

__all__ = [
    "Comment",
    "Element",
    "EndTag",
    "Node",
    "StartTag",
    "Token",
    "attributes_sorted",
    "decode_text",
    "elements",
    "is_plain",
    "serialise",
    "text_of",
    "tokens",
    "tree",
    "write",
    "written_as_bs4",
]

# tags whose content both parsers tokenize as ordinary markup (no raw text, no foreign content)
# fmt: off
_NORMAL_TAGS = frozenset({
    "p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup", "a", "img", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "code", "hr", "figure",
    "figcaption", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "div", "span",
    "section", "article", "small", "font", "del", "ins", "dl", "dt", "dd", "cite", "q", "abbr",
    "mark", "wbr",
})
# fmt: on
_VOID = frozenset({"br", "img", "hr", "wbr"})
_SPACE = "[ \t\n\f]"
_NAME = "[a-z][a-z0-9]*"
_ATTRIBUTES = rf"(?:{_SPACE}+[a-z][a-z0-9_.:-]*(?:=\"(?:[^\"<>&]|&amp;)*\")?)*"
_START = re.compile(rf"<({_NAME})({_ATTRIBUTES}){_SPACE}*(/?)>")
# furniture mode also takes the bare `&` of a query string (`?a=1&b=2`, see _query_ok)
_QUERY_AMPERSAND = r"&(?=[a-zA-Z][a-zA-Z0-9_]*=)"
_LOOSE_VALUE = rf"(?:[^\"<>&]|&amp;|{_QUERY_AMPERSAND})*"
_LOOSE_START = re.compile(
    rf"<({_NAME})((?:{_SPACE}+[a-z][a-z0-9_.:-]*(?:=\"{_LOOSE_VALUE}\")?)*){_SPACE}*(/?)>"
)
_ATTRIBUTE = re.compile(rf"{_SPACE}+([a-z][a-z0-9_.:-]*)(?:=\"({_LOOSE_VALUE})\")?")
_QUERY_NAME = re.compile(r"&([a-zA-Z][a-zA-Z0-9_]*)=")
# names that html.parser decodes without `;` (`&copy=` -> "©=", where html5ever keeps "&copy=")
_LEGACY_NAMES = frozenset(name for name in html5 if not name.endswith(";"))
_END = re.compile(rf"</({_NAME}){_SPACE}*>")
_TEXT = re.compile(r"(?:[^<>&]+|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)+")
# the language of `tokens` in one pattern (text as runs, not a character per step); no groups:
# a group inside `*+` breaks Python 3.11's re
_TOKENS = re.compile(
    r"(?:[^<>&]+|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});"
    rf"|<{_NAME}{_ATTRIBUTES}{_SPACE}*/?>|</{_NAME}{_SPACE}*>)*+"
)
# In a fragment that matches _TOKENS every `<` starts a tag, and no attribute value holds a `>`:
_NORMAL_NAMES = "|".join(sorted(_NORMAL_TAGS))
_VOID_NAMES = "|".join(sorted(_VOID))
_OTHER_START = re.compile(rf"<(?!(?:{_NORMAL_NAMES})[ \t\n\f/>])[a-z]")
_CLOSED_NON_VOID = re.compile(rf"<(?!(?:{_VOID_NAMES})[ \t\n\f/>])[a-z][^>]*/>")
# the attributes of each tag with two or more
_ATTRIBUTES_OF = re.compile(rf"<{_NAME}({_SPACE}+[^>=]*(?:=\"[^\"]*\")?{_SPACE}+[^>]*)>")
_TAG_NAME = re.compile(r"<(/?[a-z][a-z0-9]*)")
# in the tag names written ",p,a,/a,br,/p,"
_VOID_NAME = re.compile(rf",(?:{_VOID_NAMES})(?=,)")
_INNERMOST_PAIR = re.compile(r",([a-z][a-z0-9]*),/\1(?=,)")
# a comment that every parser ends at the same `-->`: no `<`, `>` or `--` inside, no `-` last
_COMMENT = re.compile(r"<!--([^<>-]*(?:-[^<>-]+)*)-->")
_FURNITURE_TAGS = _NORMAL_TAGS | {"center"}
_REFERENCE = re.compile(r"&(?:([a-zA-Z][a-zA-Z0-9]*)|#([0-9]+)|#[xX]([0-9a-fA-F]+));")


@dataclass(frozen=True)
class StartTag:
    name: str
    attrs: dict[str, str]  # values decoded (`&amp;` -> `&`); "" for a bare attribute


@dataclass(frozen=True)
class EndTag:
    name: str


@dataclass(frozen=True)
class Comment:
    text: str  # as written between `<!--` and `-->`


Token = str | StartTag | EndTag | Comment  # text (raw, references not yet decoded), or markup


def tokens(html: str, *, max_depth: int = 256, furniture: bool = False) -> list[Token] | None:
    """The fragment as tokens when it is plain, well-formed HTML (see the module doc), else None.
    `furniture` also accepts comments and `<center>`."""
    known, start = (_FURNITURE_TAGS, _LOOSE_START) if furniture else (_NORMAL_TAGS, _START)
    found: list[Token] = []
    open_tags: list[str] = []
    position, end = 0, len(html)
    while position < end:
        if html[position] != "<":
            match = _TEXT.match(html, position)
            if match is None or not _references_ok(match.group()):
                return None
            found.append(match.group())
        elif match := start.match(html, position):
            name, attributes, closed = match.groups()
            tag = _start_tag(name, attributes) if name in known else None
            if tag is None or (closed and name not in _VOID):
                return None
            found.append(tag)
            if name not in _VOID:
                open_tags.append(name)
                if len(open_tags) > max_depth:
                    return None
        elif match := _END.match(html, position):
            name = match.group(1)
            if not open_tags or open_tags.pop() != name:
                return None
            found.append(EndTag(name))
        elif furniture and (match := _COMMENT.match(html, position)):
            found.append(Comment(match.group(1)))
        else:
            return None
        position = match.end()
    return None if open_tags else found


def is_plain(html: str, *, max_depth: int = 256) -> bool:
    """`tokens(html, max_depth=max_depth) is not None`, without building the tokens: the grammar,
    references and tag names are checked by patterns, then the nesting on the tag names alone."""
    return (
        _TOKENS.fullmatch(html) is not None
        and _references_ok(html)
        and _OTHER_START.search(html) is None
        and _CLOSED_NON_VOID.search(html) is None
        and not any(_repeats_attribute(attributes) for attributes in _ATTRIBUTES_OF.findall(html))
        and _nested(html, max_depth)
    )


def _repeats_attribute(attributes: str) -> bool:
    names = [name for name, _ in _ATTRIBUTE.findall(attributes)]
    return len(names) != len(set(names))


def _nested(html: str, max_depth: int) -> bool:
    """Whether every end tag closes the innermost open element, at most `max_depth` deep. Each
    pass removes the innermost start and end pairs from the names: one level of nesting."""
    found = _TAG_NAME.findall(html)
    names = _VOID_NAME.sub("", f",{','.join(found)},") if found else ","
    for _ in range(max_depth):
        if names == ",":
            return True
        names, removed = _INNERMOST_PAIR.subn("", names)
        if not removed:
            return False
    return names == ","


def serialise(found: list[Token]) -> str:
    """Tokens back to HTML with every tag's attributes sorted by name, as bs4 writes them."""
    parts: list[str] = []
    for token in found:
        if isinstance(token, str):
            parts.append(token)
        elif isinstance(token, EndTag):
            parts.append(f"</{token.name}>")
        elif isinstance(token, Comment):
            parts.append(f"<!--{token.text}-->")
        else:
            parts.append(_start_tag_text(token.name, token.attrs))
    return "".join(parts)


def _start_tag_text(name: str, attrs: dict[str, str]) -> str:
    """A start tag as bs4 writes it: attributes sorted, `class` as its words joined by a space."""
    written = "".join(
        f' {attribute}="{_attribute_value(attribute, value)}"'
        for attribute, value in sorted(attrs.items())
    )
    return f"<{name}{written}>"


def _attribute_value(attribute: str, value: str) -> str:
    if attribute == "class":  # bs4 keeps class as a list of words
        value = " ".join(value.split())
    return value.replace("&", "&amp;")


def written_as_bs4(found: list[Token]) -> bool:
    """Would bs4 write every tag as it is written here? (Then `serialise` need not run.)"""
    return attributes_sorted(found) and all(
        token.attrs["class"] == " ".join(token.attrs["class"].split())
        for token in found
        if isinstance(token, StartTag) and "class" in token.attrs
    )


@dataclass(eq=False)  # compared by identity, as bs4's elements are when removed or unwrapped
class Element:
    name: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Node] = field(default_factory=list)


Node = Element | str | Comment  # text raw, as in Token


def tree(found: list[Token]) -> Element:
    """The tokens (balanced, as `tokens` gives them) as a tree under a nameless root element.
    Text tokens stay separate nodes, as bs4's strings do when what lay between them goes."""
    root = current = Element("", {})
    for token in found:
        if isinstance(token, StartTag):
            element = Element(token.name, dict(token.attrs), current)
            current.children.append(element)
            if token.name not in _VOID:
                current = element
        elif isinstance(token, EndTag):
            current = current.parent or root
        else:
            current.children.append(token)
    return root


def elements(root: Element) -> Iterator[Element]:
    """`root` and the elements under it, in document order."""
    stack = [root]
    while stack:
        element = stack.pop()
        yield element
        stack.extend(reversed([child for child in element.children if isinstance(child, Element)]))


def text_of(node: Node) -> str:
    """The text of a node, references decoded and comments left out (as bs4's get_text)."""
    if isinstance(node, str):
        return decode_text(node)
    if isinstance(node, Comment):
        return ""
    return "".join(text_of(child) for child in node.children)


def write(root: Element) -> str:
    """The content of `root` as HTML, tags written as bs4 writes them (see `serialise`)."""
    parts: list[str] = []
    _write_children(root, parts)
    return "".join(parts)


def _write_children(element: Element, parts: list[str]) -> None:
    for child in element.children:
        if isinstance(child, str):
            parts.append(child)
        elif isinstance(child, Comment):
            parts.append(f"<!--{child.text}-->")
        else:
            parts.append(_start_tag_text(child.name, child.attrs))
            if child.name not in _VOID:
                _write_children(child, parts)
                parts.append(f"</{child.name}>")


def attributes_sorted(found: list[Token]) -> bool:
    return all(
        list(token.attrs) == sorted(token.attrs)
        for token in found
        if isinstance(token, StartTag) and len(token.attrs) > 1
    )


def decode_text(text: str) -> str:
    """A text token with its character references decoded (as both parsers decode them)."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(_decode_reference, text)


def _start_tag(name: str, attributes: str) -> StartTag | None:
    attrs: dict[str, str] = {}
    for attribute, value in _ATTRIBUTE.findall(attributes):
        if attribute in attrs:
            return None  # bs4 keeps the last of duplicates, html5ever the first
        if "&" in value and not _query_ok(value):
            return None
        attrs[attribute] = value.replace("&amp;", "&")
    return StartTag(name, attrs)


def _query_ok(value: str) -> bool:
    """Does every parser read each bare `&name=` in this value as it is? Not when a prefix of
    the name is a legacy entity name (then html.parser decodes it, html5ever does not)."""
    for match in _QUERY_NAME.finditer(value):
        name = match.group(1)
        if any(name[:end] in _LEGACY_NAMES for end in range(2, len(name) + 1)):
            return False
    return True


def _references_ok(text: str) -> bool:
    if "&" not in text:
        return True
    for match in _REFERENCE.finditer(text):
        name, decimal, hexadecimal = match.groups()
        if name is not None:
            if name not in name2codepoint:  # the HTML 4 names: one code point in every table
                return False
        elif not _plain_code_point(int(decimal or hexadecimal, 10 if decimal else 16)):
            return False
    return True


def _plain_code_point(code: int) -> bool:
    """Decoded alike everywhere: not a control, C1 (read as windows-1252 by some), surrogate or
    non-character."""
    return (
        0x20 <= code < 0x7F
        or 0xA0 <= code < 0xD800
        or 0xE000 <= code < 0xFDD0
        or 0xFDF0 <= code < 0xFFFE
        or (0x10000 <= code <= 0x10FFFF and code & 0xFFFE != 0xFFFE)
    )


def _decode_reference(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if name is not None:
        return chr(name2codepoint[name])
    return chr(int(decimal or hexadecimal, 10 if decimal else 16))
