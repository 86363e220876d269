"""Config loading: the shipped file is valid, and every error names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import find_config, load_config, parse_duration
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """
[site]
title = "金融消息"
url = "https://finews.withounder.com/"

[[sources]]
name = "em-media"
type = "eastmoney"
url = "http://183.136.162.242/web/webapi?type=45&count=100&newsid=1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds_config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads() -> None:
    config = load_config(ROOT / "feeds_config.toml")
    assert [s.name for s in config.sources] == ["em-rolling", "em-media", "em-market"]
    rolling = config.sources[0]
    assert (rolling.category, rolling.tag, rolling.interval) == ("emnews", "东财滚动新闻", 300.0)
    assert (
        rolling.text_api == "http://choicewzp1.eastmoney.com/NewsData/GetNewsText.do?id={infoCode}"
    )
    assert len(config.sources[2].urls) == 3
    assert config.site.url == "https://finews.withounder.com"
    assert config.storage_dir == ROOT / "storage"
    assert config.fetch.allow_private_networks is False
    assert config.feed_entries == 50


def test_minimal_config_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    source = config.sources[0]
    assert config.site.url == "https://finews.withounder.com"  # trailing slash dropped
    assert config.site.timezone == "Asia/Shanghai"
    assert config.site.footer == "[返回{tag}]({site}/category/{category}.html)｜[返回首页]({site}/)"
    assert source.share_url == (
        "http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode={infoCode}"
    )
    assert (source.category, source.tag, source.interval, source.cron) == (None, None, None, None)
    assert config.fetch.max_body_bytes == 15 * 1024 * 1024
    assert config.storage_dir == tmp_path.resolve() / "storage"


SOURCE_PREFIX = MINIMAL + '\n[[sources]]\nname = "second"\ntype = "eastmoney"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[site]\ntitle = 'x'\n", "site.url: required key is missing"),
        ("", "site: required table is missing"),
        (MINIMAL + "[feeds]\nentries = 0\n", "feeds.entries: 0 is out of range [1, 10000]"),
        (MINIMAL + "[feeds]\nentries = '5'\n", "feeds.entries: expected an integer, got string"),
        (
            MINIMAL + "[fetch]\nallow_private = true\n",
            "fetch.allow_private: unknown key (did you mean 'allow_private_networks'?)",
        ),
        (
            MINIMAL + "[fetch]\nallow_private_networks = 1\n",
            "fetch.allow_private_networks: expected true, false or a list of CIDRs / host names,"
            " got integer",
        ),
        (
            MINIMAL.replace('"Asia', '"Asia').replace(
                'url = "https://finews', 'timezone = "Mars/Base"\nurl = "https://finews'
            ),
            "site.timezone: unknown time zone 'Mars/Base'",
        ),
        (
            SOURCE_PREFIX + 'url = "ftp://x/y"\n',
            "sources[1].url: 'ftp://x/y' is not an absolute http(s) URL",
        ),
        (
            SOURCE_PREFIX + 'url = "http://u:p@x/y"\n',
            "sources[1].url: 'http://u:p@x/y': credentials in URLs are not allowed",
        ),
        (SOURCE_PREFIX, "sources[1].url: give exactly one of url or urls"),
        (
            SOURCE_PREFIX + 'urls = ["http://a/", 3]\n',
            "sources[1].urls[1]: expected a string, got integer",
        ),
        (
            SOURCE_PREFIX + 'url = "http://a/"\ntext_api = "http://a/x"\n',
            "sources[1].text_api: template needs {infoCode} or {code}",
        ),
        (
            SOURCE_PREFIX + 'url = "http://a/"\ntext_api = "http://a/{nope}"\n',
            "sources[1].text_api: bad template ('nope'); use {infoCode} or {code}",
        ),
        (
            SOURCE_PREFIX + 'url = "http://a/"\ninterval = "5 minutes"\n',
            "sources[1].interval: '5 minutes' is not a duration like 30s, 5m, 1h",
        ),
        (
            SOURCE_PREFIX + 'url = "http://a/"\ncron = "* * *"\n',
            "sources[1].cron: '* * *' is not a 5-field cron expression",
        ),
        (
            SOURCE_PREFIX + 'url = "http://a/"\ncategory = "Bad Slug"\n',
            "sources[1].category: 'Bad Slug' is not a slug ([a-z0-9-])",
        ),
        (
            SOURCE_PREFIX + 'url = "http://a/"\ntyep = "x"\n',
            "sources[1].tyep: unknown key (did you mean 'type'?)",
        ),
        (
            MINIMAL.replace('type = "eastmoney"', 'type = "rss"'),
            "sources[0].type: unknown type 'rss' (one of eastmoney, feed, page, listing)",
        ),
        (
            MINIMAL.replace('name = "em-media"', 'name = "../x"'),
            "sources[0].name: '../x': use letters, digits, '.', '_' or '-' (max 64)",
        ),
        (
            MINIMAL + MINIMAL[MINIMAL.index("[[sources]]") :],
            "sources[1].name: duplicate source name 'em-media' (also sources[0])",
        ),
        (
            MINIMAL + "[categories]\n'新华社' = 'Xin Hua'\n",
            "categories.新华社: 'Xin Hua' is not a slug ([a-z0-9-])",
        ),
        (MINIMAL + "[site]\n", None),  # TOML error: table defined twice
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    if message is None:
        assert "invalid TOML" in str(info.value)
    else:
        assert str(info.value) == message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config file not found: .*nope\.toml$"):
        load_config(tmp_path / "nope.toml")


def test_find_config_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGGREGATOR_CONFIG", "/etc/agg.toml")
    assert find_config("x.toml") == Path("x.toml")
    assert find_config(None) == Path("/etc/agg.toml")
    write(tmp_path, MINIMAL)
    assert find_config(None) == Path("feeds_config.toml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1.5m", 90.0),
        ("5", None),
        ("m", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds
