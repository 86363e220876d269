"""normalise: eastmoney clean-up, sanitising, rendering and text fields."""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest
from bs4 import BeautifulSoup

from aggregator import markdown
from aggregator.normalise import (
    MAX_HTML_CHARS,
    clean_html,
    digest_text,
    media_from_html,
    plain_text,
    render_body,
    sanitise_html,
    strip_xml_illegal,
)

DATA = Path(__file__).parent / "data"
POSTS = DATA / "finews_posts"
SEED_SHARE_URL = (
    "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061"
)


def read_exact(path: Path) -> str:
    """The file's text with its line endings untouched (the fixtures have CRLF inside)."""
    return path.read_bytes().decode("utf-8")


def post_body(path: Path) -> str:
    """Everything after the front matter."""
    return read_exact(path).split("---\n", 2)[2]


def article_html(path: Path) -> str:
    """The article HTML: the body up to the link line, without a leading `> digest` paragraph."""
    html = post_body(path).split("\n\n<http", 1)[0]
    if html.startswith("> "):
        html = html.split("\n\n", 1)[1]
    return html


def visible_text(html: str) -> str:
    return BeautifulSoup(html, "html.parser").get_text()


# --- the seed post: byte for byte ----------------------------------------------------------


def test_seed_body_comes_out_byte_identical_from_the_crlf_text_field() -> None:
    raw = article_html(POSTS / "2021-12-16-NW202112162215638061.md")
    expected = article_html(DATA / "seed_post.md")
    assert raw.count("\r\n") == 14  # the GetNewsText `text` field joins paragraphs with CRLF
    assert "\r" not in expected

    cleaned = clean_html(raw, base_url=SEED_SHARE_URL)

    assert cleaned.encode("utf-8") == expected.encode("utf-8")


def test_seed_body_is_a_fixed_point() -> None:
    seed = article_html(DATA / "seed_post.md")
    assert clean_html(seed) == seed
    assert clean_html(seed, base_url=SEED_SHARE_URL) == seed


def test_seed_body_keeps_the_space_between_paragraphs() -> None:
    # bs4 shrinks whitespace-only text between tags unless told not to.
    assert clean_html("<p>a</p>\r\n <p>b</p>") == "<p>a</p>\n <p>b</p>"


# --- eastmoney `content` bodies ------------------------------------------------------------

EMNEWS_FIXTURES = [
    "2022-05-26-202205262391921712.md",
    "-202205262391921712.md",
    "2022-01-07-202201072239307540.md",
    "2022-02-11-NW202202112274017262.md",
    "2022-04-21-202204212352227421.md",
    "2022-05-30-202205302396671291.md",
    "2022-01-24-NW202201242259229980.md",  # CRLF joins, <center> images
    "2022-04-21-NW202204212352227421.md",  # CRLF joins
]


@pytest.mark.parametrize("name", EMNEWS_FIXTURES)
def test_eastmoney_furniture_is_gone_and_no_text_is_lost(name: str) -> None:
    raw = article_html(POSTS / name)

    cleaned = clean_html(raw, base_url="http://finance.eastmoney.com/a/202205262391921712.html")

    for leftover in ("<span", "keytip", "infokey", "em_stock_key_common", "EmImageRemark"):
        assert leftover not in cleaned
    for leftover in ("webquoteklinepic", "K图", "display:none", "EM_StockImg", "<!--", "style="):
        assert leftover not in cleaned
    # The charts have no text (only alt text), so the visible text is exactly the input's.
    assert visible_text(cleaned) == visible_text(raw.replace("\r\n", "\n"))


def test_stock_links_become_their_text() -> None:
    raw = article_html(POSTS / "2022-05-26-202205262391921712.md")

    cleaned = clean_html(raw)

    assert cleaned.startswith(
        "<p>国内首款使用超低GWP(全球变暖潜值)制冷剂的新能源汽车来了！<br></p>"
        "<p>据霍尼韦尔官网消息，5月24日，霍尼韦尔宣布为蔚来旗下ET7新能源汽车提供"
        "HFO-1234yf(四氟丙烯)制冷剂。"
    )
    assert (
        '<p><img alt="Image" src="https://dfscdn.dfcfw.com/download/'
        'D24676903417074885805_w800h555.jpg" width="552"></p><p>图片来源：霍尼韦尔官网</p>'
    ) in cleaned
    assert "《&lt;蒙特利尔议定书&gt;基加利修正案》" in cleaned
    assert cleaned.endswith('<p class="em_media">（文章来源：上海证券报）</p>')
    assert cleaned.count("<img") == 3


def test_two_kline_blocks_and_the_hidden_paragraphs_are_dropped_whole() -> None:
    raw = article_html(POSTS / "2022-02-11-NW202202112274017262.md")

    cleaned = clean_html(raw, base_url=SEED_SHARE_URL)

    assert cleaned == (
        "<p>每经AI快讯，有投资者在投资者互动平台提问：海外市场波动，公司控股参股公司，比如凯傲，"
        "巴拉德，ceres，法拉蒂，对公司的业绩以及后续发展有怎样的影响？<br></p>"
        "<p>潍柴动力(000338.SZ)2月11日在投资者互动平台表示，2021年以来，随着全球经济和叉车行业"
        "复苏以及供应链解决方案需求的持续提升，凯傲集团前三季度实现了强劲增长，营业收入75.3亿欧元，"
        "同比增长25.6%；净利润4.3亿欧元，同比增长2.25倍，目前经营稳健向好。巴拉德和锡里斯不纳入"
        "合并财务报表范围，法拉帝为公司控股股东潍柴集团控股子公司。</p>"
        '<p class="em_media">（文章来源：每日经济新闻）</p>'
    )


def test_split_word_autolink_is_flattened_without_losing_text() -> None:
    raw = (
        '<p>培育壮<span id="stock_0.300166"><a href="http://quote.eastmoney.com/unify/r/0.300166"'
        ' class="keytip" data-code="0,300166">大智慧</a></span><span id="quote_0.300166"></span>'
        '产品，<span web="1" href="http://quote.eastmoney.com/unify/r/0.300166"'
        ' class="em_stock_key_common" data-code="0,300166">大智慧</span>，'
        '<span id="Info.3321"><a href="http://data.eastmoney.com/bbsj/" class="infokey">业绩</a>'
        '</span>，<span id="Info.116.00700"><a href="http://quote.eastmoney.com/unify/r/116.00700"'
        ' class="keytip" data-code="116,00700">腾讯控股</a></span>，'
        '<a href="http://quote.eastmoney.com/unify/r/1.600000">浦发银行</a></p>'
    )
    assert clean_html(raw) == "<p>培育壮大智慧产品，大智慧，业绩，腾讯控股，浦发银行</p>"


def test_kline_chart_without_link_wrapper_and_markers() -> None:
    raw = (
        '<p>前文</p><p style="text-align:center;"><img src="https://webquoteklinepic.eastmoney.com/'
        'GetPic.aspx?nid=0.000338&imageType=k&token=28dfeb41d35cc81d84b4664d7c23c49f&at=1"'
        ' alt="K图 000338_0" width="578" height="276" /></p><p>后文<img'
        ' src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=1.600000"></p>'
    )
    assert clean_html(raw) == "<p>前文</p><p>后文</p>"


def test_text_between_chart_markers_is_kept() -> None:
    raw = (
        "<!-- EM_StockImg_Start --><p>不是图表的文字</p>"
        '<p style="text-align:center;"><a href="http://quote.eastmoney.com/unify/r/0.1"'
        ' class="EmImageRemark"><img src="https://example.com/x.png"></a></p>'
        "<!-- EM_StockImg_End --><p>后文</p>"
    )
    assert clean_html(raw) == "<p>不是图表的文字</p><p>后文</p>"


def test_full_width_indents_are_stripped_at_paragraph_and_line_starts_only() -> None:
    raw = (
        "<p>　　第一段<br />　　第二行\n　　第三行</p>\n <p><strong>　　小标题</strong></p>"
        "<p>句中　　的空格保留</p>"
    )
    assert clean_html(raw) == (
        "<p>第一段<br>第二行\n第三行</p>\n <p><strong>小标题</strong></p><p>句中　　的空格保留</p>"
    )
    assert clean_html("　　纯文本第一段\n　　第二段") == "纯文本第一段\n第二段"


def test_center_becomes_a_paragraph_and_images_are_tidied() -> None:
    raw = (
        '<center><img src="/download/D1_w800h555.jpg" alt="图片" width="552" height="300"'
        ' border="0" orginial_src="/download/D1_o.jpg"'
        ' style="border:#d1d1d1 1px solid;padding:3px;margin:5px 0;" /></center>'
        "<center><p>段落</p></center>"
    )
    assert clean_html(raw, base_url="https://dfscdn.dfcfw.com/a/b.html") == (
        '<p><img alt="图片" height="300" src="https://dfscdn.dfcfw.com/download/D1_w800h555.jpg"'
        ' width="552"></p><p>段落</p>'
    )


def test_relative_urls_are_made_absolute_against_the_base() -> None:
    raw = (
        '<p><img src="pic/a.jpg"><a href="/a/1.html">站内</a><a href="//cdn.example.com/x">协议相对</a>'
        '<a href="https://other.example/y" title="t">外链</a></p>'
    )
    rel = 'rel="noopener noreferrer nofollow"'
    assert clean_html(raw, base_url="https://finance.eastmoney.com/news/1354,1.html") == (
        '<p><img src="https://finance.eastmoney.com/news/pic/a.jpg">'
        f'<a href="https://finance.eastmoney.com/a/1.html" {rel}>站内</a>'
        f'<a href="https://cdn.example.com/x" {rel}>协议相对</a>'
        f'<a href="https://other.example/y" title="t" {rel}>外链</a></p>'
    )
    # Without a base (or with one that is not an http URL) relative URLs are left alone.
    assert clean_html('<img src="pic/a.jpg">') == '<img src="pic/a.jpg">'
    assert clean_html('<img src="pic/a.jpg">', base_url="not a url") == '<img src="pic/a.jpg">'


def test_the_parse_wrapper_never_leaks() -> None:
    raw = "</aggregator-fragment><p>x</p>\n <p>y</p><aggregator-fragment>z"
    assert clean_html(raw) == "<p>x</p>\n<p>y</p>z"


def test_comments_are_removed_and_entities_stay_escaped() -> None:
    raw = "<p>a<!-- note -->b &lt;c&gt; &amp; d&nbsp;e</p>"
    assert clean_html(raw) == "<p>ab &lt;c&gt; &amp; d&nbsp;e</p>"


def test_xml_illegal_characters_are_removed() -> None:
    raw = "<p>\x00a\x0bb\ufffec\ud800d\x1fe\tf\x08g\uffffh</p>"
    assert clean_html(raw) == "<p>abcde\tfgh</p>"
    assert strip_xml_illegal("a\x00b\rc\nd\te\ufffef\udfff𠮷") == "abc\nd\tef𠮷"


@pytest.mark.parametrize(
    "reference", ["&#1;", "&#x1F;", "&#13;", "&#xFFFE;", "&#65535;", "&#xD800;", "&#0;", "&#x0c"]
)
def test_character_references_never_bring_back_what_xml_cannot_carry(reference: str) -> None:
    """Bodies without `&#` skip the scans around nh3 (render_body); with one, in text, in an
    attribute, in raw HTML or in Markdown, the result is still clean, as with every scan."""
    for body in (
        f"<p>a{reference}b</p>",
        f'<p><a href="https://e.org/{reference}" title="t{reference}">x</a></p>',
        f"a{reference}b *c*\n\n[d{reference}](https://e.org/)",
        f"<p>{'<b>' * 300}{reference}</p>",  # flattened first (beautifulsoup decodes it too)
    ):
        rendered = render_body(body, base_url="https://site.example")
        assert rendered == strip_xml_illegal(rendered)
        html = markdown.render(strip_xml_illegal(body))
        cleaned = strip_xml_illegal(sanitise_html(strip_xml_illegal(html), "https://site.example"))
        assert rendered == cleaned


def test_absurd_nesting_is_flattened_to_256_levels() -> None:
    assert clean_html("<b>" * 300 + "x") == "<b>" * 256 + "x" + "</b>" * 256
    assert clean_html("<div>" * 20_000 + "深" + "</div>" * 20_000) == "深"
    assert sanitise_html("<i>" * 1_000 + "x") == "<i>" * 256 + "x" + "</i>" * 256


def test_input_is_capped_without_a_half_tag_at_the_end() -> None:
    raw = "<p>" + "字" * MAX_HTML_CHARS + "</p>"
    cleaned = clean_html(raw)
    assert cleaned == "<p>" + "字" * (MAX_HTML_CHARS - 3) + "</p>"
    assert clean_html("x" * (MAX_HTML_CHARS - 2) + "<img src=a>") == "x" * (MAX_HTML_CHARS - 2)


# --- XSS: a small set here, each with its exact result -------------------------------------

RELS = 'rel="noopener noreferrer nofollow"'
XSS_CASES = [
    ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
    ("<p>a<img src=x onerror=alert(1)>b</p>", '<p>a<img src="https://example.com/a/x">b</p>'),
    ('<p><a href="javascript:alert(1)">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><a href="JaVaScRiPt:alert(1)">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><a href="java&#x09;script:alert(1)">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><a href="java&#x0A;script:alert(1)">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><a href="  javascript:alert(1)">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><a href="vbscript:msgbox(1)">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><a href="data:text/html;base64,PHNjcmlwdD4=">x</a></p>', f"<p><a {RELS}>x</a></p>"),
    ('<p><img src="data:image/svg+xml;base64,PHN2Zz4=" alt="s"></p>', '<p><img alt="s"></p>'),
    (
        '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="ok"></p>',
        '<p><img alt="ok" src="data:image/png;base64,iVBORw0KGgo="></p>',
    ),
    ('<p>a<svg onload=alert(1)><a xlink:href="javascript:alert(1)">s</a></svg>b</p>', "<p>ab</p>"),
    ('<p>a<iframe src="https://evil.example/" srcdoc="<b>x</b>">f</iframe>b</p>', "<p>ab</p>"),
    ('<style>p{color:red}</style><p style="background:url(javascript:alert(1))">a</p>', "<p>a</p>"),
    ('<form action="https://evil.example/"><input type="password" name="p">Login</form>', "Login"),
    ("<!--><img src=x onerror=alert(1)>-->", ""),
    ('<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>', ""),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""),
    (
        '<object data="x.swf"></object><embed src="x.swf"><meta http-equiv="refresh"'
        ' content="0;url=javascript:alert(1)"><base href="https://evil.example/">t',
        "t",
    ),
    (
        '<a href="https://example.com/" target="_blank" onclick="x()">ok</a>',
        f'<a href="https://example.com/" {RELS}>ok</a>',
    ),
    ("<body onload=alert(1)><p>ab</p>", "<p>ab</p>"),
    (
        '<img srcset="javascript:alert(1) 1x" src="https://example.com/a.png">',
        '<img src="https://example.com/a.png">',
    ),
    ('<video poster="javascript:alert(1)">v</video>', "v"),
]
DANGEROUS_ELEMENTS = {"script", "iframe", "object", "embed", "form", "input", "meta", "base"}
DANGEROUS_ELEMENTS |= {"style", "svg", "math", "link", "video", "noscript"}


def assert_inert(html: str) -> None:
    """The oracle: re-parse like a browser and look for anything active."""
    fragment = html5lib.parseFragment(html, namespaceHTMLElements=False)
    for element in fragment.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag.split("}")[-1] not in DANGEROUS_ELEMENTS, html
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), html
            assert name not in {"style", "srcset", "srcdoc", "poster"}, html
            url = "".join(value.split()).lower()
            assert not url.startswith(("javascript:", "vbscript:", "data:text")), html


@pytest.mark.parametrize(("raw", "expected"), XSS_CASES)
def test_xss_vectors_are_neutralised(raw: str, expected: str) -> None:
    cleaned = clean_html(raw, base_url="https://example.com/a/b.html")
    assert cleaned == expected
    assert_inert(cleaned)
    assert_inert(sanitise_html(raw))  # nh3 alone is the boundary, without the bs4 step
    assert_inert(render_body(raw))


# --- render_body ---------------------------------------------------------------------------


def test_render_body_of_the_seed_post() -> None:
    body = post_body(DATA / "seed_post.md")
    article = article_html(DATA / "seed_post.md")
    link = SEED_SHARE_URL
    rel = RELS

    assert render_body(body) == (
        article + "\n"
        f'<p><a href="{link}" {rel}>{link}</a></p>\n'
        f'<p><a href="//finews.withounder.com/category/renminyoudianbao.html" {rel}>返回人民邮电报新闻</a>'
        f'｜<a href="//finews.withounder.com/" {rel}>返回首页</a></p>\n'
    )
    assert render_body(body, base_url="https://finews.withounder.com").endswith(
        f'<p><a href="https://finews.withounder.com/category/renminyoudianbao.html" {rel}>'
        f'返回人民邮电报新闻</a>｜<a href="https://finews.withounder.com/" {rel}>返回首页</a></p>\n'
    )


def test_render_body_with_a_digest_quote() -> None:
    body = (
        "> 摘要（券商中国）\n\n<p>正文</p>\n\n<http://finance.eastmoney.com/news/1353,1.html>\n\n"
        "[返回东财滚动新闻](//finews.withounder.com/emnews/)"
    )
    assert render_body(body) == (
        "<blockquote>\n<p>摘要（券商中国）</p>\n</blockquote>\n<p>正文</p>\n"
        f'<p><a href="http://finance.eastmoney.com/news/1353,1.html" {RELS}>'
        "http://finance.eastmoney.com/news/1353,1.html</a></p>\n"
        f'<p><a href="//finews.withounder.com/emnews/" {RELS}>返回东财滚动新闻</a></p>\n'
    )


def test_render_body_sanitises_markdown_links() -> None:
    body = "[x](javascript:alert(1)) ![i](data:image/png;base64,AAAA) <b onclick=x()>b</b>"
    assert render_body(body) == (
        '<p>[x](javascript:alert(1)) <img src="data:image/png;base64,AAAA" alt="i"> <b>b</b></p>\n'
    )


# --- text fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("“十四五”工业绿色发展蓝图绘就", "“十四五”工业绿色发展蓝图绘就"),
        ("  a \n\t b  ", "a b"),
        ("AT&amp;T &lt;b&gt;bold&lt;/b&gt;", "AT&T <b>bold</b>"),
        ("<b>粗</b>体 <script>alert(1)</script>", "粗体"),
        ("&amp;lt;", "&lt;"),
        ("a\x00b\x0bc\x85d\u2028e\u2029f\x9fg", "a b c d e f g"),
        ("a\ufffeb\ud800c", "abc"),
        ("http://example.com/a.html", "http://example.com/a.html"),
        ("沪指<3000点 x<y z", "沪指<3000点 x<y z"),
        ("标题</title><script>alert(1)</script>", "标题"),
        ("", ""),
    ],
)
def test_plain_text(raw: str, expected: str) -> None:
    assert plain_text(raw) == expected


def test_plain_text_truncates_to_the_limit() -> None:
    assert plain_text("字" * 1500) == "字" * 1000
    assert plain_text("abc def", limit=4) == "abc"
    assert plain_text("abcdef", limit=0) == ""


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("2021-12-16-NW202112162215638061.md", "人民邮电报"),
        ("2022-05-26-202205262391921712.md", "上海证券报"),
        ("2022-01-07-202201072239307540.md", "券商中国"),
        ("2022-02-11-NW202202112274017262.md", "每日经济新闻"),
        ("2022-01-24-NW202201242259229980.md", "21世纪经济报道"),
        ("2022-04-21-NW202204212352227421.md", "央视新闻客户端"),
    ],
)
def test_media_from_fixture_bodies(name: str, media: str) -> None:
    assert media_from_html(article_html(POSTS / name)) == media


def test_media_from_html_forms() -> None:
    linked = (
        '<p>正文</p><p class="em_media">（文章来源：中国<span id="bk_90.BK0473"><a'
        ' href="http://quote.eastmoney.com/unify/r/90.BK0473" class="keytip"'
        ' data-code="90,BK0473">证券</a></span><span id="bkquote_90.BK0473"></span>报）</p>'
    )
    assert media_from_html(linked) == "中国证券报"
    assert media_from_html('<p class="em_media">（文章来源：人民邮电报）</p>') == "人民邮电报"
    assert media_from_html("<p>正文</p><p>(文章来源: 新华社)</p>") == "新华社"
    assert media_from_html("<p>正文，没有来源</p>") is None
    assert media_from_html('<p class="em_media">（文章来源：）</p>') is None
    assert media_from_html("") is None
    assert media_from_html("纯文本") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "【资管圈风向又变！】券商中国获悉，1月5日。（券商中国）",
            "券商中国获悉，1月5日。（券商中国）",
        ),
        ("【标题】含【括号】的摘要】尾部", "尾部"),
        ("没有标题的摘要 ", "没有标题的摘要"),
        ("【只有标题】", ""),
        ("【t】a &amp; b\n c", "a & b c"),
    ],
)
def test_digest_text(raw: str, expected: str) -> None:
    assert digest_text(raw) == expected
