"""Several tags per feed entry, through `aggregator fetch` against a local server: the exact front
matter, the Atom categories, and the post in the feed of every one of its tags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from httpserver import Reply, ServerURL, serve

from aggregator.cli import cli

FIXED_NOW = "1654041600"  # 2022-06-01 00:00:00 UTC

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>财经</title><link>http://news.example.cn/</link>
<item><title>央行下调存款准备金率</title><link>http://news.example.cn/a/1.html</link>
<guid>http://news.example.cn/a/1.html</guid><pubDate>Mon, 06 Dec 2021 17:05:00 +0800</pubDate>
<category>金融</category><category> 央行 </category><category>金融</category>
<category>货币 政策</category>
<description>全文。</description></item>
<item><title>统计局发布CPI</title><link>http://news.example.cn/a/2.html</link>
<guid>http://news.example.cn/a/2.html</guid><pubDate>Thu, 09 Dec 2021 09:30:00 +0800</pubDate>
<category>宏观</category><category>央行</category>
<description>全文。</description></item>
</channel></rss>
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, ServerURL]]:
    routes = {"/rss.xml": Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"})}
    with serve(routes) as base:
        (tmp_path / "feeds_config.toml").write_text(
            f"""
[site]
title = "聚合"
url = "https://news.example.net"

[fetch]
allow_private_networks = true

[[sources]]
name = "cn"
type = "feed"
url = "{base}/rss.xml"
category = "caijing"
full_text = false
""",
            encoding="utf-8",
        )
        yield tmp_path, base


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(root / "feeds_config.toml"), *args],
        env={"SOURCE_DATE_EPOCH": FIXED_NOW},
        catch_exceptions=False,
    )


def entry_ids(path: Path) -> list[str]:
    return re.findall(r"<id>(http://news\.example\.cn/a/\d\.html)</id>", path.read_text("utf-8"))


def test_an_entry_with_three_categories_is_a_post_with_three_tags(
    site: tuple[Path, ServerURL],
) -> None:
    root, _ = site
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    storage = root / "storage"
    post = (storage / "_posts/2021-12-06-f-39f058671296210c.md").read_text("utf-8")
    assert post == (
        "---\n"
        "layout: post\n"
        'title: "央行下调存款准备金率"\n'
        "date: 2021-12-06 17:05:00 +0800\n"
        "categories: caijing\n"
        'tags: ["金融", "央行", "货币 政策"]\n'
        'source_url: "http://news.example.cn/a/1.html"\n'
        'source_name: "cn"\n'
        'guid: "http://news.example.cn/a/1.html"\n'
        "fetched_at: 2022-06-01 08:00:00 +0800\n"
        "---\n"
        "全文。\n"
        "\n"
        "<http://news.example.cn/a/1.html>\n"
        "\n"
        "[返回金融](//news.example.net/category/caijing.html)｜[返回首页](//news.example.net/)"
    )
    site_feed = (storage / "feed.xml").read_text("utf-8")
    entry = site_feed[site_feed.index("<id>http://news.example.cn/a/1.html</id>") :]
    entry = entry[: entry.index("</entry>")]
    assert re.findall(r"<category [^>]*/>", entry) == [
        '<category term="caijing" label="金融"/>',
        '<category term="央行"/>',
        '<category term="货币 政策"/>',
    ]
    by_tag = storage / "feed/by_tag"
    assert sorted(p.name for p in by_tag.glob("*.xml")) == [
        "hongguan.xml",
        "huobi-zhengce.xml",
        "jinrong.xml",
        "yanghang.xml",
    ]
    assert entry_ids(by_tag / "jinrong.xml") == ["http://news.example.cn/a/1.html"]
    assert entry_ids(by_tag / "huobi-zhengce.xml") == ["http://news.example.cn/a/1.html"]
    assert entry_ids(by_tag / "yanghang.xml") == [
        "http://news.example.cn/a/2.html",
        "http://news.example.cn/a/1.html",
    ]
    assert entry_ids(by_tag / "hongguan.xml") == ["http://news.example.cn/a/2.html"]


def test_build_from_the_post_files_alone_gives_the_same_tag_feeds(
    site: tuple[Path, ServerURL],
) -> None:
    root, _ = site
    assert run(root, "fetch").exit_code == 0
    storage = root / "storage"
    before = {p.name: p.read_bytes() for p in (storage / "feed/by_tag").glob("*.xml")}
    for path in [*storage.glob("feed/**/*.xml"), storage / ".aggregator/state.sqlite"]:
        path.unlink()
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in (storage / "feed/by_tag").glob("*.xml")} == before
