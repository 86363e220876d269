"""The eastmoney adapter against the fake eastmoney server (tests/fake_eastmoney.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_eastmoney import FakeEastmoney
from simple_fetcher import SimpleFetcher

from aggregator.errors import ExtractError, FetchError
from aggregator.models import RawItem, Source
from aggregator.sources.eastmoney import fetch_eastmoney

DATA = Path(__file__).parent / "data"
SEED = "NW202112162215638061"  # 人民邮电报, CRLF body
SNOWBALL = "202201072239307540"  # 券商中国; emnews + NW twins
SNOWBALL_TITLE = "资管圈风向又变！雪球结构产品再迎强监管 信托公司雪球发行被叫停 影响多大？"
SNOWBALL_DIGEST = (
    "券商中国获悉，1月5日，部分涉及衍生品业务的信托公司(主要是雪球类)收到监管窗口指导，"
    "暂停涉及雪球类券商收益凭证产品的发行。（券商中国）"
)
WEICHAI = "NW202202112274017262"  # 每日经济新闻
CHOICE_SHARE = "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode="
MEDIA_ORDER = [
    "NW202205302396671645",
    "NW202205292395438077",
    "NW202204212352227421",
    "NW202202112274017262",
    "NW202201242259229980",
    "NW202201072239307540",
    "NW202112162215638061",
]
TEXT_PATH = "/NewsData/GetNewsText.do"
SHARE_PATH = "/html_News/NewsShare.html"


@pytest.fixture
def em() -> Iterator[FakeEastmoney]:
    with FakeEastmoney() as server:
        yield server


@pytest.fixture
def fetcher() -> Iterator[SimpleFetcher]:
    simple = SimpleFetcher()
    yield simple
    simple.close()


def source(em: FakeEastmoney, *urls: str, **options: Any) -> Source:
    options.setdefault("text_api", em.text_api)
    return Source(name="em-test", type="eastmoney", urls=urls, **options)


def by_key(items: tuple[RawItem, ...]) -> dict[str, RawItem]:
    return {item.key: item for item in items}


def seed_body() -> str:
    text = (DATA / "seed_post.md").read_text(encoding="utf-8")
    body = text.split("---\n", 2)[2]
    return body.rpartition("\n\n<")[0]


# --- the fake itself ---------------------------------------------------------------------------


def test_fake_serves_the_seed_body_byte_exact(em: FakeEastmoney) -> None:
    text = em.articles[SEED].text
    assert text is not None
    assert "\r\n <p>" in text
    assert text.replace("\r\n", "\n") == seed_body()


# --- the four list shapes ----------------------------------------------------------------------


def test_rolling_news_records(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    result = fetch_eastmoney(
        source(em, em.rolling_url(), category="emnews", tag="东财滚动新闻"), fetcher
    )

    assert result.errors == ()
    assert [item.key for item in result.items] == [
        "202205302396671645",
        "202205302396671291",
        "202205262391921712",
        "202204212352227421",
        "202201072239307540",
    ]
    item = by_key(result.items)[SNOWBALL]
    assert item == RawItem(
        source_name="em-test",
        key=SNOWBALL,
        guid=f"urn:eastmoney:{SNOWBALL}",
        title=SNOWBALL_TITLE,
        date_text="2022-01-07 08:14:19",
        timezone="Asia/Shanghai",
        link=f"http://finance.eastmoney.com/news/1353,{SNOWBALL}.html",
        html=em.articles["NW" + SNOWBALL].content or "",
        digest=f"【{SNOWBALL_TITLE}】{SNOWBALL_DIGEST}",
        media=None,
        category="emnews",
        tag="东财滚动新闻",
    )
    # the `content` twin: stock-link spans kept
    assert item.html.startswith("<p>资管新规刚刚迈入落地元年")
    assert '<span id="Info.3306">' in item.html


def test_media_node_list(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    result = fetch_eastmoney(source(em, em.media_url()), fetcher)

    assert result.errors == ()
    assert [item.key for item in result.items] == MEDIA_ORDER
    assert by_key(result.items)[SEED] == RawItem(
        source_name="em-test",
        key=SEED,
        guid=f"urn:eastmoney:{SEED}",
        title="“十四五”工业绿色发展蓝图绘就",
        date_text="2021-12-16 09:30:00",
        timezone="Asia/Shanghai",
        link=CHOICE_SHARE + SEED,
        html=em.articles[SEED].text or "",
        digest=None,
        media="人民邮电报",
    )
    assert by_key(result.items)[SEED].html.replace("\r\n", "\n") == seed_body()


def test_market_record_list_with_custom_share_url(
    em: FakeEastmoney, fetcher: SimpleFetcher
) -> None:
    share = "https://share.example/{code}?i={infoCode}"
    result = fetch_eastmoney(source(em, em.market_url(count=5), share_url=share), fetcher)

    assert [item.key for item in result.items] == MEDIA_ORDER[:5]
    item = by_key(result.items)[WEICHAI]
    assert (item.title, item.date_text, item.media, item.digest) == (
        "潍柴动力：巴拉德和锡里斯不纳入合并财务报表范围",
        "2022-02-11 14:29:25",
        "每日经济新闻",
        None,
    )
    assert item.guid == f"urn:eastmoney:{WEICHAI}"
    assert item.link == f"https://share.example/202202112274017262?i={WEICHAI}"
    assert item.html.startswith('<p style="display:none;height:1px;overflow:hidden;"><br /></p>')
    assert item.html.endswith('<p class="em_media">（文章来源：每日经济新闻）</p>')


@pytest.mark.parametrize("callback", [None, "jQuery1123_4"])
def test_columns_list_plain_and_jsonp(
    em: FakeEastmoney, fetcher: SimpleFetcher, callback: str | None
) -> None:
    result = fetch_eastmoney(source(em, em.columns_url(callback=callback)), fetcher)

    assert result.errors == ()
    assert [item.key for item in result.items] == MEDIA_ORDER
    item = by_key(result.items)["NW" + SNOWBALL]
    assert item == RawItem(
        source_name="em-test",
        key="NW" + SNOWBALL,
        guid=f"urn:eastmoney:NW{SNOWBALL}",
        title=SNOWBALL_TITLE,
        date_text="2022-01-07 08:14:19",
        timezone="Asia/Shanghai",
        link=f"http://finance.eastmoney.com/a/{SNOWBALL}.html",
        html=em.articles["NW" + SNOWBALL].text or "",
        media="券商中国",
    )
    # media items take the `text` twin (no stock-link spans)
    assert "<span" not in item.html


def test_rolling_record_with_empty_fields(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    record = (
        '{"records":[{"id":"202205262391921712","infoCode":"","title":"",'
        '"digest":"【从摘要取的标题】摘要正文（上海证券报）","showtime":"","url_w":""}]}'
    )
    em.override("/web/webapi?type=102", record.encode())

    (item,) = fetch_eastmoney(source(em, em.rolling_url()), fetcher).items

    assert item.title == "从摘要取的标题"
    assert item.date_text is None
    assert item.link == "http://finance.eastmoney.com/a/202205262391921712.html"
    assert item.digest == "【从摘要取的标题】摘要正文（上海证券报）"


# --- share links -------------------------------------------------------------------------------


def test_share_link_title_from_share_page(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    url = em.share_url(SEED)
    result = fetch_eastmoney(source(em, url, text_api=None), fetcher)

    assert result.items == (
        RawItem(
            source_name="em-test",
            key=SEED,
            guid=f"urn:eastmoney:{SEED}",
            title="“十四五”工业绿色发展蓝图绘就",
            date_text="2021-12-16",
            timezone="Asia/Shanghai",
            link=url,
            html=em.articles[SEED].text or "",
        ),
    )
    # the body came from the link's own host, the page was fetched unconditionally
    assert [r.query for r in em.received if r.path == TEXT_PATH] == [{"id": SEED}]
    assert [(c.url, c.conditional) for c in fetcher.calls if SHARE_PATH in c.url] == [(url, False)]


def test_share_link_title_and_date_from_text_api(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.text_meta = True
    url = em.base_url + f"/html_News/NewsShare.html?INFOCODE={WEICHAI}"

    (item,) = fetch_eastmoney(source(em, url), fetcher).items

    assert (item.key, item.title, item.date_text) == (
        WEICHAI,
        "潍柴动力：巴拉德和锡里斯不纳入合并财务报表范围",
        "2022-02-11 14:29:25",
    )
    assert em.count(SHARE_PATH) == 0


@pytest.mark.parametrize(
    "page_title",
    [
        "标题 - 东方财富网",
        "标题_东方财富网",
        "标题-东方财富网",
        "标题 - Choice数据",
        "标题_Choice金融终端",
        "  标题 - 东方财富网_Choice数据 ",
    ],
)
def test_share_page_suffix_stripped(
    em: FakeEastmoney, fetcher: SimpleFetcher, page_title: str
) -> None:
    page = f"<html><head><title>{page_title}</title><script>var a=1;</script></head></html>"
    em.override(f"{SHARE_PATH}?infoCode={SEED}", page.encode(), content_type="text/html")

    (item,) = fetch_eastmoney(source(em, em.share_url(SEED)), fetcher).items

    assert item.title == "标题"


def test_share_page_without_title_is_an_item_error(
    em: FakeEastmoney, fetcher: SimpleFetcher
) -> None:
    em.override(f"{SHARE_PATH}?infoCode={SEED}", b"<html><script></script></html>")

    result = fetch_eastmoney(source(em, em.share_url(SEED)), fetcher)

    assert result.items == ()
    assert result.errors == (f"{SEED}: no title in the text API or the share page",)


@pytest.mark.parametrize(
    "query", ["infoCode=NW2021121622156380", "infoCode=AN202112162215638061", "id=x"]
)
def test_share_link_with_bad_info_code(
    em: FakeEastmoney, fetcher: SimpleFetcher, query: str
) -> None:
    url = f"{em.base_url}{SHARE_PATH}?{query}"
    with pytest.raises(ExtractError) as caught:
        fetch_eastmoney(source(em, url), fetcher)
    assert str(caught.value) == f"{url}: share link without a valid infoCode (NW + 18 digits)"
    assert em.received == []


# --- conditional requests ----------------------------------------------------------------------


def test_second_pass_sends_if_none_match_and_counts_unchanged(
    em: FakeEastmoney, fetcher: SimpleFetcher
) -> None:
    src = source(em, em.media_url())
    first = fetch_eastmoney(src, fetcher)
    assert (len(first.items), first.unchanged) == (7, 0)
    em.reset_log()

    second = fetch_eastmoney(src, fetcher)

    assert (second.items, second.unchanged, second.errors, second.not_modified) == (
        (),
        7,
        (),
        False,
    )
    texts = [r for r in em.received if r.path == TEXT_PATH]
    assert len(texts) == 7
    assert all(r.if_none_match and r.if_none_match.startswith('"') for r in texts)


def test_changed_text_is_returned_again(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    src = source(em, em.media_url())
    fetch_eastmoney(src, fetcher)
    em.update_article(WEICHAI, text="<p>更正后的正文</p>")

    second = fetch_eastmoney(src, fetcher)

    assert [(item.key, item.html) for item in second.items] == [(WEICHAI, "<p>更正后的正文</p>")]
    assert second.unchanged == 6


def test_list_304_everywhere_is_not_modified(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.list_etags = True
    src = source(em, em.media_url(), em.rolling_url())
    fetch_eastmoney(src, fetcher)
    em.reset_log()

    second = fetch_eastmoney(src, fetcher)

    assert second.not_modified is True
    assert second.items == ()
    assert em.count("/web/webapi") == 2
    assert em.count(TEXT_PATH) == 0


def test_list_304_on_one_url_only_goes_on(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.list_etags = True
    src = source(em, em.media_url(), em.rolling_url())
    fetch_eastmoney(src, fetcher)
    em.update_article(WEICHAI, title="新标题")  # changes the media list only

    second = fetch_eastmoney(src, fetcher)

    assert second.not_modified is False
    assert (second.items, second.unchanged) == ((), 7)


# --- failures ----------------------------------------------------------------------------------


def test_one_failing_text_is_one_error_line(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    failing = "NW202201242259229980"
    em.fail(f"{TEXT_PATH}?id={failing}", 500)

    result = fetch_eastmoney(source(em, em.media_url()), fetcher)

    assert [item.key for item in result.items] == [k for k in MEDIA_ORDER if k != failing]
    assert result.errors == (f"{failing}: {em.text_url(failing)}: HTTP 500",)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>busy</html>", "invalid JSON"),
        (b'{"title": "x"}', "no text or content field in"),
        (b'{"data": null, "text": ""}', "no text or content field in"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_bad_text_answers_are_item_errors(
    em: FakeEastmoney, fetcher: SimpleFetcher, body: bytes, reason: str
) -> None:
    em.override(f"{TEXT_PATH}?id={SEED}", body)

    result = fetch_eastmoney(source(em, em.media_url()), fetcher)

    assert len(result.items) == 6
    (error,) = result.errors
    assert error.startswith(f"{SEED}: ")
    assert reason in error
    assert "\n" not in error


def test_text_in_data_with_raw_control_characters(
    em: FakeEastmoney, fetcher: SimpleFetcher
) -> None:
    # rolling item, body only in `text`: falls back; raw CR/LF and <br> inside the JSON string
    code = "202205302396671291"
    em.override(f"{TEXT_PATH}?id=NW{code}", '{"data": {"text": "<p>甲\r\n乙<br>丙</p>"}}'.encode())

    result = fetch_eastmoney(source(em, em.rolling_url()), fetcher)

    assert result.errors == ()
    assert by_key(result.items)[code].html == "<p>甲\r\n乙<br>丙</p>"


def test_text_api_wrapped_in_data(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.text_in_data = True

    result = fetch_eastmoney(source(em, em.media_url()), fetcher)

    assert by_key(result.items)[SEED].html == em.articles[SEED].text


def test_text_api_code_placeholder(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    template = em.base_url + TEXT_PATH + "?id={code}&cid=Admin"

    result = fetch_eastmoney(source(em, em.market_url(count=1), text_api=template), fetcher)

    assert [item.key for item in result.items] == MEDIA_ORDER[:1]
    texts = [r.query for r in em.received if r.path == TEXT_PATH]
    assert texts == [{"id": "202205302396671645", "cid": "Admin"}]


def test_unknown_list_shape(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    url = em.base_url + "/web/webapi?type=999&count=10"
    with pytest.raises(ExtractError) as caught:
        fetch_eastmoney(source(em, url), fetcher)
    assert str(caught.value) == f"{url}: not a known eastmoney list (top-level keys: message, rc)"


def test_list_that_is_not_json(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.override("/web/webapi", b"<html>502 Bad Gateway</html>", content_type="text/html")
    url = em.media_url()
    with pytest.raises(
        ExtractError, match=r"^http://127\.0\.0\.1:\d+/web/webapi\?type=45.*: invalid"
    ):
        fetch_eastmoney(source(em, url), fetcher)


def test_deeply_nested_list_is_an_extract_error(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.override("/web/webapi", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ExtractError, match="invalid JSON"):
        fetch_eastmoney(source(em, em.media_url()), fetcher)


def test_flooded_list_reads_max_items_rows(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    # 20 000 rows, each title with an invalid UTF-8 byte (replaced, the list still parses)
    rows = b",".join(
        b'{"infoCode":"NW2022010722393%05d","title":"t\xff"}' % i for i in range(20_000)
    )
    em.override("/information/newmarket/web/webapi", b'{"record":[' + rows + b"]}")
    em.override(TEXT_PATH, b'{"text": "<p>x</p>"}')

    result = fetch_eastmoney(source(em, em.market_url(), max_items=2), fetcher)

    assert [(item.key, item.title) for item in result.items] == [
        ("NW202201072239300000", "t\ufffd"),
        ("NW202201072239300001", "t\ufffd"),
    ]
    assert em.count(TEXT_PATH) == 2


def test_failing_list_request_raises(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.fail("/web/webapi", 503)
    with pytest.raises(FetchError):
        fetch_eastmoney(source(em, em.media_url()), fetcher)
    assert em.count(TEXT_PATH) == 0


def test_list_rows_without_id_are_reported(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    em.override("/web/webapi?type=45", b'{"nodeList": [{"infocode": "NW12", "title": "x"}, 7]}')
    url = em.media_url()

    result = fetch_eastmoney(source(em, url), fetcher)

    assert result.items == ()
    assert result.errors == (
        f"{url}: item 0: no NW/18-digit article id",
        f"{url}: item 1: no NW/18-digit article id",
    )


# --- limits, dedup, request options -------------------------------------------------------------


def test_max_items_caps_the_source(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    result = fetch_eastmoney(source(em, em.media_url(), em.rolling_url(), max_items=3), fetcher)

    assert [item.key for item in result.items] == MEDIA_ORDER[:3]
    assert em.count(TEXT_PATH) == 3


def test_items_are_deduplicated_by_key(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    urls = (em.media_url(), em.market_url(), em.share_url(SEED))
    result = fetch_eastmoney(source(em, *urls), fetcher)

    assert [item.key for item in result.items] == MEDIA_ORDER
    assert em.count(TEXT_PATH) == 7
    assert em.count(SHARE_PATH) == 0  # the seed came first from the media list


def test_headers_and_proxy_reach_every_request(em: FakeEastmoney, fetcher: SimpleFetcher) -> None:
    headers = {"Referer": "http://choicewzp1.eastmoney.com/", "X-Test": "1"}
    src = source(
        em, em.rolling_url(count=2), em.share_url(SEED), headers=headers, proxy="http://p:3128"
    )

    result = fetch_eastmoney(src, fetcher)

    assert len(result.items) == 3
    assert {r.path for r in em.received} == {"/web/webapi", TEXT_PATH, SHARE_PATH}
    assert len(em.received) == 5
    assert all(r.headers.get("referer") == "http://choicewzp1.eastmoney.com/" for r in em.received)
    assert all(c.proxy == "http://p:3128" for c in fetcher.calls)


def test_twins_in_one_source_share_one_text_request(
    em: FakeEastmoney, fetcher: SimpleFetcher
) -> None:
    # the rolling item (code) and the media item (NW code) of one article use the same text URL:
    # one request serves both, so a stored ETag cannot turn the second into a 304
    result = fetch_eastmoney(source(em, em.rolling_url(), em.media_url()), fetcher)

    assert (len(result.items), result.unchanged, result.errors) == (12, 0, ())
    items = by_key(result.items)
    assert items[SNOWBALL].html == em.articles["NW" + SNOWBALL].content
    assert items["NW" + SNOWBALL].html == em.articles["NW" + SNOWBALL].text
    assert em.count(TEXT_PATH) == 9
