"""Composing posts and deciding new / changed / unchanged (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from aggregator.models import RawItem, SiteSettings
from aggregator.posts import (
    MAX_TAGS,
    assign_slug,
    compose_body,
    decide,
    extra_tags,
    make_post,
    place,
    site_without_scheme,
)

SITE = SiteSettings(title="金融消息", url="https://finews.withounder.com")
NOW = datetime(2022, 6, 1, 0, 0, tzinfo=UTC)


def item(**changes: object) -> RawItem:
    base = RawItem(
        source_name="em-media",
        key="NW202112162215638061",
        guid="urn:eastmoney:NW202112162215638061",
        title="“十四五”工业绿色发展蓝图绘就",
        date_text="2021-12-16 09:30:00",
        timezone="Asia/Shanghai",
        link="http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061",
        html='<p>正文</p>\r\n <p class="em_media">（文章来源：人民邮电报）</p>',
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_compose_body_media_form() -> None:
    assert compose_body(article_html="<p>a</p>", digest=None, link="http://x/", footer="F") == (
        "<p>a</p>\n\n<http://x/>\n\nF"
    )


def test_compose_body_rolling_form_escapes_the_digest() -> None:
    body = compose_body(article_html="<p>a</p>", digest="1<2 & 3", link="http://x/", footer="F")
    assert body == "> 1&lt;2 &amp; 3\n\n<p>a</p>\n\n<http://x/>\n\nF"


def test_compose_body_skips_empty_parts() -> None:
    assert compose_body(article_html="", digest="d", link="", footer="F") == "> d\n\nF"


def test_site_without_scheme() -> None:
    assert site_without_scheme("https://finews.withounder.com") == "//finews.withounder.com"
    assert site_without_scheme("http://example.com/news/") == "//example.com/news"


def test_assign_slug_overrides_known_and_collisions() -> None:
    assert assign_slug("人民邮电报", known={}, overrides={}) == ("renminyoudianbao", True)
    assert assign_slug("人民邮电报", known={"人民邮电报": "rmydb"}, overrides={}) == (
        "rmydb",
        False,
    )
    assert assign_slug("央行", known={}, overrides={"央行": "pboc"}) == ("pboc", True)
    assert assign_slug("央行", known={"央行": "pboc"}, overrides={"央行": "pboc"}) == (
        "pboc",
        False,
    )
    known = {"新华社": "xinhuashe", "x": "xinhuashe-2"}
    assert assign_slug("信华社", known=known, overrides={}) == ("xinhuashe-3", True)


def test_place_media_and_fixed() -> None:
    p = place(item(), "人民邮电报", fallback="em-media", known={}, overrides={})
    assert (p.category, p.tag, p.remember) == (
        "renminyoudianbao",
        "人民邮电报新闻",
        ("人民邮电报", "renminyoudianbao"),
    )
    fixed = place(
        item(category="emnews", tag="东财滚动新闻"),
        "券商中国",
        fallback="x",
        known={},
        overrides={},
    )
    assert (fixed.category, fixed.tag, fixed.remember) == ("emnews", "东财滚动新闻", None)
    none = place(item(), None, fallback="em-media", known={}, overrides={})
    assert (none.category, none.tag) == ("em-media", "em-media")


def test_make_post_uses_first_seen_for_a_missing_date() -> None:
    first_seen = datetime(2022, 5, 31, 16, 0, 5, tzinfo=UTC)
    post = make_post(
        item(date_text=""), site=SITE, category="c", tag="t", first_seen=first_seen, now=NOW
    )
    assert post.date.isoformat() == "2022-06-01T00:00:05+08:00"
    assert post.filename == "2022-06-01-NW202112162215638061.md"


def test_make_post_body_and_dates() -> None:
    post = make_post(
        item(),
        site=SITE,
        category="renminyoudianbao",
        tag="人民邮电报新闻",
        first_seen=NOW,
        now=NOW,
    )
    assert post.body == (
        '<p>正文</p>\n <p class="em_media">（文章来源：人民邮电报）</p>\n\n'
        "<http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061>\n\n"
        "[返回人民邮电报新闻](//finews.withounder.com/category/renminyoudianbao.html)｜[返回首页](//finews.withounder.com/)"
    )
    assert post.date.isoformat() == "2021-12-16T09:30:00+08:00"
    assert post.first_seen.isoformat() == "2022-06-01T08:00:00+08:00"


def test_decide() -> None:
    first = make_post(item(), site=SITE, category="c", tag="t", first_seen=NOW, now=NOW)
    assert decide(None, first, NOW) == ("new", first)
    later = datetime(2022, 6, 2, tzinfo=UTC)
    again = make_post(item(), site=SITE, category="c", tag="t", first_seen=later, now=later)
    assert decide(first, again, later) == ("unchanged", first)
    edited = make_post(
        item(title="新标题"), site=SITE, category="c", tag="t", first_seen=later, now=later
    )
    decision, post = decide(first, edited, later)
    assert decision == "changed"
    assert (post.title, post.first_seen, post.updated) == ("新标题", first.first_seen, later)
    assert post.updated is not None and post.updated.isoformat() == "2022-06-02T08:00:00+08:00"


def test_extra_tags_are_cleaned_deduplicated_and_bounded() -> None:
    long = "长" * 60
    categories = [" 金融 ", "央行", "金融", "Fed\n rates", "fed  RATES", "", "\t", long]
    categories += [f"t{i}" for i in range(20)]
    assert extra_tags("金融", categories) == (
        "央行",
        "Fed rates",
        "长" * 50,
        "t0",
        "t1",
        "t2",
        "t3",
        "t4",
        "t5",
    )
    assert len(extra_tags("p", [f"t{i}" for i in range(20)])) == MAX_TAGS - 1


def test_make_post_carries_the_items_other_categories_as_tags() -> None:
    post = make_post(
        item(tag="金融", extra_tags=("金融", "央行", "降准")),
        site=SITE,
        category="caijing",
        tag="金融",
        first_seen=NOW,
        now=NOW,
    )
    assert (post.tag, post.extra_tags, post.tags) == (
        "金融",
        ("央行", "降准"),
        ("金融", "央行", "降准"),
    )
    assert post.body.endswith(
        "[返回金融](//finews.withounder.com/category/caijing.html)｜[返回首页](//finews.withounder.com/)"
    )
