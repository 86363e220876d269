"""eastmoney page furniture: what it is, and its removal on fragments' tokens without bs4.

Furniture: stock auto-links, live K-line charts (and the EM_StockImg comments around them), the
hidden first paragraph, `<center>` wrappers, full-width indents. The constants and the tests for
it below are shared with soupclean, which removes it with bs4 from HTML that is not well-formed.
Here each step mirrors its namesake in soupclean, in the same order, on a tree of the same nodes
(separate strings included), so nh3 reads what soupclean would give: the same tags and
attributes, the text with its character references not yet decoded (tests/test_furniture.py
holds the two to each other). Pure: no I/O.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from aggregator import fragments

__all__ = ["without_furniture"]

_KLINE_HOST = "webquoteklinepic.eastmoney.com"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_INDENT = "\u3000"  # full-width space: Chinese paragraphs start with two of them
_INDENT_AFTER_NEWLINE = re.compile("(?<=\n)([ \t]*)\u3000+")
_CHART_START, _CHART_END = "EM_StockImg_Start", "EM_StockImg_End"  # comments around a K-line
_CHART_WRAPPERS = frozenset({"a", "p", "center", "span", "div", "figure"})
_AUTOLINK_SPAN_ID = re.compile(r"(?:stock|quote|bk|bkquote)_|Info\.")
_AUTOLINK_CLASSES = frozenset({"keytip", "infokey", "em_stock_key_common", "EmImageRemark"})
# fmt: off
_BLOCK_TAGS = frozenset({
    "p", "div", "center", "table", "ul", "ol", "li", "blockquote", "pre", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "td", "th", "tr",
})
# fmt: on


def without_furniture(html: str, *, max_depth: int) -> str | None:
    """What `soupclean.without_furniture(html)` gives, up to how text and void tags are written,
    when `html` is plain, well-formed HTML (see fragments), furniture allowed. None otherwise:
    bs4 must clean it."""
    found = fragments.tokens(html, max_depth=max_depth, furniture=True)
    if found is None:
        return None
    needed = _steps_needed(found)
    if not needed:  # bs4 would only write the tags its way
        return html if fragments.written_as_bs4(found) else fragments.serialise(found)
    root = fragments.tree(found)
    for step in _STEPS:
        if step in needed:
            step(root)
    return fragments.write(root)


_Step = Callable[[fragments.Element], None]


def _steps_needed(found: list[fragments.Token]) -> set[_Step]:
    """The steps that would change something: each finds its furniture in the tokens as they
    are (no step changes what another looks for before it runs)."""
    needed: set[_Step] = set()
    for token in found:
        if isinstance(token, str):
            if _INDENT in token or ("&" in token and _INDENT in fragments.decode_text(token)):
                needed.add(_strip_indents)
        elif isinstance(token, fragments.Comment):
            if token.text:
                needed.add(_drop_comments)
            if token.text.strip() == _CHART_START:
                needed.add(_drop_chart_blocks)
        elif isinstance(token, fragments.StartTag):
            needed.update(_steps_for_tag(token.name, token.attrs))
    return needed


def _steps_for_tag(name: str, attrs: dict[str, str]) -> Iterator[_Step]:
    if name == "center":
        yield _centers_to_paragraphs
    elif name == "img" and _is_kline(attrs):
        yield _drop_kline_charts
    elif _is_autolink(name, attrs):
        yield _unwrap_autolinks
    if "style" in attrs and _HIDDEN_STYLE.search(attrs["style"]):
        yield _drop_hidden


def _drop_chart_blocks(root: fragments.Element) -> None:
    for element in list(fragments.elements(root)):
        _drop_chart_block(element)


def _drop_kline_charts(root: fragments.Element) -> None:
    """Live K-line charts go, with the wrappers they leave empty (the stock name is in the text)."""
    for img in [e for e in fragments.elements(root) if e.name == "img" and _is_kline(e.attrs)]:
        _drop_with_empty_wrappers(img)


def _is_kline(attrs: dict[str, str]) -> bool:
    return _host(attrs.get("src")) == _KLINE_HOST


def _drop_chart_block(element: fragments.Element) -> None:
    """Drop what carries no text between a chart's start and end comments among the children
    (a start inside an open block changes nothing: its block lies within)."""
    children = element.children
    dropped: set[int] = set()
    start: int | None = None
    for index, child in enumerate(children):
        if not isinstance(child, fragments.Comment):
            continue
        marker = child.text.strip()
        if marker == _CHART_END and start is not None:
            dropped.update(i for i in range(start + 1, index) if _is_empty(children[i]))
            start = None
        elif marker == _CHART_START and start is None:
            start = index
    if dropped:
        _keep_children(element, [c for i, c in enumerate(children) if i not in dropped])


def _drop_with_empty_wrappers(element: fragments.Element) -> None:
    parent = element.parent
    _remove(element)
    while (
        parent is not None
        and parent.name in _CHART_WRAPPERS
        and _is_empty(parent)
        and not any(e.name == "img" for e in fragments.elements(parent))
    ):
        grandparent = parent.parent
        _remove(parent)
        parent = grandparent


def _drop_hidden(root: fragments.Element) -> None:
    for element in list(fragments.elements(root)):
        if element.parent is not None and _HIDDEN_STYLE.search(element.attrs.get("style", "")):
            _remove(element)


def _drop_comments(root: fragments.Element) -> None:
    """Drop comments, but `<!---->`: bs4's search skips the empty string (nh3 drops it later)."""
    for element in fragments.elements(root):
        if any(_is_comment(child) for child in element.children):
            kept = [child for child in element.children if not _is_comment(child)]
            _keep_children(element, kept)


def _is_comment(node: fragments.Node) -> bool:
    return isinstance(node, fragments.Comment) and node.text != ""


def _unwrap_autolinks(root: fragments.Element) -> None:
    for element in list(fragments.elements(root)):
        if _is_autolink(element.name, element.attrs):
            _unwrap(element)


def _is_autolink(name: str, attrs: dict[str, str]) -> bool:
    if name not in {"a", "span"}:
        return False
    return (
        not _AUTOLINK_CLASSES.isdisjoint(attrs.get("class", "").split())
        or (name == "span" and bool(_AUTOLINK_SPAN_ID.match(attrs.get("id", ""))))
        or (name == "a" and _is_quote_link(attrs.get("href")))
    )


def _centers_to_paragraphs(root: fragments.Element) -> None:
    for center in [element for element in fragments.elements(root) if element.name == "center"]:
        below = fragments.elements(center)
        next(below)  # the center itself
        if any(element.name in _BLOCK_TAGS for element in below) or _inside_p(center):
            _unwrap(center)  # a <p> inside a <p> would be split apart by the HTML5 parser
        else:
            center.name, center.attrs = "p", {}


def _inside_p(element: fragments.Element) -> bool:
    parent = element.parent
    while parent is not None and parent.name != "p":
        parent = parent.parent
    return parent is not None


def _strip_indents(root: fragments.Element) -> None:
    """Indents at paragraph and line starts go. Text with a reference in it is changed decoded
    and written escaped, as bs4 writes all text."""
    for element in list(fragments.elements(root)):
        for index, child in enumerate(element.children):
            if not isinstance(child, str):
                continue
            text = fragments.decode_text(child)
            if _INDENT not in text:
                continue
            new = _INDENT_AFTER_NEWLINE.sub(r"\1", text)
            if _starts_line(element, index):
                head = len(new) - len(new.lstrip(" \t\n"))
                new = new[:head] + new[head:].lstrip(_INDENT)
            if new != text:
                element.children[index] = html_lib.escape(new, quote=False)


def _starts_line(parent: fragments.Element, index: int) -> bool:
    """Is child `index` of `parent` the first visible thing on its line?"""
    while True:
        previous = index - 1
        while previous >= 0 and _is_empty(parent.children[previous], blank_only=True):
            previous -= 1
        if previous >= 0:
            node = parent.children[previous]
            return isinstance(node, fragments.Element) and (
                node.name == "br" or node.name in _BLOCK_TAGS
            )
        if parent.parent is None or parent.name in _BLOCK_TAGS:
            return True
        index = _index_in(parent.parent, parent)
        parent = parent.parent


def _is_empty(node: fragments.Node, *, blank_only: bool = False) -> bool:
    """No text but whitespace (bs4's `not get_text().strip()`); `blank_only`: and not a tag."""
    if blank_only and isinstance(node, fragments.Element):
        return False
    return not fragments.text_of(node).strip()


def _index_in(parent: fragments.Element, child: fragments.Element) -> int:
    return next(i for i, node in enumerate(parent.children) if node is child)


def _remove(element: fragments.Element) -> None:
    if element.parent is not None:
        element.parent.children.pop(_index_in(element.parent, element))
        element.parent = None


def _unwrap(element: fragments.Element) -> None:
    """Replace `element` by its children, as bs4's `unwrap` (the strings stay apart)."""
    parent = element.parent
    if parent is None:
        return
    index = _index_in(parent, element)
    parent.children[index : index + 1] = element.children
    for child in element.children:
        if isinstance(child, fragments.Element):
            child.parent = parent
    element.parent, element.children = None, []


def _keep_children(element: fragments.Element, kept: list[fragments.Node]) -> None:
    kept_ids = {id(child) for child in kept}
    for child in element.children:
        if isinstance(child, fragments.Element) and id(child) not in kept_ids:
            child.parent = None
    element.children = kept


# in soupclean's order: what an earlier step removes, a later one must not see
_STEPS: tuple[_Step, ...] = (
    _drop_chart_blocks,
    _drop_kline_charts,
    _drop_hidden,
    _drop_comments,
    _unwrap_autolinks,
    _centers_to_paragraphs,
    _strip_indents,
)


def _host(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None


def _is_quote_link(href: object) -> bool:
    if not isinstance(href, str):
        return False
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    return parts.hostname == "quote.eastmoney.com" and parts.path.startswith("/unify/")
