"""Index queries for publishing: which posts each feed holds, in which order, and what changed.

A feed's scope is the whole site, one category or one tag (`Scope`). Every query runs on the post
index (postindex) with an index of its own, so the cost of one feed is about the number of rows it
returns, not the number of posts:

    newest(scope, n)            the subscription document's newest posts (feeds.sort_newest_first)
    stored_slice(scope, k, n)   the posts of an RFC 5005 archive page (the stored order: see archive)
    changed_since(scope, seq)   rows written since a feed's archives were last written
    position(scope, row)        where a row sits in the stored order (so: its archive page)

`archive_marks` remembers, per feed, how many full archive pages were written, with which
settings, at which change number: full pages never change, so later runs write only the new ones
and those holding a changed post (postindex's `reshuffled` number sends a feed back to a full
check). `rendered` keeps the HTML of recently published bodies, keyed by body and base URL.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "FEED_SCHEMA",
    "ArchiveMark",
    "Scope",
    "categories",
    "category_counts",
    "category_tags",
    "changed_since",
    "count",
    "names_by_file",
    "newest",
    "position",
    "stored_rows",
    "stored_slice",
    "tag_firsts",
]

FEED_SCHEMA = """
CREATE INDEX IF NOT EXISTS post_index_stored ON post_index (category, first_seen, filename);
CREATE INDEX IF NOT EXISTS post_index_stored_site ON post_index (first_seen, filename);
CREATE INDEX IF NOT EXISTS post_index_tag_stored ON post_index (tag, first_seen, filename);
CREATE INDEX IF NOT EXISTS post_index_tag_newest ON post_index (tag, sort_key, post_id);
CREATE INDEX IF NOT EXISTS post_index_by_name ON post_index (category, filename);
CREATE INDEX IF NOT EXISTS post_index_category_tag ON post_index (category, tag);
CREATE INDEX IF NOT EXISTS post_index_seq ON post_index (seq);
CREATE TABLE IF NOT EXISTS archive_marks (
    feed TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    pages INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rendered (
    key TEXT PRIMARY KEY,
    html TEXT NOT NULL,
    used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rendered_used ON rendered (used);
CREATE TABLE IF NOT EXISTS tag_slug_bases (
    tag TEXT PRIMARY KEY,
    base TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Scope:
    """The posts of one feed: a category, a tag, or (both None) the whole site."""

    category: str | None = None
    tag: str | None = None

    def where(self, *, seek: bool = True, further: bool = True) -> tuple[str, tuple[str, ...]]:
        # a row has a category (maybe "") exactly when it is a readable post: problem rows keep
        # category and tag NULL and no post_tags (postindex), so these terms need no
        # `problem IS NULL` and each is answered from indexes alone; seek=False writes `+column`
        # so SQLite leaves the scope's index out (changed_since)
        plus = "" if seek else "+"
        if self.category is not None:
            return f"{plus}category = ?", (self.category,)
        if self.tag is not None:
            # a post's primary tag is its row's; its further tags are rows of post_tags
            # (further=False: the tag is no post's further tag, see _where)
            if not further:
                return f"{plus}tag = ?", (self.tag,)
            return (
                f"({plus}tag = ? OR filename IN (SELECT filename FROM post_tags WHERE tag = ?))",
                (self.tag, self.tag),
            )
        return f"{plus}category IS NOT NULL", ()


def _where(
    db: sqlite3.Connection, scope: Scope, *, seek: bool = True
) -> tuple[str, tuple[str, ...]]:
    """The scope's terms, without the post_tags half when no post has the tag as a further tag:
    with it SQLite can neither count nor order the tag's rows from an index (a tag of 10,000
    posts: ~7 ms a query instead of ~0.1 ms)."""
    further = scope.tag is not None and (
        db.execute("SELECT 1 FROM post_tags WHERE tag = ? LIMIT 1", (scope.tag,)).fetchone()
        is not None
    )
    return scope.where(seek=seek, further=further)


@dataclass(frozen=True)
class ArchiveMark:
    settings: str
    pages: int
    seq: int


def count(db: sqlite3.Connection, scope: Scope) -> int:
    where, args = _where(db, scope)
    return int(db.execute(f"SELECT COUNT(*) FROM post_index WHERE {where}", args).fetchone()[0])


def newest(db: sqlite3.Connection, scope: Scope, limit: int, offset: int = 0) -> list[str]:
    """File names of the newest posts, in feeds.sort_newest_first's order."""
    where, args = _where(db, scope)
    rows = db.execute(
        f"SELECT filename FROM post_index WHERE {where}"
        " ORDER BY sort_key DESC, post_id DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    )
    return [name for (name,) in rows]


def stored_slice(
    db: sqlite3.Connection, scope: Scope, offset: int, limit: int, total: int | None = None
) -> list[str]:
    """File names at positions offset .. offset + limit - 1 of the stored order (limit -1: all).
    Given the scope's `total`, a slice near the end is read backwards from the end (an OFFSET
    costs one step per row skipped)."""
    where, args = _where(db, scope)
    if total is not None and total - offset < offset:
        wanted = total - offset if limit < 0 else max(min(limit, total - offset), 0)
        rows = db.execute(
            f"SELECT filename FROM post_index WHERE {where}"
            " ORDER BY first_seen DESC, filename DESC LIMIT ? OFFSET ?",
            (*args, wanted, total - offset - wanted),
        )
        return [name for (name,) in rows][::-1]
    rows = db.execute(
        f"SELECT filename FROM post_index WHERE {where}"
        " ORDER BY first_seen, filename LIMIT ? OFFSET ?",
        (*args, limit, offset),
    )
    return [name for (name,) in rows]


def changed_since(db: sqlite3.Connection, scope: Scope, seq: int) -> list[tuple[float, str]]:
    """(first_seen, filename) of the scope's rows written after change number `seq`."""
    # `+` keeps the scope's index out, so the seq index finds the few changed rows
    where, args = _where(db, scope, seek=False)
    rows = db.execute(
        f"SELECT first_seen, filename FROM post_index WHERE seq > ? AND {where}", (seq, *args)
    )
    return [(first_seen, name) for first_seen, name in rows]


def position(db: sqlite3.Connection, scope: Scope, first_seen: float, filename: str) -> int:
    """How many of the scope's rows come before (first_seen, filename) in the stored order.

    Counted as all rows minus those from the row on: changed rows are mostly the newest, so the
    second count walks a few index entries."""
    where, args = _where(db, scope)
    row = db.execute(
        f"SELECT COUNT(*) FROM post_index WHERE {where} AND (first_seen, filename) >= (?, ?)",
        (*args, first_seen, filename),
    ).fetchone()
    return count(db, scope) - int(row[0])


def stored_rows(db: sqlite3.Connection) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(filename, category, tags: the primary one first) of every readable post in the stored
    order."""
    extra: dict[str, list[str]] = {}
    for filename, tag in db.execute("SELECT filename, tag FROM post_tags ORDER BY filename, tag"):
        extra.setdefault(filename, []).append(tag)
    rows = db.execute(
        "SELECT filename, category, tag FROM post_index WHERE problem IS NULL"
        " ORDER BY first_seen, filename"
    )
    for filename, category, tag in rows:
        yield filename, category or "", (tag or "", *extra.get(filename, ()))


def categories(db: sqlite3.Connection) -> list[str]:
    """Every category of a readable post, sorted; one index seek per category."""
    return _distinct(db, "category")


def tag_firsts(db: sqlite3.Connection) -> dict[str, tuple[float, str]]:
    """Non-empty tag -> (first_seen, filename) of its first stored post (publish.tag_slugs)."""
    firsts: dict[str, tuple[float, str]] = {}
    for tag in _distinct(db, "tag"):
        row = db.execute(
            "SELECT first_seen, filename FROM post_index WHERE tag = ? AND problem IS NULL"
            " ORDER BY first_seen, filename LIMIT 1",
            (tag,),
        ).fetchone()
        if tag and row is not None:
            firsts[tag] = (row[0], row[1])
    further = db.execute(
        "SELECT t.tag, p.first_seen, p.filename FROM post_tags t JOIN post_index p USING (filename)"
    )
    for tag, first_seen, filename in further:
        if tag not in firsts or (first_seen, filename) < firsts[tag]:
            firsts[tag] = (first_seen, filename)
    return firsts


def category_tags(db: sqlite3.Connection, category: str) -> list[str]:
    """Every tag of the category's posts, sorted; one index seek per primary tag."""
    rows = db.execute(
        "WITH RECURSIVE v(x) AS (SELECT MIN(tag) FROM post_index WHERE category = ?1"
        " UNION ALL SELECT (SELECT MIN(tag) FROM post_index WHERE category = ?1 AND tag > v.x)"
        " FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL",
        (category,),
    )
    tags = {value for (value,) in rows}
    if db.execute("SELECT 1 FROM post_tags LIMIT 1").fetchone() is None:
        return sorted(tags)  # no post has further tags: skip the walk over the category's rows
    further = db.execute(
        "SELECT DISTINCT t.tag FROM post_index p JOIN post_tags t USING (filename)"
        " WHERE p.category = ?",
        (category,),
    )
    return sorted(tags | {value for (value,) in further})


def names_by_file(db: sqlite3.Connection, category: str) -> list[str]:
    """The category's readable post files by name (the order of a directory listing)."""
    rows = db.execute(
        "SELECT filename FROM post_index WHERE problem IS NULL AND category = ? ORDER BY filename",
        (category,),
    )
    return [name for (name,) in rows]


def category_counts(db: sqlite3.Connection) -> dict[str, int]:
    rows = db.execute(
        "SELECT category, COUNT(*) FROM post_index WHERE problem IS NULL GROUP BY category"
    )
    return {category: number for category, number in rows}


def _distinct(db: sqlite3.Connection, column: str) -> list[str]:
    # a skip scan: MIN(column) > previous, one B-tree seek per distinct value (a plain DISTINCT
    # reads every row of the index)
    rows = db.execute(
        f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM post_index"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM post_index WHERE {column} > v.x)"
        " FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
    )
    return [value for (value,) in rows]


# ---------------------------------------------------------------- archive marks


def archive_mark(db: sqlite3.Connection, feed: str) -> ArchiveMark | None:
    row = db.execute(
        "SELECT settings, pages, seq FROM archive_marks WHERE feed = ?", (feed,)
    ).fetchone()
    return None if row is None else ArchiveMark(row[0], int(row[1]), int(row[2]))


def set_archive_mark(db: sqlite3.Connection, feed: str, mark: ArchiveMark) -> None:
    db.execute(
        "INSERT OR REPLACE INTO archive_marks (feed, settings, pages, seq) VALUES (?, ?, ?, ?)",
        (feed, mark.settings, mark.pages, mark.seq),
    )


# ---------------------------------------------------------------- rendered bodies


def render_key(body: str, base: str) -> str:
    return hashlib.sha256(f"{base}\x00{body}".encode("utf-8", "surrogatepass")).hexdigest()


def rendered(db: sqlite3.Connection, keys: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in keys:
        row = db.execute("SELECT html FROM rendered WHERE key = ?", (key,)).fetchone()
        if row is not None:
            found[key] = row[0]
    return found


def keep_rendered(db: sqlite3.Connection, entries: dict[str, str], cap: int | None) -> None:
    """Store new entries; keep only the newest `cap` (first in, first out: the bodies of
    subscription documents are mostly the newest posts, and an evicted one is rendered again)."""
    stamp = int(db.execute("SELECT COALESCE(MAX(used), 0) + 1 FROM rendered").fetchone()[0])
    db.executemany(
        "INSERT OR REPLACE INTO rendered (key, html, used) VALUES (?, ?, ?)",
        [(key, html, stamp) for key, html in entries.items()],
    )
    if cap is None:
        return
    db.execute(
        "DELETE FROM rendered WHERE key IN (SELECT key FROM rendered"
        " ORDER BY used DESC LIMIT -1 OFFSET ?)",
        (cap,),
    )


# ---------------------------------------------------------------- slugify results of tags


def slug_bases(db: sqlite3.Connection) -> dict[str, str]:
    """Tag -> slugs.slugify(tag), as computed before (it loads pypinyin: 0.3 s per process)."""
    return dict(db.execute("SELECT tag, base FROM tag_slug_bases"))


def keep_slug_bases(db: sqlite3.Connection, bases: dict[str, str]) -> None:
    db.executemany("INSERT OR REPLACE INTO tag_slug_bases (tag, base) VALUES (?, ?)", bases.items())
