"""`fetch --dry-run`: a Store that reads the real storage dir and writes nothing to it.

The SQLite state is copied to a temporary file first, so everything a pass records (seen items,
slugs, identities for duplicates, canary baselines, validators) behaves exactly as in a real pass,
and is thrown away at the end. Post files are kept in memory, so a post written earlier in the
same pass is found again; feeds are never written. `describe` prints what would have been written.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from datetime import tzinfo
from pathlib import Path
from types import TracebackType
from typing import Final

from .errors import StoreError
from .models import Post
from .normalise import plain_text, render_body
from .postfile import DEFAULT_ZONE, format_date
from .store import Store

__all__ = ["DryRunStore", "describe"]

TEXT_CHARS: Final = 80


class DryRunStore(Store):
    """Reads through to the storage dir; writes go to memory and a temporary state copy."""

    def __init__(self, root: Path, *, post_zone: tzinfo = DEFAULT_ZONE) -> None:
        super().__init__(root, post_zone=post_zone)
        self._scratch = Path(tempfile.mkdtemp(prefix="aggregator-dry-run-"))
        self.written: dict[str, Post] = {}
        real = super().state_path
        if real.exists():
            _copy_database(real, self._scratch / real.name)

    @property
    def state_path(self) -> Path:
        return self._scratch / "state.sqlite"

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write_post(self, post: Post, filename: str) -> None:
        self.written[filename] = post

    def read_post(
        self, filename: str, render: Callable[[str], str], *, archived: bool = False
    ) -> Post | None:
        if filename in self.written:
            return self.written[filename]
        return super().read_post(filename, render, archived=archived)

    def write_file(self, relpath: str, data: bytes) -> bool:
        return False  # feeds are not written in a dry run

    def sync_index(self, *, full: bool = True) -> None:
        return None  # the feeds are not built, so the post index is not needed

    def mark_feeds_pending(self) -> None:
        return None

    def clear_feeds_pending(self) -> None:
        return None

    def archive_post(self, filename: str) -> bool:
        return False

    def _make_dir(self, path: Path) -> None:
        # every write to disk starts here: a write method this class forgot to stub must fail
        # loudly instead of touching the storage dir
        if not path.resolve().is_relative_to(self._scratch.resolve()):
            raise StoreError(f"dry run: refusing to create {path}")
        super()._make_dir(path)


def describe(filename: str, post: Post) -> str:
    """The lines `fetch --dry-run` prints for one post it would write."""
    kind = "changed" if post.updated is not None else "new"
    # the pipeline leaves content_html to the feeds; the text is the same without a base URL
    text = plain_text(post.content_html or render_body(post.body), limit=TEXT_CHARS)
    return "\n".join(
        (
            f"{kind}: _posts/{filename}",
            f"  title:    {post.title}",
            f"  date:     {format_date(post.date)}",
            f"  category: {post.category}",
            f"  text:     {text}",
        )
    )


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of the state (WAL included), opened read-only."""
    try:
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read state {source}: {exc}") from exc
