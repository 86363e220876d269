"""One query for many values: `... IN (?, ?, ...)` in parts SQLite accepts.

The writer and the post index look rows up for hundreds of names at once (one query per name
costs a round trip each, and each lets other threads take the interpreter); SQLite caps the bound
parameters of a statement, so the values go in parts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["rows_in"]

_MAX_PARAMS = 500  # below SQLite's limit on bound parameters per statement (999 in old builds)


def rows_in(
    db: sqlite3.Connection, query: str, values: Sequence[str], *, before: Sequence[object] = ()
) -> Iterator[tuple[Any, ...]]:
    """The rows of `query` for all `values`: `{marks}` in the query stands for the IN list;
    `before` are the parameters that come ahead of it."""
    for start in range(0, len(values), _MAX_PARAMS):
        part = values[start : start + _MAX_PARAMS]
        marks = ",".join("?" * len(part))
        yield from db.execute(query.format(marks=marks), [*before, *part])
