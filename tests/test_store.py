"""Store: atomic writes, write-only-on-change, path checks, and SQLite state across instances."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import StoreError
from aggregator.models import Post, Validators
from aggregator.store import SCHEMA_VERSION, TEMP_PREFIX, SeenItem, Store

FIXTURES = Path(__file__).parent / "data" / "finews_posts"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def identity(body: str) -> str:
    return body


def make_post(post_id: str = "NW1", title: str = "标题", body: str = "<p>正文</p>") -> Post:
    when = datetime(2021, 12, 16, 9, 30, tzinfo=SHANGHAI)
    return Post(
        post_id=post_id,
        title=title,
        date=when,
        category="renminyoudianbao",
        tag="人民邮电报新闻",
        body=body,
        content_html=body,
        source_url="http://example.com/a",
        guid=f"urn:test:{post_id}",
        source_name="em-media",
        first_seen=when,
    )


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX))


# ------------------------------------------------------------------ layout


def test_nothing_is_created_until_used(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    with Store(root) as store:
        assert store.read_posts(identity) == ([], [])
        assert not root.exists()
        store.write_post(make_post(), "2021-12-16-NW1.md")
    assert (root / "_posts" / "2021-12-16-NW1.md").is_file()
    # write_post also indexes the post (see postindex), so the state exists from then on
    assert (root / ".aggregator" / "state.sqlite").is_file()


def test_state_lives_in_the_dot_folder_with_wal_and_a_schema_version(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.remember_slug("人民邮电报", "renminyoudianbao")
    db = sqlite3.connect(tmp_path / ".aggregator" / "state.sqlite")
    try:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


def test_a_file_as_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is not a directory"):
        Store(tmp_path / "file")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".aggregator").mkdir()
    db = sqlite3.connect(tmp_path / ".aggregator" / "state.sqlite")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with Store(tmp_path) as store, pytest.raises(StoreError, match="schema version 99"):
        store.slug_map()


def test_a_corrupt_state_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / ".aggregator").mkdir()
    (tmp_path / ".aggregator" / "state.sqlite").write_bytes(b"this is not a database" * 100)
    with Store(tmp_path) as store, pytest.raises(StoreError) as caught:
        store.load_validators("s")
    assert "state.sqlite" in str(caught.value)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------ state round trips


def test_validators_round_trip_across_instances(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert store.load_validators("src") == {}
        store.save_validators(
            "src",
            {
                "http://a.example/feed": Validators(etag='W/"abc"', last_modified=None),
                "http://b.example/feed": Validators(None, "Wed, 21 Oct 2015 07:28:00 GMT"),
            },
        )
        store.save_validators("other", {"http://a.example/feed": Validators('"other"', None)})
    with Store(tmp_path) as store:
        assert store.load_validators("src") == {
            "http://a.example/feed": Validators('W/"abc"', None),
            "http://b.example/feed": Validators(None, "Wed, 21 Oct 2015 07:28:00 GMT"),
        }
        # the given set replaces the scope's: changed row updated, emptied and missing rows deleted
        store.save_validators(
            "src",
            {
                "http://a.example/feed": Validators('"def"', "Thu, 22 Oct 2015 07:28:00 GMT"),
                "http://b.example/feed": Validators(),
                "http://c.example/feed": Validators("1", None),
            },
        )
    with Store(tmp_path) as store:
        assert store.load_validators("src") == {
            "http://a.example/feed": Validators('"def"', "Thu, 22 Oct 2015 07:28:00 GMT"),
            "http://c.example/feed": Validators("1", None),
        }
        assert store.load_validators("other") == {
            "http://a.example/feed": Validators('"other"', None)
        }
        store.save_validators("src", {})
        assert store.load_validators("src") == {}


def test_unchanged_validators_are_not_written(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.save_validators("s", {"http://a.example/": Validators("x", None)})
        db = store._connect()
        before = db.total_changes
        store.save_validators("s", {"http://a.example/": Validators("x", None)})
        assert db.total_changes == before


def test_slugs_never_change_once_used(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.remember_slug("人民邮电报", "renminyoudianbao")
        store.remember_slug("新华社", "xinhuashe")
        store.remember_slug("人民邮电报", "something-else")
    with Store(tmp_path) as store:
        assert store.slug_map() == {"人民邮电报": "renminyoudianbao", "新华社": "xinhuashe"}


def test_seen_items_round_trip_and_keep_their_first_seen(tmp_path: Path) -> None:
    first = datetime(2021, 12, 16, 9, 31, 5, tzinfo=SHANGHAI)
    later = datetime(2021, 12, 20, 8, 0, tzinfo=SHANGHAI)
    with Store(tmp_path) as store:
        assert store.seen("em-media", "NW1") is None
        store.remember("em-media", "NW1", "2021-12-16-NW1.md", first)
    with Store(tmp_path) as store:
        item = store.seen("em-media", "NW1")
        assert item == SeenItem("2021-12-16-NW1.md", first)
        assert item is not None and item.first_seen.utcoffset() == timedelta(hours=8)
        store.remember("em-media", "NW1", "2021-12-17-NW1.md", later)
        assert store.seen("em-media", "NW1") == SeenItem("2021-12-17-NW1.md", first)
        assert store.seen("other-source", "NW1") is None


def test_first_seen_is_kept_in_whole_seconds_like_the_post_file(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.remember("s", "k", "2021-12-16-k.md", datetime(2021, 12, 16, 9, 31, 5, 999999, UTC))
        assert store.seen("s", "k") == SeenItem(
            "2021-12-16-k.md", datetime(2021, 12, 16, 9, 31, 5, tzinfo=UTC)
        )


def test_remember_refuses_naive_times_and_bad_names(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        with pytest.raises(ValueError, match="aware"):
            store.remember("s", "k", "2021-12-16-k.md", datetime(2021, 12, 16))
        with pytest.raises(StoreError, match="not a plain"):
            store.remember("s", "k", "../x.md", datetime(2021, 12, 16, tzinfo=UTC))


def test_two_instances_share_the_state(tmp_path: Path) -> None:
    with Store(tmp_path) as one, Store(tmp_path) as two:
        one.remember_slug("a", "a")
        two.remember_slug("b", "b")
        assert one.slug_map() == two.slug_map() == {"a": "a", "b": "b"}


# ------------------------------------------------------------------ post files


def test_posts_round_trip(tmp_path: Path) -> None:
    post = make_post(title='He said "hi": yes')
    with Store(tmp_path) as store:
        assert store.read_post(post.filename, identity) is None
        store.write_post(post, post.filename)
        assert store.read_post(post.filename, identity) == post


def test_read_posts_sorts_and_reports_unreadable_files(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "_posts")
    (tmp_path / "_posts" / f"{TEMP_PREFIX}abc").write_text("half a post")
    (tmp_path / "_posts" / "notes.txt").write_text("not a post")
    with Store(tmp_path) as store:
        posts, problems = store.read_posts(identity)
    assert len(posts) == 24
    assert [p.filename for p in posts] == sorted(p.filename for p in posts)
    assert posts[0].post_id == "init"
    assert problems == [
        "-202205262391921712.md: file name is not YYYY-MM-DD-<id>.md",
        "INDEX.md: file name is not YYYY-MM-DD-<id>.md",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "../x.md",
        "../../etc/x.md",
        "/abs.md",
        "a/b.md",
        "a\\b.md",
        "x\x00.md",
        ".hidden.md",
        "x.txt",
        "",
    ],
)
def test_post_names_that_are_not_plain_md_names_are_refused(tmp_path: Path, name: str) -> None:
    root = tmp_path / "storage"
    with Store(root) as store:
        with pytest.raises(StoreError, match="not a plain"):
            store.write_post(make_post(), name)
        with pytest.raises(StoreError, match="not a plain"):
            store.read_post(name, identity)
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_a_symlinked_posts_dir_pointing_outside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "_posts").symlink_to(outside)
    with Store(root) as store, pytest.raises(StoreError, match="outside the storage dir"):
        store.write_post(make_post(), "2021-12-16-NW1.md")
    assert list(outside.iterdir()) == []


def test_a_post_file_linking_outside_is_refused_and_one_linking_inside_is_read(
    tmp_path: Path,
) -> None:
    root = tmp_path / "storage"
    outside = tmp_path / "outside.md"
    with Store(root) as store:
        store.write_post(make_post("NW1"), "2021-12-16-NW1.md")
        shutil.copyfile(root / "_posts" / "2021-12-16-NW1.md", outside)
        (root / "_posts" / "2021-12-16-NW2.md").symlink_to(outside)
        (root / "_posts" / "2021-12-16-NW3.md").symlink_to(root / "_posts" / "2021-12-16-NW1.md")
        with pytest.raises(StoreError, match="outside the storage dir"):
            store.read_post("2021-12-16-NW2.md", identity)
        linked = store.read_post("2021-12-16-NW3.md", identity)
    assert linked is not None and (linked.post_id, linked.guid) == ("NW3", "urn:test:NW1")


def test_a_post_written_over_a_link_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"theirs")
    (root / "_posts").mkdir(parents=True)
    (root / "_posts" / "2021-12-16-NW1.md").symlink_to(outside)
    with Store(root) as store:
        store.write_post(make_post("NW1"), "2021-12-16-NW1.md")
    assert outside.read_bytes() == b"theirs"
    assert not (root / "_posts" / "2021-12-16-NW1.md").is_symlink()


# ------------------------------------------------------------------ rows read ahead in a batch


def test_rows_read_ahead_answer_as_the_database_does(tmp_path: Path) -> None:
    first = datetime(2021, 12, 16, 9, 30, tzinfo=UTC)
    later = first + timedelta(days=1)
    with Store(tmp_path) as store:
        store.remember("feed", "k1", "2021-12-16-a.md", first)
        store.remember_article(["url://x/a", "eastmoney:1"], "news", "2021-12-16-a.md")
        store.remember_article(["url://x/a"], "other", "2021-12-15-z.md")

        def lookups() -> list[object]:
            return [
                store.seen("feed", "k1"),
                store.seen("feed", "k2"),
                store.find_article(["url://x/a"], None),
                store.find_article(["url://x/a"], "news"),
                store.find_article(["eastmoney:1", "url://x/b"], "other"),
                store.find_article(["url://x/b"], None),
            ]

        expected = lookups()
        with store.batch():
            store.prefetch("feed", [("k1", ["url://x/a", "eastmoney:1"]), ("k2", ["url://x/b"])])
            assert lookups() == expected
            # rows written in the batch are answered after its flush as the database does
            store.remember("feed", "k2", "2021-12-17-b.md", later)
            store.remember("feed", "k1", "2021-12-18-moved.md", later)
            store.remember_article(["url://x/b"], "news", "2021-12-17-b.md")
            store.remember_article(["url://x/a"], "news", "2021-12-17-b.md")
            store.flush()
            after = [
                store.seen("feed", "k1"),
                store.seen("feed", "k2"),
                store.find_article(["url://x/b"], None),
                store.find_article(["url://x/a"], "news"),
            ]
        assert after == [
            SeenItem("2021-12-18-moved.md", first),
            SeenItem("2021-12-17-b.md", later),
            "2021-12-17-b.md",
            "2021-12-16-a.md",
        ]
        # and the database agrees once the batch is over (nothing is read ahead then)
        assert after == [
            store.seen("feed", "k1"),
            store.seen("feed", "k2"),
            store.find_article(["url://x/b"], None),
            store.find_article(["url://x/a"], "news"),
        ]


# ------------------------------------------------------------------ write_file and atomicity


def test_write_file_writes_only_when_the_bytes_differ(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert store.write_file("feed/emnews.xml", b"<feed/>") is True
        path = tmp_path / "feed" / "emnews.xml"
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        assert store.write_file("feed/emnews.xml", b"<feed/>") is False
        assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000
        assert store.write_file("feed/emnews.xml", b"<feed>2</feed>") is True
        assert path.read_bytes() == b"<feed>2</feed>"
        assert store.write_file("feed.xml", b"site") is True
        assert (tmp_path / "feed.xml").read_bytes() == b"site"


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with Store(tmp_path) as store:
            store.write_file("feed.xml", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "feed.xml").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "relpath",
    [
        "../x.xml",
        "feed/../../x.xml",
        "/etc/x.xml",
        ".aggregator/state.sqlite",
        "feed/.hidden.xml",
        "a\\b.xml",
        "x\x00.xml",
        "",
        ".",
    ],
)
def test_write_file_stays_inside_the_site(tmp_path: Path, relpath: str) -> None:
    root = tmp_path / "storage"
    with Store(root) as store, pytest.raises(StoreError, match="refusing"):
        store.write_file(relpath, b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_replace_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path) as store:
        store.write_file("feed.xml", b"old")
        store.write_post(make_post(body="old body"), "2021-12-16-NW1.md")

        def failing_replace(src: object, dst: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(StoreError) as caught:
            store.write_file("feed.xml", b"new")
        assert str(caught.value) == f"cannot write {tmp_path / 'feed.xml'}: No space left on device"
        with pytest.raises(StoreError, match="No space left"):
            store.write_post(make_post(body="new body"), "2021-12-16-NW1.md")

    assert (tmp_path / "feed.xml").read_bytes() == b"old"
    assert (tmp_path / "_posts" / "2021-12-16-NW1.md").read_bytes().endswith(b"---\nold body")
    assert temp_files(tmp_path) == []


def test_a_failed_fsync_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path) as store:
        store.write_file("feed.xml", b"old")

        def failing_fsync(fd: int) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "fsync", failing_fsync)
        with pytest.raises(StoreError, match="Input/output error"):
            store.write_file("feed.xml", b"new")
    assert (tmp_path / "feed.xml").read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_clean_temp_files_removes_only_crash_leftovers(tmp_path: Path) -> None:
    for directory in ("", "_posts", "feed", ".git"):
        (tmp_path / directory).mkdir(exist_ok=True)
        (tmp_path / directory / f"{TEMP_PREFIX}0123").write_bytes(b"partial")
        (tmp_path / directory / "keep.xml").write_bytes(b"keep")
    with Store(tmp_path) as store:
        assert store.clean_temp_files() == 3
        assert store.clean_temp_files() == 0
    assert temp_files(tmp_path) == [tmp_path / ".git" / f"{TEMP_PREFIX}0123"]
    assert len(list(tmp_path.rglob("keep.xml"))) == 4


def test_temp_file_names_are_never_published_by_jekyll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def spying_replace(src: str, dst: str) -> None:
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    with Store(tmp_path) as store:
        store.write_file("feed.xml", b"x")
        store.write_post(make_post(), "2021-12-16-NW1.md")
    assert len(seen) == 2
    for name in seen:
        assert name.startswith(TEMP_PREFIX)
        assert not name.endswith((".md", ".xml", ".html"))


def test_the_post_listing_answers_for_absent_files_and_follows_our_writes(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write_post(make_post("NW1"), "2021-12-16-NW1.md")
        with store.post_listing(), store.batch():
            store.prefetch("feed", [])  # the listing is taken at the first read ahead
            # a file that appears behind the run's back is not looked for (no other writer)
            shutil.copyfile(
                tmp_path / "_posts" / "2021-12-16-NW1.md", tmp_path / "_posts" / "2021-12-16-X.md"
            )
            assert store.read_post("2021-12-16-X.md", identity) is None
            assert store.read_post("2021-12-16-NW1.md", identity) is not None
            store.write_post(make_post("NW2"), "2021-12-16-NW2.md")
            written = store.read_post("2021-12-16-NW2.md", identity)  # flushes first
            assert written is not None and written.post_id == "NW2"
            assert store.archive_post("2021-12-16-NW1.md") is True
            assert store.read_post("2021-12-16-NW1.md", identity) is None
        # after the block every file is looked for again
        found = store.read_post("2021-12-16-X.md", identity)
    assert found is not None and found.guid == "urn:test:NW1"
