"""Config keys of page and listing sources: parsed values and one-line errors naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from aggregator.config import parse_config
from aggregator.errors import ConfigError
from aggregator.models import Selectors, Source

SITE = '[site]\ntitle = "t"\nurl = "https://example.org"\n'


def load(source_toml: str) -> Source:
    data = tomllib.loads(SITE + '[[sources]]\nname = "s"\n' + source_toml)
    return parse_config(data, base_dir=Path("."), path=Path("x.toml")).sources[0]


def error(source_toml: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(source_toml)
    return str(caught.value)


def test_page_source_with_selectors() -> None:
    source = load(
        'type = "page"\nurls = ["https://e.example/a/1.html"]\n'
        '[sources.selectors]\nbody = "#artibody"\ntitle = "h1"\nremove = [".ad", "script"]\n'
    )
    assert source.selectors == Selectors(title="h1", body="#artibody", remove=(".ad", "script"))
    assert source.max_items == 500


def test_page_source_without_selectors_extracts_automatically() -> None:
    assert load('type = "page"\nurl = "https://e.example/a/1.html"\n').selectors is None


def test_html_listing() -> None:
    source = load(
        'type = "listing"\nurl = "https://e.example/roll/"\nitem_selector = "ul.list li"\n'
        'allow_hosts = ["*.E.example", "cdn.example"]\n'
        '[sources.fields]\ndate = "span.time"\n'
    )
    assert (source.item_selector, source.items_path) == ("ul.list li", None)
    assert source.fields == {"date": "span.time"}
    assert source.allow_hosts == ("*.e.example", "cdn.example")
    assert source.max_items == 50


def test_json_listing() -> None:
    source = load(
        'type = "listing"\nurl = "https://e.example/api"\nitems_path = "data.list"\n'
        'article_url = "https://e.example/text?id={id}"\n'
        '[sources.fields]\nid = "docId"\ntitle = "title"\n'
        '[sources.article_fields]\nbody = "data.content"\n'
    )
    assert source.items_path == "data.list"
    assert source.fields == {"id": "docId", "title": "title"}
    assert source.article_url == "https://e.example/text?id={id}"
    assert source.article_fields == {"body": "data.content"}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'type = "eastmoney"\nurl = "https://e.example/"\nitem_selector = "li"\n',
            "sources[0].item_selector: only listing sources have item_selector",
        ),
        (
            'type = "feed"\nurl = "https://e.example/"\n[sources.selectors]\nbody = "p"\n',
            "sources[0].selectors: only page and listing sources have selectors",
        ),
        (
            'type = "page"\nurl = "https://e.example/"\n[sources.selectors]\nbody = "div["\n',
            "sources[0].selectors.body: invalid CSS selector 'div[': Malformed attribute selector at position 3",
        ),
        (
            'type = "page"\nurl = "https://e.example/"\n[sources.selectors]\nbdy = "div"\n',
            "sources[0].selectors.bdy: unknown key (did you mean 'body'?)",
        ),
        (
            'type = "page"\nurl = "https://e.example/"\n[sources.selectors]\nremove = [1]\n',
            "sources[0].selectors.remove[0]: expected a string (a CSS selector)",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\n',
            "sources[0].item_selector: a listing needs item_selector (an HTML page) or items_path (a JSON endpoint), not both",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitems_path = "data..list"\n',
            "sources[0].items_path: 'data..list' is not a dotted path like data.list or items.0.url",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitems_path = "list"\n',
            "sources[0].fields: a JSON listing needs fields.link or article_url",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitems_path = "list"\n'
            'article_url = "https://e.example/t/{code}"\n[sources.fields]\nid = "id"\n',
            "sources[0].article_url: {code} is not one of the fields (fields: id)",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitems_path = "list"\n'
            'article_url = "ftp://e.example/t/{id}"\n[sources.fields]\nid = "id"\n',
            "sources[0].article_url: 'ftp://e.example/t/{id}' is not an http(s) URL template",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitems_path = "list"\n'
            '[sources.fields]\nlink = "url"\n[sources.article_fields]\ntitle = "t"\n',
            "sources[0].article_fields.body: required key is missing (the article text)",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitem_selector = "li"\n'
            '[sources.fields]\nauthor = "span"\n',
            "sources[0].fields.author: unknown key",
        ),
        (
            'type = "listing"\nurl = "https://e.example/"\nitem_selector = "li"\n'
            'allow_hosts = ["http://x.example/"]\n',
            "sources[0].allow_hosts[0]: 'http://x.example/' is not a host name (example.com or *.example.com)",
        ),
    ],
)
def test_errors_name_the_key(toml: str, message: str) -> None:
    assert error(toml) == message


def test_feed_sources_take_allow_hosts_for_their_full_text_pages() -> None:
    feed = load('type = "feed"\nurl = "https://e.example/rss"\nallow_hosts = ["*.E.example."]\n')
    assert (feed.allow_hosts, feed.max_full_text) == (("*.e.example",), 50)
    assert load('type = "feed"\nurl = "https://e.example/rss"\n').allow_hosts == ()
    assert error('type = "page"\nurl = "https://e.example/"\nallow_hosts = ["x.example"]\n') == (
        "sources[0].allow_hosts: only listing and feed sources have allow_hosts"
    )
    assert error('type = "feed"\nurl = "https://e.example/"\nallow_hosts = "x.example"\n') == (
        "sources[0].allow_hosts: expected an array of host names"
    )
