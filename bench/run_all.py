"""Run every benchmark and print one line per target: PASS/FAIL/SKIP, the figure, the reference.

    python bench/run_all.py            # the full sizes (about 10 minutes on 2 cores)
    python bench/run_all.py --quick    # smaller sizes, to check that the benches work

Progress goes to stderr; the result lines to stdout. Exit code 0 even when a target fails: this
measures, it does not gate (timings are never asserted in the test suite).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_build
import bench_eastmoney
import bench_ingest
from common import Target, log


def main() -> None:
    quick = "--quick" in sys.argv
    started = time.perf_counter()
    targets: list[Target] = []
    for bench in (bench_build, bench_ingest, bench_eastmoney):
        log(f"running {bench.__name__}")
        try:
            targets += bench.main(quick)
        except Exception as exc:  # one broken bench must not hide the others' figures
            targets.append(Target(bench.__name__, f"error: {exc}"[:300], "", False))
    print(f"aggregator benchmarks ({'quick' if quick else 'full'} sizes)")
    for target in targets:
        print(target.line())
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
