"""Real clients against our output: Jekyll builds the storage dir, newsboat subscribes to the
served feeds, feedparser and the RFC 4287 schema read every served Atom file.

Jekyll and newsboat are Debian packages (`.ci/run` installs them); without them those tests are
skipped, saying which program is missing.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from site_helpers import DATA, make_site, run, serving

from aggregator.feeds import post_url
from aggregator.models import SiteSettings
from aggregator.postfile import parse_post

SITE = SiteSettings(title="金融消息", url="")  # root-relative permalinks, as Jekyll writes them


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = make_site(tmp_path_factory.mktemp("clients"), entries=5)
    assert run(site, "build").exit_code == 0
    return site


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    with serving(site / "storage") as url:
        yield url


def served_feeds(site: Path) -> list[str]:
    storage = site / "storage"
    tree = sorted(p.relative_to(storage).as_posix() for p in (storage / "feed").rglob("*.xml"))
    return ["/feed.xml", *("/" + path for path in tree)]


def fetch(base: str, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_every_served_feed_parses_and_validates(site: Path, base: str) -> None:
    schema = etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))
    paths = served_feeds(site)
    assert len(paths) == 29  # 1 + 9 categories + 9 tags + 4 site, 3 + 3 emnews archive pages
    for path in paths:
        status, headers, body = fetch(base, path)
        assert status == 200, path
        parsed = feedparser.parse(body, response_headers={"content-type": headers["content-type"]})
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        assert schema.validate(etree.fromstring(body)), (path, schema.error_log)


def test_a_second_request_with_the_etag_gets_304(base: str) -> None:
    _, headers, _ = fetch(base, "/feed/emnews.xml")
    status, _, body = fetch(base, "/feed/emnews.xml", **{"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")


@pytest.mark.skipif(
    shutil.which("newsboat") is None, reason="newsboat is not installed (apt-get install newsboat)"
)
def test_newsboat_subscribes_and_sees_the_items(site: Path, base: str, tmp_path: Path) -> None:
    urls = [
        f"{base}/feed/renminyoudianbao.xml",
        f"{base}/feed/emnews.xml",
        f"{base}/feed/by_tag/zhanzhangxiaoxi.xml",
    ]
    (tmp_path / "urls").write_text("\n".join(urls) + "\n")
    (tmp_path / "config").write_text("")
    done = subprocess.run(
        [
            "newsboat",
            "-u",
            str(tmp_path / "urls"),
            "-c",
            str(tmp_path / "cache.db"),
            "-C",
            str(tmp_path / "config"),
            "-x",
            "reload",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "cache.db") as db:
        feeds = dict(db.execute("SELECT rssurl, title FROM rss_feed"))
        items = db.execute(
            "SELECT feedurl, guid, title, url FROM rss_item ORDER BY feedurl, pubDate DESC"
        ).fetchall()
    assert feeds == {
        urls[0]: "金融消息 · 人民邮电报新闻",
        urls[1]: "金融消息 · 东财滚动新闻",
        urls[2]: "金融消息 · 站长消息",
    }
    by_feed: dict[str, list[tuple[str, str, str]]] = {}
    for feed_url, guid, title, url in items:
        by_feed.setdefault(feed_url, []).append((guid, title, url))
    assert by_feed[urls[0]] == [
        (
            "urn:aggregator:post:NW202112162215638061",
            "“十四五”工业绿色发展蓝图绘就",
            "https://finews.withounder.com/renminyoudianbao/2021/12/16/NW202112162215638061.html",
        )
    ]
    # the subscription document: the newest 5 (entries = 5) plus any post not yet archived
    assert [guid for guid, _, _ in by_feed[urls[1]]][:2] == [
        "urn:aggregator:post:202205302396671645",
        "urn:aggregator:post:202205302396671291",
    ]
    assert len(by_feed[urls[2]]) == 1


@pytest.mark.skipif(
    shutil.which("jekyll") is None, reason="jekyll is not installed (apt-get install jekyll)"
)
def test_jekyll_builds_the_storage_dir(site: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(site / "storage", source, ignore=shutil.ignore_patterns(".aggregator"))
    out = tmp_path / "out"
    done = subprocess.run(
        ["jekyll", "build", "--source", str(source), "--destination", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path), "JEKYLL_ENV": "production"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    by_category: dict[str, set[str]] = {}
    for path in sorted((source / "_posts").glob("2*.md")):
        if not path.read_bytes().startswith(b"---\n"):
            continue  # one original post starts with a blank line: Jekyll sees no front matter
        post = parse_post(path.read_bytes(), path.name, lambda body: body)
        url = post_url(post, SITE)
        page = (out / url.lstrip("/")).read_text()
        assert f"<h1>{post.title}</h1>" in page, url
        if post.category:
            by_category.setdefault(post.category, set()).add(url)
    assert len(by_category) == 9
    for category, urls in by_category.items():
        page = (out / "category" / f"{category}.html").read_text()
        listed = set(re.findall(r'<li><time[^>]*>[^<]*</time> <a href="([^"]+)">', page))
        assert listed == urls, category
    for feed in ("feed.xml", "feed/emnews.xml", "feeds.opml"):
        assert (out / feed).read_bytes() == (source / feed).read_bytes()
    home = (out / "index.html").read_text()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="人民邮电报新闻" href="/feed/renminyoudianbao.xml">'
        in home
    )
