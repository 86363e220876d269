"""The shortcuts of a large fetch give exactly what the plain way gives: html_text without bs4,
the canary's body check, post writes in a batch, and bodies cleaned in a worker process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import test_feed_end_to_end as e2e
from httpserver import ServerURL

from aggregator import atomicfile, canary, cleanpool, extract, normalise, writebatch
from aggregator import store as store_module
from aggregator.errors import StoreError
from aggregator.models import Post, RawItem
from aggregator.store import TEMP_PREFIX, SeenItem, Store

DATA = Path(__file__).parent / "data"
ZONE = UTC
NOW = datetime(2024, 6, 1, tzinfo=ZONE)


def bodies() -> list[str]:
    found = [p.read_text("utf-8").split("---\n", 2)[-1] for p in DATA.glob("**/*.md")]
    found += [p.read_text("utf-8", "replace") for p in DATA.glob("**/*.html")]
    return found


EXTRA = [
    "a<!--x-->b",
    "<p>a<!-- x - y -->b</p>",
    "a<!-- x -- y -->b",
    "<!-->a",
    "<!--->a-->b",
    "<center>x</center>y",
    '<center align="c"><p>x</p></center>',
    "<centerx>a</centerx>",
    '<p>a<img src="x&y" alt="a>b">c</p>',
    "<p>a<img src='x'/>b</p>",
    '<img src="a"b>x',
    "<p>x<img src=x&y width=3>y</p>",
    '<img alt="<p>">z',
    '<img\nsrc="a"\n/>w',
    "<p>one<br>two</p><div>three</div>",
    "<p>&amp; &lt;x&gt; &#20013;</p>",
]


def slow_html_text(html: str) -> str:
    lines = (extract._squash(line) for line in extract._slow_text(html).split("\n"))
    return extract._BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def test_html_text_equals_the_bs4_reading() -> None:
    for body in [*bodies(), *EXTRA]:
        for html in (body, body[: len(body) // 2], f"<div>{body}</div>"):
            assert extract.html_text(html) == slow_html_text(html), html[:200]


CANARY_EXTRA = [
    "",
    " ",
    "<p> </p>",
    "<p>&nbsp;</p>",
    "<p>\u3000</p>",
    "<script>x</script>",
    '<p title="a>b"></p>',
    "<p>\x01</p>",
    "<P>x</P>",
    '<a href="x">y</a>',
    "<p><br>x</p>",
    "<!-- x -->",
    '<p class="a"   >  \n x',
    "\u2028",
]


def test_a_body_seen_to_open_with_text_has_text() -> None:
    for body in [*bodies(), *CANARY_EXTRA]:
        for html in (body, body[:30], body[:5]):
            if canary._OPENS_WITH_TEXT.match(html):
                assert normalise.plain_text(html, limit=50), repr(html)


def test_the_canary_sees_the_same_body_fields() -> None:
    for body in [*bodies(), *CANARY_EXTRA]:
        item = RawItem("s", "k", "urn:k", "t", None, "UTC", "https://x.example/", body)
        with_shortcut = canary.item_fields(item, NOW)
        assert ("body" in with_shortcut) == bool(normalise.plain_text(body, limit=50))


def post(n: int, body: str = "body") -> Post:
    when = datetime(2024, 6, 1, 8, n, tzinfo=ZONE)
    return Post(
        post_id=f"f-{n}",
        title=f"t{n}",
        date=when,
        category="c",
        tag="t",
        body=body,
        content_html="",
        source_url="https://x.example/",
        guid=f"urn:{n}",
        source_name="s",
        first_seen=when,
    )


def test_a_batch_stores_files_before_their_state(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        with store.batch():
            store.write_post(post(1), "2024-06-01-f-1.md")
            store.remember("feed", "k1", "2024-06-01-f-1.md", NOW)
            store.remember_article(["url://x/1"], "c", "2024-06-01-f-1.md")
            assert not (tmp_path / "_posts" / "2024-06-01-f-1.md").exists()
            with store.state() as db:
                assert db.execute("SELECT count(*) FROM seen").fetchone() == (0,)
            # a read that needs the pending write flushes first
            assert store.seen("feed", "k1") is not None
            assert (tmp_path / "_posts" / "2024-06-01-f-1.md").exists()
            store.write_post(post(2), "2024-06-01-f-2.md")
            assert store.read_post("2024-06-01-f-2.md", lambda body: "") == post(2)
            store.write_post(post(3), "2024-06-01-f-3.md")
            store.remember_article(["url://x/3"], "c", "2024-06-01-f-3.md")
            assert store.find_article(["url://x/3"], None) == "2024-06-01-f-3.md"
            store.write_post(post(4), "2024-06-01-f-4.md")
        assert store.read_post("2024-06-01-f-4.md", lambda body: "") == post(4)
        with store.state() as db:
            indexed = [r[0] for r in db.execute("SELECT filename FROM post_index ORDER BY 1")]
        assert indexed == [f"2024-06-01-f-{n}.md" for n in (1, 2, 3, 4)]
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_a_failed_batch_keeps_no_state_for_its_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path) as store:
        store.write_post(post(1, "old"), "2024-06-01-f-1.md")

        def failing_fsync(fd: int) -> None:
            raise OSError(5, "Input/output error")

        with pytest.raises(StoreError, match="Input/output error"), store.batch():
            store.write_post(post(1, "new"), "2024-06-01-f-1.md")
            store.write_post(post(2), "2024-06-01-f-2.md")
            store.remember("feed", "k2", "2024-06-01-f-2.md", NOW)
            monkeypatch.setattr(os, "fsync", failing_fsync)
        monkeypatch.undo()
        assert store.read_post("2024-06-01-f-1.md", lambda body: "") == post(1, "old")
        assert not (tmp_path / "_posts" / "2024-06-01-f-2.md").exists()
        assert store.seen("feed", "k2") is None
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def disk_full_for(
    monkeypatch: pytest.MonkeyPatch, fails: Callable[[Path], bool]
) -> dict[str, bool]:
    """Staging a post file for which `fails` holds fails as on a full disk, while the returned
    switch's "full" is True."""
    real_stage = writebatch.stage
    switch = {"full": True}

    def stage(path: Path, data: bytes) -> atomicfile.Staged:
        if switch["full"] and fails(path):
            raise StoreError(f"cannot write {path.name}: No space left on device")
        return real_stage(path, data)

    monkeypatch.setattr(writebatch, "stage", stage)
    return switch


def named(name: str) -> Callable[[Path], bool]:
    return lambda path: path.name == name


def test_a_post_file_that_cannot_be_created_fails_its_batch_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # files are staged by a helper thread: the failure surfaces when the batch is flushed, the
    # files staged before it are put in place, and the state names none of the batch's items
    disk_full_for(monkeypatch, named("2024-06-01-f-2.md"))
    with Store(tmp_path) as store:
        with pytest.raises(StoreError, match=r"f-2\.md: No space left"), store.batch():
            for n in (1, 2, 3):
                store.write_post(post(n), f"2024-06-01-f-{n}.md")
                store.remember("feed", f"k{n}", f"2024-06-01-f-{n}.md", NOW)
        assert store.read_post("2024-06-01-f-1.md", lambda body: "") == post(1)
        assert [p.name for p in (tmp_path / "_posts").iterdir()] == ["2024-06-01-f-1.md"]
        assert [store.seen("feed", f"k{n}") for n in (1, 2, 3)] == [None, None, None]
        with store.state() as db:
            indexed = [r[0] for r in db.execute("SELECT filename FROM post_index")]
        assert indexed == ["2024-06-01-f-1.md"]
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_a_large_batch_is_committed_in_parts_behind_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # parts of two files: the first goes in place on a helper thread while the writer stages
    # the next; a lookup of an item of the part behind waits for it and answers as it would
    monkeypatch.setattr(store_module, "MAX_PENDING", 2)
    with Store(tmp_path) as store:
        with store.batch():
            for n in (1, 2):
                store.write_post(post(n), f"2024-06-01-f-{n}.md")
                store.remember("feed", f"k{n}", f"2024-06-01-f-{n}.md", NOW)
                store.remember_article([f"url://x/{n}"], "c", f"2024-06-01-f-{n}.md")
            store.write_post(post(3), "2024-06-01-f-3.md")  # sends 1 and 2 behind
            assert store.seen("feed", "k1") == SeenItem("2024-06-01-f-1.md", NOW)
            assert store.find_article(["url://x/2"], "c") == "2024-06-01-f-2.md"
            assert store.read_post("2024-06-01-f-2.md", lambda body: "") == post(2)
            store.write_post(post(4), "2024-06-01-f-4.md")
            store.write_post(post(5), "2024-06-01-f-5.md")  # sends 3 and 4 behind
        names = sorted(p.name for p in (tmp_path / "_posts").iterdir())
        with store.state() as db:
            indexed = [r[0] for r in db.execute("SELECT filename FROM post_index ORDER BY 1")]
    assert names == indexed == [f"2024-06-01-f-{n}.md" for n in (1, 2, 3, 4, 5)]
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


def test_a_part_that_fails_behind_the_writer_is_raised_when_the_batch_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_PENDING", 2)
    disk_full_for(monkeypatch, named("2024-06-01-f-2.md"))
    with Store(tmp_path) as store:
        with pytest.raises(StoreError, match=r"f-2\.md: No space left"), store.batch():
            for n in (1, 2, 3, 4):
                store.write_post(post(n), f"2024-06-01-f-{n}.md")
                store.remember("feed", f"k{n}", f"2024-06-01-f-{n}.md", NOW)
        # the failed part kept no state; the part after it was stored as usual
        assert [store.seen("feed", f"k{n}") is not None for n in (1, 2, 3, 4)] == [
            False,
            False,
            True,
            True,
        ]
        names = sorted(p.name for p in (tmp_path / "_posts").iterdir())
    assert names == ["2024-06-01-f-1.md", "2024-06-01-f-3.md", "2024-06-01-f-4.md"]
    assert list(tmp_path.rglob(f"{TEMP_PREFIX}*")) == []


server = e2e.server
site = e2e.site


@pytest.fixture
def pool_always(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(cleanpool, "MIN_ITEMS", 1)
    yield


@pytest.mark.usefixtures("pool_always")
def test_bodies_cleaned_in_a_worker_process_give_the_golden_tree(
    site: Path, server: ServerURL
) -> None:
    e2e.test_every_feed_kind_matches_the_golden_tree(site, server)


def test_a_source_whose_batch_fails_is_an_error_line_and_is_stored_by_the_next_fetch(
    site: Path, server: ServerURL, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = disk_full_for(
        monkeypatch, lambda path: path.parent.name == "_posts" and "-f-" in path.name
    )
    first = e2e.run(site, "fetch")
    assert first.exit_code == 1, first.output
    no_space = "No space left on device"
    assert e2e.lines(first)[:5] == [
        f"cn-finance: error: f-ba8799f86592dc89: cannot write 2021-12-06-f-3491b624f3e9dfa6.md:"
        f" {no_space} (+1 more)",
        f"tech: error: cannot write 2021-12-16-f-dc4c409993db126f.md: {no_space}",
        f"blog: error: cannot write 2021-12-16-f-82df74a004652064.md: {no_space}",
        f"flash: error: cannot write 2022-03-17-f-5f1d0798e7f6843a.md: {no_space}",
        f"nbd: error: cannot write 2021-12-16-f-cba384aa9731985f.md: {no_space}; warning:"
        f" {server}/articles/gone.html: full text not extracted (HTTP 404 Not Found); summary kept",
    ]
    assert list((site / "storage").rglob(f"{TEMP_PREFIX}*")) == []
    disk["full"] = False
    # nothing of the failed batches was recorded: the next fetch stores every item
    e2e.test_every_feed_kind_matches_the_golden_tree(site, server)


def test_a_batch_that_fails_behind_the_next_source_fails_only_its_own_source(
    site: Path, server: ServerURL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each source's batch goes in while the next source is stored: a failure is still the
    # failing source's alone, and the next fetch stores what it could not
    disk = disk_full_for(monkeypatch, named("2021-12-16-f-dc4c409993db126f.md"))
    first = e2e.run(site, "fetch")
    assert first.exit_code == 1, first.output
    assert e2e.lines(first)[:5] == [
        "cn-finance: 3 new, 0 changed, 0 unchanged, 1 duplicate",
        "tech: error: cannot write 2021-12-16-f-dc4c409993db126f.md: No space left on device",
        "blog: 3 new, 0 changed, 0 unchanged",
        "flash: 2 new, 0 changed, 0 unchanged, 1 filtered",
        f"nbd: 3 new, 0 changed, 0 unchanged; warning: {server}/articles/gone.html: full text not"
        " extracted (HTTP 404 Not Found); summary kept",
    ]
    disk["full"] = False
    second = e2e.run(site, "fetch")
    assert second.exit_code == 0, second.output
    assert e2e.lines(second)[:2] == [
        "cn-finance: 0 new, 0 changed, 3 unchanged, 1 duplicate",
        "tech: 2 new, 0 changed, 0 unchanged",
    ]
    assert e2e.tree(site / "storage", server) == e2e.tree(e2e.GOLDEN, server)
