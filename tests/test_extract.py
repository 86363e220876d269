"""Article extraction on the labelled pages in tests/data/pages (labels.json, <name>.txt).

With the labels' selectors the text must equal the hand-checked body exactly. Automatic
extraction is compared with golden files (tests/data/golden/extract/<name>.json); regenerate
them after a deliberate change with `AGGREGATOR_UPDATE_GOLDEN=1 pytest tests/test_extract.py` and
review the diff. The quality figures themselves are in bench/extraction.py.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import extract, fragments
from aggregator.decode import decode_document
from aggregator.errors import ExtractError
from aggregator.extract import Selectors, absolute_urls, check_selector, extract_article, html_text

DATA = Path(__file__).parent / "data"
PAGES = DATA / "pages"
GOLDEN = DATA / "golden" / "extract"
UPDATE_GOLDEN = os.environ.get("AGGREGATOR_UPDATE_GOLDEN") == "1"
LABELS: dict[str, Any] = {
    name: label
    for name, label in json.loads((PAGES / "labels.json").read_text(encoding="utf-8")).items()
    if not name.startswith("_")
}
CHINESE = sorted(name for name, label in LABELS.items() if label["lang"] == "zh")


def page_html(name: str) -> str:
    label = LABELS[name]
    raw = (PAGES / f"{name}.html").read_bytes()
    return decode_document(raw, content_type=label["content_type"], source=label["url"])


def label_selectors(name: str) -> Selectors:
    given = LABELS[name]["selectors"]
    return Selectors(
        title=given.get("title"),
        date=given.get("date"),
        body=given.get("body"),
        media=given.get("media"),
        remove=tuple(given.get("remove", ())),
    )


def test_the_labelled_set_is_mostly_chinese() -> None:
    assert len(LABELS) == 11
    assert len(CHINESE) == 7


@pytest.mark.parametrize("name", sorted(LABELS))
def test_selectors_give_exactly_the_hand_checked_body(name: str) -> None:
    label = LABELS[name]
    article = extract_article(page_html(name), label["url"], label_selectors(name))
    assert article.title == label["title"]
    assert article.date_text == label["selector_date"]
    assert article.media == label["media"]
    assert article.text + "\n" == (PAGES / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(LABELS))
def test_automatic_extraction_matches_golden(name: str) -> None:
    label = LABELS[name]
    article = extract_article(page_html(name), label["url"])
    assert article.title == label["title"]
    assert article.date_text == label["date"]
    got = {
        "title": article.title,
        "date_text": article.date_text,
        "media": article.media,
        "text": article.text.splitlines(),
    }
    golden = GOLDEN / f"{name}.json"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert got == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(set(LABELS) - {"kr36_tech"}))
def test_automatic_extraction_keeps_every_hand_checked_paragraph(name: str) -> None:
    expected = (PAGES / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    lines = extract_article(page_html(name), LABELS[name]["url"]).text.splitlines()
    assert [line for line in expected if line not in lines] == []


def test_automatic_extraction_drops_the_headline_and_the_comments() -> None:
    article = extract_article(page_html("wordpress_blog"), LABELS["wordpress_blog"]["url"])
    assert not article.text.startswith("Why our tram network")
    assert "Margaret" not in article.text and "Leave a comment" not in article.text


def test_automatic_extraction_keeps_lazy_loaded_images() -> None:
    article = extract_article(page_html("thepaper_next"), LABELS["thepaper_next"]["url"])
    assert 'src="https://imagecloud.thepaper.cn/thepaper/image/250/101/finless.jpg"' in article.html
    assert "data:image/gif" not in article.html


def test_selector_output_has_absolute_links_and_resolved_lazy_images() -> None:
    html = """<html><head><title>T</title></head><body><h1>标题</h1><div id="c">
    <p>正文第一段，足够长的一段文字用于测试。<a href="/a/2.html">下一篇</a></p>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-original="../img/p.jpg">
    <img src="//cdn.example.com/q.png"><script>alert(1)</script></div></body></html>"""
    article = extract_article(html, "https://news.example.com/c/1.html", Selectors(body="#c"))
    assert article.html == (
        '<p>正文第一段，足够长的一段文字用于测试。<a href="https://news.example.com/a/2.html">下一篇</a></p>\n'
        '<img data-original="../img/p.jpg" src="https://news.example.com/img/p.jpg"/>\n'
        '<img src="https://cdn.example.com/q.png"/>'
    )
    assert article.title == "标题"


def test_media_selector_reads_the_name_after_the_source_label() -> None:
    html = (
        "<html><body><h1>标题</h1><div class='info'>2021-12-16 09:30 来源：新华社 作者：张三</div>"
        "<div id='c'><p>正文正文正文正文正文正文正文正文正文正文正文。</p></div></body></html>"
    )
    selectors = Selectors(body="#c", media=".info", date=".info")
    article = extract_article(html, "https://x.example/1", selectors)
    assert (article.media, article.date_text) == ("新华社", "2021-12-16 09:30")


@pytest.mark.parametrize(
    ("html", "selectors", "message"),
    [
        ("", None, "https://x.example/1: not an HTML page"),
        (
            "<html><body><p>没有标题的页面，只有一段文字。</p></body></html>",
            None,
            "https://x.example/1: no title found (set a title selector)",
        ),
        (
            "<html><head><title>T</title></head><body><div id='a'>x</div></body></html>",
            Selectors(body="#missing"),
            "https://x.example/1: body selector '#missing' matched nothing",
        ),
        (
            "<html><head><title>T</title></head><body><div id='a'>短</div></body></html>",
            Selectors(body="#a"),
            "https://x.example/1: no article text found (1 characters)",
        ),
    ],
)
def test_extraction_errors_are_one_line(
    html: str, selectors: Selectors | None, message: str
) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(html, "https://x.example/1", selectors)
    assert str(caught.value) == message


def test_an_invalid_selector_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match=r"^body selector 'div\[' is invalid"):
        extract_article(
            "<html><title>T</title><p>x</p></html>", "https://x.example/1", Selectors(body="div[")
        )
    assert check_selector("div.a > p") is None
    assert check_selector("div[") is not None


def test_html_text_puts_one_block_per_line_and_skips_comments() -> None:
    html = "<p>一<br>二</p><!-- hidden --><ul><li>三</li><li> 四  五 </li></ul>"
    assert html_text(html) == "一\n二\n三\n四 五"


def test_absolute_urls_leaves_fragments_and_data_alone() -> None:
    html = '<a href="#top">t</a><img src="data:image/png;base64,AA"><a href="x.html">x</a>'
    assert absolute_urls(html, "https://e.example/d/") == (
        '<a href="#top">t</a><img src="data:image/png;base64,AA"/>'
        '<a href="https://e.example/d/x.html">x</a>'
    )


def token_text(html: str) -> str:
    """html_text as first written: bs4 unless fragments.tokens reads the fragment, then the
    text of its tokens."""
    found = fragments.tokens(extract._TEXT_NEUTRAL.sub(extract._neutral, html))
    if found is None:
        text = extract._slow_text(html)
    else:
        text = "".join(
            fragments.decode_text(token)
            if isinstance(token, str)
            else "\n"
            if token.name in extract._TEXT_BLOCKS or token.name == "br"
            else ""
            for token in found
        )
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return re.sub(r"\n\s*\n+", "\n", "\n".join(line for line in lines if line)).strip()


def stored_bodies() -> list[str]:
    bodies = []
    for path in sorted(DATA.glob("**/*.md")):
        body = path.read_text("utf-8").split("---\n", 2)[-1]
        bodies += [body, body.rpartition("\n\n<")[0]]
    return bodies + [path.read_text("utf-8", "replace") for path in sorted(PAGES.glob("*.html"))]


def test_html_text_equals_the_token_walk_on_every_stored_body() -> None:
    for body in stored_bodies():
        assert html_text(body) == token_text(body)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a&amp;lt;b</p><p>c&nbsp;d</p>", "a&lt;b\nc d"),
        ('<div><a href="x?a=1&amp;b=2">链接</a><br/>二<img src="a&b"></div>', "链接\n二"),
        ("<p>x<!-- y --></p><center>z</center><pre>  p  </pre>", "x\nz p"),
        ("<h2>t</h2><h3>u</h3><table><tr><td>1</td><td>2</td></tr></table>", "t\nu\n12"),
        ("<p>a & b</p><p>c</p>", "a & b\nc"),  # not plain: bs4
    ],
)
def test_html_text_of_plain_fragments(html: str, text: str) -> None:
    assert html_text(html) == text
    assert token_text(html) == text


_PIECE = st.sampled_from(
    [
        *(
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<b>",
            "</b>",
            "<li>",
            "</li>",
            "<br>",
            "<br/>",
            "<hr>",
        ),
        *("<h2>", "</h2>", "<pre>", "</pre>", "<tr>", "</tr>", "<td>", "</td>", "<center>"),
        *("</center>", '<a href="x?a=1&amp;b=2">', "</a>", '<img src="a&b">', "<!-- c -->"),
        *("<!---->", "text", "中文", " ", "\n", "\t", "\u3000", "\xa0", "\x1c", "\x85", "&amp;"),
        *("&nbsp;", "&#20013;", "&#x4e2d;", "&lt;", "&#128;", "&bogus;", "&", "<", ">", "x"),
    ]
)


@settings(max_examples=500)
@given(html=st.lists(_PIECE, max_size=30).map("".join))
def test_html_text_equals_the_token_walk_on_generated_html(html: str) -> None:
    assert html_text(html) == token_text(html)
