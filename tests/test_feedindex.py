"""Publishing from the index: feedindex queries, archive marks, and incremental builds whose output
equals a build from scratch."""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from site_helpers import make_site, published, run

from aggregator import feedindex, postindex
from aggregator.feedindex import Scope
from aggregator.models import Post
from aggregator.postloader import PostLoader
from aggregator.store import Store

CST = timezone(timedelta(hours=8))
START = datetime(2024, 1, 1, 8, 0, tzinfo=CST)


def post(
    number: int,
    category: str = "a",
    tag: str = "t1",
    seen: int | None = None,
    extra: tuple[str, ...] = (),
) -> Post:
    return Post(
        post_id=f"NW{number:04d}",
        title=f"标题 {number}",
        # dates run backwards, so the newest order is not the stored order
        date=START - timedelta(minutes=number),
        category=category,
        tag=tag,
        body=f"<p>{number}</p>",
        content_html=f"<p>{number}</p>",
        source_url=f"http://example.org/{number}",
        guid=f"urn:test:{number}",
        source_name="test",
        first_seen=START + timedelta(minutes=number if seen is None else seen),
        extra_tags=extra,
    )


def stored(store: Store, *posts: Post) -> None:
    for p in posts:
        store.write_post(p, p.filename)


def test_scopes_order_and_positions(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        stored(store, *(post(n, "a" if n % 2 else "b", "t1" if n < 4 else "t2") for n in range(6)))
        with store.state() as db:
            assert feedindex.count(db, Scope()) == 6
            assert feedindex.count(db, Scope(category="a")) == 3
            assert feedindex.count(db, Scope(tag="t2")) == 2
            # newest by date (number 0 is the newest), stored by first_seen (0 is the first)
            assert feedindex.newest(db, Scope(category="b"), 2) == [
                post(0).filename,
                post(2).filename,
            ]
            assert feedindex.stored_slice(db, Scope(), 2, 3) == [
                post(n).filename for n in (2, 3, 4)
            ]
            assert feedindex.stored_slice(db, Scope(tag="t2"), 1, -1) == [post(5).filename]
            for offset, limit in ((4, 2), (3, 2), (5, 4), (4, -1), (1, 2)):  # read from the end
                assert feedindex.stored_slice(db, Scope(), offset, limit, total=6) == (
                    feedindex.stored_slice(db, Scope(), offset, limit)
                )
            p4 = post(4)
            assert feedindex.position(db, Scope(), p4.first_seen.timestamp(), p4.filename) == 4
            assert (
                feedindex.position(db, Scope(category="b"), p4.first_seen.timestamp(), p4.filename)
                == 2
            )
            assert feedindex.categories(db) == ["a", "b"]
            assert feedindex.category_tags(db, "a") == ["t1", "t2"]
            assert feedindex.names_by_file(db, "a") == sorted(post(n).filename for n in (1, 3, 5))
            assert feedindex.category_counts(db) == {"a": 3, "b": 3}
            assert feedindex.tag_firsts(db) == {
                "t1": (post(0).first_seen.timestamp(), post(0).filename),
                "t2": (post(4).first_seen.timestamp(), post(4).filename),
            }
            seq = postindex.current_seq(db)
        stored(store, post(9, "a"))
        with store.state() as db:
            assert feedindex.changed_since(db, Scope(category="a"), seq) == [
                (post(9).first_seen.timestamp(), post(9).filename)
            ]
            assert feedindex.changed_since(db, Scope(category="b"), seq) == []


def test_only_moves_between_archive_pages_count_as_reshuffles(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        stored(store, post(1), post(2))

        def reshuffled() -> int:
            with store.state() as db:
                return postindex.reshuffled_seq(db)

        before = reshuffled()
        stored(store, post(3))  # appended after the last stored post
        stored(store, post(3, tag="t1"))  # rewritten in place (same category, tag, first_seen)
        assert reshuffled() == before
        stored(store, post(4, seen=0))  # new, stored before the others: found by its position
        assert reshuffled() == before
        stored(store, post(3, category="b"))  # moved to another category
        assert reshuffled() > before
        before = reshuffled()
        (tmp_path / "_posts" / post(1).filename).unlink()
        store.sync_index()  # removed
        assert reshuffled() > before


def test_the_render_cache_keeps_the_newest_entries(tmp_path: Path) -> None:
    with Store(tmp_path) as store, store.state(write=True) as db:
        feedindex.keep_rendered(db, {"k1": "<p>1</p>"}, cap=10)
        feedindex.keep_rendered(db, {"k2": "<p>2</p>"}, cap=10)
        feedindex.keep_rendered(db, {"k3": "<p>3</p>"}, cap=2)
        assert feedindex.rendered(db, ["k1", "k2", "k3"]) == {"k2": "<p>2</p>", "k3": "<p>3</p>"}


def add_post(storage: Path, number: int, category: str = "emnews") -> None:
    (storage / "_posts" / f"2022-06-01-20220601000000{number:04d}.md").write_text(
        f'---\nlayout: post\ntitle: "新的 {number}"\ndate: 2022-06-01 08:{number:02d}:00 +0800\n'
        f"categories: {category}\ntags: 东财滚动新闻\n"
        f"fetched_at: 2022-06-01 08:{number:02d}:00 +0800\n---\n正文 {number}\n",
        encoding="utf-8",
    )


def test_incremental_builds_equal_a_build_from_scratch(tmp_path: Path) -> None:
    site = make_site(tmp_path / "a", entries=4, extra='formats = ["atom", "json"]\n')
    storage = site / "storage"
    assert run(site, "build").exit_code == 0
    for number in range(1, 6):  # past a page boundary of the site feed and of emnews
        add_post(storage, number)
        assert run(site, "build").exit_code == 0
    # a post stored before the others (an older fetched_at) shifts every page after it
    add_post(storage, 6)
    late = storage / "_posts/2022-06-01-202206010000000006.md"
    late.write_text(
        late.read_text("utf-8").replace("fetched_at: 2022-06-01", "fetched_at: 2021-12-01"),
        "utf-8",
    )
    assert run(site, "build").exit_code == 0
    # an edited post in a full page rewrites that page
    edited = storage / "_posts/2021-12-16-NW202112162215638061.md"
    edited.write_text(edited.read_text("utf-8").replace("蓝图绘就", "蓝图绘就了"), "utf-8")
    assert run(site, "build").exit_code == 0
    again = run(site, "build")
    assert again.output == "feeds unchanged\n"

    fresh = make_site(tmp_path / "b", entries=4, extra='formats = ["atom", "json"]\n')
    shutil.rmtree(fresh / "storage/_posts")
    shutil.copytree(storage / "_posts", fresh / "storage/_posts")
    assert run(fresh, "build").exit_code == 0
    assert published(storage) == published(fresh / "storage")


def test_a_deleted_archive_page_comes_back_with_build(tmp_path: Path) -> None:
    site = make_site(tmp_path, entries=4)
    storage = site / "storage"
    assert run(site, "build").exit_code == 0
    page = storage / "feed/emnews/archive/2.xml"
    data = page.read_bytes()
    page.unlink()
    assert run(site, "build").output == "feeds written: feed/emnews/archive/2.xml\n"
    assert page.read_bytes() == data


def test_archived_posts_stay_in_every_feed_after_build(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    storage = site / "storage"
    assert run(site, "build").exit_code == 0
    before = published(storage)
    archive = storage / "_archive"
    archive.mkdir()
    for path in sorted((storage / "_posts").glob("2021-*.md")):
        path.rename(archive / path.name)
    shutil.rmtree(storage / ".aggregator")  # a cold index: the full sync must read _archive/
    assert run(site, "build").output == "feeds unchanged\n"
    after = {k: v for k, v in published(storage).items() if not k.startswith("_archive/")}
    assert after == before


def test_further_tags_put_a_post_in_every_tag_scope(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        stored(
            store, post(0, "a", "t1", extra=("t2", "t3")), post(1, "b", "t2"), post(2, "b", "t3")
        )
        with store.state() as db:
            assert [feedindex.count(db, Scope(tag=t)) for t in ("t1", "t2", "t3")] == [1, 2, 2]
            assert feedindex.newest(db, Scope(tag="t2"), 5) == [post(0).filename, post(1).filename]
            assert feedindex.stored_slice(db, Scope(tag="t3"), 1, 1) == [post(2).filename]
            p2 = post(2)
            assert (
                feedindex.position(db, Scope(tag="t3"), p2.first_seen.timestamp(), p2.filename) == 1
            )
            assert feedindex.category_tags(db, "a") == ["t1", "t2", "t3"]
            assert feedindex.category_tags(db, "b") == ["t2", "t3"]
            assert feedindex.tag_firsts(db) == {
                t: (post(0).first_seen.timestamp(), post(0).filename) for t in ("t1", "t2", "t3")
            }
            assert list(feedindex.stored_rows(db)) == [
                (post(0).filename, "a", ("t1", "t2", "t3")),
                (post(1).filename, "b", ("t2",)),
                (post(2).filename, "b", ("t3",)),
            ]
            seq = postindex.current_seq(db)
        stored(store, post(3, "b", "t9", extra=("t2",)))
        with store.state() as db:
            assert feedindex.changed_since(db, Scope(tag="t2"), seq) == [
                (post(3).first_seen.timestamp(), post(3).filename)
            ]
            assert feedindex.changed_since(db, Scope(tag="t3"), seq) == []


def test_a_post_changing_its_further_tags_is_a_reshuffle(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        stored(store, post(1, extra=("t2",)))

        def reshuffled() -> int:
            with store.state() as db:
                return postindex.reshuffled_seq(db)

        before = reshuffled()
        stored(store, post(1, extra=("t2",)))  # the same tags
        assert reshuffled() == before
        stored(store, post(1, extra=("t3",)))
        assert reshuffled() > before


def add_tagged_post(storage: Path, number: int) -> None:
    """A post in emnews with two or three tags, some shared with others."""
    tags = ", ".join(
        f'"{t}"' for t in ("东财滚动新闻", f"组{number % 2}", "快讯")[: 2 + number % 2]
    )
    (storage / "_posts" / f"2022-06-01-20220601000000{number:04d}.md").write_text(
        f'---\nlayout: post\ntitle: "新的 {number}"\ndate: 2022-06-01 08:{number:02d}:00 +0800\n'
        f"categories: emnews\ntags: [{tags}]\n"
        f"fetched_at: 2022-06-01 08:{number:02d}:00 +0800\n---\n正文 {number}\n",
        encoding="utf-8",
    )


def test_incremental_builds_with_several_tags_equal_a_build_from_scratch(tmp_path: Path) -> None:
    site = make_site(tmp_path / "a", entries=2)
    storage = site / "storage"
    assert run(site, "build").exit_code == 0
    for number in range(1, 8):  # small pages: many archive pages, written in one pass
        add_tagged_post(storage, number)
        assert run(site, "build").exit_code == 0
    assert run(site, "build").output == "feeds unchanged\n"
    fresh = make_site(tmp_path / "b", entries=2)
    shutil.rmtree(fresh / "storage/_posts")
    shutil.copytree(storage / "_posts", fresh / "storage/_posts")
    assert run(fresh, "build").exit_code == 0
    assert published(storage) == published(fresh / "storage")
    # 快讯 is only a further tag: posts 1, 3, 5, 7, newest first, two per document
    ids = re.findall(
        r"<id>urn:aggregator:post:(\d+)</id>",
        (storage / "feed/by_tag/kuaixun.xml").read_text("utf-8"),
    )
    assert ids == ["202206010000000007", "202206010000000005"]
    pages = sorted((storage / "feed/by_tag/kuaixun/archive").glob("*.xml"))
    archived = [
        re.findall(r"<id>urn:aggregator:post:(\d+)</id>", p.read_text("utf-8")) for p in pages
    ]
    assert archived == [
        ["202206010000000003", "202206010000000001"],
        ["202206010000000007", "202206010000000005"],
    ]


def test_a_loader_counts_a_scope_once_until_a_row_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[Scope] = []
    real_count = feedindex.count

    def count(db: sqlite3.Connection, scope: Scope) -> int:
        counted.append(scope)
        return real_count(db, scope)

    monkeypatch.setattr(feedindex, "count", count)
    with Store(tmp_path) as store:
        stored(store, *(post(n, "a" if n % 2 else "b") for n in range(6)))
        loader = PostLoader(store, lambda body: body, "https://example.org")
        assert [
            loader.count(Scope()),
            loader.count(Scope()),
            loader.count(Scope(category="a")),
        ] == [
            6,
            6,
            3,
        ]
        assert counted == [Scope(), Scope(category="a")]
        (tmp_path / "_posts" / post(1).filename).unlink()
        assert loader.load_one(post(1).filename) is None  # its row is dropped
        assert [loader.count(Scope()), loader.count(Scope(category="a"))] == [5, 2]
        assert counted == [Scope(), Scope(category="a"), Scope(), Scope(category="a")]


def test_a_tag_that_is_no_further_tag_is_read_from_the_index_alone(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        stored(store, post(0, tag="t1", extra=("t2",)), post(1, tag="t2"), post(2, tag="t3"))
        with store.state() as db:
            assert feedindex._where(db, Scope(tag="t3")) == ("tag = ?", ("t3",))
            assert feedindex._where(db, Scope(tag="t2"))[0].count("post_tags") == 1
            # the same rows either way
            for tag in ("t1", "t2", "t3"):
                scope = Scope(tag=tag)
                terms, args = scope.where()
                rows = db.execute(
                    f"SELECT filename FROM post_index WHERE {terms} ORDER BY filename", args
                )
                assert feedindex.count(db, scope) == len(list(rows))
            assert feedindex.newest(db, Scope(tag="t2"), 5) == [post(0).filename, post(1).filename]
            assert feedindex.newest(db, Scope(tag="t3"), 5) == [post(2).filename]
