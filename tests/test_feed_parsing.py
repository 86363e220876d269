"""RSS/Atom/JSON Feed parsing, entry ids, enclosures, full-text decisions and hostile XML."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from aggregator.errors import ExtractError
from aggregator.feedmodel import Enclosure, FeedEntry
from aggregator.jsonfeed import parse_json_feed
from aggregator.models import FetchResult, Source, Validators
from aggregator.sources.feed import entry_identity, item_ids, parse_feed
from aggregator.sources.fulltext import plan_full_text, wants_full_text
from aggregator.xmlfeed import parse_xml_feed

FEEDS = Path(__file__).parent / "data" / "feeds"
FEED_URL = "http://feeds.example.com/rss.xml"


def result(body: bytes, content_type: str = "application/xml", url: str = FEED_URL) -> FetchResult:
    return FetchResult(url, 200, body, {"content-type": content_type}, Validators())


def entry(**fields: object) -> FeedEntry:
    values: dict[str, object] = {
        "guid": None,
        "link": None,
        "title_html": "t",
        "date_text": None,
        "content_html": None,
        "summary_html": None,
    }
    values.update(fields)
    return FeedEntry(**values)  # type: ignore[arg-type]


def test_gbk_feed_under_a_utf8_header_decodes() -> None:
    doc = parse_feed(
        result((FEEDS / "cn_news_gbk.xml").read_bytes(), "application/rss+xml; charset=utf-8"),
        source="cn",
    )
    assert doc.title == "中国新闻网-财经"
    assert doc.warning is None
    first = doc.entries[0]
    assert first.title_html == "央行：下调金融机构存款准备金率0.5个百分点"
    assert first.date_text == "Mon, 06 Dec 2021 17:05:00 +0800"
    assert first.categories == ("金融", "央行")
    assert first.author == "王静"
    assert first.content_html is not None and "以€计" in first.content_html
    assert (
        first.summary_html
        == "中国人民银行决定于2021年12月15日下调金融机构存款准备金率0.5个百分点。"
    )


def test_rss10_dates_and_subjects() -> None:
    doc = parse_feed(result((FEEDS / "tech_rss10.rdf").read_bytes()), source="tech")
    assert [e.guid for e in doc.entries] == [
        "http://slashdot.example.org/story/21/12/16/1",
        "http://slashdot.example.org/story/21/12/15/2",
    ]
    assert [e.date_text for e in doc.entries] == [
        "2021-12-16T01:30:00+00:00",
        "2021-12-15T18:00:00-05:00",
    ]
    assert (
        doc.entries[0].title_html
        == "Linux 5.16 Released With &lt;Folios&gt; &amp; Faster Networking"
    )
    assert doc.entries[0].categories == ("linux",)


def test_atom_xml_base_resolves_links_and_content() -> None:
    doc = parse_feed(result((FEEDS / "blog_atom.xml").read_bytes()), source="blog")
    assert doc.title == "Example Engineering Blog"
    caching, timezones, future = doc.entries
    assert caching.link == "http://blog.example.org/posts/2021/caching.html"
    assert caching.date_text == "2021-12-16T08:00:00Z"  # published wins over updated
    assert caching.categories == ("HTTP",)
    assert caching.content_html is not None
    assert 'href="http://blog.example.org/posts/2021/etags.html"' in caching.content_html
    assert 'src="http://blog.example.org/posts/2021/img/flow.png"' in caching.content_html
    assert timezones.link == "http://blog.example.org/posts/2021/timezones.html"
    assert timezones.summary_html == "<p>Naive times need a zone. &lt;b&gt; stays literal.</p>"
    assert future.content_html == (
        "<p>This post claims a date in 2099.</p><p>It has two paragraphs &amp; an ampersand.</p>"
    )


def test_json_feed_fields() -> None:
    doc = parse_json_feed(
        (FEEDS / "flash.json").read_text(encoding="utf-8"), url="https://x.test/f.json", source="f"
    )
    first, second, third = doc.entries
    assert first.categories == ("美联储", "利率")
    assert first.author == "快讯编辑部"
    assert first.enclosures == (Enclosure("https://flash.example.com/img/fed.jpg", "image/jpeg"),)
    assert second.link == "https://x.test/n/1002"
    assert second.content_html == "<p>恒生指数收涨1.2%，报21500点。</p><p>科技指数涨2.1%。</p>"
    assert third.link is None and third.title_html == ""
    assert third.date_text == "2022-03-16T20:00:00Z"


def test_json_feed_1_0_numeric_ids_and_author() -> None:
    data = {
        "version": "https://jsonfeed.org/version/1",
        "title": "v1",
        "items": [{"id": 7, "content_text": "x", "author": {"name": "Bo"}}, "junk"],
    }
    doc = parse_json_feed(json.dumps(data), url=FEED_URL, source="f")
    assert [(e.guid, e.author) for e in doc.entries] == [("7", "Bo")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[1, 2]", "f: not a JSON Feed (no https://jsonfeed.org/version/1 version)"),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
            "f: not a JSON Feed (items is not an array)",
        ),
        (
            "{",
            "f: not a JSON Feed (invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
    ],
)
def test_bad_json_feeds_are_one_line_errors(body: str, message: str) -> None:
    with pytest.raises(ExtractError) as caught:
        parse_json_feed(body, url=FEED_URL, source="f")
    assert str(caught.value) == message


def test_an_html_page_is_not_a_feed() -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Login</title></head><body><form></form></body></html>"
    )
    with pytest.raises(ExtractError, match=r"^s: not a feed \("):
        parse_feed(result(page, "text/html"), source="s")


def test_broken_xml_is_read_leniently_with_a_warning() -> None:
    rss = b"<rss version='2.0'><channel><title>A & B</title><item><title>x &nbsp; y</title><guid>1</guid></item></channel></rss>"
    doc = parse_feed(result(rss), source="s")
    assert doc.warning is not None and doc.warning.startswith("s: feed is not well-formed XML (")
    # feedparser reads an RSS guid as a URI reference and resolves it against the feed URL
    assert [e.guid for e in doc.entries] == ["http://feeds.example.com/1"]


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    rss = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}"><!ENTITY y SYSTEM "http://127.0.0.1:9/x">]>
<rss version="2.0"><channel><title>t</title><item><title>&x;&y;</title><description>&x;</description><guid>g</guid></item></channel></rss>"""
    doc = parse_xml_feed(rss, url=FEED_URL, source="s")
    assert "TOP-SECRET" not in repr(doc)


def test_billion_laughs_is_harmless() -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" * 1}' + f"&lol{i - 1};" * 9 + '">'
        for i in range(1, 10)
    ]
    rss = f"""<?xml version="1.0"?><!DOCTYPE rss [{"".join(levels)}]>
<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title><guid>g</guid></item></channel></rss>"""
    started = time.monotonic()
    try:
        doc = parse_xml_feed(rss, url=FEED_URL, source="s")
    except ExtractError:
        return
    assert time.monotonic() - started < 5
    assert len(repr(doc)) < 100_000


def test_ids_follow_guid_then_link_then_title_and_date() -> None:
    iri = entry(guid="tag:x.org,2021:1", link="http://x.org/1")
    assert entry_identity(iri, FEED_URL) == "tag:x.org,2021:1"
    key, guid = item_ids(iri, FEED_URL)
    assert key.startswith("f-") and len(key) == 18 and guid == "tag:x.org,2021:1"
    numbered = entry(guid="123", link="http://x.org/1")
    assert entry_identity(numbered, FEED_URL) == f"{FEED_URL}#guid=123"
    assert item_ids(numbered, FEED_URL)[1].startswith("urn:aggregator:feed:")
    linked = entry(link="http://x.org/1")
    assert entry_identity(linked, FEED_URL) == "http://x.org/1"
    assert item_ids(linked, FEED_URL)[1] == "http://x.org/1"
    bare = entry(title_html="T", date_text="2021-12-16")
    assert entry_identity(bare, FEED_URL) == f"{FEED_URL}#title=T&date=2021-12-16"
    assert item_ids(bare, FEED_URL)[1].startswith("urn:aggregator:feed:")
    # a guid with a space is not an IRI: scoped, hashed, and the key stays a safe file name
    key, guid = item_ids(entry(guid="a b/../c"), FEED_URL)
    assert key.startswith("f-") and "/" not in key and guid.startswith("urn:aggregator:feed:")
    # the same entry always gets the same ids
    assert item_ids(numbered, FEED_URL) == item_ids(
        entry(guid="123", link="http://x.org/1"), FEED_URL
    )


@pytest.mark.parametrize(
    ("mode", "fields", "wanted"),
    [
        ("auto", {"link": "http://x/1", "summary_html": "<p>short</p>"}, True),
        ("auto", {"link": "http://x/1", "content_html": "<p>" + "长" * 600 + "</p>"}, False),
        (
            "auto",
            {"link": "http://x/1", "content_html": "<p>" + "长" * 600 + "……阅读全文</p>"},
            True,
        ),
        ("auto", {"link": "http://x/1", "content_html": "<p>short</p>"}, True),
        ("auto", {"content_html": "<p>short</p>"}, False),  # no page to fetch
        ("never", {"link": "http://x/1"}, False),
        ("always", {"link": "http://x/1", "content_html": "<p>" + "长" * 600 + "</p>"}, True),
    ],
)
def test_full_text_decision(mode: str, fields: dict[str, str], wanted: bool) -> None:
    assert wants_full_text(mode, entry(**fields)) is wanted  # type: ignore[arg-type]


def test_full_text_plan_keeps_scope_then_the_cap_in_feed_order() -> None:
    source = Source(
        name="s",
        type="feed",
        urls=(FEED_URL,),
        allow_hosts=("*.example.com",),
        max_full_text=2,
    )
    links = [
        "http://feeds.example.com/1",  # the feed's own host
        "http://a.test/2",
        "http://cdn.example.com/3",  # allowed
        "http://b.test/4",
        "http://c.test/5",
        "http://d.test/6",
        "http://feeds.example.com/7",  # in scope, over the cap
        None,  # no link: nothing to fetch, nothing to report
    ]
    entries = [(entry(link=link), FEED_URL) for link in links]
    assert plan_full_text(source, entries) == (
        [True, False, True, False, False, False, False, False],
        [
            "full text not fetched for 4 entries linking outside allow_hosts"
            " (to a.test, b.test, c.test, ...); summary kept",
            "full text not fetched for 1 entry beyond max_full_text (2 pages per pass);"
            " summary kept",
        ],
    )


def test_source_defaults() -> None:
    source = Source(name="s", type="feed", urls=(FEED_URL,))
    assert (source.full_text, source.dedupe, source.include, source.exclude) == (
        "auto",
        "category",
        (),
        (),
    )
