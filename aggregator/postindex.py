"""The post index: one SQLite row per post file, so feeds are built from the newest N posts of a
category without reading every file.

    post_index(filename, post_id, category, tag, sort_key, mtime_ns, size, problem,
               first_seen, seq)
    post_tags(tag, filename)      a readable post's tags after its primary `tag` (feedindex.Scope)

`sort_key` is the UTC timestamp of `updated` (else `date`): with `post_id` it orders rows exactly as
feeds.sort_newest_first orders posts. `first_seen` (with `filename`) is the stored order RFC 5005
archive pages are cut in (see archive). `seq` numbers every row change; a change that can move
rows between archive pages without being a changed row of that page's feed (a row removed, or its
category, tags, first_seen or readability changed) records its number as the `reshuffled` state, so feedindex knows when full
archive pages must be checked again. A file that cannot be read as a post keeps a row with its
one-line `problem` (so `build` lists it every time) and no category.

Who keeps it current:
  * Store.write_post upserts the row of every post it writes (from the Post, no re-read);
  * `sync` compares the directory with the rows (name, mtime, size) and reads only the files that
    are new or changed: the first run after an upgrade, `aggregator build`, hand-edited posts.
    Its front-matter reader has a fast path for the lines our writer and the seed site produce and
    falls back to the full YAML parse (postfile.parse_post) for anything else.

Everything here takes an open connection; Store owns the connection and its transactions.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from .errors import StoreError
from .frontmatter_fast import PLAIN, not_a_yaml_string
from .models import Post
from .postfile import parse_filename, parse_post
from .sqlbulk import rows_in

__all__ = [
    "INDEX_SCHEMA",
    "IndexRow",
    "add_missing_columns",
    "current_seq",
    "newest",
    "reshuffled_seq",
    "row_for_post",
    "sync",
    "upsert",
]

INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS post_index (
    filename TEXT PRIMARY KEY,
    post_id TEXT NOT NULL,
    category TEXT,
    tag TEXT,
    sort_key REAL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    problem TEXT,
    first_seen REAL,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS post_index_newest ON post_index (category, sort_key, post_id);
CREATE INDEX IF NOT EXISTS post_index_site ON post_index (sort_key, post_id);
CREATE TABLE IF NOT EXISTS post_index_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""
TAGS_SCHEMA = """
CREATE TABLE post_tags (
    tag TEXT NOT NULL,
    filename TEXT NOT NULL,
    PRIMARY KEY (tag, filename)
) WITHOUT ROWID;
CREATE INDEX post_tags_file ON post_tags (filename)
"""


@dataclass(frozen=True)
class IndexRow:
    filename: str
    post_id: str
    category: str | None
    tag: str | None
    sort_key: float | None
    mtime_ns: int
    size: int
    problem: str | None = None
    first_seen: float | None = None  # UTC timestamp of fetched_at (else date): the stored order
    extra_tags: tuple[str, ...] = ()  # tags after `tag` (rows of post_tags)


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Schema 5 added `first_seen` and `seq`, schema 7 the `post_tags` table: add them to an older
    state, and make the next sync read every file again (mtime -1 never matches) so the new
    columns and tables get filled (a hand-made post may list several tags)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(post_index)")}
    added = False
    for column, kind in (("first_seen", "REAL"), ("seq", "INTEGER")):
        if column not in have:
            db.execute(f"ALTER TABLE post_index ADD COLUMN {column} {kind}")
            added = True
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'post_tags'").fetchone() is None:
        for statement in TAGS_SCHEMA.split(";"):
            db.execute(statement)
        added = True
    if added:
        db.execute("UPDATE post_index SET mtime_ns = -1")
        db.execute("DELETE FROM post_index_state WHERE name = 'synced'")


def row_for_post(post: Post, filename: str, stat: os.stat_result) -> IndexRow:
    newest = post.updated if post.updated is not None else post.date
    return IndexRow(
        filename,
        post.post_id,
        post.category,
        post.tag,
        newest.timestamp(),
        stat.st_mtime_ns,
        stat.st_size,
        first_seen=post.first_seen.timestamp(),
        extra_tags=post.extra_tags,
    )


def current_seq(db: sqlite3.Connection) -> int:
    """The number of the last row change."""
    return _state_int(db, "seq")


def reshuffled_seq(db: sqlite3.Connection) -> int:
    """The number of the last change that may have moved rows between archive pages."""
    return _state_int(db, "reshuffled")


def _state_int(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT value FROM post_index_state WHERE name = ?", (name,)).fetchone()
    return 0 if row is None else int(row[0])


def _set_state(db: sqlite3.Connection, name: str, value: int) -> None:
    db.execute(
        "INSERT OR REPLACE INTO post_index_state (name, value) VALUES (?, ?)", (name, str(value))
    )


def _next_seq(db: sqlite3.Connection) -> int:
    seq = current_seq(db) + 1
    _set_state(db, "seq", seq)
    return seq


def mark_reshuffled(db: sqlite3.Connection) -> None:
    _set_state(db, "reshuffled", _next_seq(db))


def upsert(db: sqlite3.Connection, rows: Iterable[IndexRow]) -> None:
    """Insert or replace `rows`, numbering the change and noting whether it can move rows
    between archive pages (see the module docstring)."""
    # in file-name order: the B-tree pages of the key and of the indexes led by it are filled
    # in turn (3x faster than directory order for a cold index); `sorted` keeps a name's order
    rows = sorted(rows, key=lambda row: row.filename)
    if not rows:
        return
    seq = _next_seq(db)
    reshuffled = False
    # a new row is not a reshuffle: feedpages finds its page by its position (an empty index,
    # as on a cold `build`, has only new rows)
    empty = db.execute("SELECT 1 FROM post_index LIMIT 1").fetchone() is None
    olds = {} if empty else _placements(db, [r.filename for r in rows])
    for r in rows:
        old = olds.get(r.filename)
        if old is not None and not reshuffled:
            reshuffled = old != (r.category, r.tag, r.first_seen, r.problem)
            reshuffled = reshuffled or _extra_tags(db, r.filename) != _tag_set(r)
    db.executemany(
        "INSERT OR REPLACE INTO post_index (filename, post_id, category, tag, sort_key,"
        " mtime_ns, size, problem, first_seen, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                *(r.filename, r.post_id, r.category, r.tag, r.sort_key),
                *(r.mtime_ns, r.size, r.problem, r.first_seen, seq),
            )
            for r in rows
        ],
    )
    db.executemany("DELETE FROM post_tags WHERE filename = ?", [(r.filename,) for r in rows])
    db.executemany(
        "INSERT OR IGNORE INTO post_tags (tag, filename) VALUES (?, ?)",
        [(tag, r.filename) for r in rows for tag in sorted(_tag_set(r))],
    )
    if reshuffled:
        _set_state(db, "reshuffled", seq)


def _placements(db: sqlite3.Connection, filenames: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """(category, tag, first_seen, problem) of the rows of `filenames` that exist, by name (a
    batch of new posts has hundreds: one query for all)."""
    query = "SELECT filename, category, tag, first_seen, problem FROM post_index"
    rows = rows_in(db, query + " WHERE filename IN ({marks})", filenames)
    return {name: tuple(placement) for name, *placement in rows}


def _tag_set(row: IndexRow) -> set[str]:
    """The rows of post_tags a row should have: none for a problem, never its primary tag."""
    return set() if row.problem is not None else set(row.extra_tags) - {row.tag or ""}


def _extra_tags(db: sqlite3.Connection, filename: str) -> set[str]:
    rows = db.execute("SELECT tag FROM post_tags WHERE filename = ?", (filename,))
    return {tag for (tag,) in rows}


def is_synced(db: sqlite3.Connection) -> bool:
    """True once a full sync has run: from then on write_post keeps the index complete."""
    row = db.execute("SELECT value FROM post_index_state WHERE name = 'synced'").fetchone()
    return row is not None


def sync(db: sqlite3.Connection, posts_dirs: Sequence[Path], zone: tzinfo) -> None:
    """Make the index match the files in `posts_dirs` (`_posts/`, then `_archive/`, where
    retention moves old posts that feeds still list): read new and changed files, drop the rows
    of removed ones. A name in two dirs counts once, from the first."""
    known = {
        name: (mtime, size)
        for name, mtime, size in db.execute("SELECT filename, mtime_ns, size FROM post_index")
    }
    changed: list[IndexRow] = []
    present: set[str] = set()
    entries: list[os.DirEntry[str]] = []
    for posts_dir in posts_dirs:
        try:
            entries += os.scandir(posts_dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot list {posts_dir}: {exc.strerror or exc}") from exc
    for entry in entries:
        if entry.name in present or not entry.name.endswith(".md") or entry.name.startswith("."):
            continue
        try:
            if not entry.is_file():
                continue
            stat = entry.stat()
        except FileNotFoundError:
            continue
        present.add(entry.name)
        if known.get(entry.name) == (stat.st_mtime_ns, stat.st_size):
            continue
        changed.append(_read_row(Path(entry.path), entry.name, stat, zone))
    gone = [(name,) for name in known.keys() - present]
    db.executemany("DELETE FROM post_index WHERE filename = ?", gone)
    db.executemany("DELETE FROM post_tags WHERE filename = ?", gone)
    if gone:
        mark_reshuffled(db)
    upsert(db, changed)
    db.execute("INSERT OR REPLACE INTO post_index_state (name, value) VALUES ('synced', '1')")


def newest(db: sqlite3.Connection, category: str | None, limit: int, offset: int = 0) -> list[str]:
    """File names of the newest readable posts (of `category`, or of the whole site)."""
    if category is None:
        rows = db.execute(
            "SELECT filename FROM post_index WHERE problem IS NULL"
            " ORDER BY sort_key DESC, post_id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
    else:
        rows = db.execute(
            "SELECT filename FROM post_index WHERE problem IS NULL AND category = ?"
            " ORDER BY sort_key DESC, post_id DESC LIMIT ? OFFSET ?",
            (category, limit, offset),
        )
    return [name for (name,) in rows]


def categories(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT category FROM post_index WHERE problem IS NULL ORDER BY category"
    )
    return [name for (name,) in rows]


def first_tag(db: sqlite3.Connection, category: str) -> str | None:
    """The tag of the category's first post file by name (what a full read would see first)."""
    row = db.execute(
        "SELECT tag FROM post_index WHERE problem IS NULL AND category = ?"
        " ORDER BY filename LIMIT 1",
        (category,),
    ).fetchone()
    return None if row is None else str(row[0])


def problems(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT problem FROM post_index WHERE problem IS NOT NULL ORDER BY filename")
    return [problem for (problem,) in rows]


def forget(db: sqlite3.Connection, filename: str, problem: str | None) -> None:
    """A file chosen from the index turned out missing (drop it) or unreadable (mark it)."""
    mark_reshuffled(db)
    db.execute("DELETE FROM post_tags WHERE filename = ?", (filename,))
    if problem is None:
        db.execute("DELETE FROM post_index WHERE filename = ?", (filename,))
    else:
        db.execute(
            "UPDATE post_index SET problem = ?, category = NULL, tag = NULL WHERE filename = ?",
            (problem, filename),
        )


# ---------------------------------------------------------------- reading one file's front matter

# The lines render_post and the seed site write: `key: value` where a value is a date (the keys read
# as dates), a double-quoted string without escapes, a flow list of those (several tags), or a plain
# word. Checked by one regex over the whole front matter; anything else goes through the full YAML
# parse.
_DATE_KEYS = "date|updated|fetched_at"
_DATE_TEXT = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
_QUOTED_TEXT = r'"[^"\\\x00-\x1f]*"'
_QUOTED_LIST = rf"\[{_QUOTED_TEXT}(?:, {_QUOTED_TEXT})*\]"
_SIMPLE_FRONT = re.compile(
    rf"---\n((?:(?:{_DATE_KEYS}): {_DATE_TEXT}\n"
    rf"|(?!(?:{_DATE_KEYS}):)[a-z_]+: (?:{_QUOTED_TEXT}|{_QUOTED_LIST}|{PLAIN})\n)+)---\n"
)
_WANTED_LINE = re.compile(rf"^({_DATE_KEYS}|categories|category|tags|tag): (.*)$", re.M)
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")


def _read_row(path: Path, filename: str, stat: os.stat_result, zone: tzinfo) -> IndexRow:
    try:
        with open(path, "rb") as file:  # (Path.read_bytes takes twice as long on a post)
            data = file.read()
    except OSError as exc:
        problem = f"cannot read {path}: {exc.strerror or exc}"
        return IndexRow(
            filename, filename, None, None, None, stat.st_mtime_ns, stat.st_size, problem
        )
    fast = _fast_row(data, filename, stat)
    if fast is not None:
        return fast
    try:
        post = parse_post(data, filename, _no_render, zone=zone)
    except StoreError as exc:  # PostFileError names the file
        return IndexRow(
            filename, filename, None, None, None, stat.st_mtime_ns, stat.st_size, str(exc)
        )
    return row_for_post(post, filename, stat)


def _no_render(body: str) -> str:
    return ""


def _fast_row(data: bytes, filename: str, stat: os.stat_result) -> IndexRow | None:
    """The row from a front matter of simple lines only; None when the full parse must decide."""
    try:
        post_id = parse_filename(filename)
        match = _SIMPLE_FRONT.match(data.decode("utf-8"))
    except (StoreError, UnicodeDecodeError):
        return None
    if match is None:
        return None
    found = _WANTED_LINE.findall(match.group(1))
    values = dict(found)
    if len(values) != len(found):
        return None  # a key given twice: let YAML decide
    dates = {key: _date(values[key]) for key in ("date", "updated", "fetched_at") if key in values}
    date = dates.get("date")
    if date is None or None in dates.values():
        return None  # no date, or one that does not exist: the full parse names the problem
    texts: list[list[str]] = []
    for keys in (("categories", "category"), ("tags", "tag")):
        value = next((values[key] for key in keys if key in values), "")
        if value.startswith("["):  # quoted items only (_QUOTED_LIST): no escapes to undo
            texts.append([item[1:-1] for item in re.findall(_QUOTED_TEXT, value)])
            continue
        if value.startswith('"'):
            value = value[1:-1]
        elif value and not_a_yaml_string(value):
            return None
        texts.append([value])
    category = texts[0][0]  # postfile.parse_post: the first of a list of categories
    tags = [tag for tag in texts[1] if tag] or [""]
    updated = dates.get("updated")
    newest = updated if updated is not None else date
    first_seen = dates.get("fetched_at") or date
    return IndexRow(
        *(filename, post_id, category, tags[0], newest.timestamp()),
        *(stat.st_mtime_ns, stat.st_size),
        first_seen=first_seen.timestamp(),
        extra_tags=tuple(tags[1:]),
    )


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None
