"""Many passes of `pipeline.run_once` in one process, as a long-running daemon makes them.

    python bench/daemon_standin.py PASSES        (in a dir with feeds_config.toml)

Prints `rss <pass> <MB>` (resident set from /proc/self/statm) after passes 1, 10, 100 and the last.
Uses the same objects the CLI uses: one Store, one HttpFetcher, the config's sources.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from aggregator import pipeline
from aggregator.cli import now
from aggregator.config import find_config, load_config
from aggregator.store import Store

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb() -> float:
    resident = int(Path("/proc/self/statm").read_text().split()[1])
    return resident * PAGE_MB


def main(passes: int) -> None:
    config = load_config(find_config(None))
    with Store(config.storage_dir) as store, pipeline.open_fetcher(config) as fetcher:
        for number in range(1, passes + 1):
            pipeline.run_once(config, fetcher=fetcher, store=store, clock=now)
            if number in (1, 10, 100, passes):
                gc.collect()
                print(f"rss {number} {rss_mb():.2f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
