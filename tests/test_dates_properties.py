"""parse_date under hypothesis: never raises, always aware, never after `now`; CST means China."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import parse_date

NOW = datetime(2021, 12, 16, 7, 0, tzinfo=UTC)
ZONES = st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"])
DATE_LIKE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789-/:. TZ+年月日时分秒今天昨前刚小钟周星期", max_size=40),
    st.from_regex(
        r"\d{4}-\d{1,2}-\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?( ?[+-]\d{2}:?\d{2})?", fullmatch=True
    ),
    st.from_regex(
        r"(Mon|Thu), \d{1,2} (Jan|Dec|Foo) \d{4} \d{2}:\d{2}:\d{2} (GMT|CST|EST|[+-]\d{4}|XYZ)",
        fullmatch=True,
    ),
    st.from_regex(r"\d{1,6}(秒|分钟|小时|天|周)前|(今天|昨天|前天) ?\d{1,2}:\d{2}", fullmatch=True),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
)


@settings(max_examples=500, deadline=None)
@given(text=DATE_LIKE, zone=ZONES, offset_minutes=st.integers(-14 * 60, 14 * 60))
def test_never_raises_and_is_aware_and_not_in_the_future(
    text: str, zone: str, offset_minutes: int
) -> None:
    now = NOW.astimezone(ZoneInfo(zone)) + timedelta(minutes=offset_minutes)
    parsed = parse_date(text, zone, now)
    if parsed is not None:
        assert parsed.tzinfo is not None and parsed.utcoffset() is not None
        assert parsed <= now


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2001, 9, 10), max_value=datetime(2021, 12, 1), timezones=st.just(UTC)
    )
)
def test_iso_and_epoch_forms_round_trip(moment: datetime) -> None:
    """Epochs are 10 (seconds) or 13 (milliseconds) digits: news from after September 2001."""
    moment = moment.replace(microsecond=0)
    assert parse_date(moment.isoformat(), "Asia/Shanghai", NOW) == moment
    assert parse_date(str(int(moment.timestamp())), "Asia/Shanghai", NOW) == moment
    assert parse_date(str(int(moment.timestamp()) * 1000), "Asia/Shanghai", NOW) == moment


def test_cst_is_china_time_for_a_chinese_source_and_us_central_elsewhere() -> None:
    text = "Thu, 16 Dec 2021 09:30:00 CST"
    assert parse_date(text, "Asia/Shanghai", NOW) == datetime(2021, 12, 16, 1, 30, tzinfo=UTC)
    later = NOW + timedelta(days=1)
    assert parse_date(text, "Europe/Berlin", later) == datetime(2021, 12, 16, 15, 30, tzinfo=UTC)
    jst = parse_date("Thu, 16 Dec 2021 09:30:00 JST", "Asia/Tokyo", NOW)
    assert jst is not None and jst.utcoffset() == timedelta(hours=9)
