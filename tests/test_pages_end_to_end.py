"""`aggregator fetch` with page and listing sources, end to end, against the local news site.

The config names the site `http://news.test`; the fetcher's transport forwards every request to
the local server (tests/fake_news_site.py), so post ids, which hash the article URL, do not
depend on the server's port. The storage tree is compared with tests/data/golden/pages_e2e/;
regenerate after a deliberate change with `AGGREGATOR_UPDATE_GOLDEN=1 pytest
tests/test_pages_end_to_end.py` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from fake_news_site import routes
from httpserver import ServerURL, serve

from aggregator import pipeline
from aggregator.cli import cli
from aggregator.config import Config
from aggregator.fetch import HttpFetcher

GOLDEN = Path(__file__).parent / "data" / "golden" / "pages_e2e"
UPDATE_GOLDEN = os.environ.get("AGGREGATOR_UPDATE_GOLDEN") == "1"
FIXED_NOW = "1735689600"  # 2025-01-01 00:00:00 UTC
LATER = "1735776000"
SITE = "http://news.test"

CONFIG = f"""
[site]
title = "新闻聚合"
url = "https://news.example.org"

[fetch]
allow_private_networks = true

[[sources]]
name = "pages"
type = "page"
urls = ["{SITE}/a/sina_finance.html", "{SITE}/a/kr36_tech.html"]
category = "pages"
tag = "精选文章"

[[sources]]
name = "roll"
type = "listing"
url = "{SITE}/roll/"
item_selector = "ul.list_009 li"
category = "gundong"
tag = "滚动新闻"
[sources.fields]
date = "span.time"

[[sources]]
name = "column"
type = "listing"
url = "{SITE}/api/list"
items_path = "data.list"
article_url = "/api/text/{{id}}"
[sources.fields]
id = "docId"
title = "title"
date = "showTime"
media = "mediaName"
link = "uniqueUrl"
[sources.article_fields]
body = "data.content"
"""


@pytest.fixture
def server() -> Iterator[ServerURL]:
    with serve(routes()) as url:
        yield url


@pytest.fixture
def site(tmp_path: Path, server: ServerURL, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    local = httpx.Client()

    def forward(request: httpx.Request) -> httpx.Response:
        sent = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        answer = local.request(request.method, server + request.url.raw_path.decode(), headers=sent)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def open_fetcher(config: Config, *args: object, **kwargs: object) -> HttpFetcher:
        return HttpFetcher(
            config.fetch,
            transport=httpx.MockTransport(forward),
            resolver=lambda host, port: ["127.0.0.1"],
        )

    monkeypatch.setattr(pipeline, "open_fetcher", open_fetcher)
    (tmp_path / "feeds_config.toml").write_text(CONFIG, encoding="utf-8")
    yield tmp_path
    local.close()


def run(site: Path, *args: str, now: str = FIXED_NOW) -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(site / "feeds_config.toml"), *args],
        env={"SOURCE_DATE_EPOCH": now},
        catch_exceptions=False,
    )


def tree(root: Path) -> dict[str, bytes]:
    """The post files and the site feed (the rest of the site is other features' business)."""
    files = [*sorted((root / "_posts").glob("*.md")), root / "feed.xml"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.is_file()}


def test_pages_and_listings_match_the_golden_tree(site: Path) -> None:
    result = run(site, "fetch")
    assert result.exit_code == 1, result.output  # one listed article is gone (404)
    lines = [line.rsplit(" (", 1)[0] for line in result.output.splitlines()]
    assert lines[:3] == [
        "pages: 2 new, 0 changed, 0 unchanged",
        f"roll: 3 new, 0 changed, 0 unchanged; error: {SITE}/a/missing.html: HTTP 404 Not Found",
        f"column: 2 new, 0 changed, 0 unchanged; error: {SITE}/api/list: item 2: no fields.id"
        f" (+1 more)",
    ]
    produced = tree(site / "storage")
    if UPDATE_GOLDEN:
        for rel, data in produced.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    assert produced == tree(GOLDEN)


def test_a_second_fetch_is_conditional_and_changes_nothing(site: Path) -> None:
    run(site, "fetch")
    before = tree(site / "storage")
    result = run(site, "fetch", "pages", now=LATER)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("pages: not modified")
    assert tree(site / "storage") == before


def test_adhoc_url_is_read_as_a_page(site: Path) -> None:
    result = run(site, "fetch", "--url", f"{SITE}/a/netease_gbk.html")
    assert result.exit_code == 0, result.output
    posts = sorted((site / "storage" / "_posts").glob("*.md"))
    assert [p.name for p in posts] == ["2023-05-12-p-0670cc2dbe667f6d.md"]
    text = posts[0].read_text(encoding="utf-8")
    assert 'title: "山区小学用上“空中课堂” 城乡孩子同上一节课"' in text
    assert "date: 2023-05-12 08:15:02 +0800" in text
