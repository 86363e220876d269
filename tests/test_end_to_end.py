"""`aggregator fetch` / `build` end to end against the fake eastmoney server, with a fixed clock.

The whole storage tree is compared with golden files in tests/data/golden/e2e/. After a deliberate
change of the output format, regenerate them with `AGGREGATOR_UPDATE_GOLDEN=1 pytest
tests/test_end_to_end.py` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result
from fake_eastmoney import Article, FakeEastmoney
from lxml import etree

from aggregator.cli import cli

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden" / "e2e"
SEED = DATA / "seed_post.md"
SEED_FILE = "_posts/2021-12-16-NW202112162215638061.md"
PROVENANCE_KEYS = ("source_url:", "source_name:", "guid:", "fetched_at:", "updated:")
FIXED_NOW = "1654041600"  # 2022-06-01 00:00:00 UTC
LATER = "1654128000"  # 2022-06-02 00:00:00 UTC
UPDATE_GOLDEN = os.environ.get("AGGREGATOR_UPDATE_GOLDEN") == "1"


def config_text(em: FakeEastmoney, *, private: bool = True, extra: str = "") -> str:
    return f"""
[site]
title = "金融消息"
url = "https://finews.withounder.com"

[fetch]
allow_private_networks = {"true" if private else "false"}
deadline = 10

[[sources]]
name = "em-rolling"
type = "eastmoney"
url = "{em.rolling_url(100)}"
text_api = "{em.text_api}"
category = "emnews"
tag = "东财滚动新闻"

[[sources]]
name = "em-media"
type = "eastmoney"
url = "{em.media_url(100)}"
text_api = "{em.text_api}"
{extra}
"""


@pytest.fixture
def em() -> Iterator[FakeEastmoney]:
    with FakeEastmoney() as server:
        yield server


@pytest.fixture
def site(tmp_path: Path, em: FakeEastmoney) -> Path:
    (tmp_path / "feeds_config.toml").write_text(config_text(em), encoding="utf-8")
    return tmp_path


def run(site: Path, *args: str, now: str = FIXED_NOW) -> Result:
    runner = CliRunner()
    return runner.invoke(
        cli,
        ["--config", str(site / "feeds_config.toml"), *args],
        env={"SOURCE_DATE_EPOCH": now},
        catch_exceptions=False,
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every published file (the state dot-folder excluded), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".aggregator" not in p.parts
    }


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and ".aggregator" not in p.parts
    }


def without_provenance(data: bytes) -> bytes:
    head, sep, body = data.partition(b"\n---\n")
    lines = [ln for ln in head.split(b"\n") if not ln.decode().startswith(PROVENANCE_KEYS)]
    return b"\n".join(lines) + sep + body


def test_first_fetch_matches_the_golden_tree(site: Path) -> None:
    result = run(site, "fetch")
    assert result.exit_code == 0, result.output
    lines = [ln.split(" (")[0] for ln in result.output.splitlines()]
    assert lines == [
        "em-rolling: 5 new, 0 changed, 0 unchanged",
        "em-media: 7 new, 0 changed, 0 unchanged",
        "feeds written: feed.xml, feed/21shijijingjibaodao.xml, feed/emnews.xml, "
        "feed/meirijingjixinwen.xml, feed/quanshangzhongguo.xml, feed/renminyoudianbao.xml, "
        "feed/yangshixinwenkehuduan.xml, feed/zhongguojijinbao.xml, feed/zhongguozhengquanbao.xml, "
        "feed/by_tag/21shijijingjibaodaoxinwen.xml, feed/by_tag/dongcaigundongxinwen.xml, "
        "feed/by_tag/meirijingjixinwenxinwen.xml, feed/by_tag/quanshangzhongguoxinwen.xml, "
        "feed/by_tag/renminyoudianbaoxinwen.xml, feed/by_tag/yangshixinwenkehuduanxinwen.xml, "
        "feed/by_tag/zhongguojijinbaoxinwen.xml, feed/by_tag/zhongguozhengquanbaoxinwen.xml",
    ]
    produced = tree(site / "storage")
    if UPDATE_GOLDEN:
        for rel, data in produced.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    assert produced == tree(GOLDEN)


def test_the_seed_post_comes_out_byte_identical(site: Path) -> None:
    assert run(site, "fetch", "em-media").exit_code == 0
    written = (site / "storage" / SEED_FILE).read_bytes()
    assert without_provenance(written) == SEED.read_bytes()
    assert (
        b"\nsource_url: " in written and b'\nguid: "urn:eastmoney:NW202112162215638061"' in written
    )


def test_every_feed_is_valid_atom_and_parses_cleanly(site: Path) -> None:
    assert run(site, "fetch").exit_code == 0
    schema = etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))
    feeds = sorted((site / "storage").glob("feed*.xml")) + sorted(
        (site / "storage" / "feed").glob("*.xml")
    )
    assert len(feeds) == 9
    for path in feeds:
        doc = etree.parse(str(path))
        assert schema.validate(doc), (path.name, schema.error_log)
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path.name, parsed.get("bozo_exception"))
    renmin = feedparser.parse((site / "storage/feed/renminyoudianbao.xml").read_bytes())
    assert [e.id for e in renmin.entries] == ["urn:eastmoney:NW202112162215638061"]
    entry = renmin.entries[0]
    assert entry.title == "“十四五”工业绿色发展蓝图绘就"
    assert entry.link == (
        "https://finews.withounder.com/renminyoudianbao/2021/12/16/NW202112162215638061.html"
    )
    assert renmin.feed.updated == "2021-12-16T09:30:00+08:00"


def test_second_fetch_changes_nothing_and_is_conditional(site: Path, em: FakeEastmoney) -> None:
    assert run(site, "fetch").exit_code == 0
    before_bytes, before_times = tree(site / "storage"), mtimes(site / "storage")
    em.reset_log()
    result = run(site, "fetch", now=LATER)
    assert result.exit_code == 0, result.output
    assert [ln.split(" (")[0] for ln in result.output.splitlines()] == [
        "em-rolling: 0 new, 0 changed, 5 unchanged",
        "em-media: 0 new, 0 changed, 7 unchanged",
    ]
    assert tree(site / "storage") == before_bytes
    assert mtimes(site / "storage") == before_times
    texts = [r for r in em.received if r.path == "/NewsData/GetNewsText.do"]
    assert len(texts) == 12
    assert all(r.if_none_match for r in texts)


def test_a_changed_article_rewrites_exactly_its_post_and_feeds(
    site: Path, em: FakeEastmoney
) -> None:
    assert run(site, "fetch").exit_code == 0
    before = tree(site / "storage")
    old = em.articles["NW202112162215638061"].text
    assert old is not None
    em.update_article("NW202112162215638061", text=old.replace("蓝图", "新蓝图"))
    result = run(site, "fetch", now=LATER)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].startswith("em-media: 0 new, 1 changed, 6 unchanged")
    after = tree(site / "storage")
    changed = sorted(k for k in after if after[k] != before.get(k))
    assert changed == [
        SEED_FILE,
        "feed.xml",
        "feed/by_tag/renminyoudianbaoxinwen.xml",
        "feed/renminyoudianbao.xml",
    ]
    post = after[SEED_FILE].decode()
    assert "为“十四五”期间我国工业绿色发展描绘了新蓝图" in post
    assert "\nupdated: 2022-06-02 08:00:00 +0800\n" in post


def test_a_hostile_title_round_trips(site: Path, em: FakeEastmoney) -> None:
    title = 'He said "hi": #1 --- \\ next\nline'
    em.add_article(
        Article(
            code="202206010000000001",
            title=title,
            showtime="2022-06-01 07:00:00",
            media="新华社",
            text="<p>正文</p>",
        )
    )
    assert run(site, "fetch", "em-media").exit_code == 0
    import frontmatter

    post = frontmatter.loads(
        (site / "storage/_posts/2022-06-01-NW202206010000000001.md").read_text()
    )
    assert post["title"] == 'He said "hi": #1 --- \\ next line'
    assert post["categories"] == "xinhuashe"
    assert post["tags"] == "新华社新闻"


def test_build_rebuilds_the_same_feeds_from_disk(site: Path) -> None:
    assert run(site, "fetch").exit_code == 0
    storage = site / "storage"
    feeds = {k: v for k, v in tree(storage).items() if k.startswith("feed")}
    for rel in feeds:
        (storage / rel).unlink()
    result = run(site, "build")
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in tree(storage).items() if k.startswith("feed")} == feeds
    again = run(site, "build")
    assert again.output == "feeds unchanged\n"


def test_a_bad_config_exits_2_naming_the_key(site: Path) -> None:
    path = site / "feeds_config.toml"
    path.write_text(path.read_text().replace('text_api = "', 'text_apii = "', 1))
    result = run(site, "fetch")
    assert result.exit_code == 2
    assert result.output == (
        "aggregator: sources[0].text_apii: unknown key (did you mean 'text_api'?)\n"
    )
    assert not (site / "storage").exists()


def test_unknown_source_name_is_a_usage_error(site: Path) -> None:
    result = run(site, "fetch", "nope")
    assert result.exit_code == 2
    assert "unknown source 'nope' (configured: em-rolling, em-media)" in result.output


def test_a_dead_source_exits_1_and_the_rest_is_written(site: Path, em: FakeEastmoney) -> None:
    dead = '\n[[sources]]\nname = "dead"\ntype = "eastmoney"\nurl = "http://127.0.0.1:9/web/webapi?type=45"\n'
    (site / "feeds_config.toml").write_text(config_text(em) + dead, encoding="utf-8")
    result = run(site, "fetch")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("em-rolling: 5 new")
    assert lines[1].startswith("em-media: 7 new")
    assert lines[2].startswith(
        "dead: error: http://127.0.0.1:9/web/webapi?type=45: connection refused ("
    )
    assert len(list((site / "storage/_posts").glob("*.md"))) == 12


def test_a_private_address_is_refused_when_not_allowed(tmp_path: Path, em: FakeEastmoney) -> None:
    (tmp_path / "feeds_config.toml").write_text(config_text(em, private=False), encoding="utf-8")
    result = run(tmp_path, "fetch", "em-media")
    assert result.exit_code == 1
    assert "blocked non-public address 127.0.0.1" in result.output
    assert em.received == []


def test_fetch_url_takes_a_share_link(site: Path, em: FakeEastmoney) -> None:
    link = em.share_url("NW202205302396671645")
    result = run(site, "fetch", "--url", link)
    assert result.exit_code == 0, result.output
    data = (site / "storage/_posts/2022-05-30-NW202205302396671645.md").read_text()
    assert data.startswith(
        "---\nlayout: post\n"
        'title: "加拿大年金计划委员会手握190只中国股票 市值超500亿元"\n'
        "date: 2022-05-30 00:00:00 +0800\n"
        "categories: zhongguozhengquanbao\ntags: 中国证券报新闻\n"
    )
    assert data.endswith(
        f"<{link}>\n\n[返回中国证券报新闻](//finews.withounder.com/category/zhongguozhengquanbao.html)｜[返回首页](//finews.withounder.com/)"
    )


def test_fetch_url_rejects_unknown_urls(site: Path) -> None:
    # any http(s) URL is read as an article page; anything else is a usage error
    result = run(site, "fetch", "--url", "ftp://example.com/feed.xml")
    assert result.exit_code == 2
    assert "not an absolute http(s) URL" in result.output


@pytest.mark.parametrize("command", [[], ["fetch"], ["build"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "fetch" in done.stdout and "build" in done.stdout


def test_summary_lines() -> None:
    from aggregator.cli import summary_line
    from aggregator.models import SourceResult

    assert summary_line(SourceResult("a", "new", new=3, changed=1, unchanged=96, elapsed_ms=5)) == (
        "a: 3 new, 1 changed, 96 unchanged (5 ms)"
    )
    assert summary_line(SourceResult("a", "not_modified", elapsed_ms=7)) == "a: not modified (7 ms)"
    assert summary_line(SourceResult("a", "error", error="x: HTTP 500", elapsed_ms=1)) == (
        "a: error: x: HTTP 500 (1 ms)"
    )
    assert summary_line(SourceResult("a", "error", new=2, error="NW1: bad", elapsed_ms=1)) == (
        "a: 2 new, 0 changed, 0 unchanged; error: NW1: bad (1 ms)"
    )
