"""Testing aid: die by SIGKILL at a named point, so tests can prove a crash loses nothing.

`AGGREGATOR_CRASH_AT=<point>[:<n>]` kills the process the n-th time (default: the first) it
reaches `<point>`; the crash tests (tests/test_hardening_crash.py) run `aggregator fetch` this
way and then check that a second, normal run leaves the same storage dir as an uninterrupted one.
Without the variable (always, outside those tests) a point is one comparison.

Points: `fetched` (a source's adapter returned), `before-replace` / `after-replace` (around the
rename of every atomic file write: posts, feeds, markers), `before-commit` / `after-commit` (around
every SQLite write transaction) and `feed` (before each feed file of a rebuild).
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["ENV", "reached"]

ENV = "AGGREGATOR_CRASH_AT"

_point, _, _nth = os.environ.get(ENV, "").partition(":")
_target = int(_nth) if _nth.isdigit() else 1
_count = 0
_lock = threading.Lock()


def reached(point: str) -> None:
    """Kill this process here if the crash tests asked for it."""
    global _count
    if point != _point:
        return
    with _lock:
        _count += 1
        if _count == _target:
            os.kill(os.getpid(), signal.SIGKILL)
