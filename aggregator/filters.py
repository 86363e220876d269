"""Per-source `include` / `exclude` rules: which items become posts. Pure.

Each rule is a regular expression searched (not matched: it may hit anywhere) in the item's
title, body text and author. With `include` rules an item must hit at least one; an item that
hits any `exclude` rule is left out. Write `(?i)` for case-insensitive rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .models import RawItem
from .normalise import plain_text

__all__ = ["passes"]

_MAX_TEXT = 200_000  # enough for any article; keeps a hostile body from costing the regex


def passes(item: RawItem, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if not include and not exclude:
        return True
    fields = (
        plain_text(item.title),
        plain_text(item.html, limit=_MAX_TEXT),
        item.author or "",
    )
    if include and not any(_compiled(rule).search(f) for rule in include for f in fields):
        return False
    return not any(_compiled(rule).search(f) for rule in exclude for f in fields)


@lru_cache(maxsize=256)
def _compiled(rule: str) -> re.Pattern[str]:
    return re.compile(rule)
