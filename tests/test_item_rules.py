"""Duplicates, include/exclude rules and canaries: the pure rules and the pipeline behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from httpserver import Reply, ServerURL, serve

from aggregator import canary
from aggregator.cli import cli
from aggregator.config import parse_config
from aggregator.dedupe import canonical_url, eastmoney_code, identities
from aggregator.errors import ConfigError
from aggregator.filters import passes
from aggregator.models import RawItem

NOW = datetime(2022, 6, 1, tzinfo=UTC)


def item(**fields: object) -> RawItem:
    values: dict[str, object] = {
        "source_name": "s",
        "key": "k",
        "guid": "urn:x",
        "title": "标题",
        "date_text": "2021-12-16 09:30",
        "timezone": "Asia/Shanghai",
        "link": "http://x.test/a",
        "html": "<p>正文</p>",
    }
    values.update(fields)
    return RawItem(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "https://www.Example.com:443/a/b/?utm_source=rss&utm_medium=x&id=3#top",
            "//example.com/a/b?id=3",
        ),
        ("http://example.com/a/b?id=3&spm=1.2.3&fbclid=abc", "//example.com/a/b?id=3"),
        ("http://example.com:8080/", "//example.com:8080"),
        ("http://example.com/?b=2&a=1", "//example.com?a=1&b=2"),
        ("ftp://example.com/x", None),
        ("http://[::1:bad/", None),
    ],
)
def test_canonical_url(url: str, canonical: str | None) -> None:
    assert canonical_url(url) == canonical


def test_eastmoney_codes_from_keys_and_links() -> None:
    code = "202112162215638061"
    assert eastmoney_code(item(key="NW" + code), "eastmoney") == code
    assert eastmoney_code(item(key=code), "eastmoney") == code
    assert eastmoney_code(item(link=f"http://finance.eastmoney.com/a/{code}.html"), "feed") == code
    share = f"http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW{code}"
    assert eastmoney_code(item(link=share), "feed") == code
    assert eastmoney_code(item(link=f"http://other.test/a/{code}.html"), "feed") is None
    assert identities(item(key=code, link=share), "eastmoney") == (
        "url://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW" + code,
        "eastmoney:" + code,
    )


# ---------------------------------------------------------------- include / exclude


def test_include_and_exclude_rules() -> None:
    stock = item(title="沪指收涨", html="<p>A股三大指数</p>", author="王静")
    assert passes(stock, (), ())
    assert passes(stock, ("A股",), ())  # body
    assert passes(stock, ("王静",), ())  # author
    assert not passes(stock, ("港股",), ())
    assert not passes(stock, (), ("沪指",))  # title
    assert not passes(stock, ("A股",), ("王.",))
    assert passes(item(title="Fed raises rates"), ("(?i)FED",), ())


# ---------------------------------------------------------------- canaries (pure)


def test_canary_verdicts() -> None:
    full = [item(), item(key="k2")]
    healthy = canary.check(full, 0, None, NOW)
    assert healthy == canary.Verdict(None, frozenset(), (2, frozenset({"title", "date", "body"})))
    empty = canary.check([], 0, healthy.baseline, NOW)
    assert empty.degraded == "no items (the last good pass had 2)" and empty.baseline is None
    assert canary.check([], 0, None, NOW).degraded is None  # never yielded: nothing to miss
    husks = [item(html="<div></div>", date_text=None), item(key="k2", html="", date_text="soon")]
    lost = canary.check(husks, 0, healthy.baseline, NOW)
    assert lost.degraded == "items lost their date, body"
    assert lost.lost == frozenset({"date", "body"}) and lost.baseline is None
    unchanged = canary.check([], 5, healthy.baseline, NOW)
    assert unchanged.degraded is None and unchanged.baseline == (5, healthy.baseline[1])  # type: ignore[index]


# ---------------------------------------------------------------- config


def config(**source: object) -> dict[str, object]:
    entry = {"name": "f", "type": "feed", "url": "https://x.test/rss"} | source
    return {"site": {"title": "t", "url": "https://site.test"}, "sources": [entry]}


def test_config_reads_the_new_keys() -> None:
    parsed = parse_config(
        config(
            full_text=True,
            category_map={"股市": "stocks"},
            include="A股",
            exclude=["广告", "(?i)ad"],
            dedupe="global",
        ),
        base_dir=Path("."),
        path=Path("c.toml"),
    ).sources[0]
    assert (
        parsed.full_text,
        dict(parsed.category_map),
        parsed.include,
        parsed.exclude,
        parsed.dedupe,
    ) == (
        "always",
        {"股市": "stocks"},
        ("A股",),
        ("广告", "(?i)ad"),
        "global",
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"full_text": "yes"}, "sources[0].full_text: expected \"auto\", true or false, got 'yes'"),
        (
            {"type": "eastmoney", "full_text": True},
            "sources[0].full_text: only feed sources have full_text",
        ),
        (
            {"category_map": {"股市": "Stocks!"}},
            "sources[0].category_map.股市: 'Stocks!' is not a slug ([a-z0-9-])",
        ),
        (
            {"include": ["ok", "(unclosed"]},
            "sources[0].include[1]: invalid regular expression '(unclosed': missing ), unterminated subpattern at position 0",
        ),
        ({"exclude": 3}, "sources[0].exclude: expected a regular expression or an array of them"),
        ({"dedupe": "site"}, 'sources[0].dedupe: expected "category" or "global", got \'site\''),
        ({"max_full_text": 0}, "sources[0].max_full_text: 0 is out of range [1, 100000]"),
        (
            {"type": "page", "max_full_text": 5},
            "sources[0].max_full_text: only feed sources have max_full_text",
        ),
    ],
)
def test_config_errors_name_the_key(source: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config(**source), base_dir=Path("."), path=Path("c.toml"))
    assert str(caught.value) == message


# ---------------------------------------------------------------- through the pipeline


def rss(*items: tuple[str, str, str]) -> bytes:
    """RSS 2.0 with (title, link, body) items, all dated 2021-12-16."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Thu, 16 Dec 2021 09:30:00 +0800</pubDate><description><![CDATA[{b}]]></description></item>"
        for t, link, b in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源</title>{body}</channel></rss>'.encode()


LONG = "<p>" + "足够长的正文。" * 80 + "</p>"
A = ("甲", "https://news.test/a?utm_source=x", LONG)
A_AGAIN = ("甲（转载）", "http://www.news.test/a/", LONG)
B = ("乙", "https://news.test/b", LONG)


@pytest.fixture
def server() -> Iterator[ServerURL]:
    routes: dict[str, Reply] = {}
    with serve(routes) as base:
        base_routes = routes  # mutated by the tests to change what the server says
        base.routes = base_routes  # type: ignore[attr-defined]
        yield base


def write_config(site: Path, base: str, *sources: str) -> None:
    head = (
        '[site]\ntitle = "t"\nurl = "https://site.test"\n\n[fetch]\nallow_private_networks = true\n'
    )
    (site / "feeds_config.toml").write_text(head + "\n".join(sources), encoding="utf-8")


def feed_source(name: str, base: str, path: str, extra: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{base}{path}"\nfull_text = false\n{extra}\n'


def run(site: Path, *args: str, now: str = "1654041600") -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(site / "feeds_config.toml"), "fetch", *args],
        env={"SOURCE_DATE_EPOCH": now},
        catch_exceptions=False,
    )


def lines(result: Result) -> list[str]:
    return [
        line.rsplit(" (", 1)[0] if line.endswith(" ms)") else line
        for line in result.output.splitlines()
    ]


def posts(site: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((site / "storage" / "_posts").glob("*.md"))
    }


def test_twins_across_categories_are_kept_unless_dedupe_is_global(
    tmp_path: Path, server: ServerURL
) -> None:
    server.routes["/one"] = Reply(200, rss(A, A_AGAIN, B))  # type: ignore[attr-defined]
    server.routes["/two"] = Reply(200, rss(A))  # type: ignore[attr-defined]
    write_config(
        tmp_path,
        server,
        feed_source("one", server, "/one", 'category = "news"'),
        feed_source("two", server, "/two", 'category = "other"'),
        feed_source("three", server, "/two", 'category = "third"\ndedupe = "global"'),
    )
    assert lines(run(tmp_path))[:3] == [
        "one: 2 new, 0 changed, 0 unchanged, 1 duplicate",  # same article twice in one feed
        "two: 1 new, 0 changed, 0 unchanged",  # another category keeps its twin
        "three: 0 new, 0 changed, 0 unchanged, 1 duplicate",  # global: stored once site-wide
    ]
    stored = posts(tmp_path)
    assert len(stored) == 3
    twin = next(text for name, text in stored.items() if name.endswith("-other.md"))
    assert 'guid: "https://news.test/a?utm_source=x#other"' in twin
    # a second pass changes nothing: no source rewrites another's post
    assert lines(run(tmp_path, now="1654128000"))[:3] == [
        "one: 0 new, 0 changed, 2 unchanged, 1 duplicate",
        "two: 0 new, 0 changed, 1 unchanged",
        "three: 0 new, 0 changed, 0 unchanged, 1 duplicate",
    ]
    assert posts(tmp_path) == stored


def test_include_exclude_through_the_pipeline(tmp_path: Path, server: ServerURL) -> None:
    server.routes["/f"] = Reply(200, rss(A, B))  # type: ignore[attr-defined]
    write_config(tmp_path, server, feed_source("f", server, "/f", 'exclude = "^乙$"'))
    assert lines(run(tmp_path))[0] == "f: 1 new, 0 changed, 0 unchanged, 1 filtered"
    assert [p.split("title: ")[1].split("\n")[0] for p in posts(tmp_path).values()] == ['"甲"']


def test_a_source_that_goes_empty_or_loses_bodies_is_degraded_and_keeps_its_posts(
    tmp_path: Path, server: ServerURL
) -> None:
    server.routes["/f"] = Reply(200, rss(A, B))  # type: ignore[attr-defined]
    write_config(tmp_path, server, feed_source("f", server, "/f"))
    assert lines(run(tmp_path))[0] == "f: 2 new, 0 changed, 0 unchanged"
    before = posts(tmp_path)
    feed = (tmp_path / "storage" / "feed.xml").read_bytes()

    server.routes["/f"] = Reply(200, rss())  # type: ignore[attr-defined]
    result = run(tmp_path, now="1654128000")
    assert result.exit_code == 0
    assert lines(result) == [
        "f: 0 new, 0 changed, 0 unchanged; degraded: no items (the last good pass had 2)"
    ]

    # the site changed its markup: titles stay, bodies are gone
    server.routes["/f"] = Reply(200, rss(("甲", A[1], ""), ("乙", B[1], "<div></div>")))  # type: ignore[attr-defined]
    result = run(tmp_path, now="1654214400")
    assert lines(result) == [
        "f: 0 new, 0 changed, 0 unchanged; degraded: items lost their body; 2 held back"
    ]
    assert posts(tmp_path) == before
    assert (tmp_path / "storage" / "feed.xml").read_bytes() == feed

    server.routes["/f"] = Reply(200, rss(A, B))  # type: ignore[attr-defined]
    assert lines(run(tmp_path, now="1654300800"))[0] == "f: 0 new, 0 changed, 2 unchanged"


def test_max_full_text_is_read_for_feeds() -> None:
    parsed = parse_config(config(max_full_text=7), base_dir=Path("."), path=Path("c.toml"))
    assert parsed.sources[0].max_full_text == 7
