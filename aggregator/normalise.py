"""Raw article HTML and text fields -> what we publish: clean, sanitised, XML-safe.

Two steps for HTML. First eastmoney's page furniture is undone (stock auto-links, live K-line
charts, the hidden first paragraph, `<center>` wrappers, full-width indents): by furniture, on the
tokens of fragments, when the HTML is well-formed (the common case, ~0.2 ms), else by bs4 in
soupclean (imported only then, 1-2 ms). The two give nh3 the same HTML: furniture's steps mirror
soupclean's, and tests/test_furniture.py holds them to it. Then nh3 sanitises with an explicit
allowlist: nh3 is the security boundary, bs4 is not (its parser differs from a browser's, so only
nh3's HTML5 parse decides what survives). Everything here is pure: no I/O.

Dates live in `dates`, slugs in `slugs`; both are re-exported so callers import from here.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

import nh3

from aggregator import fragments, furniture, markdown
from aggregator.dates import parse_date
from aggregator.slugs import slugify

__all__ = [
    "MAX_HTML_CHARS",
    "MAX_LINK_CHARS",
    "MAX_NESTING",
    "clean_html",
    "digest_text",
    "inert_markup",
    "inert_text",
    "media_from_html",
    "parse_date",
    "plain_text",
    "render_body",
    "safe_link",
    "sanitise_html",
    "slugify",
    "strip_xml_illegal",
]

MAX_HTML_CHARS = 1024 * 1024  # nh3 (html5ever) slows down quadratically on hostile input
MAX_NESTING = 256  # deeper elements are flattened to their text before nh3 sees them
MAX_LINK_CHARS = 4096  # an article link longer than this is junk (or an attack), never published

# fmt: off
ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup", "a", "img", "blockquote",
    "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6", "pre", "code", "hr", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height", "title"}}
ALLOWED_CLASSES = {"p": {"em_media"}}  # the source line; media_from_html reads it back
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})  # data: is narrowed below
LINK_REL = "noopener noreferrer nofollow"
# Removed together with their content (everything else not allowed keeps its text).
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "template", "iframe", "object", "embed", "applet", "noscript", "noembed",
    "noframes", "svg", "math", "textarea", "select", "title", "head",
})
# fmt: on

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp)[;,]", re.IGNORECASE)
_URL_JUNK = re.compile("[\x00-\x20]+")  # browsers ignore these inside a scheme

_SOURCE_LINE = re.compile(r"[（(]?\s*文章来源\s*[：:]\s*(.*?)\s*[）)]?", re.DOTALL)

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_WHITESPACE = re.compile(r"\s+")

# A post body is Markdown with raw HTML that Jekyll runs through Liquid and kramdown, neither of
# which sanitises: `[x](javascript:...)` becomes a link, `{: onclick=...}` an attribute, `{% ... %}`
# a Liquid tag. As character references these are plain text to every HTML and Markdown reader.
_MARKDOWN_ACTIVE = str.maketrans({"[": "&#91;", "]": "&#93;", "{": "&#123;", "}": "&#125;"})
_MARKDOWN_CHARS = re.compile(r"[\[\]{}]")
_LINK_SAFE = ":/?#[]@!$&'()*+,;=%~-._"  # RFC 3986 characters kept as they are in a link line


def inert_markup(html: str) -> str:
    """Sanitised HTML -> the same HTML, with nothing Markdown or Liquid could turn into markup."""
    if not _MARKDOWN_CHARS.search(html):  # (translate is slow on long non-ASCII text)
        return html
    return html.translate(_MARKDOWN_ACTIVE)


def inert_text(text: str) -> str:
    """Plain text placed in a post body (digest, tag in the footer): one line, HTML- and
    Markdown-inert."""
    return html_lib.escape(_one_line(text), quote=False).translate(_MARKDOWN_ACTIVE)


def safe_link(url: str) -> str:
    """An absolute http(s) URL safe to write as `<url>` in Markdown, else "".

    Spaces, quotes, `<>`, braces and non-ASCII are percent-encoded, so the link can neither end
    the autolink early nor carry Liquid; other schemes (`javascript:`), relative URLs and links
    longer than MAX_LINK_CHARS are dropped.
    """
    url = url.strip()
    if len(url) > MAX_LINK_CHARS:
        return ""
    try:
        parts = urlsplit(url)  # (also drops TAB/LF/CR, as browsers do)
        hostname = parts.hostname
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not hostname:
        return ""
    return quote(url, safe=_LINK_SAFE)


def strip_xml_illegal(text: str) -> str:
    """Remove characters XML 1.0 cannot carry (C0 but TAB/LF, U+FFFE/FFFF, lone surrogates)."""
    return _XML_ILLEGAL.sub("", text)


def plain_text(text: str, *, limit: int = 1000) -> str:
    """Titles and other text fields: entities decoded, tags dropped, one line, at most `limit`."""
    # One parse decodes entities and drops tags; unescaping first would decode twice.
    # (No wrapper here: a stray `<` at the end of a title should stay text.)
    if "<" not in text:
        text = html_lib.unescape(text)
    else:
        plain = _text_of_plain_html(text)
        if plain is None:
            from . import soupclean  # (bs4: imported only when needed, see soupclean)

            plain = soupclean.text_of(text)
        text = plain
    return _one_line(text)[: max(limit, 0)].rstrip()


def _one_line(text: str) -> str:
    """Controls and line/paragraph separators -> space, whitespace runs collapsed."""
    return _WHITESPACE.sub(" ", strip_xml_illegal(_CONTROLS.sub(" ", text))).strip()


def one_line(text: str) -> str:
    """Plain text (a tag) as one line: controls -> space, whitespace runs collapsed, stripped."""
    return _one_line(text)


def digest_text(digest: str) -> str:
    """Rolling-news digest `【title】summary（media）` -> `summary（media）` (as finews kept it)."""
    return plain_text(digest.rsplit("】", 1)[-1])


def media_from_html(html: str) -> str | None:
    """The media name from the source line `<p class="em_media">（文章来源：X）</p>`, else None."""
    from . import soupclean

    soup = soupclean.parse_fragment(html)
    lines = soup.find_all("p", class_="em_media") or soup.find_all("p")
    for line in reversed(lines):
        match = _SOURCE_LINE.fullmatch(_one_line(line.get_text()))
        if match and match.group(1):
            return match.group(1)
    return None


def clean_html(html: str, base_url: str | None = None) -> str:
    """Raw article HTML -> the post body: eastmoney furniture removed, then sanitised.

    Relative `src`/`href` are made absolute against `base_url` when one is given.
    Well-formed article HTML that needs no change (the seed post's body) comes out unchanged.
    """
    html = strip_xml_illegal(_cap(html.replace("\r\n", "\n").replace("\r", "\n")))
    cleaned = furniture.without_furniture(html, max_depth=MAX_NESTING)
    if cleaned is None:
        from . import soupclean

        cleaned = soupclean.without_furniture(html)
    return inert_markup(_sanitise(cleaned, base_url).strip())


def _text_of_plain_html(html: str) -> str | None:
    """The text bs4 would get from `html` when it is plain, well-formed HTML, else None."""
    found = fragments.tokens(html, max_depth=MAX_NESTING)
    if found is None:
        return None
    return "".join(fragments.decode_text(token) for token in found if isinstance(token, str))


def sanitise_html(html: str, base_url: str | None = None, *, xml_legal: bool = False) -> str:
    """nh3 with our allowlist; the result is safe to publish and to put in XML.
    `xml_legal`: the caller knows `html` holds no character XML cannot carry (saves a scan)."""
    html = _cap(html)
    if html.count("<") > MAX_NESTING:  # only then can the nesting be too deep for nh3
        from . import soupclean

        html = soupclean.flattened(html)
    return _sanitise(html, base_url, xml_legal=xml_legal)


def render_body(body: str, *, base_url: str | None = None) -> str:
    """A post body as written to disk (HTML plus a few Markdown lines) -> sanitised HTML.

    Renders like Jekyll would (CommonMark, raw HTML allowed), for the feed's `<content>`.
    `base_url` resolves relative and protocol-relative links such as `//site/category/x.html`.
    """
    text = strip_xml_illegal(_cap(body))
    # CommonMark turns only a numeric character reference into a character XML cannot carry
    return sanitise_html(markdown.render(text), base_url, xml_legal="&#" not in text)


# --- sanitiser ------------------------------------------------------------------------------


def _cap(html: str) -> str:
    """At most MAX_HTML_CHARS, without a tag cut in half at the end."""
    if len(html) <= MAX_HTML_CHARS:
        return html
    html = html[:MAX_HTML_CHARS]
    last_open = html.rfind("<")
    return html[:last_open] if last_open > html.rfind(">") else html


def _sanitise(html: str, base_url: str | None, *, xml_legal: bool = False) -> str:
    if not xml_legal:
        html = strip_xml_illegal(html)
    cleaned = _cleaner(_valid_base(base_url)).clean(html)
    # nh3 decodes character references; of them only a numeric one (`&#1;`) can stand for a
    # character XML cannot carry (no named one does), so without one there is nothing to strip
    return strip_xml_illegal(cleaned) if "&#" in html else cleaned


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: `data:` URLs only as raster images in `img src`."""
    if attribute in {"href", "src"}:
        url = _URL_JUNK.sub("", value)
        if url[:5].lower() == "data:" and not (
            tag == "img" and attribute == "src" and _DATA_IMAGE.match(url)
        ):
            return None
    return value


@lru_cache(maxsize=64)
def _valid_base(base_url: str | None) -> str | None:
    if not base_url:
        return None
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    return base_url if parts.scheme in {"http", "https"} and parts.hostname else None


@lru_cache(maxsize=64)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    if base_url is not None:
        try:
            return _make_cleaner(base_url)
        except ValueError:  # a base the URL parser of nh3 rejects: leave relative URLs alone
            pass
    return _make_cleaner(None)


def _make_cleaner(base_url: str | None) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        # None passes relative URLs through unchanged.
        url_relative=("rewrite_with_base", base_url) if base_url else None,
    )
