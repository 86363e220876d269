"""atomxml writes archive pages and subscription documents from string templates; their bytes
must be feeds.build_atom's."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import atomxml
from aggregator.errors import FeedError
from aggregator.feeds import build_atom
from aggregator.models import Post, SiteSettings
from aggregator.normalise import render_body
from aggregator.postfile import parse_post

DATA = Path(__file__).parent / "data"
SITE = SiteSettings(title="金融消息", url="https://finews.withounder.com")
SHANGHAI = ZoneInfo("Asia/Shanghai")
LINKS = [
    ("current", "https://finews.withounder.com/feed/emnews.xml"),
    ("prev-archive", "https://finews.withounder.com/feed/emnews/archive/1.xml"),
    ("next-archive", "https://finews.withounder.com/feed/emnews/archive/3.xml"),
]


def both(posts: list[Post], site: SiteSettings = SITE, **options: object) -> tuple[bytes, bytes]:
    common: dict[str, object] = {
        "site": site,
        "path": "feed/emnews/archive/2.xml",
        "title": "金融消息 · 东财滚动新闻",
        "html_url": "https://finews.withounder.com/category/emnews.html",
        "links": LINKS,
    }
    common.update(options)
    reference = build_atom(posts, limit=len(posts), archive=True, **common)  # type: ignore[arg-type]
    entries = [atomxml.Entry.of(post, site) for post in posts]
    return reference, atomxml.archive_document(entries, **common)  # type: ignore[arg-type]


def both_current(
    posts: list[Post], site: SiteSettings = SITE, **options: object
) -> tuple[bytes, bytes]:
    """A subscription document: feedgen's and atomxml's."""
    common: dict[str, object] = {
        "site": site,
        "path": "feed/emnews.xml",
        "title": "金融消息 · 东财滚动新闻",
        "html_url": "https://finews.withounder.com/category/emnews.html",
        "links": [("prev-archive", "https://finews.withounder.com/feed/emnews/archive/4.xml")],
        "hub": "https://hub.example.org/?a=1&b=<2>",
    }
    common.update(options)
    reference = build_atom(posts, limit=len(posts), **common)  # type: ignore[arg-type]
    entries = [atomxml.Entry.of(post, site) for post in posts]
    return reference, atomxml.feed_document(entries, **common)  # type: ignore[arg-type]


def stored_posts() -> list[Post]:
    """Every post file of the test data (the original site's, the golden trees')."""
    paths = sorted(DATA.glob("**/_posts/*.md")) + sorted(DATA.glob("finews_posts/2*.md"))
    return [
        parse_post(p.read_bytes(), p.name, lambda body: render_body(body, base_url=SITE.url))
        for p in paths
    ]


def test_every_stored_post_gives_feedgens_bytes() -> None:
    posts = stored_posts()
    assert len(posts) > 40
    for start in range(0, len(posts), 10):
        reference, ours = both(posts[start : start + 10])
        assert ours == reference


def test_every_stored_post_gives_feedgens_subscription_bytes() -> None:
    posts = stored_posts()
    for start in range(0, len(posts), 10):
        reference, ours = both_current(posts[start : start + 10])
        assert ours == reference


def test_subscription_documents_with_and_without_hub_and_archive_link() -> None:
    posts = stored_posts()[:4]
    for options in (
        {"hub": None},
        {"links": []},
        {"hub": None, "links": []},
        {"hub": "", "title": ""},
    ):
        for page in (posts, [posts[0]], []):
            reference, ours = both_current(page, **options)
            assert ours == reference


def test_pages_with_one_post_and_none() -> None:
    posts = stored_posts()
    for page in ([posts[0]], []):
        reference, ours = both(page)
        assert ours == reference


def test_feed_settings_that_change_the_header() -> None:
    posts = stored_posts()[:3]
    for site in (
        dataclasses.replace(SITE, language=""),
        dataclasses.replace(SITE, title=""),
        dataclasses.replace(SITE, title='A & "B" <c>', url="https://x.example/a?b=1&c=2"),
    ):
        reference, ours = both(posts, site, title="", links=[])
        assert ours == reference
        reference, ours = both_current(posts, site, title="", links=[])
        assert ours == reference


def test_a_date_without_a_zone_is_refused() -> None:
    post = dataclasses.replace(stored_posts()[0], date=datetime(2021, 12, 16, 9, 30))
    with pytest.raises(FeedError):
        atomxml.Entry.of(post, SITE)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.astimezone(timezone(timedelta(hours=8))))


@st.composite
def posts(draw: st.DrawFn) -> Post:
    when = draw(moments)
    return Post(
        post_id=draw(st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True)),
        title=draw(text),
        date=when,
        category=draw(st.sampled_from(["", "emnews", "a-b"])),
        tag=draw(text),
        body="",
        content_html=draw(st.one_of(st.just(""), text, st.just("<p>a &amp; b\r\n</p>"))),
        source_url=draw(st.one_of(st.just(""), st.just("http://x.example/a?b=1&c=<d>"), text)),
        guid=draw(st.one_of(st.just(""), text)),
        source_name="s",
        first_seen=when,
        updated=draw(st.one_of(st.none(), moments)),
        extra_tags=tuple(draw(st.lists(text, max_size=3))),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(posts(), max_size=6, unique_by=lambda p: p.post_id))
def test_generated_posts_give_feedgens_bytes(page: list[Post]) -> None:
    reference, ours = both(page)
    assert ours == reference


@settings(max_examples=300, deadline=None)
@given(
    st.lists(posts(), max_size=6, unique_by=lambda p: p.post_id),
    st.one_of(st.none(), st.just("https://hub.example.org/"), text),
)
def test_generated_posts_give_feedgens_subscription_bytes(
    page: list[Post], hub: str | None
) -> None:
    reference, ours = both_current(page, hub=hub)
    assert ours == reference
