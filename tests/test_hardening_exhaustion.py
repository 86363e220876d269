"""RELIABILITY §D, resource exhaustion: huge and compressed bodies, drips, loops, floods.

The byte cap counts decoded bytes; the deadline is wall-clock. The tests never assert on time:
they give the fetcher a short deadline and check that the error is the deadline's. Memory is
asserted as the peak RSS of a CLI subprocess against a generous bound.
"""

from __future__ import annotations

import gzip
import time
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from hardening import feed_source, run_cli, write_site
from httpserver import Reply, serve

from aggregator.errors import FetchError
from aggregator.fetch import HttpFetcher
from aggregator.models import FetchSettings, MiB
from aggregator.normalise import MAX_LINK_CHARS

CAP_MESSAGE = "response body too large (>15 MiB)"
# A plain run peaks near 120 MiB; holding a decoded bomb (1 GiB) or a flooded feed would not fit.
PEAK_BOUND_KIB = 300 * 1024


def local(**overrides: Any) -> FetchSettings:
    return FetchSettings(**{"user_agent": "", "allow_private_networks": True, **overrides})


def failure(url: str, **overrides: Any) -> str:
    with HttpFetcher(local(**overrides)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.get(url)
    return str(info.value)


# -- D1 huge bodies ----------------------------------------------------------------------------


def test_D1_a_2_gib_content_length_is_refused_before_reading() -> None:
    def liar(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(2 * 1024 * MiB))
        handler.end_headers()
        handler.wfile.write(b"x" * 1024)

    with serve({"/": liar}) as url:
        assert failure(url + "/") == f"{url}/: {CAP_MESSAGE}"


def endless_chunks(handler: BaseHTTPRequestHandler) -> None:
    handler.protocol_version = "HTTP/1.1"
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"x" * 65536
    while True:  # until the client hangs up
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def test_D1_an_endless_chunked_stream_is_cut_at_the_decoded_cap() -> None:
    with serve({"/": endless_chunks}) as url:
        assert failure(url + "/") == f"{url}/: {CAP_MESSAGE}"


# -- D2 compression bombs ----------------------------------------------------------------------

ZEROS = 64 * MiB  # four times the cap: enough to prove the cut, cheap to build


def deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


BOMBS = {
    "gzip": ("gzip", gzip.compress(b"\0" * ZEROS, 9)),
    "zlib-deflate": ("deflate", deflate(b"\0" * ZEROS, zlib.MAX_WBITS)),
    "raw-deflate": ("deflate", deflate(b"\0" * ZEROS, -zlib.MAX_WBITS)),
}


@pytest.mark.parametrize("name", BOMBS)
def test_D2_compression_bombs_are_cut_at_the_decoded_cap(name: str) -> None:
    coding, body = BOMBS[name]
    with serve({"/": Reply(200, body, {"Content-Encoding": coding})}) as url:
        assert failure(url + "/") == f"{url}/: {CAP_MESSAGE}"


@pytest.mark.parametrize("coding", ["gzip, gzip", "gzip,deflate", "br", "zstd", "compress"])
def test_D2_a_coding_chain_or_an_unknown_coding_is_an_error(coding: str) -> None:
    body = gzip.compress(gzip.compress(b"<rss/>"))
    with serve({"/": Reply(200, body, {"Content-Encoding": coding})}) as url:
        assert failure(url + "/") == f"{url}/: unsupported content encoding {coding!r}"


def test_D2_peak_memory_of_a_cli_run_against_a_1_gib_gzip_bomb_stays_bounded(
    tmp_path: Path,
) -> None:
    # 1 GiB of zeros, gzip-compressed to ~4.5 MiB, built by streaming so this test stays small too
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MiB
    bomb = b"".join(packer.compress(block) for _ in range(1024)) + packer.flush()
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
    with serve({"/feed.xml": Reply(200, bomb, headers)}) as url:
        run = run_cli(write_site(tmp_path, feed_source("bomb", url + "/feed.xml")), "fetch")
    assert run.code == 1
    assert run.stderr.startswith(f"bomb: error: {url}/feed.xml: {CAP_MESSAGE} (")
    assert 0 < run.max_rss_kib < PEAK_BOUND_KIB


# -- D3 slowloris and silence ------------------------------------------------------------------


def drip(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(1000):  # one byte per 50 ms: never idle long enough for a read timeout
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.05)


def silent(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(5)  # accepts the connection, never answers


@pytest.mark.parametrize("route", ["drip", "silent"])
def test_D3_drip_feed_and_silent_server_are_cut_by_the_total_deadline(route: str) -> None:
    with serve({"/drip": drip, "/silent": silent}) as url:
        message = failure(f"{url}/{route}", deadline=0.5, read_timeout=10)
    assert message == f"{url}/{route}: deadline of 0.5s exceeded"


def test_D3_the_next_source_proceeds_after_a_stalled_one(tmp_path: Path) -> None:
    feed = b'<rss version="2.0"><channel><title>OK</title><item><title>t</title><guid>g</guid></item></channel></rss>'
    routes = {"/drip": drip, "/ok.xml": Reply(200, feed, {"Content-Type": "application/rss+xml"})}
    with serve(routes) as url:
        sources = feed_source("stalled", url + "/drip") + feed_source("fine", url + "/ok.xml")
        config = write_site(tmp_path, sources, fetch="allow_private_networks = true\ndeadline = 1")
        run = run_cli(config, "fetch")
    assert run.code == 1
    assert run.stderr.startswith(f"stalled: error: {url}/drip: deadline of 1s exceeded (")
    assert run.stdout.startswith("fine: 1 new, 0 changed, 0 unchanged (")


# -- D4 redirect loops and chains --------------------------------------------------------------


def test_D4_a_redirect_loop_is_stopped_naming_the_chain() -> None:
    routes = {
        "/a": Reply(302, headers={"Location": "/b"}),
        "/b": Reply(302, headers={"Location": "/a"}),
    }
    with serve(routes) as url:
        message = failure(url + "/a")
        assert len(url.requests) == 2
    assert message == f"{url}/a: redirect loop: {url}/a -> {url}/b -> {url}/a"


def test_D4_a_25_hop_chain_stops_after_5_naming_the_chain() -> None:
    routes = {f"/{i}": Reply(302, headers={"Location": f"/{i + 1}"}) for i in range(25)}
    with serve(routes) as url:
        message = failure(url + "/0")
        assert len(url.requests) == 6
    chain = " -> ".join(f"{url}/{i}" for i in range(7))
    assert message == f"{url}/0: too many redirects (max 5): {chain}"


# -- D5 entry floods ---------------------------------------------------------------------------


def test_D5_a_feed_of_100_000_items_is_capped_and_the_run_goes_on(tmp_path: Path) -> None:
    items = "".join(
        f"<item><title>t{i}</title><guid>g{i}</guid><description>d{i}</description></item>"
        for i in range(100_000)
    )
    flood = f'<rss version="2.0"><channel><title>F</title>{items}</channel></rss>'.encode()
    with serve({"/feed.xml": Reply(200, flood, {"Content-Type": "application/rss+xml"})}) as url:
        config = write_site(tmp_path, feed_source("flood", url + "/feed.xml", max_items="50"))
        run = run_cli(config, "fetch")
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(
        "flood: 50 new, 0 changed, 0 unchanged; warning: flood: feed has 100000 entries;"
        " the first 1000 were read ("
    )
    assert len(list((tmp_path / "storage" / "_posts").glob("*.md"))) == 50
    assert 0 < run.max_rss_kib < PEAK_BOUND_KIB


def test_D5_a_10_mb_title_and_a_1_mb_url_are_truncated_or_dropped(tmp_path: Path) -> None:
    title, link = "x" * 10_000_000, "http://news.example/" + "a" * 1_000_000
    feed = (
        f'<rss version="2.0"><channel><title>F</title><item><title>{title}</title>'
        f"<link>{link}</link><guid>g</guid><description>d</description></item></channel></rss>"
    ).encode()
    with serve({"/feed.xml": Reply(200, feed, {"Content-Type": "application/rss+xml"})}) as url:
        run = run_cli(write_site(tmp_path, feed_source("big", url + "/feed.xml")), "fetch")
    assert run.code == 0, run.stderr
    (post,) = (tmp_path / "storage" / "_posts").glob("*.md")
    text = post.read_text(encoding="utf-8")
    assert f'title: "{"x" * 1000}"\n' in text
    assert "a" * MAX_LINK_CHARS not in text
    assert len(text.encode()) < 10_000
