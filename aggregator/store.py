"""The storage dir: post files under `_posts/`, published files, and the SQLite state.

Layout (the storage dir is a Jekyll site root):

    <root>/_posts/YYYY-MM-DD-<id>.md    post files (see postfile)
    <root>/feed.xml, <root>/feed/*.xml  anything written with write_file
    <root>/.aggregator/state.sqlite     validators, category slugs, seen items

Every file is replaced atomically (atomicfile); the database is opened and upgraded by statedb;
the post index is postindex (files -> rows) and feedindex (rows -> feeds).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path, PurePosixPath
from types import TracebackType

from . import articledb, postindex
from .atomicfile import (
    TEMP_PREFIX,
    Staged,
    atomic_write,
    clean_temp_files,
    commit_staged,
    fsync_dir,
)
from .errors import StoreError
from .filebatch import FileBatch
from .knownrows import KnownRows
from .models import Post, Validators
from .postfile import DEFAULT_ZONE, parse_post, render_post
from .statedb import SCHEMA_VERSION, StateAccess
from .writebatch import MAX_PENDING, BatchCommit, Behind, WriteBatch

__all__ = ["POSTS_DIR", "SCHEMA_VERSION", "STATE_DIR", "TEMP_PREFIX", "SeenItem", "Store"]

POSTS_DIR = "_posts"
STATE_DIR = ".aggregator"
STATE_FILE = "state.sqlite"
FEEDS_PENDING = "feeds-pending"  # in STATE_DIR: posts were written, their feeds not yet rebuilt
ARCHIVE_DIR = "_archive"  # posts moved out of _posts/ by [retention]; still in the feeds
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # (absent on Windows: links are checked with a stat)


@dataclass(frozen=True)
class SeenItem:
    """Where an already-seen item's post lives, and when it was first stored."""

    filename: str
    first_seen: datetime


class Store(StateAccess):
    """The storage dir and its state; directories and the database are created on first use."""

    def __init__(self, root: Path, *, post_zone: tzinfo = DEFAULT_ZONE) -> None:
        self.root = Path(root)
        self.post_zone = post_zone  # zone of naive dates in hand-written posts
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"storage dir {self.root} exists and is not a directory")
        StateAccess.__init__(self)
        self._resolved_dirs: dict[Path, Path] = {}  # dir -> the root it resolved inside
        self._feeds_marked = False  # this process wrote the feeds-pending mark
        self._batch: WriteBatch | None = None  # post writes not yet durable (see batch)
        self._slugs: dict[str, str] | None = None  # slug_map, kept during a batch
        self._files: FileBatch | None = None  # published files not yet in place (file_batch)
        self._known = KnownRows()  # rows read ahead for the items of a batch (prefetch)
        self._commit_of_batch: BatchCommit | None = None  # the open batch's (see batch)
        self._behind: Behind | None = None  # a batch part being committed (_flush_behind)
        self._made_dirs: set[Path] = set()  # created (or found) by this process
        self._listing = False  # inside post_listing()
        self._post_names: set[str] | None = None  # _posts/ as listed there, with our writes

    @property
    def posts_dir(self) -> Path:
        return self.root / POSTS_DIR

    @property
    def state_path(self) -> Path:
        return self.root / STATE_DIR / STATE_FILE

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ state: validators

    def load_validators(self, scope: str) -> dict[str, Validators]:
        """URL -> validators of one scope (a source name: two sources fetching one URL each keep
        their own, so each sees the URL change)."""
        with self._reading() as db:
            rows = db.execute(
                "SELECT url, etag, last_modified FROM validators WHERE scope = ? ORDER BY url",
                (scope,),
            )
            return {url: Validators(etag, modified) for url, etag, modified in rows}

    def save_validators(self, scope: str, validators: Mapping[str, Validators]) -> None:
        """Make `validators` the stored set of `scope`; only rows that differ are written."""
        current = self.load_validators(scope)
        wanted = {
            u: v for u, v in validators.items() if v.etag is not None or v.last_modified is not None
        }
        if wanted == current:
            return
        with self._writing() as db:
            for url in current.keys() - wanted.keys():
                db.execute("DELETE FROM validators WHERE scope = ? AND url = ?", (scope, url))
            for url, v in wanted.items():
                if current.get(url) != v:
                    db.execute(
                        "INSERT INTO validators (scope, url, etag, last_modified) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (scope, url) DO UPDATE"
                        " SET etag = excluded.etag, last_modified = excluded.last_modified",
                        (scope, url, v.etag, v.last_modified),
                    )

    # ------------------------------------------------------------ state: category slugs

    def slug_map(self) -> dict[str, str]:
        """Media/category name -> slug, for every slug ever used."""
        if self._batch is not None and self._slugs is not None:
            return dict(self._slugs)  # asked per item; no other writer runs during a batch
        with self._reading() as db:
            found = dict(db.execute("SELECT name, slug FROM slugs ORDER BY name"))
        self._slugs = found if self._batch is not None else None
        return dict(found)

    def remember_slug(self, name: str, slug: str) -> None:
        """Record the slug of `name`; a name that already has a slug keeps it (slugs never change)."""
        self._slugs = None
        with self._writing() as db:
            db.execute(
                "INSERT INTO slugs (name, slug) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, slug)
            )

    # ------------------------------------------------------------ state: seen items

    def prefetch(self, source: str, items: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Read ahead, in one query each, the `seen` rows of the items' keys (of `source`) and the
        article rows of their identities, for the `seen` and `find_article` calls that follow
        within this batch (see knownrows)."""
        if self._batch is None:
            return  # outside a batch nothing would clear them
        if self._listing and self._post_names is None:
            self._post_names = self._list_posts()
        pairs = list(items)
        with self._reading() as db:
            self._known.read(
                db, source, [key for key, _ in pairs], [i for _, ids in pairs for i in ids]
            )

    @contextmanager
    def post_listing(self) -> Iterator[None]:
        """Within the block (a run holding the writer lock: no other process writes posts),
        `_posts/` is listed once, at the first read ahead, and the listing follows this
        process's writes; `read_post` then knows a name absent from it is no file without
        looking (a lookup per new item makes the writer wait for the interpreter)."""
        self._listing = True
        try:
            yield
        finally:
            self._listing = False
            self._post_names = None

    def _list_posts(self) -> set[str]:
        try:
            with os.scandir(self.posts_dir) as entries:
                return {entry.name for entry in entries}
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise StoreError(f"cannot list {self.posts_dir}: {exc.strerror or exc}") from exc

    def seen(self, source: str, key: str) -> SeenItem | None:
        self._settle(lambda batch: (source, key) in batch.seen)
        known, found = self._known.seen(source, key)
        if known:
            return None if found is None else SeenItem(*found)
        with self._reading() as db:
            row = db.execute(
                "SELECT filename, first_seen FROM seen WHERE source = ? AND key = ?", (source, key)
            ).fetchone()
        if row is None:
            return None
        return SeenItem(row[0], datetime.fromisoformat(row[1]))

    def remember(self, source: str, key: str, filename: str, first_seen: datetime) -> None:
        """Record where an item's post lives; an item seen before keeps its first `first_seen`.

        Stored in whole seconds, the precision of `fetched_at` in the post file, so a post built
        from this value later compares equal to the one read back from disk.
        """
        if first_seen.tzinfo is None or first_seen.utcoffset() is None:
            raise ValueError(f"first_seen must be aware: {first_seen!r}")
        _check_post_name(filename)
        first_seen = first_seen.replace(microsecond=0)
        if self._batch is not None:
            self._batch.seen[source, key] = (filename, first_seen.isoformat())
            return
        row = (source, key, filename, first_seen.isoformat())
        with self._writing() as db:
            _insert_seen(db, [row])
        self._known.stored([row], [])

    # ------------------------------------------------------------ state: duplicates, canaries

    def find_article(self, identities: Sequence[str], category: str | None) -> str | None:
        """The post file already holding one of `identities` in `category` (None: anywhere)."""
        self._settle(lambda batch: not batch.identities.isdisjoint(identities))
        known, found = self._known.article(identities, category)
        if known:
            return found
        with self._reading() as db:
            return articledb.find(db, identities, category)

    def remember_article(self, identities: Sequence[str], category: str, filename: str) -> None:
        if self._batch is not None:
            self._batch.add_article(identities, category, filename)
            return
        with self._writing() as db:
            articledb.remember(db, identities, category, filename)
        self._known.stored([], [(identities, category, filename)])

    def last_yield(self, source: str) -> tuple[int, frozenset[str]] | None:
        """Items and item fields of the source's last healthy pass (see canary)."""
        with self._reading() as db:
            return articledb.last_yield(db, source)

    def save_yield(self, source: str, items: int, fields: frozenset[str]) -> None:
        with self._writing() as db:
            articledb.save_yield(db, source, items, fields)

    # ------------------------------------------------------------ post files

    def read_post(
        self, filename: str, render: Callable[[str], str], *, archived: bool = False
    ) -> Post | None:
        """The post stored as `_posts/<filename>`, or None when there is no such file.

        archived=True also looks in `_archive/` (feeds do; deciding new/changed never does, so an
        archived post is never written back to `_posts/`)."""
        path = self._post_path(filename, follow=False)  # _read_post_file refuses a link
        self._settle(lambda batch: filename in batch.files)
        if not archived and self._post_names is not None and filename not in self._post_names:
            return None
        try:
            data = self._read_post_file(path, filename)
        except FileNotFoundError:
            if not archived:
                return None
            path = self._inside_root(self.root / ARCHIVE_DIR / filename, filename)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return parse_post(data, filename, render, zone=self.post_zone)

    def _read_post_file(self, path: Path, filename: str) -> bytes:
        """The bytes of a post file whose dir is inside the root; a symbolic link is followed
        only after checking where it leads. (Opening with O_NOFOLLOW makes that check one system
        call fewer per file: a stat waits behind files being created in the same dir.)"""
        if not _NO_FOLLOW:
            path = self._inside_root(path, filename)
        try:
            fd = os.open(path, os.O_RDONLY | _NO_FOLLOW | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            fd = os.open(self._inside_root(path, filename), os.O_RDONLY)  # a link: checked
        with open(fd, "rb") as file:  # (Path.read_bytes takes twice as long on a post)
            return file.read()

    def write_post(self, post: Post, filename: str) -> None:
        """Write `post` as `_posts/<filename>` atomically (the caller decided it changed); in a
        batch, the file is in place once the batch is flushed."""
        path = self._post_path(filename, follow=False)  # a rename replaces a link, never follows
        self._make_dir(path.parent)
        if self._batch is not None:
            if filename in self._batch.files:
                self.flush()  # its earlier version goes in place first
            elif len(self._batch.files) >= MAX_PENDING:
                self._flush_behind()
            self._batch.add_file(filename, path, render_post(post), post)
            return
        atomic_write(path, render_post(post))
        if self._post_names is not None:
            self._post_names.add(filename)
        try:
            stat = path.stat()
        except OSError as exc:
            raise StoreError(f"cannot stat {path}: {exc.strerror or exc}") from exc
        with self._writing() as db:
            postindex.upsert(db, [postindex.row_for_post(post, filename, stat)])

    @contextmanager
    def batch(self, *, behind: bool = False) -> Iterator[BatchCommit]:
        """Post writes and `remember`/`remember_article` calls inside are made durable together
        when the block ends (see writebatch); a StoreError then means some were not stored.

        behind=True: the block ends without waiting; its last part is committed on a helper
        thread while the writer goes on (the next source's items), and the yielded BatchCommit's
        `wait` finishes it, raising its failure. Nothing that needs the part (a lookup of its
        items, the next part) goes on before it is in."""
        commit = BatchCommit(self._wait_behind)
        self._batch, self._commit_of_batch = WriteBatch(), commit
        self._slugs = None
        try:
            yield commit
        finally:  # what was staged before an error is stored, as it was when written one by one
            try:
                if behind:
                    self._flush_behind()
                else:
                    self.flush()
            finally:
                self._batch = None
                self._commit_of_batch = None
                self._slugs = None
                self._known.clear()

    def flush(self) -> None:
        """Put a batch's staged files in place, then commit their state rows (after the part
        being committed behind, if any); raises the first failure of this batch not yet raised."""
        self._wait_behind()
        batch, commit = self._batch, self._commit_of_batch
        if batch is None or commit is None:
            return  # outside a batch
        if batch:
            self._batch = WriteBatch()
            try:
                self._commit(batch)
            except BaseException as exc:
                commit.fail(exc)
        failed = commit.take_failure()
        if failed is not None:
            raise failed

    def _settle(self, needs: Callable[[WriteBatch], bool]) -> None:
        """Before a read: put in place the pending writes it `needs` (the open batch's, or the
        part being committed behind), so it sees what writing one by one would have left."""
        if self._batch is not None and needs(self._batch):
            self.flush()
        elif self._behind is not None and needs(self._behind.batch):
            self._wait_behind()

    def _flush_behind(self) -> None:
        """Commit the batch so far on a helper thread while the writer goes on: the fsyncs of a
        part (tens of ms) overlap the next part's items instead of stopping them. At most one
        part is behind; lookups that need it wait for it (seen, find_article, read_post), and its
        failure is raised by its batch's next flush or BatchCommit.wait."""
        self._wait_behind()
        batch, self._batch = self._batch, WriteBatch()
        if batch and self._commit_of_batch is not None:
            self._behind = Behind(batch, self._commit, self._commit_of_batch)

    def _wait_behind(self, owner: BatchCommit | None = None) -> None:
        """Wait for the part behind (only if it is `owner`'s, when given)."""
        if self._behind is not None and (owner is None or self._behind.owner is owner):
            behind, self._behind = self._behind, None
            behind.wait()

    def _commit(self, batch: WriteBatch) -> None:
        """Put `batch`'s staged files in place, then commit their state rows."""
        replaced: list[Staged] = []
        staged, failed = batch.staged()
        try:
            commit_staged(staged, replaced)
        except StoreError as exc:
            failed = failed or exc
        if self._post_names is not None:
            self._post_names.update(one.path.name for one in replaced)
        seen = [(*key, *value) for key, value in batch.seen.items()]
        with self._writing() as db:
            postindex.upsert(db, batch.index_rows(replaced))
            if failed is None:  # else the items are seen afresh next time and find their files
                _insert_seen(db, seen)
                for identities, category, filename in batch.articles:
                    articledb.remember(db, identities, category, filename)
        if failed is not None:
            raise failed
        self._known.stored(seen, batch.articles)

    # ------------------------------------------------------------ post index (see postindex)

    def sync_index(self, *, full: bool = True) -> None:
        """Bring the post index in line with `_posts/`, reading only new and changed files.

        With full=False it runs only when the index was never synced (the first run after an
        upgrade); after that write_post keeps it complete.
        """
        with self._writing() as db:
            if full or not postindex.is_synced(db):
                postindex.sync(db, [self.posts_dir, self.root / ARCHIVE_DIR], self.post_zone)

    def newest_posts(
        self, category: str | None, limit: int, render: Callable[[str], str]
    ) -> tuple[list[Post], list[str]]:
        """The newest `limit` posts of `category` (None: the whole site) by the index, plus one
        line per file that could not be read. A file removed or broken since it was indexed is
        dropped (or marked) and the next one taken."""
        posts: list[Post] = []
        problems: list[str] = []
        while len(posts) < limit:
            with self._reading() as db:
                names = postindex.newest(db, category, limit - len(posts), offset=len(posts))
            if not names:
                break
            for name in names:
                try:
                    post = self.read_post(name, render, archived=True)
                except StoreError as exc:
                    problems.append(str(exc))
                    with self._writing() as db:
                        postindex.forget(db, name, str(exc))
                    continue
                if post is None:
                    with self._writing() as db:
                        postindex.forget(db, name, None)
                    continue
                posts.append(post)
        return posts, problems

    def forget_post(self, filename: str, problem: str | None) -> None:
        """A file named by the index is gone (problem None: drop its row) or unreadable."""
        with self._writing() as db:
            postindex.forget(db, filename, problem)

    def index_categories(self) -> list[str]:
        with self._reading() as db:
            return postindex.categories(db)

    def category_tag(self, category: str) -> str | None:
        """The tag of the category's first post file by name."""
        with self._reading() as db:
            return postindex.first_tag(db, category)

    def index_problems(self) -> list[str]:
        """One line per indexed file that cannot be read as a post, by file name."""
        with self._reading() as db:
            return postindex.problems(db)

    def read_posts(self, render: Callable[[str], str]) -> tuple[list[Post], list[str]]:
        """Every `_posts/*.md` by file name, plus one line per file that could not be read."""
        try:
            names = sorted(
                entry.name
                for entry in os.scandir(self.posts_dir)
                if entry.name.endswith(".md") and entry.is_file()
            )
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            raise StoreError(f"cannot list {self.posts_dir}: {exc.strerror or exc}") from exc
        posts: list[Post] = []
        problems: list[str] = []
        for name in names:
            try:
                post = self.read_post(name, render)
            except StoreError as exc:  # PostFileError included; both name the file
                problems.append(str(exc))
                continue
            if post is not None:  # None only when the file vanished since the listing
                posts.append(post)
        return posts, problems

    # ------------------------------------------------------------ other published files

    def write_file(self, relpath: str, data: bytes) -> bool:
        """Write `data` to `<root>/<relpath>` atomically unless it already holds these bytes.

        Returns True when the file was written. `relpath` is a plain relative path such as
        `feed.xml` or `feed/emnews.xml`; nothing outside the root and no dot-name is accepted.
        """
        path = self._site_path(relpath)
        if self._files is not None and path in self._files:
            self._files.commit()  # the bytes to compare with are staged, not yet on disk
        try:
            if path.read_bytes() == data:
                return False
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self._make_dir(path.parent)
        if self._files is None:
            atomic_write(path, data)
        else:
            self._files.add(path, data)
        return True

    @contextmanager
    def file_batch(self) -> Iterator[None]:
        """write_file inside stages its files and puts them in place in groups (filebatch); every
        one is in place when the block ends, also when it ends with an error."""
        self._files = FileBatch()
        try:
            yield
        finally:  # what was written before an error is put in place, as one by one it would be
            files, self._files = self._files, None
            try:
                files.commit()
            finally:
                files.close()  # its thread ends; after a failure nothing is left open

    def has_file(self, relpath: str) -> bool:
        """True when `<root>/<relpath>` exists (a file, dir or link: anything not to overwrite)."""
        path = self.root.joinpath(*PurePosixPath(relpath).parts)
        return os.path.lexists(path) or (self._files is not None and path in self._files)

    def clean_temp_files(self) -> int:
        """Remove temp files a crash left behind anywhere in the site (atomicfile); how many."""
        return clean_temp_files(self.root)

    # ------------------------------------------------------------ feeds owed after a crash

    def mark_feeds_pending(self) -> None:
        """Record that posts are being written whose feeds are not rebuilt yet (call before the
        first post write of a run). A crash leaves the mark, and the next run rebuilds every feed."""
        if self._feeds_marked:
            return
        path = self.root / STATE_DIR / FEEDS_PENDING
        self._make_dir(path.parent)
        atomic_write(path, b"")
        self._feeds_marked = True

    def feeds_pending(self) -> bool:
        """Did a run write posts and stop before rebuilding their feeds?"""
        return (self.root / STATE_DIR / FEEDS_PENDING).exists()

    def clear_feeds_pending(self) -> None:
        """The feeds are rebuilt: drop the mark."""
        with suppress(FileNotFoundError):
            os.unlink(self.root / STATE_DIR / FEEDS_PENDING)
        self._feeds_marked = False

    # ------------------------------------------------------------ paths

    def _post_path(self, filename: str, *, follow: bool = True) -> Path:
        _check_post_name(filename)
        return self._inside_root(self.posts_dir / filename, filename, follow=follow)

    def _site_path(self, relpath: str) -> Path:
        parts = PurePosixPath(relpath).parts
        if (
            not parts
            or relpath.startswith("/")
            or "\\" in relpath
            or "\x00" in relpath
            or any(part.startswith(".") for part in parts)
        ):
            raise StoreError(f"refusing to write {relpath!r}: not a plain path inside the site")
        return self._inside_root(self.root.joinpath(*parts), relpath)

    def _inside_root(self, path: Path, name: str, *, follow: bool = True) -> Path:
        # resolve() follows symlinks, so a linked dir pointing elsewhere is refused too; a dir
        # resolved once this run is not resolved again (publishing reads thousands of files).
        # A link at `path` itself is checked where it leads, unless follow=False: the caller
        # never follows it (a rename replaces the link, an O_NOFOLLOW open refuses it)
        root = self._resolved_dirs.get(path.parent)
        if root is None:
            root = self.root.resolve()
            if not path.parent.resolve().is_relative_to(root):
                raise StoreError(f"refusing {name!r}: resolves outside the storage dir {self.root}")
            self._resolved_dirs[path.parent] = root
        if follow and os.path.islink(path):
            resolved = path.resolve()
            if not resolved.is_relative_to(root) or resolved == root:
                raise StoreError(f"refusing {name!r}: resolves outside the storage dir {self.root}")
        return path

    def _make_dir(self, path: Path) -> None:
        if path in self._made_dirs:
            return  # (a mkdir per post written is a system call the writer need not wait for)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from exc
        self._made_dirs.add(path)

    # ------------------------------------------------------------ retention and health

    def archive_post(self, filename: str) -> bool:
        """Move `_posts/<filename>` to `_archive/<filename>` (one rename: atomic); False when the
        file is not in `_posts/`. Its index row stays, so feeds keep the post."""
        source = self._post_path(filename)
        target = self._inside_root(self.root / ARCHIVE_DIR / filename, filename)
        self._make_dir(target.parent)
        try:
            os.replace(source, target)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot move {source} to {target}: {exc.strerror or exc}") from exc
        if self._post_names is not None:
            self._post_names.discard(filename)
        fsync_dir(target.parent)
        fsync_dir(source.parent)
        return True


def _insert_seen(db: sqlite3.Connection, rows: Sequence[tuple[str, str, str, str]]) -> None:
    db.executemany(
        "INSERT INTO seen (source, key, filename, first_seen) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source, key) DO UPDATE SET filename = excluded.filename",
        rows,
    )


def _check_post_name(filename: str) -> None:
    """A post file name is one plain `*.md` name: no dirs, no dot-names, no NUL."""
    if (
        not filename.endswith(".md")
        or filename.startswith(".")
        or "/" in filename
        or "\\" in filename
        or "\x00" in filename
    ):
        raise StoreError(f"refusing post file name {filename!r}: not a plain *.md name")
