"""Atom feeds: schema-valid, newest first, stable ids, no wall clock, byte-identical rebuilds."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from aggregator.errors import FeedError
from aggregator.feeds import build_atom, post_url
from aggregator.models import Post, SiteSettings
from aggregator.postfile import parse_post

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "finews_posts"
GOLDEN = DATA / "golden" / "feed_small.xml"
ATOM = "{http://www.w3.org/2005/Atom}"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE = SiteSettings(title="金融消息", url="https://finews.withounder.com")


def fixture_posts() -> list[Post]:
    posts = []
    for path in sorted(FIXTURES.glob("*.md")):
        if path.name[:1].isdigit():
            post = parse_post(path.read_bytes(), path.name, lambda body: body)
            # the old posts carry no provenance; give some a source so `via` links appear
            if post.post_id.startswith("NW"):
                post = dataclasses.replace(post, source_url=f"http://example.com/{post.post_id}")
            posts.append(post)
    return posts


def site_feed(posts: list[Post], limit: int = 50) -> bytes:
    return build_atom(
        posts, site=SITE, path="feed.xml", title=SITE.title, limit=limit, html_url=f"{SITE.url}/"
    )


def category_feed(posts: list[Post], category: str) -> bytes:
    return build_atom(
        [p for p in posts if p.category == category],
        site=SITE,
        path=f"feed/{category}.xml",
        title=f"{SITE.title}: {category}",
        limit=50,
        html_url=f"{SITE.url}/category/{category}.html",
    )


def relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))


def make_post(post_id: str, when: datetime, **changes: object) -> Post:
    post = Post(
        post_id=post_id,
        title=f"title {post_id}",
        date=when,
        category="emnews",
        tag="东财滚动新闻",
        body="",
        content_html=f"<p>body {post_id}</p>",
        source_url=f"http://finance.eastmoney.com/a/{post_id}.html",
        guid=f"urn:eastmoney:{post_id}",
        source_name="em-news",
        first_seen=when,
    )
    return dataclasses.replace(post, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------ validity


@pytest.mark.parametrize("kind", ["site", "category"])
def test_feeds_from_the_fixture_posts_are_valid_atom(kind: str) -> None:
    posts = fixture_posts()
    data = site_feed(posts) if kind == "site" else category_feed(posts, "emnews")
    schema = relaxng()
    assert schema.validate(etree.fromstring(data)), schema.error_log
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0
    assert len(parsed.entries) == (24 if kind == "site" else 16)


def test_site_feed_exact_values() -> None:
    data = site_feed(fixture_posts(), limit=3)
    root = etree.fromstring(data)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    assert root.findtext(f"{ATOM}id") == "https://finews.withounder.com/feed.xml"
    assert root.findtext(f"{ATOM}updated") == "2022-05-30T22:00:29+08:00"
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "金融消息"
    assert root.findtext(f"{ATOM}generator") == "aggregator"
    assert root.find(f"{ATOM}generator").attrib == {}
    links = [(ln.get("rel"), ln.get("href")) for ln in root.findall(f"{ATOM}link")]
    assert links == [
        ("self", "https://finews.withounder.com/feed.xml"),
        ("alternate", "https://finews.withounder.com/"),
    ]
    entries = root.findall(f"{ATOM}entry")
    # newest first; the two 22:00:29 posts are ordered by id, descending
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "urn:aggregator:post:NW202205302396671645",
        "urn:aggregator:post:202205302396671645",
        "urn:aggregator:post:202205302396671291",
    ]
    first = entries[0]
    assert [(ln.get("rel"), ln.get("href")) for ln in first.findall(f"{ATOM}link")] == [
        (
            "alternate",
            "https://finews.withounder.com/zhongguozhengquanbao/2022/05/30/NW202205302396671645.html",
        ),
        ("via", "http://example.com/NW202205302396671645"),
    ]
    assert first.findtext(f"{ATOM}published") == "2022-05-30T22:00:29+08:00"
    assert first.find(f"{ATOM}content").get("type") == "html"
    category = first.find(f"{ATOM}category")
    assert category is not None
    assert category.attrib == {"term": "zhongguozhengquanbao", "label": "中国证券报新闻"}
    # no via link without a source URL (the emnews posts here have none)
    assert [ln.get("rel") for ln in entries[1].findall(f"{ATOM}link")] == ["alternate"]


def test_category_feed_ids_and_links() -> None:
    data = category_feed(fixture_posts(), "renminyoudianbao")
    root = etree.fromstring(data)
    assert root.findtext(f"{ATOM}id") == "https://finews.withounder.com/feed/renminyoudianbao.xml"
    assert root.findtext(f"{ATOM}updated") == "2021-12-16T09:30:00+08:00"
    assert [ln.get("href") for ln in root.findall(f"{ATOM}link")] == [
        "https://finews.withounder.com/feed/renminyoudianbao.xml",
        "https://finews.withounder.com/category/renminyoudianbao.html",
    ]
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}id") == "urn:aggregator:post:NW202112162215638061"
    assert entry.findtext(f"{ATOM}title") == "“十四五”工业绿色发展蓝图绘就"


def test_entry_id_is_the_guid_whatever_the_category() -> None:
    when = datetime(2022, 1, 1, 8, 0, tzinfo=SHANGHAI)
    one = make_post("A", when)
    moved = dataclasses.replace(one, category="other", post_id="A-renamed")
    ids = [etree.fromstring(site_feed([p])).findtext(f"{ATOM}entry/{ATOM}id") for p in (one, moved)]
    assert ids == ["urn:eastmoney:A", "urn:eastmoney:A"]


# ------------------------------------------------------------------ order, updated, determinism


def test_updated_posts_sort_by_their_update_and_set_the_feed_updated() -> None:
    old = make_post("OLD", datetime(2022, 1, 1, 8, 0, tzinfo=SHANGHAI))
    new = make_post("NEW", datetime(2022, 1, 2, 8, 0, tzinfo=SHANGHAI))
    edited = dataclasses.replace(old, updated=datetime(2022, 1, 3, 9, 0, tzinfo=SHANGHAI))
    root = etree.fromstring(site_feed([old, new]))
    assert root.findtext(f"{ATOM}updated") == "2022-01-02T08:00:00+08:00"
    root = etree.fromstring(site_feed([edited, new]))
    assert root.findtext(f"{ATOM}updated") == "2022-01-03T09:00:00+08:00"
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == ["urn:eastmoney:OLD", "urn:eastmoney:NEW"]
    assert entries[0].findtext(f"{ATOM}published") == "2022-01-01T08:00:00+08:00"


def test_limit_keeps_the_newest() -> None:
    posts = [make_post(f"P{i}", datetime(2022, 1, i, tzinfo=SHANGHAI)) for i in range(1, 6)]
    root = etree.fromstring(site_feed(posts, limit=2))
    assert [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")] == [
        "urn:eastmoney:P5",
        "urn:eastmoney:P4",
    ]


def test_empty_feed_is_valid_and_dated_at_the_epoch() -> None:
    data = site_feed([])
    root = etree.fromstring(data)
    assert root.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"
    assert relaxng().validate(root)


def test_same_input_gives_the_same_bytes_in_any_order() -> None:
    posts = fixture_posts()
    first = site_feed(posts)
    shuffled = posts[:]
    random.Random(7).shuffle(shuffled)
    assert site_feed(posts) == first
    assert site_feed(shuffled) == first
    assert category_feed(shuffled, "emnews") == category_feed(posts, "emnews")


# ------------------------------------------------------------------ hostile strings


def test_xml_illegal_characters_and_markup_in_text_are_safe() -> None:
    when = datetime(2022, 1, 1, 8, 0, tzinfo=SHANGHAI)
    post = make_post(
        "X",
        when,
        title="a\x00b\x0c\x0bc <script>alert(1)</script> \ufffe\ud800",
        content_html="<p>ok\x00</p>\x1b",
        tag="t\x0bag",
        source_url="http://example.com/\x00x",
    )
    data = site_feed([post])
    assert relaxng().validate(etree.fromstring(data))
    assert feedparser.parse(data).bozo == 0
    assert b"<script>" not in data
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in data
    entry = etree.fromstring(data).find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == "abc <script>alert(1)</script> "
    assert entry.findtext(f"{ATOM}content") == "<p>ok</p>"
    assert entry.find(f"{ATOM}category").get("label") == "tag"


def test_empty_title_falls_back_to_the_post_id() -> None:
    post = make_post("NW9", datetime(2022, 1, 1, tzinfo=SHANGHAI), title="\x00 ")
    root = etree.fromstring(site_feed([post]))
    assert root.findtext(f"{ATOM}entry/{ATOM}title") == "NW9"


def test_naive_dates_are_a_feed_error() -> None:
    post = make_post("N", datetime(2022, 1, 1, 8, 0))
    with pytest.raises(FeedError, match=r"feed\.xml: post N has a date without a time zone"):
        site_feed([post])


# ------------------------------------------------------------------ post URLs


def test_post_url_is_jekylls_date_permalink_in_the_site_zone() -> None:
    post = make_post(
        "NW202112162215638061",
        datetime(2021, 12, 16, 9, 30, tzinfo=SHANGHAI),
        category="renminyoudianbao",
    )
    assert post_url(post, SITE) == (
        "https://finews.withounder.com/renminyoudianbao/2021/12/16/NW202112162215638061.html"
    )
    late_utc = dataclasses.replace(post, date=datetime(2021, 12, 16, 17, 0, tzinfo=UTC))
    assert post_url(late_utc, SITE).endswith(
        "/renminyoudianbao/2021/12/17/NW202112162215638061.html"
    )


@pytest.mark.parametrize(
    ("category", "post_id", "tail"),
    [
        ("em-news_2", "NW1.v~2", "em-news_2/2021/12/16/NW1.v~2.html"),
        ("人民", "a b", "%E4%BA%BA%E6%B0%91/2021/12/16/a%20b.html"),
        ("a/b", "x%y?", "a%2Fb/2021/12/16/x%25y%3F.html"),
    ],
)
def test_post_url_quotes_what_a_path_segment_cannot_hold(
    category: str, post_id: str, tail: str
) -> None:
    post = make_post(post_id, datetime(2021, 12, 16, 9, 30, tzinfo=SHANGHAI), category=category)
    assert post_url(post, SITE) == f"https://finews.withounder.com/{tail}"


# ------------------------------------------------------------------ golden file


def golden_posts() -> list[Post]:
    first = make_post(
        "NW202112162215638061",
        datetime(2021, 12, 16, 9, 30, tzinfo=SHANGHAI),
        title='“十四五”工业绿色发展蓝图绘就 & <b>"quoted"</b>',
        category="renminyoudianbao",
        tag="人民邮电报新闻",
        content_html='<p>“十四五”时期 <a href="http://example.com/?a=1&amp;b=2">link</a></p>',
        source_url="http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061",
        guid="urn:eastmoney:NW202112162215638061",
    )
    second = make_post(
        "202112082206672930",
        datetime(2021, 12, 8, 10, 46, 18, tzinfo=SHANGHAI),
        title="离岸人民币兑美元升至2018年以来最高水平",
        source_url="",
        guid="urn:eastmoney:202112082206672930",
        updated=datetime(2021, 12, 20, 8, 0, tzinfo=SHANGHAI),
    )
    return [first, second]


def test_small_feed_matches_the_golden_file() -> None:
    assert site_feed(golden_posts()) == GOLDEN.read_bytes()
