"""The bs4 fast path (fragments + normalise): wherever it is taken, the result must be exactly what
the general bs4 path gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import fragments, furniture, normalise

DATA = Path(__file__).parent / "data"


def slow_clean(html: str, base_url: str | None, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(furniture, "without_furniture", lambda _html, max_depth: None)
        return normalise.clean_html(html, base_url=base_url)


def slow_text(text: str) -> str:
    return normalise._one_line(BeautifulSoup(text, "html.parser").get_text())


def corpus() -> list[str]:
    bodies = [path.read_text("utf-8").split("---\n", 2)[-1] for path in DATA.glob("**/*.md")]
    bodies += [path.read_text("utf-8", "replace") for path in DATA.glob("pages/**/*.html")]
    return bodies


def test_fast_path_matches_bs4_on_every_stored_body(monkeypatch: pytest.MonkeyPatch) -> None:
    for body in corpus():
        fast = normalise.clean_html(body, base_url="https://example.org/a/1.html")
        assert fast == slow_clean(body, "https://example.org/a/1.html", monkeypatch)


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ('<p>a <img src="x.png" alt="b"> &amp; &nbsp;c</p>', True),
        ("<p>a<br/>b</p>\n<ul><li>x</li></ul>", True),
        ("<p>a<p>b</p>", False),  # unbalanced: bs4 and html5ever build different trees
        ("<p/>", False),
        ("<p>a & b</p>", False),
        ("<p>a<!-- c --></p>", False),
        ("<script>x</script>", False),
        ("<p class=x>a</p>", False),
        ('<p a="1" a="2">x</p>', False),
        ("<p>&#128;</p>", False),  # C1 range: bs4 reads it as windows-1252
        ("<p>&bogus;</p>", False),
    ],
)
def test_tokens_accept_only_plain_html(html: str, plain: bool) -> None:
    assert (fragments.tokens(html) is not None) == plain


def test_serialise_sorts_attributes() -> None:
    found = fragments.tokens('<img src="a?x=1&amp;y=2" alt="">')
    assert found is not None and not fragments.attributes_sorted(found)
    assert fragments.serialise(found) == '<img alt="" src="a?x=1&amp;y=2">'


_TAG = st.sampled_from(["p", "b", "a", "span", "div", "li", "table", "td", "h2", "em", "center"])
_ATTR = st.sampled_from(
    [
        "",
        ' href="https://e.org/x?a=1&amp;b=2"',
        ' href="/rel"',
        ' src="x.png" alt="y"',
        ' style="display:none"',
        ' class="em_media"',
        ' title="t"',
        ' id="stock_1"',
    ]
)
_TEXT = st.sampled_from(
    ["text", " ", "\n", "&amp;", "&nbsp;", "&#20013;", "&#x4e2d;", "\u3000\u3000a", "[x]", "{y}"]
)


@st.composite
def fragment(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        if depth < 3 and draw(st.booleans()):
            tag = draw(_TAG)
            inner = draw(fragment(depth + 1))
            parts.append(f"<{tag}{draw(_ATTR)}>{inner}</{tag}>")
        elif draw(st.booleans()):
            parts.append(draw(st.sampled_from(["<br>", "<br/>", '<img src="y.gif">', "<hr>"])))
        else:
            parts.append(draw(_TEXT))
    return "".join(parts)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(html=fragment())
def test_fast_path_matches_bs4(html: str, monkeypatch: pytest.MonkeyPatch) -> None:
    base = "https://example.org/a/1.html"
    assert normalise.clean_html(html, base_url=base) == slow_clean(html, base, monkeypatch)
    assert normalise.plain_text(html) == slow_text(html)[:1000].rstrip()


def test_is_plain_agrees_with_tokens_on_every_stored_body() -> None:
    plain = 0
    for body in corpus():
        for html in (body, body.rpartition("\n\n<")[0], body.strip()):
            assert fragments.is_plain(html) == (fragments.tokens(html) is not None), html
            plain += fragments.is_plain(html)
    assert plain > 20


@pytest.mark.parametrize(
    "html",
    [
        "<p>a</p></p>",
        "<p><b>a</p></b>",
        "</p>",
        "<br></br>",
        "<p/>",
        "<br/><img src='x'>",
        "<p>a > b</p>",
        '<p a="1" b="2" a="3">x</p>',
        '<p a="1" b="2" c="3">x</p>',
        "<blink>x</blink>",
        "<p>&#x110000;</p>",
        "<p>&#65;&#x4e2d;&copy;</p>",
        "x &bogus y",
    ],
)
def test_is_plain_agrees_with_tokens(html: str) -> None:
    assert fragments.is_plain(html) == (fragments.tokens(html) is not None)


def test_is_plain_keeps_the_depth_limit() -> None:
    html = "<b>" * 5 + "x" + "</b>" * 5
    assert fragments.is_plain(html, max_depth=5)
    assert not fragments.is_plain(html, max_depth=4)
    assert fragments.tokens(html, max_depth=4) is None


_STRAY = st.sampled_from(
    [
        *("<", ">", "&", "/", " ", "\n", "\f", "\r", '"', "'", "=", "p", "b", "br", "img", "x"),
        *("<p>", "</p>", "<b>", "</b>", "<br>", "<br/>", "<br />", "<p/>", '<a href="x">', "</a>"),
        *(' class="c"', " alt", "&amp;", "&nbsp;", "&#128;", "&#20013;", "&bogus;", "&#x4e2d;"),
        *("<!-- c -->", "<script>", "</script>", "<P>", "中", "\u3000", "<hr>", "<td>", "</td>"),
    ]
)


_ATTRIBUTE_PIECE = st.sampled_from(
    [" a", ' a="v"', " b", ' b="x y"', '\nc="x&amp;y"', " d.e", '\ff:g="/"', ' a=""']
)


@st.composite
def tagged(draw: st.DrawFn, depth: int = 0) -> str:
    """Elements with attributes (some repeated), `/>` endings and missing end tags."""
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        tag = draw(st.sampled_from(["p", "b", "br", "img", "div", "span", "s", "sub", "blink"]))
        attributes = "".join(draw(st.lists(_ATTRIBUTE_PIECE, max_size=4)))
        ending = draw(st.sampled_from([">", " >", "/>", " />"]))
        inner = draw(tagged(depth + 1)) if depth < 4 and not ending.endswith("/>") else "x"
        end = draw(st.sampled_from([f"</{tag}>", f"</{tag} >", ""]))
        parts.append(f"<{tag}{attributes}{ending}{inner}{end}")
    return "".join(parts)


@settings(max_examples=500)
@given(html=fragment() | tagged() | st.lists(_STRAY, max_size=20).map("".join))
def test_is_plain_agrees_with_tokens_on_generated_html(html: str) -> None:
    for depth in (2, 256):
        assert fragments.is_plain(html, max_depth=depth) == (
            fragments.tokens(html, max_depth=depth) is not None
        )


@pytest.mark.parametrize(
    ("html", "furnished"),
    [
        ("<p>a<!-- EM_StockImg_Start -->b</p>", True),
        ("<center><img src='x'></center>", False),  # unquoted
        ('<center><img src="x"></center>', True),
        ("<p>a<!---->b<!-- a-b --></p>", True),
        ("<p>a<!-- a -- b --></p>", False),
        ("<p>a<!-- a---></p>", False),
        ("<p>a<!-->b</p>", False),
        ("<p>a<!--->b</p>", False),
        ('<img src="https://e.org/p?a=1&imageType=k&at=1">', True),
        ('<img src="https://e.org/p?a=1&copy=2">', False),  # html.parser reads `&copy` as ©
        ('<a href="?x=1&notify=1">x</a>', False),
        ('<a href="?x=1&amp=1">x</a>', False),
        ('<a href="?x=1&b">x</a>', False),
        ("<p>a & b</p>", False),
    ],
)
def test_furniture_tokens(html: str, furnished: bool) -> None:
    assert (fragments.tokens(html, furniture=True) is not None) == furnished
    assert fragments.tokens(html) is None  # never plain
    assert not fragments.is_plain(html)


def test_furniture_tokens_decode_the_query_ampersands() -> None:
    found = fragments.tokens('<a href="?a=1&b=2&amp;c=3">x</a><!-- c -->', furniture=True)
    assert found == [
        fragments.StartTag("a", {"href": "?a=1&b=2&c=3"}),
        "x",
        fragments.EndTag("a"),
        fragments.Comment(" c "),
    ]


def test_the_tree_is_written_as_the_tokens_are_serialised() -> None:
    for body in corpus():
        found = fragments.tokens(body, furniture=True)
        if found is not None:
            assert fragments.write(fragments.tree(found)) == fragments.serialise(found)


def test_tags_are_written_as_bs4_writes_them() -> None:
    found = fragments.tokens('<p class=" b\u2003a " id="x">y</p><br>', furniture=True)
    assert found is not None and not fragments.written_as_bs4(found)
    root = fragments.tree(found)
    assert fragments.write(root) == '<p class="b a" id="x">y</p><br>'
    assert fragments.text_of(root) == "y"
