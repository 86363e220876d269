"""When may a source be fetched again? Pure decisions from what its server answered and a clock.

    failed pass   410 Gone anywhere           -> disable the source (until its config changes)
                  429/503 with Retry-After    -> wait clamp(Retry-After, interval, 24 h)
                  anything else               -> exponential backoff with jitter, capped at 6 h
    good pass     Cache-Control max-age, Expires, RSS <ttl>  -> a floor on the next fetch (<= 24 h)

A "response" here is the answer to one of the source's own URLs (its feed or list), never to an
article page: one article failing says nothing about the source's health.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_BACKOFF = 6 * 3600.0
MAX_WAIT = 24 * 3600.0  # cap of Retry-After and of cache lifetimes
BACKOFF_JITTER = 0.2  # the delay is multiplied by a factor in [1 - j, 1 + j]
RETRY_AFTER_STATUSES = frozenset({429, 503})
TTL_SCAN_BYTES = 64 * 1024

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.I)
_NO_FLOOR = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|=|$)", re.I)
_RSS_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>")


@dataclass(frozen=True)
class Response:
    """What one of a source's own URLs answered in a pass."""

    url: str
    status: int | None  # None: no HTTP answer (network error, refused by policy, deadline)
    headers: Mapping[str, str]  # lower-cased names
    body_head: bytes = b""  # the first bytes of a 200 body, for RSS <ttl>
    permanent_redirect: str | None = None  # where a run of 301/308 hops led


@dataclass(frozen=True)
class Decision:
    """The verdict after a pass: no fetch before `not_before` (None: the schedule decides)."""

    not_before: datetime | None = None
    reason: str | None = None  # e.g. "backoff", "Retry-After", "Cache-Control max-age"
    gone: bool = False  # 410 Gone: disable the source


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); None if invalid.

    A date in the past gives 0 (the caller clamps it up to the interval).
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    if not text or text[0] in "+-" or text[0].isdigit():
        return None  # "-5", "1.5", "12abc": not a delta-seconds and not a date
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> tuple[float, str] | None:
    """How long the answer is fresh: Cache-Control max-age, else Expires (relative to the
    response's Date when it has one, so a skewed server clock does not matter)."""
    control = headers.get("cache-control", "")
    if _NO_FLOOR.search(control):
        return None
    max_age = _MAX_AGE.search(control)
    if max_age:
        seconds = float(int(max_age.group(1)))
        return (seconds, "Cache-Control max-age") if seconds > 0 else None
    expires = _http_date(headers.get("expires"))
    if expires is None:  # absent, "0", "-1" or garbage: already expired
        return None
    base = _http_date(headers.get("date")) or now
    seconds = (expires - base).total_seconds()
    return (seconds, "Expires") if seconds > 0 else None


def rss_ttl(body_head: bytes) -> float | None:
    """Seconds from an RSS channel's `<ttl>` (minutes), found in the first bytes of the body."""
    head = body_head[:TTL_SCAN_BYTES]
    if b"<rss" not in head and b"<channel" not in head:
        return None
    match = _RSS_TTL.search(head)
    return float(int(match.group(1)) * 60) if match and int(match.group(1)) > 0 else None


def backoff_delay(failures: int, interval: float, random: Callable[[], float]) -> float:
    """interval x 2^failures, jittered by +-20%, capped at 6 h (`random` returns [0, 1))."""
    if failures < 1:
        return 0.0
    base = min(MAX_BACKOFF, interval * 2.0 ** min(failures, 32))
    factor = 1.0 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random()
    return min(MAX_BACKOFF, base * factor)


def decide(
    *,
    failed: bool,
    failures: int,
    interval: float,
    responses: Iterable[Response],
    now: datetime,
    random: Callable[[], float],
) -> Decision:
    """The next-fetch decision after a pass; `failures` counts this pass when it failed."""
    answered = list(responses)
    if any(r.status == 410 for r in answered):
        return Decision(gone=True, reason="410 Gone")
    if failed:
        waits = [
            w
            for r in answered
            if r.status in RETRY_AFTER_STATUSES
            and (w := retry_after(r.headers.get("retry-after"), now)) is not None
        ]
        if waits:
            seconds = min(MAX_WAIT, max(interval, max(waits)))
            return Decision(now + timedelta(seconds=seconds), "Retry-After")
        delay = backoff_delay(failures, interval, random)
        return Decision(now + timedelta(seconds=delay), f"backoff after {failures} failures")
    floors: list[tuple[float, str]] = []
    for r in answered:
        lifetime = cache_lifetime(r.headers, now)
        if lifetime:
            floors.append(lifetime)
        ttl = rss_ttl(r.body_head)
        if ttl:
            floors.append((ttl, "RSS ttl"))
    if not floors:
        return Decision()
    seconds, reason = max(floors)
    if seconds <= interval:
        return Decision()  # the schedule is slower than the server asks anyway
    return Decision(now + timedelta(seconds=min(MAX_WAIT, seconds)), reason)


def _http_date(value: str | None) -> datetime | None:
    if not value or not value.strip() or value.strip()[0] in "+-0123456789":
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
