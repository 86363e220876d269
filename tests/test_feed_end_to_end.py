"""`aggregator fetch` over feed sources (RSS 2.0 in GBK, RSS 1.0, Atom, JSON Feed, a summary-only
feed with its article pages) against a local server, with a fixed clock.

The storage tree is compared with tests/data/golden/feeds/ after the server's random base URL is
replaced by `http://127.0.0.1:PORT`. Regenerate after a deliberate change with
`AGGREGATOR_UPDATE_GOLDEN=1 pytest tests/test_feed_end_to_end.py` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result
from httpserver import Reply, Route, ServerURL, serve

from aggregator.cli import cli

DATA = Path(__file__).parent / "data"
FEEDS = DATA / "feeds"
GOLDEN = DATA / "golden" / "feeds"
FIXED_NOW = "1654041600"  # 2022-06-01 00:00:00 UTC
LATER = "1654128000"  # 2022-06-02 00:00:00 UTC
UPDATE_GOLDEN = os.environ.get("AGGREGATOR_UPDATE_GOLDEN") == "1"
PLACEHOLDER = b"http://127.0.0.1:PORT"


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def routes(base: str) -> dict[str, Reply]:
    return {
        # GBK bytes under a wrong header: the XML declaration (gb2312) must win
        "/cn/rss.xml": Reply(
            200, fixture("cn_news_gbk.xml"), {"Content-Type": "application/rss+xml; charset=utf-8"}
        ),
        "/tech/rss.rdf": Reply(
            200, fixture("tech_rss10.rdf"), {"Content-Type": "application/rdf+xml"}
        ),
        "/blog/atom.xml": Reply(
            200, fixture("blog_atom.xml"), {"Content-Type": "application/atom+xml", "ETag": '"a1"'}
        ),
        "/flash/feed.json": Reply(
            200, fixture("flash.json"), {"Content-Type": "application/feed+json"}
        ),
        "/nbd/rss.xml": Reply(
            200,
            fixture("summary_only.xml").replace(b"{base}", base.encode()),
            {"Content-Type": "text/xml"},
        ),
        "/articles/1.html": Reply(200, fixture("article_1.html"), {"Content-Type": "text/html"}),
        "/articles/2.html": Reply(
            200, fixture("article_2.html"), {"Content-Type": "text/html; charset=utf-8"}
        ),
    }


def config_text(base: str, extra: str = "") -> str:
    return f"""
[site]
title = "聚合"
url = "https://news.example.net"

[fetch]
allow_private_networks = true
deadline = 10

[[sources]]
name = "cn-finance"
type = "feed"
url = "{base}/cn/rss.xml"
full_text = false
category_map = {{ "股市" = "stocks" }}

[[sources]]
name = "tech"
type = "feed"
url = "{base}/tech/rss.rdf"
full_text = false
category = "tech"

[[sources]]
name = "blog"
type = "feed"
url = "{base}/blog/atom.xml"
full_text = false
timezone = "Europe/Berlin"

[[sources]]
name = "flash"
type = "feed"
url = "{base}/flash/feed.json"
full_text = false
exclude = "没有标题"

[[sources]]
name = "nbd"
type = "feed"
url = "{base}/nbd/rss.xml"
{extra}
"""


def conditional(reply: Reply) -> Route:
    """`reply`, or 304 when the request carries its ETag."""

    def route(handler: BaseHTTPRequestHandler) -> Reply:
        if handler.headers.get("If-None-Match") == reply.headers.get("ETag"):
            return Reply(304, b"", {"ETag": reply.headers["ETag"]})
        return reply

    return route


@pytest.fixture
def server() -> Iterator[ServerURL]:
    handlers: dict[str, Route] = {}
    with serve(handlers) as base:
        handlers.update(routes(base))
        handlers["/blog/atom.xml"] = conditional(routes(base)["/blog/atom.xml"])
        yield base


@pytest.fixture
def site(tmp_path: Path, server: ServerURL) -> Path:
    (tmp_path / "feeds_config.toml").write_text(config_text(server), encoding="utf-8")
    return tmp_path


def run(site: Path, *args: str, now: str = FIXED_NOW) -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(site / "feeds_config.toml"), *args],
        env={"SOURCE_DATE_EPOCH": now},
        catch_exceptions=False,
    )


def tree(root: Path, base: str) -> dict[str, bytes]:
    """Posts, the site feed and the category feeds, with the server's base URL replaced."""
    paths = [*root.glob("_posts/*.md"), *root.glob("feed.xml"), *root.glob("feed/*.xml")]
    return {
        p.relative_to(root).as_posix(): p.read_bytes().replace(base.encode(), PLACEHOLDER)
        for p in sorted(paths)
    }


def lines(result: Result) -> list[str]:
    """Output lines without their timings."""
    return [
        line.rsplit(" (", 1)[0] if line.endswith(" ms)") else line
        for line in result.output.splitlines()
    ]


def test_every_feed_kind_matches_the_golden_tree(site: Path, server: ServerURL) -> None:
    result = run(site, "fetch")
    assert result.exit_code == 0, result.output
    assert lines(result)[:5] == [
        "cn-finance: 3 new, 0 changed, 0 unchanged, 1 duplicate",
        "tech: 2 new, 0 changed, 0 unchanged",
        "blog: 3 new, 0 changed, 0 unchanged",
        "flash: 2 new, 0 changed, 0 unchanged, 1 filtered",
        f"nbd: 3 new, 0 changed, 0 unchanged; warning: {server}/articles/gone.html: full text "
        "not extracted (HTTP 404 Not Found); summary kept",
    ]
    assert lines(result)[5].startswith(
        "feeds written: feed.xml, feed/caijingkuaixun.xml, feed/example-engineering-blog.xml, "
        "feed/meirijingjixinwen.xml, feed/stocks.xml, feed/tech.xml, "
        "feed/zhongguoxinwenwang-caijing.xml"
    )
    produced = tree(site / "storage", server)
    if UPDATE_GOLDEN:
        for rel, data in produced.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    assert produced == tree(GOLDEN, server)


def test_feeds_parse_cleanly_and_carry_no_script(site: Path) -> None:
    assert run(site, "fetch").exit_code == 0
    for path in sorted((site / "storage").rglob("*.xml")):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    for path in (site / "storage" / "_posts").iterdir():
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "javascript:" not in text and "onerror" not in text


def test_second_fetch_is_quiet_and_conditional(site: Path, server: ServerURL) -> None:
    assert run(site, "fetch").exit_code == 0
    before = tree(site / "storage", server)
    result = run(site, "fetch", now=LATER)
    assert result.exit_code == 0, result.output
    assert lines(result)[:4] == [
        "cn-finance: 0 new, 0 changed, 3 unchanged, 1 duplicate",
        "tech: 0 new, 0 changed, 2 unchanged",
        "blog: not modified",
        "flash: 0 new, 0 changed, 2 unchanged, 1 filtered",
    ]
    assert tree(site / "storage", server) == before
    atom_requests = [r for r in server.requests if r.path == "/blog/atom.xml"]
    assert atom_requests[-1].headers.get("if-none-match") == '"a1"'


def test_dry_run_prints_posts_and_writes_nothing(site: Path, server: ServerURL) -> None:
    result = run(site, "fetch", "tech", "--dry-run")
    assert result.exit_code == 0, result.output
    assert lines(result) == [
        "tech: 2 new, 0 changed, 0 unchanged",
        "new: _posts/2021-12-16-f-dc4c409993db126f.md",
        "  title:    Linux 5.16 Released With <Folios> & Faster Networking",
        "  date:     2021-12-16 09:30:00 +0800",
        "  category: tech",
        "  text:     Linus Torvalds tagged the release on Sunday. The headline feature is memory foli",
        "new: _posts/2021-12-16-f-e7ee593f21637aab.md",
        "  title:    Rust Compiler Drops Support for Old Targets",
        "  date:     2021-12-16 07:00:00 +0800",
        "  category: tech",
        "  text:     The Rust team announced that tier-3 targets without maintainers will be removed",
        "dry run: 2 posts would be written; nothing was written",
    ]
    assert not (site / "storage").exists()


def test_dry_run_after_a_fetch_shows_only_changes(site: Path, server: ServerURL) -> None:
    assert run(site, "fetch", "tech").exit_code == 0
    state = (site / "storage" / ".aggregator" / "state.sqlite").read_bytes()
    result = run(site, "fetch", "tech", "--dry-run", now=LATER)
    assert lines(result) == [
        "tech: 0 new, 0 changed, 2 unchanged",
        "dry run: 0 posts would be written; nothing was written",
    ]
    assert (site / "storage" / ".aggregator" / "state.sqlite").read_bytes() == state


def test_force_rewrites_posts_after_a_rule_change(site: Path, server: ServerURL) -> None:
    assert run(site, "fetch", "blog").exit_code == 0
    assert lines(run(site, "fetch", "blog")) == ["blog: not modified"]
    config = site / "feeds_config.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\ncategory = "eng"'
        ),
        encoding="utf-8",
    )
    result = run(site, "fetch", "blog", "--force", now=LATER)
    assert lines(result)[0] == "blog: 0 new, 3 changed, 0 unchanged"
    posts = sorted((site / "storage" / "_posts").iterdir())
    assert all("categories: eng\n" in p.read_text(encoding="utf-8") for p in posts)
    assert "if-none-match" not in server.requests[-1].headers
