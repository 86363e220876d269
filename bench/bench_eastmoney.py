"""Target 4: eastmoney ingest of 2,000 items from a server 20 ms away.

A first `aggregator fetch` (`[fetch] per_host = 16`) of one media list of 2,000 items (list API + 2,000 text API calls),
writing 2,000 posts and their feeds, against bench/baselines.py fetching the same URLs (a) with bare
httpx at the adapter's concurrency and (b) one by one. Targets: <= 1.5x (a), >= 10x faster than (b).

    python bench/bench_eastmoney.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, Target, aggregator_cmd, log, run, seconds, workdir, write_config
from em_server import EastmoneyServer

# Requests in flight to the one eastmoney host: the fetcher's politeness default is 2; an operator
# raises it with `[fetch] per_host`. Both clients run at min(adapter workers, PER_HOST).
PER_HOST = 16


def main(quick: bool = False) -> list[Target]:
    from aggregator.sources.eastmoney import TEXT_WORKERS

    workers = min(TEXT_WORKERS, PER_HOST)
    items = 500 if quick else 2000
    with EastmoneyServer(items=items, latency=0.02) as em, workdir("eastmoney") as tmp:
        baseline = [sys.executable, str(BENCH_DIR / "baselines.py")]
        sequential = run([*baseline, "sequential", em.list_url, *em.text_urls])
        bare = run([*baseline, "httpx", str(workers), em.list_url, *em.text_urls])
        log(f"sequential {sequential.seconds:.2f} s, httpx x{workers} {bare.seconds:.2f} s")
        site = tmp / "site"
        site.mkdir()
        source = f"""[[sources]]
name = "em-media"
type = "eastmoney"
url = "{em.list_url}"
text_api = "{em.text_api}"
max_items = {items}
"""
        config = write_config(site / "feeds_config.toml", source, storage=".")
        text = config.read_text("utf-8")
        config.write_text(text.replace("[fetch]\n", f"[fetch]\nper_host = {PER_HOST}\n"), "utf-8")
        ours = run([*aggregator_cmd(), "fetch"], cwd=site)
        posts = len(list((site / "_posts").glob("*.md")))
        log(f"aggregator fetch {ours.seconds:.2f} s, {posts} posts; {ours.stdout.strip()[:200]}")
        ok = ours.returncode == 0 and posts == items
        return [
            Target(
                f"4 eastmoney {items} items vs bare httpx x{workers}",
                f"aggregator fetch {seconds(ours.seconds)} = {ours.seconds / bare.seconds:.2f}x"
                f" ({posts} posts)",
                f"bare httpx {seconds(bare.seconds)}; target <= 1.5x",
                ok and ours.seconds <= 1.5 * bare.seconds,
            ),
            Target(
                f"4 eastmoney {items} items vs sequential",
                f"{sequential.seconds / ours.seconds:.1f}x faster",
                f"one by one {seconds(sequential.seconds)}; target >= 10x",
                ok and sequential.seconds >= 10 * ours.seconds,
            ),
        ]


if __name__ == "__main__":
    for target in main("--quick" in sys.argv):
        print(target.line())
