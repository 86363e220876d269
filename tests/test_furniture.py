"""The furniture fast path of clean_html (fragments' tokens instead of bs4): wherever it is taken,
the result must be exactly what bs4 gives (soupclean.without_furniture, then nh3), and what the
route before it gave (plain HTML without furniture only, bs4 for the rest)."""

from __future__ import annotations

import html as html_lib
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fake_eastmoney import load_articles
from hardening import load_vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import fragments, furniture, normalise, soupclean

DATA = Path(__file__).parent / "data"
BENCH = Path(__file__).parent.parent / "bench"
BASE = "https://example.org/a/1.html"


def prepared(html: str) -> str:
    """`html` as clean_html hands it to either path."""
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    return normalise.strip_xml_illegal(normalise._cap(html))


def finish(cleaned: str, base_url: str | None) -> str:
    return normalise.inert_markup(normalise._sanitise(cleaned, base_url).strip())


def bs4_clean(html: str, base_url: str | None = BASE) -> str:
    """clean_html with bs4 for everything."""
    return finish(soupclean.without_furniture(prepared(html)), base_url)


def old_clean(html: str, base_url: str | None = BASE) -> str:
    """clean_html as it was before the furniture fast path."""
    html = prepared(html)
    plain = _old_plain_without_furniture(html)
    return finish(soupclean.without_furniture(html) if plain is None else plain, base_url)


def _old_plain_without_furniture(html: str) -> str | None:
    if furniture._INDENT in html:
        return None
    found = fragments.tokens(html, max_depth=normalise.MAX_NESTING)
    if found is None:
        return None
    for token in found:
        if not isinstance(token, fragments.StartTag):
            continue
        attrs = token.attrs
        if furniture._HIDDEN_STYLE.search(attrs.get("style", "")):
            return None
        if token.name == "img" and furniture._host(attrs.get("src")) == furniture._KLINE_HOST:
            return None
        if token.name == "a" and ("class" in attrs or furniture._is_quote_link(attrs.get("href"))):
            return None
        if token.name == "span" and ("class" in attrs or "id" in attrs):
            return None
    return html if fragments.attributes_sorted(found) else fragments.serialise(found)


def fast(html: str) -> str | None:
    return furniture.without_furniture(prepared(html), max_depth=normalise.MAX_NESTING)


def assert_exact(html: str) -> bool:
    """The fast path agrees with bs4, before nh3 (once bs4 has written it out: text decoded,
    void tags closed) and after it. Returns whether the fast path was taken."""
    cleaned = fast(html)
    if cleaned is not None:
        expected = soupclean.without_furniture(prepared(html))
        assert soupclean.parse_fragment(cleaned).decode() == expected, html
    assert normalise.clean_html(html, base_url=BASE) == bs4_clean(html), html
    return cleaned is not None


# --- the bodies we store and fetch ------------------------------------------------------------


def stored_bodies() -> Iterator[str]:
    for path in sorted(DATA.glob("**/*.md")):
        body = path.read_bytes().decode("utf-8").split("---\n", 2)[-1]
        article = body.split("\n\n<http", 1)[0]
        yield body
        yield article
        if article.startswith("> ") and "\n\n" in article:
            yield article.split("\n\n", 1)[1]
    for path in sorted(DATA.glob("pages/**/*.html")):
        yield path.read_text("utf-8", "replace")


def eastmoney_bodies() -> list[str]:
    """What the fake eastmoney and the benchmark server answer in `content` and `text`."""
    articles = load_articles().values()
    bodies = [a.text for a in articles if a.text] + [a.content for a in articles if a.content]
    return bodies + bench_article_bodies()


def bench_module(name: str) -> ModuleType:
    with pytest.MonkeyPatch.context() as patched:
        patched.syspath_prepend(str(BENCH))
        return importlib.import_module(name)


def bench_article_bodies() -> list[str]:
    bodies: list[str] = bench_module("gen_posts").article_bodies()
    return bodies


def feed_bodies() -> list[str]:
    """The `content` of the benchmark feeds' entries (padded and cut as feed_server makes them)."""
    atom_feed = bench_module("feed_server").atom_feed
    bodies = bench_article_bodies()
    feeds = "".join(atom_feed(number, 50, bodies).decode() for number in range(2))
    contents = re.findall(r'<content type="html">(.*?)</content>', feeds, re.DOTALL)
    return [html_lib.unescape(content) for content in contents]


def test_every_stored_body_comes_out_as_bs4_and_the_old_route_make_it() -> None:
    taken = 0
    for body in stored_bodies():
        taken += assert_exact(body)
        assert normalise.clean_html(body, base_url=BASE) == old_clean(body), body
    assert taken > 40


def test_the_fast_path_takes_every_eastmoney_body() -> None:
    bodies = eastmoney_bodies()
    assert len(bodies) > 15
    for body in bodies:
        assert assert_exact(body), body
        assert normalise.clean_html(body, base_url=BASE) == old_clean(body)
    furnished = [body for body in bodies if _old_plain_without_furniture(prepared(body)) is None]
    assert len(furnished) > 5  # charts, centers, indents: bs4 cleaned these before


def test_the_fast_path_takes_every_benchmark_feed_body() -> None:
    bodies = feed_bodies()
    assert len(bodies) == 100
    for body in set(bodies):
        assert assert_exact(body), body
        assert normalise.clean_html(body, base_url=BASE) == old_clean(body)


def test_hostile_input_comes_out_as_bs4_makes_it() -> None:
    vectors = load_vectors()
    assert len(vectors) > 50
    for vector in vectors:
        for html in (vector, f"<center>{vector}</center>", f"<!-- c -->\u3000\u3000{vector}"):
            assert_exact(html)
            assert normalise.clean_html(html, base_url=BASE) == old_clean(html), html


# --- furniture, one kind at a time ------------------------------------------------------------

KLINE = (
    '<img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=0.1&imageType=k&at=1"'
    ' border="0" width="578" />'
)


@pytest.mark.parametrize(
    "html",
    [
        "<center><img src='x'></center>",  # unquoted attribute: bs4
        "<p>a<!-- c -- d -->b</p>",  # `--` inside a comment
        "<p>a<!-->b</p>",
        '<a href="https://e.org/?a=1&copy=2">x</a>',  # html.parser reads `&copy` as ©
        "<center><p>a</center></p>",
    ],
)
def test_unusual_furniture_goes_to_bs4(html: str) -> None:
    assert fast(html) is None
    assert normalise.clean_html(html, base_url=BASE) == bs4_clean(html)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<p style="display:none;"><br /></p><!-- EM_StockImg_Start --><p style="x">'
            f'<a href="http://quote.eastmoney.com/unify/r/0.1" class="EmImageRemark">{KLINE}</a>'
            "</p><!-- EM_StockImg_End --><p>正文</p>",
            "<p>正文</p>",
        ),
        (f"<div><span>{KLINE}</span><b>留</b></div>", "<b>留</b>"),
        ("<!-- EM_StockImg_Start --> <p>文字</p>\n<!-- EM_StockImg_End -->", "<p>文字</p>"),
        (
            '<p>前<center><img src="a.png"></center>后</p>',
            '<p>前<img src="https://example.org/a/a.png">后</p>',
        ),
        (
            '<center style="x"><img src="a.png"></center>',
            '<p><img src="https://example.org/a/a.png"></p>',
        ),
        ("<center><div>块</div></center>", "块"),
        ("<p>\u3000\u3000首<br>\u3000次\n\u3000\u3000再</p>", "<p>首<br>次\n再</p>"),
        ("<p>文<!-- c -->\u3000\u3000中</p>", "<p>文\u3000\u3000中</p>"),
        ("<p><!-- c -->\u3000\u3000首</p>", "<p>首</p>"),
        ("<p>&#12288;&#12288;首&amp;尾</p>", "<p>首&amp;尾</p>"),  # the old route kept these
        ('<p class="em_media\u2003x">源</p>', '<p class="em_media">源</p>'),  # and lost this
        (
            '培育壮<span id="stock_1"><a href="http://quote.eastmoney.com/unify/r/0.1">大智慧'
            '</a></span><span id="quote_1"></span>',
            "培育壮大智慧",
        ),
    ],
)
def test_furniture_is_cleaned_on_the_fast_path(html: str, expected: str) -> None:
    assert assert_exact(html)
    assert normalise.clean_html(html, base_url=BASE) == expected


# --- generated furniture ----------------------------------------------------------------------

_OPEN = st.sampled_from(
    [
        *("<p>", '<p style="display:none;height:1px;">', '<p style="text-align:center;">'),
        *('<p class="em_media">', "<center>", '<center style="c">', '<span id="stock_600000">'),
        *('<span id="bkquote_90.BK1">', '<span class="x">', '<span id="other">', "<div>"),
        '<a href="http://quote.eastmoney.com/unify/r/1.600000" class="keytip" data-code="1">',
        *('<a href="https://example.org/x?a=1&b=2&amp;c=3">', '<a class="EmImageRemark">'),
        *("<strong>", "<h2>", "<li>", "<figure>", '<b title="t" id="b">', "<td>", "<pre>"),
        '<div style="DISPLAY: none">',
    ]
)
_LEAF = st.sampled_from(
    [
        *("<br>", "<br />", KLINE, '<img src="https://e.org/p.png" alt="x" width="5">', "<hr/>"),
        *("<!-- EM_StockImg_Start -->", "<!-- EM_StockImg_End -->", "<!-- c -->", "<!---->"),
        *("文字", " ", "\n", "\u3000\u3000段", "\n\u3000\u3000行", "\u3000", "&amp;", "&nbsp;"),
        *("&#12288;&#12288;x", "&lt;b&gt;", "a\n&#32;\u3000b", " \t\u3000y", "[x]{y}", "&#x3000;"),
    ]
)


@st.composite
def furnished(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if depth < 4 and draw(st.booleans()):
            start = draw(_OPEN)
            name = start[1:].split(" ", 1)[0].rstrip(">")
            parts.append(f"{start}{draw(furnished(depth + 1))}</{name}>")
        else:
            parts.append(draw(_LEAF))
    return "".join(parts)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(html=furnished())
def test_generated_furniture_is_cleaned_exactly_on_the_fast_path(html: str) -> None:
    assert assert_exact(html)
