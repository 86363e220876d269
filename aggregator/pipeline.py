"""run_once: the one place that wires fetch -> adapters -> normalise -> store -> feeds.

    for each source:  adapter(source, fetcher) -> RawItem[]
                      posts.make_post + posts.decide  (pure)
                      store.write_post                 (only new or changed posts)
    then:             feeds.build_atom for the site feed and every category that changed

A failing source becomes an error result and the others go on. Conditional-GET validators are
saved after each source, and only when all of its items were stored, so an item that failed here is
fetched in full next time instead of being skipped by a 304.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from . import feeds, normalise, posts
from .config import Config
from .errors import SourceError, StoreError
from .fetch import HttpFetcher
from .models import Outcome, Post, RawItem, RunReport, Source, SourceResult
from .sources import adapter_for
from .store import Store

Clock = Callable[[], datetime]
SITE_FEED = "feed.xml"


def category_feed_path(category: str) -> str:
    return f"feed/{category}.xml"


def body_renderer(config: Config) -> Callable[[str], str]:
    """Post body -> feed HTML; the footer's scheme-less site links become absolute."""
    return functools.partial(normalise.render_body, base_url=config.site.url)


def open_fetcher(config: Config) -> HttpFetcher:
    return HttpFetcher(config.fetch)


def run_once(
    config: Config,
    *,
    fetcher: HttpFetcher,
    store: Store,
    clock: Clock,
    sources: Sequence[Source] | None = None,
    on_result: Callable[[SourceResult], None] | None = None,
) -> RunReport:
    """One pass over `sources` (default: all configured), then rebuild the feeds that changed."""
    results: list[SourceResult] = []
    changed_categories: set[str] = set()
    for source in config.sources if sources is None else sources:
        result, categories = _run_source(config, source, fetcher, store, clock)
        results.append(result)
        changed_categories |= categories
        if on_result:
            on_result(result)
    written = rebuild_feeds(config, store, changed_categories)[0] if changed_categories else []
    return RunReport(results=tuple(results), feeds_written=tuple(written))


def _run_source(
    config: Config, source: Source, fetcher: HttpFetcher, store: Store, clock: Clock
) -> tuple[SourceResult, set[str]]:
    started = time.monotonic()
    # validators are kept per source: a URL two sources share (one article in two lists)
    # must look new to each of them
    fetcher.validators = store.load_validators(source.name)

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        found = adapter_for(source)(source, fetcher)
    except SourceError as exc:
        return SourceResult(source.name, "error", error=str(exc), elapsed_ms=elapsed()), set()
    if found.not_modified:
        store.save_validators(source.name, fetcher.validators)
        return SourceResult(source.name, "not_modified", elapsed_ms=elapsed()), set()

    counts = {"new": 0, "changed": 0, "unchanged": found.unchanged}
    categories: set[str] = set()
    errors = list(found.errors)
    for item in found.items:
        try:
            decision, post = _store_item(config, source, item, store, clock())
        except (SourceError, StoreError) as exc:
            errors.append(f"{item.key}: {exc}")
            continue
        counts[decision] += 1
        if decision != "unchanged":
            categories.add(post.category)

    if len(errors) == len(found.errors):
        store.save_validators(source.name, fetcher.validators)
    # else an item failed after its body was fetched: keep the old validators so it is refetched
    error = None
    if errors:
        error = errors[0] + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
    outcome: Outcome = (
        "error"
        if error
        else "new"
        if counts["new"]
        else "changed"
        if counts["changed"]
        else "unchanged"
    )
    report = SourceResult(source.name, outcome, error=error, elapsed_ms=elapsed(), **counts)
    return report, categories


def _store_item(
    config: Config, source: Source, item: RawItem, store: Store, now: datetime
) -> tuple[str, Post]:
    namespace = source.type  # ids are global per kind: an article listed by two sources is one post
    seen = store.seen(namespace, item.key)
    media = item.media or normalise.media_from_html(item.html)
    placement = posts.place(
        item,
        media,
        fallback=source.name,
        known=store.slug_map(),
        overrides=config.category_overrides,
    )
    candidate = posts.make_post(
        item,
        site=config.site,
        category=placement.category,
        tag=placement.tag,
        first_seen=seen.first_seen if seen else now,
        now=now,
    )
    filename = seen.filename if seen else candidate.filename
    existing = store.read_post(filename, body_renderer(config))
    if seen and existing is None:
        # stored once, then removed or archived by the operator: never resurrect it
        return "unchanged", candidate
    decision, post = posts.decide(existing, candidate, now)
    if decision != "unchanged":
        store.write_post(post, filename)
    if placement.remember:
        store.remember_slug(*placement.remember)
    if not seen:
        store.remember(namespace, item.key, filename, post.first_seen)
    return decision, post


def rebuild_feeds(
    config: Config, store: Store, categories: Iterable[str] | None = None
) -> tuple[list[str], list[str]]:
    """Write feed.xml and the feeds of `categories` (all when None).

    Returns the paths written and one line per post file that could not be read (skipped).
    """
    all_posts, problems = store.read_posts(body_renderer(config))
    wanted = {p.category for p in all_posts} if categories is None else set(categories)
    site = config.site
    written: list[str] = []
    jobs = [(SITE_FEED, site.title, f"{site.url}/", all_posts)]
    for category in sorted(wanted):
        in_category = [p for p in all_posts if p.category == category]
        tag = in_category[0].tag if in_category else category
        jobs.append(
            (
                category_feed_path(category),
                f"{site.title} · {tag}",
                f"{site.url}/category/{category}.html",
                in_category,
            )
        )
    for path, title, html_url, selected in jobs:
        data = feeds.build_atom(
            selected,
            site=site,
            path=path,
            title=title,
            limit=config.feed_entries,
            html_url=html_url,
        )
        if store.write_file(path, data):
            written.append(path)
    return written, problems
