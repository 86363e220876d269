"""run_once: the one place that wires fetch -> adapters -> normalise -> store -> feeds.

    for each source:  adapter(source, fetcher) -> RawItem[]
                      posts.make_post + posts.decide  (pure)
                      store.write_post                 (only new or changed posts)
    then:             publish (atomxml) for the site feed and every category that changed

A failing source becomes an error result and the others go on. Conditional-GET validators are
saved after each source, and only when all of its items were stored, so an item that failed here is
fetched in full next time instead of being skipped by a 304.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from . import canary, crashpoints, dedupe, filters, normalise, posts, prefetch, retention
from .cleanpool import Cleaned, CleanPool
from .config import Config, configured_ports
from .errors import SourceError, StoreError
from .hostlimit import HostLimiter
from .models import (
    AdapterResult,
    Fetcher,
    Outcome,
    Post,
    RawItem,
    RunReport,
    Source,
    SourceResult,
    Validators,
)
from .store import Store
from .writebatch import BatchCommit

if TYPE_CHECKING:  # fetch (httpx), health (apscheduler) and the adapters load on first use:
    # `build` never needs them
    from .fetch import HttpFetcher
    from .health import HealthTracker, WatchedFetcher

Clock = Callable[[], datetime]
T = TypeVar("T")
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

    Sources are fetched and parsed a few at a time in threads (FETCH_WORKERS, at most
    FETCH_AHEAD waiting) while this thread stores them one by one in the given order, so the
    result is the same as a sequential pass.
    """
    results: list[SourceResult] = []
    changed_categories: set[str] = set()
    store.clean_temp_files()  # left by a crashed run (a live writer's temp files are kept)
    owed = store.feeds_pending()  # a run stopped between writing posts and rebuilding feeds
    chosen = config.sources if sources is None else sources
    # a fetcher without per-source views (a test double) is used one source at a time
    shared = hasattr(fetcher, "for_source")

    cleaner = CleanPool()  # bodies cleaned in other processes while this thread stores

    def fetch(source: Source) -> _Fetched:
        return _fetch_source(source, fetcher, store, health, force=force, cleaner=cleaner)

    waiting: _Finishing | None = None  # the source stored last, its batch perhaps still going in
    with cleaner, store.post_listing():
        for _, fetched in prefetch.in_order(
            fetch,
            chosen,
            workers=FETCH_WORKERS if shared else 1,
            ahead=FETCH_AHEAD if shared else 1,
            should_stop=should_stop,
        ):
            # a source's batch goes in on a helper thread while the next one is stored; its
            # result (and validators) follow once it is in
            stored = _store_source(config, fetched, store, clock, cleaner)
            if waiting is not None:
                changed_categories |= _finish(waiting, health, results, on_result)
            waiting = stored
        if waiting is not None:
            changed_categories |= _finish(waiting, health, results, on_result)
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


FETCH_WORKERS = 4  # sources fetched and parsed at once (the per-host limit still applies)
FETCH_AHEAD = 8  # sources fetched but not yet stored, at most: bounds the items held in memory


@dataclasses.dataclass
class _Fetched:
    """One source after its adapter ran (in a worker thread), waiting to be stored."""

    configured: Source  # as configured (health records by it)
    source: Source  # with moved URLs followed
    started: float
    validators: dict[str, Validators]
    found: AdapterResult | None = None
    error: str | None = None  # the adapter failed
    skipped: SourceResult | None = None  # health said not now
    watched: WatchedFetcher | None = None  # health is tracking this source
    cleaned: Cleaned | None = None  # the items' bodies, cleaned by the CleanPool

    def elapsed(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


def _fetch_source(
    source: Source,
    fetcher: HttpFetcher,
    store: Store,
    health: HealthTracker | None,
    *,
    force: bool,
    cleaner: CleanPool | None = None,
) -> _Fetched:
    """Run the source's adapter (between the health tracker's skip check and its watch)."""
    started = time.monotonic()
    # validators are kept per source: a URL two sources share (one article in two lists)
    # must look new to each of them
    validators = {} if force else store.load_validators(source.name)
    fetched = _Fetched(source, source, started, validators)
    through: Fetcher
    if hasattr(fetcher, "for_source"):
        through = fetcher.for_source(validators)
    else:
        fetcher.validators = validators
        through = fetcher
    if health is not None and health.tracks(source):
        fetched.skipped = health.skip(source)  # the tracker has its own, sub-second clock
        if fetched.skipped is not None:
            return fetched
        fetched.source, fetched.watched = health.watch(source, through)
        through = fetched.watched
    try:
        from .sources import adapter_for

        fetched.found = adapter_for(fetched.source)(fetched.source, through)
        if cleaner is not None:
            fetched.cleaned = cleaner.submit(fetched.found.items)
    except SourceError as exc:
        fetched.error = str(exc)
    return fetched


@dataclasses.dataclass
class _Finishing:
    """A source whose items are stored and whose batch may still be going in."""

    fetched: _Fetched
    finish: Callable[[], tuple[SourceResult, set[str]]]  # waits for the batch; result, categories


def _finish(
    finishing: _Finishing,
    health: HealthTracker | None,
    results: list[SourceResult],
    on_result: Callable[[SourceResult], None] | None,
) -> set[str]:
    """Wait for the source's batch, then record and report its result; its changed categories."""
    result, categories = finishing.finish()
    fetched = finishing.fetched
    if health is not None and fetched.watched is not None:
        health.record(fetched.configured, result, fetched.watched)
    results.append(result)
    if on_result:
        on_result(result)
    return categories


def _store_source(
    config: Config, fetched: _Fetched, store: Store, clock: Clock, cleaner: CleanPool | None = None
) -> _Finishing:
    """Store what one source's adapter found, item by item; `finish` gives its result and
    changed categories once its batch is in."""
    source = fetched.source

    def done(result: SourceResult) -> _Finishing:
        return _Finishing(fetched, lambda: (result, set()))

    if fetched.skipped is not None:
        return done(fetched.skipped)
    if fetched.error is not None or fetched.found is None:
        reason = fetched.error or "no result"
        return done(SourceResult(source.name, "error", error=reason, elapsed_ms=fetched.elapsed()))
    found = fetched.found
    crashpoints.reached("fetched")
    if found.not_modified:
        store.save_validators(source.name, fetched.validators)
        return done(SourceResult(source.name, "not_modified", elapsed_ms=fetched.elapsed()))

    counts = {"new": 0, "changed": 0, "unchanged": found.unchanged, "duplicates": 0, "filtered": 0}
    held = 0
    categories: set[str] = set()
    failed: list[str] = []  # items the adapter returned that could not be stored

    def store_one(item: RawItem, lost: frozenset[str], cleaned: str | None = None) -> None:
        nonlocal held
        if not filters.passes(item, source.include, source.exclude):
            counts["filtered"] += 1
            return
        if lost and not lost <= canary.item_fields(item, clock()):
            held += 1
            return
        try:
            if cleaned is None and fetched.cleaned:
                cleaned = fetched.cleaned.get(item)
            decision, post = _store_item(config, source, item, store, clock(), cleaned)
        except (SourceError, StoreError) as exc:
            failed.append(f"{item.key}: {exc}")
            return
        counts[decision] += 1
        if decision in ("new", "changed"):
            categories.add(post.category)

    # canaries: a source that stops yielding, or whose items lose a field, is degraded and its
    # items lacking that field are held back (see canary.py)
    previous = store.last_yield(source.name)
    adapter_errors = list(found.errors)
    # one batch per source: its post files are synced together, its rows committed together
    verdict: canary.Verdict | None = None  # stays None when the batch fails before the verdict
    commit: BatchCommit | None = None

    def batch_failed(exc: StoreError) -> None:
        failed.append(str(exc))
        # its items are not in the state, so the next fetch stores them as new: none counts now
        # (items of a part flushed earlier in a large batch are then under-counted, never over)
        counts["new"] = counts["changed"] = 0

    try:
        with store.batch(behind=True) as commit:
            if found.stream is None:
                items: list[RawItem] = list(found.items)
                verdict = canary.check(items, found.unchanged, previous, clock())
                _read_ahead(store, source, items)
                for item in items:
                    store_one(item, verdict.lost)
            else:
                # items are stored as they arrive, in order, while each has every field of the last
                # healthy pass (no verdict can hold such an item back); from the first that lacks one,
                # the rest wait for the verdict over all items
                baseline = previous[1] if previous else frozenset()
                items = []
                waiting: list[tuple[RawItem, str | None]] = []
                unread: list[RawItem] = []  # arrived; their state rows not yet read ahead
                # streamed bodies are cleaned in the CleanPool's process as they arrive
                streamed: Iterable[tuple[RawItem | str | None, str | None]] = (
                    cleaner.ahead(found.stream, on_arrival=_collect(unread))
                    if cleaner
                    else _uncleaned(found.stream)
                )
                for arrived, cleaned in itertools.chain(_uncleaned(found.items), streamed):
                    if arrived is None:
                        counts["unchanged"] += 1
                    elif isinstance(arrived, str):
                        adapter_errors.append(arrived)
                    else:
                        if unread:
                            _read_ahead(store, source, unread)
                            unread.clear()
                        items.append(arrived)
                        if waiting or (
                            baseline and not baseline <= canary.item_fields(arrived, clock())
                        ):
                            waiting.append((arrived, cleaned))
                        else:
                            store_one(arrived, frozenset(), cleaned)
                verdict = canary.check(items, counts["unchanged"], previous, clock())
                for item, cleaned in waiting:
                    store_one(item, verdict.lost, cleaned)
    except StoreError as exc:  # the batch could not be stored: retried next time
        batch_failed(exc)

    staged_ms = fetched.elapsed()  # (the next source's items are stored while this one waits)

    def finish() -> tuple[SourceResult, set[str]]:
        waited = time.monotonic()
        if commit is not None:
            try:
                commit.wait()
            except StoreError as exc:
                batch_failed(exc)
        elapsed_ms = staged_ms + int((time.monotonic() - waited) * 1000)
        errors, all_stored = adapter_errors + failed, not failed
        return (
            _source_result(store, fetched, verdict, counts, held, errors, all_stored, elapsed_ms),
            categories,
        )

    return _Finishing(fetched, finish)


def _source_result(
    store: Store,
    fetched: _Fetched,
    verdict: canary.Verdict | None,
    counts: dict[str, int],
    held: int,
    errors: list[str],
    all_stored: bool,
    elapsed_ms: int,
) -> SourceResult:
    """Once a source's batch is in: keep its yield and validators, and word its result."""
    source = fetched.source
    if verdict is not None and verdict.baseline is not None:
        store.save_yield(source.name, *verdict.baseline)

    if all_stored and verdict is not None and verdict.degraded is None:
        store.save_validators(source.name, fetched.validators)
    # else an item failed after its body was fetched: keep the old validators so it is refetched
    error: str | None = None
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
    judged = verdict.degraded if verdict is not None else None
    degraded = judged and judged + (f"; {held} held back" if held else "")
    return SourceResult(
        source.name,
        outcome,
        error=error,
        elapsed_ms=elapsed_ms,
        degraded=degraded or None,
        warnings=fetched.found.warnings if fetched.found else (),
        **counts,
    )


def _read_ahead(store: Store, source: Source, items: Sequence[RawItem]) -> None:
    """Read the state rows `_store_item` asks for, of all `items` at once (Store.prefetch)."""
    store.prefetch(
        source.type, [(item.key, dedupe.identities(item, source.type)) for item in items]
    )


def _collect(into: list[RawItem]) -> Callable[[object], None]:
    def collect(outcome: object) -> None:
        if isinstance(outcome, RawItem):
            into.append(outcome)

    return collect


def _uncleaned(outcomes: Iterable[T]) -> Iterator[tuple[T, str | None]]:
    return ((outcome, None) for outcome in outcomes)


def _unrendered(body: str) -> str:
    return ""


def _store_item(
    config: Config,
    source: Source,
    item: RawItem,
    store: Store,
    now: datetime,
    cleaned: str | None = None,
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
        render=False,  # content_html follows from the body: compare bodies, render in the feeds
        cleaned=cleaned,
    )
    article_ids = () if seen else dedupe.identities(item, source.type)
    scope = None if source.dedupe == "global" else placement.category
    if article_ids and store.find_article(article_ids, scope):
        return "duplicates", candidate  # the same article is already a post (of another key)
    filename = seen.filename if seen else candidate.filename
    existing = store.read_post(filename, _unrendered)
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
    """Write feed.xml and the feeds of `categories` (all when None), with what depends on them.

    Returns the feed paths written and one line per post file that could not be read (skipped).
    `html` also renders the standalone site into _site/ (see publish). Posts come from the store's
    index (publish, feedpages): only the files of the documents written are read.
    A full rebuild (categories None) first re-indexes new and changed files on disk.
    """
    store.sync_index(full=categories is None)
    problems = store.index_problems() if categories is None else []
    from . import publish  # (jinja2, feedgen, Markdown: a pass of 304s never needs them)

    done = publish.publish(
        config,
        store,
        body_renderer(config),
        None if categories is None else set(categories),
        html=html,
    )
    return done.feeds, problems + done.problems
