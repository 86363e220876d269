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

import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from . import canary, crashpoints, dedupe, filters, normalise, posts, publish, retention
from .config import Config, configured_ports
from .errors import SourceError, StoreError
from .health import HealthTracker
from .hostlimit import HostLimiter
from .models import Fetcher, Outcome, Post, RawItem, RunReport, Source, SourceResult
from .store import Store

if TYPE_CHECKING:  # fetch (httpx) and the adapters load on first use: `build` never needs them
    from .fetch import HttpFetcher

Clock = Callable[[], datetime]
SITE_FEED = "feed.xml"


def category_feed_path(category: str) -> str:
    return f"feed/{category}.xml"


def body_renderer(config: Config) -> Callable[[str], str]:
    """Post body -> feed HTML; the footer's scheme-less site links become absolute."""
    return functools.partial(normalise.render_body, base_url=config.site.url)


def open_fetcher(
    config: Config, sources: Sequence[Source] = (), *, host_limiter: HostLimiter | None = None
) -> HttpFetcher:
    """The run's fetcher; ports written in `sources` (ad-hoc `--url`s) are allowed like the config's.

    The daemon passes one `host_limiter` to every batch, so per-host limits hold across batches."""
    settings = config.fetch
    if settings.allowed_ports is not None and sources:
        ports = settings.allowed_ports | configured_ports(sources)
        settings = dataclasses.replace(settings, allowed_ports=ports)
    from .fetch import HttpFetcher

    return HttpFetcher(settings, host_limiter=host_limiter)


def run_once(
    config: Config,
    *,
    fetcher: HttpFetcher,
    store: Store,
    clock: Clock,
    sources: Sequence[Source] | None = None,
    on_result: Callable[[SourceResult], None] | None = None,
    force: bool = False,
    health: HealthTracker | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunReport:
    """One pass over `sources` (default: all configured), then rebuild the feeds that changed.

    force=True sends no validators, so every list and article is fetched and re-normalised and
    the posts whose content changed (after a selector or rule change) are rewritten.
    `health` skips disabled / not-yet-due sources and records each outcome (see health.py);
    `should_stop` is asked before each source (the daemon's shutdown: finish, don't start).
    """
    results: list[SourceResult] = []
    changed_categories: set[str] = set()
    store.clean_temp_files()  # left by a crashed run (a live writer's temp files are kept)
    owed = store.feeds_pending()  # a run stopped between writing posts and rebuilding feeds
    for source in config.sources if sources is None else sources:
        if should_stop is not None and should_stop():
            break
        result, categories = _run_tracked(config, source, fetcher, store, clock, health, force)
        results.append(result)
        changed_categories |= categories
        if on_result:
            on_result(result)
    written: list[str] = []
    if owed:  # which categories that run touched is unknown: rebuild all, re-indexing the files
        written = rebuild_feeds(config, store)[0]
    elif changed_categories:
        written = rebuild_feeds(config, store, changed_categories)[0]
    if owed or changed_categories:
        store.clear_feeds_pending()
    archived: list[str] = []
    if config.retention_days is not None:  # after the feeds: the index has every new post by now
        zone = ZoneInfo(config.site.timezone)
        archived = retention.archive_old_posts(store, config.retention_days, clock(), zone)
    return RunReport(results=tuple(results), feeds_written=tuple(written), archived=tuple(archived))


def _run_tracked(
    config: Config,
    source: Source,
    fetcher: HttpFetcher,
    store: Store,
    clock: Clock,
    health: HealthTracker | None,
    force: bool,
) -> tuple[SourceResult, set[str]]:
    """_run_source between the health tracker's skip check and its record."""
    if health is None or not health.tracks(source):
        return _run_source(config, source, fetcher, store, clock, force=force)
    skipped = health.skip(source)  # the tracker has its own, sub-second clock
    if skipped is not None:
        return skipped, set()
    effective, watched = health.watch(source, fetcher)
    result, categories = _run_source(
        config, effective, fetcher, store, clock, force=force, adapter_fetcher=watched
    )
    health.record(source, result, watched)
    return result, categories


def _run_source(
    config: Config,
    source: Source,
    fetcher: HttpFetcher,
    store: Store,
    clock: Clock,
    *,
    force: bool = False,
    adapter_fetcher: Fetcher | None = None,  # what the adapter fetches through (health watch)
) -> tuple[SourceResult, set[str]]:
    started = time.monotonic()
    # validators are kept per source: a URL two sources share (one article in two lists)
    # must look new to each of them
    fetcher.validators = {} if force else store.load_validators(source.name)

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        from .sources import adapter_for

        found = adapter_for(source)(source, adapter_fetcher or fetcher)
    except SourceError as exc:
        return SourceResult(source.name, "error", error=str(exc), elapsed_ms=elapsed()), set()
    crashpoints.reached("fetched")
    if found.not_modified:
        store.save_validators(source.name, fetcher.validators)
        return SourceResult(source.name, "not_modified", elapsed_ms=elapsed()), set()

    # canaries: a source that stops yielding, or whose items lose a field, is degraded and its
    # items lacking that field are held back (see canary.py)
    verdict = canary.check(found.items, found.unchanged, store.last_yield(source.name), clock())
    if verdict.baseline is not None:
        store.save_yield(source.name, *verdict.baseline)
    counts = {"new": 0, "changed": 0, "unchanged": found.unchanged, "duplicates": 0, "filtered": 0}
    held = 0
    categories: set[str] = set()
    errors = list(found.errors)
    for item in found.items:
        if not filters.passes(item, source.include, source.exclude):
            counts["filtered"] += 1
            continue
        if verdict.lost and not verdict.lost <= canary.item_fields(item, clock()):
            held += 1
            continue
        try:
            decision, post = _store_item(config, source, item, store, clock())
        except (SourceError, StoreError) as exc:
            errors.append(f"{item.key}: {exc}")
            continue
        counts[decision] += 1
        if decision in ("new", "changed"):
            categories.add(post.category)

    if len(errors) == len(found.errors) and verdict.degraded is None:
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
    degraded = verdict.degraded and verdict.degraded + (f"; {held} held back" if held else "")
    report = SourceResult(
        source.name,
        outcome,
        error=error,
        elapsed_ms=elapsed(),
        degraded=degraded or None,
        warnings=found.warnings,
        **counts,
    )
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
    article_ids = () if seen else dedupe.identities(item, source.type)
    scope = None if source.dedupe == "global" else placement.category
    if article_ids and store.find_article(article_ids, scope):
        return "duplicates", candidate  # the same article is already a post (of another key)
    filename = seen.filename if seen else candidate.filename
    existing = store.read_post(filename, body_renderer(config))
    if seen and existing is None:
        # stored once, then removed or archived by the operator: never resurrect it
        return "unchanged", candidate
    stored = dedupe.against_stored(existing, source.name, candidate.category, source.dedupe)
    if stored == "duplicate":
        return "duplicates", candidate  # another source's post: leave it alone
    if stored == "twin":
        twin = dedupe.as_twin(item, candidate.category)
        return _store_item(config, source, twin, store, now)
    decision, post = posts.decide(existing, candidate, now)
    if decision != "unchanged":
        store.mark_feeds_pending()  # before the write: a crash after it still owes the feeds
        store.write_post(post, filename)
    if placement.remember:
        store.remember_slug(*placement.remember)
    if not seen:
        store.remember(namespace, item.key, filename, post.first_seen)
        store.remember_article(article_ids, post.category, filename)
    return decision, post


def rebuild_feeds(
    config: Config, store: Store, categories: Iterable[str] | None = None, *, html: bool = False
) -> tuple[list[str], list[str]]:
    """Write feed.xml and the feeds of `categories` (all when None).

    Returns the feed paths written and one line per post file that could not be read (skipped).
    `html` also renders the standalone site into _site/ (see publish). Posts come from the store's index: only the newest `feed_entries` files of each feed are read.
    A full rebuild (categories None) first re-indexes new and changed files on disk.
    """
    render = body_renderer(config)
    limit = config.feed_entries
    store.sync_index(full=categories is None)
    problems = store.index_problems() if categories is None else []
    wanted = set(store.index_categories()) if categories is None else set(categories)
    site_posts, unreadable = store.newest_posts(None, limit, render)
    problems += unreadable
    site = config.site
    written: list[str] = []
    jobs = [(SITE_FEED, site.title, f"{site.url}/", site_posts)]
    for category in sorted(wanted):
        in_category, unreadable = store.newest_posts(category, limit, render)
        problems += unreadable
        tag = store.category_tag(category) or category
        jobs.append(
            (
                category_feed_path(category),
                f"{site.title} · {tag}",
                f"{site.url}/category/{category}.html",
                in_category,
            )
        )
    # publish writes these feeds (with JSON twins, RFC 5005 archives, WebSub links; the `feed`
    # crash point before each) and what depends on the changed categories: tag feeds, category
    # pages, OPML, the _site/ pages
    done = publish.publish(
        config,
        store,
        [publish.spec_for_path(*job) for job in jobs],
        lambda: store.read_posts(render)[0],
        wanted,
        full=categories is None,
        html=html,
    )
    written += done.feeds
    return written, problems + done.problems
