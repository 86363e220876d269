"""The page and listing adapters against a local server (tests/data/pages, tests/data/listing)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from fake_news_site import routes
from httpserver import ServerURL, serve
from simple_fetcher import SimpleFetcher

from aggregator.errors import ExtractError
from aggregator.models import RawItem, Selectors, Source
from aggregator.sources import guess_type
from aggregator.sources.listing import fetch_listing, fill_template, host_allowed
from aggregator.sources.page import fetch_page, page_guid, page_key

DATA = Path(__file__).parent / "data"
PAGES = DATA / "pages"
LISTING = DATA / "listing"
UTF8_HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def site() -> Iterator[ServerURL]:
    with serve(routes()) as url:
        yield url


@pytest.fixture
def fetcher() -> Iterator[SimpleFetcher]:
    client = SimpleFetcher()
    yield client
    client.close()


def source(kind: str, url: str | tuple[str, ...], **fields: object) -> Source:
    urls = (url,) if isinstance(url, str) else url
    return replace(Source(name="s", type=kind, urls=urls, timezone="Asia/Shanghai"), **fields)  # type: ignore[arg-type]


def summary(item: RawItem) -> tuple[str, str, str | None, str | None, str]:
    return (item.key, item.title, item.date_text, item.media, item.link)


# --- page ----------------------------------------------------------------------------------------


def test_page_source_extracts_each_url(site: ServerURL, fetcher: SimpleFetcher) -> None:
    urls = (f"{site}/a/netease_gbk.html", f"{site}/a/xinhua.html")
    result = fetch_page(source("page", urls), fetcher)
    assert result.errors == ()
    assert [summary(item) for item in result.items] == [
        (
            page_key(urls[0]),
            "山区小学用上“空中课堂” 城乡孩子同上一节课",
            "2023-05-12T08:15:02+08:00",
            None,
            urls[0],
        ),
        (page_key(urls[1]), "我国首个海上风电制氢示范项目投产", "2023-04-20", None, urls[1]),
    ]
    first = result.items[0]
    assert first.guid == page_guid(urls[0])
    assert first.html.startswith("<p>在西南某县海拔1800多米的一所山区小学")


def test_page_is_rechecked_with_conditional_get(site: ServerURL, fetcher: SimpleFetcher) -> None:
    url = f"{site}/a/sina_finance.html"
    assert len(fetch_page(source("page", url), fetcher).items) == 1
    again = fetch_page(source("page", url), fetcher)
    assert again.not_modified and again.items == ()
    assert site.requests[-1].headers["if-none-match"] == '"sina_finance-v1"'


def test_page_selectors_are_used(site: ServerURL, fetcher: SimpleFetcher) -> None:
    selectors = Selectors(body="#artibody", media=".date-source .source", remove=(".img_wrapper",))
    url = f"{site}/a/sina_finance.html"
    [item] = fetch_page(source("page", url, selectors=selectors), fetcher).items
    assert item.media == "经济参考报"
    assert "img_wrapper" not in item.html and "责任编辑：王晓明" in item.html


def test_a_failing_page_is_one_error_line(site: ServerURL, fetcher: SimpleFetcher) -> None:
    urls = (f"{site}/a/xinhua.html", f"{site}/a/gone.html")
    result = fetch_page(source("page", urls, selectors=Selectors()), fetcher)
    assert [item.title for item in result.items] == ["我国首个海上风电制氢示范项目投产"]
    assert result.errors == (f"{site}/a/gone.html: HTTP 404",)


def test_page_keys_are_stable_and_filename_safe() -> None:
    assert page_key("https://e.example/a.html#c") == page_key("https://e.example/a.html")
    assert (
        page_key("https://e.example/a.html") == "p-" + page_guid("https://e.example/a.html")[-16:]
    )
    assert len(page_key("https://e.example/b")) == 18
    assert page_key("https://e.example/b", "listing") == "l-" + page_key("https://e.example/b")[2:]
    assert page_guid("https://e.example/b", "listing").startswith("urn:aggregator:listing:")


def test_adhoc_urls_become_page_sources_except_eastmoney_share_links() -> None:
    share = "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061"
    assert guess_type(share) == "eastmoney"
    assert guess_type("https://news.example.com/a/1.html") == "page"
    assert guess_type("ftp://news.example.com/a") is None
    assert guess_type("not a url") is None


# --- HTML listing ----------------------------------------------------------------------------


def test_html_listing_follows_links_on_its_host(site: ServerURL, fetcher: SimpleFetcher) -> None:
    listing = source(
        "listing",
        f"{site}/roll/",
        item_selector="ul.list_009 li",
        fields={"date": "span.time"},
        max_items=50,
    )
    result = fetch_listing(listing, fetcher)
    # the ad on another host is skipped, the duplicate and the #fragment link are one article,
    # javascript: is not a link, the deleted article is an error line; "a/xinhua.html" is
    # relative to /roll/
    assert [summary(item) for item in result.items] == [
        (
            page_key(f"{site}/a/sina_finance.html", "listing"),
            "多地出台措施支持新能源汽车下乡",
            "2023-06-12T08:45:00+08:00",
            None,
            f"{site}/a/sina_finance.html",
        ),
        (
            page_key(f"{site}/roll/a/xinhua.html", "listing"),
            "我国首个海上风电制氢示范项目投产",
            "2023-04-20",
            None,
            f"{site}/roll/a/xinhua.html",
        ),
        (
            page_key(f"{site}/a/people_gb2312.html", "listing"),
            "老旧小区改造让居民住得更舒心",
            "2022-10-17",
            None,
            f"{site}/a/people_gb2312.html",
        ),
    ]
    assert result.errors == (f"{site}/a/missing.html: HTTP 404",)
    fetched = [r.path for r in site.requests]
    assert not any("ads.example.net" in path for path in fetched)


def test_html_listing_stops_at_max_items(site: ServerURL, fetcher: SimpleFetcher) -> None:
    listing = source("listing", f"{site}/roll/", item_selector="ul.list_009 li a", max_items=1)
    result = fetch_listing(listing, fetcher)
    assert [item.link for item in result.items] == [f"{site}/a/sina_finance.html"]
    assert [r.path for r in site.requests] == ["/roll/", "/a/sina_finance.html"]


def test_listing_that_only_links_elsewhere_names_allow_hosts(
    site: ServerURL, fetcher: SimpleFetcher
) -> None:
    listing = source("listing", f"{site}/roll/", item_selector="a[href*=ads]")
    with pytest.raises(ExtractError) as caught:
        fetch_listing(listing, fetcher)
    assert str(caught.value) == (
        f"{site}/roll/: every article link leaves the list's host (to ads.example.net); "
        "add the host to allow_hosts"
    )


def test_listing_selector_matching_nothing_is_an_error(
    site: ServerURL, fetcher: SimpleFetcher
) -> None:
    listing = source("listing", f"{site}/roll/", item_selector="ul.gone li")
    with pytest.raises(ExtractError, match=r"item_selector 'ul.gone li' matched nothing$"):
        fetch_listing(listing, fetcher)


def test_host_patterns() -> None:
    assert host_allowed("finance.sina.com.cn", ["*.sina.com.cn"])
    assert not host_allowed("sina.com.cn", ["*.sina.com.cn"])
    assert host_allowed("sina.com.cn", ["sina.com.cn"])
    assert not host_allowed("evilsina.com.cn", ["*.sina.com.cn", "sina.com.cn"])


# --- JSON listing --------------------------------------------------------------------------


def json_listing(site: str, **overrides: object) -> Source:
    fields: Mapping[str, object] = {
        "items_path": "data.list",
        "fields": {
            "id": "docId",
            "title": "title",
            "date": "showTime",
            "media": "mediaName",
            "link": "uniqueUrl",
        },
        "article_url": "/api/text/{id}",
        "article_fields": {"body": "data.content", "title": "data.title"},
    }
    return source("listing", f"{site}/api/list", **{**fields, **overrides})


def test_json_listing_reads_a_text_api(site: ServerURL, fetcher: SimpleFetcher) -> None:
    result = fetch_listing(json_listing(site), fetcher)
    assert [summary(item) for item in result.items] == [
        (
            page_key(f"{site}/news/20230907A01.html", "listing"),
            "国产工业软件厂商完成新一轮融资，加码仿真技术研发",
            "2023-09-07 10:02:11",
            "36氪",
            f"{site}/news/20230907A01.html",
        ),
        (
            page_key(f"{site}/news/20240102B07.html", "listing"),
            "长江流域禁渔三年：江豚出现频次明显增加",
            "1704177000",
            "澎湃新闻",
            f"{site}/news/20240102B07.html",
        ),
    ]
    assert result.items[1].html == (
        "<p>长江十年禁渔实施三年来，流域水生生物多样性逐步恢复。</p>"
        '<p><img src="/img/finless.jpg" alt="江豚"></p><p>专家表示，禁渔只是长江生态修复的第一步。</p>'
    )
    assert result.errors == (
        f"{site}/api/list: item 2: no fields.id",
        f"{site}/api/text/20211208C03: no text at article_fields.body ('data.content')",
    )


def test_json_listing_without_template_fetches_the_link(
    site: ServerURL, fetcher: SimpleFetcher
) -> None:
    result = fetch_listing(json_listing(site, article_url=None, article_fields={}), fetcher)
    assert [item.title for item in result.items] == [
        "国产工业软件厂商完成新一轮融资，加码仿真技术研发",
        "长江流域禁渔三年：江豚出现频次明显增加",
    ]
    assert result.items[1].html.count("江豚") >= 3  # the article page, extracted
    assert result.errors == (
        f"{site}/api/list: item 2: no fields.link",
        f"{site}/news/20211208C03.html: HTTP 404",
    )


def test_json_listing_with_a_wrong_path_names_it(site: ServerURL, fetcher: SimpleFetcher) -> None:
    with pytest.raises(ExtractError) as caught:
        fetch_listing(json_listing(site, items_path="data.items"), fetcher)
    assert str(caught.value) == (
        f"{site}/api/list: items_path 'data.items' is not a list (found nothing)"
    )


def test_fill_template_percent_encodes_and_needs_every_value() -> None:
    assert fill_template("https://e.example/t?id={id}", {"id": "a b&c"}) == (
        "https://e.example/t?id=a%20b%26c"
    )
    assert fill_template("https://e.example/t/{id}", {"id": None}) is None
