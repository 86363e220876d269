"""State rows of the items about to be stored, read in bulk (see Store.prefetch).

Storing an item asks the state twice: was its key seen (`seen`), and is the same article already
a post (`article_ids`). Asked one item at a time, that is two queries per item, and each query
lets the fetching threads take the interpreter until the writer gets it back: with 16 bodies in
flight, most of the writer's time. The writer instead reads the rows of every item that has
arrived in one query each and answers from here. The rows stay true because the writer is the
only one writing them (the writer lock) and every row it commits is added here as well.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from .sqlbulk import rows_in

__all__ = ["KnownRows", "SeenRow"]

SeenRow = tuple[str, datetime]  # (file name, first seen)


class KnownRows:
    """`seen` rows by (source, key) and `article_ids` rows by identity, read in bulk."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], SeenRow | None] = {}  # None: no such row
        self._ids: dict[str, dict[str, str]] = {}  # identity -> category -> file name

    def read(
        self, db: sqlite3.Connection, source: str, keys: Iterable[str], identities: Iterable[str]
    ) -> None:
        """Read the rows of `keys` (of `source`) and `identities` that are not known yet."""
        missing = sorted({key for key in keys if (source, key) not in self._seen})
        found = {
            key: (filename, datetime.fromisoformat(first_seen))
            for key, filename, first_seen in rows_in(
                db,
                "SELECT key, filename, first_seen FROM seen WHERE source = ? AND key IN ({marks})",
                missing,
                before=[source],
            )
        }
        self._seen.update({(source, key): found.get(key) for key in missing})
        wanted = sorted({identity for identity in identities if identity not in self._ids})
        ids: dict[str, dict[str, str]] = {identity: {} for identity in wanted}
        for identity, category, filename in rows_in(
            db,
            "SELECT identity, category, filename FROM article_ids WHERE identity IN ({marks})",
            wanted,
        ):
            ids[identity][category] = filename
        self._ids.update(ids)  # (only once read: a failed query leaves them unknown)

    def seen(self, source: str, key: str) -> tuple[bool, SeenRow | None]:
        """(known, row): known=False when the key was never read (ask the database)."""
        if (source, key) not in self._seen:
            return False, None
        return True, self._seen[source, key]

    def article(self, identities: Sequence[str], category: str | None) -> tuple[bool, str | None]:
        """(known, file name) as articledb.find gives it: the first file name, by name, holding
        one of `identities` (in `category`; anywhere when None)."""
        if any(identity not in self._ids for identity in identities):
            return False, None
        found = [
            filename
            for identity in identities
            for row_category, filename in self._ids[identity].items()
            if category is None or row_category == category
        ]
        return True, min(found, default=None)

    def stored(
        self,
        seen: Iterable[tuple[str, str, str, str]],
        articles: Iterable[tuple[Sequence[str], str, str]],
    ) -> None:
        """Rows just committed: (source, key, file name, first seen) and (identities, category,
        file name); a known key or identity takes them as the database did."""
        for source, key, filename, first_seen in seen:
            if (source, key) not in self._seen:
                continue
            row = self._seen[source, key]
            # as the upsert: a key seen before keeps its first date and takes the new file name
            when = datetime.fromisoformat(first_seen) if row is None else row[1]
            self._seen[source, key] = (filename, when)
        for identities, category, filename in articles:
            for identity in identities:
                if identity in self._ids:
                    self._ids[identity].setdefault(category, filename)

    def clear(self) -> None:
        self._seen.clear()
        self._ids.clear()
