"""`aggregator serve`: conditional GET, HEAD, gzip, content types, and nothing outside the site
(RELIABILITY §I). Requests go over a real socket to uvicorn, raw where a client would normalise."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import socket
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from site_helpers import make_site, run, serving

from aggregator.cli_publish import serve_root
from aggregator.serve import content_type


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = make_site(tmp_path_factory.mktemp("serve"), extra='formats = ["atom", "json"]\n')
    assert run(site, "build").exit_code == 0
    storage = site / "storage"
    (storage / "feeds_config.toml").write_text("secret = 1\n")  # a config kept in the root
    (site / "outside.txt").write_text("outside\n")
    os.symlink(site / "outside.txt", storage / "escape.txt")
    os.symlink(site, storage / "up")
    (storage / "feed" / "inside-link.xml").symlink_to(storage / "feed.xml")
    return site


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[tuple[str, int]]:
    storage = site / "storage"
    with serving(storage, hidden=(storage / "feeds_config.toml",)) as url:
        yield "127.0.0.1", int(url.rsplit(":", 1)[1])


def get(
    base: tuple[str, int], path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*base, timeout=10)
    conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def raw_status(base: tuple[str, int], target: bytes) -> int:
    """Send a request line byte for byte (http.client refuses NUL and spaces)."""
    with socket.create_connection(base, timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 400


def test_a_feed_is_served_with_its_hash_as_etag(site: Path, base: tuple[str, int]) -> None:
    status, headers, body = get(base, "/feed.xml")
    on_disk = (site / "storage" / "feed.xml").read_bytes()
    assert status == 200
    assert body == on_disk
    assert headers["etag"] == f'"{hashlib.sha256(on_disk).hexdigest()}"'
    assert headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    mtime = int((site / "storage" / "feed.xml").stat().st_mtime)
    assert headers["last-modified"] == formatdate(mtime, usegmt=True)
    assert headers["content-length"] == str(len(on_disk))


def test_second_request_with_the_etag_gets_304(base: tuple[str, int]) -> None:
    _, first, _ = get(base, "/feed/emnews.xml")
    status, headers, body = get(base, "/feed/emnews.xml", If_None_Match=first["etag"])
    assert (status, body, headers["etag"]) == (304, b"", first["etag"])
    for variant in (f'"x", {first["etag"]}', "W/" + first["etag"], "*"):
        assert get(base, "/feed/emnews.xml", If_None_Match=variant)[0] == 304
    assert get(base, "/feed/emnews.xml", If_None_Match='"other"')[0] == 200


def test_if_modified_since(base: tuple[str, int]) -> None:
    _, headers, _ = get(base, "/feed.xml")
    assert get(base, "/feed.xml", If_Modified_Since=headers["last-modified"])[0] == 304
    assert get(base, "/feed.xml", If_Modified_Since="Mon, 01 Jan 2001 00:00:00 GMT")[0] == 200
    # If-None-Match wins over If-Modified-Since
    both = {"If_None_Match": '"other"', "If_Modified_Since": headers["last-modified"]}
    assert get(base, "/feed.xml", **both)[0] == 200


def test_head_has_the_headers_and_no_body(base: tuple[str, int]) -> None:
    _, get_headers, body = get(base, "/feeds.opml")
    status, headers, head_body = get(base, "/feeds.opml", method="HEAD")
    assert (status, head_body) == (200, b"")
    assert headers["etag"] == get_headers["etag"]
    assert headers["content-length"] == str(len(body))


def test_gzip_when_asked(base: tuple[str, int]) -> None:
    _, plain_headers, plain = get(base, "/feed.xml")
    status, headers, body = get(base, "/feed.xml", Accept_Encoding="gzip")
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain
    assert headers["etag"] == plain_headers["etag"][:-1] + '-gzip"'
    assert headers["vary"] == "Accept-Encoding"
    assert get(base, "/feed.xml", Accept_Encoding="gzip", If_None_Match=headers["etag"])[0] == 304
    assert "content-encoding" not in get(base, "/feed.xml", Accept_Encoding="gzip;q=0")[1]


def test_content_types() -> None:
    assert content_type("feed.xml") == "application/atom+xml; charset=utf-8"
    assert content_type("feed/by_tag/x/archive/1.xml") == "application/atom+xml; charset=utf-8"
    assert content_type("feed.json") == "application/feed+json"
    assert content_type("feed/emnews.json") == "application/feed+json"
    assert content_type("feeds.opml") == "text/x-opml; charset=utf-8"
    assert content_type("category/emnews.html") == "text/html; charset=utf-8"
    assert content_type("sitemap.xml") == "application/xml"
    assert content_type("a.bin") == "application/octet-stream"


def test_json_feed_content_type(base: tuple[str, int]) -> None:
    status, headers, _ = get(base, "/feed/emnews.json")
    assert (status, headers["content-type"]) == (200, "application/feed+json")


@pytest.mark.parametrize(
    "target",
    [
        b"/feed/../feeds_config.toml",
        b"/feeds_config.toml",
        b"/%2e%2e/outside.txt",
        b"/feed/%2e%2e/feed.xml",
        b"/feed%2f..%2ffeed.xml",
        b"/..%5cfeed.xml",
        b"/feed\\emnews.xml",
        b"/feed.xml%00",
        b"/feed.xml%00.html",
        b"/%c0%ae%c0%ae/outside.txt",
        b"//evil.com/",
        b"/.aggregator/state.sqlite",
        b"/%2eaggregator/state.sqlite",
        b"/_posts/2021-12-16-NW202112162215638061.md",
        b"/_config.yml",
        b"/escape.txt",
        b"/up/outside.txt",
        b"/CON",
        b"/feed/",
    ],
)
def test_nothing_outside_the_site_is_served(base: tuple[str, int], target: bytes) -> None:
    assert raw_status(base, target) in (400, 404)


def test_traversal_gives_404_not_400(base: tuple[str, int]) -> None:
    assert raw_status(base, b"/feed/../feeds_config.toml") == 404
    assert raw_status(base, b"/%2e%2e/outside.txt") == 404
    assert raw_status(base, b"/..%5cfeed.xml") == 404
    assert raw_status(base, b"/feed.xml%00") == 404
    assert raw_status(base, b"/escape.txt") == 404


def test_a_link_inside_the_site_is_served(base: tuple[str, int]) -> None:
    assert get(base, "/feed/inside-link.xml")[0] == 200


def test_only_get_and_head(base: tuple[str, int]) -> None:
    assert get(base, "/feed.xml", method="POST")[0] == 405
    assert get(base, "/feed.xml", method="DELETE")[0] == 405


def test_a_file_written_after_start_is_found(site: Path, base: tuple[str, int]) -> None:
    (site / "storage" / "late.txt").write_text("late\n")
    status, headers, body = get(base, "/late.txt")
    assert (status, body, headers["content-type"]) == (200, b"late\n", "text/plain; charset=utf-8")


def test_the_built_site_is_served_when_there_is_one(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert serve_root(site / "storage") == site / "storage"
    assert run(site, "build", "--html").exit_code == 0
    assert serve_root(site / "storage") == site / "storage" / "_site"
    with serving(site / "storage" / "_site") as url:
        base = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
        status, headers, body = get(base, "/")
        assert status == 200
        assert body == (site / "storage/_site/index.html").read_bytes()
        assert headers["content-security-policy"].startswith("default-src 'none'")
        post = "/renminyoudianbao/2021/12/16/NW202112162215638061.html"
        assert get(base, post)[0] == 200


def test_serve_binds_loopback_by_default() -> None:
    from aggregator.cli_publish import serve

    host = next(p for p in serve.params if p.name == "host")
    port = next(p for p in serve.params if p.name == "port")
    assert (host.default, port.default) == ("127.0.0.1", 8080)


def test_jekyll_sources_are_not_served_from_an_unbuilt_dir(site: Path) -> None:
    from aggregator.serve import SiteFiles

    storage = site / "storage"
    unbuilt = SiteFiles(storage, skip_jekyll_sources=True)
    assert unbuilt.lookup("/category/emnews.html") is None
    assert unbuilt.lookup("/") is None
    assert unbuilt.lookup("/feeds.opml") == (storage / "feeds.opml").resolve()
    assert SiteFiles(storage).lookup("/category/emnews.html") is not None
