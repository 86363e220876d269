"""Post writes of one source, made durable together (see Store.batch).

Writing posts one by one costs two fsyncs and one SQLite commit each. In a batch the post files
are staged (temp files); at the flush they are synced at once and renamed (atomicfile), and only
then are their index rows and the items' `seen` and article rows committed in one transaction: the
state never names a file that is not durably in place, as in the one-by-one order. The store
flushes early whenever a read needs a pending write, so every decision is the one-by-one one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import postindex
from .atomicfile import Staged
from .errors import StoreError
from .models import Post

__all__ = ["MAX_PENDING", "WriteBatch"]

MAX_PENDING = 256  # staged files held open at most; a larger batch is flushed in parts


@dataclass
class WriteBatch:
    files: dict[str, tuple[Staged, Post]] = field(default_factory=dict)  # by file name
    seen: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # -> file, date
    articles: list[tuple[tuple[str, ...], str, str]] = field(default_factory=list)
    identities: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.files or self.seen or self.articles)

    def add_article(self, identities: Sequence[str], category: str, filename: str) -> None:
        self.articles.append((tuple(identities), category, filename))
        self.identities.update(identities)

    def staged(self) -> list[Staged]:
        return [one for one, _ in self.files.values()]

    def index_rows(self, replaced: Sequence[Staged]) -> list[postindex.IndexRow]:
        """The post index rows of the files now in place."""
        posts = {one.temp: post for one, post in self.files.values()}
        rows = []
        for staged in replaced:
            try:
                stat = os.stat(staged.path)
            except OSError as exc:
                raise StoreError(f"cannot stat {staged.path}: {exc.strerror or exc}") from exc
            rows.append(postindex.row_for_post(posts[staged.temp], staged.path.name, stat))
        return rows
