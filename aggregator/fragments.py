"""A strict tokenizer for plain, well-formed HTML fragments: the fast path around bs4.

Most bodies (feed content, clean articles) are balanced HTML with quoted attributes and ordinary
entities. For such a fragment bs4 (html.parser) and nh3 (html5ever) read the same sequence of
tags and text, so bs4 can be skipped when nothing in it needs rewriting. `tokens` returns that
sequence, or None as soon as the fragment is anything else (comments, raw-text elements such as
`<script>`, unbalanced or unknown tags, `/>` on a non-void element, unquoted or duplicate
attributes, a bare `&`, `<` or `>`, unusual character references): the caller then takes the
slow, general path. Only the answer "plain" must be exact; a None costs speed, never correctness.
`is_plain` gives the same answer without building the tokens, for callers that need only that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.entities import name2codepoint

__all__ = [
    "EndTag",
    "StartTag",
    "Token",
    "attributes_sorted",
    "decode_text",
    "is_plain",
    "serialise",
    "tokens",
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
_ATTRIBUTE = re.compile(rf"{_SPACE}+([a-z][a-z0-9_.:-]*)(?:=\"((?:[^\"<>&]|&amp;)*)\")?")
_END = re.compile(rf"</({_NAME}){_SPACE}*>")
_TEXT = re.compile(r"(?:[^<>&]|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)+")
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
_REFERENCE = re.compile(r"&(?:([a-zA-Z][a-zA-Z0-9]*)|#([0-9]+)|#[xX]([0-9a-fA-F]+));")


@dataclass(frozen=True)
class StartTag:
    name: str
    attrs: dict[str, str]  # values decoded (`&amp;` -> `&`); "" for a bare attribute


@dataclass(frozen=True)
class EndTag:
    name: str


Token = str | StartTag | EndTag  # text (raw, references not yet decoded), or a tag


def tokens(html: str, *, max_depth: int = 256) -> list[Token] | None:
    """The fragment as tokens when it is plain, well-formed HTML (see the module doc), else None."""
    found: list[Token] = []
    open_tags: list[str] = []
    position, end = 0, len(html)
    while position < end:
        if html[position] != "<":
            match = _TEXT.match(html, position)
            if match is None or not _references_ok(match.group()):
                return None
            found.append(match.group())
        elif match := _START.match(html, position):
            name, attributes, closed = match.groups()
            tag = _start_tag(name, attributes)
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
        else:
            attrs = "".join(
                f' {name}="{value.replace("&", "&amp;")}"'
                for name, value in sorted(token.attrs.items())
            )
            parts.append(f"<{token.name}{attrs}>")
    return "".join(parts)


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
    if name not in _NORMAL_TAGS:
        return None
    attrs: dict[str, str] = {}
    for attribute, value in _ATTRIBUTE.findall(attributes):
        if attribute in attrs:
            return None  # bs4 keeps the last of duplicates, html5ever the first
        attrs[attribute] = value.replace("&amp;", "&")
    return StartTag(name, attrs)


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
