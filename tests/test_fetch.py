"""HttpFetcher against real local servers (tests/httpserver.py) and httpx.MockTransport."""

from __future__ import annotations

import gzip
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from ipaddress import IPv4Address, ip_address
from typing import Any

import httpx
import pytest
from httpserver import Reply, serve

from aggregator.errors import BlockedAddressError, FetchError
from aggregator.fetch import HttpFetcher, default_user_agent
from aggregator.models import FetchSettings, MiB, Validators
from aggregator.netguard import BoundedDecoder, Deadline, is_public_address

PUBLIC_IP = "93.184.216.34"


def settings(**overrides: Any) -> FetchSettings:
    return FetchSettings(**{"user_agent": "", **overrides})


def local(**overrides: Any) -> FetchSettings:
    """Settings for fetching the test servers on 127.0.0.1."""
    return settings(allow_private_networks=True, **overrides)


def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_IP]


def mock_fetcher(
    handler: Callable[[httpx.Request], httpx.Response], **overrides: Any
) -> HttpFetcher:
    """A guarded fetcher whose network is `handler` and whose DNS says every host is public."""
    return HttpFetcher(
        settings(**overrides), transport=httpx.MockTransport(handler), resolver=public_resolver
    )


def raw(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    """A mock response that is streamed like a network one (`content=` would be decoded eagerly)."""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def failure(fetcher: HttpFetcher, url: str, **kwargs: Any) -> FetchError:
    """The FetchError that `fetcher.get(url, ...)` raises."""
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    return info.value


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


# -- client, headers ---------------------------------------------------------------------------


def test_default_user_agent_and_accept_encoding_are_sent() -> None:
    with serve({"/": Reply(200, b"ok")}) as url, HttpFetcher(local()) as fetcher:
        result = fetcher.get(url + "/")
    sent = url.requests[0].headers
    pattern = r"aggregator/\d+\.\d+\.\d+\S* \(\+https://github\.com/aggregator-rss/aggregator\)"
    assert re.fullmatch(pattern, sent["user-agent"])
    assert sent["user-agent"] == default_user_agent()
    assert sent["accept-encoding"] == "gzip, deflate"
    assert (result.status, result.content, result.url, result.redirects) == (
        200,
        b"ok",
        url + "/",
        (),
    )
    assert fetcher.requests_sent == 1


def test_configured_user_agent_and_per_call_headers_are_merged() -> None:
    extra = {"Referer": "https://ref.example/", "accept": "application/json"}
    with serve({"/": Reply(200)}) as url, HttpFetcher(local(user_agent="custom/1")) as fetcher:
        fetcher.get(url + "/", headers=extra)
    sent = url.requests[0].headers
    assert (sent["user-agent"], sent["referer"], sent["accept"]) == (
        "custom/1",
        "https://ref.example/",
        "application/json",
    )


def test_one_client_is_reused_across_requests() -> None:
    routes = {"/a": Reply(200, b"a"), "/b": Reply(200, b"b")}
    with serve(routes, keep_alive=True) as url, HttpFetcher(local()) as fetcher:
        fetcher.get(url + "/a")
        fetcher.get(url + "/b")
    # the second request went over the first one's kept-alive connection
    assert [r.path for r in url.requests] == ["/a", "/b"]
    assert url.requests[0].client_port == url.requests[1].client_port


def test_per_host_requests_are_all_in_flight_at_once_and_reuse_their_connections() -> None:
    # The route answers only once all 16 requests are waiting in it: the connection pool must not
    # hold a host's slots below per_host (httpcore's own default pool holds 10).
    together = threading.Barrier(16, timeout=10)

    def meet(handler: BaseHTTPRequestHandler) -> Reply:
        together.wait()
        return Reply(200, b"ok")

    with (
        serve({"/t": meet}, keep_alive=True) as url,
        HttpFetcher(local(per_host=16)) as fetcher,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        for _ in range(2):
            got = pool.map(lambda i: fetcher.get(f"{url}/t?i={i}").content, range(16))
            assert list(got) == [b"ok"] * 16
    first, second = url.requests[:16], url.requests[16:]
    # the second round went over the 16 connections the first one opened
    assert len({r.client_port for r in first}) == 16
    assert {r.client_port for r in second} == {r.client_port for r in first}


def test_response_headers_are_lower_cased() -> None:
    reply = Reply(200, b"<rss/>", {"X-Custom": "1", "Content-Type": "application/rss+xml"})
    with serve({"/": reply}) as url, HttpFetcher(local()) as fetcher:
        result = fetcher.get(url + "/")
    assert result.headers["x-custom"] == "1"
    assert "X-Custom" not in result.headers
    assert result.content_type == "application/rss+xml"


# -- conditional GET ---------------------------------------------------------------------------

ETAG = 'W/"v1 x"'
LAST_MODIFIED = "Tue, 01 Oct 2024 10:00:00 GMT"


def conditional_route(handler: BaseHTTPRequestHandler) -> Reply:
    if handler.headers.get("If-None-Match") == ETAG:
        return Reply(304)
    return Reply(200, b"<feed/>", {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})


def test_etag_is_stored_then_sent_verbatim_and_304_returns_empty_content() -> None:
    with serve({"/feed": conditional_route}) as url, HttpFetcher(local()) as fetcher:
        first = fetcher.get(url + "/feed")
        stored = fetcher.validators[url + "/feed"]
        second = fetcher.get(url + "/feed")
    assert (first.status, first.content) == (200, b"<feed/>")
    assert stored == Validators(ETAG, LAST_MODIFIED) == first.validators
    assert "if-none-match" not in url.requests[0].headers
    assert url.requests[1].headers["if-none-match"] == ETAG
    assert url.requests[1].headers["if-modified-since"] == LAST_MODIFIED
    assert (second.status, second.content, second.not_modified) == (304, b"", True)
    assert second.validators == Validators(ETAG, LAST_MODIFIED)
    assert fetcher.validators[url + "/feed"] == Validators(ETAG, LAST_MODIFIED)


def test_a_304_leaves_its_connection_for_the_next_request() -> None:
    # a pass of 304s must not open one connection per feed
    with (
        serve({"/feed": conditional_route}, keep_alive=True) as url,
        HttpFetcher(local()) as fetcher,
    ):
        statuses = [fetcher.get(url + "/feed").status for _ in range(3)]
    assert statuses == [200, 304, 304]
    assert [r.headers.get("if-none-match") for r in url.requests] == [None, ETAG, ETAG]
    assert len({r.client_port for r in url.requests}) == 1


def test_loaded_validators_are_sent_exactly_as_stored() -> None:
    with serve({"/": Reply(304)}) as url:
        known = {url + "/": Validators('"odd  etag"', "not even a date")}
        with HttpFetcher(local(), validators=known) as fetcher:
            result = fetcher.get(url + "/")
    assert url.requests[0].headers["if-none-match"] == '"odd  etag"'
    assert url.requests[0].headers["if-modified-since"] == "not even a date"
    assert result.status == 304
    assert known == {url + "/": Validators('"odd  etag"', "not even a date")}


def test_200_without_validators_forgets_the_stale_entry() -> None:
    with serve({"/": Reply(200, b"fresh")}) as url:
        known = {url + "/": Validators('"old"', None)}
        with HttpFetcher(local(), validators=known) as fetcher:
            result = fetcher.get(url + "/")
    assert result.validators == Validators(None, None)
    assert known == {}


def test_unconditional_get_neither_sends_nor_stores_validators() -> None:
    with serve({"/feed": conditional_route}) as url:
        known = {url + "/feed": Validators(ETAG, LAST_MODIFIED)}
        with HttpFetcher(local(), validators=known) as fetcher:
            result = fetcher.get(url + "/feed", conditional=False)
            other = fetcher.get(url + "/feed?x=1", conditional=False)
    assert "if-none-match" not in url.requests[0].headers
    assert result.status == 200
    assert other.validators == Validators(ETAG, LAST_MODIFIED)
    assert known == {url + "/feed": Validators(ETAG, LAST_MODIFIED)}


def test_validators_belong_to_the_original_url_after_a_redirect() -> None:
    routes = {"/old": Reply(301, headers={"Location": "/new"}), "/new": conditional_route}
    with serve(routes) as url, HttpFetcher(local()) as fetcher:
        first = fetcher.get(url + "/old")
        keys = list(fetcher.validators)
        second = fetcher.get(url + "/old")
    assert first.url == url + "/new"
    assert keys == [url + "/old"]
    assert url.requests[3].headers["if-none-match"] == ETAG
    assert (second.status, second.url, second.redirects) == (304, url + "/new", (url + "/old",))


# -- HTTP errors -------------------------------------------------------------------------------


def test_404_is_a_fetch_error_naming_the_url() -> None:
    with serve({}) as url, HttpFetcher(local()) as fetcher, pytest.raises(FetchError) as info:
        fetcher.get(url + "/missing")
    assert str(info.value) == f"{url}/missing: HTTP 404 Not Found"
    assert info.value.url == url + "/missing"


@pytest.mark.parametrize(
    ("status", "text"),
    [(503, "HTTP 503 Service Unavailable"), (302, "HTTP 302 Found"), (204, None)],
)
def test_status_handling(status: int, text: str | None) -> None:
    # 302 without Location is not a redirect; 204 is a success with an empty body
    fetcher = mock_fetcher(lambda request: raw(status))
    if text is None:
        assert fetcher.get("http://feeds.test/x").status == 204
        return
    with pytest.raises(FetchError) as info:
        fetcher.get("http://feeds.test/x")
    assert str(info.value) == f"http://feeds.test/x: {text}"


# -- bodies ------------------------------------------------------------------------------------

BODY = "<rss>新闻 news</rss>".encode() * 50


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def test_gzip_body_is_decoded() -> None:
    reply = Reply(200, gzip.compress(BODY), {"Content-Encoding": "gzip"})
    with serve({"/": reply}) as url, HttpFetcher(local()) as fetcher:
        assert fetcher.get(url + "/").content == BODY


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", raw_deflate(BODY)),
        ("identity", BODY),
        ("GZIP", gzip.compress(BODY)),
    ],
)
def test_supported_codings_are_decoded(coding: str, encoded: bytes) -> None:
    headers = {"Content-Encoding": coding}
    fetcher = mock_fetcher(lambda request: raw(200, encoded, headers))
    assert fetcher.get("http://feeds.test/x").content == BODY


@pytest.mark.parametrize("coding", ["gzip, gzip", "br", "compress", "gzip, deflate", "zstd"])
def test_other_codings_are_refused(coding: str) -> None:
    headers = {"Content-Encoding": coding}
    body = gzip.compress(BODY)
    fetcher = mock_fetcher(lambda request: raw(200, body, headers))
    with pytest.raises(FetchError) as info:
        fetcher.get("http://feeds.test/x")
    assert str(info.value) == f"http://feeds.test/x: unsupported content encoding {coding!r}"


def test_gzip_chain_is_refused_by_a_real_server() -> None:
    reply = Reply(200, gzip.compress(gzip.compress(BODY)), {"Content-Encoding": "gzip, gzip"})
    with serve({"/": reply}) as url, HttpFetcher(local()) as fetcher:
        error = failure(fetcher, url + "/")
    assert str(error) == f"{url}/: unsupported content encoding 'gzip, gzip'"


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """50 MiB of zeros, gzipped to about 50 KiB."""
    return gzip.compress(bytes(50 * MiB), compresslevel=6)


def test_decoder_never_inflates_past_the_budget(bomb: bytes) -> None:
    decoder = BoundedDecoder.for_coding("gzip")
    assert decoder is not None
    first = next(decoder.feed(bomb, MiB))
    assert len(first) == MiB + 1  # one byte over is enough to know; the rest stays compressed


def test_gzip_bomb_is_cut_at_the_decoded_cap(bomb: bytes) -> None:
    assert len(bomb) < MiB  # the compressed size alone would pass the cap
    reply = Reply(200, bomb, {"Content-Encoding": "gzip"})
    with serve({"/bomb": reply}) as url, HttpFetcher(local(max_body_bytes=MiB)) as fetcher:
        error = failure(fetcher, url + "/bomb")
    assert str(error) == f"{url}/bomb: response body too large (>1 MiB)"


@pytest.mark.parametrize(("size", "ok"), [(1000, True), (1001, False)])
def test_cap_is_inclusive_for_decoded_bytes(size: int, ok: bool) -> None:
    encoded = gzip.compress(bytes(size))
    headers = {"Content-Encoding": "gzip"}
    fetcher = mock_fetcher(
        lambda request: raw(200, encoded, headers),
        max_body_bytes=1000,
    )
    if ok:
        assert fetcher.get("http://feeds.test/x").content == bytes(size)
    else:
        with pytest.raises(FetchError, match=r"response body too large \(>1000 bytes\)"):
            fetcher.get("http://feeds.test/x")


def test_streamed_body_without_length_is_cut_at_the_cap() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 600_000] * 100))

    with pytest.raises(FetchError, match=r"response body too large \(>1 MiB\)"):
        mock_fetcher(endless, max_body_bytes=MiB).get("http://feeds.test/x")


def test_oversized_content_length_is_refused_before_reading() -> None:
    reply = Reply(200, b"tiny", {"Content-Length": str(2 * 1024**3)})
    with serve({"/": reply}) as url, HttpFetcher(local()) as fetcher:
        error = failure(fetcher, url + "/")
    assert str(error) == f"{url}/: response body too large (>15 MiB)"


def test_in_memory_mock_responses_are_accepted() -> None:
    # httpx reads `content=` responses eagerly; the fetcher still applies the cap
    fetcher = mock_fetcher(lambda request: httpx.Response(200, content=b"abc"), max_body_bytes=3)
    assert fetcher.get("http://feeds.test/a").content == b"abc"
    big = mock_fetcher(lambda request: httpx.Response(200, content=b"abcd"), max_body_bytes=3)
    with pytest.raises(FetchError, match=r"response body too large \(>3 bytes\)"):
        big.get("http://feeds.test/a")


def test_corrupt_gzip_is_a_fetch_error() -> None:
    headers = {"Content-Encoding": "gzip"}
    fetcher = mock_fetcher(lambda request: raw(200, b"junk", headers))
    with pytest.raises(FetchError, match=r"^http://feeds.test/x: could not decode gzip body"):
        fetcher.get("http://feeds.test/x")


# -- deadline and timeouts ---------------------------------------------------------------------


def drip_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    for _ in range(100):  # 10 s if nobody stops it; no gap is long enough for a read timeout
        handler.wfile.write(b"x")
        time.sleep(0.1)


def drip_headers(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
    for i in range(100):
        handler.wfile.write(b"X-Slow-%d: 1\r\n" % i)
        time.sleep(0.1)


@pytest.mark.parametrize(("path", "deadline"), [("/body", 1.0), ("/headers", 0.5)])
def test_drip_feed_is_cut_by_the_deadline(path: str, deadline: float) -> None:
    routes = {"/body": drip_body, "/headers": drip_headers}
    fetcher = HttpFetcher(local(deadline=deadline, read_timeout=5.0))
    with serve(routes) as url, fetcher, pytest.raises(FetchError) as info:
        fetcher.get(url + path)
    assert str(info.value) == f"{url}{path}: deadline of {deadline:g}s exceeded"


def test_silent_server_gives_a_read_timeout() -> None:
    def silent(handler: BaseHTTPRequestHandler) -> Reply:
        time.sleep(1.0)
        return Reply(200)

    fetcher = HttpFetcher(local(read_timeout=0.2))
    with serve({"/slow": silent}) as url, fetcher, pytest.raises(FetchError) as info:
        fetcher.get(url + "/slow")
    assert str(info.value) == f"{url}/slow: timed out"


def test_deadline_clamps_to_the_time_left() -> None:
    now = [100.0]
    deadline = Deadline(5.0, lambda: now[0])
    assert deadline.clamp(10.0) == 5.0
    assert deadline.clamp(None) == 5.0
    now[0] = 104.0
    assert deadline.clamp(0.5) == 0.5
    now[0] = 105.0
    assert (deadline.clamp(10.0), deadline.expired()) == (None, True)


# -- redirects ---------------------------------------------------------------------------------


def chain(prefix: str, hops: int) -> dict[str, Reply]:
    routes = {
        f"{prefix}/{i}": Reply(302, headers={"Location": f"{prefix}/{i + 1}"}) for i in range(hops)
    }
    routes[f"{prefix}/{hops}"] = Reply(200, b"end")
    return routes


def test_five_redirects_are_followed() -> None:
    with serve(chain("/c", 5)) as url, HttpFetcher(local()) as fetcher:
        result = fetcher.get(url + "/c/0")
    assert (result.url, result.content) == (url + "/c/5", b"end")
    assert result.redirects == tuple(f"{url}/c/{i}" for i in range(5))


def test_sixth_redirect_is_refused_naming_the_chain() -> None:
    with serve(chain("/d", 6)) as url, HttpFetcher(local()) as fetcher:
        error = failure(fetcher, url + "/d/0")
    hops = " -> ".join(f"{url}/d/{i}" for i in range(7))
    assert str(error) == f"{url}/d/0: too many redirects (max 5): {hops}"
    assert [r.path for r in url.requests] == [f"/d/{i}" for i in range(6)]


def test_redirect_loop_is_refused_naming_the_chain() -> None:
    routes = {
        "/a": Reply(302, headers={"Location": "/b"}),
        "/b": Reply(307, headers={"Location": "/a"}),
    }
    with serve(routes) as url, HttpFetcher(local()) as fetcher:
        error = failure(fetcher, url + "/a")
    assert str(error) == f"{url}/a: redirect loop: {url}/a -> {url}/b -> {url}/a"


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://example.com:70/x", "ftp://x/"])
def test_redirect_to_another_scheme_is_refused(target: str) -> None:
    with (
        serve({"/": Reply(302, headers={"Location": target})}) as url,
        HttpFetcher(local()) as fetcher,
        pytest.raises(FetchError) as info,
    ):
        fetcher.get(url + "/")
    scheme = target.split(":", 1)[0]
    assert str(info.value) == f"{url}/: refused redirect to unsupported scheme {scheme!r}: {target}"
    assert len(url.requests) == 1


def test_relative_redirect_is_resolved_against_the_current_url() -> None:
    routes = {
        "/a/b": Reply(302, headers={"Location": "../feeds/x.xml?y=1"}),
        "/feeds/x.xml": Reply(200, b"feed"),
    }
    with serve(routes) as url, HttpFetcher(local()) as fetcher:
        result = fetcher.get(url + "/a/b")
    assert (result.url, result.redirects, result.content) == (
        url + "/feeds/x.xml?y=1",
        (url + "/a/b",),
        b"feed",
    )


def test_cross_origin_redirect_drops_cookie_but_keeps_referer() -> None:
    with serve({"/land": Reply(200)}) as other, HttpFetcher(local()) as fetcher:
        go = Reply(302, headers={"Location": other + "/land"})
        with serve({"/go": go}) as url:
            fetcher.get(url + "/go", headers={"Cookie": "s=1", "Referer": "https://r/"})
    assert url.requests[0].headers["cookie"] == "s=1"
    assert "cookie" not in other.requests[0].headers
    assert other.requests[0].headers["referer"] == "https://r/"


# -- SSRF guard --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "0x7f000001"])
def test_loopback_in_any_spelling_is_blocked_before_sending(host: str) -> None:
    with serve({"/": Reply(200)}) as url:
        fetcher = HttpFetcher(settings())
        target = f"http://{host}:{port_of(url)}/"
        with pytest.raises(BlockedAddressError) as info:
            fetcher.get(target)
    assert str(info.value) == f"{target}: blocked non-public address 127.0.0.1 for host {host}"
    assert info.value.url == target
    assert (url.requests, fetcher.requests_sent) == ([], 0)


@pytest.mark.parametrize(
    ("host", "address"),
    [("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"), ("[::1]", "::1"), ("0", "0.0.0.0")],
)
def test_ipv6_and_unspecified_forms_are_blocked(host: str, address: str) -> None:
    with serve({"/": Reply(200)}) as url:
        fetcher = HttpFetcher(settings())
        with pytest.raises(BlockedAddressError, match=f"blocked non-public address {address} "):
            fetcher.get(f"http://{host}:{port_of(url)}/")
    assert url.requests == []


def test_localhost_name_is_blocked() -> None:
    with serve({"/": Reply(200)}) as url, pytest.raises(BlockedAddressError):
        HttpFetcher(settings()).get(f"http://localhost:{port_of(url)}/")
    assert url.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "100.100.100.200", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255",
        "240.0.0.1", "192.0.2.1", "198.18.0.1", "::1", "::", "fc00::1", "fd00::1", "fe80::1",
        "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::1", "2002:a00:1::1", "::127.0.0.1",
        "2001:db8::1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert is_public_address(ip_address(address)) is False


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", PUBLIC_IP, "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
     "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ip_address(address)) is True


def test_redirect_from_a_public_host_to_metadata_is_blocked() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    with pytest.raises(BlockedAddressError) as info:
        mock_fetcher(handler).get("http://feeds.test/feed")
    assert str(info.value) == (
        "http://169.254.169.254/latest/meta-data/: "
        "blocked non-public address 169.254.169.254 for host 169.254.169.254"
    )
    assert info.value.url == "http://feeds.test/feed"
    assert seen == ["http://feeds.test/feed"]


def only_loopback_one(ip: Any) -> bool:
    """A policy that admits the test server's 127.0.0.1 and nothing else non-public."""
    return bool(ip == IPv4Address("127.0.0.1") or is_public_address(ip))


def test_redirect_from_an_allowed_server_to_a_blocked_address_is_refused() -> None:
    with serve({}) as victim:
        target = f"http://127.0.0.2:{port_of(victim)}/admin"
        with serve({"/go": Reply(302, headers={"Location": target})}) as url:
            fetcher = HttpFetcher(settings(), address_policy=only_loopback_one)
            with pytest.raises(BlockedAddressError) as info:
                fetcher.get(url + "/go")
    assert str(info.value) == f"{target}: blocked non-public address 127.0.0.2 for host 127.0.0.2"
    assert [r.path for r in url.requests] == ["/go"]
    assert fetcher.requests_sent == 1


def test_dns_rebinding_between_check_and_connect_is_caught_at_connect() -> None:
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    with serve({"/": Reply(200)}) as url:
        fetcher = HttpFetcher(settings(), resolver=rebinding, address_policy=only_loopback_one)
        with pytest.raises(BlockedAddressError) as info:
            fetcher.get(f"http://rebind.test:{port_of(url)}/")
    assert "blocked non-public address 127.0.0.2 for host rebind.test" in str(info.value)
    assert asked == ["rebind.test", "rebind.test"]
    assert url.requests == []


def test_every_resolved_address_must_be_public() -> None:
    fetcher = HttpFetcher(
        settings(),
        transport=httpx.MockTransport(lambda request: httpx.Response(200)),
        resolver=lambda host, port: [PUBLIC_IP, "10.0.0.1"],
    )
    with pytest.raises(
        BlockedAddressError,
        match=r"blocked non-public address 10\.0\.0\.1 for host two-records\.test$",
    ):
        fetcher.get("http://two-records.test/")
    assert fetcher.requests_sent == 0


@pytest.mark.parametrize("userinfo", ["user", "user:pw", "127.0.0.1%2523"])
def test_credentials_in_urls_are_refused(userinfo: str) -> None:
    with serve({"/": Reply(200)}) as url, HttpFetcher(local()) as fetcher:
        target = f"http://{userinfo}@127.0.0.1:{port_of(url)}/"
        with pytest.raises(FetchError) as info:
            fetcher.get(target)
    assert str(info.value) == f"{target}: credentials in URLs are not allowed"
    assert url.requests == []


# -- proxies -----------------------------------------------------------------------------------


def test_global_proxy_and_per_call_proxy_are_used() -> None:
    with serve({"/x": Reply(200, b"via proxy")}) as proxy:
        fetcher = HttpFetcher(settings(proxy=proxy), resolver=public_resolver)
        assert fetcher.get("http://feeds.test/x").content == b"via proxy"
        per_call = HttpFetcher(settings(), resolver=public_resolver)
        assert per_call.get("http://feeds.test/x?2", proxy=proxy).content == b"via proxy"
    assert [r.path for r in proxy.requests] == ["http://feeds.test/x", "http://feeds.test/x?2"]
    assert proxy.requests[0].headers["host"] == "feeds.test"


def test_proxied_target_is_still_checked() -> None:
    with serve({"/x": Reply(200)}) as proxy:
        fetcher = HttpFetcher(settings(proxy=proxy), resolver=lambda host, port: ["10.0.0.1"])
        with pytest.raises(
            BlockedAddressError,
            match=r"blocked non-public address 10\.0\.0\.1 for host intranet\.test$",
        ):
            fetcher.get("http://intranet.test/x")
    assert proxy.requests == []


def test_empty_proxy_forces_a_direct_connection() -> None:
    with serve({"/": Reply(200, b"direct")}) as url:
        fetcher = HttpFetcher(local(proxy="http://127.0.0.1:1"))
        assert fetcher.get(url + "/", proxy="").content == b"direct"


def test_unsupported_proxy_scheme_is_a_fetch_error() -> None:
    fetcher = HttpFetcher(settings(), resolver=public_resolver)
    with pytest.raises(FetchError, match="unsupported proxy scheme 'socks5'"):
        fetcher.get("http://feeds.test/", proxy="socks5://127.0.0.1:1080")


# -- transport failures and bad input ----------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    yield port


def test_connection_refused_names_the_url(closed_port: int) -> None:
    target = f"http://127.0.0.1:{closed_port}/feed"
    with pytest.raises(FetchError) as info:
        HttpFetcher(local()).get(target)
    assert str(info.value) == f"{target}: connection refused"
    assert not isinstance(info.value, BlockedAddressError)


def failing_resolver(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("allow_private", [False, True])  # checked before sending / at connect
def test_name_resolution_failure(allow_private: bool) -> None:
    fetcher = HttpFetcher(settings(allow_private_networks=allow_private), resolver=failing_resolver)
    with pytest.raises(FetchError) as info:
        fetcher.get("http://nowhere.invalid/feed")
    assert str(info.value) == "http://nowhere.invalid/feed: name resolution failed"


def test_garbage_response_is_a_protocol_error() -> None:
    def garbage(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"SPEAKING NONSENSE\r\n\r\n")

    with serve({"/": garbage}) as url, HttpFetcher(local()) as fetcher:
        error = failure(fetcher, url + "/")
    assert str(error).startswith(f"{url}/: protocol error: ")


def test_non_ascii_header_value_is_a_fetch_error() -> None:
    fetcher = mock_fetcher(lambda request: raw(200))
    with pytest.raises(FetchError, match=r"^http://feeds\.test/: header values must be ASCII"):
        fetcher.get("http://feeds.test/", headers={"Referer": "http://例子.test/"})


def test_header_injection_is_a_fetch_error() -> None:
    with serve({"/": Reply(200)}) as url, HttpFetcher(local()) as fetcher:
        error = failure(fetcher, url + "/", headers={"X-A": "1\r\nX-Injected: 1"})
    assert str(error).startswith(f"{url}/: ")
    assert url.requests == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "unsupported URL scheme ''"),
        ("not a url", "unsupported URL scheme ''"),
        ("ftp://example.com/", "unsupported URL scheme 'ftp'"),
        ("javascript:alert(1)", "unsupported URL scheme 'javascript'"),
        ("http://", "URL has no host"),
        ("http://[::1/", "invalid URL: Invalid port: ':1'"),
        ("http://ＥＸＡＭＰＬＥ.com/", "invalid URL: Invalid IDNA hostname: 'ＥＸＡＭＰＬＥ.com'"),
        ("http://0177.0.0.1/", "invalid URL: Invalid IPv4 address: '0177.0.0.1'"),
        ("http://feeds.test:99999/", "invalid port 99999"),
    ],
)
def test_bad_urls_are_one_line_fetch_errors(url: str, message: str) -> None:
    with pytest.raises(FetchError) as info:
        HttpFetcher(settings(), resolver=public_resolver).get(url)
    assert str(info.value) == f"{url}: {message}"
