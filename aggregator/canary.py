"""Canaries: notice a source that silently broke (the site changed, the selectors went stale).

A source is degraded when it used to yield items and now yields none, or when a field that most
of its items had (title, date, body) is now missing from most of them. A degraded pass keeps the
last healthy baseline, so the source stays degraded until it recovers; the pipeline then holds
back the items that lack the lost field, so existing posts are never overwritten with husks and
the feeds are never emptied. Pure: the store keeps the baseline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .dates import parse_date
from .models import RawItem
from .normalise import plain_text

__all__ = ["FIELDS", "Verdict", "check", "item_fields"]

FIELDS = ("title", "date", "body")

# A body that opens with a visible character, perhaps after ordinary tags and plain comments, has
# text: no need to parse all of it (bs4 takes milliseconds on a long article). Else it is parsed.
_TAG_NAME = r"(?:p|br|img|div|span|strong|b|em|i|u|font|center|h[1-6]|ul|ol|li|table|tbody|tr|td|a)"
_OPENS_WITH_TEXT = re.compile(
    rf"\s*(?:(?:<{_TAG_NAME}(?:\s+[a-z][a-z0-9_.:-]*(?:=\"[^\"<>]*\")?)*\s*/?>"
    rf"|</{_TAG_NAME}\s*>|<!--(?!-?>)(?:[^-]|-(?!-))*-->)\s*)*"
    "[^\\s<>&\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]"
)


@dataclass(frozen=True)
class Verdict:
    degraded: str | None  # why, in a few words; None when healthy
    lost: frozenset[str]  # fields most items used to have and now lack
    baseline: tuple[int, frozenset[str]] | None  # what to store as the new baseline (None: keep)


def item_fields(item: RawItem, now: datetime) -> frozenset[str]:
    """The fields an item really carries (a date must parse, a body must hold text)."""
    present = set()
    if plain_text(item.title):
        present.add("title")
    if parse_date(item.date_text, item.timezone, now) is not None:
        present.add("date")
    if _OPENS_WITH_TEXT.match(item.html) or plain_text(item.html, limit=50):
        present.add("body")
    return frozenset(present)


def check(
    items: Sequence[RawItem],
    unchanged: int,
    previous: tuple[int, frozenset[str]] | None,
    now: datetime,
) -> Verdict:
    """Compare one pass (its new items plus those skipped as unchanged) with the baseline."""
    yielded = len(items) + unchanged
    if yielded == 0:
        if previous and previous[0] > 0:
            return Verdict(f"no items (the last good pass had {previous[0]})", frozenset(), None)
        return Verdict(None, frozenset(), None)
    if not items:  # everything unchanged: nothing to judge the fields by
        return Verdict(None, frozenset(), (yielded, previous[1] if previous else frozenset()))
    counts = {name: 0 for name in FIELDS}
    for item in items:
        for name in item_fields(item, now):
            counts[name] += 1
    common = frozenset(name for name, n in counts.items() if n * 2 > len(items))
    lost = (previous[1] - common) if previous else frozenset()
    if lost:
        names = ", ".join(name for name in FIELDS if name in lost)
        return Verdict(f"items lost their {names}", lost, None)
    return Verdict(None, frozenset(), (yielded, common))
