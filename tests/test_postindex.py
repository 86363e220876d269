"""The post index: rows equal to a full parse, and feeds built from the newest files only."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator import postindex
from aggregator.models import Post
from aggregator.postfile import DEFAULT_ZONE, parse_post, render_post
from aggregator.store import Store

CST = timezone(timedelta(hours=8))


def post(number: int, category: str = "a", **changes: object) -> Post:
    fields: dict[str, object] = {
        "post_id": f"NW{number:018d}",
        "title": f"标题 {number}",
        "date": datetime(2024, 1, 1, 8, 0, tzinfo=CST) + timedelta(minutes=number),
        "category": category,
        "tag": f"{category}新闻",
        "body": f"<p>{number}</p>",
        "content_html": f"<p>{number}</p>",
        "source_url": f"http://example.org/{number}",
        "guid": f"urn:test:{number}",
        "source_name": "test",
        "first_seen": datetime(2024, 1, 1, 8, 0, tzinfo=CST),
    }
    fields.update(changes)
    return Post(**fields)  # type: ignore[arg-type]


def identity(body: str) -> str:
    return body


def write_raw(root: Path, name: str, text: str) -> Path:
    path = root / "_posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


FRONT_MATTERS = [
    # (front matter lines, expected (category, tag) or None for "not a post")
    (
        'title: "x"\ndate: 2021-12-16 09:30:00 +0800\ncategories: renminyoudianbao\ntags: 人民邮电报新闻\n',
        ("renminyoudianbao", "人民邮电报新闻"),
    ),
    ('date: 2021-12-16 09:30:00 +0800\ncategory: "a b"\ntag: x\n', ("a b", "x")),
    ("date: 2021-12-16 09:30:00 +0800\ncategories: 2021\ntags: yes\n", ("2021", "True")),
    ("date: 2021-12-16 09:30:00 +0800\ncategories: [a, b]\ntags: x\n", ("a", "x")),
    ("date: 2021-12-16\ncategories: a\n", ("a", "")),
    (
        "date: 2021-12-16 09:30:00 +0800\nupdated: 2022-01-01 00:00:00 +0000\ncategories: a\n",
        ("a", ""),
    ),
    ("date: 2021-02-30 09:30:00 +0800\ncategories: a\n", None),
    ("title: [unclosed\ndate: 2021-12-16 09:30:00 +0800\n", None),
    ("categories: a\n", None),
    ('date: 2021-12-16 09:30:00 +0800\ncategories: "a\\u0041"\n', ("aA", "")),
    # several tags: the list render_post writes (fast path) and hand-written ones (full parse)
    (
        'date: 2021-12-16 09:30:00 +0800\ncategories: a\ntags: ["金融", "央行", "降准"]\n',
        ("a", "金融"),
    ),
    ('date: 2021-12-16 09:30:00 +0800\ncategories: ["b", "c"]\ntags: ["", "x"]\n', ("b", "x")),
    ("date: 2021-12-16 09:30:00 +0800\ncategories: a\ntags: [x, 'y', 2]\n", ("a", "x")),
    ('date: 2021-12-16 09:30:00 +0800\ncategories: a\ntags: ["x\\"y", "z"]\n', ("a", 'x"y')),
]


@pytest.mark.parametrize(("front", "expected"), FRONT_MATTERS)
def test_index_row_equals_the_full_parse(tmp_path: Path, front: str, expected: object) -> None:
    path = write_raw(tmp_path, "2021-12-16-NW1.md", f"---\nlayout: post\n{front}---\nbody")
    stat = path.stat()
    row = postindex._read_row(path, path.name, stat, DEFAULT_ZONE)
    if expected is None:
        assert row.problem is not None and row.problem.startswith("2021-12-16-NW1.md: ")
        assert row.category is None
        return
    full = parse_post(path.read_bytes(), path.name, identity)
    assert row == postindex.row_for_post(full, path.name, stat)
    assert (row.category, row.tag) == expected


def test_newest_posts_reads_only_the_newest_files(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for number in range(30):
            store.write_post(post(number), post(number).filename)
        store.write_post(post(100, "b"), post(100, "b").filename)
        # an old file broken behind the index's back: never read for the newest 5
        (tmp_path / "_posts" / post(3).filename).write_bytes(b"\xff not a post")
        newest, problems = store.newest_posts("a", 5, identity)
        assert [p.post_id for p in newest] == [post(n).post_id for n in (29, 28, 27, 26, 25)]
        assert problems == []
        site, _ = store.newest_posts(None, 2, identity)
        assert [p.post_id for p in site] == [post(100).post_id, post(29).post_id]


def test_a_removed_or_broken_newest_file_is_skipped_and_the_next_taken(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for number in range(5):
            store.write_post(post(number), post(number).filename)
        (tmp_path / "_posts" / post(4).filename).unlink()
        (tmp_path / "_posts" / post(3).filename).write_bytes(b"no front matter")
        newest, problems = store.newest_posts("a", 2, identity)
        assert [p.post_id for p in newest] == [post(2).post_id, post(1).post_id]
        assert problems == [
            f"{post(3).filename}: no front matter (--- ... ---) at the start of the file"
        ]
        assert store.index_problems() == problems


def test_sync_reads_new_and_changed_files_and_drops_removed_ones(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.write_post(post(1), post(1).filename)
        write_raw(tmp_path, post(2).filename, render_post(post(2, "c")).decode())
        write_raw(tmp_path, "2024-01-01-bad.md", "---\ndate: [\n---\n")
        store.sync_index(full=False)  # already synced by nobody: runs once
        assert store.index_categories() == ["a", "c"]
        os.unlink(tmp_path / "_posts" / post(1).filename)
        store.sync_index()
        assert store.index_categories() == ["c"]
        assert [
            p.startswith("2024-01-01-bad.md: front matter is not valid YAML")
            for p in store.index_problems()
        ] == [True]
        assert store.category_tag("c") == "c新闻"


def test_an_older_state_gets_the_index_and_a_first_sync(tmp_path: Path) -> None:
    write_raw(tmp_path, post(1).filename, render_post(post(1)).decode())
    state = tmp_path / ".aggregator" / "state.sqlite"
    state.parent.mkdir()
    db = sqlite3.connect(state)
    db.execute("CREATE TABLE slugs (name TEXT PRIMARY KEY, slug TEXT NOT NULL)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(tmp_path) as store:
        store.sync_index(full=False)
        newest, _ = store.newest_posts("a", 10, identity)
    assert [p.post_id for p in newest] == [post(1).post_id]


def test_sync_keeps_posts_moved_to_the_archive(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for number in range(3):
            store.write_post(post(number), post(number).filename)
        assert store.archive_post(post(0).filename)
        store.sync_index()
        newest, problems = store.newest_posts("a", 10, identity)
    assert [p.post_id for p in newest] == [post(n).post_id for n in (2, 1, 0)]
    assert problems == []


def test_the_fast_path_reads_every_tag_of_a_written_list(tmp_path: Path) -> None:
    written = post(1, extra_tags=("央行", "降准"))
    path = write_raw(tmp_path, written.filename, render_post(written).decode())
    row = postindex._fast_row(path.read_bytes(), path.name, path.stat())
    assert row is not None
    assert (row.category, row.tag, row.extra_tags) == ("a", "a新闻", ("央行", "降准"))


def tag_rows(store: Store) -> list[tuple[str, str]]:
    with store.state() as db:
        return list(db.execute("SELECT tag, filename FROM post_tags ORDER BY tag, filename"))


def test_post_tags_follow_every_write_sync_and_problem(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        one, two = post(1, extra_tags=("x", "y", "a新闻")), post(2, extra_tags=("y",))
        store.write_post(one, one.filename)
        store.write_post(two, two.filename)
        assert tag_rows(store) == [
            ("x", one.filename),
            ("y", one.filename),
            ("y", two.filename),
        ]
        store.write_post(post(1, extra_tags=("z",)), one.filename)  # rewritten with other tags
        assert tag_rows(store) == [("y", two.filename), ("z", one.filename)]
        (tmp_path / "_posts" / two.filename).write_bytes(b"no front matter")
        store.sync_index()
        assert tag_rows(store) == [("z", one.filename)]
        (tmp_path / "_posts" / one.filename).unlink()
        store.sync_index()
        assert tag_rows(store) == []


def test_a_schema_6_state_gets_post_tags_and_rereads_every_file(tmp_path: Path) -> None:
    hand_made = (
        '---\nlayout: post\ntitle: "x"\ndate: 2021-12-16 09:30:00 +0800\n'
        "categories: a\ntags: [甲, 乙]\n---\nbody"
    )
    path = write_raw(tmp_path, "2021-12-16-NW1.md", hand_made)
    with Store(tmp_path) as store:
        store.sync_index()
    state = tmp_path / ".aggregator" / "state.sqlite"
    db = sqlite3.connect(state)  # back to what schema 6 knew: one tag per row
    db.execute("DROP TABLE post_tags")
    db.execute("PRAGMA user_version = 6")
    db.commit()
    db.close()
    with Store(tmp_path) as store:
        assert tag_rows(store) == []
        with store.state() as db:
            assert db.execute("PRAGMA user_version").fetchone() == (7,)
            assert db.execute("SELECT mtime_ns FROM post_index").fetchall() == [(-1,)]
        store.sync_index(full=False)
        assert tag_rows(store) == [("乙", path.name)]
