"""Full text for feed entries that carry only a summary: fetch the entry's page, extract it.

`full_text = "auto"` (the default) fetches when an entry has no content, or content much shorter
than a typical article, or content that ends in an ellipsis; `true` always; `false` never. A page
that cannot be fetched, decoded or extracted costs nothing but a warning: the summary is used.
A page that answers 304 was extracted before and is unchanged, so its entry is skipped (as the
eastmoney adapter skips an unchanged article text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from aggregator.decode import decode_document
from aggregator.errors import SourceError
from aggregator.extract import extract_article, html_text
from aggregator.feedmodel import FeedEntry
from aggregator.models import Fetcher, FullText, Source

__all__ = ["SHORT_CONTENT_CHARS", "FullTextOutcome", "fetch_full_text", "wants_full_text"]

# Feed summaries run to a few hundred characters; articles (Chinese news: ~800+) run longer.
SHORT_CONTENT_CHARS: Final = 500
_TRUNCATED = re.compile(
    r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|阅读全文|查看全文|Read more|Continue reading)\W*$", re.I
)


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
    return len(text) < SHORT_CONTENT_CHARS or bool(_TRUNCATED.search(text))


def fetch_full_text(
    source: Source, fetcher: Fetcher, entry: FeedEntry, feed_url: str
) -> FullTextOutcome:
    """The article behind `entry.link`; never raises a SourceError (it becomes a warning)."""
    link = entry.link or ""
    # the source's headers may carry credentials for the feed's host: never send them elsewhere
    same_host = urlsplit(link).hostname == urlsplit(feed_url).hostname
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
