"""RELIABILITY §A, SSRF: feed URLs, redirects, DNS answers and links found in content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_eastmoney import Article, FakeEastmoney
from hardening import feed_source, run_cli, write_site
from httpserver import Reply, serve

from aggregator.config import load_config
from aggregator.errors import BlockedAddressError, ConfigError, FetchError
from aggregator.fetch import HttpFetcher
from aggregator.models import FetchSettings
from aggregator.netguard import is_public_address, system_resolver

PUBLIC_IP = "93.184.216.34"


def settings(**overrides: Any) -> FetchSettings:
    return FetchSettings(**{"user_agent": "", **overrides})


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


class Recorder:
    """A resolver that says what it was asked, answering from a table (default: public)."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.asked: list[str] = []
        self.answers = answers or {}

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.get(host, [PUBLIC_IP])


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a request was sent to {request.url}")


# -- A1 private targets ------------------------------------------------------------------------

A1_TARGETS = [
    ("http://127.0.0.1:8080/", "127.0.0.1", "127.0.0.1"),
    ("http://[::1]/", "::1", "::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ("http://2130706433/", "127.0.0.1", "2130706433"),
    ("http://0x7f.1/", "127.0.0.1", "0x7f.1"),
    ("http://0/", "0.0.0.0", "0"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "169.254.169.254"),
    ("http://100.100.100.200/", "100.100.100.200", "100.100.100.200"),
    ("http://[fd00::1]/", "fd00::1", "fd00::1"),
    ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1", "64:ff9b::7f00:1"),
    ("http://127.0.0.1.nip.io/", "127.0.0.1", "127.0.0.1.nip.io"),
]


@pytest.mark.parametrize(("url", "address", "host"), A1_TARGETS)
def test_A1_private_target_is_refused_before_any_byte_is_sent(
    url: str, address: str, host: str
) -> None:
    # getaddrinfo reads 2130706433, 0x7f.1 and 0 as IPv4 (offline); nip.io answers 127.0.0.1
    # for its name, which a stub plays here
    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host.endswith(".nip.io") else system_resolver(host, port)

    fetcher = HttpFetcher(
        settings(), transport=httpx.MockTransport(never_called), resolver=resolver
    )
    with pytest.raises(BlockedAddressError) as info:
        fetcher.get(url)
    assert str(info.value) == f"{url}: blocked non-public address {address} for host {host}"
    assert fetcher.requests_sent == 0


def test_A1_default_policy_refuses_a_real_local_server_through_the_cli(tmp_path: Path) -> None:
    with serve({"/feed.xml": Reply(200, b"<rss/>")}) as url:
        config = write_site(tmp_path, feed_source("local", url + "/feed.xml"), fetch="")
        run = run_cli(config, "fetch")
    assert run.code == 1
    assert run.stderr.splitlines() == [
        f"local: error: {url}/feed.xml: blocked non-public address 127.0.0.1 for host 127.0.0.1"
        + run.stderr.split("127.0.0.1 for host 127.0.0.1", 1)[1].split("\n", 1)[0]
    ]
    assert "(" in run.stderr and "Traceback" not in run.stderr
    assert url.requests == []


def only(*networks: str) -> FetchSettings:
    return settings(private_allowlist=networks)


def test_A1_allowlisted_network_is_fetched_and_nothing_else_private() -> None:
    with serve({"/": Reply(200, b"intranet")}) as url:
        fetcher = HttpFetcher(only("127.0.0.0/31"))
        assert fetcher.get(url + "/").content == b"intranet"
        other = f"http://127.0.0.2:{port_of(url)}/"
        with pytest.raises(BlockedAddressError, match=r"blocked non-public address 127\.0\.0\.2 "):
            fetcher.get(other)
        with pytest.raises(BlockedAddressError, match=r"address 169\.254\.169\.254 "):
            fetcher.get("http://169.254.169.254/latest/meta-data/")
    assert len(url.requests) == 1


def test_A1_allowlisted_host_name_may_resolve_to_a_private_address() -> None:
    resolver = Recorder({"rsshub.lan": ["127.0.0.1"], "other.lan": ["127.0.0.1"]})
    with serve({"/": Reply(200, b"rsshub")}) as url:
        fetcher = HttpFetcher(only("RSSHub.lan."), resolver=resolver)
        result = fetcher.get(f"http://rsshub.lan:{port_of(url)}/")
        with pytest.raises(BlockedAddressError, match=r"address 127\.0\.0\.1 for host other\.lan$"):
            fetcher.get(f"http://other.lan:{port_of(url)}/")
    assert result.content == b"rsshub"
    assert url.requests[0].headers["host"] == f"rsshub.lan:{port_of(url)}"
    assert len(url.requests) == 1


def test_A1_allowlist_is_read_from_the_config_and_checked(tmp_path: Path) -> None:
    config = write_site(
        tmp_path, "", fetch='allow_private_networks = ["10.1.0.0/16", "rsshub.lan"]'
    )
    fetch = load_config(config).fetch
    assert (fetch.allow_private_networks, fetch.private_allowlist) == (
        False,
        ("10.1.0.0/16", "rsshub.lan"),
    )
    write_site(tmp_path, "", fetch='allow_private_networks = ["10.1.0.0/16", "not a host!"]')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value) == (
        "fetch.allow_private_networks: 'not a host!' is neither a CIDR/IP address nor a host name"
    )


# -- A2 redirects ------------------------------------------------------------------------------


def redirecting(location: str, seen: list[str]) -> HttpFetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": location})

    return HttpFetcher(settings(), transport=httpx.MockTransport(handler), resolver=Recorder())


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/: blocked non-public address 127.0.0.1"),
        ("file:///etc/passwd", "refused redirect to unsupported scheme 'file': file:///etc/passwd"),
        ("gopher://feeds.test:70/_x", "refused redirect to unsupported scheme 'gopher'"),
    ],
)
def test_A2_redirect_to_private_address_or_other_scheme_is_refused(
    location: str, message: str
) -> None:
    seen: list[str] = []
    with pytest.raises(FetchError) as info:
        redirecting(location, seen).get("http://feeds.test/feed")
    assert message in str(info.value)
    assert seen == ["http://feeds.test/feed"]  # the refused hop was never requested


def test_A2_https_to_http_downgrade_carries_no_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": "http://feeds.test/plain"})
        return httpx.Response(200, content=b"ok")

    fetcher = HttpFetcher(settings(), transport=httpx.MockTransport(handler), resolver=Recorder())
    secret = {"Authorization": "Bearer s", "Cookie": "session=1"}
    assert fetcher.get("https://feeds.test/feed", headers=secret).content == b"ok"
    assert seen[0].headers["authorization"] == "Bearer s"
    assert "authorization" not in seen[1].headers and "cookie" not in seen[1].headers


def test_A2_policy_is_rerun_on_every_hop_up_to_five() -> None:
    hops: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hops.append(request.url.host)
        n = len(hops)
        return httpx.Response(302, headers={"Location": f"http://hop{n}.test/"})

    resolver = Recorder()
    fetcher = HttpFetcher(settings(), transport=httpx.MockTransport(handler), resolver=resolver)
    with pytest.raises(FetchError, match=r"too many redirects \(max 5\)"):
        fetcher.get("http://hop0.test/")
    assert hops == [f"hop{i}.test" for i in range(6)]
    assert resolver.asked == hops  # one policy check per hop, before each request


# -- A3 DNS rebinding --------------------------------------------------------------------------


def test_A3_rebinding_answer_is_caught_on_the_connected_address() -> None:
    answers = iter([["8.8.8.8"], ["127.0.0.1"]])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    with serve({"/": Reply(200, b"internal")}) as url:
        fetcher = HttpFetcher(settings(), resolver=rebinding)
        with pytest.raises(BlockedAddressError) as info:
            fetcher.get(f"http://rebind.test:{port_of(url)}/")
    assert str(info.value).endswith("blocked non-public address 127.0.0.1 for host rebind.test")
    assert asked == ["rebind.test", "rebind.test"]  # the second answer is the one connected to
    assert url.requests == []


def test_A3_connection_goes_to_the_validated_ip_keeping_the_host_header() -> None:
    def loopback_only(ip: Any) -> bool:
        return bool(ip == IPv4Address("127.0.0.1") or is_public_address(ip))

    resolver = Recorder({"feeds.test": ["127.0.0.1"]})
    with serve({"/": Reply(200, b"ok")}) as url:
        fetcher = HttpFetcher(settings(), resolver=resolver, address_policy=loopback_only)
        assert fetcher.get(f"http://feeds.test:{port_of(url)}/").content == b"ok"
    assert url.requests[0].headers["host"] == f"feeds.test:{port_of(url)}"


# -- A4 links found in content -----------------------------------------------------------------


@pytest.fixture
def em(tmp_path: Path) -> Iterator[FakeEastmoney]:
    empty = tmp_path / "no-posts"
    empty.mkdir()
    with FakeEastmoney(empty) as server:
        yield server


def eastmoney_site(root: Path, em: FakeEastmoney, *, max_items: int = 500) -> Path:
    source = f"""
[[sources]]
name = "em-rolling"
type = "eastmoney"
url = "{em.rolling_url(100)}"
text_api = "{em.text_api}"
category = "emnews"
tag = "news"
max_items = {max_items}
"""
    return write_site(root, source)


def test_A4_links_in_list_content_are_never_fetched_and_unsafe_ones_never_published(
    tmp_path: Path, em: FakeEastmoney
) -> None:
    links = ["http://10.0.0.5/admin", "//evil.example/x", "javascript:alert(1)"]
    for i, link in enumerate(links):
        code = f"2022053023966716{i:02d}"
        em.add_article(
            Article(code, f"t{i}", "2022-05-30 10:00:00", url_w=link, content="<p>body</p>")
        )
    run = run_cli(eastmoney_site(tmp_path, em), "fetch")
    assert run.code == 0, run.stderr
    assert {r.path for r in em.received} == {"/web/webapi", "/NewsData/GetNewsText.do"}
    assert em.count("/NewsData/GetNewsText.do") == 3
    bodies = sorted((tmp_path / "storage" / "_posts").glob("*.md"))
    texts = [path.read_text(encoding="utf-8") for path in bodies]
    assert "<http://10.0.0.5/admin>" in texts[0]  # a link for readers, never fetched by us
    for text in texts[1:]:
        assert "evil.example" not in text and "javascript" not in text


def test_A4_a_flooded_list_costs_no_more_than_max_items(tmp_path: Path, em: FakeEastmoney) -> None:
    rows = [
        {"code": f"2022053023{i:08d}", "title": f"t{i}", "showtime": "2022-05-30 10:00:00"}
        for i in range(10_000)
    ]
    em.override("/web/webapi", json.dumps({"records": rows}).encode())
    em.fail("/NewsData/GetNewsText.do", 404)
    run = run_cli(eastmoney_site(tmp_path, em, max_items=100), "fetch")
    assert run.code == 1
    assert em.count("/NewsData/GetNewsText.do") == 100
    assert em.count("/web/webapi") == 1  # depth 1: nothing found in a list is a list


TRUST_LOCALHOST = 'allow_private_networks = ["localhost"]\nallowed_ports = "any"'


def test_A4_full_text_link_obeys_the_address_policy(tmp_path: Path) -> None:
    article = "<html><body><article><p>secret</p></article></body></html>"
    with serve({"/article": Reply(200, article.encode())}) as pages:
        feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>
<item><title>one</title><link>{pages}/article</link><guid>one</guid>
<description>short</description></item></channel></rss>""".encode()
        with serve({"/feed.xml": Reply(200, feed, {"Content-Type": "application/rss+xml"})}) as url:
            source = feed_source("f", url.replace("127.0.0.1", "localhost") + "/feed.xml")
            source = source.replace("full_text = false", "full_text = true")
            config = write_site(tmp_path, source, fetch=TRUST_LOCALHOST)
            run = run_cli(config, "fetch")
    assert "blocked non-public address 127.0.0.1 for host 127.0.0.1" in run.stdout + run.stderr
    assert pages.requests == []
    assert len(url.requests) == 1


def article_page(number: int) -> bytes:
    text = f"第{number}篇文章的全文。" + "这是正文的一句话，足够长，不会被当成摘要。" * 12
    return (
        f"<html><head><title>文章{number}</title></head><body><article><h1>文章{number}</h1>"
        f"<p>{text}</p></article></body></html>"
    ).encode()


def summary_feed(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>t{i}</title><link>{link}</link><guid>g{i}</guid>"
        f"<pubDate>Thu, 16 Dec 2021 09:{i:02d}:00 +0800</pubDate>"
        f"<description>摘要{i}……</description></item>"
        for i, link in enumerate(links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'.encode()


def summary_line(run_stdout: str) -> str:
    """The source's line without its timing."""
    return run_stdout.splitlines()[0].rsplit(" (", 1)[0]


def post_bodies(root: Path) -> list[str]:
    """The first sentence of each post's body (the article's or the summary), by date (one day: the
    file names do not sort by date)."""
    posts = []
    for path in (root / "storage" / "_posts").glob("*.md"):
        front, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
        date = next(line for line in front.splitlines() if line.startswith("date: "))
        posts.append((date, body.splitlines()[0].removeprefix("<p>").split("。")[0]))
    return [body for _, body in sorted(posts)]


ANY_LOCAL = 'allow_private_networks = true\nallowed_ports = "any"'


@pytest.mark.parametrize(
    ("allow_hosts", "fetched", "warning"),
    [
        (None, ["/a", "/b"], ""),  # default: any public host (here: any, private allowed)
        ('["localhost"]', ["/a", "/b"], ""),
        (
            '["*.localhost", "example.org"]',  # "*." is subdomains only, as for listings
            ["/b"],
            "; warning: full text not fetched for 1 entry linking outside allow_hosts"
            " (to localhost); summary kept",
        ),
    ],
)
def test_A4_full_text_links_obey_the_feeds_allow_hosts(
    tmp_path: Path, allow_hosts: str | None, fetched: list[str], warning: str
) -> None:
    routes = {"/a": Reply(200, article_page(1)), "/b": Reply(200, article_page(2))}
    with serve(routes) as pages:
        other_host = pages.replace("127.0.0.1", "localhost")
        feed = summary_feed([f"{other_host}/a", f"{pages}/b"])  # /b: the feed's own host
        with serve({"/feed.xml": Reply(200, feed, {"Content-Type": "application/rss+xml"})}) as url:
            extra = {"full_text": "true"} | ({"allow_hosts": allow_hosts} if allow_hosts else {})
            source = feed_source("f", url + "/feed.xml").replace("full_text = false\n", "")
            source += "".join(f"{key} = {value}\n" for key, value in extra.items())
            run = run_cli(write_site(tmp_path, source, fetch=ANY_LOCAL), "fetch")
    assert run.code == 0, run.stderr
    assert summary_line(run.stdout) == f"f: 2 new, 0 changed, 0 unchanged{warning}"
    assert sorted(r.path for r in pages.requests) == fetched
    expected = ["第1篇文章的全文" if "/a" in fetched else "摘要0……", "第2篇文章的全文"]
    assert post_bodies(tmp_path) == expected


def test_A4_full_text_fetches_are_capped_per_source_and_pass(tmp_path: Path) -> None:
    routes = {f"/{n}": Reply(200, article_page(n)) for n in range(5)}
    with serve(routes) as pages:
        feed = summary_feed([f"{pages}/{n}" for n in range(5)])
        with serve({"/feed.xml": Reply(200, feed, {"Content-Type": "application/rss+xml"})}) as url:
            source = feed_source("f", url + "/feed.xml", max_full_text="2")
            source = source.replace("full_text = false", "full_text = true")
            run = run_cli(write_site(tmp_path, source, fetch=ANY_LOCAL), "fetch")
    assert run.code == 0, run.stderr
    assert summary_line(run.stdout) == (
        "f: 5 new, 0 changed, 0 unchanged; warning: full text not fetched for 3 entries beyond"
        " max_full_text (2 pages per pass); summary kept"
    )
    assert sorted(r.path for r in pages.requests) == ["/0", "/1"]  # the first two in feed order
    assert post_bodies(tmp_path) == [
        "第0篇文章的全文",
        "第1篇文章的全文",
        "摘要2……",
        "摘要3……",
        "摘要4……",
    ]


# -- A5 userinfo, parser confusion, ports ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://user@127.0.0.1:22/", "credentials in URLs are not allowed"),
        ("http://127.0.0.1%2523@evil.com/", "credentials in URLs are not allowed"),
        ("http://ＥＸＡＭＰＬＥ.com/", "invalid URL: Invalid IDNA hostname: 'ＥＸＡＭＰＬＥ.com'"),
    ],
)
def test_A5_userinfo_and_confusing_hosts_are_refused(url: str, message: str) -> None:
    fetcher = HttpFetcher(
        settings(), transport=httpx.MockTransport(never_called), resolver=Recorder()
    )
    with pytest.raises(FetchError) as info:
        fetcher.get(url)
    assert str(info.value) == f"{url}: {message}"


def test_A5_userinfo_is_refused_in_the_config(tmp_path: Path) -> None:
    config = write_site(tmp_path, feed_source("f", "http://user:pw@feeds.example/x"))
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value) == (
        "sources[0].url: 'http://user:pw@feeds.example/x': credentials in URLs are not allowed"
    )


def test_A5_non_default_port_needs_the_configs_consent(tmp_path: Path) -> None:
    config = write_site(tmp_path, feed_source("f", "http://feeds.example:8443/x"))
    assert load_config(config).fetch.allowed_ports == frozenset({80, 443, 8443})
    seen: list[str] = []
    fetcher = redirecting("http://feeds.example:6379/", seen)
    fetcher.settings = load_config(config).fetch
    with pytest.raises(BlockedAddressError) as info:
        fetcher.get("http://feeds.example:8443/x")
    assert str(info.value) == (
        "http://feeds.example:6379/: port 6379 is not allowed (add it to [fetch] allowed_ports)"
    )
    assert seen == ["http://feeds.example:8443/x"]
    write_site(tmp_path, feed_source("f", "http://feeds.example/x"), fetch="allowed_ports = [6379]")
    assert load_config(config).fetch.allowed_ports == frozenset({80, 443, 6379})
    write_site(tmp_path, feed_source("f", "http://feeds.example/x"), fetch='allowed_ports = "any"')
    assert load_config(config).fetch.allowed_ports is None
