"""politeness.py: next-fetch decisions (RELIABILITY F3, F4, F5) and the per-host limiter."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.hostlimit import HostLimiter
from aggregator.politeness import (
    Decision,
    Response,
    backoff_delay,
    cache_lifetime,
    decide,
    retry_after,
    rss_ttl,
)

NOW = datetime(2015, 10, 21, 7, 0, 0, tzinfo=UTC)


def mid() -> float:
    return 0.5  # no jitter


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1680.0),
        ("Wed, 21 Oct 2015 06:00:00 GMT", 0.0),  # past date: 0, the caller clamps it up
        ("999999999", 999999999.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, NOW) == seconds


def failed_with(status: int, headers: dict[str, str], failures: int = 1) -> Decision:
    answer = Response("http://x/feed", status, headers)
    return decide(
        failed=True, failures=failures, interval=300, responses=[answer], now=NOW, random=mid
    )


@pytest.mark.parametrize(
    ("status", "value", "wait", "reason"),
    [
        (429, "120", 300, "Retry-After"),  # below the interval: the interval
        (503, "3600", 3600, "Retry-After"),
        (429, "Wed, 21 Oct 2015 07:28:00 GMT", 1680, "Retry-After"),
        (429, "Wed, 21 Oct 2015 06:00:00 GMT", 300, "Retry-After"),
        (429, "999999999", 86400, "Retry-After"),  # clamped to 24 h
        (429, "-5", 600, "backoff after 1 failures"),  # garbage: the default backoff
        (429, "garbage", 600, "backoff after 1 failures"),
        (500, "60", 600, "backoff after 1 failures"),  # Retry-After only counts on 429/503
    ],
)
def test_retry_after_is_clamped_to_interval_and_a_day(
    status: int, value: str, wait: int, reason: str
) -> None:
    decision = failed_with(status, {"retry-after": value})
    assert decision == Decision(NOW + timedelta(seconds=wait), reason)


def test_410_disables() -> None:
    assert failed_with(410, {}) == Decision(gone=True, reason="410 Gone")


def test_backoff_doubles_with_jitter_and_caps_at_6h() -> None:
    assert [backoff_delay(n, 300, mid) for n in (0, 1, 2, 3)] == [0.0, 600.0, 1200.0, 2400.0]
    assert backoff_delay(1, 300, lambda: 0.0) == 480.0  # -20 %
    assert backoff_delay(1, 300, lambda: 0.999999) == pytest.approx(720.0)  # +20 %
    assert backoff_delay(10, 300, mid) == 6 * 3600
    assert backoff_delay(1000, 300, lambda: 0.99) == 6 * 3600


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({"cache-control": "public, max-age=3600"}, (3600.0, "Cache-Control max-age")),
        ({"cache-control": 'max-age="600"'}, (600.0, "Cache-Control max-age")),
        ({"cache-control": "max-age=0"}, None),
        ({"cache-control": "no-cache, max-age=3600"}, None),
        ({"cache-control": "s-maxage=3600"}, None),
        ({"expires": "Wed, 21 Oct 2015 09:00:00 GMT"}, (7200.0, "Expires")),
        # relative to the server's Date: a skewed server clock does not matter
        (
            {"expires": "Wed, 21 Oct 2015 10:00:00 GMT", "date": "Wed, 21 Oct 2015 09:30:00 GMT"},
            (1800.0, "Expires"),
        ),
        ({"expires": "0"}, None),
        ({"expires": "-1"}, None),
        ({"expires": "Wed, 21 Oct 2015 06:00:00 GMT"}, None),
        ({}, None),
    ],
)
def test_cache_lifetime(headers: dict[str, str], lifetime: tuple[float, str] | None) -> None:
    assert cache_lifetime(headers, NOW) == lifetime


def test_rss_ttl_in_minutes() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><ttl> 90 </ttl><item/></channel></rss>'
    assert rss_ttl(rss) == 5400.0
    assert rss_ttl(b"<rss><channel><ttl>0</ttl></channel></rss>") is None
    assert rss_ttl(b'{"ttl": "<ttl>60</ttl>"}') is None  # not RSS


def succeeded(*answers: Response, interval: float = 300) -> Decision:
    return decide(
        failed=False, failures=0, interval=interval, responses=answers, now=NOW, random=mid
    )


def test_cache_floor_only_when_longer_than_the_interval() -> None:
    long = Response("u", 200, {"cache-control": "max-age=7200"})
    assert succeeded(long) == Decision(NOW + timedelta(hours=2), "Cache-Control max-age")
    assert succeeded(Response("u", 200, {"cache-control": "max-age=60"})) == Decision()
    ttl = Response("u", 200, {}, b"<rss><channel><ttl>180</ttl></channel></rss>")
    assert succeeded(long, ttl) == Decision(NOW + timedelta(hours=3), "RSS ttl")
    huge = Response("u", 304, {"cache-control": "max-age=9999999"})
    assert succeeded(huge) == Decision(NOW + timedelta(hours=24), "Cache-Control max-age")


# ------------------------------------------------------------------------ per-host limiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_spacing_between_requests_to_one_host() -> None:
    fake = FakeTime()
    limiter = HostLimiter(2, 0.5, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for _ in range(3):
        with limiter.slot("a.example"):
            starts.append(fake.now)
    with limiter.slot("b.example"):  # another host does not wait
        starts.append(fake.now)
    assert starts == [0.0, 0.5, 1.0, 1.0]


def test_at_most_n_requests_in_flight_per_host() -> None:
    limiter = HostLimiter(2)
    lock = threading.Lock()
    in_flight = peak = 0
    release = threading.Event()

    def request() -> None:
        nonlocal in_flight, peak
        with limiter.slot("a.example"):
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            release.wait(5.0)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=request) for _ in range(5)]
    for t in threads:
        t.start()
    for _ in range(200):  # until two are in (the third must then stay out)
        with lock:
            if in_flight == 2:
                break
        release.wait(0.01)
    release.wait(0.1)
    with lock:
        assert in_flight == 2
    release.set()
    for t in threads:
        t.join()
    assert peak == 2
