"""`[retention] keep_days`: move old post files from `_posts/` to `_archive/`.

The original site kept three days of posts in `_posts/` and moved the rest to `old_post/`, so the
Jekyll build stays small. A post is archived when the date in its file name (`YYYY-MM-DD-…`, the
site's zone) is more than `keep_days` days before today. Archived posts stay in the feeds, are
never written back to `_posts/` (the store has seen them) and are never deleted.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta, tzinfo

from .errors import StoreError
from .store import Store

_DATED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-.+\.md$")


def cutoff(now: datetime, keep_days: int, zone: tzinfo) -> date:
    """Posts dated before this day are archived."""
    return (now.astimezone(zone) - timedelta(days=keep_days)).date()


def archive_old_posts(store: Store, keep_days: int, now: datetime, zone: tzinfo) -> list[str]:
    """Move every post file dated before `cutoff` to `_archive/`; the names moved, sorted."""
    limit = cutoff(now, keep_days, zone)
    try:
        names = sorted(entry.name for entry in os.scandir(store.posts_dir) if entry.is_file())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot list {store.posts_dir}: {exc.strerror or exc}") from exc
    moved: list[str] = []
    for name in names:
        match = _DATED.match(name)
        if match is None:
            continue  # hand-made files without a date prefix stay where they are
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        if day < limit and store.archive_post(name):
            moved.append(name)
    return moved
