"""parse_date: every form sources use, with exact expected instants and offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator.dates import parse_date
from aggregator.normalise import parse_date as reexported

SHANGHAI = "Asia/Shanghai"
CST = ZoneInfo(SHANGHAI)
NOW = datetime(2021, 12, 16, 15, 0, 0, tzinfo=CST)  # a fetch at 15:00 China time


def cst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CST)


def assert_same(actual: datetime | None, expected: datetime) -> None:
    """Same instant and same UTC offset (== alone ignores the offset).

    Instants go through UTC because PEP 495 makes a time inside a DST overlap unequal to
    every time of another zone.
    """
    assert actual is not None
    assert actual.astimezone(UTC) == expected.astimezone(UTC)
    assert actual.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # eastmoney: China time without a zone
        ("2021-12-16 09:30:00", cst(2021, 12, 16, 9, 30, 0)),
        ("2021-12-16 09:30", cst(2021, 12, 16, 9, 30)),
        ("2021-12-16", cst(2021, 12, 16)),
        ("2021/12/16 09:30:00", cst(2021, 12, 16, 9, 30)),
        ("2021/12/16 9:05", cst(2021, 12, 16, 9, 5)),
        ("2021/12/16", cst(2021, 12, 16)),
        ("  2021-12-16   09:30:00  ", cst(2021, 12, 16, 9, 30)),
        # the post file's own format
        ("2021-12-16 09:30:00 +0800", cst(2021, 12, 16, 9, 30)),
        # ISO 8601
        ("2021-12-16T09:30:00+08:00", cst(2021, 12, 16, 9, 30)),
        ("2021-12-16T09:30:00", cst(2021, 12, 16, 9, 30)),
        ("2021-12-16T01:30:00Z", datetime(2021, 12, 16, 1, 30, tzinfo=UTC)),
        ("2021-12-16T01:30:00.250Z", datetime(2021, 12, 16, 1, 30, 0, 250000, tzinfo=UTC)),
        (
            "2021-12-15T20:30:00-05:00",
            datetime(2021, 12, 15, 20, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("20211216T013000Z", datetime(2021, 12, 16, 1, 30, tzinfo=UTC)),
        # RFC 822 / 1123
        ("Thu, 16 Dec 2021 09:30:00 +0800", cst(2021, 12, 16, 9, 30)),
        ("Thu, 16 Dec 2021 01:30:00 GMT", datetime(2021, 12, 16, 1, 30, tzinfo=UTC)),
        (
            "Wed, 15 Dec 2021 20:30:00 EST",
            datetime(2021, 12, 15, 20, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (
            "15 Dec 2021 17:30:00 PST",
            datetime(2021, 12, 15, 17, 30, tzinfo=timezone(timedelta(hours=-8))),
        ),
        ("Thu, 16 Dec 2021 01:30:00 -0000", datetime(2021, 12, 16, 1, 30, tzinfo=UTC)),
        ("Thu, 16 Dec 2021 09:30:00 XYZ", cst(2021, 12, 16, 9, 30)),  # unknown zone: source's
        # epoch seconds and milliseconds
        ("1639618200", cst(2021, 12, 16, 9, 30)),
        ("1639618200000", cst(2021, 12, 16, 9, 30)),
        ("1639618200123", datetime(2021, 12, 16, 9, 30, 0, 123000, tzinfo=CST)),
        # Chinese absolute forms
        ("2021年12月16日 09:30", cst(2021, 12, 16, 9, 30)),
        ("2021年12月16日09:30:15", cst(2021, 12, 16, 9, 30, 15)),
        ("2021年12月16日 09时30分", cst(2021, 12, 16, 9, 30)),
        ("2021年1月6日", cst(2021, 1, 6)),
        ("12月16日 09:30", cst(2021, 12, 16, 9, 30)),
        ("12月1日", cst(2021, 12, 1)),
        ("１２月１６日　０９：３０", cst(2021, 12, 16, 9, 30)),  # full-width digits
        # Chinese relative forms, read against NOW (2021-12-16 15:00)
        ("今天 10:25", cst(2021, 12, 16, 10, 25)),
        ("今天10:25", cst(2021, 12, 16, 10, 25)),
        ("昨天 10:00", cst(2021, 12, 15, 10, 0)),
        ("前天 23:59:59", cst(2021, 12, 14, 23, 59, 59)),
        ("3分钟前", cst(2021, 12, 16, 14, 57)),
        ("2小时前", cst(2021, 12, 16, 13, 0)),
        ("30秒前", cst(2021, 12, 16, 14, 59, 30)),
        ("1天前", cst(2021, 12, 15, 15, 0)),
        ("刚刚", NOW),
        # later than now: clamped to now
        ("2099-01-01", NOW),
        ("今天 16:25", NOW),
        ("2021-12-16 15:00:01", NOW),
    ],
)
def test_forms(text: str, expected: datetime) -> None:
    assert_same(parse_date(text, SHANGHAI, NOW), expected)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "0000-00-00",
        "0000-00-00 00:00:00",
        "2024-02-30",
        "2021-13-01",
        "2021-12-16 24:00",
        "2021-12-16 09:60",
        "2021-12-16 09:30:00 +2500",
        "2021年2月30日",
        "13月1日",
        "Thu, 32 Dec 2021 09:30:00 GMT",
        "garbage",
        "Thu, 16 Dec",
        "12345",
        "99999999999",
        "9" * 13 + "9",
        "分钟前",
        "\x00",
        "2021-12-16" + "x" * 200,
        "1" * 500,
    ],
)
def test_garbage_and_impossible_dates_give_none(text: str | None) -> None:
    assert parse_date(text, SHANGHAI, NOW) is None


def test_month_day_in_the_future_means_last_year() -> None:
    new_year = cst(2022, 1, 1, 0, 10)
    assert_same(parse_date("12月31日 23:50", SHANGHAI, new_year), cst(2021, 12, 31, 23, 50))
    # within a day ahead stays this year (clock skew), then clamps to now
    assert_same(parse_date("1月1日 08:00", SHANGHAI, new_year), new_year)


def test_relative_days_use_the_source_zone_not_the_zone_of_now() -> None:
    # 2021-12-16 20:00 UTC is already 17 December in Shanghai.
    now_utc = datetime(2021, 12, 16, 20, 0, tzinfo=UTC)
    assert_same(parse_date("今天 01:00", SHANGHAI, now_utc), cst(2021, 12, 17, 1, 0))
    assert_same(parse_date("昨天 10:00", SHANGHAI, now_utc), cst(2021, 12, 16, 10, 0))


def test_dst_gap_and_overlap_are_deterministic() -> None:
    new_york = "America/New_York"
    later = datetime(2025, 1, 1, tzinfo=UTC)
    edt = timezone(timedelta(hours=-4))
    # 02:30 does not exist on 2024-03-10: fold=0 reads it with the old offset (-05:00).
    assert_same(
        parse_date("2024-03-10 02:30", new_york, later), datetime(2024, 3, 10, 3, 30, tzinfo=edt)
    )
    # 01:30 happens twice on 2024-11-03: fold=0 is the first one (-04:00).
    assert_same(
        parse_date("2024-11-03 01:30", new_york, later), datetime(2024, 11, 3, 1, 30, tzinfo=edt)
    )


def test_a_naive_now_is_a_bug() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_date("2021-12-16", SHANGHAI, datetime(2021, 12, 16))


def test_never_raises_on_odd_text() -> None:
    odd = ["年月日", "12月", "今天 99:99", "昨天 25:00", "-1", "+0800", "T", "2021--12", "Z"]
    odd += ["Mon, 99 Foo 2021", "1e10", "0x10", "\ud800", "２０２１年", "1639618200.5"]
    for text in odd:
        assert parse_date(text, SHANGHAI, NOW) is None, text


def test_normalise_reexports_parse_date() -> None:
    assert reexported is parse_date
