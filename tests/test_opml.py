"""`aggregator import-opml` / `export-opml`, and OPML parsing that refuses entity tricks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.opml import OpmlError, Outline, add_feed_sources, build_opml, parse_opml

CONFIG = """# my aggregator
[site]
title = "金融消息"   # shown in feeds
url = "https://finews.withounder.com"

# --- sources ---
[[sources]]
name = "em-rolling"  # the rolling news
type = "eastmoney"
url = "http://183.136.162.242/web/webapi?type=102&count=100&newsid=1"
"""

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Finance" title="Finance">
      <outline type="rss" text="\xe5\x8d\x8e\xe5\xb0\x94\xe8\xa1\x97\xe8\xa7\x81\xe9\x97\xbb" xmlUrl="https://example.com/wsj.xml" htmlUrl="https://example.com/"/>
      <outline type="rss" text="Old one" xmlUrl="http://183.136.162.242/web/webapi?type=102&amp;count=100&amp;newsid=1"/>
    </outline>
    <outline type="rss" title="Tech &amp; Co" text="ignored" xmlUrl="https://example.org/atom"/>
    <outline text="no feed here"/>
  </body>
</opml>
"""


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "c.toml"), *args])
    return result.exit_code, result.output


def test_parse_flattens_folders() -> None:
    assert parse_opml(READER_EXPORT) == [
        Outline(
            "华尔街见闻", xml_url="https://example.com/wsj.xml", html_url="https://example.com/"
        ),
        Outline("Old one", xml_url="http://183.136.162.242/web/webapi?type=102&count=100&newsid=1"),
        Outline("Tech & Co", xml_url="https://example.org/atom"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>', "DOCTYPE and entity"),
        (b'<?xml version="1.0"?><!doctype opml SYSTEM "file:///etc/passwd"><opml/>', "DOCTYPE"),
        (b"<rss/>", "root element is <rss>, not <opml>"),
        (b"<opml><body>", "not well-formed XML"),
    ],
)
def test_bad_opml_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


def test_import_keeps_comments_and_skips_known_urls(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "subs.opml").write_bytes(READER_EXPORT)
    code, output = invoke(tmp_path, "import-opml", str(tmp_path / "subs.opml"))
    assert code == 0, output
    assert output == (
        "added 2 source(s): huaerjiejianwen, tech-co\n"
        "already configured: http://183.136.162.242/web/webapi?type=102&count=100&newsid=1\n"
    )
    assert (tmp_path / "c.toml").read_text(encoding="utf-8") == CONFIG + (
        '\n[[sources]]\nname = "huaerjiejianwen"\ntype = "feed"\nurl = "https://example.com/wsj.xml"\n'
        '\n[[sources]]\nname = "tech-co"\ntype = "feed"\nurl = "https://example.org/atom"\n'
    )
    code, output = invoke(tmp_path, "import-opml", str(tmp_path / "subs.opml"))
    assert (code, output.splitlines()[0]) == (0, "added none")


def test_import_into_a_config_without_sources_and_unique_names() -> None:
    text, added, skipped = add_feed_sources(
        '[site]\ntitle = "x"\n',
        [Outline("Blog", xml_url="https://a/1"), Outline("blog", xml_url="https://a/2")],
    )
    assert (added, skipped) == (["blog", "blog-2"], [])
    assert text.endswith('name = "blog-2"\ntype = "feed"\nurl = "https://a/2"\n')


def test_import_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "bad.opml").write_bytes(b"<opml><body>")
    code, output = invoke(tmp_path, "import-opml", str(tmp_path / "bad.opml"))
    assert code == 2
    assert output.startswith(f"aggregator: {tmp_path / 'bad.opml'}: not well-formed XML")
    (tmp_path / "c.toml").write_text("[site\n", encoding="utf-8")
    (tmp_path / "ok.opml").write_bytes(READER_EXPORT)
    code, output = invoke(tmp_path, "import-opml", str(tmp_path / "ok.opml"))
    assert code == 2 and output.startswith("aggregator: ") and "not valid TOML" in output


def test_export_prints_the_sources(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CONFIG, encoding="utf-8")
    code, output = invoke(tmp_path, "export-opml")
    assert code == 0, output
    assert (
        output
        == build_opml(
            "金融消息",
            [
                Outline(
                    "em-rolling",
                    url="http://183.136.162.242/web/webapi?type=102&count=100&newsid=1",
                )
            ],
        ).decode()
    )
    assert parse_opml(output.encode()) == []  # a JSON API is not offered to readers as a feed
