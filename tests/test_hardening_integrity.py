"""RELIABILITY §G, data integrity: atomic files, concurrent runs, idempotency, no loss, no
front-matter injection, no path traversal, one category per name. (G2, kill -9 anywhere, is
tests/test_hardening_crash.py.)"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from fake_eastmoney import FakeEastmoney
from hardening import FIXED_NOW, feed_source, run_cli, tree, write_site
from httpserver import Reply, serve

from aggregator import normalise
from aggregator.errors import StoreError
from aggregator.models import Post, RawItem, SiteSettings
from aggregator.postfile import parse_post, render_post
from aggregator.posts import assign_slug, make_post
from aggregator.slugs import MAX_SLUG_LENGTH, slugify
from aggregator.store import TEMP_PREFIX, Store

NOW = datetime(2022, 6, 1, tzinfo=UTC)
SITE = SiteSettings(title="T", url="https://news.example")


def a_post(**changes: object) -> Post:
    item = RawItem(
        source_name="s", key="k1", guid="urn:test:k1", title="t", date_text="2022-05-30 10:00:00",
        timezone="Asia/Shanghai", link="http://news.example/a", html="<p>body</p>",
    )  # fmt: skip
    post = make_post(item, site=SITE, category="c", tag="t", first_seen=NOW, now=NOW)
    return post if not changes else Post(**{**post.__dict__, **changes})  # type: ignore[arg-type]


# -- G1 atomic writes --------------------------------------------------------------------------


def test_G1_a_failed_rename_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.write_post(a_post(), "2022-05-30-k1.md")
    before = (tmp_path / "_posts" / "2022-05-30-k1.md").read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StoreError, match="No space left on device"):
        store.write_post(a_post(title="new"), "2022-05-30-k1.md")
    assert (tmp_path / "_posts" / "2022-05-30-k1.md").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "_posts").iterdir()) == ["2022-05-30-k1.md"]


def test_G1_stray_temp_files_of_a_dead_writer_are_cleaned_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    posts = tmp_path / "_posts"
    posts.mkdir()
    stray = [
        posts / f"{TEMP_PREFIX}{dead.stdout.strip()}-00ff",
        tmp_path / f"{TEMP_PREFIX}0badc0de",
    ]
    live = posts / f"{TEMP_PREFIX}{os.getppid()}-00ff"  # pytest's parent: alive, maybe writing
    for path in [*stray, live]:
        path.write_bytes(b"partial")
    assert Store(tmp_path).clean_temp_files() == 2
    assert [p.exists() for p in stray] == [False, False]
    assert live.exists()


# -- G3 concurrency ----------------------------------------------------------------------------


@pytest.fixture
def em() -> Iterator[FakeEastmoney]:
    with FakeEastmoney() as server:
        yield server


def eastmoney_site(root: Path, em: FakeEastmoney) -> Path:
    sources = f"""
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
"""
    return write_site(root, sources)


def test_G3_two_concurrent_fetches_of_one_config_finish_consistent(
    tmp_path: Path, em: FakeEastmoney
) -> None:
    clean_root = tmp_path / "clean"
    clean_root.mkdir()
    assert run_cli(eastmoney_site(clean_root, em), "fetch").code == 0
    config = eastmoney_site(tmp_path, em)
    env = {**os.environ, "SOURCE_DATE_EPOCH": FIXED_NOW}
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "fetch"]
    both = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in both]
    assert [proc.returncode for proc in both] == [0, 0], outputs
    storage = tmp_path / "storage"
    assert tree(storage) == tree(clean_root / "storage")
    with sqlite3.connect(storage / ".aggregator" / "state.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    reports = sorted(out.decode() for out, _ in outputs)
    assert "0 new" in reports[0]  # one wrote everything, the other found it all stored


# -- G4 idempotency ----------------------------------------------------------------------------

RSS = {"Content-Type": "application/rss+xml"}


def rss(*items: str) -> bytes:
    return f'<rss version="2.0"><channel><title>F</title>{"".join(items)}</channel></rss>'.encode()


def entry(guid: str | None, title: str, date: str = "Mon, 30 May 2022 10:00:00 +0800") -> str:
    guid_element = f"<guid>{guid}</guid>" if guid else ""
    return f"<item><title>{title}</title><link>http://news.example/{title}</link>{guid_element}<pubDate>{date}</pubDate></item>"


def test_G4_same_fetch_three_times_reordered_or_edited_keeps_one_file_per_item(
    tmp_path: Path,
) -> None:
    routes = {
        "/feed.xml": Reply(
            200, rss(entry("a", "one"), entry("b", "two"), entry(None, "three")), RSS
        )
    }
    with serve(routes) as url:  # type: ignore[arg-type]
        config = write_site(tmp_path, feed_source("f", url + "/feed.xml"))
        first = run_cli(config, "fetch")
        after_first = tree(tmp_path / "storage")
        second, third = run_cli(config, "fetch"), run_cli(config, "fetch")
        assert tree(tmp_path / "storage") == after_first
        routes["/feed.xml"] = Reply(
            200, rss(entry(None, "three"), entry("b", "two"), entry("a", "one")), RSS
        )
        reordered = run_cli(config, "fetch")
        assert tree(tmp_path / "storage") == after_first
        routes["/feed.xml"] = Reply(
            200, rss(entry("a", "one, corrected"), entry("b", "two"), entry(None, "three")), RSS
        )
        edited = run_cli(config, "fetch")
    assert first.stdout.startswith("f: 3 new, 0 changed, 0 unchanged")
    for run in (second, third, reordered):
        assert run.stdout.startswith("f: 0 new, 0 changed, 3 unchanged"), run.stdout
    assert edited.stdout.startswith("f: 0 new, 1 changed, 2 unchanged")
    posts = sorted((tmp_path / "storage" / "_posts").glob("*.md"))
    assert len(posts) == 3
    assert sum('title: "one, corrected"' in p.read_text(encoding="utf-8") for p in posts) == 1


# -- G5 no loss when a source vanishes ---------------------------------------------------------


def test_G5_posts_stay_when_a_source_empties_or_leaves_the_config(tmp_path: Path) -> None:
    routes = {"/feed.xml": Reply(200, rss(entry("a", "one"), entry("b", "two")), RSS)}
    with serve(routes) as url:  # type: ignore[arg-type]
        config = write_site(tmp_path, feed_source("f", url + "/feed.xml"))
        assert run_cli(config, "fetch").code == 0
        posts = {p.name: p.read_bytes() for p in (tmp_path / "storage" / "_posts").iterdir()}
        routes["/feed.xml"] = Reply(200, rss(), RSS)
        run_cli(config, "fetch")
        write_site(tmp_path, feed_source("other", url + "/missing.xml"))
        run_cli(config, "fetch")
        run_cli(config, "build")
    assert {p.name: p.read_bytes() for p in (tmp_path / "storage" / "_posts").iterdir()} == posts


# -- G6 front-matter injection -----------------------------------------------------------------

HOSTILE_TITLES = [
    "a\n---\nevil: 1",
    "--- leading",
    "\"q\" 'q' # : - [x] {y}",
    "!!python/object/apply:os.system ['id']",
    "yes",
    "2024-01-01",
    "1e10",
    "0o17",
    "null",
    "~",
    "a\x85b",
    "a\u2028b\u2029c",
    "a\x00b",
    "&a *b |c >d %e @f `g",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_G6_hostile_titles_round_trip_as_the_same_plain_string(title: str) -> None:
    post = make_post(
        RawItem(
            source_name="s", key="k1", guid="urn:test:k1", title=title, date_text=None,
            timezone="Asia/Shanghai", link="http://news.example/a", html="<p>b</p>",
        ),
        site=SITE, category="c", tag=title, first_seen=NOW, now=NOW,
    )  # fmt: skip
    assert post.title == normalise.plain_text(title)
    data = render_post(post)
    front = data.decode().split("---\n")[1]
    loaded = yaml.safe_load(front)
    assert (loaded["title"], loaded["tags"]) == (post.title, post.tag)
    assert isinstance(loaded["title"], str) and isinstance(loaded["tags"], str)
    assert set(loaded) == {"layout", "title", "date", "categories", "tags", "source_url",
                           "source_name", "guid", "fetched_at"}  # fmt: skip
    assert "---" not in data.decode().split("\n---\n", 1)[1].splitlines()  # no second block
    reread = parse_post(data, post.filename, normalise.render_body)
    assert (reread.title, reread.tag, reread.body) == (post.title, post.tag, post.body)


# -- G7 path traversal -------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc", "/abs", "a/b\\c", "a\x00b", "CON", "aux.txt", "trailing. ", "x" * 300, "..", "",
    "🚀火箭", "ＣＣＴＶ", "  ", "prn", "com1",
]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_G7_category_names_become_safe_slugs(name: str, tmp_path: Path) -> None:
    slug = slugify(name)
    assert slug and len(slug) <= MAX_SLUG_LENGTH
    assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert slug.split(".")[0] not in {"con", "prn", "aux", "nul", "com1", "lpt1"}
    store = Store(tmp_path)
    assert store.write_file(f"feed/{slug}.xml", b"<feed/>")
    assert (tmp_path / "feed" / f"{slug}.xml").resolve().is_relative_to(tmp_path.resolve())


@pytest.mark.parametrize(
    "filename", ["../../etc/x.md", "/abs.md", "a/b.md", "a\\b.md", "a\x00.md", ".hidden.md", "..md"]
)
def test_G7_post_file_names_that_leave_the_posts_dir_are_refused(
    filename: str, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="refusing"):
        Store(tmp_path).write_post(a_post(), filename)
    assert not (tmp_path / "etc").exists()


def test_G7_feed_entry_ids_never_reach_a_file_name(tmp_path: Path) -> None:
    items = [entry("../../etc/passwd", "one"), entry("/abs", "two"), entry("a/b\\c", "three")]
    with serve({"/feed.xml": Reply(200, rss(*items), RSS)}) as url:
        run = run_cli(write_site(tmp_path, feed_source("f", url + "/feed.xml")), "fetch")
    assert run.code == 0, run.stderr
    names = sorted(p.name for p in (tmp_path / "storage" / "_posts").iterdir())
    assert len(names) == 3
    assert all(n.startswith("2022-05-30-f-") and n.endswith(".md") and "/" not in n for n in names)


def test_G7_colliding_slugs_are_numbered_never_shared() -> None:
    known: dict[str, str] = {}
    for name in ("新华社", "信华社", "新化社"):
        slug, _ = assign_slug(name, known=known, overrides={})
        known[name] = slug
    assert known == {"新华社": "xinhuashe", "信华社": "xinhuashe-2", "新化社": "xinhuashe-3"}


# -- G8 unicode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["Cafe\u0301 Times", "ＣＡＦÉ Times", "Caf\u200bé Times", "CAFÉ TIMES", "Café Times "],
)
def test_G8_spellings_of_one_name_are_one_category(spelling: str) -> None:
    known = {"Café Times": "cafe-times"}
    assert assign_slug(spelling, known=known, overrides={}) == ("cafe-times", False)
    assert slugify(spelling) == "cafe-times"
