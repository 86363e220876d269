"""markdown.render takes cmark's fast path only where its bytes are markdown-it-py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import markdown
from aggregator.normalise import render_body

DATA = Path(__file__).parent / "data"
FRONT_MATTER = re.compile(r"\A(?:[ \t]*\r?\n)*---[ \t]*\r?\n(?:[^\n]*\n)*?---[ \t]*(?:\r?\n|\Z)")


def bodies() -> list[str]:
    found = []
    for path in sorted(DATA.glob("**/*.md")):
        text = path.read_text("utf-8", errors="replace").removeprefix("\ufeff")
        match = FRONT_MATTER.match(text)
        found.append(text[match.end() :] if match else text)
    return found


def test_every_stored_body_renders_as_markdown_it_does() -> None:
    texts = bodies()
    assert len(texts) > 50
    for text in texts:
        assert markdown.render(text) == markdown.render_reference(text)


def test_the_bodies_we_write_take_the_fast_path() -> None:
    texts = bodies()
    fast = [text for text in texts if markdown._fast_ok(text)]
    assert len(fast) == len(texts) == 59


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",  # markdown-it refuses the link; cmark would not
        "<JavaScript:alert(1)>",
        "![i](data:text/html,x)",
        "[v]( VBScript:x)",
        "[x](http://例子.com/路径)",  # punycode and percent-encoding
        "[e](http://a.com/%zz)",
        '[t](/u "&#xD800;title")',
        "<http://a.com/?q='x'>",
        "\u3000paragraph\u3000",
        "- \u202fitem",  # a Unicode space where a container's text starts
        "> \u205fquote",
        "1. \u3000x",
        "# heading\u3000 ##",  # ... or before a heading's closing marks
        "a\u3000\nb",
        "a\u2028b",
        "`` `t` `d`",
        "~~~&#0;\n",
        "> \n",
        "- >\n",
        "a\\  \nb",
        "<div>\nno final newline",
        "x <!----> y",
        "x <!-- a <!DOCTYPE html>",
        "[a]: /x\n\n[a]",
    ],
)
def test_corners_where_the_two_differ_go_the_slow_way(text: str) -> None:
    assert not markdown._fast_ok(text)
    assert markdown.render(text) == markdown.render_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "\n正文(较最新收盘价高近17%)。\n\n<http://finance.eastmoney.com/news/1344,2021.html>",
        "a\n<https://e.org/x?a=1>",
        "<http://a.b/c>",
        "<section:x>",
    ],
)
def test_a_text_ending_in_an_autolink_line_takes_the_fast_path(text: str) -> None:
    assert markdown._fast_ok(text)
    assert markdown.render(text) == markdown.render_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "<p>\u3000\u3000正文\u3000第二句。</p>\n",
        "中文\u3000*强调*\u3000文字\n",
        "a *\u3000b* c\xa0d\u2003e\n\n<http://a.b/c>",
        "Big data: a profile: file: javascript: in prose [x](http://a.b/data:x)\n",
        "<div>\n\u3000\u3000x\n</div>\n",  # (a line start: the slow way, the same bytes)
    ],
)
def test_unicode_spaces_inside_a_line_and_schemes_in_prose_take_the_fast_path(text: str) -> None:
    assert markdown._fast_ok(text) is ("<div>" not in text)
    assert markdown.render(text) == markdown.render_reference(text)


def test_a_written_body_is_rendered_like_before() -> None:
    body = (
        '<p>正文 <a href="http://a.example/x?a=1&amp;b=2">链接</a></p><p class="em_media">'
        "（文章来源：人民邮电报）</p>\n\n"
        "<http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061>"
        "\n\n[返回人民邮电报新闻](//finews.withounder.com/category/renminyoudianbao.html)"
        "｜[返回首页](//finews.withounder.com/)"
    )
    assert markdown._fast_ok(body)
    rels = 'rel="noopener noreferrer nofollow"'
    assert render_body(body, base_url="https://finews.withounder.com") == (
        f'<p>正文 <a href="http://a.example/x?a=1&amp;b=2" {rels}>链接</a></p>'
        '<p class="em_media">（文章来源：人民邮电报）</p>\n'
        '<p><a href="http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode='
        f'NW202112162215638061" {rels}>http://choicewzp1.eastmoney.com/html_News/'
        "NewsShare.html?infoCode=NW202112162215638061</a></p>\n"
        f'<p><a href="https://finews.withounder.com/category/renminyoudianbao.html" {rels}>'
        f'返回人民邮电报新闻</a>｜<a href="https://finews.withounder.com/" {rels}>返回首页</a></p>\n'
    )


# pieces of Markdown, HTML and text that the two have read differently, and ordinary ones
PIECES = [
    "*", "_", "**", "[", "]", "(", ")", "<", ">", "`", "```", "~~~", "\n", "\n\n", " ", "  ",
    "    ", "#", "- ", "1. ", "> ", "&amp;", "&#91;", "&quot;", "\\", "!", "<p>", "</p>",
    "<div>", "</div>", "<pre>", "a", "文", "http://x.y/z", "<http://a.b/c>", "<a@b.c>",
    "[x](//s.com/a.html)", "[y](http://例子.com/路)", "[z](<a b>)", "[j](javascript:x)",
    "[t](/u \"t\")", "[r][1]", "[1]: /x", "![i](x.png)", "[e](http://a.com/%zz)",
    "[q](http://a.com/?a=1&b=2)", "｜", "\u3000", "<!--", "-->", "<!---->", "<br>", "~~", "|",
    "---", "===", "<script>", "'", '"', "\t", "\r\n", "\xa0", "&nbsp;", "&#0;", "\u2028", "<![CDATA[x]]>",
    "<!DOCTYPE html>", "<textarea>", "`code`", "&copy;",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_generated_text_renders_as_markdown_it_does(text: str) -> None:
    assert markdown.render(text) == markdown.render_reference(text)
