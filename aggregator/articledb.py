"""Article identities (for duplicates) and source yields (for canaries) in the SQLite state.

    article_ids(identity, category, filename)   one row per identity of a stored post
    source_yields(source, items, fields)        the last healthy pass of each source

`identity` is `url://host/path?query` (dedupe.canonical_url) or `eastmoney:<18-digit code>`.
`fields` lists the item fields most items had (`title,date,body`). The SQL only: dedupe.py and
canary.py decide; everything here takes an open connection owned by Store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

ARTICLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS article_ids (
    identity TEXT NOT NULL,
    category TEXT NOT NULL,
    filename TEXT NOT NULL,
    PRIMARY KEY (identity, category)
);
CREATE TABLE IF NOT EXISTS source_yields (
    source TEXT PRIMARY KEY,
    items INTEGER NOT NULL,
    fields TEXT NOT NULL
)
"""


def find(db: sqlite3.Connection, identities: Sequence[str], category: str | None) -> str | None:
    """The file of a post holding one of `identities` (in `category`; anywhere when None)."""
    if not identities:
        return None
    marks = ",".join("?" * len(identities))
    query = f"SELECT filename FROM article_ids WHERE identity IN ({marks})"
    params: list[str] = list(identities)
    if category is not None:
        query += " AND category = ?"
        params.append(category)
    row = db.execute(query + " ORDER BY filename LIMIT 1", params).fetchone()
    return str(row[0]) if row else None


def remember(
    db: sqlite3.Connection, identities: Sequence[str], category: str, filename: str
) -> None:
    db.executemany(
        "INSERT INTO article_ids (identity, category, filename) VALUES (?, ?, ?)"
        " ON CONFLICT (identity, category) DO NOTHING",
        [(identity, category, filename) for identity in identities],
    )


def last_yield(db: sqlite3.Connection, source: str) -> tuple[int, frozenset[str]] | None:
    row = db.execute(
        "SELECT items, fields FROM source_yields WHERE source = ?", (source,)
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), frozenset(f for f in str(row[1]).split(",") if f)


def save_yield(db: sqlite3.Connection, source: str, items: int, fields: frozenset[str]) -> None:
    db.execute(
        "INSERT INTO source_yields (source, items, fields) VALUES (?, ?, ?)"
        " ON CONFLICT (source) DO UPDATE SET items = excluded.items, fields = excluded.fields",
        (source, items, ",".join(sorted(fields))),
    )
