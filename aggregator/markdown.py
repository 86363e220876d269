"""CommonMark -> HTML with markdown-it-py's bytes, rendered by cmark where the two agree.

markdown-it-py spends ~0.3-0.8 ms on a post body (most of it normalising the footer's links);
cmark, the C reference implementation of the same CommonMark version (0.31.2, via paka.cmark),
takes ~30 us. The two give the same bytes except in corners: markdown-it-py validates and
normalises link targets (no `javascript:` links, punycode hosts, its own percent-encoding),
strips Unicode whitespace where the spec strips only spaces and tabs, ends a final HTML or code
block without a newline when the text has none, and reads `<!---->` differently. A body that
could reach one of them (a cheap scan, conservative) is rendered by markdown-it-py, so the output
is markdown-it-py's byte for byte (tests/test_markdown.py compares both on every post in
tests/data and on generated text). Bodies we write (HTML, a link line, a footer of links) take
the fast path.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from paka.cmark import lowlevel as _cmark

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["render", "render_reference"]

_OPTIONS = _cmark.OPT_UNSAFE  # raw HTML passes, as in markdown-it's html=True; nh3 sanitises

# What the two read differently (each check is cheap on its own: one regex of alternatives
# scans a body several times slower than these together). Line and page separators, tabs, CR,
# NUL, and Unicode spaces, which are the only ones allowed where a line has text on both sides
# of them (`<p>　　正文`): markdown-it-py strips them from the ends of lines where CommonMark
# strips only spaces and tabs, and elsewhere both read them alike (as whitespace for emphasis).
_UNICODE_SPACES = "\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_STRICTLY_ODD = "\r\t\x00\x0b\x0c\x1c-\x1f\x85\u200b\u2028\u2029\ufeff"
_ODD_CHARACTER = re.compile(f"[{_STRICTLY_ODD}{_UNICODE_SPACES}]")
_STRICTLY_ODD_CHARACTER = re.compile(f"[{_STRICTLY_ODD}]")
# ... at the start of a line's text (after container and heading marks) or at its end (before a
# heading's closing marks)
_SPACE_AT_LINE_END = re.compile(
    f"(?:\\A|\\n)[ >*+\\-0-9.)#]*[{_UNICODE_SPACES}]|[{_UNICODE_SPACES}][ #]*(?:\\n|\\Z)"
)
# empty comments, reference definitions (their targets are not checked), backtick runs (cmark
# misreads some), fences (info strings), a backslash before spaces:
_ODD_TEXT = ("]:", "``", "~~~", "\\ ")
_ODD_DECLARATION = re.compile(r"<!---?-?>|<!(?!--)")  # empty comments, <!DOCTYPE, CDATA
_EMPTY_QUOTE = re.compile(r"\n[ >*+\-0-9.)]*>[ ]*\n")  # on the text between newlines
# link targets markdown-it refuses (it keeps data: images, which are left to it here too)
_REFUSED_SCHEME = re.compile(r"(?i)(?:javascript|vbscript|file|data):")
_INLINE_TARGET = re.compile(r"\]\(\s*<?([^\s)]*)(.?)")  # a title or a space: slow path
_AUTOLINK_TARGET = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*)>")
# a link target markdown-it-py leaves as it is: plain ASCII, whole %-escapes, no entities
_SAFE_TARGET = re.compile(
    r"(?:[A-Za-z0-9\-._~:/?#@!$()*+,;=]|&(?![#A-Za-z0-9]+;)|%[0-9A-Fa-f]{2})*"
)
# Without a final newline, a text must end in a paragraph (markdown-it-py ends a last HTML or
# code block without one): no block that runs past blank lines (raw `<pre>`..., an unclosed
# comment), and every line after the last blank one starts as only paragraph text can, or is one
# autolink (older posts end with one: no tag name holds a colon, so it opens no HTML block).
_LONG_BLOCK = re.compile(r"(?i)<(?:script|pre|style|textarea|\?|!(?!--))")
_PARAGRAPH_LINE = re.compile(r"[^\s<`~>#*+\-=_|0-9\\]")
_BLANK_LINE = re.compile(r"\n[ ]*\n")


def render(text: str) -> str:
    """`text` as markdown-it-py ("commonmark", html=True) renders it."""
    if _fast_ok(text):
        data = _cmark.text_to_c(text)
        html: str = _cmark.text_from_c(
            _cmark.markdown_to_html(data, len(data), _OPTIONS), free=True
        )
        return html
    return render_reference(text)


def render_reference(text: str) -> str:
    """markdown-it-py itself (the slow path, and the reference in tests)."""
    html: str = _markdown_it().render(text)
    return html


@cache
def _markdown_it() -> MarkdownIt:
    """Made on first use: our own bodies never need it, and importing it takes ~35 ms."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True})


def _fast_ok(text: str) -> bool:
    found = _ODD_CHARACTER.search(text)  # (one scan when there is none, as in most bodies)
    if found is not None and (
        _STRICTLY_ODD_CHARACTER.search(text, found.start()) or _SPACE_AT_LINE_END.search(text)
    ):
        return False
    # (a search for one character is several times faster than for two in non-ASCII text)
    if any(odd[0] in text and odd in text for odd in _ODD_TEXT):
        return False
    if "<!" in text and _ODD_DECLARATION.search(text):
        return False
    if _EMPTY_QUOTE.search(f"\n{text}\n"):
        return False
    if not text.endswith("\n"):
        if _LONG_BLOCK.search(text) or text.rfind("<!--") > text.rfind("-->"):
            return False
        *_, last = _BLANK_LINE.split(text)
        if not all(
            _PARAGRAPH_LINE.match(line) or _AUTOLINK_TARGET.fullmatch(line)
            for line in last.split("\n")
        ):
            return False
    targets = []
    if "](" in text:
        for match in _INLINE_TARGET.finditer(text):
            if match.group(2) != ")":
                return False
            targets.append(match.group(1))
    targets += [m.group(1) for m in _AUTOLINK_TARGET.finditer(text)]
    return all(map(_safe_target, targets))


@lru_cache(maxsize=1024)
def _safe_target(target: str) -> bool:
    """A link target both render alike: one markdown-it-py leaves as it is and does not refuse
    (only link targets are refused: `data:` in prose is text to both). Cached: the footer's links
    are the same on every post of a category."""
    return _SAFE_TARGET.fullmatch(target) is not None and not _REFUSED_SCHEME.match(target)
