"""The real `aggregator` CLI, with the feed work of the run timed.

    python bench/timed_cli.py [aggregator arguments]

Runs `aggregator.cli.main()` unchanged, except that `pipeline.rebuild_feeds` is wrapped by a timer
that prints `bench: rebuild_feeds <seconds>` to stderr each time it returns. Used where a target is
about one phase of a command (the incremental feed rebuild of a `fetch`).
"""

from __future__ import annotations

import functools
import sys
import time
from typing import Any


def main() -> None:
    from aggregator import cli, pipeline

    original = pipeline.rebuild_feeds

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            print(f"bench: rebuild_feeds {time.perf_counter() - started:.4f}", file=sys.stderr)

    pipeline.rebuild_feeds = timed
    sys.argv[0] = "aggregator"
    cli.main()


def rebuild_seconds(stderr: str) -> float:
    """The summed feed-rebuild time printed by a run of this script."""
    total = 0.0
    for line in stderr.splitlines():
        if line.startswith("bench: rebuild_feeds "):
            total += float(line.split()[-1])
    return total


if __name__ == "__main__":
    main()
