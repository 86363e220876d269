"""Per-host politeness for the fetcher: at most N requests in flight to one host, and a minimum
spacing between the starts of two requests to it.

One `HostLimiter` is shared by every fetcher of a process (the daemon creates one per batch), so two
sources on one host are polite together. Hosts are compared by lower-cased host name; the port is
ignored, as a server's capacity is per machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class HostLimiter:
    """`with limiter.slot(host): ...` waits for a free slot and for the spacing, then runs."""

    def __init__(
        self,
        per_host: int = 2,
        spacing: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be >= 1, got {per_host}")
        self.per_host = per_host
        self.spacing = max(0.0, spacing)
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._in_flight: dict[str, int] = {}
        self._next_start: dict[str, float] = {}  # earliest start of the next request per host

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        self._acquire(host)
        try:
            yield
        finally:
            with self._cond:
                self._in_flight[host] -= 1
                if not self._in_flight[host]:
                    del self._in_flight[host]
                self._cond.notify_all()

    def _acquire(self, host: str) -> None:
        with self._cond:
            while self._in_flight.get(host, 0) >= self.per_host:
                self._cond.wait()
            self._in_flight[host] = self._in_flight.get(host, 0) + 1
            # reserve a start time now, so concurrent callers queue up one spacing apart
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self.spacing
        delay = start - now
        if delay > 0:
            self._sleep(delay)
