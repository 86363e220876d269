"""Full text for feed entries that carry only a summary: fetch the entry's page, extract it.

`full_text = "auto"` (the default) fetches when an entry has no content, or content much shorter
than a typical article, or content that ends in an ellipsis; `true` always; `false` never. A page
that cannot be fetched, decoded or extracted costs nothing but a warning: the summary is used.
A page that answers 304 was extracted before and is unchanged, so its entry is skipped (as the
eastmoney adapter skips an unchanged article text).

Links are followed only within scope (RELIABILITY A4), decided by `plan_full_text` before any is
fetched: with `allow_hosts`, only links on the feed's own host or those hosts; without it, any
host (entry links often leave the feed's host: feedburner, CDN-hosted feeds), the fetcher's SSRF
guard refusing non-public addresses either way. At most `max_full_text` pages per source and pass,
in feed order; the other entries keep their summaries, with one warning line for each reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aggregator.decode import decode_document
from aggregator.errors import SourceError
from aggregator.extract import extract_article, html_text
from aggregator.feedmodel import FeedEntry
from aggregator.models import Fetcher, FullText, Source
from aggregator.sources.listing import host_allowed, url_host

__all__ = [
    "SHORT_CONTENT_CHARS",
    "FullTextOutcome",
    "fetch_full_text",
    "link_in_scope",
    "plan_full_text",
    "wants_full_text",
]

# Feed summaries run to a few hundred characters; articles (Chinese news: ~800+) run longer.
SHORT_CONTENT_CHARS: Final = 500
_TRUNCATED = re.compile(
    r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|阅读全文|查看全文|Read more|Continue reading)\W*$", re.I
)
# A _TRUNCATED match is its marker (at most this long) and the text's trailing non-word run. The
# search tries every position of a long text: it runs on the tail when that holds a word character.
_MARKER_CHARS = 16
_TAIL_CHARS = 48
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class FullTextOutcome:
    html: str | None = None  # the extracted body; None: keep the feed's own text
    title: str | None = None
    date_text: str | None = None
    unchanged: bool = False  # the page answered 304
    warning: str | None = None


def wants_full_text(mode: FullText, entry: FeedEntry) -> bool:
    if mode == "never" or not entry.link:
        return False
    if mode == "always" or not entry.content_html:
        return True
    text = html_text(entry.content_html)
    return len(text) < SHORT_CONTENT_CHARS or _truncated(text)


def _truncated(text: str) -> bool:
    """Whether `text` ends in an ellipsis or a "read more" (as `_TRUNCATED` searched in full)."""
    tail = len(text) - _TAIL_CHARS
    if tail <= _MARKER_CHARS or _WORD.search(text, tail) is None:
        return bool(_TRUNCATED.search(text))
    return bool(_TRUNCATED.search(text, tail - _MARKER_CHARS))


def link_in_scope(source: Source, link: str, feed_url: str) -> bool:
    """Whether `link` may be followed: any host without `allow_hosts`, else the feed's own host
    or one of them (matched as listings match theirs)."""
    if not source.allow_hosts:
        return True
    host = _host(link)
    return host == _host(feed_url) or host_allowed(host, source.allow_hosts)


def plan_full_text(
    source: Source, entries: Sequence[tuple[FeedEntry, str]]
) -> tuple[list[bool], list[str]]:
    """For each (entry, feed URL), in feed order: whether to fetch its page this pass; and one
    warning line per reason some entries wanting full text keep their summaries."""
    fetch: list[bool] = []
    outside: list[str] = []  # hosts of links out of scope, one per entry
    budget, over = source.max_full_text, 0
    for entry, feed_url in entries:
        wanted = wants_full_text(source.full_text, entry)
        if wanted and not link_in_scope(source, entry.link or "", feed_url):
            outside.append(_host(entry.link or ""))
            wanted = False
        elif wanted and budget <= 0:
            over += 1
            wanted = False
        budget -= wanted
        fetch.append(wanted)
    warnings = []
    if outside:
        hosts = ", ".join(sorted(set(outside))[:3]) + (", ..." if len(set(outside)) > 3 else "")
        warnings.append(
            f"full text not fetched for {_entries(len(outside))} linking outside allow_hosts"
            f" (to {hosts}); summary kept"
        )
    if over:
        warnings.append(
            f"full text not fetched for {_entries(over)} beyond max_full_text"
            f" ({source.max_full_text} pages per pass); summary kept"
        )
    return fetch, warnings


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _host(url: str) -> str:
    try:
        return url_host(url)
    except ValueError:  # an entry's link is not checked before this
        return ""


def fetch_full_text(
    source: Source, fetcher: Fetcher, entry: FeedEntry, feed_url: str
) -> FullTextOutcome:
    """The article behind `entry.link`; never raises a SourceError (it becomes a warning)."""
    link = entry.link or ""
    # the source's headers may carry credentials for the feed's host: never send them elsewhere
    same_host = _host(link) == _host(feed_url)
    try:
        result = fetcher.get(
            link, headers=source.headers if same_host else None, proxy=source.proxy
        )
        if result.not_modified:
            return FullTextOutcome(unchanged=True)
        page = decode_document(result.content, content_type=result.content_type, source=link)
        article = extract_article(page, result.url)
    except SourceError as exc:
        return FullTextOutcome(
            warning=f"{link}: full text not extracted ({_reason(exc, link)}); summary kept"
        )
    summary_text = html_text(entry.content_html or entry.summary_html or "")
    if len(article.text) < len(summary_text):
        return FullTextOutcome(
            warning=f"{link}: extracted text is shorter than the feed's ({len(article.text)} < {len(summary_text)} characters); summary kept"
        )
    return FullTextOutcome(html=article.html, title=article.title, date_text=article.date_text)


def _reason(exc: SourceError, link: str) -> str:
    """The error without a leading `<link>: ` (the warning already names the link)."""
    text = str(exc)
    return text[len(link) + 2 :] if text.startswith(f"{link}: ") else text
