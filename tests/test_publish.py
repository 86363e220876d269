"""The publish step on the original site's 25 posts: Jekyll drop-in files, OPML, tag feeds,
JSON Feed twins, RFC 5005 archives, the standalone site and WebSub pings."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

import feedparser
import pytest
from httpserver import Reply, serve
from lxml import etree
from site_helpers import DATA, SITE_URL, make_site, published, run

from aggregator.archive import archive_path
from aggregator.postfile import parse_post
from aggregator.publish import tag_slugs

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
CATEGORIES = [
    "21shijijingjibaodao",
    "emnews",
    "meirijingjixinwen",
    "quanshangzhongguo",
    "renminyoudianbao",
    "sitenews",
    "yangshixinwenkehuduan",
    "zhongguojijinbao",
    "zhongguozhengquanbao",
]


def atom_files(storage: Path) -> list[Path]:
    return [storage / "feed.xml", *sorted((storage / "feed").rglob("*.xml"))]


def entry_ids(path: Path) -> list[str]:
    return [e.findtext(f"{ATOM}id") or "" for e in ET.parse(path).getroot().iter(f"{ATOM}entry")]


def links(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    return {link.get("rel", ""): link.get("href", "") for link in root.findall(f"{ATOM}link")}


def test_category_pages_and_skeleton(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert run(site, "build").exit_code == 0
    storage = site / "storage"
    assert sorted(p.stem for p in (storage / "category").glob("*.html")) == CATEGORIES
    assert (storage / "category/renminyoudianbao.html").read_text() == (
        '---\nlayout: category\ntitle: "人民邮电报新闻"\ncategory: renminyoudianbao\n---\n'
    )
    assert (storage / "_config.yml").read_text().splitlines()[3:10] == [
        'title: "金融消息"',
        'url: "https://finews.withounder.com"',
        'baseurl: ""',
        'lang: "zh-CN"',
        'timezone: "Asia/Shanghai"',
        "permalink: date",
        "exclude:",
    ]
    assert sorted(p.name for p in (storage / "_layouts").iterdir()) == [
        "category.html",
        "default.html",
        "post.html",
    ]
    assert (storage / "index.html").read_text().startswith("---\nlayout: default\n")


def test_a_users_jekyll_site_is_never_touched(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    storage = site / "storage"
    (storage / "_config.yml").write_text("theme: minima\n")
    assert run(site, "build").exit_code == 0
    assert (storage / "_config.yml").read_text() == "theme: minima\n"
    assert not (storage / "_layouts").exists() and not (storage / "index.html").exists()
    assert (storage / "category/emnews.html").exists()


def test_a_skeleton_file_that_exists_is_kept(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "storage/_layouts").mkdir()
    (site / "storage/_layouts/post.html").write_text("mine\n")
    assert run(site, "build").exit_code == 0
    assert (site / "storage/_layouts/post.html").read_text() == "mine\n"
    assert (site / "storage/_layouts/default.html").exists()


def test_opml_lists_every_category_feed(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert run(site, "build").exit_code == 0
    root = ET.parse(site / "storage/feeds.opml").getroot()
    assert root.get("version") == "2.0" and root.findtext("head/title") == "金融消息"
    outlines = [
        (o.get("type"), o.get("text"), o.get("xmlUrl"), o.get("htmlUrl"))
        for o in root.iter("outline")
    ]
    assert [o[2] for o in outlines] == [f"{SITE_URL}/feed/{c}.xml" for c in CATEGORIES]
    assert outlines[4] == (
        "rss",
        "人民邮电报新闻",
        f"{SITE_URL}/feed/renminyoudianbao.xml",
        f"{SITE_URL}/category/renminyoudianbao.html",
    )


def test_tag_feeds_for_chinese_tags(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert run(site, "build").exit_code == 0
    tag_dir = site / "storage/feed/by_tag"
    assert sorted(p.name for p in tag_dir.glob("*.xml")) == [
        "21shijijingjibaodaoxinwen.xml",
        "dongcaigundongxinwen.xml",
        "meirijingjixinwenxinwen.xml",
        "quanshangzhongguoxinwen.xml",
        "renminyoudianbaoxinwen.xml",
        "yangshixinwenkehuduanxinwen.xml",
        "zhanzhangxiaoxi.xml",
        "zhongguojijinbaoxinwen.xml",
        "zhongguozhengquanbaoxinwen.xml",
    ]
    parsed = feedparser.parse((tag_dir / "renminyoudianbaoxinwen.xml").read_bytes())
    assert parsed.feed.title == "金融消息 · 人民邮电报新闻"
    assert [e.link for e in parsed.entries] == [
        f"{SITE_URL}/renminyoudianbao/2021/12/16/NW202112162215638061.html"
    ]
    assert len(feedparser.parse((tag_dir / "dongcaigundongxinwen.xml").read_bytes()).entries) == 16


def test_colliding_tag_slugs_keep_the_first_stored() -> None:
    posts = [
        parse_post((DATA / "finews_posts" / name).read_bytes(), name, lambda b: b)
        for name in ("2021-12-16-NW202112162215638061.md", "2022-01-24-NW202201242259229980.md")
    ]
    first, second = (
        p.__class__(**{**p.__dict__, "tag": tag})
        for p, tag in zip(posts, ["新华社", "信华社"], strict=True)
    )
    assert tag_slugs([second, first]) == {"新华社": "xinhuashe", "信华社": "xinhuashe-2"}


def test_every_atom_file_is_valid_and_parses_cleanly(tmp_path: Path) -> None:
    site = make_site(tmp_path, entries=4, extra='formats = ["atom", "json"]\n')
    assert run(site, "build").exit_code == 0
    schema = etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))
    files = atom_files(site / "storage")
    # 1 + 9 categories + 9 tags, 6 site archive pages, 4 + 4 for emnews and its tag
    assert len(files) == 33
    for path in files:
        assert schema.validate(etree.parse(str(path))), (path, schema.error_log)
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))


def test_archives_hold_every_post_and_full_pages_never_change(tmp_path: Path) -> None:
    site = make_site(tmp_path, entries=4)
    storage = site / "storage"
    assert run(site, "build").exit_code == 0
    # 24 posts -> 6 full pages of 4; emnews: 16 posts -> 4 pages
    assert links(storage / "feed.xml")["prev-archive"] == f"{SITE_URL}/feed/archive/6.xml"
    pages = [storage / archive_path("feed.xml", n) for n in range(1, 7)]
    page3 = links(pages[2])
    assert page3 == {
        "self": f"{SITE_URL}/feed/archive/3.xml",
        "alternate": f"{SITE_URL}/",
        "current": f"{SITE_URL}/feed.xml",
        "prev-archive": f"{SITE_URL}/feed/archive/2.xml",
        "next-archive": f"{SITE_URL}/feed/archive/4.xml",
    }
    assert "next-archive" not in links(pages[-1]) and "prev-archive" not in links(pages[0])
    root = ET.parse(pages[0]).getroot()
    assert root.find(f"{FH}archive") is not None
    seen = set(entry_ids(storage / "feed.xml"))
    for page in pages:
        assert len(entry_ids(page)) == 4
        seen |= set(entry_ids(page))
    all_ids = {f"urn:aggregator:post:{p.stem[11:]}" for p in (storage / "_posts").glob("2*.md")}
    assert seen == all_ids
    emnews = storage / "feed/emnews.xml"
    emnews_ids = set(entry_ids(emnews))
    for n in range(1, 5):
        emnews_ids |= set(entry_ids(storage / archive_path("feed/emnews.xml", n)))
    assert len(emnews_ids) == 16

    before = {p: p.read_bytes() for p in pages}
    new = storage / "_posts/2022-06-01-202206010000000001.md"
    new.write_text(
        '---\nlayout: post\ntitle: "新的"\ndate: 2022-06-01 08:00:00 +0800\n'
        "categories: emnews\ntags: 东财滚动新闻\nfetched_at: 2022-06-01 08:00:00 +0800\n---\n正文\n"
    )
    assert run(site, "build").exit_code == 0
    assert {p: p.read_bytes() for p in pages} == before  # a partial page is never archived


def test_json_feed_twins(tmp_path: Path) -> None:
    site = make_site(tmp_path, extra='formats = ["atom", "json"]\n')
    assert run(site, "build").exit_code == 0
    feed = json.loads((site / "storage/feed/renminyoudianbao.json").read_text())
    item = feed.pop("items")[0]
    assert feed == {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "金融消息 · 人民邮电报新闻",
        "home_page_url": f"{SITE_URL}/category/renminyoudianbao.html",
        "feed_url": f"{SITE_URL}/feed/renminyoudianbao.json",
        "language": "zh-CN",
        "authors": [{"name": "金融消息"}],
    }
    assert item["id"] == "urn:aggregator:post:NW202112162215638061"
    assert item["url"] == f"{SITE_URL}/renminyoudianbao/2021/12/16/NW202112162215638061.html"
    assert item["title"] == "“十四五”工业绿色发展蓝图绘就"
    assert item["date_published"] == "2021-12-16T09:30:00+08:00"
    assert item["tags"] == ["人民邮电报新闻"]
    assert item["content_html"].startswith("<p>“十四五”时期")
    assert (site / "storage/feed.json").exists() and (
        site / "storage/feed/by_tag/zhanzhangxiaoxi.json"
    ).exists()


def test_no_json_unless_asked(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert run(site, "build").exit_code == 0
    assert not list((site / "storage").rglob("*.json"))


def test_standalone_site_and_discovery(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert run(site, "build", "--html").exit_code == 0
    out = site / "storage/_site"
    for path in (site / "storage/_posts").glob("2*.md"):
        post = parse_post(path.read_bytes(), path.name, lambda b: b)
        day = post.date
        page = (
            out / post.category / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{post.post_id}.html"
        )
        assert f"<h1>{post.title}</h1>".replace("&", "&amp;") in page.read_text(), page
    home = (out / "index.html").read_text()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="金融消息" href="feed.xml">'
        in home
    )
    for category in CATEGORIES:
        assert f'href="feed/{category}.xml">' in home
        assert (out / f"feed/{category}.xml").read_bytes() == (
            site / f"storage/feed/{category}.xml"
        ).read_bytes()
    assert (out / "feeds.opml").read_bytes() == (site / "storage/feeds.opml").read_bytes()
    category_page = (out / "category/renminyoudianbao.html").read_text()
    assert (
        '<a href="../renminyoudianbao/2021/12/16/NW202112162215638061.html">“十四五”工业绿色发展蓝图绘就</a>'
        in category_page
    )


def test_html_is_incremental(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert run(site, "build", "--html").exit_code == 0
    out = site / "storage"
    before = {k: v for k, v in published(out).items()}

    def mtimes_now() -> dict[Path, int]:
        return {
            p: p.stat().st_mtime_ns
            for p in out.rglob("*")
            if p.is_file() and ".aggregator" not in p.parts
        }

    mtimes = mtimes_now()
    again = run(site, "build", "--html")
    assert again.output == "feeds unchanged\n"
    assert mtimes_now() == mtimes
    post = out / "_posts/2021-12-16-NW202112162215638061.md"
    post.write_text(post.read_text().replace("蓝图绘就", "蓝图绘就了"))
    assert run(site, "build", "--html").exit_code == 0
    after = published(out)
    changed = sorted(k for k in after if after[k] != before.get(k))
    assert changed == [
        "_site/category/renminyoudianbao.html",
        "_site/feed.xml",
        "_site/feed/by_tag/renminyoudianbaoxinwen.xml",
        "_site/feed/renminyoudianbao.xml",
        "_site/index.html",
        "_site/renminyoudianbao/2021/12/16/NW202112162215638061.html",
        "feed.xml",
        "feed/by_tag/renminyoudianbaoxinwen.xml",
        "feed/renminyoudianbao.xml",
    ]


def test_user_templates_override_the_shipped_ones(tmp_path: Path) -> None:
    site = make_site(tmp_path, extra='\n[publish]\ntemplates = "mytemplates"\n')
    (site / "mytemplates").mkdir()
    (site / "mytemplates/post.html").write_text(
        "<p>{{ post.title }}|{{ link('index.html') }}</p>\n"
    )
    assert run(site, "build", "--html").exit_code == 0
    page = site / "storage/_site/renminyoudianbao/2021/12/16/NW202112162215638061.html"
    assert page.read_text() == "<p>“十四五”工业绿色发展蓝图绘就|../../../../index.html</p>\n"
    assert (site / "storage/_site/index.html").read_text().startswith("<!DOCTYPE html>")


def test_a_broken_template_is_one_line_and_exit_1(tmp_path: Path) -> None:
    site = make_site(tmp_path, extra='\n[publish]\ntemplates = "t"\n')
    (site / "t").mkdir()
    (site / "t/home.html").write_text("{{ nope }}")
    result = run(site, "build", "--html")
    assert result.exit_code == 1
    assert result.output == "aggregator: template home.html: 'nope' is undefined\n"


HubLog = list[list[tuple[str, str]]]


def hub_routes(log: HubLog, status: int = 204) -> dict[str, Callable[..., Reply]]:
    def handle(handler: object) -> Reply:
        length = int(handler.headers["Content-Length"])  # type: ignore[attr-defined]
        log.append(parse_qsl(handler.rfile.read(length).decode()))  # type: ignore[attr-defined]
        return Reply(status)

    return {"/hub": handle}


def test_websub_links_and_ping(tmp_path: Path) -> None:
    log: HubLog = []
    with serve(hub_routes(log)) as hub:
        site = make_site(tmp_path, extra=f'\n[publish]\nwebsub_hub = "{hub}/hub"\n')
        assert run(site, "build").exit_code == 0
        assert links(site / "storage/feed/emnews.xml")["hub"] == f"{hub}/hub"
        assert links(site / "storage/feed/emnews.xml")["self"] == f"{SITE_URL}/feed/emnews.xml"
        assert len(log) == 1
        assert log[0][0] == ("hub.mode", "publish")
        topics = [v for k, v in log[0] if k == "hub.url"]
        assert topics[:2] == [f"{SITE_URL}/feed.xml", f"{SITE_URL}/feed/21shijijingjibaodao.xml"]
        assert len(topics) == 1 + len(CATEGORIES) + 9
        assert run(site, "build").exit_code == 0
        assert len(log) == 1  # nothing changed: no ping


def test_a_failed_ping_is_logged_never_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = make_site(tmp_path, extra='\n[publish]\nwebsub_hub = "http://127.0.0.1:9/hub"\n')
    with caplog.at_level(logging.WARNING, logger="aggregator.websub"):
        result = run(site, "build")
    assert result.exit_code == 0
    assert [r.getMessage().split(": ")[:2] for r in caplog.records] == [
        ["websub", "http://127.0.0.1:9/hub"]
    ]
    assert (site / "storage/feed.xml").exists()


def test_publish_config_errors_name_the_key(tmp_path: Path) -> None:
    site = make_site(tmp_path, extra='formats = ["atom", "rss"]\n')
    result = run(site, "build")
    assert (result.exit_code, result.output) == (
        2,
        'aggregator: feeds.formats: expected a list of "atom" and/or "json"\n',
    )
    site2 = make_site(tmp_path / "b", extra='\n[publish]\nwebsub = "x"\n')
    assert (
        run(site2, "build").output
        == "aggregator: publish.websub: unknown key (did you mean 'websub_hub'?)\n"
    )
