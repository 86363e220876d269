"""An article page's HTML -> its title, date text, body HTML and plain text. Pure: no I/O.

Two ways to find the body:

- per-source CSS selectors (`Selectors`, matched with bs4/soupsieve) when the operator gave them;
- otherwise automatic main-content extraction with trafilatura (chosen over readability-lxml on a
  labelled set of news pages: see bench/README.md).

Title and date come from the page's metadata either way (Open Graph / article meta tags, JSON-LD,
`<time>`, then the first date written after the headline), so switching the body method never moves
a post. The returned HTML is raw (absolute links, lazy images resolved); `normalise.clean_html`
sanitises it later like any other source's body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup
from bs4.element import Comment, Tag

from aggregator import fragments
from aggregator.errors import ExtractError
from aggregator.models import Selectors

__all__ = ["Extracted", "Selectors", "check_selector", "extract_article"]

MIN_TEXT_CHARS: Final = 20  # less than this is a stub or an error page, not an article
_NOISE_TAGS = ("script", "style", "noscript", "template", "iframe", "form", "button")
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url")
_TITLE_META = (
    ("property", "og:title"),
    ("name", "og:title"),
    ("name", "twitter:title"),
    ("name", "title"),
    ("name", "headline"),
)
_DATE_META = (
    ("property", "article:published_time"),
    ("name", "article:published_time"),
    ("itemprop", "datePublished"),
    ("name", "pubdate"),
    ("name", "publishdate"),
    ("name", "PubDate"),
    ("name", "publish_time"),
    ("name", "date"),
    ("name", "dc.date"),
    ("name", "DC.date.issued"),
    ("property", "og:release_date"),
)
# A date written in the page: 2021-12-16 09:30, 2021/12/16, 2021年12月16日 09:30(:00)
_WRITTEN_DATE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}\s*(?:[-/.]|年)\s*\d{1,2}\s*(?:[-/.]|月)\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?"
)
_DATE_SEARCH_CHARS = 1500  # how far after the headline a written date is looked for
# "2021-12-16 09:30 来源：新华社 作者：…" -> 新华社
_MEDIA_LABEL = re.compile(r"(?:来源|來源|source)\s*[:：]\s*([^\s:：|｜]+)", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n+")
# what fragments.tokens refuses and html_text can do without: comments without `--` inside,
# `<img>` tags with well-formed attributes (no text; URLs often hold a bare `&`), and `<center>`
# tags (no block: their text runs on)
_TEXT_NEUTRAL = re.compile(
    r"<!--(?!-?>)(?:[^-]|-(?!-))*-->"
    r"|<img(?:\s+[a-z][a-z0-9_.:-]*(?:=(?:\"[^\"<]*\"|'[^'<]*'|[^\s\"'<>=`]+))?)*\s*/?>"
    r"|</?center\b"
)
# elements that start and end a line of html_text
_TEXT_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "blockquote", "figure"}
)


# in a plain fragment (fragments.is_plain): the tags that break the text's line, and any tag
_BREAKING_NAMES = "|".join(sorted(_TEXT_BLOCKS | {"br"}))
_BREAKING_TAG = re.compile(rf"</?(?:{_BREAKING_NAMES})(?=[ \t\n\f/>])[^>]*>")
_ANY_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Extracted:
    """What an article page holds."""

    title: str
    date_text: str | None  # as written in the page; parsed later by dates.parse_date
    html: str  # raw body HTML (absolute URLs), not yet sanitised
    text: str  # the body's plain text, one paragraph per line
    media: str | None = None  # from the `media` selector only


def check_selector(selector: str) -> str | None:
    """None when `selector` is valid CSS for soupsieve, else a one-line reason (config uses it)."""
    try:
        soupsieve.compile(selector)
    except (soupsieve.SelectorSyntaxError, ValueError) as exc:
        return " ".join(str(exc).split()[:12]) or "invalid selector"
    return None


def extract_article(html: str, url: str, selectors: Selectors | None = None) -> Extracted:
    """Extract the article of a decoded page fetched from `url`; raises ExtractError."""
    selectors = selectors or Selectors()
    soup = BeautifulSoup(html, "lxml")
    if soup.find() is None:
        raise ExtractError(f"{url}: not an HTML page")
    for selector in selectors.remove:
        for element in _select(soup, selector, "remove"):
            element.decompose()
    _resolve_lazy_images(soup)

    title = _selected_text(soup, selectors.title, "title") or page_title(soup)
    if not title:
        raise ExtractError(f"{url}: no title found (set a title selector)")
    date_text = _selected_date(soup, selectors.date) or page_date(soup)
    media = _selected_text(soup, selectors.media, "media")
    if media and (labelled := _MEDIA_LABEL.search(media)):
        media = labelled.group(1)

    if selectors.body:
        parts = _select(soup, selectors.body, "body")
        if not parts:
            raise ExtractError(f"{url}: body selector {selectors.body!r} matched nothing")
        body = "\n".join(_inner_html(_without_noise(part)) for part in parts)
    else:
        body = drop_repeated_title(auto_body(str(soup), url), title)
    body = absolute_urls(body, url)
    text = html_text(body)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractError(f"{url}: no article text found ({len(text)} characters)")
    return Extracted(title=title, date_text=date_text, html=body, text=text, media=media)


def auto_body(html: str, url: str) -> str:
    """The main content of a page as simple HTML (p, h2-h4, lists, tables, img, a), via trafilatura."""
    import trafilatura  # 0.2 s to import: only sources without a body selector pay for it

    try:
        result = trafilatura.extract(
            html,
            url=url,
            output_format="html",
            favor_precision=True,  # less boilerplate at no recall cost on the bench pages
            include_comments=False,
            include_tables=True,
            include_images=True,
            include_links=True,
            include_formatting=True,
            with_metadata=False,
        )
    # a third-party parser on hostile input: any failure is this page's problem, not the run's
    except Exception as exc:
        raise ExtractError(f"{url}: automatic extraction failed ({type(exc).__name__})") from None
    if not result:
        raise ExtractError(f"{url}: no article text found")
    inner = BeautifulSoup(result, "lxml").body
    return _inner_html(inner) if inner is not None else ""


def drop_repeated_title(body: str, title: str) -> str:
    """trafilatura keeps the headline as the body's first heading; the post has it as its title."""
    fragment = BeautifulSoup(body, "html.parser")
    first = fragment.find(True)
    if first is not None and first.name in ("h1", "h2") and _squash(first.get_text(" ")) == title:
        first.decompose()
        return fragment.decode().strip()
    return body


# --- metadata ----------------------------------------------------------------------------------


def page_title(soup: BeautifulSoup) -> str:
    """og:title and similar meta tags, else the first <h1>, else <title>."""
    for attribute, name in _TITLE_META:
        if value := _meta(soup, attribute, name):
            return value
    h1 = soup.find("h1")
    if h1 is not None and (text := _squash(h1.get_text(" "))):
        return text
    return _squash(soup.title.get_text(" ")) if soup.title is not None else ""


def page_date(soup: BeautifulSoup) -> str | None:
    """The publication date as the page writes it, from the most to the least reliable place."""
    for attribute, name in _DATE_META:
        if value := _meta(soup, attribute, name):
            return value
    if linked := _json_ld_date(soup):
        return linked
    for time in soup.find_all("time"):
        if value := _squash(str(time.get("datetime") or "")) or _squash(time.get_text(" ")):
            return value
    return _written_date(soup)


def _meta(soup: BeautifulSoup, attribute: str, name: str) -> str:
    tag = soup.find("meta", attrs={attribute: name})
    return _squash(str(tag.get("content") or "")) if isinstance(tag, Tag) else ""


def _json_ld_date(soup: BeautifulSoup) -> str | None:
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(script.get_text())
        except (ValueError, RecursionError):
            continue
        for node in _json_nodes(data):
            value = node.get("datePublished") or node.get("dateCreated")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _json_nodes(data: object, depth: int = 0) -> Iterator[dict[str, object]]:
    """Every object in a JSON-LD document (top level, lists and @graph), a few levels deep."""
    if depth > 4:
        return
    if isinstance(data, dict):
        yield data
        yield from _json_nodes(data.get("@graph"), depth + 1)
    elif isinstance(data, list):
        for entry in data:
            yield from _json_nodes(entry, depth + 1)


def _written_date(soup: BeautifulSoup) -> str | None:
    """The first date written after the headline (else anywhere in the page text).

    Starting at the <h1> skips the "today is ..." line many Chinese portals put in their header.
    """
    h1 = soup.find("h1")
    if h1 is not None:
        after = ""
        for piece in h1.find_all_next(string=True):
            if piece.parent is not None and piece.parent.name in ("script", "style"):
                continue
            after += str(piece) + " "
            if len(after) > _DATE_SEARCH_CHARS:
                break
        if match := _WRITTEN_DATE.search(after):
            return _squash(match.group(0))
    body = soup.body or soup
    match = _WRITTEN_DATE.search(body.get_text(" "))
    return _squash(match.group(0)) if match else None


# --- selectors ---------------------------------------------------------------------------------


def _select(soup: BeautifulSoup, selector: str, role: str) -> list[Tag]:
    try:
        return list(soup.select(selector))
    except (soupsieve.SelectorSyntaxError, ValueError, NotImplementedError) as exc:
        raise ExtractError(f"{role} selector {selector!r} is invalid ({exc})") from None


def _selected_text(soup: BeautifulSoup, selector: str | None, role: str) -> str | None:
    if not selector:
        return None
    found = _select(soup, selector, role)
    return (_squash(found[0].get_text(" ")) or None) if found else None


def _selected_date(soup: BeautifulSoup, selector: str | None) -> str | None:
    """A date element's machine-readable attribute when it has one, else its text."""
    if not selector:
        return None
    found = _select(soup, selector, "date")
    if not found:
        return None
    element = found[0]
    for attribute in ("datetime", "content", "data-time", "data-date"):
        if value := _squash(str(element.get(attribute) or "")):
            return value
    text = _squash(element.get_text(" "))
    # "2021-12-16 09:30 来源：新华社": keep the date part when one is written in it
    match = _WRITTEN_DATE.search(text)
    return _squash(match.group(0)) if match else (text or None)


# --- HTML helpers ------------------------------------------------------------------------------


def _resolve_lazy_images(soup: BeautifulSoup) -> None:
    """`<img data-src=...>` (lazy loading) -> a real src, or the article loses its pictures."""
    for img in soup.find_all("img"):
        src = str(img.get("src") or "")
        if src and not src.startswith("data:") and "placeholder" not in src and "blank" not in src:
            continue
        for attribute in _LAZY_SRC:
            if value := str(img.get(attribute) or "").strip():
                img["src"] = value
                break


def _without_noise(element: Tag) -> Tag:
    for noise in element.find_all(_NOISE_TAGS):
        noise.decompose()
    return element


def _inner_html(element: Tag) -> str:
    # decode_contents keeps comments as comments (str() of a Comment is its bare text), and
    # normalise needs eastmoney's EM_StockImg markers to drop live charts
    return element.decode_contents().strip()


def absolute_urls(html: str, base: str) -> str:
    """Make every `href` and `src` in a fragment absolute against `base`."""
    if "href" not in html and "src" not in html:
        return html
    soup = BeautifulSoup(html, "html.parser")
    for attribute in ("href", "src"):
        for element in soup.find_all(True, attrs={attribute: True}):
            value = str(element.get(attribute) or "").strip()
            if value and not value.startswith(("#", "data:", "mailto:")):
                try:
                    element[attribute] = urljoin(base, value)
                except ValueError:  # a malformed URL in the page: drop the link, keep the text
                    del element[attribute]
    return soup.decode()


def html_text(html: str) -> str:
    """Plain text of a body fragment: one block per line, whitespace squashed."""
    neutral = _TEXT_NEUTRAL.sub(_neutral, html)
    text = _plain_text(neutral) if fragments.is_plain(neutral) else _slow_text(html)
    lines = (_squash(line) for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def _plain_text(html: str) -> str:
    """What `_slow_text` gives for a plain fragment (bs4 is ~20x slower on a long body): the text
    with a line break for each block or `<br>` tag. Every `<` starts a tag in such a fragment,
    and every `&` a whole reference, so tags can go and references be decoded in one pass each."""
    return fragments.decode_text(_ANY_TAG.sub("", _BREAKING_TAG.sub("\n", html)))


def _neutral(match: re.Match[str]) -> str:
    """Comments and images go; `<center>` reads as `<span>`."""
    text = match.group()
    return text.replace("center", "span", 1) if text[1:].startswith(("c", "/c")) else ""


def _slow_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for node in list(soup.descendants):
        if isinstance(node, Comment):
            node.extract()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(list(_TEXT_BLOCKS)):
        block.insert_before("\n")
        block.insert_after("\n")
    return soup.get_text()


def _squash(text: str) -> str:
    return " ".join(text.split())
