"""RELIABILITY §C, XML: hostile feeds through `aggregator fetch` of a local feed source.

Every case runs the real CLI in a subprocess against a feed on a local server, with a second
local server as a canary that must never be asked for anything (external entities, DTDs).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hardening import Run, feed_source, run_cli, tree, write_site
from httpserver import Reply, ServerURL, serve

RSS = "application/rss+xml"
MEMORY_BOUND_KIB = 400 * 1024  # generous: a plain run peaks near 120 MiB; an expansion needs GiBs


@contextmanager
def hostile_feed(body: str, content_type: str = RSS) -> Iterator[tuple[ServerURL, ServerURL]]:
    """(feed server, canary server); `CANARY` in `body` becomes the canary's URL."""
    with serve({"/x": Reply(200, b"leaked"), "/evil.dtd": Reply(200, b"")}) as canary:
        data = body.replace("CANARY", canary).encode("utf-8")
        routes = {"/feed.xml": Reply(200, data, {"Content-Type": content_type})}
        with serve(routes) as url:
            yield url, canary


def fetch(tmp_path: Path, url: str) -> Run:
    config = write_site(tmp_path, feed_source("f", url + "/feed.xml"))
    return run_cli(config, "fetch")


def stored_text(tmp_path: Path) -> str:
    storage = tmp_path / "storage"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(storage.rglob("*.md")))


def item(title: str, description: str = "d") -> str:
    return (
        f"<item><title>{title}</title><link>http://news.example/a</link><guid>a</guid>"
        f"<description>{description}</description></item>"
    )


def rss(doctype: str, items: str) -> str:
    head = '<?xml version="1.0"?>\n' + doctype + "\n"
    return head + f'<rss version="2.0"><channel><title>X</title>{items}</channel></rss>'


# -- C1 XXE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("system", ["file:///etc/passwd", "CANARY/x"])
def test_C1_external_entities_read_no_file_and_send_no_request(tmp_path: Path, system: str) -> None:
    body = rss(f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{system}">]>', item("a&x;b", "d&x;"))
    with hostile_feed(body) as (url, canary):
        run = fetch(tmp_path, url)
    assert run.code == 0, run.stderr
    assert canary.requests == []
    text = stored_text(tmp_path)
    assert "root:" not in text and "leaked" not in text
    assert 'title: "a&x;b"' in text  # the reference stays literal text, never expanded
    assert "Traceback" not in run.stderr


# -- C2 entity expansion -----------------------------------------------------------------------


def billion_laughs() -> str:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
    ]
    return rss("<!DOCTYPE rss [" + "\n".join(entities) + "]>", item("&lol9;"))


def quadratic_blowup() -> str:
    doctype = '<!DOCTYPE rss [<!ENTITY a "' + "A" * 50_000 + '">]>'
    return rss(doctype, item("t", "&a;" * 20_000))


@pytest.mark.parametrize("body", [billion_laughs(), quadratic_blowup()], ids=["laughs", "blowup"])
def test_C2_entity_expansion_stays_bounded(tmp_path: Path, body: str) -> None:
    with hostile_feed(body) as (url, _):
        run = fetch(tmp_path, url)
    assert run.code == 0, run.stderr
    assert run.max_rss_kib < MEMORY_BOUND_KIB
    stored = stored_text(tmp_path)
    assert "lollol" not in stored and "AAAA" not in stored
    assert run.stdout.startswith(
        "f: 1 new, 0 changed, 0 unchanged; warning: f: feed is not well-formed"
    )


# -- C3 external DTD ---------------------------------------------------------------------------


def test_C3_external_dtd_is_never_fetched(tmp_path: Path) -> None:
    body = rss('<!DOCTYPE rss SYSTEM "CANARY/evil.dtd">', item("t"))
    with hostile_feed(body) as (url, canary):
        run = fetch(tmp_path, url)
    assert run.code == 0, run.stderr
    assert canary.requests == []
    assert run.stdout.startswith("f: 1 new, 0 changed, 0 unchanged (")


# -- C4 malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (rss("", item("t", "<foo:bar>x</foo:bar>")), "unbound prefix"),
        (rss("", item("t & u")), "not well-formed (invalid token)"),
        (rss("", item("t", "<![CDATA[<p>abc")), "unclosed CDATA section"),
    ],
    ids=["namespace", "bare-amp", "cdata"],
)
def test_C4_malformed_xml_is_read_leniently_with_a_warning(
    tmp_path: Path, body: str, reason: str
) -> None:
    with hostile_feed(body) as (url, _):
        run = fetch(tmp_path, url)
    assert run.code == 0, run.stderr
    assert "warning: f: feed is not well-formed XML (<unknown>:" in run.stdout
    assert f"{reason}); read leniently" in run.stdout


def test_C4_wrong_encoding_declaration_is_overridden_by_valid_utf8(tmp_path: Path) -> None:
    body = rss("", item("中文标题")).replace(
        'version="1.0"?>', 'version="1.0" encoding="iso-8859-1"?>'
    )
    with hostile_feed(body) as (url, _):
        run = fetch(tmp_path, url)
    assert run.code == 0, run.stderr
    assert 'title: "中文标题"' in stored_text(tmp_path)


def test_C4_html_error_page_is_a_source_error_and_stored_posts_stay(tmp_path: Path) -> None:
    good = rss("", item("kept"))
    error_page = "<!DOCTYPE html><html><head><title>Error</title></head><body>500</body></html>"
    replies = {"/feed.xml": Reply(200, good.encode(), {"Content-Type": RSS})}
    with serve(replies) as url:  # type: ignore[arg-type]
        config = write_site(tmp_path, feed_source("f", url + "/feed.xml"))
        assert run_cli(config, "fetch").code == 0
        before = tree(tmp_path / "storage")
        replies["/feed.xml"] = Reply(200, error_page.encode(), {"Content-Type": "text/html"})
        run = run_cli(config, "fetch")
    assert run.code == 1
    assert run.stderr.startswith("f: error: f: not a feed (no RSS or Atom root element) (")
    assert len(run.stderr.splitlines()) == 1
    assert tree(tmp_path / "storage") == before
