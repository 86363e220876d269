"""The feed adapter (`type = "feed"`): RSS, Atom and JSON Feed URLs -> one RawItem per entry.

Ids never change: an entry's guid (scoped to its feed unless it is an absolute IRI, since
many feeds number their items 1, 2, 3), else its link, else its title + date. The file id is a
hash of that identity (`f-<16 hex>`, always a safe file name); the Atom id is the guid itself
when it is an IRI, else a `urn:aggregator:feed:` name derived from the same hash.

Category: the source's fixed `category`, else the first entry category found in
`category_map`, else the pinyin slug of the feed's title (assigned and remembered by the
pipeline like any media name). Tag: the source's `tag`, else the entry's first category, else
the feed's title; the entry's other categories are further tags (bounded in posts.make_post).
Enclosures are appended to the body: images inline, anything else as a link.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from aggregator.feedmodel import Enclosure, FeedDoc, FeedEntry
from aggregator.models import AdapterResult, Fetcher, FetchResult, RawItem, Source

if TYPE_CHECKING:  # parsing and full text load on the first feed that is not a 304
    from aggregator.sources.fulltext import FullTextOutcome

__all__ = ["entry_identity", "fetch_feed", "item_ids", "parse_feed"]

PAGE_WORKERS: Final = 4
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_MAX_IRI = 2000
_IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:[?#]|$)", re.I)


def fetch_feed(source: Source, fetcher: Fetcher) -> AdapterResult:
    """Fetch every feed URL of `source`; then the article pages of summary-only entries."""
    found: dict[str, tuple[FeedEntry, FeedDoc, str]] = {}
    warnings: list[str] = []
    not_modified = 0
    for url in source.urls:
        result = fetcher.get(url, headers=source.headers, proxy=source.proxy)
        if result.not_modified:
            not_modified += 1
            continue
        doc = parse_feed(result, source=source.name)
        if doc.warning:
            warnings.append(doc.warning)
        for entry in doc.entries:
            key = item_ids(entry, url)[0]
            if key not in found and len(found) < source.max_items:
                found[key] = (entry, doc, url)
    if not_modified == len(source.urls):
        return AdapterResult(not_modified=True)

    from aggregator.sources.fulltext import FullTextOutcome, fetch_full_text, plan_full_text

    jobs = list(found.values())
    # which links to follow is settled up front: in scope and within max_full_text (A4)
    follow, skipped = plan_full_text(source, [(entry, url) for entry, _, url in jobs])
    warnings += skipped

    def complete(
        job: tuple[tuple[FeedEntry, FeedDoc, str], bool],
    ) -> tuple[RawItem | None, str | None]:
        (entry, doc, url), wanted = job
        outcome = FullTextOutcome()
        if wanted:
            outcome = fetch_full_text(source, fetcher, entry, url)
        if outcome.unchanged:
            return None, None
        return _raw_item(source, entry, doc, url, outcome), outcome.warning

    work = list(zip(jobs, follow, strict=True))
    if any(follow):  # article pages to fetch: PAGE_WORKERS at a time
        with ThreadPoolExecutor(max_workers=PAGE_WORKERS) as pool:
            done = list(pool.map(complete, work))
    else:  # (no threads to start: most passes of most feeds)
        done = [complete(job) for job in work]
    items = tuple(item for item, _ in done if item is not None)
    warnings += [warning for _, warning in done if warning]
    return AdapterResult(items=items, unchanged=len(done) - len(items), warnings=tuple(warnings))


def parse_feed(result: FetchResult, *, source: str) -> FeedDoc:
    """Decoded and parsed feed bytes (JSON Feed or anything feedparser reads)."""
    from aggregator.decode import decode_document
    from aggregator.fastfeed import parse_atom
    from aggregator.jsonfeed import looks_like_json_feed, parse_json_feed
    from aggregator.xmlfeed import parse_xml_feed

    text = decode_document(result.content, content_type=result.content_type, source=source)
    if looks_like_json_feed(text, result.content_type):
        return parse_json_feed(text, url=result.url, source=source)
    # plain Atom is read with lxml (equal result, ~10x faster); anything else by feedparser
    return parse_atom(text, url=result.url) or parse_xml_feed(text, url=result.url, source=source)


def entry_identity(entry: FeedEntry, feed_url: str) -> str:
    """What makes an entry itself, for as long as the feed keeps it."""
    if entry.guid:
        return entry.guid if _is_iri(entry.guid) else f"{feed_url}#guid={entry.guid}"
    if entry.link:
        return entry.link
    return f"{feed_url}#title={entry.title_html}&date={entry.date_text or ''}"


def item_ids(entry: FeedEntry, feed_url: str) -> tuple[str, str]:
    """(file id, Atom id): `f-<16 hex>` of the identity, and the entry's own guid or link when
    it is an IRI, else a `urn:aggregator:feed:<32 hex>` name."""
    identity = entry_identity(entry, feed_url)
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    own = entry.guid or entry.link
    guid = identity if own == identity else f"urn:aggregator:feed:{digest[:32]}"
    return f"f-{digest[:16]}", guid


def _is_iri(text: str) -> bool:
    return len(text) <= _MAX_IRI and bool(_IRI.match(text))


def _raw_item(
    source: Source, entry: FeedEntry, doc: FeedDoc, feed_url: str, full: FullTextOutcome
) -> RawItem:
    key, guid = item_ids(entry, feed_url)
    body = full.html or entry.content_html or entry.summary_html or ""
    return RawItem(
        source_name=source.name,
        key=key,
        guid=guid,
        title=entry.title_html or html.escape(full.title or "", quote=False),
        date_text=entry.date_text or full.date_text,
        timezone=source.timezone,
        link=entry.link or "",
        html=body + _enclosures_html(entry.enclosures, body),
        media=doc.title or None,
        category=source.category or _mapped_category(entry.categories, source),
        tag=source.tag or next(iter(entry.categories), None) or doc.title or source.name,
        author=entry.author,
        extra_tags=entry.categories,
    )


def _mapped_category(categories: Sequence[str], source: Source) -> str | None:
    return next((source.category_map[c] for c in categories if c in source.category_map), None)


def _enclosures_html(enclosures: Sequence[Enclosure], body: str) -> str:
    """Images inline, other files as links; anything the body already shows is skipped."""
    parts = []
    for enclosure in enclosures:
        if enclosure.url in body or not enclosure.url.startswith(("http://", "https://")):
            continue
        url = html.escape(enclosure.url)
        if enclosure.mime_type.startswith("image/") or (
            not enclosure.mime_type and _IMAGE_FILE.search(enclosure.url)
        ):
            parts.append(f'<p><img src="{url}" alt=""></p>')
        else:
            name = urlsplit(enclosure.url).path.rsplit("/", 1)[-1] or enclosure.url
            kind = f" ({html.escape(enclosure.mime_type)})" if enclosure.mime_type else ""
            parts.append(f'<p><a href="{url}">{html.escape(name)}</a>{kind}</p>')
    return "".join(parts)
