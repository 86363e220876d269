"""Targets 1, 2 and 6: full rebuild vs Jekyll, incremental rebuild, start-up.

1. N seed-format posts in 10 categories; `jekyll build` (jekyll-feed with the same 10 category feeds,
   50 entries each) against `aggregator build` on a cold index (as after an upgrade: every file is
   indexed). Targets: >= 50x faster than Jekyll at 5,000 posts, <= 3 s at 20,000.
2. 1,000 / 10,000 / 100,000 posts on disk (indexed by one `build`), one warm-up fetch, then a fetch
   that adds one post: its feed work (pipeline.rebuild_feeds, timed by bench/timed_cli.py) must be
   < 0.3 s and within 2x between 1,000 and 100,000.
6. `aggregator --help`, best of 5: <= 0.3 s.

    python bench/bench_build.py [--quick]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))

from common import (
    BENCH_DIR,
    Target,
    aggregator_cmd,
    best_of,
    log,
    run,
    seconds,
    tool,
    workdir,
    write_config,
)
from gen_posts import CATEGORIES, generate

JEKYLL_CONFIG = """title: Bench
url: https://bench.example.org
plugins:
  - jekyll-feed
feed:
  posts_limit: 50
  categories:
{categories}
exclude: [feeds_config.toml]
"""


def _site(path: Path, posts: int) -> Path:
    _generate(path, posts)
    write_config(path / "feeds_config.toml", "", storage=".")
    categories = "\n".join(f"    - {slug}" for slug, _ in CATEGORIES)
    (path / "_config.yml").write_text(JEKYLL_CONFIG.format(categories=categories), "utf-8")
    return path


def _generate(path: Path, posts: int) -> None:
    """The posts, written out to disk before anything is timed: a real site's posts were written
    long before it is built, and a build that syncs its own files (one syncfs per group) would
    also wait for the generator's."""
    generate(path, posts)
    os.sync()


def _aggregator_build(site: Path) -> float:
    result = run([*aggregator_cmd(), "--config", "feeds_config.toml", "build"], cwd=site)
    if result.returncode:
        raise RuntimeError(result.stderr)
    return result.seconds


def bench_rebuild(quick: bool) -> list[Target]:
    jekyll = tool("jekyll")
    sizes = (1000,) if quick else (1000, 5000)
    figures: dict[int, tuple[float, float | None]] = {}
    for posts in sizes:
        with workdir(f"build{posts}") as tmp:
            site = _site(tmp / "site", posts)
            ours = _aggregator_build(site)
            theirs = None
            if jekyll:
                theirs = run([jekyll, "build", "--quiet"], cwd=site).seconds
            figures[posts] = (ours, theirs)
            log(f"{posts} posts: aggregator build {seconds(ours)}, jekyll {theirs}")
    targets = []
    posts = sizes[-1]
    ours, theirs = figures[posts]
    if theirs is None:
        targets.append(
            Target(
                f"1 rebuild vs Jekyll ({posts} posts)",
                f"aggregator build {seconds(ours)}",
                "jekyll not installed (apt-get install jekyll ruby-jekyll-feed)",
                None,
            )
        )
    else:
        ratio = theirs / ours
        small = figures[1000]
        targets.append(
            Target(
                f"1 rebuild vs Jekyll ({posts} posts)",
                f"aggregator build {seconds(ours)} = {ratio:.0f}x faster",
                f"jekyll build {seconds(theirs)}; target >= 50x"
                f" (1,000 posts: {seconds(small[0])} vs {seconds(small[1] or 0)})",
                ratio >= 50,
            )
        )
    big = 5000 if quick else 20000
    with workdir(f"build{big}") as tmp:
        site = _site(tmp / "site", big)
        cold = _aggregator_build(site)
        warm = _aggregator_build(site)
    targets.append(
        Target(
            f"1 rebuild at {big} posts",
            f"{seconds(cold)} (cold index; {seconds(warm)} warm)",
            "target <= 3 s",
            cold <= 3.0,
        )
    )
    return targets


def bench_incremental(quick: bool) -> list[Target]:
    from fake_eastmoney import Article, FakeEastmoney

    sizes = (1000, 10000) if quick else (1000, 10000, 100000)
    feed_work: dict[int, tuple[float, float]] = {}
    for posts in sizes:
        with workdir(f"incr{posts}") as tmp, FakeEastmoney() as em:
            site = tmp / "site"
            _generate(site, posts)
            source = f"""[[sources]]
name = "em"
type = "eastmoney"
url = "{em.media_url()}"
text_api = "{em.text_api}"
share_url = "{em.share_template}"
category = "emnews"
tag = "东财滚动新闻"
"""
            write_config(site / "feeds_config.toml", source, storage=".")
            _aggregator_build(site)  # indexes every post once
            argv = [sys.executable, str(BENCH_DIR / "timed_cli.py"), "fetch"]
            run(argv, cwd=site)  # warm-up: the fixture articles
            em.add_article(
                Article(
                    code="202501010000000001",
                    title="新的一篇",
                    showtime="2025-01-01 08:00:00",
                    media="东财滚动",
                    text="<p>新的一篇文章。</p>",
                )
            )
            result = run(argv, cwd=site)
            if "1 new" not in result.stdout + result.stderr:
                raise RuntimeError(f"expected one new post:\n{result.stdout}{result.stderr}")
            from timed_cli import rebuild_seconds

            feed_work[posts] = (rebuild_seconds(result.stderr), result.seconds)
            log(
                f"{posts} posts: feed work {feed_work[posts][0]:.3f} s, fetch {result.seconds:.2f} s"
            )
    smallest, largest = feed_work[sizes[0]][0], feed_work[sizes[-1]][0]
    worst = max(work for work, _ in feed_work.values())
    figures = ", ".join(f"{n}: {seconds(w)}" for n, (w, _) in feed_work.items())
    whole = ", ".join(f"{seconds(t)}" for _, t in feed_work.values())
    return [
        Target(
            "2 incremental feed work after 1 new post",
            figures,
            f"target < 0.3 s each and {sizes[-1]} <= 2x {sizes[0]}"
            f" (ratio {largest / smallest:.2f}; whole fetch incl. start-up: {whole})",
            worst < 0.3 and largest <= 2 * smallest,
        )
    ]


def bench_startup() -> list[Target]:
    result = best_of(5, [*aggregator_cmd(), "--help"])
    python = best_of(5, [sys.executable, "-c", "pass"])
    return [
        Target(
            "6 start-up: aggregator --help",
            f"{seconds(result.seconds)} (best of 5)",
            f"target <= 0.3 s (bare python: {seconds(python.seconds)})",
            result.seconds <= 0.3,
        )
    ]


def main(quick: bool = False) -> list[Target]:
    return [*bench_startup(), *bench_rebuild(quick), *bench_incremental(quick)]


if __name__ == "__main__":
    for target in main("--quick" in sys.argv):
        print(target.line())
