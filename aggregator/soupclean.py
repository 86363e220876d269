"""The bs4 half of normalise: eastmoney page furniture removed from a parsed HTML fragment.

normalise handles well-formed HTML without bs4, furniture included (furniture: on fragments'
tokens, with steps that mirror the ones here: change both together), and comes here only for the rest:
markup to repair, nesting deeper than MAX_NESTING, anything unusual, text of tag soup.
Kept apart so that bs4 (~0.15 s to import) is loaded only then; `build` never needs it.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import (
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
    Tag,
)

from .furniture import (
    _BLOCK_TAGS,
    _CHART_END,
    _CHART_START,
    _CHART_WRAPPERS,
    _HIDDEN_STYLE,
    _INDENT,
    _INDENT_AFTER_NEWLINE,
    _KLINE_HOST,
    _host,
    _is_autolink,
)
from .normalise import MAX_NESTING

__all__ = ["flattened", "parse_fragment", "text_of", "without_furniture"]

_ROOT = "aggregator-fragment"  # the wrapper every fragment is parsed in


def parse_fragment(html: str) -> BeautifulSoup:
    """Parse inside a wrapper element that preserves whitespace.

    bs4 otherwise shrinks whitespace-only text between tags (`</p>\n <p>` -> `</p>\n<p>`), and
    the body must survive unchanged. nh3 drops the wrapper tag later and keeps its content.
    """
    # (The wrapper also keeps bs4 from warning that a short string "looks like a URL".)
    return BeautifulSoup(
        f"<{_ROOT}>{html}</{_ROOT}>",
        "html.parser",
        preserve_whitespace_tags={_ROOT, "pre", "textarea"},
    )


def _flatten_deep_nesting(soup: BeautifulSoup) -> None:
    """Replace what lies deeper than MAX_NESTING levels by its text (iteratively: no recursion)."""
    at_limit: list[Tag] = []
    stack: list[tuple[Tag, int]] = [(soup, -1)]  # -1: the fragment wrapper does not count
    while stack:
        node, depth = stack.pop()
        for child in node.contents:
            if isinstance(child, Tag):
                if depth + 1 == MAX_NESTING:
                    if child.find(True) is not None:
                        at_limit.append(child)
                else:
                    stack.append((child, depth + 1))
    for tag in at_limit:
        tag.string = tag.get_text()


def _drop_stock_charts(soup: BeautifulSoup) -> None:
    """Drop live K-line charts: they change on every load and are hot-link protected.

    The stock name stays in the text; only the picture (and wrappers it leaves empty) goes.
    """
    for start in soup.find_all(
        string=lambda s: isinstance(s, Comment) and s.strip() == _CHART_START
    ):
        block: list[PageElement] = []
        node = start.next_sibling
        while node is not None and not (isinstance(node, Comment) and node.strip() == _CHART_END):
            block.append(node)
            node = node.next_sibling
        if node is not None:  # a complete block: drop what carries no text
            for element in block:
                if not element.get_text().strip():
                    element.extract()
    for img in soup.find_all("img"):
        if _host(img.get("src")) == _KLINE_HOST:
            _drop_with_empty_wrappers(img)


def _drop_with_empty_wrappers(element: Tag) -> None:
    parent = element.parent
    element.decompose()
    while (
        isinstance(parent, Tag)
        and parent.name in _CHART_WRAPPERS
        and not parent.get_text().strip()
        and parent.find("img") is None
    ):
        grandparent = parent.parent
        parent.decompose()
        parent = grandparent


def _drop_hidden(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(style=_HIDDEN_STYLE):
        if not tag.decomposed:
            tag.decompose()


def _drop_comments(soup: BeautifulSoup) -> None:
    kinds = (Comment, Declaration, Doctype, ProcessingInstruction)
    for node in soup.find_all(string=lambda s: isinstance(s, kinds)):
        node.extract()


def _unwrap_autolinks(soup: BeautifulSoup) -> None:
    """Stock/board/data auto-links become their text (they can split words: 培育壮<span>大智慧…)."""
    for tag in soup.find_all(["a", "span"]):
        # furniture's test, on the attributes as it reads them (bs4 splits `class` into words)
        attrs = {
            "class": " ".join(word for word in tag.get_attribute_list("class") if word),
            "id": str(tag.get("id", "")),
            "href": str(tag.get("href") or ""),
        }
        if _is_autolink(tag.name, attrs):
            tag.unwrap()


def _centers_to_paragraphs(soup: BeautifulSoup) -> None:
    for center in soup.find_all("center"):
        if center.find(list(_BLOCK_TAGS)) is not None or center.find_parent("p") is not None:
            center.unwrap()  # a <p> inside a <p> would be split apart by the HTML5 parser
        else:
            center.name = "p"
            center.attrs = {}


def _strip_indents(soup: BeautifulSoup) -> None:
    """Remove the `　　` paragraph indent at the start of paragraphs and lines."""
    for text in soup.find_all(string=lambda s: type(s) is NavigableString and _INDENT in s):
        new = _INDENT_AFTER_NEWLINE.sub(r"\1", str(text))
        if _starts_line(text):
            head = len(new) - len(new.lstrip(" \t\n"))
            new = new[:head] + new[head:].lstrip(_INDENT)
        if new != text:
            text.replace_with(NavigableString(new))


def _starts_line(node: PageElement) -> bool:
    """Is `node` the first visible thing on its line (paragraph start or after a <br>)?"""
    while True:
        previous = node.previous_sibling
        while previous is not None and _is_blank(previous):
            previous = previous.previous_sibling
        if previous is not None:
            return isinstance(previous, Tag) and (
                previous.name == "br" or previous.name in _BLOCK_TAGS
            )
        parent = node.parent
        if parent is None or parent.name == _ROOT or parent.name in _BLOCK_TAGS:
            return True
        node = parent


def _is_blank(node: PageElement) -> bool:
    return isinstance(node, NavigableString) and (isinstance(node, Comment) or not node.strip())


def text_of(html: str) -> str:
    """The text bs4 gets from `html` (tags dropped, entities decoded)."""
    return BeautifulSoup(html, "html.parser").get_text()


def without_furniture(html: str) -> str:
    """`html` with eastmoney's furniture removed (charts, hidden parts, comments, auto-links,
    `<center>`, indents) and nesting flattened, as bs4 writes it; nh3 sanitises it next."""
    soup = parse_fragment(html)
    _flatten_deep_nesting(soup)
    _drop_stock_charts(soup)
    _drop_hidden(soup)
    _drop_comments(soup)
    _unwrap_autolinks(soup)
    _centers_to_paragraphs(soup)
    _strip_indents(soup)
    return str(soup.decode())


def flattened(html: str) -> str:
    """`html` with what lies deeper than MAX_NESTING levels replaced by its text."""
    soup = parse_fragment(html)
    _flatten_deep_nesting(soup)
    return str(soup.decode())
