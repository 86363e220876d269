"""The bs4 fast path (fragments + normalise): wherever it is taken, the result must be exactly what
the general bs4 path gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import fragments, normalise

DATA = Path(__file__).parent / "data"


def slow_clean(html: str, base_url: str | None, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(normalise, "_plain_without_furniture", lambda _html: None)
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
