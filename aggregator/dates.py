"""Publish times as sources write them -> aware datetimes.

Sources give ISO 8601, RFC 822, epoch numbers, eastmoney's `YYYY-MM-DD HH:MM:SS` (China time,
no zone) and Chinese relative forms (`今天 16:25`, `3分钟前`). Every parser here returns an aware
datetime or None; bad text never raises, because one bad date must not cost the whole item.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["parse_date"]

_MAX_DATE_TEXT = 100  # longer strings are not dates

# `2021-12-16 09:30:00`, `2021/12/16 09:30`, `2021-12-16T09:30:00.5+08:00`, `2021-12-16`, ...
_NUMERIC = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
# `2021年12月16日 09:30`, `12月16日 09:30`, `2021年12月16日09时30分`
_CHINESE = re.compile(
    r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"
    r"(?:\s*(\d{1,2})\s*[:时]\s*(\d{1,2})\s*(?:分\s*(?:(\d{1,2})\s*秒)?|:(\d{1,2}))?)?"
)
_DAY_WORD = re.compile(r"(今天|昨天|前天)\s*(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}
_AGO = re.compile(r"(\d{1,6})\s*(秒|秒钟|分|分钟|小时|个小时|天|周|星期)前")
_AGO_UNIT = {
    "秒": timedelta(seconds=1),
    "秒钟": timedelta(seconds=1),
    "分": timedelta(minutes=1),
    "分钟": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "个小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
}
_JUST_NOW = frozenset({"刚刚", "刚才"})
_EPOCH = re.compile(r"\d{10}|\d{13}")
_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)
_HAS_WORD = re.compile(r"[A-Za-z]{3}")  # RFC 822 always names a weekday or month
_ZONE_NAME = re.compile(r"\s([A-Za-z]{2,5})$")  # a trailing zone abbreviation


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_date(text: str | None, tz: str, now: datetime) -> datetime | None:
    """Parse a source's date text; naive times are in zone `tz`, relative ones count from `now`.

    Returns an aware datetime, never later than `now`, or None when the text is empty, garbage
    or an impossible date (`0000-00-00`, `2024-02-30`). `now` must be aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_date needs an aware `now`")
    if not text:
        return None
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    if not cleaned or len(cleaned) > _MAX_DATE_TEXT:
        return None
    zone = _zone(tz)
    for parser in _PARSERS:
        try:
            parsed = parser(cleaned, zone, now)
        except (ValueError, OverflowError, OSError, TypeError, IndexError):
            return None  # the form matched but the values are impossible
        if parsed is not None:
            return now.astimezone(zone) if parsed > now else parsed
    return None


def _localise(naive: datetime, zone: tzinfo) -> datetime:
    """Attach `zone` to a wall time; DST gaps/overlaps resolve with fold=0, deterministically."""
    aware = naive.replace(tzinfo=zone, fold=0)
    # The round trip turns a wall time inside a DST gap into the real instant's wall time.
    return aware.astimezone(UTC).astimezone(zone)


def _offset(text: str) -> tzinfo:
    if text.upper() in {"Z", "UTC", "GMT"}:
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad UTC offset {text}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _parse_relative(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    if text in _JUST_NOW:
        return now.astimezone(zone)
    ago = _AGO.fullmatch(text)
    if ago:
        return (now - int(ago.group(1)) * _AGO_UNIT[ago.group(2)]).astimezone(zone)
    day = _DAY_WORD.fullmatch(text)
    if day:
        local_day = now.astimezone(zone).date() - timedelta(days=_DAYS_BACK[day.group(1)])
        clock = time(int(day.group(2) or 0), int(day.group(3) or 0), int(day.group(4) or 0))
        return _localise(datetime.combine(local_day, clock), zone)
    return None


def _parse_epoch(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    if not _EPOCH.fullmatch(text):
        return None
    millis = int(text) if len(text) == 13 else int(text) * 1000
    return (_EPOCH_START + timedelta(milliseconds=millis)).astimezone(zone)


def _parse_numeric(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    match = _NUMERIC.fullmatch(text)
    if not match:
        return None
    year, _, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    naive = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if offset:
        return naive.replace(tzinfo=_offset(offset))
    return _localise(naive, zone)


def _parse_chinese(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    match = _CHINESE.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second_cn, second_colon = match.groups()
    clock = time(int(hour or 0), int(minute or 0), int(second_cn or second_colon or 0))
    if year:
        return _localise(datetime.combine(date(int(year), int(month), int(day)), clock), zone)
    this_year = now.astimezone(zone).year
    parsed = _localise(datetime.combine(date(this_year, int(month), int(day)), clock), zone)
    # `12月31日` read on 1 January is last year's, not a date eleven months ahead.
    if parsed - now > timedelta(days=1):
        parsed = _localise(datetime.combine(date(this_year - 1, int(month), int(day)), clock), zone)
    return parsed


def _parse_iso(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    """ISO 8601 forms the numeric pattern does not cover (`20211216T093000Z`, week dates)."""
    if not text[:1].isdigit():
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None  # not ISO either: let the RFC 822 parser try (`01 Oct 2024 ...`)
    return _localise(parsed, zone) if parsed.tzinfo is None else parsed


def _parse_rfc822(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    if not _HAS_WORD.search(text):
        return None
    parsed = email.utils.parsedate_to_datetime(text)
    named = _ZONE_NAME.search(text)
    if named and named.group(1).upper() == _localise(parsed.replace(tzinfo=None), zone).tzname():
        # "CST" is US Central to RFC 822 but China Standard Time to a Chinese feed: a name that
        # the source's own zone uses at that time means the source's zone
        return _localise(parsed.replace(tzinfo=None), zone)
    if parsed.tzinfo is not None:
        return parsed
    if text.endswith("-0000"):  # RFC 5322: UTC, local zone not disclosed
        return parsed.replace(tzinfo=UTC)
    return _localise(parsed, zone)  # an unknown zone name: fall back to the source's zone


_Parser = Callable[[str, tzinfo, datetime], datetime | None]
_PARSERS: tuple[_Parser, ...] = (
    _parse_relative,
    _parse_epoch,
    _parse_numeric,
    _parse_chinese,
    _parse_iso,
    _parse_rfc822,
)
